"""``otel-llmcost insights``: JSON equal to the analysis, the human table and anomalies, the policy's
tiers, --api, and exit codes. The ledger is the crafted one of tests/analytics/test_insights.py."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from prometheus_client import CollectorRegistry

from otel_llmcost.analytics._insights import find_insights
from otel_llmcost.cli._app import cli
from otel_llmcost.collector import Collector
from otel_llmcost.ledger import open_ledger
from otel_llmcost.pricing import Pricer
from tests.analytics.report_data import ENGINES, ledger_url
from tests.analytics.test_insights import SINCE, UNTIL, crafted
from tests.collector.conftest import BASE_CONFIG

Run = Callable[..., Result]
WINDOW = ("--since", "2025-03-01", "--until", "2025-03-31")


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Run:
    for name in ("LEDGER", "API_URL", "API_TOKEN", "BUDGETS"):
        monkeypatch.delenv(f"OTEL_LLMCOST_{name}", raising=False)
    monkeypatch.setenv("COLUMNS", "220")
    monkeypatch.chdir(tmp_path)
    return lambda *args: CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(params=ENGINES)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    for found in ledger_url(request.param, tmp_path):
        with open_ledger(found) as ledger:
            ledger.insert(crafted())
        yield found


def flat(text: str) -> str:
    return " ".join(text.split())


def test_json_is_the_analysis(run: Run, url: str) -> None:
    result = run("insights", "--json", "--ledger", url, *WINDOW)
    assert result.exit_code == 0, result.output
    with open_ledger(url) as ledger:
        expected = find_insights(ledger, since_ns=SINCE, until_ns=UNTIL).to_dict()
    assert json.loads(result.stdout) == expected
    assert len(expected["insights"]) == 10 and expected["monthly_saving_usd"] == "0.12017943"


def test_human_output(run: Run, url: str) -> None:
    result = run("insights", "--ledger", url, *WINDOW, "--limit", "3", "--daily-threshold", "0.1")
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    assert (
        "Insights 2025-03-01 00:00 - 2025-03-31 00:00 UTC: 84 calls, $0.48 spent, prompt-cache hit ratio 10.4%"
        in out
    )
    assert "Estimated saving: $0.12 a month" in out
    assert "1. model right sizing (claude-opus-4-7 / triage): spend $0.11, saving $0.06/month" in out
    assert "saving $0.06/month claude-opus-4-7 is a premium model" in out
    assert "requests=20, p95_output_tokens=19" in out
    assert "low cache hit ratio (claude-sonnet-4-6 / rag)" in out
    assert "… and 7 more (--limit, or --json for all)" in out
    assert "Anomalies: 3" in out
    assert "2025-03-10 00:00 day above threshold: $0.4693 vs $0.1000 (4.7x)" in out
    assert "2025-03-30 23:00 hourly tokens: 2,148 tokens vs 80 (27.0x)" in out


def test_scope_days_and_policy_tiers(run: Run, url: str, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "tiers:\n  premium: [claude-opus-4-7]\n  cheap: [claude-haiku-4-5]\n"
        "budgets:\n  - {name: all, window: monthly, limit_usd: 100}\n"
    )
    data = json.loads(
        run(
            "insights", "--json", "--ledger", url, *WINDOW, "--feature", "triage", "--policy", str(policy)
        ).stdout
    )
    right = next(i for i in data["insights"] if i["kind"] == "model_right_sizing")
    assert right["evidence"]["suggested_model"] == "claude-haiku-4-5" and right["saving_usd"] == "0.0842"
    assert data["filters"] == {"feature": "triage"}
    recent = json.loads(
        run("insights", "--json", "--ledger", url, "--days", "3", "--until", "2025-03-31").stdout
    )
    assert (recent["since"], recent["requests"]) == ("2025-03-28T00:00:00Z", 1)
    short = json.loads(
        run(
            "insights", "--json", "--ledger", url, *WINDOW, "--duplicate-window", "2h", "--feature", "faq"
        ).stdout
    )
    assert (
        next(i for i in short["insights"] if i["kind"] == "duplicate_requests")["saving_usd"] == "0.00000025"
    )


def test_nothing_to_report(run: Run, url: str) -> None:
    out = flat(run("insights", "--ledger", url, "--since", "2024-01-01", "--until", "2024-02-01").stdout)
    assert "0 calls, $0.00 spent, prompt-cache hit ratio -" in out
    assert "No waste found." in out and "Anomalies: none" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--days", "0"), "0 is not in the range"),
        (("--duplicate-window", "1w"), "expected a duration such as 30m, 24h or 7d"),
        (("--daily-threshold", "-1"), "expected a positive amount of USD"),
        (("--daily-threshold", "lots"), "expected a positive amount of USD"),
        (("--since", "last tuesday"), "expected epoch seconds"),
        (("--since", "2025-03-02", "--until", "2025-03-01"), "must be later than --since"),
        (
            ("--days", "5", "--since", "2025-03-01"),
            "give --days or --since, not both (--days counts back from --until)",
        ),
        (
            ("--where", "colour=red"),
            "'colour=red': expected KEY=VALUE with KEY one of environment, error_type, feature,",
        ),
        (("--limit", "-1"), "-1 is not in the range"),
        (("--policy", "/no/such/policy.yaml"), "/no/such/policy.yaml"),
    ],
)
def test_bad_arguments_exit_2(run: Run, tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    url = f"sqlite:///{tmp_path / 'l.db'}"
    open_ledger(url).close()
    result = run("insights", "--ledger", url, *args)
    assert result.exit_code == 2, result.output
    assert message in flat(result.output)


def test_a_missing_ledger_exits_1(run: Run, tmp_path: Path) -> None:
    result = run("insights", "--ledger", f"sqlite:///{tmp_path / 'nope.db'}")
    assert result.exit_code == 1 and "no ledger at" in result.output
    assert run("insights", "--help").exit_code == 0


def test_api_answers_as_the_ledger_does(run: Run, tmp_path: Path, pricer: Pricer) -> None:
    url = f"sqlite:///{tmp_path / 'api.db'}"
    with open_ledger(url) as ledger:
        ledger.insert(crafted())
    collector = Collector(
        replace(BASE_CONFIG, ledger_url=url), registry=CollectorRegistry(), pricer=pricer
    ).start()
    try:
        api = f"http://{collector.addresses['listen']}"
        for args in (
            WINDOW,
            (*WINDOW, "--feature", "faq", "--duplicate-window", "2h", "--daily-threshold", "0.0000001"),
        ):
            local = json.loads(run("insights", "--json", "--ledger", url, *args).stdout)
            remote = run("insights", "--json", "--api", api, *args)
            assert remote.exit_code == 0, remote.output
            assert json.loads(remote.stdout) == local
        refused = run("insights", "--api", api, "--policy", str(tmp_path / "p.yaml"))
        assert refused.exit_code == 2 and "--policy applies to the ledger" in refused.output
    finally:
        collector.stop(timeout=5.0)
