"""Budget status from the ledger: windows, per-key instances, utilization, run-rate forecast."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

from otel_llmcost.budgets import parse_policy
from otel_llmcost.budgets._status import budget_status, run_rate_forecast
from otel_llmcost.ledger import open_ledger
from tests.ledger.support import make_record, ns

NOW = datetime(2026, 11, 15, 12, 0, tzinfo=timezone.utc)
POLICY = parse_policy(
    {
        "budgets": [
            {"name": "monthly", "window": "monthly", "limit_usd": 200, "thresholds": [0.2, 0.8]},
            {
                "name": "total",
                "window": "total",
                "limit_usd": 1000,
                "thresholds": [{"usd": 75, "severity": "critical"}],
            },
            {
                "name": "team-a",
                "scope": {"team": "a"},
                "window": "monthly",
                "limit_tokens": 1000,
                "action": "block",
            },
            {"name": "per-user", "per": "user", "window": "daily", "limit_usd": 10},
        ]
    }
)


def seeded_ledger(tmp_path: Path):  # type: ignore[no-untyped-def]
    ledger = open_ledger(f"sqlite:///{tmp_path / 'l.db'}")
    usd = 1_000_000_000
    ledger.insert(
        [
            make_record(
                1, start_ns=ns(2026, 10, 20, 9), cost_nanos=30 * usd, team="a", user="bob"
            ),  # October
            make_record(
                2,
                start_ns=ns(2026, 11, 2, 9),
                cost_nanos=20 * usd,
                team="a",
                user="bob",
                input_tokens=300,
                output_tokens=100,
            ),
            make_record(
                3,
                start_ns=ns(2026, 11, 15, 8),
                cost_nanos=25 * usd,
                team="b",
                user="alice",
                input_tokens=10,
                output_tokens=10,
            ),
            make_record(
                4,
                start_ns=ns(2026, 11, 15, 11),
                cost_nanos=5 * usd,
                team="a",
                user="bob",
                input_tokens=500,
                output_tokens=250,
            ),
            make_record(
                5, start_ns=ns(2026, 11, 15, 13), cost_nanos=99 * usd, team="a", user="bob"
            ),  # the future
        ]
    )
    return ledger


def test_windows_scopes_and_forecast(tmp_path: Path) -> None:
    with seeded_ledger(tmp_path) as ledger:
        statuses = {(s.budget, s.instance): s for s in budget_status(POLICY, ledger, now=NOW)}
    monthly = statuses[("monthly", "")]
    assert monthly.spent_usd == Decimal(50)
    assert monthly.window_start == datetime(2026, 11, 1, tzinfo=timezone.utc)
    assert monthly.resets_at == datetime(2026, 12, 1, tzinfo=timezone.utc)
    # 14.5 of 30 days gone: $50 × 30 / 14.5
    assert monthly.forecast_usd == Decimal("103.448275862")
    assert monthly.utilization == Decimal("0.25")
    assert monthly.thresholds_reached == ["warning@20%"]
    total = statuses[("total", "")]
    assert (total.spent_usd, total.forecast_usd, total.resets_at) == (Decimal(80), None, None)
    assert total.thresholds_reached == ["critical@$75"]
    team = statuses[("team-a", "")]
    assert (team.spent_tokens, team.utilization) == (1150, Decimal("1.15"))
    # A token budget is forecast in tokens too: 1,150 × 30 / 14.5 = 2,379.3
    assert (team.forecast_tokens, team.forecast_usd) == (2379, Decimal("51.724137931"))
    assert monthly.forecast_tokens is None  # a USD budget: no token forecast
    assert team.scope == {"team": "a"}
    bob, alice = statuses[("per-user", "bob")], statuses[("per-user", "alice")]
    # today's spend only, most utilized first
    assert (bob.spent_usd, alice.spent_usd) == (Decimal(5), Decimal(25))
    assert [k[1] for k in statuses if k[0] == "per-user"] == ["alice", "bob"]


def test_per_key_budgets_report_their_top_instances(tmp_path: Path) -> None:
    with seeded_ledger(tmp_path) as ledger:
        statuses = budget_status(POLICY, ledger, now=NOW, top=1)
    assert [(s.budget, s.instance) for s in statuses if s.budget == "per-user"] == [("per-user", "alice")]


def test_to_dict_money_is_exact_strings(tmp_path: Path) -> None:
    with seeded_ledger(tmp_path) as ledger:
        (monthly,) = [s for s in budget_status(POLICY, ledger, now=NOW) if s.budget == "monthly"]
    data = monthly.to_dict()
    assert data["spent_usd"] == "50"
    assert data["limit_usd"] == "200"
    assert data["forecast_usd"] == "103.448275862"
    assert data["forecast_tokens"] is None
    assert data["utilization"] == 0.25
    assert data["resets_at"] == "2026-12-01T00:00:00+00:00"


def test_token_budgets_to_dict_give_the_forecast_in_tokens(tmp_path: Path) -> None:
    with seeded_ledger(tmp_path) as ledger:
        (team,) = [s for s in budget_status(POLICY, ledger, now=NOW) if s.budget == "team-a"]
    data = team.to_dict()
    assert {k: data[k] for k in ("spent_tokens", "limit_tokens", "forecast_tokens", "limit_usd")} == {
        "spent_tokens": 1150,
        "limit_tokens": 1000,
        "forecast_tokens": 2379,
        "limit_usd": None,
    }


def test_the_run_rate_of_tokens_is_whole_tokens_rounded_half_up() -> None:
    budget = POLICY.budgets[2]
    start, end = datetime(2026, 11, 1, tzinfo=timezone.utc), datetime(2026, 11, 5, tzinfo=timezone.utc)
    now = datetime(2026, 11, 2, tzinfo=timezone.utc)  # a quarter of the window
    assert run_rate_forecast(budget, Decimal("0.375"), start, end, now, "tokens") == Decimal(2)  # 1.5
    assert run_rate_forecast(budget, Decimal("0.375"), start, end, now, "usd") == Decimal("1.500000000")
    assert run_rate_forecast(budget, Decimal(10), start, end, start, "tokens") is None  # no pace yet


def test_unpriced_calls_in_a_window_are_counted_never_a_silent_zero(tmp_path: Path) -> None:
    with seeded_ledger(tmp_path) as ledger:
        ledger.insert(
            [
                make_record(
                    6,
                    start_ns=ns(2026, 11, 15, 10),
                    team="a",
                    user="bob",
                    request_model="acme-internal-llm",
                    response_model=None,
                    pricing_model=None,
                    priced=False,
                    input_tokens=40,
                    output_tokens=2,
                )
            ]
        )
        statuses = {(s.budget, s.instance): s for s in budget_status(POLICY, ledger, now=NOW)}
    assert statuses[("monthly", "")].spent_usd == Decimal(50)  # the unpriced call adds no dollars
    assert [statuses[k].unpriced for k in (("monthly", ""), ("total", ""), ("team-a", ""))] == [1, 1, 1]
    assert (statuses[("per-user", "bob")].unpriced, statuses[("per-user", "alice")].unpriced) == (1, 0)
    assert statuses[("team-a", "")].spent_tokens == 1192  # its tokens still count
    assert statuses[("monthly", "")].to_dict()["unpriced"] == 1
