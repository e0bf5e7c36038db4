"""The SQLite ledger: the single-host default.

WAL lets API threads read while the collector writes; ``synchronous=FULL`` fsyncs the WAL at
every commit, so an export acknowledged after :meth:`insert` returns survives a power cut.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from otel_llmcost.exceptions import ConfigError, LedgerNotFoundError, LedgerUnavailableError
from otel_llmcost.ledger import _query
from otel_llmcost.ledger._base import ConnectionPool, LedgerChangedError, LedgerClosedError, Row, SqlLedger
from otel_llmcost.ledger._schema import (
    COLUMN_NAMES,
    COLUMNS,
    MIGRATIONS_TABLE,
    TABLE,
    first_migration_sql,
    migrations_table_sql,
    not_a_ledger,
    pending,
    sqlite_dialect,
)
from otel_llmcost.ledger._url import KEY, MEMORY

_logger = logging.getLogger(__name__)

#: How long a writer waits for another process's write lock before failing.
BUSY_TIMEOUT_S = 10.0
_PRAGMAS = (
    "PRAGMA synchronous = FULL",
    # group() aggregates into a temporary table; keep it off disk
    "PRAGMA temp_store = MEMORY",
    # full scans of a large ledger read through the OS page cache without copying (~2x faster)
    "PRAGMA mmap_size = 1073741824",
    # the WAL is truncated back to this after checkpoints instead of staying at its peak size
    "PRAGMA journal_size_limit = 67108864",
)
# The writer's page cache holds the hot part of the primary-key index, whose keys are random.
_WRITER_CACHE = "PRAGMA cache_size = -65536"
_SUMS = (
    "requests",
    "errors",
    "unpriced",
    "cost",
    "input",
    "output",
    "cache_read",
    "cache_write",
    "reasoning",
)


_NOT_A_DATABASE = 26  # SQLITE_NOTADB; sqlite3 names it from Python 3.11 only
_TRACE = COLUMN_NAMES.index("trace_id")
_SPAN = COLUMN_NAMES.index("span_id")


def _enable_wal(conn: sqlite3.Connection) -> str:
    """``PRAGMA journal_mode = WAL``; the mode the database is in afterwards.

    Switching a new database to WAL needs its exclusive lock, and SQLite answers "database is
    locked" at once, without the busy handler, while another connection is opening it too (six
    threads opening one new file: about one open in a thousand failed). Retried for the busy
    timeout.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    delay = 0.001
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError as exc:
            busy = getattr(exc, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
            if not busy or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def _open_error(path: str, exc: BaseException) -> ConfigError:
    """Why the ledger at ``path`` cannot be opened: busy (another process kept it locked past the
    busy timeout) is a runtime failure, :class:`LedgerUnavailableError`; anything else (a path
    that cannot be a database file) a :class:`ConfigError`."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return LedgerUnavailableError(
            f"cannot open SQLite ledger {path!r}: {exc} (another process held it for {BUSY_TIMEOUT_S:g} s; "
            "try again)"
        )
    return ConfigError(f"cannot open SQLite ledger {path!r}: {exc}", key=KEY)


class SqliteLedger(SqlLedger):
    """A ledger in one SQLite file (or in memory, for tests: then every call shares one connection)."""

    def __init__(self, url: str, path: str, *, create: bool = True) -> None:
        super().__init__(url, sqlite_dialect())
        self._path = path
        self._memory = path == MEMORY
        self._create = create or self._memory
        # Not creating: every connection opens the file as a URI in mode=rw, which never creates
        # it (nor a reader's, should the file vanish later).
        self._database = path if self._create else "file:" + quote(str(Path(path).absolute())) + "?mode=rw"
        self._write_lock = threading.Lock()
        self._closed = False
        placeholders = ", ".join("?" * len(COLUMNS))
        # ON CONFLICT DO NOTHING, not INSERT OR IGNORE: OR IGNORE would also silently drop a row
        # that breaks a NOT NULL constraint, where we want the batch to fail loudly. No conflict
        # target: a known call (the llm_usage_call unique index) is skipped as well.
        self._insert_sql = (
            f"INSERT INTO {TABLE} ({_query.SELECT_COLUMNS}) VALUES ({placeholders}) ON CONFLICT DO NOTHING"
        )
        if not self._create and not Path(path).is_file():
            raise LedgerNotFoundError(f"no ledger at {path}")
        try:
            if self._create and not self._memory:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._writer = self._connect()
        except (OSError, sqlite3.Error) as exc:
            if not self._create and getattr(exc, "sqlite_errorcode", None) == _NOT_A_DATABASE:
                raise LedgerNotFoundError(
                    f"{path} is not an otel-llmcost ledger ({exc})", foreign=True
                ) from None
            raise _open_error(path, exc) from exc
        try:
            self._writer.execute(_WRITER_CACHE)
            if not self._create:
                self._check_ledger()
            self._migrate()
        except sqlite3.Error as exc:
            self._writer.close()
            raise _open_error(path, exc) from exc
        except BaseException:
            self._writer.close()
            raise
        self._readers: ConnectionPool[sqlite3.Connection] = ConnectionPool(self._connect, _close)

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: no implicit transactions; we issue BEGIN IMMEDIATE/COMMIT ourselves.
        # check_same_thread=False: the pool hands a connection to one thread at a time.
        conn = sqlite3.connect(
            self._database,
            timeout=BUSY_TIMEOUT_S,
            isolation_level=None,
            check_same_thread=False,
            uri=not self._create,
        )
        try:
            for pragma in _PRAGMAS:
                conn.execute(pragma)
        except BaseException:
            conn.close()
            raise
        return conn

    def _check_ledger(self) -> None:
        """Raise :class:`LedgerNotFoundError` unless the file is a ledger of ours. Runs before
        anything is written: switching to WAL alone would change another application's file."""
        conn = self._writer
        try:
            tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as exc:  # "file is not a database"
            reason: str | None = str(exc)
        else:
            first: list[tuple[Any, ...]] | None = None
            if MIGRATIONS_TABLE in tables:
                try:
                    first = conn.execute(first_migration_sql(self.dialect)).fetchall()
                except sqlite3.OperationalError:  # another application's table of that name
                    first = None
            reason = not_a_ledger(tables, first)
        if reason is not None:
            raise LedgerNotFoundError(f"{self._path} is not an otel-llmcost ledger ({reason})", foreign=True)

    def _migrate(self) -> None:
        conn = self._writer
        if not self._memory:
            mode = _enable_wal(conn)
            if mode.lower() != "wal":
                _logger.warning(
                    "SQLite ledger %s runs in %s mode, not WAL: reads block writes", self._path, mode
                )
        # BEGIN IMMEDIATE takes the write lock first, so a second process opening the same file
        # waits here (busy timeout) and then finds the migrations already recorded.
        with self._transaction(conn):
            conn.execute(migrations_table_sql(self.dialect))
            applied = {int(v) for (v,) in conn.execute(f"SELECT version FROM {MIGRATIONS_TABLE}")}
            for sql, params in pending(self.dialect, applied):
                conn.execute(sql, params)

    @contextmanager
    def _transaction(self, conn: sqlite3.Connection) -> Iterator[None]:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def _write_connection(self) -> Iterator[sqlite3.Connection]:
        with self._write_lock:
            if self._closed:
                raise LedgerClosedError("the ledger is closed")
            yield self._writer

    @contextmanager
    def _read_connection(self) -> Iterator[sqlite3.Connection]:
        if self._memory:  # a second connection would open a different, empty database
            with self._write_connection() as conn:
                yield conn
        else:
            with self._readers.connection() as conn:
                yield conn

    def _fetch(self, sql: str, params: Sequence[Any]) -> list[Row]:
        with self._read_connection() as conn, _sums_fit():
            return conn.execute(sql, params).fetchall()

    def _insert_rows(self, rows: list[Row]) -> set[tuple[str, str]]:
        written: set[tuple[str, str]] = set()
        with self._write_connection() as conn, self._transaction(conn):
            # Row by row so each row's rowcount says whether it was new: metrics built from the
            # new rows then count every call exactly once. Still one transaction, one fsync.
            execute = conn.cursor().execute  # one cursor: conn.execute() makes one per row
            sql = self._insert_sql
            for row in rows:
                if execute(sql, row).rowcount:
                    written.add((row[_TRACE], row[_SPAN]))
        return written

    def delete_all(self, expected: int | None = None) -> int:
        # BEGIN IMMEDIATE holds the write lock: no other process inserts between count and delete.
        with self._write_connection() as conn, self._transaction(conn):
            if expected is not None:
                found = int(conn.execute(f"SELECT COUNT(*) FROM {self.dialect.table()}").fetchone()[0])
                if found != expected:
                    raise LedgerChangedError(expected, found)
            return conn.execute(f"DELETE FROM {self.dialect.table()}").rowcount

    def _group_rows(self, plan: _query.GroupPlan) -> list[Row]:
        # SQLite aggregates GROUP BY only by sorting every row; upserting each row into a small
        # keyed temporary table is a hash aggregate instead, about twice as fast on a million
        # rows. NULL keys would never conflict in a primary key, so they travel as X'00' (a
        # BLOB, unequal to every TEXT value) and come back as None.
        keys = [f"k{i}" for i in range(len(plan.keys))]
        key_list = ", ".join(keys)
        keyed = [f"IFNULL({e}, X'00')" if n else e for e, n in zip(plan.keys, plan.nullable, strict=True)]
        values = keyed + list(_query.row_values(self.dialect))
        create = f"CREATE TEMP TABLE llmcost_group ({key_list}, {', '.join(_SUMS)}, PRIMARY KEY ({key_list}))"
        fill = (
            f"INSERT INTO temp.llmcost_group SELECT {', '.join(values)} FROM {self.dialect.table()} "
            f"{_query.where_sql(plan.conditions)} ON CONFLICT ({key_list}) DO UPDATE SET "
            + ", ".join(f"{s} = {s} + excluded.{s}" for s in _SUMS)
        )
        with self._read_connection() as conn, _sums_fit():
            conn.execute("DROP TABLE IF EXISTS temp.llmcost_group")
            conn.execute(create)
            try:
                conn.execute(fill, plan.params)
                rows = conn.execute("SELECT * FROM temp.llmcost_group").fetchall()
            finally:
                conn.execute("DROP TABLE temp.llmcost_group")
        width = len(keys)
        return [tuple(None if isinstance(v, bytes) else v for v in row[:width]) + row[width:] for row in rows]

    def close(self) -> None:
        with self._write_lock:
            if self._closed:
                return
            self._closed = True
            self._readers.close()
            self._writer.close()


def _close(conn: sqlite3.Connection) -> None:
    conn.close()


@contextmanager
def _sums_fit() -> Iterator[None]:
    """SQLite's SUM() fails with "integer overflow" past 64 bits: :class:`LedgerOverflowError`."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        if str(exc) == "integer overflow":
            raise _query.LedgerOverflowError from None
        raise
