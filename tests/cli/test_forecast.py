"""``otel-llmcost forecast``: JSON and human output, the backtest, --api, and exit codes.

The ledger spends the weekly pattern of tests/analytics/test_forecast.py from 1 January 2025:
as of 17 March the month has spent $129 and will end at exactly $261.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from prometheus_client import CollectorRegistry

from otel_llmcost.cli._app import cli
from otel_llmcost.collector import Collector
from otel_llmcost.ledger import open_ledger
from otel_llmcost.pricing import Pricer
from tests.analytics.report_data import ENGINES, ledger_url
from tests.analytics.test_forecast import pattern
from tests.collector.conftest import BASE_CONFIG
from tests.ledger.support import make_record, ns

Run = Callable[..., Result]


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Run:
    for name in ("LEDGER", "API_URL", "API_TOKEN", "BUDGETS"):
        monkeypatch.delenv(f"OTEL_LLMCOST_{name}", raising=False)
    monkeypatch.setenv("COLUMNS", "160")
    monkeypatch.chdir(tmp_path)
    return lambda *args: CliRunner().invoke(cli, list(args), catch_exceptions=False)


def fill(url: str, last: date) -> None:
    daily = pattern(date(2025, 1, 1), last)
    with open_ledger(url) as ledger:
        ledger.insert(
            [make_record(i, start_ns=ns(d.year, d.month, d.day, 12), cost_nanos=v, team="search")
             for i, (d, v) in enumerate(sorted(daily.items()))]
        )  # fmt: skip


@pytest.fixture(params=ENGINES)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    for found in ledger_url(request.param, tmp_path):
        fill(found, date(2025, 4, 30))
        yield found


def flat(text: str) -> str:
    return " ".join(text.split())


def test_json_is_the_exact_forecast(run: Run, url: str) -> None:
    result = run("forecast", "--json", "--as-of", "2025-03-17", "--ledger", url, "--team", "search")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {k: data[k] for k in ("status", "window", "spent_usd", "forecast_usd", "run_rate_usd", "interval", "scope")} == {
        "status": "ok", "window": "monthly", "spent_usd": "129", "forecast_usd": "261", "run_rate_usd": "249.9375",
        "interval": {"level": 0.8, "low_usd": "261", "high_usd": "261"}, "scope": {"team": "search"},
    }  # fmt: skip
    week = json.loads(
        run("forecast", "--json", "--window", "week", "--as-of", "2025-03-19", "--ledger", url).stdout
    )
    assert (week["window"], week["window_start"], week["spent_usd"]) == (
        "weekly",
        "2025-03-17T00:00:00Z",
        "22",
    )


def test_human_output(run: Run, url: str) -> None:
    out = flat(run("forecast", "--as-of", "2025-03-17T00:00:00Z", "--ledger", url).stdout)
    assert "Month-end forecast (2025-03-01 - 2025-04-01, UTC) as of 2025-03-17 00:00+00:00" in out
    assert "Spent so far $129.00" in out
    assert "Forecast $261.00 80% interval $261.00 - $261.00" in out
    assert "Run-rate $249.94" in out
    assert "Model 56 days of history, growth +0.00%/day" in out
    assert "Weekdays Mon 1.15 Tue 1.38 Wed 1.38 Thu 1.26 Fri 1.03 Sat 0.46 Sun 0.34" in out
    early = flat(run("forecast", "--as-of", "2025-01-10", "--ledger", url).stdout)
    assert "Not enough history to forecast: 9 complete days (needs 14)." in early
    assert "Spent so far $84.00" in early and "Run-rate $289.33" in early  # 12+11+9+4+3+10+12+12+11, x 31/9


def test_times_show_in_the_forecasts_zone_with_their_offset(run: Run, url: str) -> None:
    # 05:00 UTC: 00:00 in New York's winter time, 01:00 in its summer time (from 9 March 2025)
    out = flat(run("forecast", "--as-of", "2025-03-17T00:00:00-05:00", "--timezone", "America/New_York",
                   "--ledger", url).stdout)  # fmt: skip
    assert (
        "Month-end forecast (2025-03-01 - 2025-04-01, America/New_York) as of 2025-03-17 01:00-04:00" in out
    )
    # Berlin's month starts at 23:00 UTC the day before: its own dates, not the UTC ones
    out = flat(run("forecast", "--as-of", "2025-03-17T12:00:00Z", "--timezone", "Europe/Berlin",
                   "--ledger", url).stdout)  # fmt: skip
    assert "Month-end forecast (2025-03-01 - 2025-04-01, Europe/Berlin) as of 2025-03-17 13:00+01:00" in out


def test_a_future_as_of_is_refused(run: Run, url: str) -> None:
    result = run("forecast", "--as-of", "2199-01-01", "--ledger", url)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "Error: Invalid value for '--as-of': '2199-01-01' is in the future: the ledger has no spend after now "
        "to forecast from; leave out --as-of to forecast as of now"
    )


def test_the_backtest(run: Run, url: str) -> None:
    data = json.loads(
        run("forecast", "--backtest", "--json", "--as-of", "2025-05-02", "--ledger", url).stdout
    )
    assert data["months"] == ["2025-01", "2025-02", "2025-03", "2025-04"]
    assert data["scored"] == 11 and data["mape_pct"] == {"7": 1.17, "14": 0.88, "21": 0.88, "all": 0.96}
    out = flat(run("forecast", "--backtest", "--as-of", "2025-05-02", "--ledger", url).stdout)
    assert "│ 2025-01 │ 7 │ $276.00 │ not enough history │" in out
    assert "│ 2025-03 │ 14 │ $261.00 │ $270.14 │ $261.00 - $270.14 │ 3.50% │ yes │" in out
    assert "MAPE 0.96% (day 7: 1.17%, day 14: 0.88%, day 21: 0.88%) over 11 forecasts" in out
    assert "80% interval held the actual total in 100% of them" in out
    nothing = flat(run("forecast", "--backtest", "--as-of", "2025-01-20", "--ledger", url).stdout)
    assert "No complete month with spend in the ledger" in nothing


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--window", "year"), "'year' is not one of 'month', 'week'"),
        (("--timezone", "Mars/Olympus"), "not an IANA time zone"),
        (("--as-of", "yesterday"), "expected epoch seconds"),
        (("--backtest", "--window", "week"), "--backtest scores month-end forecasts"),
        (
            ("--where", "colour=red"),
            "'colour=red': expected KEY=VALUE with KEY one of environment, error_type, feature,",
        ),
        (
            ("--where", "day=2025-03-01"),
            "'day=2025-03-01': expected KEY=VALUE with KEY one of environment, error_type,",
        ),
        (("--team", "a", "--where", "team=b"), "team is given two different values"),
        (("--where", "priced=maybe"), "filter priced='maybe': expected true or false"),
    ],
)
def test_bad_arguments_exit_2(run: Run, tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    url = f"sqlite:///{tmp_path / 'l.db'}"
    open_ledger(url).close()
    result = run("forecast", "--ledger", url, *args)
    assert result.exit_code == 2
    assert message in flat(result.output)


def test_a_missing_ledger_exits_1_and_a_bad_url_2(run: Run, tmp_path: Path) -> None:
    missing = run("forecast", "--ledger", f"sqlite:///{tmp_path / 'nope.db'}")
    assert missing.exit_code == 1 and "no ledger at" in missing.output
    assert run("forecast", "--ledger", "mysql://x").exit_code == 2


def test_help(run: Run) -> None:
    result = run("forecast", "--help")
    assert result.exit_code == 0 and "--backtest" in result.stdout and "--as-of" in result.stdout


def test_api_answers_as_the_ledger_does(run: Run, tmp_path: Path, pricer: Pricer) -> None:
    url = f"sqlite:///{tmp_path / 'api.db'}"
    fill(url, date(2025, 4, 30))
    collector = Collector(
        replace(BASE_CONFIG, ledger_url=url), registry=CollectorRegistry(), pricer=pricer
    ).start()
    try:
        api = f"http://{collector.addresses['listen']}"
        for args in (("--as-of", "2025-03-17", "--team", "search"), ("--backtest", "--as-of", "2025-05-02")):
            local = json.loads(run("forecast", "--json", "--ledger", url, *args).stdout)
            remote = run("forecast", "--json", "--api", api, *args)
            assert remote.exit_code == 0, remote.output
            assert json.loads(remote.stdout) == local
        assert run("forecast", "--api", "http://127.0.0.1:9", "--json").exit_code == 1
    finally:
        collector.stop(timeout=5.0)
