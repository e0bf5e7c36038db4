"""Opening a ledger only to read it (``create=False``): a ledger of ours opens, an older one is
migrated; where there is none, or something else is there, LedgerNotFoundError and nothing changes."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from otel_llmcost.exceptions import LedgerNotFoundError, LedgerUnavailableError
from otel_llmcost.ledger import _schema, open_ledger
from otel_llmcost.ledger._schema import Migration, ident
from otel_llmcost.ledger._url import PostgresTarget, SqliteTarget, parse, redact
from tests.ledger.support import make_record, pg_admin
from tests.ledger.test_schema import migrations, raw


def _schema_of(url: str) -> str:
    target = parse(url)
    assert isinstance(target, PostgresTarget) and target.schema is not None
    return target.schema


def _path_of(url: str) -> Path:
    target = parse(url)
    assert isinstance(target, SqliteTarget)
    return Path(target.path)


def _snapshot(url: str, engine: str) -> Any:
    """Everything a refused open could have changed: the files, or the schema's columns."""
    if engine == "sqlite":
        path = _path_of(url)
        return sorted((p.name, p.read_bytes()) for p in path.parent.iterdir() if p.name.startswith(path.name))
    return raw(
        url,
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = '{s}' ORDER BY table_name, column_name",
    )


def test_nothing_there_is_not_found_and_nothing_is_created(
    fresh_url: Callable[[], str], engine: str, tmp_path: Path
) -> None:
    url = fresh_url()
    if engine == "sqlite":
        url = f"sqlite:///{tmp_path / 'sub' / 'ledger.db'}"
    with pytest.raises(LedgerNotFoundError) as caught:
        open_ledger(url, create=False)
    assert isinstance(caught.value, LedgerUnavailableError)
    assert (caught.value.key, caught.value.foreign) == ("ledger", False)
    if engine == "sqlite":
        assert caught.value.reason == f"no ledger at {tmp_path / 'sub' / 'ledger.db'}"
        assert list(tmp_path.iterdir()) == []  # not even the directory
    else:
        schema = _schema_of(url)
        assert caught.value.reason == f"no ledger at {redact(url)} (schema '{schema}' does not exist)"
        assert raw(url, "SELECT nspname FROM pg_namespace WHERE nspname = '{s}'") == []


def test_a_ledger_of_ours_opens_for_reading_and_deleting(fresh_url: Callable[[], str]) -> None:
    url = fresh_url()
    with open_ledger(url) as ledger:
        ledger.insert([make_record(1, cost_nanos=7)])
    with open_ledger(url, create=False) as ledger:
        assert (ledger.count(), ledger.totals().cost_nanos) == (1, 7)
        assert ledger.delete_all(expected=1) == 1  # reset opens this way


def test_an_older_ledger_of_ours_is_migrated_when_read(
    fresh_url: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = fresh_url()
    with open_ledger(url) as ledger:  # written by "this" release: version 1
        ledger.insert([make_record(1)])
    later = Migration(
        2,
        "index llm_usage by feature",
        lambda d: [f"CREATE INDEX llm_usage_feature ON {d.table()} ({ident('feature')})"],
    )
    monkeypatch.setattr(_schema, "MIGRATIONS", (*_schema.MIGRATIONS, later))  # a newer release reads it
    with open_ledger(url, create=False) as ledger:
        assert ledger.count() == 1
    assert migrations(url) == [(1, "create llm_usage"), (2, "index llm_usage by feature")]


FOREIGN = [
    pytest.param([], "it has no llm_usage or schema_migrations table", id="empty"),
    pytest.param(
        ["CREATE TABLE {t}users (id INTEGER PRIMARY KEY, name TEXT)", "INSERT INTO {t}users VALUES (1, 'ann')"],
        "it has no llm_usage or schema_migrations table",
        id="another-application",
    ),
    pytest.param(["CREATE TABLE {t}llm_usage (id INTEGER)"], "it has no schema_migrations table", id="no-migrations"),
    pytest.param(
        ["CREATE TABLE {t}schema_migrations (version VARCHAR(14) PRIMARY KEY)", "CREATE TABLE {t}llm_usage (id INTEGER)"],
        "its schema_migrations table was not written by otel-llmcost",
        id="rails-migrations",
    ),
    pytest.param(
        [
            "CREATE TABLE {t}schema_migrations (version INTEGER PRIMARY KEY, description TEXT)",
            "INSERT INTO {t}schema_migrations VALUES (1, 'create users')",
            "CREATE TABLE {t}llm_usage (id INTEGER)",
        ],
        "its schema_migrations table was not written by otel-llmcost",
        id="other-migrations",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("statements", "reason"), FOREIGN)
def test_another_applications_database_is_refused_untouched(
    fresh_url: Callable[[], str], engine: str, statements: list[str], reason: str
) -> None:
    url = fresh_url()
    if engine == "sqlite":
        _path_of(url).touch()  # an empty file is an empty SQLite database
        where = str(_path_of(url))
    else:
        pg_admin(f'CREATE SCHEMA "{_schema_of(url)}"')
        where = redact(url)
    for sql in statements:
        raw(url, sql)
    before = _snapshot(url, engine)
    with pytest.raises(LedgerNotFoundError) as caught:
        open_ledger(url, create=False)
    assert (caught.value.reason, caught.value.foreign) == (
        f"{where} is not an otel-llmcost ledger ({reason})",
        True,
    )
    assert _snapshot(url, engine) == before


def test_a_file_that_is_no_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my notes, not a database\n" * 100)
    with pytest.raises(LedgerNotFoundError) as caught:
        open_ledger(f"sqlite:///{path}", create=False)
    assert (caught.value.reason, caught.value.foreign) == (
        f"{path} is not an otel-llmcost ledger (file is not a database)",
        True,
    )
    assert [p.name for p in tmp_path.iterdir()] == ["notes.db"]
    assert path.read_bytes() == b"these are my notes, not a database\n" * 100


def test_paths_with_uri_characters(tmp_path: Path) -> None:
    # Not creating, the file is opened as a file: URI, so its path is escaped there.
    folder = tmp_path / "a dir?#%"
    folder.mkdir()
    with sqlite3.connect(folder / "theirs.db") as conn:
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(LedgerNotFoundError, match=r"theirs.db is not an otel-llmcost ledger"):
        open_ledger("sqlite:///" + quote(str(folder / "theirs.db")), create=False)
    ours = "sqlite:///" + quote(str(folder / "ours.db"))
    open_ledger(ours).close()
    with open_ledger(ours, create=False) as ledger:
        assert ledger.insert([make_record(1)]) == 1
        assert ledger.count() == 1  # read on a pooled connection: the same file
