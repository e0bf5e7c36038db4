"""Reading provider answers, whichever form they come in: an SDK's response object (pydantic
models, mostly) or the wire dict of a raw response. The usage readers of :mod:`otel_llmcost.usage`
read every priced call's counts through these.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from otel_llmcost.exceptions import InvalidUsageError

__all__ = ["count", "counts", "first", "is_mapping", "list_field", "sdk_attribute"]

#: class -> whether its instances are Mappings: the ABC check runs Python code on every call
#: (``ABCMeta.__instancecheck__``), which per-event stream accounting cannot afford.
_MAPPING_CLASSES: dict[type, bool] = {dict: True}
_MAX_CLASSES = 1024


def is_mapping(obj: Any) -> bool:
    """``isinstance(obj, Mapping)``, remembered per class (bounded)."""
    cls = obj.__class__
    known = _MAPPING_CLASSES.get(cls)
    if known is None:
        known = isinstance(obj, Mapping)
        if len(_MAPPING_CLASSES) < _MAX_CLASSES:
            _MAPPING_CLASSES[cls] = known
    return known


def _fields(obj: Any) -> tuple[Any, bool]:
    """(the mapping ``obj``'s fields can be read from first, whether that is all of them):
    a wire dict (or other mapping) itself, or an SDK object's ``__dict__``, where the fields of
    pydantic models live. Checked in that order to keep the (slow) Mapping ABC check off the
    hot path."""
    if type(obj) is dict:
        return obj, True
    fields = getattr(obj, "__dict__", None)
    if fields is None and isinstance(obj, Mapping):
        return obj, True
    # (A class's __dict__ is a mappingproxy of descriptors: such an object is read by getattr.)
    return (fields, False) if type(fields) is dict else (None, False)


def first(obj: Any, *names: str) -> Any:
    """First present, non-None field among ``names`` of an SDK object or a mapping."""
    if obj is None:
        return None
    fields, complete = _fields(obj)
    for name in names:
        if fields is not None and name in fields:
            value = fields[name]
        else:
            value = None if complete else _absent(obj, name)
        if value is not None:
            return value
    return None


def count(obj: Any, *names: str) -> int:
    """A token count: the first of ``names`` present, 0 when none is; an integral float is taken
    as its integer, anything else non-integer raises :class:`InvalidUsageError`."""
    value = first(obj, *names)
    if value is None:
        return 0
    return value if type(value) is int else _integer(value, names[0])


def counts(obj: Any, *names: str) -> list[int]:
    """``[count(obj, name) for name in names]``, reading ``obj`` once."""
    if obj is None:
        return [0] * len(names)
    fields, complete = _fields(obj)
    result = []
    for name in names:
        if fields is not None and name in fields:
            value = fields[name]
        else:
            value = None if complete else _absent(obj, name)
        if value is None:
            result.append(0)
        else:
            result.append(value if type(value) is int else _integer(value, name))
    return result


def _integer(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise InvalidUsageError(f"{name} must be an integer, got {value!r}", reason="not_integer")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        raise InvalidUsageError(f"{name} must be an integer, got {value!r}", reason="not_integer")
    return value


def list_field(obj: Any, *names: str) -> list[Any] | tuple[Any, ...]:
    """A list field (per-modality details, iterations): the SDK's list or the wire array."""
    value = first(obj, *names)
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)):  # iterating a number or a string would be nonsense
        raise InvalidUsageError(f"{names[0]} must be a list, got {value!r}", reason="not_integer")
    return value


# (class, name) -> whether getattr() of a ``name`` missing from an instance's __dict__ can only
# end in its pydantic extras.
_EXTRAS_ONLY: dict[tuple[type, str], bool] = {}


def sdk_attribute(obj: Any, name: str) -> Any:
    """``getattr(obj, name, None)``. A pydantic model's ``__getattr__`` raises for a field the
    response lacks, and that exception cost more than reading the rest of a usage object: such
    a name is read from the model's extras here, where pydantic's ``__getattr__`` would look."""
    fields = getattr(obj, "__dict__", None)
    if type(fields) is dict and name in fields:
        return fields[name]
    return _absent(obj, name)


def _absent(obj: Any, name: str) -> Any:
    """:func:`sdk_attribute` of a ``name`` not in ``obj.__dict__``."""
    cls = type(obj)
    extras_only = _EXTRAS_ONLY.get((cls, name))
    if extras_only is None:
        extras_only = _extras_only(cls, name)
    if not extras_only:
        return getattr(obj, name, None)
    extras = getattr(obj, "__pydantic_extra__", None)
    return extras.get(name) if extras else None


def _extras_only(cls: type, name: str) -> bool:
    # A pydantic (v2) class whose __getattr__ is pydantic's own and that has no class attribute
    # ``name`` (private names aside, which pydantic resolves otherwise).
    mro = cls.__mro__
    owner = next((k for k in mro if "__getattr__" in k.__dict__), object)
    result = (
        "__pydantic_extra__" in owner.__dict__
        and not name.startswith("_")
        and not any(name in k.__dict__ for k in mro)
    )
    if len(_EXTRAS_ONLY) >= 1024:  # bounded, though SDK classes and field names are few
        _EXTRAS_ONLY.clear()
    _EXTRAS_ONLY[(cls, name)] = result
    return result
