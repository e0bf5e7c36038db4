"""Which source a reading command reads — ``--ledger`` or ``--api``, or their environment variables —
and a malformed ``--api`` URL refused as bad usage, alike for report, forecast, insights and budgets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from otel_llmcost.cli._app import cli
from otel_llmcost.ledger import open_ledger
from tests.ledger.support import make_record

Run = Callable[..., Result]
COMMANDS = {
    "report": ("report", "/v1/report"),
    "forecast": ("forecast", "/v1/forecast"),
    "insights": ("insights", "/v1/insights"),
    "budgets": ("budgets", "/v1/budgets"),
}
UNREACHABLE = "http://127.0.0.1:1"


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Run:
    for name in ("LEDGER", "API_URL", "API_TOKEN", "BUDGETS"):
        monkeypatch.delenv(f"OTEL_LLMCOST_{name}", raising=False)
    monkeypatch.setenv("COLUMNS", "160")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "budgets.yaml").write_text("budgets:\n  - {name: total, window: total, limit_usd: 10}\n")

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return invoke


@pytest.fixture
def ledger(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with open_ledger(url) as backend:
        backend.insert([make_record(1, cost_nanos=1_000_000_000)])
    return url


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("notaurl", "expected an http:// or https:// URL"),
        ("", "expected an http:// or https:// URL"),  # `--api "$UNSET"`: not a silent default
        ("ftp://x", "expected an http:// or https:// URL"),
        ("http://[::1", "Invalid IPv6 URL"),
        ("http://", "the URL names no host"),
        ("http://host:99999", "Port out of range 0-65535"),
        ("http://host:9464/?group_by=team", "a collector's base URL has no query or fragment"),
    ],
)
def test_a_malformed_api_url_is_bad_usage_naming_the_option(
    run: Run, command: str, url: str, problem: str
) -> None:
    result = run(command, "--api", url)
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines()[-1] == (
        f"Error: Invalid value for --api: {url!r}: {problem} (e.g. http://127.0.0.1:9464)"
    )
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_a_malformed_variable_is_named_as_the_variable(
    run: Run, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.setenv("OTEL_LLMCOST_API_URL", "localhost:9464")
    result = run(command)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "Error: Invalid value for $OTEL_LLMCOST_API_URL: 'localhost:9464': expected an http:// or https:// URL "
        "(e.g. http://127.0.0.1:9464)"
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_a_flag_wins_over_the_other_sources_variable_and_the_api_variable_over_the_ledgers(
    run: Run, ledger: str, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    path = COMMANDS[command][1]
    policy = ["--policy", "budgets.yaml"] if command == "budgets" else []
    refused = f"Error: cannot read {UNREACHABLE}{path}"
    # both variables: the collector is read (here unreachable: exit 1, naming it)
    monkeypatch.setenv("OTEL_LLMCOST_LEDGER", ledger)
    monkeypatch.setenv("OTEL_LLMCOST_API_URL", UNREACHABLE)
    both = run(command)
    assert both.exit_code == 1 and both.stderr.startswith(refused), both.output
    # --ledger beats $OTEL_LLMCOST_API_URL
    local = run(command, "--ledger", ledger, *policy)
    assert local.exit_code == 0, local.output
    # --api beats $OTEL_LLMCOST_LEDGER
    monkeypatch.delenv("OTEL_LLMCOST_API_URL")
    remote = run(command, "--api", UNREACHABLE)
    assert remote.exit_code == 1 and remote.stderr.startswith(refused), remote.output
    # the two flags together are a mistake
    clash = run(command, "--ledger", ledger, "--api", UNREACHABLE)
    assert (clash.exit_code, clash.stderr.splitlines()[-1]) == (2, "Error: give --ledger or --api, not both")


@pytest.mark.parametrize("command", COMMANDS)
def test_help_says_which_source_wins(run: Run, command: str) -> None:
    out = " ".join(run(command, "--help").stdout.split())
    assert (
        f"Read a running collector's {COMMANDS[command][1]}" in out
        and "default: $OTEL_LLMCOST_API_URL, which wins over $OTEL_LLMCOST_LEDGER but not over --ledger; "
        "token: $OTEL_LLMCOST_API_TOKEN)"
        in out
    )


@pytest.mark.parametrize("command", ["insights", "budgets"])
def test_a_policy_flag_with_api_is_refused_but_the_collectors_own_variable_is_not(
    run: Run, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    flag = run(command, "--api", UNREACHABLE, "--policy", "budgets.yaml")
    assert flag.exit_code == 2
    assert flag.stderr.splitlines()[-1].startswith("Error: --policy applies to the ledger; the collector")
    monkeypatch.setenv("OTEL_LLMCOST_BUDGETS", "budgets.yaml")  # as a pod shares it with its collector
    shared = run(command, "--api", UNREACHABLE)
    assert shared.exit_code == 1 and shared.stderr.startswith(f"Error: cannot read {UNREACHABLE}/v1/")
