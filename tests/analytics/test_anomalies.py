"""Anomalies on crafted series: the same-hour-of-week median baseline, weeks before the data,
the quiet-hour floor, the trailing hour of the gauges, and days above a threshold.

The hour under test is Monday 2025-03-31 14:00 UTC; its earlier Mondays at 14:00 are the 24th,
17th, 10th and 3rd of March.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from otel_llmcost.analytics._anomalies import (
    DAILY_COST,
    HOURLY_COST,
    HOURLY_TOKENS,
    current_levels,
    daily_anomalies,
    hourly_anomalies,
)
from otel_llmcost.ledger import LedgerBackend, LedgerRecord, open_ledger
from tests.analytics.report_data import ENGINES, ledger_url
from tests.ledger.support import make_record, ns

USD = 1_000_000_000
HOUR = 3_600_000_000_000
H = ns(2025, 3, 31, 14)


@pytest.fixture(params=ENGINES)
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LedgerBackend]:
    for url in ledger_url(request.param, tmp_path):
        with open_ledger(url) as backend:
            yield backend


_ids = iter(range(1_000_000))


def call(start_ns: int, usd: float, tokens: int = 0) -> LedgerRecord:
    return make_record(next(_ids), start_ns=start_ns, cost_nanos=round(usd * USD), input_tokens=tokens)


def mondays(ledger: LedgerBackend, values: list[tuple[float, int]], minute: int = 10) -> None:
    """``values[k]`` = (USD, tokens) at 14:``minute`` on the Monday ``k + 1`` weeks before H."""
    ledger.insert(
        [
            call(H - (k + 1) * 168 * HOUR + minute * 60 * USD, usd, tokens)
            for k, (usd, tokens) in enumerate(values)
        ]
    )


def test_an_hour_twice_its_median_hour_of_week_is_an_anomaly(ledger: LedgerBackend) -> None:
    mondays(ledger, [(1, 100), (2, 200), (3, 300), (10, 1000)])  # medians: $2.5, 250 tokens
    ledger.insert([call(H + 60 * USD, 5, 600)])
    found = hourly_anomalies(ledger, H, H + HOUR)
    assert [(a.kind, a.start_ns, a.end_ns, a.value, a.baseline, a.ratio) for a in found] == [
        (HOURLY_COST, H, H + HOUR, 5 * USD, 2.5 * USD, 2.0),
        (HOURLY_TOKENS, H, H + HOUR, 600, 250.0, 2.4),
    ]
    assert found[0].to_dict() == {
        "kind": "hourly_cost", "start": "2025-03-31T14:00:00Z", "end": "2025-03-31T15:00:00Z",
        "value": "5", "baseline": "2.5", "ratio": 2.0,
    }  # fmt: skip
    assert found[1].to_dict()["value"] == 600 and found[1].to_dict()["baseline"] == 250.0
    # A higher threshold: only the tokens reach it.
    assert hourly_anomalies(ledger, H, H + HOUR, ratio=2.2) == found[1:]


def test_just_under_twice_is_not_an_anomaly(ledger: LedgerBackend) -> None:
    mondays(ledger, [(1, 100), (2, 200), (3, 300), (10, 1000)])
    ledger.insert([call(H + 60 * USD, 4.99, 499)])
    assert hourly_anomalies(ledger, H, H + HOUR) == []


def test_weeks_before_the_first_record_do_not_count(ledger: LedgerBackend) -> None:
    mondays(ledger, [(1, 0), (2, 0)])  # the data starts on the 17th
    ledger.insert([call(H + 60 * USD, 3)])
    [anomaly] = hourly_anomalies(ledger, H, H + HOUR)
    assert (anomaly.baseline, anomaly.ratio) == (1.5 * USD, 2.0)  # median of $1 and $2, not of 0, 0, 1, 2


def test_without_an_earlier_week_there_is_no_judgement(ledger: LedgerBackend) -> None:
    ledger.insert([call(H - 3 * 24 * HOUR, 1), call(H + 60 * USD, 50)])
    assert hourly_anomalies(ledger, H, H + HOUR) == []
    assert hourly_anomalies(ledger, H + 10, H + HOUR) == []  # no complete hour in range


def test_a_quiet_hour_is_judged_against_half_the_mean_hour(ledger: LedgerBackend) -> None:
    night = ns(2025, 3, 31, 3)
    start = night - 4 * 168 * HOUR
    ledger.insert([call(start, 0)])  # the data starts exactly four weeks before
    ledger.insert([call(ns(2025, 3, 3, 12) + d * 24 * HOUR, 100) for d in range(28)])  # $100 at noon daily
    # Every earlier 03:00 spent nothing; the mean hour is $2800 / 672 h, its half $2.0833...
    ledger.insert([call(night + 5 * 60 * USD, 4)])
    assert hourly_anomalies(ledger, night, night + HOUR) == []  # $4 is 1.92 x the floor
    ledger.insert([call(night + 6 * 60 * USD, 0.5)])
    [anomaly] = [a for a in hourly_anomalies(ledger, night, night + HOUR) if a.kind == HOURLY_COST]
    assert anomaly.baseline == pytest.approx(2800 * USD / 672 / 2)
    assert anomaly.to_dict()["baseline"] == "2.083333333" and anomaly.ratio == pytest.approx(2.16)


def test_the_trailing_hour_against_the_same_minutes_of_earlier_weeks(ledger: LedgerBackend) -> None:
    now = H + 30 * 60 * USD  # 14:30: the trailing hour is 13:30-14:30
    ledger.insert([call(H - 60 * 24 * HOUR, 0)])  # the ledger began long before
    mondays(ledger, [(1, 100), (2, 200), (3, 300), (10, 1000)], minute=-20)  # at 13:40, inside
    mondays(ledger, [(50, 5000)], minute=31)  # 14:31 a week ago: after the window
    ledger.insert([call(now - 10 * 60 * USD, 6, 900), call(now, 99, 99)])  # the call at `now` is not yet
    levels = current_levels(ledger, now)
    cost, tokens = levels[HOURLY_COST], levels[HOURLY_TOKENS]
    assert (cost.value, cost.baseline, cost.weeks, cost.ratio) == (6 * USD, 2.5 * USD, 4, 2.4)
    assert (tokens.value, tokens.baseline, tokens.ratio) == (900, 250.0, 3.6)
    assert current_levels(ledger, now, {"team": "nobody"})[HOURLY_COST].ratio is None


def test_a_new_ledger_has_levels_without_a_baseline(ledger: LedgerBackend) -> None:
    ledger.insert([call(H - 600 * USD, 2)])
    level = current_levels(ledger, H)[HOURLY_COST]
    assert (level.value, level.baseline, level.weeks, level.ratio) == (2 * USD, None, 0, None)


def test_days_above_the_threshold(ledger: LedgerBackend) -> None:
    ledger.insert([call(ns(2025, 3, 1, 10), 40), call(ns(2025, 3, 1, 20), 70), call(ns(2025, 3, 2, 9), 100)])
    found = daily_anomalies(ledger, ns(2025, 3, 1), ns(2025, 3, 3), 100 * USD)
    assert [(a.kind, a.start_ns, a.value, a.ratio) for a in found] == [
        (DAILY_COST, ns(2025, 3, 1), 110 * USD, 1.1)
    ]
    assert found[0].to_dict() == {
        "kind": "daily_cost", "start": "2025-03-01T00:00:00Z", "end": "2025-03-02T00:00:00Z",
        "value": "110", "baseline": "100", "ratio": 1.1,
    }  # fmt: skip
    with pytest.raises(ValueError, match="must be positive"):
        daily_anomalies(ledger, ns(2025, 3, 1), ns(2025, 3, 3), 0)
