"""Bounded Prometheus labels: which record field each label reads, and a cap on distinct values.

Every label admits its first ``cap`` distinct values for the life of the process; a later value
becomes ``__overflow__`` (``semconv.OVERFLOW_LABEL_VALUE``), so one runaway dimension (a model
name with a request id in it, a user label) can never explode the series count. Admitted values
stay admitted: a counter series, once exposed, must not vanish.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from otel_llmcost import semconv as sc

__all__ = ["DEFAULT_LABELS", "DEFAULT_SERIES_CAPS", "OPTIONAL_LABELS", "LabelSet"]

DEFAULT_LABELS: Final = (
    sc.LABEL_PROVIDER,
    sc.LABEL_MODEL,
    sc.LABEL_OPERATION,
    sc.LABEL_SERVICE,
    sc.LABEL_TEAM,
    sc.LABEL_PROJECT,
    sc.LABEL_ENVIRONMENT,
)
#: High-cardinality labels, off unless asked for (``extra_labels``).
OPTIONAL_LABELS: Final = (sc.LABEL_USER, sc.LABEL_THREAD)
#: Distinct values admitted per label before ``__overflow__``.
DEFAULT_SERIES_CAPS: Final[Mapping[str, int]] = {
    sc.LABEL_PROVIDER: 32,
    sc.LABEL_MODEL: 200,
    sc.LABEL_OPERATION: 16,
    sc.LABEL_SERVICE: 200,
    sc.LABEL_TEAM: 200,
    sc.LABEL_PROJECT: 500,
    sc.LABEL_ENVIRONMENT: 16,
    sc.LABEL_USER: 1000,
    sc.LABEL_THREAD: 1000,
}
# label -> the LedgerRecord fields it reads, first non-empty wins. The model label is the model
# the caller asked for (what budgets and dashboards are keyed on), else the one that answered.
_FIELDS: Final[Mapping[str, tuple[str, ...]]] = {
    sc.LABEL_PROVIDER: ("provider",),
    sc.LABEL_MODEL: ("request_model", "response_model"),
    sc.LABEL_OPERATION: ("operation",),
    sc.LABEL_SERVICE: ("service",),
    sc.LABEL_TEAM: ("team",),
    sc.LABEL_PROJECT: ("project",),
    sc.LABEL_ENVIRONMENT: ("environment",),
    sc.LABEL_USER: ("user",),
    sc.LABEL_THREAD: ("thread",),
}
_KEY_CACHE_LIMIT = 10_000


class LabelSet:
    """Label names, the capped label values of a record, and how often a cap was hit."""

    def __init__(self, labels: Sequence[str], caps: int | Mapping[str, int] | None = None) -> None:
        names = tuple(labels)
        unknown = [name for name in names if name not in _FIELDS]
        if unknown:
            raise ValueError(f"labels: unknown label(s) {unknown}; known: {sorted(_FIELDS)}")
        if len(set(names)) != len(names):
            raise ValueError(f"labels: duplicate label in {list(names)}")
        if isinstance(caps, int):
            limits = dict.fromkeys(names, caps)
        else:
            limits = {name: DEFAULT_SERIES_CAPS[name] for name in names}
            for name, cap in (caps or {}).items():
                if name not in limits:
                    raise ValueError(f"series_cap: {name!r} is not one of the labels {list(names)}")
                limits[name] = cap
        for name, cap in limits.items():
            if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
                raise ValueError(f"series_cap: the cap of {name!r} must be a positive integer, got {cap!r}")
        self.names = names
        self.caps = tuple(limits[name] for name in names)
        fields = [field for name in names for field in _FIELDS[name]]
        self._widths = tuple(len(_FIELDS[name]) for name in names)
        getter = operator.attrgetter(*fields)
        # attrgetter of one field returns the bare value; keep the raw key a tuple either way.
        self._raw: Callable[[Any], tuple[Any, ...]] = getter if len(fields) > 1 else lambda r: (getter(r),)
        self._admitted: tuple[set[str], ...] = tuple(set() for _ in names)
        self._keys: dict[tuple[Any, ...], tuple[tuple[str, ...], tuple[str, ...]]] = {}
        self.overflow: dict[str, int] = dict.fromkeys(names, 0)
        """label -> records whose value was replaced by ``__overflow__``."""

    def key(self, record: Any) -> tuple[str, ...]:
        """The capped label values of ``record`` (counting any overflow). Not thread-safe."""
        raw = self._raw(record)
        cached = self._keys.get(raw)
        if cached is None:
            cached = self._resolve(raw)
        key, overflowed = cached
        for name in overflowed:
            self.overflow[name] += 1
        return key

    def _resolve(self, raw: tuple[Any, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        values: list[str] = []
        overflowed: list[str] = []
        position = 0
        for index, width in enumerate(self._widths):
            value = next((v for v in raw[position : position + width] if v), None)
            position += width
            text = "" if value is None else str(value)
            admitted = self._admitted[index]
            if text and text not in admitted:
                if len(admitted) >= self.caps[index]:
                    overflowed.append(self.names[index])
                    text = sc.OVERFLOW_LABEL_VALUE
                else:
                    admitted.add(text)
            values.append(text)
        result = (tuple(values), tuple(overflowed))
        if len(self._keys) >= _KEY_CACHE_LIMIT:  # raw values are unbounded; the cache is not
            self._keys.clear()
        self._keys[raw] = result
        return result
