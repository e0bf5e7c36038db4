"""``otel-llmcost budgets``: forecasts in the budget's own unit, reset times in the policy's zone
with their offset, and a collector's refusals explained, from the ledger and through --api."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result
from prometheus_client import CollectorRegistry

from otel_llmcost.cli._app import cli
from otel_llmcost.cli.budgets import _forecast, _resets
from otel_llmcost.collector import Collector
from otel_llmcost.ledger import open_ledger
from otel_llmcost.pricing import Pricer
from tests.collector.conftest import BASE_CONFIG
from tests.ledger.support import make_record

Run = Callable[..., Result]
BERLIN = ZoneInfo("Europe/Berlin")
POLICY = """
timezone: Europe/Berlin
budgets:
  - {name: monthly, window: monthly, limit_usd: 200}
  - {name: total, window: total, limit_usd: 1000}
  - {name: org-tokens, window: monthly, limit_tokens: 1000000, action: block}
"""


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Run:
    for name in ("LEDGER", "API_URL", "API_TOKEN", "BUDGETS"):
        monkeypatch.delenv(f"OTEL_LLMCOST_{name}", raising=False)
    monkeypatch.setenv("COLUMNS", "200")  # rich's width when output is not a terminal
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return invoke


@pytest.fixture
def policy(tmp_path: Path) -> str:
    path = tmp_path / "budgets.yaml"
    path.write_text(POLICY)
    return str(path)


@pytest.fixture
def ledger_url(tmp_path: Path) -> str:
    """$1.0322 and 6,000 tokens (5,000 in, 1,000 out) spent a second ago."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with open_ledger(url) as ledger:
        ledger.insert(
            [
                make_record(
                    1, start_ns=time.time_ns() - 10**9, cost_nanos=1_032_200_000, input_tokens=5000,
                    output_tokens=1000,
                )
            ]
        )  # fmt: skip
    return url


@pytest.fixture
def start(ledger_url: str, pricer: Pricer) -> Iterator[Callable[..., Collector]]:
    started: list[Collector] = []

    def start_collector(**changes: object) -> Collector:
        config = replace(BASE_CONFIG, ledger_url=ledger_url, **changes)  # type: ignore[arg-type]
        started.append(Collector(config, registry=CollectorRegistry(), pricer=pricer).start())
        return started[-1]

    yield start_collector
    for collector in started:
        collector.stop(timeout=5.0)


def next_month_in_berlin() -> datetime:
    """When this Berlin month's windows reset (the test's own arithmetic, not the window code's)."""
    today = datetime.now(BERLIN)
    return datetime(today.year + today.month // 12, today.month % 12 + 1, 1, tzinfo=BERLIN)


def rows(table: str) -> dict[str, list[str]]:
    """Budget name -> the table row's cells (the bar column left out, folded cells joined)."""
    found: dict[str, list[str]] = {}
    last: list[str] = []
    for line in table.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if len(cells) == 8:  # wide enough for the progress bar
            cells = cells[:5] + cells[6:]
        if len(cells) != 7:
            continue
        if cells[0] and cells[1]:  # a new row; a folded cell's second line has no window
            last = cells
            found[cells[0]] = last[1:]
        else:  # the second line of folded cells
            for i, more in enumerate(cells):
                if more:
                    if i == 0:
                        found[last[0] + more] = found.pop(last[0])
                        last[0] += more
                    else:
                        found[last[0]][i - 1] += more
    return found


def test_a_token_budget_is_forecast_in_tokens_and_resets_show_the_policys_zone(
    run: Run, policy: str, ledger_url: str
) -> None:
    resets = next_month_in_berlin()
    result = run("budgets", "--policy", policy, "--ledger", ledger_url)
    assert result.exit_code == 0, result.output
    assert "Budgets (Europe/Berlin)" in result.stdout
    table = rows(result.stdout)
    assert list(table) == ["monthly", "total", "org-tokens"]
    local = resets.isoformat(timespec="minutes")  # 2026-12-01T00:00+01:00: local midnight, with its offset
    monthly, total, tokens = table["monthly"], table["total"], table["org-tokens"]
    assert monthly[:4] == ["monthly", "$1.0322", "$200.00", "0.5%"]
    assert re.fullmatch(r"\$\d+\.\d{4}", monthly[4]) and monthly[5] == local
    assert total == ["total", "$1.0322", "$1,000.00", "0.1%", "-", "never"]
    assert tokens[:4] == ["monthly", "6,000 tok", "1,000,000 tok", "0.6%"]
    assert tokens[5] == local
    # The run-rate of the month so far: never below what is already spent.
    forecast = re.fullmatch(r"([\d,]+) tok", tokens[4])
    assert forecast is not None and int(forecast.group(1).replace(",", "")) >= 6000


def test_json_keeps_utc_timestamps_and_gives_the_token_forecast(
    run: Run, policy: str, ledger_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    resets = next_month_in_berlin().astimezone(timezone.utc)
    monkeypatch.setenv("OTEL_LLMCOST_LEDGER", ledger_url)  # --ledger's default
    result = run("budgets", "--policy", policy, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["timezone"] == "Europe/Berlin"
    monthly, total, tokens = data["budgets"]
    assert (monthly["resets_at"], total["resets_at"], tokens["resets_at"]) == (
        resets.isoformat(),  # 2026-11-30T23:00:00+00:00: UTC, with its offset
        None,
        resets.isoformat(),
    )
    assert (monthly["forecast_tokens"], total["forecast_tokens"]) == (None, None)
    assert isinstance(tokens["forecast_tokens"], int) and tokens["forecast_tokens"] >= 6000
    assert (tokens["spent_tokens"], tokens["limit_tokens"], tokens["limit_usd"]) == (6000, 1000000, None)


def test_a_collector_with_auth_on_asks_for_the_token(
    run: Run, policy: str, start: Callable[..., Collector], monkeypatch: pytest.MonkeyPatch
) -> None:
    collector = start(budgets=policy, bearer_token="s3cret")
    api = f"http://{collector.addresses['listen']}"
    refused = run("budgets", "--api", api)
    assert refused.exit_code == 1
    assert refused.stderr == (
        f"Error: {api}/v1/budgets answered 401: bad or missing bearer token (set OTEL_LLMCOST_API_TOKEN)\n"
    )
    monkeypatch.setenv("OTEL_LLMCOST_API_TOKEN", "s3cret")
    answered = run("budgets", "--api", api)
    assert answered.exit_code == 0, answered.output
    assert "Budgets (Europe/Berlin)" in answered.stdout
    local = next_month_in_berlin().isoformat(timespec="minutes")
    assert [cells[5] for cells in rows(answered.stdout).values()] == [local, "never", local]
    assert re.fullmatch(r"[\d,]+ tok", rows(answered.stdout)["org-tokens"][4])


def test_help_names_the_token_and_the_ledger_variable(run: Run) -> None:
    out = " ".join(run("budgets", "--help").stdout.split())
    assert "token: $OTEL_LLMCOST_API_TOKEN" in out
    assert "(default: $OTEL_LLMCOST_LEDGER, else ./.otel-llmcost/ledger.db)" in out


@pytest.mark.parametrize("columns", ["80", "200"])
def test_an_80_column_table_folds_cells_but_loses_none(
    run: Run, policy: str, ledger_url: str, monkeypatch: pytest.MonkeyPatch, columns: str
) -> None:
    monkeypatch.setenv("COLUMNS", columns)  # piped output is 80 columns wide
    result = run("budgets", "--policy", policy, "--ledger", ledger_url)
    assert result.exit_code == 0, result.output
    assert "…" not in result.stdout
    assert max(map(len, result.stdout.splitlines())) <= int(columns)
    assert ("░" in result.stdout) is (columns == "200")  # the progress bar only where there is room
    table = rows(result.stdout)
    assert list(table) == ["monthly", "total", "org-tokens"]
    assert table["total"] == ["total", "$1.0322", "$1,000.00", "0.1%", "-", "never"]
    assert table["monthly"][5] == next_month_in_berlin().isoformat(timespec="minutes")


def test_a_per_key_budget_row_names_its_key(run: Run, policy: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from otel_llmcost.cli import budgets as budgets_cli

    item = {
        "budget": "per-user", "key": "u0", "window": "24h", "limit_usd": "0.01", "limit_tokens": None,
        "spent_usd": "0.002", "spent_tokens": 10, "utilization": "0.2", "thresholds_reached": [],
        "forecast_usd": None, "forecast_tokens": None, "resets_at": None,
    }  # fmt: skip
    data = {"timezone": "UTC", "budgets": [item, {**item, "key": "[bold]u1"}]}
    monkeypatch.setattr(budgets_cli, "_from_ledger", lambda *_: data)
    result = run("budgets", "--policy", policy)
    assert result.exit_code == 0, result.output
    # "[u0]" is not taken for markup (it was, and the rows could not be told apart)
    assert list(rows(result.stdout)) == ["per-user [u0]", "per-user [[bold]u1]"]


def test_reset_times_carry_the_offset_of_their_own_date() -> None:
    assert _resets("2026-03-28T23:00:00+00:00", BERLIN) == "2026-03-29T00:00+01:00"
    assert _resets("2026-03-29T22:00:00+00:00", BERLIN) == "2026-03-30T00:00+02:00"  # summer time
    assert _resets("2026-12-01T00:00:00+00:00", ZoneInfo("UTC")) == "2026-12-01T00:00+00:00"
    assert _resets(None, BERLIN) == "never"


def test_forecast_cells_in_the_budgets_unit() -> None:
    usd = {"limit_usd": "200", "forecast_usd": "1.412978757", "forecast_tokens": None}
    both = {"limit_usd": "200", "forecast_usd": "3", "forecast_tokens": 9000}
    tokens = {"limit_usd": None, "forecast_usd": "1.4", "forecast_tokens": 1234567}
    older = {"limit_usd": None, "forecast_usd": "1.4"}  # a collector from before token forecasts
    assert [_forecast(item) for item in (usd, both, tokens, older)] == [
        "$1.4130",  # to 4 places, as report shows money
        "$3.00",  # the table shows a budget with both limits in USD
        "1,234,567 tok",
        "-",
    ]
    assert _forecast({"limit_usd": "5", "forecast_usd": None}) == "-"


def test_a_collector_without_a_policy_says_it_watches_no_budgets(
    run: Run, start: Callable[..., Collector]
) -> None:
    collector = start()  # no --budgets
    api = f"http://{collector.addresses['listen']}"
    result = run("budgets", "--api", api)
    assert (result.exit_code, result.stdout) == (
        0,
        f"The collector at {api} watches no budgets (start it with --budgets FILE).\n",
    )
    as_json = run("budgets", "--api", api, "--json")
    assert json.loads(as_json.stdout) == {"configured": False, "refreshed_at": None, "budgets": []}


def test_a_missing_ledger_is_an_error_and_nothing_is_created(run: Run, policy: str, tmp_path: Path) -> None:
    missing = tmp_path / "typo" / "ledger.db"
    result = run("budgets", "--policy", policy, "--ledger", f"sqlite:///{missing}")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: no ledger at {missing}: run the collector first, or give --ledger URL\n"
    )
    assert not missing.parent.exists()


def test_piped_the_table_is_as_wide_as_its_longest_line(
    run: Run, policy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from otel_llmcost.cli import budgets as budgets_cli

    monkeypatch.delenv("COLUMNS")  # piped: rich would fold into 80 columns
    item = {
        "budget": "platform-reliability-engineering-monthly", "key": "customer-success-automation",
        "window": "monthly", "limit_usd": "200", "limit_tokens": None, "spent_usd": "1.5", "spent_tokens": 10,
        "utilization": "0.0075", "thresholds_reached": [], "forecast_usd": "3", "forecast_tokens": None,
        "resets_at": "2026-12-01T00:00:00+00:00",
    }  # fmt: skip
    monkeypatch.setattr(
        budgets_cli, "_from_ledger", lambda *_: {"timezone": "Europe/Berlin", "budgets": [item]}
    )
    result = run("budgets", "--policy", policy)
    assert result.exit_code == 0, result.output
    (line,) = [line for line in result.stdout.splitlines() if "platform" in line]
    assert line == (
        "│ platform-reliability-engineering-monthly [customer-success-automation] │ monthly │ $1.50 │ $200.00 "
        "│ 0.8% │    $3.00 │ 2026-12-01T01:00+01:00 │"
    )


def test_spend_that_includes_unpriced_calls_is_marked(
    run: Run, policy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # budgets/_status.py gives "unpriced" per window where it counts them; an answer without it is unmarked
    from otel_llmcost.cli import budgets as budgets_cli

    item = {
        "budget": "monthly", "key": "", "window": "monthly", "limit_usd": "200", "limit_tokens": None,
        "spent_usd": "1.5", "spent_tokens": 10, "utilization": "0.0075", "thresholds_reached": [],
        "forecast_usd": None, "forecast_tokens": None, "resets_at": None,
    }  # fmt: skip
    data = {"timezone": "UTC", "budgets": [{**item, "unpriced": 2}, {**item, "budget": "older"}]}
    monkeypatch.setattr(budgets_cli, "_from_ledger", lambda *_: data)
    result = run("budgets", "--policy", policy)
    assert result.exit_code == 0, result.output
    table = rows(result.stdout)
    assert (table["monthly"][1], table["older"][1]) == ("$1.50*", "$1.50")
    assert result.stdout.splitlines()[-1] == (
        "* spent leaves out calls of models without a price (up to 2 calls in a window): their cost is "
        "unknown, not $0 (see `otel-llmcost prices`)."
    )
