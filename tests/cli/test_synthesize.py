"""``otel-llmcost synthesize``: the generator's records, exactly, in the ledger; idempotent; usable
by ``forecast`` at once; only into a named ledger, an empty one unless ``--append``; bad input is a
usage error."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from otel_llmcost.analytics import SyntheticUsage
from otel_llmcost.analytics._report import usd
from otel_llmcost.analytics._workloads import WORKLOADS
from otel_llmcost.cli._app import cli
from otel_llmcost.ledger import Filters, open_ledger

Run = Callable[..., Result]
SPEC = SyntheticUsage(seed=7, days=21, end=date(2026, 3, 1), calls_per_day=40.0)


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Run:
    monkeypatch.delenv("OTEL_LLMCOST_LEDGER", raising=False)
    monkeypatch.chdir(tmp_path)
    return lambda *args: CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _args(url: str) -> list[str]:
    return ["synthesize", "--ledger", url, "--days", "21", "--end", "2026-03-01", "--seed", "7"]


def test_writes_the_generators_records_once(run: Run, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/l.db"
    expected = list(SPEC.records())
    total = sum(r.cost_nanos for r in expected)

    first = run(*_args(url), "--calls-per-day", "40", "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout) == {
        "ledger": url,
        "from": "2026-02-08",
        "until": "2026-03-01",
        "generated": len(expected),
        "written": len(expected),
        "cost_usd_written": usd(total),
    }
    with open_ledger(url) as ledger:
        stored = list(ledger.records(Filters()))
        assert [(r.trace_id, r.span_id, r.cost_nanos) for r in stored] == [
            (r.trace_id, r.span_id, r.cost_nanos) for r in expected
        ]
        assert ledger.totals(Filters()).cost_nanos == total

    again = run(*_args(url), "--calls-per-day", "40", "--append")
    assert again.exit_code == 0, again.output
    assert " ".join(again.stdout.split()) == (
        f"Wrote 0 of {len(expected):,} synthetic calls (2026-02-08 to 2026-03-01, exclusive; $0) into {url}. "
        f"{len(expected):,} were already there (same seed and settings)."
    )


def test_forecast_reads_the_history_at_once(run: Run, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/l.db"
    assert run(*_args(url), "--calls-per-day", "40").exit_code == 0
    result = run("forecast", "--ledger", url, "--as-of", "2026-02-28T12:00:00", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["status"] == "ok" and data["history_days"] == 20


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--days", "0"], "Invalid value for '--days'"),
        (["--end", "March"], "Invalid value for '--end'"),
        (["--calls-per-day", "-1"], "Invalid value for '--calls-per-day'"),
        (["--ledger", "mysql://x"], "mysql"),
    ],
)
def test_bad_input_is_a_usage_error(run: Run, args: list[str], message: str) -> None:
    result = run("synthesize", *args)
    assert result.exit_code == 2
    assert message in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--end", "1970-01-01"], "1970-01-01 with --days 120 starts history on 1969-09-03: it must start after "
         "1970-01-01, where the ledger's times begin"),
        (["--end", "1970-01-02", "--days", "1"], "1970-01-02 with --days 1 starts history on 1970-01-01: it "
         "must start after 1970-01-01, where the ledger's times begin"),
        (["--end", "9999-12-31", "--days", "1"], "9999-12-31 is after tomorrow (UTC): rows more than a day "
         "ahead of the clock could not be imported again (import refuses them as the collector would)"),
    ],
)  # fmt: skip
def test_an_end_outside_what_the_ledger_takes_is_bad_usage(
    run: Run, tmp_path: Path, args: list[str], message: str
) -> None:
    result = run("synthesize", "--ledger", f"sqlite:///{tmp_path}/l.db", *args)
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == f"Error: Invalid value for --end: {message}"
    assert list(tmp_path.iterdir()) == []


def test_history_up_to_tomorrow_exports_and_imports_back(run: Run, tmp_path: Path) -> None:
    tomorrow = (datetime.now(timezone.utc).date() + timedelta(days=1)).isoformat()
    url = f"sqlite:///{tmp_path}/l.db"
    made = run("synthesize", "--ledger", url, "--end", tomorrow, "--days", "2", "--calls-per-day", "20")
    assert made.exit_code == 0, made.output
    assert run("export", "--ledger", url, "-o", "all.jsonl").exit_code == 0
    back = run("import", "--ledger", f"sqlite:///{tmp_path}/copy.db", "all.jsonl", "--json")
    assert back.exit_code == 0, back.output
    with open_ledger(url) as ledger:
        assert json.loads(back.stdout)["new"] == ledger.count() > 0


@pytest.mark.parametrize("env", [None, "sqlite:///{tmp}/env.db"])
def test_needs_an_explicit_ledger(
    run: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, env: str | None
) -> None:
    # Neither $OTEL_LLMCOST_LEDGER nor ./.otel-llmcost/ledger.db is ever the default target
    if env is not None:
        monkeypatch.setenv("OTEL_LLMCOST_LEDGER", env.format(tmp=tmp_path))
    for args in ([], ["--ledger", ""]):
        result = run("synthesize", "--days", "2", *args)
        assert result.exit_code == 2
        assert result.output.splitlines()[-1] == (
            "Error: give the ledger to fill with --ledger URL (e.g. sqlite:///try.db): synthesize never "
            "writes into the default ledger or $OTEL_LLMCOST_LEDGER"
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_refuses_a_ledger_with_rows_unless_append(run: Run, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/real.db"
    real = next(iter(SyntheticUsage(seed=99, days=1, end=date(2026, 3, 1), calls_per_day=5.0).records()))
    with open_ledger(url) as ledger:
        ledger.insert([real])
    refused = run(*_args(url), "--calls-per-day", "40")
    assert refused.exit_code == 2
    assert refused.output.splitlines()[-1] == (
        f"Error: {url} already holds 1 row, and synthetic rows cannot be told from real ones: "
        "give a new ledger, or --append to add to this one"
    )
    with open_ledger(url) as ledger:
        assert ledger.count() == 1
    appended = run(*_args(url), "--calls-per-day", "40", "--append", "--json")
    assert appended.exit_code == 0, appended.output
    expected = len(list(SPEC.records()))
    assert json.loads(appended.stdout)["written"] == expected
    with open_ledger(url) as ledger:
        assert ledger.count() == 1 + expected


def test_help() -> None:
    result = CliRunner().invoke(cli, ["synthesize", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "Write DAYS of realistic synthetic LLM usage into a ledger" in text
    assert "it must be empty or new unless --append" in text
    assert "never the default ledger or $OTEL_LLMCOST_LEDGER" in text
    # The services it names as the only mark of synthetic rows are exactly the generator's
    services = list(dict.fromkeys(w.service for w in WORKLOADS))
    assert f"nothing marks them but their services: {', '.join(services)}." in text
