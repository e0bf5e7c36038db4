"""The content-free prompt fingerprint (``llmcost.prompt.fingerprint``): 64 bits of SHA-256 — or
HMAC-SHA256 with ``OTEL_LLMCOST_FINGERPRINT_KEY`` — of the model and the prompt, so the ledger can
find repeated requests without ever holding their text.

The encoding is pinned (the ledger compares fingerprints across releases): strings are fed as they
are and containers walked in order (dict keys sorted), with type tags and lengths keeping it
unambiguous. No JSON document of a large prompt is ever built.

Long texts are not copied into the encoded document: they are hashed where they are, and the hash
state after a prompt's opening — the short pieces before its first long text, and that text — is
kept for prompts that open the same way. A system prompt sent with every call is then hashed once,
not once per call; the digest is the same either way.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from typing import Any, Protocol

__all__ = ["LONG_TEXT", "MAX_OPENING", "Openings", "fingerprint"]

LONG_TEXT = 1024
"""Characters from which a text is hashed in place, and the opening it ends may be kept."""
MAX_OPENING = 4096
"""The most characters of short pieces before a long text for that opening to be kept."""


class _Hash(Protocol):
    def update(self, data: bytes, /) -> None: ...
    def copy(self) -> _Hash: ...
    def hexdigest(self) -> str: ...


def _utf8(text: str) -> bytes:
    # Surrogates passed: UTF-8 then encodes piece by piece, so the encoding of a concatenation is
    # the concatenation of its pieces' encodings, however the pieces are grouped.
    return text.encode("utf-8", "surrogatepass")


def _new_hash(key: bytes | None) -> _Hash:
    return hmac.new(key, digestmod=hashlib.sha256) if key else hashlib.sha256()


_OpeningKey = tuple["bytes | None", str, int]


class Openings:
    """Hash states after a prompt's opening, for prompts that open the same way.

    An entry is keyed by the identity of the long text that ends the opening and holds that text,
    so no other object can take its id while the entry lives. A text is kept from the second
    time its id is seen with that opening — a prompt object used once is not retained, though
    one rebuilt for every call may be when it lands where the last one was freed — and at most
    :attr:`max_entries` entries and :attr:`max_chars` characters are kept (the oldest go first).
    """

    def __init__(self, max_entries: int = 64, max_chars: int = 4_000_000) -> None:
        self.max_entries = max_entries
        self.max_chars = max_chars
        self._states: dict[_OpeningKey, tuple[str, _Hash]] = {}
        self._seen: dict[_OpeningKey, None] = {}
        self._chars = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._states)

    def hash_after(self, key: bytes | None, opening: str, text: str) -> _Hash:
        """A hash that has been fed ``opening`` then ``text`` (a copy of the kept state, if any)."""
        entry_key = (key, opening, id(text))
        entry = self._states.get(entry_key)
        if entry is not None and entry[0] is text:
            return entry[1].copy()
        state = _new_hash(key)
        if opening:
            state.update(_utf8(opening))
        state.update(_utf8(text))
        if len(opening) > MAX_OPENING:  # many short messages before it: not worth remembering
            return state
        if entry_key in self._seen:
            self._keep(entry_key, text, state.copy())
        else:
            if len(self._seen) >= 4 * self.max_entries:
                self._seen.clear()
            self._seen[entry_key] = None
        return state

    def _keep(self, entry_key: _OpeningKey, text: str, state: _Hash) -> None:
        if len(text) > self.max_chars:
            return
        with self._lock:
            self._seen.pop(entry_key, None)
            old = self._states.pop(entry_key, None)
            if old is not None:
                self._chars -= len(old[0])
            while self._states and (
                len(self._states) >= self.max_entries or self._chars + len(text) > self.max_chars
            ):
                oldest = next(iter(self._states))
                self._chars -= len(self._states.pop(oldest)[0])
            self._states[entry_key] = (text, state)
            self._chars += len(text)

    def clear(self) -> None:
        with self._lock:
            self._states.clear()
            self._seen.clear()
            self._chars = 0


#: The process's kept openings (shared by every instrumentor: entries are keyed by the HMAC key).
OPENINGS = Openings()


def fingerprint(model: str | None, payload: Any, key: bytes | None) -> str:
    """A content-free 64-bit fingerprint of (model, prompt) for duplicate detection.

    The pieces of the encoding are built as text; the short ones are joined and encoded together
    (one ``update`` per piece cost more than the hashing itself on a typical chat prompt), the long
    ones are encoded on their own and never copied into a larger string.
    """
    parts: list[str] = []
    longs: list[int] = []  # where in ``parts`` the long texts are
    _feed(parts, longs, model)
    _feed(parts, longs, payload)
    if not longs:
        data = _utf8("".join(parts))
        if key:
            return hmac.new(key, data, hashlib.sha256).hexdigest()[:16]
        return hashlib.sha256(data).hexdigest()[:16]
    first = longs[0]
    state = OPENINGS.hash_after(key, "".join(parts[:first]), parts[first])
    start = first + 1
    for index in longs[1:]:
        if index > start:
            state.update(_utf8("".join(parts[start:index])))
        state.update(_utf8(parts[index]))
        start = index + 1
    if start < len(parts):
        state.update(_utf8("".join(parts[start:])))
    return state.hexdigest()[:16]


def _chars(value: str) -> str:
    # A str subclass as the plain string of its characters (its __str__/__format__ may differ).
    return value if value.__class__ is str else str.__str__(value)


def _utf8_length(value: str) -> int:
    return len(value) if value.isascii() else len(value.encode("utf-8", "surrogatepass"))


def _feed_long(parts: list[str], longs: list[int], head: str, text: str) -> None:
    """``head``, then the long ``text`` as a piece of its own (hashed where it is, never copied)."""
    parts.append(head)
    longs.append(len(parts))
    parts.append(text)


def _feed(parts: list[str], longs: list[int], value: Any) -> None:
    out = parts.append
    cls = value.__class__
    if cls is dict or (cls is not str and isinstance(value, dict)):
        out(f"d{len(value)}:")
        for k in sorted(value, key=str):
            name = str(k)
            item = value[k]
            # The common case inline: a plain ASCII key and text (a message's role and content),
            # whose UTF-8 length is their length.
            if name.__class__ is not str or not name.isascii():
                _feed(parts, longs, _chars(name))
                _feed(parts, longs, item)
            elif item.__class__ is str and item.isascii():
                if len(item) < LONG_TEXT:
                    out(f"s{len(name)}:{name}s{len(item)}:{item}")
                else:
                    _feed_long(parts, longs, f"s{len(name)}:{name}s{len(item)}:", item)
            else:
                out(f"s{len(name)}:{name}")
                _feed(parts, longs, item)
    elif value is None:
        out("vNone;")
    elif cls is str or isinstance(value, str):
        value = _chars(value)
        if len(value) < LONG_TEXT:  # the usual case inline: no call per short string
            out(f"s{_utf8_length(value)}:{value}")
        else:
            _feed_long(parts, longs, f"s{_utf8_length(value)}:", value)
    elif cls is list or cls is tuple or isinstance(value, (list, tuple)):
        out(f"l{len(value)}:")
        for item in value:
            _feed(parts, longs, item)
    elif isinstance(value, (bool, int, float)):
        text = repr(value)
        if not text.isascii():
            text.encode()  # raises for what the byte encoding could never hold, as it always did
        out(f"v{text};")
    else:  # SDK objects (pydantic models, TypedDict-likes): their JSON form
        dump = getattr(value, "model_dump", None)
        _feed(parts, longs, dump(mode="json") if callable(dump) else str(value))
