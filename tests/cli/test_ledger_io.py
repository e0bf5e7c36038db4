"""``otel-llmcost export``, ``import`` and ``reset``: formats, idempotent merges, bad lines, confirmation
and archives — on SQLite and PostgreSQL ledgers."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from otel_llmcost.cli import ledger_io
from otel_llmcost.cli._app import cli
from otel_llmcost.ledger import LedgerBackend, open_ledger
from tests.analytics.report_data import ENGINES, fixed_records, ledger_url
from tests.ledger.support import make_record

Run = Callable[..., Result]


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Run:
    for name in ("LEDGER", "API_URL", "API_TOKEN", "BUDGETS"):
        monkeypatch.delenv(f"OTEL_LLMCOST_{name}", raising=False)
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)

    return invoke


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def new_url(engine: str, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """``new_url()``: another empty ledger of the engine under test."""
    made: list[Iterator[str]] = []

    def make() -> str:
        made.append(ledger_url(engine, tmp_path))
        return next(made[-1])

    yield make
    for urls in made:
        next(urls, None)


@pytest.fixture
def url(new_url: Callable[[], str]) -> str:
    """A ledger holding the fixed records (tests/analytics/report_data.py)."""
    found = new_url()
    with open_ledger(found) as ledger:
        ledger.insert(fixed_records())
    return found


def rows(url: str) -> list[Any]:
    with open_ledger(url) as ledger:
        return list(ledger.records())


def test_export_jsonl_to_stdout_and_filtered_csv_to_a_file(run: Run, url: str, tmp_path: Path) -> None:
    result = run("export", "--ledger", url)
    assert result.exit_code == 0
    assert [json.loads(line) for line in result.stdout.splitlines()] == [r.to_dict() for r in fixed_records()]
    assert result.stderr == "exported 6 records\n"
    result = run("export", "--ledger", url, "--team", "search", "--month", "2025-03", "-o", "march.csv")
    assert (result.exit_code, result.stderr) == (0, "exported 2 records to march.csv\n")
    header, *lines = (tmp_path / "march.csv").read_text().splitlines()
    assert header.startswith("trace_id,span_id,start_ns,") and len(lines) == 2
    result = run(
        "export", "--ledger", url, "--format", "jsonl", "--where", "priced=false", "-o", "unpriced.txt"
    )
    assert [
        json.loads(line)["request_model"] for line in (tmp_path / "unpriced.txt").read_text().splitlines()
    ] == ["o3"]


def test_export_import_round_trip_then_import_again_changes_nothing(
    run: Run, url: str, new_url: Callable[[], str], tmp_path: Path
) -> None:
    for name in ("all.jsonl.gz", "all.csv"):
        assert run("export", "--ledger", url, "-o", name).exit_code == 0
        target = new_url()
        first = run("import", "--ledger", target, name)
        assert (first.exit_code, first.stdout) == (0, f"{name}: 6 new, 0 already present, 0 failed\n")
        again = run("import", "--ledger", target, name, "--json")
        assert again.exit_code == 0
        assert json.loads(again.stdout) == {
            "ledger": target.replace(":llmcost@", ":***@"),
            "new": 0,
            "already_present": 6,
            "failed": 0,
            "files": [{"file": name, "read": 6, "new": 0, "already_present": 6, "failed": 0, "errors": []}],
        }
        assert rows(target) == rows(url)


def test_import_merges_several_files_and_stdin(run: Run, new_url: Callable[[], str], tmp_path: Path) -> None:
    def jsonl(*ids: int) -> str:
        return "".join(json.dumps(make_record(i).to_dict()) + "\n" for i in ids)

    (tmp_path / "alice.jsonl").write_text(jsonl(1, 2, 3))
    (tmp_path / "bob.jsonl").write_text(jsonl(3, 4))
    target = new_url()
    result = run("import", "--ledger", target, "alice.jsonl", "bob.jsonl", "-", input=jsonl(4, 5))
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "alice.jsonl: 3 new, 0 already present, 0 failed",
        "bob.jsonl: 1 new, 1 already present, 0 failed",
        "<stdin>: 1 new, 1 already present, 0 failed",
        "total: 5 new, 2 already present, 0 failed",
    ]
    assert [r.trace_id for r in rows(target)] == [f"{i:032x}" for i in range(1, 6)]


def test_a_corrupt_line_is_reported_with_file_and_line_and_the_rest_imported(
    run: Run, new_url: Callable[[], str], tmp_path: Path
) -> None:
    good = [json.dumps(make_record(i).to_dict()) for i in (1, 2, 3)]
    (tmp_path / "broken.jsonl").write_text(
        "\n".join([good[0], '{"trace_id": 12', good[1], "", good[2]]) + "\n"
    )
    target = new_url()
    result = run("import", "--ledger", target, "broken.jsonl")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == ["broken.jsonl: 3 new, 0 already present, 1 failed"]
    errors = result.stderr.splitlines()
    assert errors[0].startswith("error: broken.jsonl:2: Expecting")
    assert errors[1] == "warning: 1 lines or files were not imported (see above); the rest were"
    assert len(rows(target)) == 3


def test_a_missing_file_is_bad_usage_and_nothing_is_imported(
    run: Run, new_url: Callable[[], str], tmp_path: Path
) -> None:
    (tmp_path / "good.jsonl").write_text(json.dumps(make_record(1).to_dict()) + "\n")
    target = new_url()
    result = run("import", "--ledger", target, "good.jsonl", "missing.jsonl")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1] == (
        "Error: Invalid value for 'FILES...': File 'missing.jsonl' does not exist."
    )
    assert rows(target) == []


def test_reset_needs_the_typed_word_and_archives_first(run: Run, url: str, tmp_path: Path) -> None:
    wrong = run("reset", "--ledger", url, input="yes\n")
    assert wrong.exit_code == 1
    assert (
        "Type 'reset' or the ledger's name" in wrong.stderr and "aborted: nothing was deleted" in wrong.stderr
    )
    assert len(rows(url)) == 6 and not (tmp_path / ".otel-llmcost").exists()
    before = rows(url)
    done = run("reset", "--ledger", url, input="reset\n")
    assert done.exit_code == 0, done.output
    archived, deleted = done.stdout.splitlines()
    archive = Path(archived.removeprefix("archived 6 records to "))
    assert archive.parent == Path(".otel-llmcost/archive") and archive.name.startswith("ledger-")
    assert archive.name.endswith("Z.jsonl.gz") and deleted.startswith("deleted 6 records from ")
    assert rows(url) == []
    restored = run("import", "--ledger", url, str(archive))
    assert (restored.exit_code, rows(url)) == (0, before)


def test_reset_accepts_the_ledgers_name_yes_no_archive_and_json(
    run: Run, url: str, engine: str, tmp_path: Path
) -> None:
    name = url.rsplit("/", 1)[1] if engine == "sqlite" else url.rsplit("schema=", 1)[1]
    assert run("reset", "--ledger", url, "--no-archive", input=f"{name}\n").exit_code == 0
    assert rows(url) == [] and not (tmp_path / ".otel-llmcost").exists()
    empty = run("reset", "--ledger", url, "--yes", "--json")
    assert json.loads(empty.stdout)["deleted"] == 0
    with open_ledger(url) as ledger:
        ledger.insert(fixed_records())
    result = run("reset", "--ledger", url, "--yes", "--json", "--archive-dir", "keep")
    data = json.loads(result.stdout)
    assert (data["deleted"], Path(data["archive"]).parent) == (6, Path("keep"))


def test_reset_refuses_when_the_ledger_grows_while_archiving(
    run: Run, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = ledger_io.write_archive

    def archive_then_collector_writes(ledger: LedgerBackend, directory: str) -> tuple[Path, int]:
        found = real(ledger, directory)
        ledger.insert([make_record(99)])
        return found

    monkeypatch.setattr(ledger_io, "write_archive", archive_then_collector_writes)
    result = run("reset", "--ledger", url, "--yes")
    assert result.exit_code == 1 and "the ledger changed while it was archived" in result.stderr
    assert len(rows(url)) == 7


def test_commands_on_a_missing_ledger_or_bad_options(run: Run, tmp_path: Path) -> None:
    for command in ("export", "reset"):
        result = run(command, "--yes") if command == "reset" else run(command)
        assert result.exit_code == 1 and "no ledger at" in result.stderr
    assert run("export", "--month", "March").exit_code == 2
    open_ledger(f"sqlite:///{tmp_path / 'l.db'}").close()
    result = run("export", "--ledger", f"sqlite:///{tmp_path / 'l.db'}", "--where", "hour=2025-03-01T25")
    assert result.exit_code == 2
    assert "Invalid value for --where: filter hour='2025-03-01T25': expected UTC Y-m-dTH" in result.stderr
    assert run("import").exit_code == 2
    assert run("import", "--ledger", "nope://x", "f.jsonl").exit_code == 2


@pytest.mark.parametrize("archive", [True, False])
def test_reset_on_a_ledger_it_cannot_write_deletes_nothing_and_says_so(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, archive: bool
) -> None:
    import sqlite3

    from otel_llmcost.ledger._sqlite import SqliteLedger

    url = f"sqlite:///{tmp_path / 'ro.db'}"
    with open_ledger(url) as ledger:
        ledger.insert(fixed_records())

    def read_only(self: SqliteLedger, expected: int | None = None) -> int:
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(SqliteLedger, "delete_all", read_only)  # a file mode root ignores, simulated
    result = run("reset", "--ledger", url, "--yes", *([] if archive else ["--no-archive"]))
    assert result.exit_code == 1
    archives = list(tmp_path.glob(".otel-llmcost/archive/*.jsonl.gz"))
    assert len(archives) == (1 if archive else 0)
    kept = f"; the archive was written and stays at {archives[0].relative_to(tmp_path)}" if archive else ""
    assert result.stderr == (
        f"Error: cannot delete the rows of {url}: attempt to write a readonly database. Nothing was deleted{kept}\n"
    )
    assert len(rows(url)) == 6
