"""Reading SDK objects and wire dicts: ``sdk_attribute`` is ``getattr(obj, name, None)``, and the
readers built on it agree with plain ``getattr``/``dict.get`` on every shape of object."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

import pydantic
import pytest

from otel_llmcost import _sdk_fields
from otel_llmcost._sdk_fields import count, counts, first, list_field, sdk_attribute
from otel_llmcost.exceptions import InvalidUsageError


class Details(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="allow")

    cached_tokens: int | None = None
    _secret: int = pydantic.PrivateAttr(default=7)

    @property
    def doubled(self) -> int:
        return 2 * (self.cached_tokens or 0)


class Strict(pydantic.BaseModel):
    cached_tokens: int | None = None


class Custom(pydantic.BaseModel):
    """A model whose own ``__getattr__`` answers every name: it must be asked, not bypassed."""

    model_config = pydantic.ConfigDict(extra="allow")

    def __getattr__(self, name: str) -> Any:
        return f"custom:{name}"


class Slotted:
    __slots__ = ("cached_tokens",)

    def __init__(self) -> None:
        self.cached_tokens = 3


class Wire(Mapping[str, Any]):
    """A mapping without a ``__dict__`` (one with is read as an object, by its attributes)."""

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


NAMES = ["cached_tokens", "cache_write_tokens", "doubled", "_secret", "model_dump", "absent"]


@pytest.mark.parametrize(
    "obj",
    [
        Details(cached_tokens=5, cache_write_tokens=4),
        Details(cached_tokens=None),
        Details.model_construct(cached_tokens=1),
        Strict(cached_tokens=2),
        Custom(cached_tokens=9),
        Slotted(),
        Details,
    ],
    ids=["extras", "none", "constructed", "no-extras", "own-getattr", "slots", "a-class"],
)
def test_sdk_attribute_is_getattr(obj: Any) -> None:
    for _ in range(2):  # the second time from the per-class cache
        for name in NAMES:
            expected = getattr(obj, name, None)
            if callable(expected):
                assert callable(sdk_attribute(obj, name))
            else:
                assert sdk_attribute(obj, name) == expected, name


def test_pydantic_extras_are_read_without_getattr() -> None:
    obj = Details(cached_tokens=5, cache_write_tokens=4)
    assert first(obj, "cache_write_tokens") == 4
    assert first(obj, "absent", "cached_tokens") == 5
    assert count(obj, "absent") == 0
    assert counts(obj, "cached_tokens", "absent", "cache_write_tokens") == [5, 0, 4]


@pytest.mark.parametrize(
    "obj",
    [
        {"a": None, "b": 2, "c": 3.0},
        Wire({"a": None, "b": 2, "c": 3.0}),
        MappingProxyType({"a": None, "b": 2, "c": 3.0}),
    ],
    ids=["dict", "mapping", "proxy"],
)
def test_mappings(obj: Any) -> None:
    assert first(obj, "a", "b") == 2
    assert first(obj, "zz") is None
    assert count(obj, "c") == 3  # an integral float is its integer
    assert counts(obj, "a", "b", "c", "zz") == [0, 2, 3, 0]
    assert first(None, "a") is None and counts(None, "a", "b") == [0, 0]


@pytest.mark.parametrize("bad", [True, 1.5, "7", [1]])
def test_counts_reject_what_is_not_a_count(bad: object) -> None:
    with pytest.raises(InvalidUsageError, match="x must be an integer"):
        count({"x": bad}, "x")
    with pytest.raises(InvalidUsageError, match="x must be an integer"):
        counts({"ok": 1, "x": bad}, "ok", "x")


def test_list_field() -> None:
    assert list_field({"items": [1, 2]}, "items") == [1, 2]
    assert list_field({}, "items") == ()
    with pytest.raises(InvalidUsageError, match="items must be a list"):
        list_field({"items": 3}, "items")


def test_is_mapping_answers_as_the_abc_does_and_remembers_the_class() -> None:
    class Model:
        type = "content_block_delta"

    class Registered:
        pass

    Mapping.register(Registered)
    for value, expected in [
        ({}, True),
        (MappingProxyType({"a": 1}), True),
        (Registered(), True),
        (Model(), False),
        ([("a", 1)], False),
        ("a", False),
    ]:
        assert _sdk_fields.is_mapping(value) is expected
        assert _sdk_fields._MAPPING_CLASSES[type(value)] is expected


def test_is_mapping_remembers_a_bounded_number_of_classes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_sdk_fields, "_MAPPING_CLASSES", {dict: True})
    monkeypatch.setattr(_sdk_fields, "_MAX_CLASSES", 2)
    kinds = [type(f"Kind{i}", (), {}) for i in range(4)]
    assert [_sdk_fields.is_mapping(kind()) for kind in kinds] == [False] * 4
    assert len(_sdk_fields._MAPPING_CLASSES) == 2  # still answered, no longer remembered
