"""SQLite specifics: paths, durability settings, in-memory ledgers, the covering report index."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from otel_llmcost.exceptions import ConfigError, LedgerUnavailableError
from otel_llmcost.ledger import Filters, Group, Totals, _query, default_ledger_url, open_ledger
from otel_llmcost.ledger import _sqlite as sqlite_module
from otel_llmcost.ledger._sqlite import SqliteLedger, _enable_wal
from tests.ledger.support import make_record


def test_default_url_is_absolute_under_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = f"sqlite:///{tmp_path.resolve()}/.otel-llmcost/ledger.db"
    assert expected.startswith("sqlite:////")
    assert default_ledger_url(tmp_path) == expected
    monkeypatch.chdir(tmp_path)
    assert default_ledger_url() == expected
    assert not (tmp_path / ".otel-llmcost").exists()  # created on open, not before
    with open_ledger(default_ledger_url()) as ledger:
        assert ledger.insert([make_record(1)]) == 1
    assert (tmp_path / ".otel-llmcost" / "ledger.db").is_file()


def test_relative_url_is_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with open_ledger("sqlite:///data/sub/ledger.db") as ledger:
        ledger.insert([make_record(1)])
    assert (tmp_path / "data" / "sub" / "ledger.db").is_file()


def test_percent_encoded_path(tmp_path: Path) -> None:
    with open_ledger(default_ledger_url(tmp_path / "with space")) as ledger:
        ledger.insert([make_record(1)])
    assert (tmp_path / "with space" / ".otel-llmcost" / "ledger.db").is_file()


def test_unopenable_path_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(ConfigError, match="cannot open SQLite ledger") as caught:
        open_ledger(f"sqlite:///{tmp_path}/file/ledger.db")
    assert caught.value.key == "ledger"
    (tmp_path / "junk.db").write_bytes(b"this is not a database file" * 200)
    with pytest.raises(ConfigError, match="cannot open SQLite ledger"):
        open_ledger(f"sqlite:///{tmp_path}/junk.db")


def test_memory_ledger_shares_one_connection() -> None:
    with open_ledger("sqlite:///:memory:") as ledger:
        assert (
            ledger.insert([make_record(i, team="a" if i % 2 else None, cost_nanos=i) for i in range(10)])
            == 10
        )
        assert ledger.group(["team"]) == [
            Group({"team": "a"}, Totals(requests=5, cost_nanos=25)),
            Group({"team": None}, Totals(requests=5, cost_nanos=20)),
        ]
        assert len(list(ledger.records(batch_size=3))) == 10
    with open_ledger("sqlite:///:memory:") as other:
        assert other.count() == 0  # private to its opener


def test_durability_settings(tmp_path: Path) -> None:
    ledger = open_ledger(f"sqlite:///{tmp_path}/l.db")
    assert isinstance(ledger, SqliteLedger)
    with ledger:
        writer = ledger._writer
        assert writer.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert writer.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL: fsync every commit
        assert writer.execute("PRAGMA busy_timeout").fetchone() == (10_000,)


@pytest.mark.parametrize("by", [["provider"], ["model"], ["team", "day"], ["project", "month"], ["service"]])
def test_reports_read_only_the_covering_index(tmp_path: Path, by: list[str]) -> None:
    with open_ledger(f"sqlite:///{tmp_path}/l.db") as ledger:
        assert isinstance(ledger, SqliteLedger)
        filters = Filters(since_ns=1, until_ns=2, equals={"environment": "prod", "priced": "true"})
        plan = _query.group_plan(ledger.dialect, by, filters)
        for sql, params in ((plan.sql("llm_usage"), plan.params), _query.totals_sql(ledger.dialect, filters)):
            steps = ledger._fetch(f"EXPLAIN QUERY PLAN {sql}", params)
            assert any("COVERING INDEX llm_usage_report" in step[-1] for step in steps), steps


def test_records_page_through_the_start_index(tmp_path: Path) -> None:
    with open_ledger(f"sqlite:///{tmp_path}/l.db") as ledger:
        assert isinstance(ledger, SqliteLedger)
        # a later page starts its index range at the cursor, not at since_ns (no rescans)
        sql, params = _query.records_sql(ledger.dialect, Filters(since_ns=5), (900, "a", "b"), 10)
        assert params[0] == 900
        steps = ledger._fetch(f"EXPLAIN QUERY PLAN {sql}", params)
        assert [step[-1] for step in steps] == ["SEARCH llm_usage USING INDEX llm_usage_start (start_ns>?)"]


class _LockedAtFirst:
    """A connection whose WAL switch is refused ``refusals`` times with ``code``."""

    def __init__(self, refusals: int, code: int) -> None:
        self.refusals = refusals
        self.code = code
        self.calls = 0

    def execute(self, sql: str) -> Any:
        assert sql == "PRAGMA journal_mode = WAL"
        self.calls += 1
        if self.calls <= self.refusals:
            exc = sqlite3.OperationalError("database is locked")
            exc.sqlite_errorcode = self.code  # type: ignore[attr-defined]
            raise exc
        return self

    def fetchone(self) -> tuple[str]:
        return ("wal",)


def test_switching_to_wal_waits_out_a_concurrent_opener() -> None:
    # SQLite refuses the switch at once, without its busy handler, while another connection opens
    # the new file: test_concurrent_opens_from_threads failed about once in 150 runs before.
    conn = _LockedAtFirst(refusals=3, code=sqlite3.SQLITE_BUSY)
    assert _enable_wal(conn) == "wal"  # type: ignore[arg-type]
    assert conn.calls == 4


def test_switching_to_wal_gives_up_after_the_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_module, "BUSY_TIMEOUT_S", 0.02)
    conn = _LockedAtFirst(refusals=10**9, code=sqlite3.SQLITE_LOCKED)
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        _enable_wal(conn)  # type: ignore[arg-type]
    assert 2 <= conn.calls < 100


def test_switching_to_wal_raises_other_errors_at_once() -> None:
    conn = _LockedAtFirst(refusals=1, code=sqlite3.SQLITE_IOERR)
    with pytest.raises(sqlite3.OperationalError):
        _enable_wal(conn)  # type: ignore[arg-type]
    assert conn.calls == 1


@pytest.mark.parametrize("create", [True, False])
def test_a_ledger_locked_past_the_busy_timeout_is_unavailable_not_misconfigured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, create: bool
) -> None:
    path = tmp_path / "ledger.db"
    open_ledger(f"sqlite:///{path}").close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process writing, and writing, and writing
    monkeypatch.setattr(sqlite_module, "BUSY_TIMEOUT_S", 0.05)
    try:
        with pytest.raises(LedgerUnavailableError) as caught:
            open_ledger(f"sqlite:///{path}", create=create)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert caught.value.reason == (
        f"cannot open SQLite ledger {str(path)!r}: database is locked "
        "(another process held it for 0.05 s; try again)"
    )
    open_ledger(f"sqlite:///{path}", create=create).close()  # free again: opens
