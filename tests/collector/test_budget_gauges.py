"""The budget gauges: a token budget's limit and forecast in tokens, beside the USD family."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from otel_llmcost.budgets import parse_policy
from otel_llmcost.collector._budgets import BudgetMonitor
from otel_llmcost.ledger import LedgerBackend, open_ledger
from tests.ledger.support import make_record, ns

NOW = datetime(2026, 11, 15, 12, 0, tzinfo=timezone.utc)  # 14.5 of November's 30 days gone
USD = 1_000_000_000
POLICY = parse_policy(
    {
        "budgets": [
            {"name": "monthly", "window": "monthly", "limit_usd": 200},
            {"name": "team-a", "scope": {"team": "a"}, "window": "monthly", "limit_tokens": 1000},
            {"name": "runs", "per": "run", "window": "total", "limit_tokens": 5000},
        ]
    }
)


@pytest.fixture
def ledger() -> Iterator[LedgerBackend]:
    with open_ledger("sqlite:///:memory:") as backend:
        backend.insert(
            [
                make_record(
                    1, start_ns=ns(2026, 11, 2, 9), cost_nanos=20 * USD, team="a", run="r1",
                    input_tokens=300, output_tokens=100,
                ),
                make_record(
                    2, start_ns=ns(2026, 11, 15, 11), cost_nanos=5 * USD, team="a", run="r1",
                    input_tokens=500, output_tokens=250,
                ),
            ]
        )  # fmt: skip
        yield backend


def budget_samples(registry: CollectorRegistry) -> dict[str, float]:
    return {
        f"{s.name}{{{s.labels['budget']},{s.labels['key']}}}": s.value
        for family in registry.collect()
        for s in family.samples
    }


def test_a_token_budget_has_its_limit_and_forecast_in_tokens(ledger: LedgerBackend) -> None:
    registry = CollectorRegistry()
    BudgetMonitor(POLICY, ledger, registry=registry).refresh(now=NOW)
    assert budget_samples(registry) == {
        "llmcost_budget_spent_usd{monthly,}": 25.0,
        "llmcost_budget_spent_usd{team-a,}": 25.0,
        "llmcost_budget_spent_usd{runs,r1}": 25.0,
        "llmcost_budget_limit_usd{monthly,}": 200.0,
        "llmcost_budget_utilization_ratio{monthly,}": 0.125,
        "llmcost_budget_utilization_ratio{team-a,}": 1.15,
        "llmcost_budget_utilization_ratio{runs,r1}": 0.23,
        # $25 × 30 / 14.5: the spend forecast stays USD for every calendar budget, like spent
        "llmcost_budget_forecast_usd{monthly,}": 51.724137931,
        "llmcost_budget_forecast_usd{team-a,}": 51.724137931,
        # token budgets only: their spend in tokens too (the burn-rate rules' numerator)
        "llmcost_budget_spent_tokens{team-a,}": 1150.0,
        "llmcost_budget_spent_tokens{runs,r1}": 1150.0,
        "llmcost_budget_limit_tokens{team-a,}": 1000.0,
        "llmcost_budget_limit_tokens{runs,r1}": 5000.0,
        # 1,150 tokens × 30 / 14.5; a total window has no end, so no forecast
        "llmcost_budget_forecast_tokens{team-a,}": 2379.0,
    }


def test_the_exposition_names_the_unit_of_each_family(ledger: LedgerBackend) -> None:
    registry = CollectorRegistry()
    BudgetMonitor(POLICY, ledger, registry=registry).refresh(now=NOW)
    lines = generate_latest(registry).decode().splitlines()
    assert [line for line in lines if "_tokens" in line] == [
        "# HELP llmcost_budget_spent_tokens Tokens (input plus output) in the budget's current window;"
        " token budgets only.",
        "# TYPE llmcost_budget_spent_tokens gauge",
        'llmcost_budget_spent_tokens{budget="team-a",key="",window="monthly"} 1150.0',
        'llmcost_budget_spent_tokens{budget="runs",key="r1",window="total"} 1150.0',
        "# HELP llmcost_budget_limit_tokens The budget's token limit (input plus output).",
        "# TYPE llmcost_budget_limit_tokens gauge",
        'llmcost_budget_limit_tokens{budget="team-a",key="",window="monthly"} 1000.0',
        'llmcost_budget_limit_tokens{budget="runs",key="r1",window="total"} 5000.0',
        "# HELP llmcost_budget_forecast_tokens Projected tokens (input plus output) at the end of the"
        " budget's window; token budgets only.",
        "# TYPE llmcost_budget_forecast_tokens gauge",
        'llmcost_budget_forecast_tokens{budget="team-a",key="",window="monthly"} 2379.0',
    ]
