"""The content-free prompt fingerprint: its pinned encoding, and long texts hashed in place."""

from __future__ import annotations

import enum
import hashlib
import hmac
import threading
from typing import Any

import pytest

from otel_llmcost.instrumentation import _fingerprint
from otel_llmcost.instrumentation._fingerprint import LONG_TEXT, MAX_OPENING, Openings, fingerprint


@pytest.fixture
def openings(monkeypatch: pytest.MonkeyPatch) -> Openings:
    fresh = Openings()
    monkeypatch.setattr(_fingerprint, "OPENINGS", fresh)
    return fresh


def reference(model: str | None, payload: Any, key: bytes | None) -> str:
    """The encoding as one document, hashed at once: what the fingerprint always was."""
    parts: list[str] = []
    _fingerprint._feed(parts, [], model)
    _fingerprint._feed(parts, [], payload)
    data = "".join(parts).encode("utf-8", "surrogatepass")
    if key:
        return hmac.new(key, data, hashlib.sha256).hexdigest()[:16]
    return hashlib.sha256(data).hexdigest()[:16]


class _Dumpable:
    """An SDK object: fingerprinted through its JSON form."""

    def model_dump(self, mode: str) -> dict[str, object]:
        return {"role": "user", "content": [{"type": "text", "text": "hé"}]}


class _Role(str, enum.Enum):
    USER = "user"


class _Level(enum.IntEnum):
    HIGH = 3


class _Loud(str):
    """A string whose ``str()`` is not its characters: its characters are what is hashed."""

    def __str__(self) -> str:
        return "LOUD"


@pytest.mark.parametrize(
    ("model", "payload", "plain", "keyed"),
    [
        (
            "gpt-4o",
            {
                "messages": [{"role": "system", "content": "sys"}, {"role": "user", "content": "hi"}],
                "tools": None,
            },
            "ad1f130a9251a3b6",
            "de9229ef86e5020d",
        ),
        (None, {"prompt": ["a", "b", 1, 2.5, True, None]}, "f6b08bb967c7e9b3", "c4f17f088d3ed31f"),
        (
            "m",
            {"b": 1, "a": {"z": [1, 2, (3, "x")], 2: "two"}, 3: False},
            "f9f369ac3fb1d945",
            "a8d63ef2db91cc06",
        ),
        (
            "m",
            {"messages": [_Dumpable(), {"role": "user", "content": "\ud800 surrogate"}]},
            "449e8db5a03b97f9",
            "8d4506de8f074f49",
        ),
        ("m", "plain", "9c39c73cb500a80e", "91d5e676f96e354f"),
        (
            "m",
            {"contents": [{"parts": [{"text": "x" * 5000}, {"inline_data": {"data": b"bytes"}}]}]},
            "e5c5a32799259c52",
            "37e7adf529e5ede0",
        ),
        # Pinned against the encoding before it was built as text: non-ASCII keys and texts,
        # enum and str-subclass keys and values, int keys, scalars in a tuple, None in a message.
        (
            "gpt-4o",
            {
                "messages": [
                    {"role": "user", "content": "héllo wörld ✓"},
                    {"rôle": "system", "content": "plain"},
                ]
            },
            "d8ee37fbcf97626a",
            "3e34d6a9b1ccf3c7",
        ),
        (
            "m",
            {
                "messages": [{_Role.USER: _Role.USER, "content": [{"type": "text", "text": "x"}]}],
                "n": _Level.HIGH,
            },
            "dcaf84fb9daadbd6",
            "da9bcfd0525721f0",
        ),
        (
            "m",
            {_Loud("key"): _Loud("value"), "t": (1.5, False, None, -2)},
            "c921d1d41e9b6425",
            "a8f40d350ccf08b7",
        ),
        (
            "m",
            {1: "one", 10: "ten", 9: "nine", "a": {"b": ["\ud83d\ude00", "日本"]}},
            "9467a3e9e1fce189",
            "4f9d45fb9577d05f",
        ),
        (
            "m",
            {"messages": [{"role": "user", "content": "x", "name": None, "n": 0}]},
            "ef22cb47bb715a84",
            "837375cd9f586b80",
        ),
    ],
)
def test_fingerprint_encoding_is_pinned(model: str | None, payload: object, plain: str, keyed: str) -> None:
    # The ledger compares fingerprints across releases: the encoding must never change silently.
    assert fingerprint(model, payload, None) == plain
    assert fingerprint(model, payload, b"k") == keyed


SYSTEM = "You are a careful assistant.\n" + "Answer in one line. " * 80
LONG_UNICODE = "Réponds en français, s'il te plaît ✓ " * 40
PAYLOADS: list[Any] = [
    {"messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "hi"}], "tools": None},
    # A long text last: nothing follows it.
    {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": SYSTEM}]},
    # Several long texts, adjacent and apart; non-ASCII ones take the generic path.
    {"messages": [{"content": SYSTEM, "role": "system"}, {"content": LONG_UNICODE, "role": "user"}]},
    {"prompt": [SYSTEM, SYSTEM, "short", LONG_UNICODE]},
    # A long key, a long text as the payload itself, a long text in a non-ASCII-keyed dict.
    {"k" * LONG_TEXT: "v", "clé": SYSTEM},
    SYSTEM,
    "x" * (LONG_TEXT - 1),
    "x" * LONG_TEXT,
]


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("key", [None, b"secret"])
def test_long_texts_hash_as_the_whole_document(openings: Openings, payload: Any, key: bytes | None) -> None:
    expected = reference("gpt-4o", payload, key)
    # First sight, second (the opening is kept), then from the kept state: the same digest.
    assert [fingerprint("gpt-4o", payload, key) for _ in range(4)] == [expected] * 4


def test_an_opening_is_hashed_once_after_it_is_seen_twice(
    openings: Openings, monkeypatch: pytest.MonkeyPatch
) -> None:
    fed: list[bytes] = []
    real = _fingerprint._new_hash

    def spying(key: bytes | None) -> Any:
        state = real(key)
        original_update = state.update

        class Spy:
            def update(self, data: bytes) -> None:
                fed.append(data)
                original_update(data)

            def copy(self) -> Any:
                return state.copy()

            def hexdigest(self) -> str:
                return state.hexdigest()

        return Spy()

    monkeypatch.setattr(_fingerprint, "_new_hash", spying)
    payload = PAYLOADS[0]
    fingerprint("gpt-4o", payload, None)
    assert len(openings) == 0  # seen once: not kept
    fingerprint("gpt-4o", payload, None)
    assert len(openings) == 1
    hashed = len(fed)
    assert fingerprint("gpt-4o", payload, None) == reference("gpt-4o", payload, None)
    assert len(fed) == hashed  # the system prompt was not hashed again


def test_the_opening_includes_everything_before_the_long_text(openings: Openings) -> None:
    payload: dict[str, Any] = {"messages": [{"role": "system", "content": SYSTEM}]}
    longer = {"messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "q"}]}
    for _ in range(3):
        for model in ("gpt-4o", "gpt-4o-mini"):
            for body in (payload, longer):
                assert fingerprint(model, body, None) == reference(model, body, None)
    assert len(openings) == 4  # two models x two message counts: four openings of one text
    assert len({fingerprint(m, b, None) for m in ("gpt-4o", "gpt-4o-mini") for b in (payload, longer)}) == 4


def test_equal_texts_in_other_objects_are_not_confused(openings: Openings) -> None:
    first = "".join(["a"] * 2000)
    second = "".join(["a"] * 2000)
    other = "".join(["b"] * 2000)
    assert first == second and first is not second
    for _ in range(3):
        assert fingerprint("m", first, None) == fingerprint("m", second, None) == reference("m", first, None)
        assert fingerprint("m", other, None) == reference("m", other, None)


def test_keys_do_not_share_openings(openings: Openings) -> None:
    for _ in range(3):
        plain = fingerprint("m", SYSTEM, None)
        keyed = fingerprint("m", SYSTEM, b"k1")
        other = fingerprint("m", SYSTEM, b"k2")
    assert plain == reference("m", SYSTEM, None)
    assert keyed == reference("m", SYSTEM, b"k1")
    assert other == reference("m", SYSTEM, b"k2")
    assert len({plain, keyed, other}) == 3


def test_openings_are_bounded_by_entries_and_characters() -> None:
    openings = Openings(max_entries=2, max_chars=5000)
    texts = [str(i) * 2000 for i in range(1, 5)]
    for text in texts:
        for _ in range(2):
            openings.hash_after(None, "s2000:", text)
    assert len(openings) == 2  # the two newest
    kept = [entry[0] for entry in openings._states.values()]
    assert kept == texts[2:]
    assert openings._chars == 4000
    once = ["".join(["z"] * 4000) for _ in range(2)]  # two live objects, each seen once: neither kept
    for text in once:
        openings.hash_after(None, "", text)
    too_long = "y" * 6000
    openings.hash_after(None, "", too_long)
    openings.hash_after(None, "", too_long)
    assert [entry[0] for entry in openings._states.values()] == texts[2:]  # longer than max_chars: not kept
    big = "w" * 3500
    openings.hash_after(None, "", big)
    openings.hash_after(None, "", big)
    assert [entry[0] for entry in openings._states.values()] == [big]  # both older ones make room
    assert openings._chars == 3500
    openings.clear()
    assert len(openings) == 0 and openings._chars == 0


def test_a_long_opening_is_not_kept(openings: Openings) -> None:
    # Many short messages before the long text: the opening would cost more to keep than to hash.
    history = [{"role": "user", "content": "q" * 1000} for _ in range(MAX_OPENING // 1000 + 1)]
    payload = {"messages": [*history, {"role": "user", "content": SYSTEM}]}
    for _ in range(3):
        assert fingerprint("m", payload, None) == reference("m", payload, None)
    assert len(openings) == 0 and openings._seen == {}


def test_concurrent_fingerprints_are_exact(openings: Openings) -> None:
    payloads = PAYLOADS[:4]
    expected = [reference("gpt-4o", p, None) for p in payloads]
    wrong: list[str] = []

    def work() -> None:
        for _ in range(200):
            for payload, digest in zip(payloads, expected, strict=True):
                got = fingerprint("gpt-4o", payload, None)
                if got != digest:
                    wrong.append(got)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
