"""SQL shared by both engines: filters, totals, groups and record pages.

User input never reaches the SQL text: column names are checked against fixed tables and values
are bound as parameters. Time buckets are grouped as integers (days or hours since the epoch) and
labelled here in Python, so both engines produce the same strings without per-row date
formatting (which costs SQLite about half a second per million rows).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any

from otel_llmcost.ledger._model import GROUPABLE, Filters, Group, LedgerRecord, Totals
from otel_llmcost.ledger._schema import BOOL_COLUMNS, COLUMN_NAMES, COLUMNS, Dialect, ident

NS_PER_HOUR = 3_600_000_000_000
NS_PER_DAY = 24 * NS_PER_HOUR
_EPOCH = date(1970, 1, 1)

# Timestamps are assumed non-negative (SQL integer division truncates toward zero).
_KEY_SQL: dict[str, str] = {name: ident(name) for name in GROUPABLE}
_KEY_SQL.update(
    model="COALESCE(request_model, response_model)",
    day=f"start_ns / {NS_PER_DAY}",
    month=f"start_ns / {NS_PER_DAY}",  # folded into months after the query
    hour=f"start_ns / {NS_PER_HOUR}",
)
TIME_KEYS = frozenset({"day", "hour", "month"})
_NOT_NULL_KEYS = TIME_KEYS | {c.name for c in COLUMNS if not c.nullable}
#: Keys accepted in ``Filters.equals``: every groupable dimension, plus ``priced``.
FILTERABLE = frozenset(GROUPABLE) | {"priced"}

_SUMMED = (
    "cost_nanos",
    "input_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens + input_audio_tokens",
    "output_tokens + reasoning_tokens + output_audio_tokens",
    "cache_read_tokens",
    "cache_write_5m_tokens + cache_write_1h_tokens",
    "reasoning_tokens",
)


def row_values(dialect: Dialect) -> tuple[str, ...]:
    """One SQL value per row for each Totals field, in Totals field order (the engines sum them)."""
    if dialect.name == "sqlite":  # comparisons are already 0/1 here, and cheaper than CASE
        flags = ("status = 'error'", "NOT priced")
    else:
        flags = ("CASE WHEN status = 'error' THEN 1 ELSE 0 END", "CASE WHEN priced THEN 0 ELSE 1 END")
    return ("1", *flags, *_SUMMED)


def measures(dialect: Dialect) -> str:
    return ", ".join(("COUNT(*)", *(f"SUM({v})" for v in row_values(dialect)[1:])))


SELECT_COLUMNS = ", ".join(map(ident, COLUMN_NAMES))
_BOOL_POSITIONS = tuple(i for i, name in enumerate(COLUMN_NAMES) if name in BOOL_COLUMNS)


class LedgerOverflowError(OverflowError):
    """A sum over the selected rows is beyond the 64-bit integer range SQLite adds in: some row
    holds an absurd cost or token count. Never a rounded figure instead."""

    def __init__(self) -> None:
        super().__init__(
            "the ledger's sums over these rows exceed the 64-bit integer range (over $9.2 billion, or "
            "9.2e18 tokens): some row holds an absurd cost_nanos or token count"
        )


def exact_int(value: Any) -> int:
    """An engine's sum as an ``int``; a float means SQLite overflowed 64 bits, never rounded."""
    if value is None:
        return 0
    if isinstance(value, float):
        raise LedgerOverflowError
    return int(value)


def totals_from_row(values: Sequence[Any]) -> Totals:
    return Totals(*(exact_int(v) for v in values))


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_TIME_FORMATS = {
    "day": (re.compile(r"\d{4}-\d{2}-\d{2}"), "%Y-%m-%d"),
    "hour": (re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}"), "%Y-%m-%dT%H"),
    "month": (re.compile(r"\d{4}-\d{2}"), "%Y-%m"),
}


def bucket_range(key: str, value: str) -> tuple[int, int]:
    """``[start, end)`` in ns of the UTC day, hour or month named by ``value``."""
    pattern, fmt = _TIME_FORMATS[key]
    try:
        if not pattern.fullmatch(value):
            raise ValueError(value)
        start = datetime.strptime(value, fmt).replace(tzinfo=timezone.utc)
    except ValueError:
        raise ValueError(f"filter {key}={value!r}: expected UTC {fmt.replace('%', '')}") from None
    if key == "hour":
        end = start + timedelta(hours=1)
    elif key == "day":
        end = start + timedelta(days=1)
    else:
        end = start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    return int(start.timestamp()) * 1_000_000_000, int(end.timestamp()) * 1_000_000_000


def _parse_bool(value: str | None) -> bool:
    text = (value or "").strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise ValueError(f"filter priced={value!r}: expected true or false")


def check_filter(key: str, value: str | None) -> None:
    """``ValueError`` naming the problem if ``key=value`` is not a filter :func:`where` accepts."""
    if key not in FILTERABLE:
        raise ValueError(f"cannot filter on {key!r}; filterable: {', '.join(sorted(FILTERABLE))}")
    if key in TIME_KEYS:
        if value is None:
            raise ValueError(f"filter {key} needs a value")
        bucket_range(key, value)
    elif key == "priced":
        _parse_bool(value)


def where(dialect: Dialect, filters: Filters) -> tuple[list[str], list[Any]]:
    """SQL conditions (to be AND-ed) and their parameters; ``ValueError`` on a bad filter."""
    since, until = filters.since_ns, filters.until_ns
    for name, bound in (("since_ns", since), ("until_ns", until)):
        if bound is not None and not is_int(bound):
            raise ValueError(f"filter {name} must be an int of nanoseconds, got {bound!r}")
    if not isinstance(filters.equals, Mapping):
        raise ValueError(f"Filters.equals must be a mapping, got {type(filters.equals).__name__}")
    conditions: list[str] = []
    params: list[Any] = []
    for key, value in sorted(filters.equals.items()):
        if key not in FILTERABLE:
            raise ValueError(f"cannot filter on {key!r}; filterable: {', '.join(sorted(FILTERABLE))}")
        if value is not None and not isinstance(value, str):
            raise ValueError(f"filter {key}={value!r}: values are strings")
        if key in TIME_KEYS:
            if value is None:
                raise ValueError(f"filter {key} needs a value")
            lo, hi = bucket_range(key, value)
            since = lo if since is None else max(since, lo)
            until = hi if until is None else min(until, hi)
        elif key == "priced":
            conditions.append(f"priced = {dialect.param}")
            params.append(_parse_bool(value))
        elif value is None:
            conditions.append(f"{_KEY_SQL[key]} IS NULL")
        else:
            conditions.append(f"{_KEY_SQL[key]} = {dialect.param}")
            params.append(value)
    bounds = [(f"start_ns >= {dialect.param}", since), (f"start_ns < {dialect.param}", until)]
    bounds = [(sql, value) for sql, value in bounds if value is not None]
    return [sql for sql, _ in bounds] + conditions, [value for _, value in bounds] + params


def where_sql(conditions: list[str]) -> str:
    # Always present: SQLite's INSERT ... SELECT ... ON CONFLICT needs a WHERE to parse.
    return "WHERE " + (" AND ".join(conditions) if conditions else "1 = 1")


def totals_sql(dialect: Dialect, filters: Filters) -> tuple[str, list[Any]]:
    conditions, params = where(dialect, filters)
    return f"SELECT {measures(dialect)} FROM {dialect.table()} {where_sql(conditions)}", params


@dataclass(frozen=True, slots=True)
class GroupPlan:
    dialect: Dialect
    by: tuple[str, ...]
    keys: tuple[str, ...]  # SQL expression per dimension
    nullable: tuple[bool, ...]  # per dimension: can its value be NULL?
    conditions: list[str]
    params: list[Any]

    def sql(self, table: str) -> str:
        positions = ", ".join(str(i + 1) for i in range(len(self.keys)))
        return (
            f"SELECT {', '.join(self.keys)}, {measures(self.dialect)} FROM {table} "
            f"{where_sql(self.conditions)} GROUP BY {positions}"
        )


def group_plan(dialect: Dialect, by: Sequence[str], filters: Filters) -> GroupPlan:
    if isinstance(by, str):
        raise ValueError(f"group by takes a sequence of dimensions, got the string {by!r}")
    dims = tuple(by)
    if not dims:
        raise ValueError("group by needs at least one dimension")
    unknown = [d for d in dims if d not in _KEY_SQL]
    if unknown:
        raise ValueError(f"cannot group by {unknown}; groupable: {', '.join(GROUPABLE)}")
    if len(set(dims)) != len(dims):
        raise ValueError(f"group by names a dimension twice: {list(dims)}")
    conditions, params = where(dialect, filters)
    nullable = tuple(d not in _NOT_NULL_KEYS for d in dims)
    return GroupPlan(dialect, dims, tuple(_KEY_SQL[d] for d in dims), nullable, conditions, params)


def _label(dim: str, raw: Any) -> str | None:
    if raw is None:
        return None
    if dim == "hour":
        day, hour = divmod(int(raw), 24)
        return f"{(_EPOCH + timedelta(days=day)).isoformat()}T{hour:02d}"
    if dim == "day":
        return (_EPOCH + timedelta(days=int(raw))).isoformat()
    if dim == "month":
        return (_EPOCH + timedelta(days=int(raw))).isoformat()[:7]
    return str(raw)


_COST = [f.name for f in fields(Totals)].index("cost_nanos")


def _sort_key(item: tuple[tuple[str | None, ...], list[int]]) -> tuple[Any, ...]:
    key, sums = item
    # cost descending, then the key ascending with None first (as SQL's NULLS FIRST)
    return (-sums[_COST], tuple((v is not None, v or "") for v in key))


def finish_groups(plan: GroupPlan, rows: Sequence[Sequence[Any]], limit: int | None) -> list[Group]:
    """Label time buckets, merge days into months, sort by cost then key, apply ``limit``.

    Sorting here rather than in SQL gives both engines one order (code-point order, None first)
    whatever the database collation.
    """
    width = len(plan.by)
    merged: dict[tuple[str | None, ...], list[int]] = {}
    for row in rows:
        key = tuple(_label(dim, raw) for dim, raw in zip(plan.by, row[:width], strict=True))
        sums = [exact_int(v) for v in row[width:]]
        if key in merged:
            merged[key] = [a + b for a, b in zip(merged[key], sums, strict=True)]
        else:
            merged[key] = sums
    ordered = sorted(merged.items(), key=_sort_key)
    if limit is not None:
        ordered = ordered[:limit]
    return [Group(dict(zip(plan.by, key, strict=True)), Totals(*sums)) for key, sums in ordered]


def records_sql(
    dialect: Dialect, filters: Filters, after: tuple[int, str, str] | None, batch_size: int
) -> tuple[str, list[Any]]:
    """One keyset page: rows after ``after`` in (start_ns, trace_id, span_id) order."""
    if after is not None:
        # The cursor's start_ns becomes the lower bound (it is at or past any since_ns), so the
        # index range starts at the cursor rather than at since_ns: each page costs its own size,
        # not a rescan of every page before it.
        filters = replace(filters, since_ns=after[0])
    conditions, params = where(dialect, filters)
    if after is not None:
        p = dialect.param
        conditions.append(f"(start_ns, trace_id, span_id) > ({p}, {p}, {p})")
        params.extend(after)
    sql = (
        f"SELECT {SELECT_COLUMNS} FROM {dialect.table()} {where_sql(conditions)} "
        f"ORDER BY start_ns, trace_id, span_id LIMIT {dialect.param}"
    )
    return sql, [*params, batch_size]


def time_bounds(filters: Filters) -> tuple[int | None, int | None]:
    """``[since, until)`` of ``filters``: its bounds narrowed by any day/hour/month filter."""
    since, until = filters.since_ns, filters.until_ns
    for key in TIME_KEYS & set(filters.equals):
        value = filters.equals[key]
        if value is None:
            raise ValueError(f"filter {key} needs a value")
        lo, hi = bucket_range(key, value)
        since = lo if since is None else max(since, lo)
        until = hi if until is None else min(until, hi)
    return since, until


def scan_sql(dialect: Dialect, columns: Sequence[str], filters: Filters) -> tuple[str, list[Any]]:
    """One time slice of :meth:`scan`: ``filters`` carries the slice's bounds."""
    conditions, params = where(dialect, filters)
    exprs = ", ".join(_KEY_SQL["model"] if name == "model" else ident(name) for name in columns)
    return f"SELECT {exprs} FROM {dialect.table()} {where_sql(conditions)} ORDER BY start_ns", params


_PAGE_KEY = tuple(COLUMN_NAMES.index(name) for name in ("start_ns", "trace_id", "span_id"))


def page_key(row: Sequence[Any]) -> tuple[int, str, str]:
    """Where the next keyset page starts: after this row's (start_ns, trace_id, span_id)."""
    start, trace, span = (row[i] for i in _PAGE_KEY)
    return int(start), str(trace), str(span)


def record_from_row(row: Sequence[Any]) -> LedgerRecord:
    values = list(row)
    for i in _BOOL_POSITIONS:  # SQLite hands booleans back as 0/1
        values[i] = bool(values[i])
    return LedgerRecord(*values)
