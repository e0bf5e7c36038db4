"""Where money is wasted: ``otel-llmcost insights`` and ``/v1/insights``.

::

    report = find_insights(ledger)  # the last 30 days
    for insight in report.insights:  # largest saving first
        print(insight.kind, insight.scope, insight.monthly_saving_nanos, insight.suggestion)

Each :class:`Insight` names its ``kind`` (see :mod:`~otel_llmcost.analytics._insights_rules` for
the seven kinds and how each saving is estimated), its ``scope`` (provider, model, feature), the
``evidence`` (counts), the ``spend`` it is about, the estimated ``saving`` over the window and per
30 days, and a suggestion. The report adds the window's totals, the provider prompt-cache hit
ratio and the anomalies (:mod:`~otel_llmcost.analytics._anomalies`) of its last days.

The window's rows are read once, in time order (:mod:`~otel_llmcost.analytics._insights_scan`);
the model tiers come from the budget policy (default :data:`~otel_llmcost.budgets.DEFAULT_TIERS`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from otel_llmcost.analytics._anomalies import Anomaly, daily_anomalies, hourly_anomalies
from otel_llmcost.analytics._insights_rules import Rules
from otel_llmcost.analytics._insights_scan import COLUMNS, fold
from otel_llmcost.analytics._report import format_time, usd
from otel_llmcost.budgets._policy import DEFAULT_TIERS
from otel_llmcost.ledger import Filters, LedgerBackend
from otel_llmcost.pricing import Pricer, get_pricer

__all__ = [
    "DEFAULT_DAYS",
    "DUPLICATE_WINDOW_NS",
    "Insight",
    "InsightsReport",
    "find_insights",
    "parse_duration",
]

HOUR_NS = 3_600_000_000_000
DAY_NS = 24 * HOUR_NS
MONTH_NS = 30 * DAY_NS
DEFAULT_DAYS = 30
DUPLICATE_WINDOW_NS = DAY_NS  # a response cache's TTL: a repeat within a day counts
ANOMALY_DAYS = 7
SLICE_NS = 6 * HOUR_NS  # rows read per scan query: a few dozen queries a month, a bounded slice in memory


_DURATION = re.compile(r"([1-9][0-9]*)([smhd])")
_UNIT_NS = {"s": 10**9, "m": 60 * 10**9, "h": HOUR_NS, "d": DAY_NS}


def parse_duration(text: str) -> int:
    """``30m``, ``24h``, ``7d`` (or ``90s``) as nanoseconds; ``ValueError`` otherwise."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r}: expected a duration such as 30m, 24h or 7d")
    return int(match[1]) * _UNIT_NS[match[2]]


def per_month(nanos: int, window_ns: int) -> int:
    """``nanos`` over ``window_ns`` scaled to 30 days, rounded half-up to the nano-dollar."""
    return (2 * nanos * MONTH_NS + window_ns) // (2 * window_ns)


@dataclass(frozen=True)
class Insight:
    kind: str
    scope: Mapping[str, str | None]
    evidence: Mapping[str, int | float | str]
    spend_nanos: int
    saving_nanos: int  # over the analysed window
    monthly_saving_nanos: int  # the same per 30 days
    suggestion: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "scope": dict(self.scope),
            "evidence": dict(self.evidence),
            "spend_usd": usd(self.spend_nanos),
            "saving_usd": usd(self.saving_nanos),
            "monthly_saving_usd": usd(self.monthly_saving_nanos),
            "suggestion": self.suggestion,
        }


@dataclass(frozen=True)
class InsightsReport:
    since_ns: int
    until_ns: int
    filters: Mapping[str, str | None]
    requests: int
    spend_nanos: int
    input_tokens: int
    cache_read_tokens: int
    insights: tuple[Insight, ...]
    anomalies: tuple[Anomaly, ...] = ()
    daily_threshold_nanos: int | None = None
    tiers: Mapping[str, Sequence[str]] = field(default_factory=lambda: DEFAULT_TIERS, repr=False)

    @property
    def saving_nanos(self) -> int:
        return sum(i.saving_nanos for i in self.insights)

    @property
    def cache_hit_ratio(self) -> float | None:
        return self.cache_read_tokens / self.input_tokens if self.input_tokens else None

    def to_dict(self) -> dict[str, Any]:
        ratio = self.cache_hit_ratio
        return {
            "since": format_time(self.since_ns),
            "until": format_time(self.until_ns),
            "filters": dict(self.filters),
            "requests": self.requests,
            "spend_usd": usd(self.spend_nanos),
            "saving_usd": usd(self.saving_nanos),
            "monthly_saving_usd": usd(per_month(self.saving_nanos, self.until_ns - self.since_ns)),
            "cache_hit_ratio": None if ratio is None else round(ratio, 4),
            "insights": [i.to_dict() for i in self.insights],
            "anomalies": [a.to_dict() for a in self.anomalies],
            "daily_cost_threshold_usd": None
            if self.daily_threshold_nanos is None
            else usd(self.daily_threshold_nanos),
        }


def find_insights(
    ledger: LedgerBackend,
    *,
    since_ns: int | None = None,
    until_ns: int | None = None,
    days: int = DEFAULT_DAYS,
    scope: Mapping[str, str | None] | None = None,
    pricer: Pricer | None = None,
    tiers: Mapping[str, Sequence[str]] = DEFAULT_TIERS,
    duplicate_window_ns: int = DUPLICATE_WINDOW_NS,
    daily_threshold_nanos: int | None = None,
    anomaly_days: int = ANOMALY_DAYS,
) -> InsightsReport:
    """Insights over ``[since_ns, until_ns)`` (default: the ``days`` days up to now) of the rows
    matching ``scope`` (equality filters). ``ValueError`` on a bad range or filter."""
    until = until_ns if until_ns is not None else time.time_ns()
    since = since_ns if since_ns is not None else until - days * DAY_NS
    if until <= since:
        raise ValueError("the window is empty: until must be later than since")
    if duplicate_window_ns <= 0 or anomaly_days < 0:
        raise ValueError("duplicate_window_ns must be positive and anomaly_days non-negative")
    equals = dict(scope or {})
    filters = Filters(since_ns=since, until_ns=until, equals=equals)
    window = until - since
    stats = fold(ledger.scan(COLUMNS, filters, slice_ns=SLICE_NS), until, duplicate_window_ns)
    day = datetime.fromtimestamp(until // 1_000_000_000, timezone.utc).date()
    rules = Rules(pricer or get_pricer(), tiers, day)
    found = []
    for (model, feature), scope_stats in stats.scopes.items():
        where = {"provider": scope_stats.provider, "model": model, "feature": feature}
        for rule in rules.all():
            for kind, evidence, spend, saving, text in rule(model, scope_stats):
                found.append(Insight(kind, where, evidence, spend, saving, per_month(saving, window), text))
    found.sort(
        key=lambda i: (
            -i.saving_nanos,
            -i.spend_nanos,
            i.kind,
            tuple((v is not None, v or "") for v in i.scope.values()),
        )
    )
    anomalies = []
    if anomaly_days:
        start = max(since, until - anomaly_days * DAY_NS)
        anomalies = hourly_anomalies(ledger, start, until, equals, known=(since, stats.hours))
    if daily_threshold_nanos is not None:
        anomalies += daily_anomalies(ledger, since, until, daily_threshold_nanos, equals)
    return InsightsReport(
        since, until, equals, stats.requests, stats.cost, stats.input_tokens, stats.cache_read_tokens,
        tuple(found), tuple(sorted(anomalies, key=lambda a: (a.start_ns, a.kind))), daily_threshold_nanos, tiers,
    )  # fmt: skip
