"""``forecast --backtest``: how good month-end forecasts would have been on the ledger's own past.

For every complete calendar month with spend, forecasts are made as of the end of its day 7, 14
and 21 from the history before that moment only, and compared with the month's actual total:
the absolute percentage error of each, their mean (MAPE) per day and overall, and the share of
actual totals inside the forecast's 80% interval. Forecasts the model declines (too little
history, typically in the first month) are listed and left out of the figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from otel_llmcost.analytics._forecast import OK, Forecast, daily_spend, project
from otel_llmcost.analytics._report import usd
from otel_llmcost.budgets._windows import Window
from otel_llmcost.ledger import LedgerBackend

__all__ = ["BACKTEST_DAYS", "Backtest", "BacktestPoint", "backtest", "backtest_series"]

BACKTEST_DAYS = (7, 14, 21)


@dataclass(frozen=True)
class BacktestPoint:
    month: str  # YYYY-MM
    day: int  # the forecast was made at the end of this day of the month
    actual_nanos: int
    forecast: Forecast

    @property
    def error(self) -> float | None:
        """|forecast - actual| / actual, or ``None`` without a forecast (or without spend)."""
        predicted = self.forecast.forecast_nanos
        if self.forecast.status != OK or predicted is None or self.actual_nanos <= 0:
            return None
        return abs(predicted - self.actual_nanos) / self.actual_nanos

    @property
    def covered(self) -> bool | None:
        low, high = self.forecast.low_nanos, self.forecast.high_nanos
        if self.error is None or low is None or high is None:
            return None
        return low <= self.actual_nanos <= high

    def to_dict(self) -> dict[str, Any]:
        error = self.error
        return {
            "month": self.month,
            "day": self.day,
            "status": self.forecast.status,
            "actual_usd": usd(self.actual_nanos),
            "forecast_usd": None
            if self.forecast.forecast_nanos is None
            else usd(self.forecast.forecast_nanos),
            "low_usd": None if self.forecast.low_nanos is None else usd(self.forecast.low_nanos),
            "high_usd": None if self.forecast.high_nanos is None else usd(self.forecast.high_nanos),
            "error_pct": None if error is None else round(error * 100, 2),
            "covered": self.covered,
        }


@dataclass(frozen=True)
class Backtest:
    points: tuple[BacktestPoint, ...]

    def mape(self, day: int | None = None) -> float | None:
        """Mean absolute percentage error (a fraction) of the forecasts made at ``day`` (all
        days when ``None``); ``None`` when there is none."""
        errors = [p.error for p in self.points if p.error is not None and (day is None or p.day == day)]
        return sum(errors) / len(errors) if errors else None

    @property
    def coverage(self) -> float | None:
        """Share of scored forecasts whose 80% interval held the actual total."""
        hits = [p.covered for p in self.points if p.covered is not None]
        return sum(hits) / len(hits) if hits else None

    @property
    def scored(self) -> int:
        return sum(1 for p in self.points if p.error is not None)

    def to_dict(self) -> dict[str, Any]:
        def pct(value: float | None) -> float | None:
            return None if value is None else round(value * 100, 2)

        days = sorted({p.day for p in self.points})
        coverage = self.coverage
        return {
            "months": sorted({p.month for p in self.points}),
            "forecasts": [p.to_dict() for p in self.points],
            "scored": self.scored,
            "mape_pct": {**{str(d): pct(self.mape(d)) for d in days}, "all": pct(self.mape())},
            "interval_coverage": None if coverage is None else round(coverage, 4),
        }


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def backtest_series(
    daily: Mapping[date, int],
    *,
    tz: ZoneInfo,
    before: date,
    days: Sequence[int] = BACKTEST_DAYS,
    replicates: int = 400,
) -> Backtest:
    """Backtest on spend per local day; months ending after ``before`` are not complete."""
    midnight = Window.parse("daily", tz)
    months = sorted({day.replace(day=1) for day, nanos in daily.items() if nanos > 0 and day < before})
    points = []
    for first in months:
        following = _next_month(first)
        if following > before:
            continue
        month_days = [first + timedelta(days=i) for i in range((following - first).days)]
        actual = sum(daily.get(day, 0) for day in month_days)
        for offset in days:
            cut = first + timedelta(days=offset)
            as_of, _ = midnight.bounds(datetime(cut.year, cut.month, cut.day, 12, tzinfo=tz))
            assert as_of is not None
            history = {day: nanos for day, nanos in daily.items() if day < cut}
            spent = sum(history.get(day, 0) for day in month_days if day < cut)
            result = project(
                history, window="monthly", tz=tz, as_of=as_of, spent_nanos=spent, replicates=replicates
            )
            points.append(BacktestPoint(first.isoformat()[:7], offset, actual, result))
    return Backtest(tuple(points))


def backtest(
    ledger: LedgerBackend,
    *,
    tz: ZoneInfo | str = "UTC",
    as_of: datetime | None = None,
    scope: Mapping[str, str | None] | None = None,
) -> Backtest:
    """Backtest the month-end forecast on the ledger's complete months before ``as_of`` (now)."""
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    moment = as_of or datetime.now(timezone.utc)
    month_start, _ = Window.parse("monthly", zone).bounds(moment)
    assert month_start is not None
    daily = daily_spend(ledger, None, month_start, zone, scope)
    return backtest_series(daily, tz=zone, before=month_start.astimezone(zone).date())
