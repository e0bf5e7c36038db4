"""Spend and token anomalies: an hour far above its usual level, a day above a set threshold.

**Hourly.** An hour's value (spend, or tokens: all input plus all output) is compared with its
*baseline*: the median of the same hour of the week in the previous :data:`BASELINE_WEEKS` weeks
(Tuesday 14:00 against the last four Tuesdays at 14:00), so the working-day rhythm is not news.
Weeks before the first record seen are left out (a new ledger has fewer); with none, there is no
baseline and no judgement. A quiet hour's baseline is never taken below :data:`FLOOR_SHARE` of
the mean hour over those weeks, so a handful of calls at 3 a.m. does not count as a tenfold
surge: with the default ratio of 2, an anomalous hour is also at least an average hour. An hour
is anomalous when its value is at least :data:`RATIO` times its baseline.

The CLI lists complete UTC clock hours; the collector's gauges compare the trailing 60 minutes
with the same 60 minutes of earlier weeks, so an alert fires within a scrape, not an hour later.

**Daily.** A UTC day whose spend exceeds a configured threshold.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from otel_llmcost import semconv as sc
from otel_llmcost.analytics._report import format_time, usd
from otel_llmcost.ledger import Filters, LedgerBackend, Totals

__all__ = [
    "BASELINE_WEEKS",
    "DAILY_COST",
    "FLOOR_SHARE",
    "HOURLY_COST",
    "HOURLY_TOKENS",
    "RATIO",
    "Anomaly",
    "HourlyLevel",
    "current_levels",
    "daily_anomalies",
    "hourly_anomalies",
]

HOURLY_COST = sc.ANOMALY_HOURLY_COST
HOURLY_TOKENS = sc.ANOMALY_HOURLY_TOKENS
DAILY_COST = "daily_cost"
RATIO = 2.0
BASELINE_WEEKS = 4
FLOOR_SHARE = 0.5
HOUR_NS = 3_600_000_000_000
DAY_NS = 24 * HOUR_NS
WEEK_NS = 7 * DAY_NS
_HOURS_PER_WEEK = 168
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_KINDS = (HOURLY_COST, HOURLY_TOKENS)


def _measures(totals: Totals) -> tuple[int, int]:
    """(spend in nano-dollars, tokens) of an hour."""
    return totals.cost_nanos, totals.input_tokens + totals.output_tokens


@dataclass(frozen=True)
class Anomaly:
    """An hour (or a day) above its baseline (or threshold). Spend values are nano-dollars."""

    kind: str
    start_ns: int
    end_ns: int
    value: int
    baseline: float  # the (floored) median for hours; the threshold for days
    ratio: float

    def to_dict(self) -> dict[str, Any]:
        money = self.kind != HOURLY_TOKENS
        return {
            "kind": self.kind,
            "start": format_time(self.start_ns),
            "end": format_time(self.end_ns),
            "value": usd(self.value) if money else self.value,
            "baseline": usd(round(self.baseline)) if money else round(self.baseline, 2),
            "ratio": round(self.ratio, 3),
        }


@dataclass(frozen=True)
class HourlyLevel:
    """The trailing hour against its baseline (``None`` when no earlier week had data)."""

    kind: str
    value: int
    baseline: float | None
    weeks: int

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline <= 0:
            return None
        return self.value / self.baseline


def _first_start(ledger: LedgerBackend, equals: dict[str, str | None]) -> int | None:
    """When the first matching row started: weeks before it have no data, not zero spend."""
    first = next(iter(ledger.records(Filters(equals=equals), batch_size=1)), None)
    return None if first is None else first.start_ns


def _baseline(prior: list[int], mean_hour: float) -> float | None:
    if not prior:
        return None
    return max(float(statistics.median(prior)), FLOOR_SHARE * mean_hour)


def current_levels(
    ledger: LedgerBackend, now_ns: int, scope: Mapping[str, str | None] | None = None
) -> dict[str, HourlyLevel]:
    """The trailing 60 minutes before ``now_ns`` against the same minutes of the previous weeks."""
    equals = dict(scope or {})
    earliest = now_ns - HOUR_NS - BASELINE_WEEKS * WEEK_NS
    first = _first_start(ledger, equals)
    first = now_ns if first is None else first
    current = _measures(ledger.totals(Filters(since_ns=now_ns - HOUR_NS, until_ns=now_ns, equals=equals)))
    prior: list[tuple[int, int]] = []
    for k in range(1, BASELINE_WEEKS + 1):
        end = now_ns - k * WEEK_NS
        if end - HOUR_NS >= first:
            prior.append(
                _measures(ledger.totals(Filters(since_ns=end - HOUR_NS, until_ns=end, equals=equals)))
            )
    span_start = max(first, earliest)
    hours = (now_ns - HOUR_NS - span_start) / HOUR_NS
    past = _measures(ledger.totals(Filters(since_ns=span_start, until_ns=now_ns - HOUR_NS, equals=equals)))
    levels = {}
    for index, kind in enumerate(_KINDS):
        mean_hour = past[index] / hours if hours > 0 else 0.0
        baseline = _baseline([p[index] for p in prior], mean_hour)
        levels[kind] = HourlyLevel(kind, current[index], baseline, len(prior))
    return levels


def _hour_index(label: str) -> int:
    """Hours since the epoch of a ``YYYY-MM-DDTHH`` label."""
    return (date.fromisoformat(label[:10]).toordinal() - _EPOCH_ORDINAL) * 24 + int(label[11:13])


def hourly_anomalies(
    ledger: LedgerBackend,
    since_ns: int,
    until_ns: int,
    scope: Mapping[str, str | None] | None = None,
    *,
    ratio: float = RATIO,
    known: tuple[int, Mapping[int, tuple[int, int]]] | None = None,
) -> list[Anomaly]:
    """Complete UTC hours in ``[since_ns, until_ns)`` at least ``ratio`` times their baseline,
    oldest first (an hour anomalous in both spend and tokens is listed once per kind).

    ``known`` = ``(from_ns, series)`` spares the ledger a query: ``series`` already holds the
    (spend, tokens) of every row in ``[from_ns, until_ns)`` by hour since the epoch."""
    first_hour = -(-since_ns // HOUR_NS)
    end_hour = until_ns // HOUR_NS  # exclusive
    if end_hour <= first_hour:
        return []
    reach = first_hour - BASELINE_WEEKS * _HOURS_PER_WEEK
    equals = dict(scope or {})
    first_start = _first_start(ledger, equals)
    if first_start is None:
        return []
    first_seen = first_start // HOUR_NS
    query_until = end_hour * HOUR_NS if known is None else min(known[0], end_hour * HOUR_NS)
    series: dict[int, tuple[int, int]] = {}
    if query_until > reach * HOUR_NS:
        filters = Filters(since_ns=reach * HOUR_NS, until_ns=query_until, equals=equals)
        for group in ledger.group(["hour"], filters):
            if group.totals.requests:
                series[_hour_index(str(group.key["hour"]))] = _measures(group.totals)
    for hour, (cost, tokens) in known[1].items() if known is not None else ():
        if reach <= hour < end_hour:
            before = series.get(hour, (0, 0))
            series[hour] = (before[0] + cost, before[1] + tokens)
    if not series:
        return []
    # Running sums over hours, for the mean hour of any span in O(1).
    prefix = [[0], [0]]
    for hour in range(reach, end_hour):
        cost, tokens = series.get(hour, (0, 0))
        prefix[0].append(prefix[0][-1] + cost)
        prefix[1].append(prefix[1][-1] + tokens)
    found: list[Anomaly] = []
    for hour in range(first_hour, end_hour):
        weeks = [hour - k * _HOURS_PER_WEEK for k in range(1, BASELINE_WEEKS + 1)]
        weeks = [h for h in weeks if h >= first_seen]
        if not weeks:
            continue
        span_start = max(first_seen, hour - BASELINE_WEEKS * _HOURS_PER_WEEK)
        value = series.get(hour, (0, 0))
        for index, kind in enumerate(_KINDS):
            sums = prefix[index]
            mean_hour = (sums[hour - reach] - sums[span_start - reach]) / (hour - span_start)
            baseline = _baseline([series.get(h, (0, 0))[index] for h in weeks], mean_hour)
            if baseline and value[index] >= ratio * baseline:
                found.append(
                    Anomaly(
                        kind,
                        hour * HOUR_NS,
                        (hour + 1) * HOUR_NS,
                        value[index],
                        baseline,
                        value[index] / baseline,
                    )
                )
    return found


def daily_anomalies(
    ledger: LedgerBackend,
    since_ns: int,
    until_ns: int,
    threshold_nanos: int,
    scope: Mapping[str, str | None] | None = None,
) -> list[Anomaly]:
    """UTC days in ``[since_ns, until_ns)`` whose spend exceeds ``threshold_nanos``, oldest first
    (days cut by the range count only their part inside it). ``threshold_nanos`` must be > 0."""
    if threshold_nanos <= 0:
        raise ValueError(f"the daily cost threshold must be positive, got {threshold_nanos} nano-dollars")
    filters = Filters(since_ns=since_ns, until_ns=until_ns, equals=dict(scope or {}))
    found = []
    for group in ledger.group(["day"], filters):
        cost = group.totals.cost_nanos
        if cost > threshold_nanos:
            start = (date.fromisoformat(str(group.key["day"])).toordinal() - _EPOCH_ORDINAL) * DAY_NS
            found.append(
                Anomaly(
                    DAILY_COST, start, start + DAY_NS, cost, float(threshold_nanos), cost / threshold_nanos
                )
            )
    return sorted(found, key=lambda a: a.start_ns)
