"""``otel-llmcost demo`` — what ``make demo`` runs — end to end: the real simulator, collector and
instrumented sample app as subprocesses; the ledger it leaves holds exactly the expected mix, the
report and chargeback print those figures, and nothing is left running. A directory it cannot use,
or a part that cannot start, is a one-line error (exit 1), never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from click.testing import CliRunner, Result

from otel_llmcost.cli._app import cli
from otel_llmcost.demo import _run
from otel_llmcost.demo._run import _process
from otel_llmcost.ledger import Totals, open_ledger

CLI = [sys.executable, "-c", "from otel_llmcost.cli import main; main()"]


def test_demo_runs_the_main_job_and_prints_the_report(tmp_path: Path) -> None:
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    result = subprocess.run(
        [*CLI, "demo", "--dir", str(tmp_path / "demo")],
        capture_output=True, text=True, timeout=180, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    ledger_url = f"sqlite:///{tmp_path / 'demo' / 'ledger.db'}"
    with open_ledger(ledger_url) as ledger:
        totals = ledger.totals()
        teams = {g.key["team"]: (g.totals.requests, g.totals.cost_nanos) for g in ledger.group(["team"])}
    # Three providers, streaming, embeddings, reasoning and cached tokens (gemini-2.5-pro past 200k
    # input: its 900 reasoning tokens at the long-context output price), one failing call and one
    # model without a price, from three teams: the simulator's answers are fixed, so are these.
    assert totals == Totals(
        requests=15, errors=1, unpriced=1, cost_nanos=758_212_280, input_tokens=288_861,
        output_tokens=10_100, cache_read_tokens=23_552, cache_write_tokens=4_096, reasoning_tokens=3_860,
    )  # fmt: skip
    assert teams == {"research": (7, 701_284_040), "support": (3, 43_285_200), "search": (5, 13_643_040)}
    lines = [line.rstrip() for line in out.splitlines()]
    assert "Total API calls            15 (1 error)" in lines
    assert "Total cost                 $0.7582" in lines
    # research's acme-internal-llm call has no price: its bill is marked, never a silent $0
    assert "  Total         15   $0.7582*              $0.0000   $0.7582*    100%" in lines
    assert any(line.startswith("  research       7   $0.7013*") for line in lines)
    assert "1 call used models without a price (marked * or 'unpriced' above): their cost is" in lines
    assert f"  otel-llmcost report --ledger {ledger_url} --by team,user" in lines
    assert "All spans committed; the simulator and the collector are stopped." in lines
    assert {p.pid for p in psutil.Process().children(recursive=True)} <= before  # nothing left running


def _demo(*args: str) -> Result:
    return CliRunner().invoke(cli, ["demo", *args], catch_exceptions=False)


def test_a_directory_that_cannot_be_created_is_one_line_exit_1(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    workdir = tmp_path / "file" / "demo"
    result = _demo("--dir", str(workdir))
    assert result.exit_code == 1
    assert result.stderr == f"Error: cannot use {workdir} as the demo directory: Not a directory\n"


def test_a_stale_ledger_that_cannot_be_deleted_is_one_line_exit_1(tmp_path: Path) -> None:
    (tmp_path / "ledger.db").mkdir()
    result = _demo("--dir", str(tmp_path))
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: cannot use {tmp_path} as the demo directory: Is a directory ({tmp_path / 'ledger.db'})\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ledger.db"]  # nothing else touched


def test_a_file_given_as_the_directory_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    result = _demo("--dir", str(tmp_path / "file"))
    assert result.exit_code == 2
    assert (
        result.stderr.splitlines()[-1]
        == f"Error: Invalid value for '--dir': Directory '{tmp_path / 'file'}' is a file."
    )


def test_a_program_that_cannot_start_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError) as err, _process([str(tmp_path / "nowhere")], cwd=tmp_path, ready="x"):
        pass
    assert (
        str(err.value)
        == f"cannot start nowhere in {tmp_path}: No such file or directory ({tmp_path / 'nowhere'})"
    )


def test_a_missing_opentelemetry_instrument_stops_everything_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    monkeypatch.setattr(_run, "BIN", tmp_path / "bin")  # a virtualenv without the console script
    with pytest.raises(RuntimeError) as err:
        _run.run_demo(tmp_path / "demo")
    missing = tmp_path / "bin" / "opentelemetry-instrument"
    assert str(err.value) == f"cannot run opentelemetry-instrument: No such file or directory ({missing})"
    assert {p.pid for p in psutil.Process().children(recursive=True)} <= before  # nothing left running
