"""The seasonal model as the budgets' forecaster: which budgets it serves, and its history cache."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from otel_llmcost.analytics._budget_forecast import LedgerForecaster
from otel_llmcost.budgets import parse_policy
from otel_llmcost.budgets._policy import Budget
from otel_llmcost.budgets._status import Unit, budget_status
from otel_llmcost.ledger import LedgerBackend, open_ledger
from tests.analytics.test_forecast import USD, pattern
from tests.ledger.support import make_record, ns

NOW = datetime(2025, 3, 17, tzinfo=timezone.utc)
POLICY = parse_policy(
    {
        "budgets": [
            {"name": "month", "window": "monthly", "limit_usd": 300, "scope": {"team": "search"}},
            {"name": "week", "window": "weekly", "limit_usd": 300, "scope": {"team": "search"}},
            {"name": "day", "window": "daily", "limit_usd": 300},
            {"name": "teams", "window": "monthly", "limit_usd": 300, "per": "team"},
            {"name": "ads", "window": "monthly", "limit_usd": 300, "scope": {"team": "ads"}},
        ]
    }
)


@pytest.fixture
def ledger() -> Iterator[LedgerBackend]:
    with open_ledger("sqlite:///:memory:") as backend:
        daily = sorted(pattern(date(2025, 1, 1), date(2025, 3, 16)).items())
        backend.insert(
            [
                # 1,000 tokens a day per dollar (700 in, 300 out): the same weekly pattern in tokens.
                make_record(
                    i,
                    start_ns=ns(d.year, d.month, d.day, 12),
                    cost_nanos=v,
                    team="search",
                    input_tokens=v // USD * 700,
                    output_tokens=v // USD * 300,
                )
                for i, (d, v) in enumerate(daily)
            ]
            + [
                make_record(
                    10_000, start_ns=ns(2025, 3, 14, 12), cost_nanos=7 * USD, team="ads", input_tokens=7_000
                )
            ]
        )
        yield backend


def forecasts(ledger: LedgerBackend, forecaster: LedgerForecaster) -> dict[tuple[str, str], Decimal | None]:
    return {
        (s.budget, s.instance): s.forecast_usd
        for s in budget_status(POLICY, ledger, now=NOW, forecaster=forecaster)
    }


def test_which_budgets_get_the_model(ledger: LedgerBackend) -> None:
    assert forecasts(ledger, LedgerForecaster(ledger)) == {
        ("month", ""): Decimal(261),  # the model: 129 + 132
        ("week", ""): Decimal(61),  # Monday 00:00, nothing spent: the model's whole week
        ("day", ""): None,  # a new day has no pace yet, and a day is too short for the model
        ("teams", "search"): Decimal("249.937500000"),  # per-key budgets keep the run-rate
        ("teams", "ads"): Decimal("13.562500000"),
        ("ads", ""): Decimal("13.562500000"),  # three days of history: the run-rate, 7 x 31/16
    }


def test_history_is_cached_for_an_hour_per_budget_and_day(ledger: LedgerBackend) -> None:
    clock = [0.0]
    forecaster = LedgerForecaster(ledger, clock=lambda: clock[0])
    assert forecasts(ledger, forecaster)[("month", "")] == Decimal(261)
    # A late export doubles one day of February: not seen until the cached history expires.
    ledger.insert([make_record(20_000, start_ns=ns(2025, 2, 24, 12), cost_nanos=10 * USD, team="search")])
    clock[0] = 3599.0
    assert forecasts(ledger, forecaster)[("month", "")] == Decimal(261)
    clock[0] = 3600.0
    assert forecasts(ledger, forecaster)[("month", "")] > Decimal(261)


class BrokenHistory(LedgerForecaster):
    def _seasonal(self, budget: Budget, spent: Decimal, now: datetime, unit: Unit) -> Decimal | None:
        raise ValueError("no day with spend to fit")


def test_a_failing_forecast_falls_back_to_the_run_rate(
    ledger: LedgerBackend, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="otel_llmcost.analytics._budget_forecast"):
        result = forecasts(ledger, BrokenHistory(ledger))
    assert result[("month", "")] == Decimal("249.937500000")  # the run-rate: 129 x 31/16
    assert result[("week", "")] is None  # Monday 00:00: no pace yet
    assert [r.getMessage() for r in caplog.records] == [
        "otel-llmcost: forecast of budget 'month' failed; using the run-rate",
        "otel-llmcost: forecast of budget 'week' failed; using the run-rate",
        "otel-llmcost: forecast of budget 'ads' failed; using the run-rate",
    ]


def test_a_scope_quiet_for_eight_weeks_gets_the_run_rate() -> None:
    with open_ledger("sqlite:///:memory:") as backend:
        backend.insert([make_record(1, start_ns=ns(2025, 1, 19, 12), cost_nanos=9 * USD, team="search")])
        result = forecasts(backend, LedgerForecaster(backend))
    assert result[("month", "")] == Decimal(0)  # nothing spent this month and no history to fit: the pace, $0


TOKEN_POLICY = parse_policy(
    {
        "budgets": [
            {"name": "month", "window": "monthly", "limit_tokens": 300_000, "scope": {"team": "search"}},
            {"name": "week", "window": "weekly", "limit_tokens": 300_000, "scope": {"team": "search"}},
            {"name": "day", "window": "daily", "limit_tokens": 300_000},
            {"name": "teams", "window": "monthly", "limit_tokens": 300_000, "per": "team"},
            {"name": "ads", "window": "monthly", "limit_tokens": 300_000, "scope": {"team": "ads"}},
            {"name": "both", "window": "monthly", "limit_usd": 300, "limit_tokens": 300_000,
             "scope": {"team": "search"}},
        ]
    }
)  # fmt: skip


def test_token_budgets_are_forecast_in_tokens_by_the_same_rules(ledger: LedgerBackend) -> None:
    statuses = budget_status(TOKEN_POLICY, ledger, now=NOW, forecaster=LedgerForecaster(ledger))
    assert {(s.budget, s.instance): (s.forecast_tokens, s.forecast_usd) for s in statuses} == {
        ("month", ""): (261_000, Decimal(261)),  # the model, fitted to tokens: 129,000 + 132,000
        ("week", ""): (61_000, Decimal(61)),
        ("day", ""): (None, None),
        ("teams", "search"): (249_938, Decimal("249.937500000")),  # run-rate 249,937.5, half up
        ("teams", "ads"): (13_563, Decimal("13.562500000")),
        ("ads", ""): (13_563, Decimal("13.562500000")),  # too little history: the run-rate
        ("both", ""): (261_000, Decimal(261)),
    }


def test_usd_budgets_get_no_token_forecast(ledger: LedgerBackend) -> None:
    statuses = budget_status(POLICY, ledger, now=NOW, forecaster=LedgerForecaster(ledger))
    assert [s.forecast_tokens for s in statuses] == [None] * 6


def test_the_token_history_is_cached_like_the_spend_history(ledger: LedgerBackend) -> None:
    clock = [0.0]
    forecaster = LedgerForecaster(ledger, clock=lambda: clock[0])
    both = TOKEN_POLICY.budgets[-1]
    start, end = datetime(2025, 3, 1, tzinfo=timezone.utc), datetime(2025, 4, 1, tzinfo=timezone.utc)

    def both_forecasts() -> tuple[Decimal | None, Decimal | None]:
        return (
            forecaster(both, Decimal(129), start, end, NOW, "usd"),
            forecaster(both, Decimal(129_000), start, end, NOW, "tokens"),
        )

    # Each unit has its own history: the tokens forecast is not fitted to nano-dollars.
    assert both_forecasts() == (Decimal(261), Decimal(261_000))
    late = make_record(
        20_000, start_ns=ns(2025, 2, 24, 12), cost_nanos=10 * USD, input_tokens=10_000, team="search"
    )
    ledger.insert([late])
    clock[0] = 3599.0
    assert both_forecasts() == (Decimal(261), Decimal(261_000))
    clock[0] = 3600.0
    # Refitted: the same model in both units (tokens are 1,000 a dollar, late record included).
    assert both_forecasts() == (Decimal("263.357142857"), Decimal(263_357))
