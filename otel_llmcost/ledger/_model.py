"""The ledger's record and backend contract.

One row per GenAI span, keyed by ``(trace_id, span_id)``: a re-sent export never counts twice.
Money is integer nano-dollars; timestamps are integer nanoseconds since the epoch (UTC).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from types import TracebackType
from typing import Any, Final, Protocol, runtime_checkable

__all__ = [
    "ATTRIBUTION_FIELDS",
    "GROUPABLE",
    "MAX_KEY_CHARS",
    "SCANNABLE",
    "TOKEN_FIELDS",
    "Filters",
    "Group",
    "LedgerBackend",
    "LedgerRecord",
    "Totals",
    "fit_key",
]

#: Longest provider, response id or attribution value stored as sent (see :func:`fit_key`). With
#: 4-byte characters, 256 of them keep the widest index row (trace id, provider, response id)
#: under PostgreSQL's 2,704-byte limit.
MAX_KEY_CHARS: Final = 256


def fit_key(text: str | None) -> str | None:
    """``text``, or, past :data:`MAX_KEY_CHARS`, its opening, ``~`` and 16 hex digits of its
    SHA-256: as long as the limit, the same every time, and apart from a 64-bit hash collision
    distinct from every other long value.

    What every writer (the collector, ``import``) applies to the values the ledger indexes
    (provider, response id, team, project, user); the collector also to everything a resource
    gives its spans. PostgreSQL refuses an index row over 2,704 bytes, and one such value failed
    the whole batched ledger write.
    """
    if text is None or len(text) <= MAX_KEY_CHARS:
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{text[: MAX_KEY_CHARS - 17]}~{digest}"


TOKEN_FIELDS = (
    "input_tokens",
    "cache_read_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "reasoning_tokens",
    "input_audio_tokens",
    "output_audio_tokens",
)
COST_FIELDS = (
    "cost_nanos",
    "cost_input_nanos",
    "cost_output_nanos",
    "cost_cache_read_nanos",
    "cost_cache_write_nanos",
    "cost_reasoning_nanos",
    "cost_fees_nanos",
)
ATTRIBUTION_FIELDS = ("team", "project", "user", "feature", "thread", "run")

#: Dimensions a report may group by (``day`` and ``hour`` are derived from ``start_ns`` in UTC).
GROUPABLE = (
    "provider",
    "request_model",
    "response_model",
    "pricing_model",
    "model",  # alias: request_model, else response_model
    "operation",
    "service",
    "environment",
    "namespace",
    "status",
    "error_type",
    "finish_reason",
    "service_tier",
    *ATTRIBUTION_FIELDS,
    "day",
    "hour",
    "month",
)


@dataclass(slots=True)
class LedgerRecord:
    """Everything later analysis needs about one GenAI call; never prompt or completion text."""

    trace_id: str  # 32 lowercase hex
    span_id: str  # 16 lowercase hex
    start_ns: int
    end_ns: int
    provider: str
    operation: str
    request_model: str | None = None
    response_model: str | None = None
    response_id: str | None = None  # with trace_id and provider, identifies one call across emitters
    pricing_model: str | None = None  # catalog key used; None when unpriced
    price_version: str | None = None
    priced: bool = True
    service_tier: str | None = None
    # tokens, exclusive buckets (see otel_llmcost.usage.Usage)
    input_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    input_audio_tokens: int = 0
    output_audio_tokens: int = 0
    web_search_requests: int = 0
    usage_estimated: bool = False
    # money, integer nano-dollars
    cost_nanos: int = 0
    cost_input_nanos: int = 0
    cost_output_nanos: int = 0
    cost_cache_read_nanos: int = 0
    cost_cache_write_nanos: int = 0
    cost_reasoning_nanos: int = 0
    cost_fees_nanos: int = 0
    reported_cost_nanos: int | None = None  # what the emitter said, when it said anything
    # outcome
    status: str = "ok"  # ok | error
    error_type: str | None = None
    finish_reason: str | None = None
    max_tokens: int | None = None
    streaming: bool = False
    # attribution and resource
    service: str | None = None
    environment: str | None = None
    namespace: str | None = None
    pod: str | None = None
    team: str | None = None
    project: str | None = None
    user: str | None = None
    feature: str | None = None
    thread: str | None = None
    run: str | None = None
    prompt_fingerprint: str | None = None
    ingested_ns: int = 0

    @property
    def duration_s(self) -> float:
        return max(0, self.end_ns - self.start_ns) / 1e9

    @property
    def total_input_tokens(self) -> int:
        return (
            self.input_tokens
            + self.cache_read_tokens
            + self.cache_write_5m_tokens
            + self.cache_write_1h_tokens
            + self.input_audio_tokens
        )

    @property
    def total_output_tokens(self) -> int:
        return self.output_tokens + self.reasoning_tokens + self.output_audio_tokens

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LedgerRecord:
        """Inverse of :meth:`to_dict`; unknown keys raise ``ValueError`` naming them."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown ledger field(s): {sorted(unknown)}")
        return cls(**data)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


#: What :meth:`LedgerBackend.scan` reads: every record field, and ``model`` (as in :data:`GROUPABLE`).
SCANNABLE: tuple[str, ...] = (*LedgerRecord.field_names(), "model")


@dataclass(frozen=True, slots=True)
class Filters:
    """Row selection shared by reports, exports and budgets. ``None`` means no constraint."""

    since_ns: int | None = None  # inclusive
    until_ns: int | None = None  # exclusive
    # column -> value: any GROUPABLE name or "priced" ("true"/"false"); None matches NULL;
    # day/hour/month take their UTC label ("2025-01-31", "2025-01-31T23", "2025-01")
    equals: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Totals:
    requests: int = 0
    errors: int = 0
    unpriced: int = 0
    cost_nanos: int = 0
    input_tokens: int = 0  # all input (cache included), as gen_ai.usage.input_tokens
    output_tokens: int = 0  # all output (reasoning included)
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Group:
    key: Mapping[str, str | None]
    totals: Totals


@runtime_checkable
class LedgerBackend(Protocol):
    """A durable store of :class:`LedgerRecord` rows. Implementations: SQLite, PostgreSQL."""

    url: str

    def insert(self, records: Sequence[LedgerRecord]) -> int:
        """Insert in one transaction, committed before returning; rows whose (trace_id, span_id)
        already exist are skipped. Returns the number of new rows."""
        ...

    def insert_new(self, records: Sequence[LedgerRecord]) -> list[LedgerRecord]:
        """Like :meth:`insert`, returning the records that were new (so counters built from
        them count every call exactly once)."""
        ...

    def totals(self, filters: Filters = ...) -> Totals: ...

    def group(self, by: Sequence[str], filters: Filters = ..., limit: int | None = None) -> list[Group]:
        """Totals per distinct value of the ``by`` columns (from :data:`GROUPABLE`), by cost descending."""
        ...

    def records(self, filters: Filters = ..., batch_size: int = 5000) -> Iterator[LedgerRecord]:
        """Every matching row ordered by (start_ns, trace_id, span_id), streamed in batches."""
        ...

    def scan(
        self, columns: Sequence[str], filters: Filters = ..., *, slice_ns: int = 3_600_000_000_000
    ) -> Iterator[tuple[Any, ...]]:
        """The named columns (from :data:`SCANNABLE`) of every matching row as tuples, by
        ``start_ns`` ascending, read one ``slice_ns`` time slice per query."""
        ...

    def count(self) -> int: ...

    def delete_all(self, expected: int | None = None) -> int: ...

    def close(self) -> None: ...

    def __enter__(self) -> LedgerBackend: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Closes the ledger."""
        ...


def chunked(items: Iterable[LedgerRecord], size: int) -> Iterator[list[LedgerRecord]]:
    batch: list[LedgerRecord] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
