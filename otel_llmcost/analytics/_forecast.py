"""Window-end spend forecasts: ``otel-llmcost forecast``, ``/v1/forecast`` and budget gauges.

A forecast projects the spend of a calendar window (month or ISO week, in a time zone) at its
end: what was spent so far, exactly, plus the model's prediction for the rest of the window
(:mod:`~otel_llmcost.analytics._forecast_model`: weekday seasonality and a robust growth trend
fitted to the last :data:`HISTORY_DAYS` complete days), with an 80% interval. Two rules frame it:

* **Enough history or none.** With fewer than :data:`MIN_HISTORY_DAYS` complete days since the
  first day with spend, the status is ``insufficient_history`` and no figure is guessed (the
  run-rate is still given for reference). Two weeks, because one week cannot tell the weekday
  pattern from noise, nor show any trend.
* **Never below the pace so far.** The point forecast is at least the run-rate (spent so far,
  scaled to the whole window): when the model projects less, say after a spike early in the
  month, budgets err on the side of warning. ``floored`` says when that happened.

The rest of today counts as what the model expects of the whole day minus what today already
spent (never negative). Days are local days of the window's zone, built from the ledger's UTC
hours (in a zone with a half-hour offset, an hour straddling midnight counts on the day it
starts).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from operator import attrgetter
from typing import Any
from zoneinfo import ZoneInfo

from otel_llmcost.analytics._forecast_model import SeasonalTrend, fit, interval
from otel_llmcost.analytics._report import format_time, usd
from otel_llmcost.budgets._windows import Window
from otel_llmcost.ledger import Filters, LedgerBackend, Totals

__all__ = [
    "HISTORY_DAYS",
    "INSUFFICIENT_HISTORY",
    "LEVEL",
    "MIN_HISTORY_DAYS",
    "WINDOWS",
    "Forecast",
    "daily_spend",
    "forecast",
    "project",
    "to_ns",
]

MIN_HISTORY_DAYS = 14
HISTORY_DAYS = 56  # eight weeks: enough to fix a trend, short enough to follow a change
LEVEL = 0.8
OK = "ok"
INSUFFICIENT_HISTORY = "insufficient_history"
#: Window names accepted by the CLI and the API -> budget window specs.
WINDOWS = {"month": "monthly", "week": "weekly", "monthly": "monthly", "weekly": "weekly"}
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def to_ns(moment: datetime) -> int:
    """Nanoseconds since the epoch of an aware datetime, exactly (no float)."""
    return (moment - _EPOCH) // timedelta(microseconds=1) * 1000


@dataclass(frozen=True)
class Forecast:
    """A window-end projection; money in integer nano-dollars."""

    status: str  # "ok" | "insufficient_history"
    window: str  # "monthly" | "weekly"
    timezone: str
    window_start: datetime
    window_end: datetime
    as_of: datetime
    spent_nanos: int
    run_rate_nanos: int | None
    history_days: int  # complete days the model was fitted on (at most HISTORY_DAYS)
    forecast_nanos: int | None = None
    low_nanos: int | None = None
    high_nanos: int | None = None
    floored: bool = False
    model: SeasonalTrend | None = field(default=None, repr=False)
    scope: Mapping[str, str | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        def money(nanos: int | None) -> str | None:
            return None if nanos is None else usd(nanos)

        data: dict[str, Any] = {
            "status": self.status,
            "window": self.window,
            "timezone": self.timezone,
            "window_start": format_time(to_ns(self.window_start)),
            "window_end": format_time(to_ns(self.window_end)),
            "as_of": format_time(to_ns(self.as_of)),
            "scope": dict(self.scope),
            "spent_usd": usd(self.spent_nanos),
            "run_rate_usd": money(self.run_rate_nanos),
            "forecast_usd": money(self.forecast_nanos),
            "interval": None,
            "history_days": self.history_days,
            "min_history_days": MIN_HISTORY_DAYS,
        }
        if self.low_nanos is not None and self.high_nanos is not None:
            data["interval"] = {
                "level": LEVEL,
                "low_usd": usd(self.low_nanos),
                "high_usd": usd(self.high_nanos),
            }
        if self.model is not None:
            data["model"] = {
                "floored": self.floored,
                "daily_growth": round(math.expm1(self.model.growth), 6),
                "weekday_factors": {
                    name: round(factor, 4)
                    for name, factor in zip(_WEEKDAYS, self.model.weekday_factors(), strict=True)
                },
            }
        return data


def daily_spend(
    ledger: LedgerBackend,
    since: datetime | None,
    until: datetime,
    tz: ZoneInfo,
    scope: Mapping[str, str | None] | None = None,
    measure: Callable[[Totals], int] = attrgetter("cost_nanos"),
) -> dict[date, int]:
    """Spend (nano-dollars; or what ``measure`` reads of each hour's totals) per local day of
    ``tz`` in ``[since, until)``; days without any are absent. One grouped query by UTC hour,
    folded into local days."""
    filters = Filters(
        since_ns=None if since is None else to_ns(since), until_ns=to_ns(until), equals=dict(scope or {})
    )
    days: dict[date, int] = defaultdict(int)
    for group in ledger.group(["hour"], filters):
        label = str(group.key["hour"])
        hour = datetime(
            int(label[:4]), int(label[5:7]), int(label[8:10]), int(label[11:13]), tzinfo=timezone.utc
        )
        days[hour.astimezone(tz).date()] += measure(group.totals)
    return dict(days)


def project(
    daily: Mapping[date, int],
    *,
    window: str,
    tz: ZoneInfo,
    as_of: datetime,
    spent_nanos: int,
    today_nanos: int = 0,
    scope: Mapping[str, str | None] | None = None,
    replicates: int = 400,
) -> Forecast:
    """The forecast of ``window`` (``monthly``/``weekly``) at ``as_of`` from ``daily`` spend per
    local day (days before ``as_of``'s local date are complete), ``spent_nanos`` in the window
    so far and ``today_nanos`` on ``as_of``'s local date so far. Pure: no ledger, no clock.
    ``replicates=0`` skips the interval (the point forecast alone is cheap)."""
    spec = Window.parse(window, tz)
    start, end = spec.bounds(as_of)
    assert start is not None  # calendar windows are bounded
    assert end is not None
    # In whole microseconds, so the run-rate is exact integer money (rounded half up).
    elapsed, length = (as_of - start) // _MICROSECOND, (end - start) // _MICROSECOND
    run_rate = (spent_nanos * length + elapsed // 2) // elapsed if elapsed > 0 else None
    base = Forecast(
        status=INSUFFICIENT_HISTORY, window=window, timezone=str(tz), window_start=start, window_end=end,
        as_of=as_of, spent_nanos=spent_nanos, run_rate_nanos=run_rate, history_days=0, scope=dict(scope or {}),
    )  # fmt: skip
    today = as_of.astimezone(tz).date()
    spend_days = [day for day, nanos in daily.items() if nanos > 0 and day < today]
    oldest = today - timedelta(days=HISTORY_DAYS)
    if not spend_days or max(spend_days) < oldest:
        # No spend in the fitted span (a scope quiet for eight weeks): a series of zeros,
        # nothing to fit.
        return base
    first = max(min(spend_days), oldest)
    history = (today - first).days
    if history < MIN_HISTORY_DAYS:
        return replace(base, history_days=history)
    series = [float(daily.get(first + timedelta(days=i), 0)) for i in range(history)]
    model = fit(series, (today - timedelta(days=1)).weekday())
    last_day = (end - timedelta(microseconds=1)).astimezone(tz).date()
    horizon = list(range(1, (last_day - today).days + 2))  # today is k = 1
    predicted = [model.predict(k) for k in horizon]
    predicted[0] = max(0.0, predicted[0] - today_nanos)
    point = spent_nanos + round(math.fsum(predicted))
    floored = run_rate is not None and run_rate > point
    if floored:
        assert run_rate is not None
        point = run_rate
    low = high = None
    if replicates:
        lo, hi = interval(series, model, horizon, already=float(today_nanos), replicates=replicates)
        low, high = min(point, spent_nanos + round(lo)), max(point, spent_nanos + round(hi))
    return replace(
        base,
        status=OK,
        history_days=history,
        forecast_nanos=point,
        low_nanos=low,
        high_nanos=high,
        floored=floored,
        model=model,
    )


def forecast(
    ledger: LedgerBackend,
    *,
    window: str = "month",
    tz: ZoneInfo | str = "UTC",
    as_of: datetime | None = None,
    scope: Mapping[str, str | None] | None = None,
) -> Forecast:
    """The ``window`` (``month``/``week``) forecast of the rows matching ``scope`` (equality
    filters, as :class:`~otel_llmcost.ledger.Filters`), as of ``as_of`` (default now).

    Raises ``ValueError`` for an unknown window or a bad scope."""
    if window not in WINDOWS:
        raise ValueError(f"window must be one of {', '.join(sorted(WINDOWS))}, got {window!r}")
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    moment = as_of or datetime.now(timezone.utc)
    if moment.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    spec = WINDOWS[window]
    start, _ = Window.parse(spec, zone).bounds(moment)
    assert start is not None
    midnight, _ = Window.parse("daily", zone).bounds(moment)
    assert midnight is not None
    equals = dict(scope or {})
    # A day more than the fit uses, so the first day of the range is complete in any zone.
    daily = daily_spend(ledger, midnight - timedelta(days=HISTORY_DAYS + 1), midnight, zone, equals)
    now_ns = to_ns(moment)
    spent = ledger.totals(Filters(since_ns=to_ns(start), until_ns=now_ns, equals=equals)).cost_nanos
    today = ledger.totals(Filters(since_ns=to_ns(midnight), until_ns=now_ns, equals=equals)).cost_nanos
    return project(
        daily, window=spec, tz=zone, as_of=moment, spent_nanos=spent, today_nanos=today, scope=equals
    )
