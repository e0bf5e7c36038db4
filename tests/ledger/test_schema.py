"""Schema derived from LedgerRecord; migrations idempotent, recorded once, safe to run concurrently."""

from __future__ import annotations

import dataclasses
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from otel_llmcost.exceptions import ConfigError
from otel_llmcost.ledger import LedgerBackend, LedgerRecord, open_ledger
from otel_llmcost.ledger._schema import COLUMNS, latest_version
from otel_llmcost.ledger._url import PostgresTarget, parse
from tests.ledger.support import make_record


def raw(url: str, sql: str) -> list[tuple[Any, ...]]:
    """Run ``sql`` against the ledger's database directly; ``{t}`` is replaced by the schema prefix."""
    target = parse(url)
    if isinstance(target, PostgresTarget):
        import psycopg

        with psycopg.connect(target.conninfo, autocommit=True) as conn:
            cur = conn.execute(sql.format(t=f'"{target.schema}".', s=target.schema))
            return cur.fetchall() if cur.description else []
    with sqlite3.connect(target.path) as conn:
        return conn.execute(sql.format(t="", s="main")).fetchall()


def migrations(url: str) -> list[tuple[Any, ...]]:
    return raw(url, "SELECT version, description FROM {t}schema_migrations ORDER BY version")


def test_columns_follow_the_dataclass() -> None:
    hints = {f.name: f.type for f in dataclasses.fields(LedgerRecord)}
    assert [c.name for c in COLUMNS] == list(hints)
    kinds = {c.name: (c.kind.__name__, c.nullable) for c in COLUMNS}
    assert kinds["trace_id"] == ("str", False)
    assert kinds["request_model"] == ("str", True)
    assert kinds["priced"] == ("bool", False)
    assert kinds["reported_cost_nanos"] == ("int", True)
    assert kinds["cost_nanos"] == ("int", False)


def test_table_matches_the_dataclass(ledger: LedgerBackend, url: str, engine: str) -> None:
    if engine == "sqlite":
        rows = raw(url, "SELECT name, type, \"notnull\" FROM pragma_table_info('llm_usage')")
        found = {name: (kind, bool(notnull)) for name, kind, notnull in rows}
        types = {int: "INTEGER", bool: "INTEGER", str: "TEXT"}
    else:
        rows = raw(
            url,
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_schema = '{s}' AND table_name = 'llm_usage'",
        )
        found = {name: (kind, nullable == "NO") for name, kind, nullable in rows}
        types = {int: "bigint", bool: "boolean", str: "text"}
    assert found == {c.name: (types[c.kind], not c.nullable) for c in COLUMNS}


def test_migrations_are_recorded_once(url: str) -> None:
    with open_ledger(url) as first:
        first.insert([make_record(1)])
    with open_ledger(url) as second:
        assert second.count() == 1  # data survives a reopen
    assert migrations(url) == [(1, "create llm_usage")]
    assert latest_version() == 1


def test_concurrent_opens_from_threads(url: str) -> None:
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def open_and_insert(i: int) -> None:
        try:
            barrier.wait()
            with open_ledger(url) as ledger:
                ledger.insert([make_record(i)])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_and_insert, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert migrations(url) == [(1, "create llm_usage")]
    with open_ledger(url) as ledger:
        assert ledger.count() == 6


REPO = Path(__file__).resolve().parents[2]
_CHILD = """
import sys
from otel_llmcost.ledger import open_ledger
from tests.ledger.support import make_record
sys.stdin.readline()  # start together
with open_ledger(sys.argv[1]) as ledger:
    print(ledger.insert([make_record(i) for i in range(int(sys.argv[2]), int(sys.argv[2]) + 50)]))
"""


def test_concurrent_opens_from_processes(url: str) -> None:
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, url, str(start)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        for start in (0, 25, 50)  # overlapping keys: the union is 0..99
    ]
    for child in children:  # all are importing by now; release them at once
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    outputs = [child.communicate(timeout=60) for child in children]
    assert [child.returncode for child in children] == [0, 0, 0], outputs
    assert sum(int(out) for out, _ in outputs) == 100
    assert migrations(url) == [(1, "create llm_usage")]
    with open_ledger(url) as ledger:
        assert ledger.count() == 100


def test_newer_schema_is_refused(url: str) -> None:
    open_ledger(url).close()
    raw(url, "INSERT INTO {t}schema_migrations (version, description) VALUES (99, 'from the future')")
    with pytest.raises(ConfigError, match="newer than this otel-llmcost") as caught:
        open_ledger(url)
    assert caught.value.key == "ledger"
