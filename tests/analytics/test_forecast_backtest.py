"""``forecast --backtest``: month-end forecasts at days 7, 14 and 21 scored against the actual month.

On the weekly pattern of ``test_forecast`` ($61 a week, weekdays heavy), January, February and
April 2025 are forecast exactly. March starts on a Saturday, so its first 7, 14 and 21 days run
ahead of the month's pace and the run-rate floor (61 x 31/7 = $270.142857143) overshoots its $261.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from otel_llmcost.analytics._backtest import backtest, backtest_series
from otel_llmcost.ledger import LedgerBackend, open_ledger
from tests.analytics.report_data import ENGINES, ledger_url
from tests.analytics.test_forecast import USD, pattern
from tests.ledger.support import make_record, ns

UTC = ZoneInfo("UTC")
MARCH_ERROR = (270_142_857_143 - 261 * USD) / (261 * USD)


def test_exact_months_score_zero_and_the_floor_shows_in_march() -> None:
    result = backtest_series(pattern(date(2025, 1, 1), date(2025, 4, 30)), tz=UTC, before=date(2025, 5, 1))
    scored = {(p.month, p.day): p.error for p in result.points}
    assert scored == {
        ("2025-01", 7): None,  # a week of history: not enough
        ("2025-01", 14): 0.0, ("2025-01", 21): 0.0,
        ("2025-02", 7): 0.0, ("2025-02", 14): 0.0, ("2025-02", 21): 0.0,
        ("2025-03", 7): MARCH_ERROR, ("2025-03", 14): MARCH_ERROR, ("2025-03", 21): MARCH_ERROR,
        ("2025-04", 7): 0.0, ("2025-04", 14): 0.0, ("2025-04", 21): 0.0,
    }  # fmt: skip
    assert [p.actual_nanos for p in result.points[::3]] == [276 * USD, 244 * USD, 261 * USD, 268 * USD]
    assert result.scored == 11
    assert result.mape(7) == pytest.approx(MARCH_ERROR / 3)
    assert result.mape(14) == pytest.approx(MARCH_ERROR / 4)
    assert result.mape() == pytest.approx(3 * MARCH_ERROR / 11)
    assert result.coverage == 1.0  # March's interval runs from the model's $261 to the floor
    assert result.to_dict()["mape_pct"] == {"7": 1.17, "14": 0.88, "21": 0.88, "all": 0.96}


def test_a_month_not_over_yet_or_without_spend_is_not_scored() -> None:
    daily = pattern(date(2025, 1, 1), date(2025, 3, 10))
    result = backtest_series(daily, tz=UTC, before=date(2025, 3, 1))
    assert sorted({p.month for p in result.points}) == ["2025-01", "2025-02"]
    assert backtest_series({}, tz=UTC, before=date(2025, 3, 1)).points == ()
    empty = backtest_series({}, tz=UTC, before=date(2025, 3, 1))
    assert (empty.mape(), empty.coverage, empty.scored) == (None, None, 0)
    assert empty.to_dict() == {
        "months": [], "forecasts": [], "scored": 0, "mape_pct": {"all": None}, "interval_coverage": None,
    }  # fmt: skip


@pytest.fixture(params=ENGINES)
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LedgerBackend]:
    for url in ledger_url(request.param, tmp_path):
        with open_ledger(url) as backend:
            yield backend


def test_the_ledger_backtest_reads_complete_months_before_as_of(ledger: LedgerBackend) -> None:
    daily = pattern(date(2025, 1, 1), date(2025, 3, 20))
    ledger.insert(
        [
            make_record(i, start_ns=ns(d.year, d.month, d.day, 12), cost_nanos=v)
            for i, (d, v) in enumerate(sorted(daily.items()))
        ]
    )
    result = backtest(ledger, as_of=datetime(2025, 3, 20, 15, tzinfo=timezone.utc))
    data = result.to_dict()
    assert data["months"] == ["2025-01", "2025-02"]
    assert data["scored"] == 5 and data["mape_pct"]["all"] == 0.0 and data["interval_coverage"] == 1.0
    assert data["forecasts"][0] == {
        "month": "2025-01", "day": 7, "status": "insufficient_history", "actual_usd": "276", "forecast_usd": None,
        "low_usd": None, "high_usd": None, "error_pct": None, "covered": None,
    }  # fmt: skip
    assert data["forecasts"][1] == {
        "month": "2025-01", "day": 14, "status": "ok", "actual_usd": "276", "forecast_usd": "276",
        "low_usd": "276", "high_usd": "276", "error_pct": 0.0, "covered": True,
    }  # fmt: skip
