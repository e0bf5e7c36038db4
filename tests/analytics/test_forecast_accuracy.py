"""Forecast quality on realistic synthetic usage (weekday seasonality, growth, noise, spikes):
month-end forecasts made at days 7, 14 and 21 of seven months for six organisations."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest

from otel_llmcost.analytics._backtest import Backtest, backtest_series
from otel_llmcost.analytics._synthetic import SyntheticUsage

NS_PER_DAY = 86_400_000_000_000
END = date(2026, 1, 1)
SEEDS = range(6)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def results() -> Backtest:
    points = []
    for seed in SEEDS:
        spec = SyntheticUsage(seed=seed, days=224, end=END, calls_per_day=80)
        daily: dict[date, int] = defaultdict(int)
        for record in spec.records():
            daily[date(1970, 1, 1) + timedelta(days=record.start_ns // NS_PER_DAY)] += record.cost_nanos
        points += backtest_series(daily, tz=ZoneInfo("UTC"), before=END).points
    return Backtest(tuple(points))


def test_every_forecast_was_made_except_in_the_month_the_data_starts(results: Backtest) -> None:
    # The data starts on 22 May: May is scored nowhere (too little history), June to December
    # at days 7, 14 and 21 (June's day-7 forecast has 17 days of history).
    assert results.scored == len(SEEDS) * 7 * 3
    assert {p.month for p in results.points if p.error is None} == {"2025-05"}


def test_mean_absolute_percentage_error_is_under_ten_percent(results: Backtest) -> None:
    for day in (7, 14, 21):
        mape = results.mape(day)
        assert mape is not None and mape < 0.10, (day, mape)
    overall = results.mape()
    assert overall is not None and overall < 0.06
    assert results.mape(7) > results.mape(21)  # type: ignore[operator]  # later forecasts know more


def test_the_80_percent_interval_holds_the_actual_about_80_percent_of_the_time(results: Backtest) -> None:
    coverage = results.coverage
    # 126 forecasts: a well-calibrated interval lands within ±7 points (two standard errors) of 80%.
    assert coverage is not None and 0.72 <= coverage <= 0.88, coverage
