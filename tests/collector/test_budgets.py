"""Budget status in the collector: gauges on /metrics, /v1/budgets, a bad policy refuses to start."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from otel_llmcost.cli._app import cli
from otel_llmcost.collector import Collector
from otel_llmcost.exceptions import ConfigError
from otel_llmcost.ledger import open_ledger
from tests.collector.conftest import http_get, samples
from tests.ledger.support import make_record

POLICY = """
budgets:
  - {name: monthly, window: monthly, limit_usd: 2, thresholds: [0.5]}
  - {name: per-team, per: team, window: total, limit_usd: 10}
"""


@pytest.fixture
def policy(tmp_path: Path) -> str:
    path = tmp_path / "budgets.yaml"
    path.write_text(POLICY)
    return str(path)


def seed(url: str) -> None:
    import time

    now = time.time_ns()
    with open_ledger(url) as ledger:
        ledger.insert(
            [
                make_record(1, start_ns=now - 10**9, cost_nanos=1_500_000_000, team="search"),
                make_record(2, start_ns=now - 2 * 10**9, cost_nanos=250_000_000, team="ads"),
            ]
        )


def test_gauges_and_endpoint(start_collector: Callable[..., Collector], policy: str, sqlite_url: str) -> None:
    seed(sqlite_url)
    collector = start_collector(budgets=policy)
    values = samples(collector)
    assert values["llmcost_budget_spent_usd{budget=monthly,key=,window=monthly}"] == 1.75
    assert values["llmcost_budget_limit_usd{budget=monthly,key=,window=monthly}"] == 2.0
    assert values["llmcost_budget_utilization_ratio{budget=monthly,key=,window=monthly}"] == 0.875
    assert values["llmcost_budget_spent_usd{budget=per-team,key=search,window=total}"] == 1.5
    assert values["llmcost_budget_utilization_ratio{budget=per-team,key=ads,window=total}"] == 0.025
    assert "llmcost_budget_forecast_usd{budget=monthly,key=,window=monthly}" in values
    assert not any(
        k.startswith("llmcost_budget_forecast_usd{budget=per-team") for k in values
    )  # totals: no end
    answer = http_get(collector.addresses["listen"], "/v1/budgets")
    assert answer.status == 200
    body = json.loads(answer.body)
    monthly = next(b for b in body["budgets"] if b["budget"] == "monthly")
    assert (monthly["spent_usd"], monthly["limit_usd"], monthly["thresholds_reached"]) == (
        "1.75",
        "2",
        ["warning@50%"],
    )


def test_without_a_policy_the_budgets_endpoint_says_none_is_configured(collector: Collector) -> None:
    answer = http_get(collector.addresses["listen"], "/v1/budgets")
    assert (answer.status, json.loads(answer.body)) == (
        200,
        {"configured": False, "refreshed_at": None, "budgets": []},
    )


def test_bad_policy_refuses_to_start(start_collector: Callable[..., Collector], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("budgets:\n  - {name: x, window: fortnightly, limit_usd: 1}\n")
    with pytest.raises(ConfigError) as err:
        start_collector(budgets=str(bad))
    assert err.value.file == str(bad)
    assert err.value.key == "budgets[0].window"


def test_cli_reads_the_ledger(policy: str, sqlite_url: str) -> None:
    seed(sqlite_url)
    runner = CliRunner()
    result = runner.invoke(cli, ["budgets", "--policy", policy, "--ledger", sqlite_url, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [(b["budget"], b["key"], b["spent_usd"]) for b in data["budgets"]] == [
        ("monthly", "", "1.75"),
        ("per-team", "search", "1.5"),
        ("per-team", "ads", "0.25"),
    ]
    table = runner.invoke(cli, ["budgets", "--policy", policy, "--ledger", sqlite_url])
    assert table.exit_code == 0
    assert "monthly" in table.output and "87.5%" in table.output


def test_cli_reads_a_running_collector(
    start_collector: Callable[..., Collector], policy: str, sqlite_url: str
) -> None:
    seed(sqlite_url)
    collector = start_collector(budgets=policy)
    result = CliRunner().invoke(
        cli, ["budgets", "--api", f"http://{collector.addresses['listen']}", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["budgets"][0]["spent_usd"] == "1.75"


def test_cli_without_policy_or_api_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_LLMCOST_BUDGETS", raising=False)
    monkeypatch.delenv("OTEL_LLMCOST_API_URL", raising=False)
    result = CliRunner().invoke(cli, ["budgets"])
    assert result.exit_code == 2
    assert "no budgets" in result.output
