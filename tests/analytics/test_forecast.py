"""Window-end forecasts: exact on a perfectly seasonal series, the run-rate floor, too little history,
partial days, weeks, zones, and the same answers from a ledger of either engine.

The hand-built series spends, Monday to Sunday, $10, $12, $12, $11, $9, $4, $3 every week. March
2025 starts on a Saturday: by its 16th it has spent 4+3 + 54 + 4+3 + 54 + 4+3 = $129, and from
Monday the 17th to Monday the 31st it spends 54 + 4+3 + 54 + 4+3 + 10 = $132: $261 in all.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from otel_llmcost.analytics._forecast import INSUFFICIENT_HISTORY, daily_spend, forecast, project
from otel_llmcost.ledger import LedgerBackend, open_ledger
from tests.analytics.report_data import ENGINES, ledger_url
from tests.ledger.support import make_record, ns

UTC = ZoneInfo("UTC")
USD = 1_000_000_000
WEEK = [10, 12, 12, 11, 9, 4, 3]  # Monday first


def pattern(first: date, last: date) -> dict[date, int]:
    """The weekly pattern in nano-dollars on every day from ``first`` to ``last`` inclusive."""
    days = (last - first).days + 1
    return {first + timedelta(days=i): WEEK[(first + timedelta(days=i)).weekday()] * USD for i in range(days)}


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)  # type: ignore[misc]


def spent(daily: dict[date, int], first: date, moment: datetime) -> int:
    return sum(v for d, v in daily.items() if first <= d < moment.date())


def test_a_perfectly_seasonal_series_forecasts_the_month_exactly() -> None:
    daily = pattern(date(2025, 2, 1), date(2025, 3, 16))
    result = project(daily, window="monthly", tz=UTC, as_of=at(2025, 3, 17), spent_nanos=129 * USD)
    assert result.status == "ok"
    assert result.forecast_nanos == 261 * USD
    assert result.low_nanos == result.high_nanos == 261 * USD  # no noise, no doubt
    assert result.run_rate_nanos == 249_937_500_000  # 129 x 31 / 16
    assert not result.floored
    assert result.history_days == 44
    assert (result.window_start, result.window_end) == (at(2025, 3, 1), at(2025, 4, 1))
    data = result.to_dict()
    assert {k: data[k] for k in ("status", "spent_usd", "forecast_usd", "run_rate_usd", "interval")} == {
        "status": "ok",
        "spent_usd": "129",
        "forecast_usd": "261",
        "run_rate_usd": "249.9375",
        "interval": {"level": 0.8, "low_usd": "261", "high_usd": "261"},
    }
    assert data["model"] == {
        "floored": False,
        "daily_growth": 0.0,
        "weekday_factors": {
            "mon": 1.1475,
            "tue": 1.377,
            "wed": 1.377,
            "thu": 1.2623,
            "fri": 1.0328,
            "sat": 0.459,
            "sun": 0.3443,
        },
    }
    assert (data["window_start"], data["window_end"], data["as_of"]) == (
        "2025-03-01T00:00:00Z", "2025-04-01T00:00:00Z", "2025-03-17T00:00:00Z",
    )  # fmt: skip


def test_the_forecast_never_falls_below_the_run_rate() -> None:
    # On the 15th the month so far has had four weekend days in fourteen; the rest has six in
    # seventeen, so the model projects 122 + 139 = $261, under the pace so far of 122 x 31/14.
    daily = pattern(date(2025, 2, 1), date(2025, 3, 14))
    result = project(daily, window="monthly", tz=UTC, as_of=at(2025, 3, 15), spent_nanos=122 * USD)
    assert result.floored
    assert result.forecast_nanos == result.run_rate_nanos == 270_142_857_143
    assert (
        result.low_nanos == 261 * USD and result.high_nanos == 270_142_857_143
    )  # the interval keeps the point


def test_spend_already_made_today_counts_against_the_day_s_forecast() -> None:
    daily = pattern(date(2025, 2, 1), date(2025, 3, 23))
    # Monday the 24th at noon, $6 of Monday's usual $10 already spent: $4 more today, then
    # Tuesday to Monday 12+12+11+9+4+3+10 = $61; spent 190 + 6.
    result = project(
        daily, window="monthly", tz=UTC, as_of=at(2025, 3, 24, 12), spent_nanos=196 * USD, today_nanos=6 * USD
    )
    assert result.forecast_nanos == 261 * USD and not result.floored
    over = project(
        daily, window="monthly", tz=UTC, as_of=at(2025, 3, 24, 12), spent_nanos=203 * USD, today_nanos=13 * USD,
        replicates=0,
    )  # fmt: skip
    # Today already beat its forecast: nothing more today, the rest unchanged (floored above it).
    assert over.run_rate_nanos == round(203 * USD * 31 / 23.5)
    assert over.forecast_nanos == max(203 * USD + 51 * USD, over.run_rate_nanos)
    assert over.low_nanos is None and over.high_nanos is None  # replicates=0: no interval


def test_two_weeks_of_history_are_needed() -> None:
    short = pattern(date(2025, 3, 4), date(2025, 3, 16))  # 13 complete days
    result = project(short, window="monthly", tz=UTC, as_of=at(2025, 3, 17), spent_nanos=100 * USD)
    assert result.status == INSUFFICIENT_HISTORY
    assert (result.forecast_nanos, result.low_nanos, result.high_nanos, result.model) == (
        None,
        None,
        None,
        None,
    )
    assert result.history_days == 13 and result.run_rate_nanos == 193_750_000_000
    data = result.to_dict()
    assert (data["forecast_usd"], data["interval"], data["run_rate_usd"], data["min_history_days"]) == (
        None, None, "193.75", 14,
    )  # fmt: skip
    assert "model" not in data
    enough = pattern(date(2025, 3, 3), date(2025, 3, 16))
    assert (
        project(enough, window="monthly", tz=UTC, as_of=at(2025, 3, 17), spent_nanos=100 * USD).status == "ok"
    )
    nothing = project({}, window="monthly", tz=UTC, as_of=at(2025, 3, 1), spent_nanos=0)
    assert (nothing.status, nothing.history_days, nothing.run_rate_nanos) == (INSUFFICIENT_HISTORY, 0, None)


def test_spend_older_than_the_fitted_eight_weeks_is_no_history() -> None:
    # A scope quiet since 57 days ago: the fitted span holds only zeros, so there is nothing to fit.
    quiet = {date(2025, 3, 17) - timedelta(days=57): 40 * USD}
    result = project(quiet, window="monthly", tz=UTC, as_of=at(2025, 3, 17), spent_nanos=0)
    assert (result.status, result.forecast_nanos, result.history_days) == (INSUFFICIENT_HISTORY, None, 0)
    # Back to spending after a long gap: the whole fitted span counts, its quiet days as zeros.
    gap = {**quiet, **pattern(date(2025, 3, 3), date(2025, 3, 16))}
    back = project(gap, window="monthly", tz=UTC, as_of=at(2025, 3, 17), spent_nanos=129 * USD, replicates=0)
    assert (back.status, back.history_days) == ("ok", 56)
    assert back.forecast_nanos is not None and back.forecast_nanos >= back.run_rate_nanos


def test_the_run_rate_is_exact_integer_money() -> None:
    # $1 spent in the first third of a second of March: 31 days x 3 / 1 s, rounded half up.
    result = project({}, window="monthly", tz=UTC, as_of=datetime(2025, 3, 1, 0, 0, 0, 333_333, timezone.utc),
                     spent_nanos=USD)  # fmt: skip
    assert result.run_rate_nanos == (USD * 31 * 86_400_000_000 + 333_333 // 2) // 333_333


def test_a_week_window_runs_monday_to_monday() -> None:
    flat = {date(2025, 2, 1) + timedelta(days=i): 10 * USD for i in range(46)}  # to Sunday 16 March
    result = project(flat, window="weekly", tz=UTC, as_of=at(2025, 3, 19), spent_nanos=20 * USD)
    assert (result.window_start, result.window_end) == (at(2025, 3, 17), at(2025, 3, 24))
    assert result.forecast_nanos == result.run_rate_nanos == 70 * USD and not result.floored


def test_days_and_windows_follow_the_time_zone() -> None:
    paris = ZoneInfo("Europe/Paris")
    daily = pattern(date(2025, 2, 1), date(2025, 3, 16))
    as_of = datetime(2025, 3, 17, tzinfo=paris)
    result = project(daily, window="monthly", tz=paris, as_of=as_of, spent_nanos=129 * USD)
    assert result.forecast_nanos == 261 * USD
    assert result.window_start == datetime(2025, 3, 1, tzinfo=paris)
    assert result.to_dict()["window_start"] == "2025-02-28T23:00:00Z"


@pytest.fixture(params=ENGINES)
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LedgerBackend]:
    for url in ledger_url(request.param, tmp_path):
        with open_ledger(url) as backend:
            yield backend


def seed(ledger: LedgerBackend, first: date, last: date, **fields: str) -> None:
    """Each day's pattern spend as two calls, at 09:00 and 23:30 UTC."""
    records = []
    for i, (day, nanos) in enumerate(sorted(pattern(first, last).items())):
        base = ns(day.year, day.month, day.day)
        records.append(make_record(2 * i, start_ns=base + 9 * 3600 * 10**9, cost_nanos=nanos // 4, **fields))
        records.append(
            make_record(
                2 * i + 1,
                start_ns=base + 23 * 3600 * 10**9 + 1800 * 10**9,
                cost_nanos=nanos - nanos // 4,
                **fields,
            )
        )
    ledger.insert(records)


def test_the_ledger_forecast_equals_the_hand_sum(ledger: LedgerBackend) -> None:
    seed(ledger, date(2025, 1, 1), date(2025, 3, 18), team="search")  # later days are not seen as of the 17th
    seed_other = [make_record(10_000, start_ns=ns(2025, 3, 10, 12), cost_nanos=999 * USD, team="ads")]
    ledger.insert(seed_other)
    result = forecast(ledger, window="month", as_of=at(2025, 3, 17), scope={"team": "search"})
    assert (result.status, result.spent_nanos, result.forecast_nanos) == ("ok", 129 * USD, 261 * USD)
    assert result.history_days == 56 and result.scope == {"team": "search"}
    assert forecast(ledger, as_of=at(2025, 3, 17)).spent_nanos == 1128 * USD
    week = forecast(ledger, window="week", as_of=at(2025, 3, 19), scope={"team": "search"})
    assert (week.spent_nanos, week.window_start) == (22 * USD, at(2025, 3, 17))
    with pytest.raises(ValueError, match="window must be"):
        forecast(ledger, window="fortnight")
    with pytest.raises(ValueError, match="timezone-aware"):
        forecast(ledger, as_of=datetime(2025, 3, 17))


def test_daily_spend_folds_utc_hours_into_local_days(ledger: LedgerBackend) -> None:
    seed(ledger, date(2025, 3, 3), date(2025, 3, 4))  # Monday $10, Tuesday $12
    utc = daily_spend(ledger, None, at(2025, 3, 6), UTC)
    assert utc == {date(2025, 3, 3): 10 * USD, date(2025, 3, 4): 12 * USD}
    # In Paris (UTC+1) each day's 23:30 UTC call (three quarters of its spend) is the next morning.
    paris = daily_spend(ledger, None, at(2025, 3, 6), ZoneInfo("Europe/Paris"))
    assert paris == {
        date(2025, 3, 3): 2_500_000_000,
        date(2025, 3, 4): 10_500_000_000,
        date(2025, 3, 5): 9 * USD,
    }
