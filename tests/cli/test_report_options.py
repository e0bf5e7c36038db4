"""Opening the ledger from the CLI: the commands that only read it (through ``open_existing``) never
create or change one, an unreachable database is a runtime failure (exit 1) and a malformed URL
bad usage (exit 2), always as one line and never a traceback."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from otel_llmcost.cli._app import cli
from otel_llmcost.ledger import open_ledger
from otel_llmcost.ledger._url import redact
from tests.ledger.support import PG_URL, check_pg, make_record, pg_admin, pg_url
from tests.ledger.test_schema import raw

Run = Callable[..., Result]

#: Every command that opens the ledger through open_existing.
READERS = ["report", "export", "reset", "forecast", "insights"]
NOT_FOUND_HINT = "run the collector first, or give --ledger URL"
FOREIGN_HINT = "nothing was changed; give --ledger the URL of an otel-llmcost ledger"
UNREACHABLE = "postgresql://llmcost:s3cret@127.0.0.1:1/llmcost_test"
REFUSED = (
    "Error: cannot open PostgreSQL ledger postgresql://llmcost:***@127.0.0.1:1/llmcost_test: connection failed: "
    'connection to server at "127.0.0.1", port 1 failed: Connection refused\n'
)


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Run:
    for name in ("LEDGER", "API_URL", "API_TOKEN", "BUDGETS", "CONFIG"):
        monkeypatch.delenv(f"OTEL_LLMCOST_{name}", raising=False)
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return invoke


@pytest.fixture
def schema() -> Iterator[str]:
    """The name of a PostgreSQL schema that does not exist (dropped afterwards, should it appear)."""
    check_pg()
    name = f"t_{uuid.uuid4().hex[:16]}"
    yield name
    pg_admin(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.mark.parametrize("command", READERS)
def test_a_missing_sqlite_ledger_exits_1_and_nothing_is_created(
    run: Run, tmp_path: Path, command: str
) -> None:
    result = run(command, "--ledger", f"sqlite:///{tmp_path / 'sub' / 'ledger.db'}")
    assert (result.exit_code, result.stdout, result.stderr) == (
        1,
        "",
        f"Error: no ledger at {tmp_path / 'sub' / 'ledger.db'}: {NOT_FOUND_HINT}\n",
    )
    default = run(command)
    assert (default.exit_code, default.stderr) == (
        1,
        f"Error: no ledger at {tmp_path / '.otel-llmcost' / 'ledger.db'}: {NOT_FOUND_HINT}\n",
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.services
@pytest.mark.parametrize("command", READERS)
def test_a_missing_postgresql_schema_exits_1_and_is_not_created(run: Run, schema: str, command: str) -> None:
    result = run(command, "--ledger", pg_url(schema))
    shown = redact(pg_url(schema))
    assert (result.exit_code, result.stdout, result.stderr) == (
        1,
        "",
        f"Error: no ledger at {shown} (schema '{schema}' does not exist): {NOT_FOUND_HINT}\n",
    )
    assert raw(pg_url(schema), "SELECT nspname FROM pg_namespace WHERE nspname = '{s}'") == []


@pytest.mark.parametrize("command", READERS)
def test_another_applications_database_exits_1_unchanged(run: Run, tmp_path: Path, command: str) -> None:
    foreign = tmp_path / "app.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO users VALUES (1, 'ann')")
    conn.close()
    before = foreign.read_bytes()
    result = run(command, "--ledger", f"sqlite:///{foreign}")
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error: {foreign} is not an otel-llmcost ledger (it has no llm_usage or schema_migrations table): "
        f"{FOREIGN_HINT}\n",
    )
    assert (foreign.read_bytes(), [p.name for p in tmp_path.iterdir()]) == (before, ["app.db"])


@pytest.mark.services
@pytest.mark.parametrize("command", READERS)
def test_a_schema_without_a_ledger_exits_1_unchanged(run: Run, schema: str, command: str) -> None:
    pg_admin(f'CREATE SCHEMA "{schema}"')
    result = run(command, "--ledger", pg_url(schema))
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error: {redact(pg_url(schema))} is not an otel-llmcost ledger "
        f"(it has no llm_usage or schema_migrations table): {FOREIGN_HINT}\n",
    )
    assert (
        raw(pg_url(schema), "SELECT table_name FROM information_schema.tables WHERE table_schema = '{s}'")
        == []
    )


@pytest.mark.services
def test_an_existing_ledger_still_reads(run: Run, schema: str) -> None:
    with open_ledger(pg_url(schema)) as ledger:
        ledger.insert([make_record(1, cost_nanos=1_500_000_000)])
    result = run("report", "--ledger", pg_url(schema), "--json")
    assert result.exit_code == 0, result.output
    assert '"total_usd": "1.5"' in result.stdout


@pytest.mark.parametrize("command", [*READERS, "import"])
def test_an_unreachable_database_exits_1_with_one_line(run: Run, tmp_path: Path, command: str) -> None:
    args = [command, "--ledger", UNREACHABLE]
    if command == "import":
        (tmp_path / "rows.jsonl").write_text("")
        args.append("rows.jsonl")
    result = run(*args)
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", REFUSED)


@pytest.mark.parametrize("command", [*READERS, "import"])
def test_an_unknown_url_parameter_exits_2_naming_it(run: Run, tmp_path: Path, command: str) -> None:
    if command == "import":
        (tmp_path / "rows.jsonl").write_text("")
    args = [command, "--ledger", f"{PG_URL}?foo=bar", *(["rows.jsonl"] if command == "import" else [])]
    result = run(*args)
    assert result.exit_code == 2
    last = result.stderr.splitlines()[-1]
    assert last.startswith(
        f"Error: ledger: unknown parameter 'foo' (got '{redact(PG_URL)}?foo=bar'); "
        "a postgresql ledger URL takes schema=NAME and libpq's parameters: application_name, "
    )
    assert "Traceback" not in result.output


def test_the_collector_refuses_an_unknown_url_parameter_as_bad_configuration(run: Run) -> None:
    result = run("collector", "--ledger", f"{PG_URL}?foo=bar", "--listen", "127.0.0.1:0")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"Error: invalid configuration: ledger: unknown parameter 'foo' (got '{redact(PG_URL)}?foo=bar'); "
    )
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("command", READERS)
def test_a_locked_sqlite_ledger_exits_1_with_one_line(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    from otel_llmcost.ledger import _sqlite

    path = tmp_path / "ledger.db"
    open_ledger(f"sqlite:///{path}").close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    monkeypatch.setattr(_sqlite, "BUSY_TIMEOUT_S", 0.05)
    try:
        result = run(command, "--ledger", f"sqlite:///{path}")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert (result.exit_code, result.stdout, result.stderr) == (
        1,
        "",
        f"Error: cannot open SQLite ledger {str(path)!r}: database is locked "
        "(another process held it for 0.05 s; try again)\n",
    )


@pytest.mark.parametrize("command", READERS)
def test_without_the_default_ledger_but_after_the_demo_the_hint_names_the_demos(
    run: Run, tmp_path: Path, command: str
) -> None:
    demo = tmp_path / ".otel-llmcost" / "demo" / "ledger.db"
    demo.parent.mkdir(parents=True)
    open_ledger(f"sqlite:///{demo}").close()
    result = run(command)
    assert (result.exit_code, result.stdout, result.stderr) == (
        1,
        "",
        f"Error: no ledger at {tmp_path / '.otel-llmcost' / 'ledger.db'}: the demo's ledger is another "
        f"file: give --ledger sqlite:///{demo.as_posix()}\n",
    )
    if command == "report":  # the URL it names is the one to give
        assert run(command, "--ledger", f"sqlite:///{demo.as_posix()}").exit_code == 0


@pytest.mark.parametrize(
    "args",
    [
        ["report"],
        ["report", "--json"],
        ["report", "--chargeback", "team"],
        ["forecast", "--as-of", "2025-03-20"],
        ["budgets", "--policy", "budgets.yaml"],
    ],
)
def test_sums_past_64_bits_exit_1_naming_the_cause(run: Run, tmp_path: Path, args: list[str]) -> None:
    # An import of absurd costs (refused now: see tests/analytics/test_io_import.py) left three rows of
    # $4 billion: SQLite cannot add them up.
    url = f"sqlite:///{tmp_path / 'huge.db'}"
    with open_ledger(url) as ledger:
        ledger.insert([make_record(i, cost_nanos=4 * 10**18, team="t") for i in (1, 2, 3)])
    (tmp_path / "budgets.yaml").write_text("budgets:\n  - {name: total, window: total, limit_usd: 10}\n")
    result = run(*args, "--ledger", url)
    assert (result.exit_code, result.stdout, result.stderr) == (
        1,
        "",
        "Error: the ledger's sums over these rows exceed the 64-bit integer range (over $9.2 billion, or "
        "9.2e18 tokens): some row holds an absurd cost_nanos or token count (`otel-llmcost export` lists the "
        "rows)\n",
    )


@pytest.mark.parametrize(
    ("command", "time_keys"),
    [("report", True), ("export", True), ("forecast", False), ("insights", False)],
)
def test_where_help_lists_exactly_the_keys_the_command_takes(run: Run, command: str, time_keys: bool) -> None:
    from otel_llmcost.ledger import FILTERABLE

    keys = sorted(FILTERABLE if time_keys else FILTERABLE - {"day", "hour", "month"})
    out = " ".join(run(command, "--help").stdout.split())
    assert f"Only rows where KEY equals VALUE (repeatable); KEY one of {', '.join(keys)}." in out
    if not time_keys:  # and what it lists, it takes
        result = run(command, "--where", "day=2025-03-01")
        assert result.exit_code == 2 and f"KEY one of {', '.join(keys)}" in result.stderr
