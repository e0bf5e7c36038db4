"""``otel-llmcost report``: the dashboard's figures, --json equal to the collector's /v1/report, budgets,
chargeback and exit codes — on SQLite and PostgreSQL ledgers, and through --api."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from prometheus_client import CollectorRegistry

from otel_llmcost.cli._app import cli
from otel_llmcost.collector import Collector
from otel_llmcost.ledger import open_ledger
from otel_llmcost.pricing import Pricer
from tests.analytics.report_data import ENGINES, fixed_records, ledger_url
from tests.collector.conftest import BASE_CONFIG, http_get
from tests.ledger.support import make_record

Run = Callable[..., Result]
_ENV = ("LEDGER", "API_URL", "API_TOKEN", "BUDGETS", "PRICES")


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Run:
    for name in _ENV:
        monkeypatch.delenv(f"OTEL_LLMCOST_{name}", raising=False)
    monkeypatch.setenv("COLUMNS", "160")  # rich's width when output is not a terminal
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return invoke


@pytest.fixture(params=ENGINES)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A ledger holding the fixed records (tests/analytics/report_data.py)."""
    for found in ledger_url(request.param, tmp_path):
        with open_ledger(found) as ledger:
            ledger.insert(fixed_records())
        yield found


@pytest.fixture
def start(url: str, pricer: Pricer) -> Iterator[Callable[..., Collector]]:
    started: list[Collector] = []

    def start_collector(**changes: object) -> Collector:
        config = replace(BASE_CONFIG, ledger_url=url, **changes)  # type: ignore[arg-type]
        started.append(Collector(config, registry=CollectorRegistry(), pricer=pricer).start())
        return started[-1]

    yield start_collector
    for collector in started:
        collector.stop(timeout=5.0)


def flat(text: str) -> str:
    return " ".join(text.split())


def test_dashboard_shows_the_hand_computed_summary_and_provider_breakdown(run: Run, url: str) -> None:
    result = run("report", "--ledger", url)
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    assert "Total API calls 6 (1 error)" in out
    assert "Total cost $11.7530" in out
    assert f"This month ({time.strftime('%Y-%m', time.gmtime())}, UTC) $0.0000 over 0 calls" in out
    assert (
        "1 call used models without a price (marked * or 'unpriced' below): their cost is unknown, not $0"
        in out
    )
    assert "No budgets: give --policy FILE" in out
    assert (
        "anthropic 2 2,310 105 $8.5000 72.3% gcp.gemini 1 0 70 $2.0000 17.0% openai 3 2,100 710 $1.2530* 10.7%"
        in out
    )


def test_verbose_adds_model_rows_and_by_takes_several_dimensions(run: Run, url: str) -> None:
    out = flat(run("report", "--ledger", url, "--verbose").stdout)
    assert (
        "openai 3 2,100 710 $1.2530* 10.7% gpt-4o 1 1,000 200 $1.2500 10.6% gpt-4o-mini 1 1,000 500 $0.0030 0.0% "
        "o3 1 100 10 unpriced 0.0%" in out
    )
    out = flat(run("report", "--ledger", url, "--by", "team,project", "--month", "2025-03").stdout)
    assert "Range 2025-03-01T00:00:00Z to 2025-04-01T00:00:00Z" in out
    assert "Total cost $9.7530" in out
    assert "ads alpha 1 2,300 100 $7.5000 76.9%" in out
    assert "(none) (none) 1 10 5 $1.0000 10.3%" in out


def test_tiny_costs_never_print_as_zero(run: Run, tmp_path: Path) -> None:
    ledger = f"sqlite:///{tmp_path / 'tiny.db'}"
    with open_ledger(ledger) as backend:
        backend.insert([make_record(1, cost_nanos=5, start_ns=time.time_ns())])
    out = flat(run("report", "--ledger", ledger).stdout)
    assert "Total cost <$0.0001" in out
    assert f"This month ({time.strftime('%Y-%m', time.gmtime())}, UTC) <$0.0001 over 1 calls" in out


QUERIES = [
    ((), "?group_by=provider"),
    (("--by", "team,model", "--month", "2025-03"), "?group_by=team,model&since=2025-03-01&until=2025-04-01"),
    (("--by", "day", "--limit", "2", "--team", "search"), "?group_by=day&limit=2&team=search"),
    (("--by", "model", "--where", "priced=false", "--since", "2025-04-01T00:00:00.5Z"),
     "?group_by=model&priced=false&since=2025-04-01T00:00:00.5Z"),
]  # fmt: skip


def test_json_is_exactly_the_collectors_report_for_the_same_query(
    run: Run, url: str, start: Callable[..., Collector]
) -> None:
    collector = start()
    api = f"http://{collector.addresses['listen']}"
    for args, query in QUERIES:
        answer = http_get(collector.addresses["listen"], f"/v1/report{query}")
        assert answer.status == 200
        expected = json.loads(answer.body)
        local = run("report", "--ledger", url, "--json", *args)
        remote = run("report", "--api", api, "--json", *args)
        assert (local.exit_code, remote.exit_code) == (0, 0), local.output + remote.output
        assert json.loads(local.stdout) == json.loads(remote.stdout) == expected, args
    assert json.loads(run("report", "--ledger", url, "--json").stdout)["groups"][0]["total_usd"] == "8.5"


def test_the_dashboard_reads_a_collector_with_its_budgets_and_token(
    run: Run, url: str, start: Callable[..., Collector], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = tmp_path / "budgets.yaml"
    policy.write_text("budgets:\n  - {name: ads-total, window: total, limit_usd: 20, scope: {team: ads}}\n")
    collector = start(budgets=str(policy), bearer_token="s3cret")
    api = f"http://{collector.addresses['listen']}"
    refused = run("report", "--api", api)
    assert (
        refused.exit_code == 1
        and "answered 401" in refused.stderr
        and "OTEL_LLMCOST_API_TOKEN" in refused.stderr
    )
    monkeypatch.setenv("OTEL_LLMCOST_API_TOKEN", "s3cret")
    out = flat(run("report", "--api", api, "--total-budget", "10").stdout)
    assert f"Source {api}/v1/report" in out
    assert "ads-total (total) Spent: $9.5000 of $20.0000 | Remaining: $10.5000" in out
    assert "47.5%" in out
    assert "session-total (total) reached: warning@80%, critical@100%" in out
    # The session budget covers the fixture's one unpriced call: marked, never a silent $0.
    assert (
        "Spent: $11.7530* of $10.0000 | Over by: $1.7530 | * 1 call of models without a price: cost unknown, not $0"
        in out
    )
    assert "117.5%" in out


def test_policy_file_and_session_budgets_on_the_ledger(run: Run, url: str, tmp_path: Path) -> None:
    policy = tmp_path / "budgets.yaml"
    policy.write_text(
        "budgets:\n  - {name: search-total, window: total, limit_usd: 2, scope: {team: search}}\n"
    )
    out = flat(run("report", "--ledger", url, "--policy", str(policy), "--monthly-budget", "5").stdout)
    assert "search-total (total) reached: warning@50% Spent: $1.2530 of $2.0000 | Remaining: $0.7470" in out
    assert (
        "session-monthly (monthly, resets" in out and "Spent: $0.0000 of $5.0000 | Remaining: $5.0000" in out
    )


def test_chargeback_json_text_and_api(run: Run, url: str, start: Callable[..., Collector]) -> None:
    data = json.loads(run("report", "--ledger", url, "--chargeback", "team", "--json").stdout)
    assert (data["method"], data["total_usd"], data["unattributed_usd"]) == (
        "proportional",
        "11.753",
        "0.999999999",
    )
    assert [(a["team"], a["total_usd"]) for a in data["allocations"]] == [
        ("ads", "10.383474379"),
        ("search", "1.369525621"),
    ]
    collector = start()
    remote = run(
        "report", "--api", f"http://{collector.addresses['listen']}", "--chargeback", "team", "--json"
    )
    assert json.loads(remote.stdout) == data
    out = flat(run("report", "--ledger", url, "--chargeback", "project", "--month", "2025-03").stdout)
    assert "alpha 2 $8.7500 $0.9997 $9.7497 100.0%" in out
    assert "Method (proportional): unattributed spend ($0.999999999 over 1 request without a project)" in out


def test_chargeback_marks_unpriced_spend_and_says_what_the_calls_cover(run: Run, url: str) -> None:
    # calls 4 (sonnet, $0.999999999) and 6 (o3, no price) carry no team: spread, and 6's cost unknown
    result = run("report", "--ledger", url, "--chargeback", "team")
    assert result.exit_code == 0, result.output
    lines = [line.rstrip() for line in result.stdout.splitlines()]
    assert lines[2:9] == [
        "  Team     Calls     Direct   Unattributed share       Total   Share",
        " ────────────────────────────────────────────────────────────────────",
        "  ads          2    $9.5000             $0.8835*   $10.3835*   88.3%",
        "  search       2    $1.2530             $0.1165*    $1.3695*   11.7%",
        "",
        "  Total        4   $10.7530             $1.0000*   $11.7530*    100%",
        "",
    ]
    assert flat("\n".join(lines[9:])) == (
        "Range: all time "
        "Method (proportional): unattributed spend ($0.999999999 over 2 requests without a team, 1 of them "
        "unpriced (cost unknown, not $0)) is spread over each team in proportion to its attributed spend; "
        "shares are rounded to the nano-dollar by largest remainder, so allocations sum exactly to the total. "
        "Calls counts each team's own calls: 4 of 6; the other 2 carry no team and are billed through the "
        "unattributed share. "
        "1 call used models without a price (marked * or 'unpriced' above): their cost is unknown, not $0 (see "
        "`otel-llmcost prices`). 1 of them has no team, so every unattributed share is incomplete too. "
        "Amounts are rounded to $0.0001 (shares to 0.1%) by largest remainder, so each column adds up to its "
        "total; --json has them to the nano-dollar."
    )
    data = json.loads(run("report", "--ledger", url, "--chargeback", "team", "--json").stdout)
    assert (data["requests"], data["unpriced"], data["unattributed_requests"], data["unattributed_unpriced"]) == (
        6, 1, 2, 1,
    )  # fmt: skip
    assert [(a["team"], a["requests"], a["unpriced"]) for a in data["allocations"]] == [
        ("ads", 2, 0),
        ("search", 2, 0),
    ]


def test_a_chargeback_of_unpriced_calls_is_never_a_silent_zero(run: Run, tmp_path: Path) -> None:
    ledger = f"sqlite:///{tmp_path / 'unpriced.db'}"
    unpriced = {"priced": False, "pricing_model": None, "price_version": None, "request_model": "o3"}
    with open_ledger(ledger) as backend:
        backend.insert(
            [make_record(1, team="ads", cost_nanos=2_000_000_000), make_record(2, team="lab", **unpriced),
             make_record(3, team=None, **unpriced), make_record(4, team=None, **unpriced)]
        )  # fmt: skip
    result = run("report", "--ledger", ledger, "--chargeback", "team")
    lines = [line.rstrip() for line in result.stdout.splitlines()]
    assert lines[4:8] == [
        "  ads         1    $2.0000             $0.0000*   $2.0000*   100.0%",
        "  lab         1   unpriced             $0.0000*   $0.0000*     0.0%",
        "",
        "  Total       2   $2.0000*             $0.0000*   $2.0000*     100%",
    ]
    out = flat(result.stdout)
    assert (
        "Method (proportional): unattributed spend (2 requests without a team, all unpriced: their cost is "
        "unknown, not $0) is spread over each team in proportion to its attributed spend;"
    ) in out
    assert (
        "3 calls used models without a price (marked * or 'unpriced' above): their cost is unknown, not $0 "
        "(see `otel-llmcost prices`). 2 of them have no team, so every unattributed share is incomplete too."
    ) in out


def test_shown_amounts_and_shares_add_up_to_the_shown_total(run: Run, tmp_path: Path) -> None:
    # $0.00015 each: alone each shows as $0.0002 (half to even), but the total, $0.00045, as $0.0004
    ledger = f"sqlite:///{tmp_path / 'thirds.db'}"
    with open_ledger(ledger) as backend:
        backend.insert([make_record(i, team=team, cost_nanos=150_000) for i, team in enumerate("abc", 1)])
    out = flat(run("report", "--ledger", ledger, "--by", "team").stdout)
    assert "Total cost $0.0004" in out
    assert "a 1 0 0 $0.0002 33.3% b 1 0 0 $0.0001 33.3% c 1 0 0 $0.0001 33.3%" in out
    out = flat(run("report", "--ledger", ledger, "--chargeback", "team").stdout)
    assert (
        "a 1 $0.0002 $0.0000 $0.0002 33.4% b 1 $0.0001 $0.0000 $0.0001 33.3% c 1 $0.0001 $0.0000 $0.0001 33.3%"
        in out
    )
    assert "Total 3 $0.0004 $0.0000 $0.0004 100%" in out
    data = json.loads(run("report", "--ledger", ledger, "--chargeback", "team", "--json").stdout)
    assert [a["share"] for a in data["allocations"]] == ["0.333334", "0.333333", "0.333333"]


def test_verbose_adds_model_only_where_it_is_not_grouped_by_already(run: Run, url: str) -> None:
    for by in ("team,model", "model"):
        plain = run("report", "--ledger", url, "--by", by)
        verbose = run("report", "--ledger", url, "--by", by, "--verbose")
        assert verbose.exit_code == 0, verbose.output
        assert verbose.stdout == plain.stdout
        assert f"Breakdown by {by.replace(',', ', ')} ─" in verbose.stdout
        assert verbose.stdout.count("Model") == 1
    result = run("report", "--ledger", url, "--verbose", "--json")
    assert (result.exit_code, result.stderr.splitlines()[-1]) == (
        2,
        "Error: --verbose splits the table's groups by model; for JSON, add model to --by instead",
    )


def test_piped_tables_are_as_wide_as_their_longest_line(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLUMNS")  # piped: rich would lay out 80 columns
    model, team = "claude-sonnet-4-6-20260301-long-context-preview", "platform-reliability-engineering"
    ledger = f"sqlite:///{tmp_path / ('a-rather-long-directory-name-' * 3)}/ledger.db"
    with open_ledger(ledger) as backend:
        backend.insert([make_record(1, request_model=model, team=team, cost_nanos=1_000_000_000)])
    out = run("report", "--ledger", ledger, "--by", "model,team").stdout
    assert f"Source                     {ledger}" in out.splitlines()
    assert [line for line in out.splitlines() if model in line] == [
        f"{model}  {team}      1          0           0  $1.0000      100.0%"
    ]
    bill = run("report", "--ledger", ledger, "--chargeback", "team").stdout
    assert f"  {team}       1   $1.0000              $0.0000   $1.0000   100.0%" in [
        line.rstrip() for line in bill.splitlines()
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--by", "colour"), "cannot group by 'colour'"),
        (("--month", "2025-3"), "expected a calendar month YYYY-MM"),
        (("--month", "2025-03", "--since", "2025-01-01"), "give --month or --since/--until, not both"),
        (("--since", "2025-03-02", "--until", "2025-03-01"), "must be later than --since"),
        (("--where", "colour=red"), "expected KEY=VALUE"),
        (("--chargeback", "team", "--by", "team"), "leave out --by"),
        (
            ("--chargeback", "team", "--limit", "2"),
            "--chargeback bills every team and groups by it itself; leave out --limit",
        ),
        (
            ("--chargeback", "project", "--verbose"),
            "--chargeback bills every project and groups by it itself; leave out --verbose",
        ),
        (("--api", "http://127.0.0.1:1"), "not both"),
        (("--monthly-budget", "-5"), "expected a positive amount of USD"),
        (
            ("--where", "priced=maybe", "--json"),
            "Invalid value for --where: filter priced='maybe': expected true or false",
        ),
        (
            ("--where", "priced=maybe"),
            "Invalid value for --where: filter priced='maybe': expected true or false",
        ),
        (
            ("--where", "priced=maybe", "--chargeback", "team"),
            "filter priced='maybe': expected true or false",
        ),
        (
            ("--where", "day=2025-13-01"),
            "Invalid value for --where: filter day='2025-13-01': expected UTC Y-m-d",
        ),
    ],
)
def test_bad_usage_exits_2_and_says_why(run: Run, url: str, args: tuple[str, ...], message: str) -> None:
    result = run("report", "--ledger", url, *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr


def test_a_missing_ledger_or_unreachable_collector_exits_1(run: Run, tmp_path: Path) -> None:
    result = run("report")
    assert result.exit_code == 1 and "no ledger at" in result.stderr
    assert not (tmp_path / ".otel-llmcost").exists()  # reading never creates a ledger
    result = run("report", "--api", "http://127.0.0.1:1")
    assert result.exit_code == 1 and "cannot read http://127.0.0.1:1/v1/report" in result.stderr
    assert run("report", "--ledger", "mysql://x").exit_code == 2


def test_budget_blocks_forecast_in_the_budgets_unit_and_say_resets_are_utc() -> None:
    from rich.console import Console

    from otel_llmcost.cli._report_view import _budget_table

    common = {"key": None, "thresholds_reached": [], "utilization": "0.25", "window": "monthly"}
    tokens = {
        **common, "budget": "org-tokens", "resets_at": "2026-11-30T23:00:00+00:00", "limit_usd": None,
        "spent_usd": "1.0322", "forecast_usd": "4.5", "limit_tokens": 1_000_000, "spent_tokens": 250_000,
        "forecast_tokens": 1_234_567,
    }  # fmt: skip
    usd = {
        **common, "budget": "monthly", "resets_at": "2026-12-01T00:00:00+01:00", "limit_usd": "200",
        "spent_usd": "50", "forecast_usd": "212.5", "limit_tokens": None, "spent_tokens": 250_000,
        "forecast_tokens": None,
    }  # fmt: skip
    console = Console(record=True, width=200)
    console.print(_budget_table([tokens, usd]))
    out = flat(console.export_text())
    assert (
        "org-tokens (monthly, resets 2026-11-30 23:00 UTC) Spent: 250,000 of 1,000,000 tokens"
        " | Remaining: 750,000 tokens | Forecast: 1,234,567 tokens"
    ) in out
    assert (
        "monthly (monthly, resets 2026-11-30 23:00 UTC) Spent: $50.0000 of $200.0000"
        " | Remaining: $150.0000 | Forecast: $212.5000"
    ) in out
    assert "$4.5" not in out  # a token budget's dollar forecast is not its forecast


def test_a_budget_whose_spend_includes_unpriced_calls_is_marked() -> None:
    from rich.console import Console

    from otel_llmcost.cli._report_view import _budget_table

    item = {
        "budget": "monthly", "key": None, "window": "monthly", "resets_at": None, "limit_usd": "200",
        "spent_usd": "50", "forecast_usd": None, "limit_tokens": None, "spent_tokens": 10,
        "thresholds_reached": [], "utilization": "0.25",
    }  # fmt: skip
    console = Console(record=True, width=200)
    console.print(_budget_table([{**item, "unpriced": 3}, {**item, "budget": "older"}]))  # older: no count
    out = flat(console.export_text())
    assert (
        "monthly (monthly) Spent: $50.0000* of $200.0000 | Remaining: $150.0000 | * 3 calls of models without "
        "a price: cost unknown, not $0"
    ) in out
    assert "older (monthly) Spent: $50.0000 of $200.0000 | Remaining: $150.0000 " in out
