"""The cost report: one builder behind the collector's ``/v1/report`` and ``otel-llmcost report``.

A report is the ledger's totals for a selection of rows (time range and equality filters), plus
the totals per group when grouped. Its JSON shape (:func:`build_report`)::

    {"total_usd": "1.000133206", "requests": 4, "errors": 1, "unpriced": 0,
     "input_tokens": 1200, "output_tokens": 64, "cache_read_tokens": 1024,
     "cache_write_tokens": 0, "reasoning_tokens": 3,
     "since": "2025-03-10T00:00:00Z", "until": null, "group_by": ["team"],
     "filters": {"provider": "openai"}, "groups": [{"key": {"team": "search"}, ...totals}]}

Money is an exact decimal string made from integer nano-dollars, never a float. Groups come by
cost descending, then key ascending (``null`` first); ``limit`` keeps the top groups while the
totals stay whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Final, Protocol

from otel_llmcost.ledger import FILTERABLE, GROUPABLE, Filters, Group, Totals

__all__ = [
    "LedgerReader",
    "ReportError",
    "ReportQuery",
    "build_report",
    "fold_groups",
    "format_time",
    "month_range",
    "parse_report_query",
    "parse_time",
    "report_json",
    "sum_totals",
    "totals_json",
    "usd",
]

NS_PER_S: Final = 1_000_000_000
REPORT_PARAMS: Final = frozenset({"group_by", "since", "until", "limit"})
_EPOCH_SECONDS = re.compile(r"-?\d+(\.\d+)?")
_FRACTION = re.compile(r"(T\d\d:\d\d:\d\d)\.(\d+)")  # up to nanoseconds, which fromisoformat drops
_MONTH = re.compile(r"(\d{4})-(\d{2})")


class ReportError(ValueError):
    """A report query that cannot be answered; ``parameter`` names the culprit when known."""

    def __init__(self, message: str, parameter: str | None = None) -> None:
        super().__init__(message)
        self.parameter = parameter


class LedgerReader(Protocol):
    """The read side of a ledger that reports need (a :class:`~otel_llmcost.ledger.LedgerBackend`
    is one; so is a client of a collector's ``/v1/report``)."""

    def totals(self, filters: Filters = ...) -> Totals: ...

    def group(self, by: Sequence[str], filters: Filters = ..., limit: int | None = None) -> list[Group]: ...


@dataclass(frozen=True)
class ReportQuery:
    """What to report: rows selected by ``filters``, grouped by ``group_by`` (may be empty)."""

    group_by: tuple[str, ...] = ()
    filters: Filters = field(default_factory=Filters)
    limit: int | None = None


def usd(nanos: int) -> str:
    """Integer nano-dollars as an exact decimal string: 133200 -> ``"0.0001332"``."""
    if nanos == 0:
        return "0"
    return format(Decimal(nanos).scaleb(-9).normalize(), "f")


_MAX_NS = 2**63 - 1


def parse_time(text: str, parameter: str) -> int:
    """Nanoseconds since the epoch from epoch seconds, an ISO date (midnight UTC) or an ISO
    datetime (UTC unless it names an offset). :class:`ReportError` naming ``parameter`` otherwise."""
    value = text.strip()
    try:
        if _EPOCH_SECONDS.fullmatch(value):
            ns = int(Decimal(value) * NS_PER_S)
        elif len(value) == 10:
            day = date.fromisoformat(value)
            ns = _ns(datetime(day.year, day.month, day.day, tzinfo=timezone.utc))
        else:
            fraction = _FRACTION.search(value)
            nanos = int(fraction.group(2)[:9].ljust(9, "0")) if fraction else 0
            if fraction:
                value = value[: fraction.start()] + fraction.group(1) + value[fraction.end() :]
            moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)
            ns = _ns(moment) + nanos
    except ValueError:
        raise ReportError(
            f"{parameter}={text!r}: expected epoch seconds, an ISO date or an ISO datetime", parameter
        ) from None
    if not 0 <= ns <= _MAX_NS:  # the ledger stores signed 64-bit nanoseconds
        raise ReportError(f"{parameter}={text!r}: expected a time from 1970 to 2262", parameter)
    return ns


def _ns(moment: datetime) -> int:
    delta = moment - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * NS_PER_S + delta.microseconds * 1_000


def format_time(ns: int | None) -> str | None:
    """ISO 8601 UTC with a ``Z``; the fraction only when there is one, to the nanosecond."""
    if ns is None:
        return None
    seconds, rest = divmod(ns, NS_PER_S)
    text = datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{rest:09d}".rstrip("0") + "Z" if rest else f"{text}Z"


def month_range(month: str, parameter: str = "month") -> tuple[int, int]:
    """``[start, end)`` in ns of the UTC calendar month ``YYYY-MM``."""
    match = _MONTH.fullmatch(month.strip())
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise ReportError(f"{parameter}={month!r}: expected a calendar month YYYY-MM", parameter)
    year, number = int(match.group(1)), int(match.group(2))
    start = datetime(year, number, 1, tzinfo=timezone.utc)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=timezone.utc)
    return _ns(start), _ns(end)


def totals_json(totals: Totals) -> dict[str, Any]:
    return {
        "total_usd": usd(totals.cost_nanos),
        "requests": totals.requests,
        "errors": totals.errors,
        "unpriced": totals.unpriced,
        "input_tokens": totals.input_tokens,
        "output_tokens": totals.output_tokens,
        "cache_read_tokens": totals.cache_read_tokens,
        "cache_write_tokens": totals.cache_write_tokens,
        "reasoning_tokens": totals.reasoning_tokens,
    }


def sum_totals(items: Iterable[Totals]) -> Totals:
    """Field-wise sum (exact: every field is an integer)."""
    names = [f.name for f in fields(Totals)]
    sums = dict.fromkeys(names, 0)
    for totals in items:
        for name in names:
            sums[name] += getattr(totals, name)
    return Totals(**sums)


def _group_order(group: Group, by: Sequence[str]) -> tuple[Any, ...]:
    # the ledger's order: cost descending, then the key ascending in code points, None first
    return (-group.totals.cost_nanos, tuple((group.key[d] is not None, group.key[d] or "") for d in by))


def fold_groups(groups: Iterable[Group], by: Sequence[str]) -> list[Group]:
    """Groups over more dimensions merged into groups over ``by`` (a subset), in report order."""
    merged: dict[tuple[str | None, ...], list[Totals]] = {}
    for group in groups:
        merged.setdefault(tuple(group.key[d] for d in by), []).append(group.totals)
    folded = [Group(dict(zip(by, key, strict=True)), sum_totals(parts)) for key, parts in merged.items()]
    return sorted(folded, key=lambda g: _group_order(g, by))


def _single(params: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = params.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise ReportError(f"{name} is given {len(values)} times; give it once", name)
    return values[0]


def parse_group_by(text: str, parameter: str = "group_by") -> tuple[str, ...]:
    """``"team, model"`` -> ``("team", "model")``, each a groupable dimension, none twice."""
    group_by = [d.strip() for d in text.split(",") if d.strip()]
    bad = [d for d in group_by if d not in GROUPABLE]
    if bad or len(set(group_by)) != len(group_by):
        reason = f"cannot group by {bad[0]!r}" if bad else "a dimension is named twice"
        raise ReportError(f"{parameter}: {reason}; groupable: {', '.join(GROUPABLE)}", parameter)
    return tuple(group_by)


def parse_report_query(params: Mapping[str, Sequence[str]]) -> ReportQuery:
    """A query from ``/v1/report`` parameters (each name -> its values): ``group_by`` (comma
    separated), ``since``/``until`` (see :func:`parse_time`), ``limit``, and one value per filter
    in :data:`~otel_llmcost.ledger.FILTERABLE`. Unknown or repeated parameters are errors."""
    unknown = sorted(set(params) - REPORT_PARAMS - FILTERABLE)
    if unknown:
        raise ReportError(
            f"unknown parameter {unknown[0]!r}; expected group_by, since, until, limit or a filter on "
            f"{', '.join(sorted(FILTERABLE))}",
            unknown[0],
        )
    group_by = parse_group_by(_single(params, "group_by") or "")
    since_text, until_text = _single(params, "since"), _single(params, "until")
    since = parse_time(since_text, "since") if since_text is not None else None
    until = parse_time(until_text, "until") if until_text is not None else None
    if since is not None and until is not None and until <= since:
        raise ReportError("until must be later than since", "until")
    limit_text = _single(params, "limit")
    if limit_text is not None and not (limit_text.isascii() and limit_text.isdigit()):
        raise ReportError(f"limit={limit_text!r}: expected a non-negative integer", "limit")
    limit = int(limit_text) if limit_text is not None else None
    equals = {name: _single(params, name) for name in sorted(set(params) & FILTERABLE)}
    return ReportQuery(group_by, Filters(since_ns=since, until_ns=until, equals=equals), limit)


def report_json(totals: Totals, query: ReportQuery, groups: Sequence[Group]) -> dict[str, Any]:
    """The report's JSON shape (module docs) from its parts."""
    return {
        **totals_json(totals),
        "since": format_time(query.filters.since_ns),
        "until": format_time(query.filters.until_ns),
        "group_by": list(query.group_by),
        "filters": dict(sorted(query.filters.equals.items())),
        "groups": [{"key": dict(group.key), **totals_json(group.totals)} for group in groups],
    }


def build_report(reader: LedgerReader, query: ReportQuery) -> dict[str, Any]:
    """The report for ``query`` (JSON shape in the module docs). Grouped without a limit, the
    totals are the sum of the groups: one pass over the rows instead of two."""
    filters = query.filters
    try:
        if query.group_by and query.limit is None:
            groups = reader.group(query.group_by, filters)
            totals = sum_totals(g.totals for g in groups)
        else:
            totals = reader.totals(filters)
            groups = reader.group(query.group_by, filters, query.limit) if query.group_by else []
    except ReportError:
        raise
    except ValueError as err:  # a filter value the ledger cannot use (e.g. priced=maybe)
        named = next((name for name in filters.equals if name in str(err)), None)
        raise ReportError(str(err), named) from None
    return report_json(totals, query, groups)
