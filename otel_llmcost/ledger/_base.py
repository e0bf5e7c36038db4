"""What the SQLite and PostgreSQL ledgers share: a read-connection pool and the query methods.

Concurrency model (both engines): one write connection behind a lock, so inserts from the
collector's export thread are serialized in-process and each is one transaction; and a small
pool of read connections, each used by one thread at a time, so HTTP API threads query in
parallel without ever sharing a connection. A pool (rather than one connection per thread)
bounds the number of open connections under thread-per-request servers, and records() borrows
a connection per page only, so an abandoned iterator holds nothing open.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from itertools import chain
from operator import attrgetter, itemgetter
from types import TracebackType
from typing import Any, Generic, TypeVar

from otel_llmcost.ledger import _query
from otel_llmcost.ledger._model import SCANNABLE, Filters, Group, LedgerRecord, Totals
from otel_llmcost.ledger._schema import BOOL_COLUMNS, COLUMN_NAMES, COLUMNS, Dialect
from otel_llmcost.ledger._url import redact

C = TypeVar("C")
Row = tuple[Any, ...]
_NO_FILTERS = Filters()
_as_row: Callable[[LedgerRecord], Row] = attrgetter(*COLUMN_NAMES)
_TEXT_INDEXES = tuple(i for i, c in enumerate(COLUMNS) if c.kind is str)
_texts: Callable[[Row], Row] = itemgetter(*_TEXT_INDEXES)


def _may_hold_nul(rows: list[Row]) -> bool:
    """False when no text column of ``rows`` holds NUL: one C-level pass over one joined string,
    where the per-column check below is a Python step per value. (A value that is not a str
    fails the join: the per-column path then decides, as it always did.)"""
    try:
        joined = "".join(filter(None, chain.from_iterable(map(_texts, rows))))
    except TypeError:
        return True
    return "\x00" in joined


def _without_nul(rows: list[Row]) -> list[Row]:
    """``rows`` with NUL in text replaced by U+FFFD. PostgreSQL text cannot hold NUL (one would
    fail the whole batch's transaction) and import refuses it, so neither engine stores it:
    what the ledger holds is the same, exportable and importable, on both."""
    if not _may_hold_nul(rows):
        return rows
    for index in _TEXT_INDEXES:
        if any(row[index] is not None and "\x00" in row[index] for row in rows):
            rows = [
                (*row[:index], row[index].replace("\x00", "\ufffd"), *row[index + 1 :])
                if row[index] is not None
                else row
                for row in rows
            ]
    return rows


class LedgerClosedError(RuntimeError):
    """The ledger was closed; open a new one."""


class LedgerChangedError(RuntimeError):
    """:meth:`SqlLedger.delete_all` found another number of rows than expected: nothing deleted."""

    def __init__(self, expected: int, found: int) -> None:
        super().__init__(f"expected {expected:,} rows, found {found:,}: nothing was deleted")
        self.expected, self.found = expected, found


class ConnectionPool(Generic[C]):
    """Idle connections handed to one borrower at a time; at most ``max_idle`` are kept."""

    def __init__(
        self,
        connect: Callable[[], C],
        close: Callable[[C], None],
        *,
        reusable: Callable[[C], bool] = lambda conn: True,
        max_idle: int = 4,
    ) -> None:
        self._connect = connect
        self._close = close
        self._reusable = reusable
        self._max_idle = max_idle
        self._idle: list[C] = []
        self._lock = threading.Lock()
        self._closed = False

    @contextmanager
    def connection(self) -> Iterator[C]:
        with self._lock:
            if self._closed:
                raise LedgerClosedError("the ledger is closed")
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self._connect()
        try:
            yield conn
        finally:
            self._give_back(conn)

    def _give_back(self, conn: C) -> None:
        keep = False
        if self._reusable(conn):
            with self._lock:
                keep = not self._closed and len(self._idle) < self._max_idle
                if keep:
                    self._idle.append(conn)
        if not keep:
            self._close(conn)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            self._close(conn)


class SqlLedger(ABC):
    """The :class:`~otel_llmcost.ledger.LedgerBackend` methods, written once over two engine hooks."""

    url: str

    def __init__(self, url: str, dialect: Dialect) -> None:
        self.url = url
        self.dialect = dialect

    # -- engine hooks ------------------------------------------------------------------------

    @abstractmethod
    def _fetch(self, sql: str, params: Sequence[Any]) -> list[Row]:
        """Run one read statement on a pooled read connection and return all its rows."""

    @abstractmethod
    def _insert_rows(self, rows: list[Row]) -> set[tuple[str, str]]:
        """Insert in one committed transaction, skipping rows that break a uniqueness key (a
        known span, or a known call); return the (trace_id, span_id) keys actually written."""

    @abstractmethod
    def delete_all(self, expected: int | None = None) -> int:
        """Delete every row in one transaction; return how many there were. With ``expected``,
        writers are locked out for the transaction and, unless the ledger holds exactly that
        many rows, nothing is deleted (:class:`LedgerChangedError`): what was archived is
        exactly what goes."""

    @abstractmethod
    def close(self) -> None:
        """Close every connection; later calls raise :class:`LedgerClosedError`. Idempotent."""

    def _group_rows(self, plan: _query.GroupPlan) -> list[Row]:
        return self._fetch(plan.sql(self.dialect.table()), plan.params)

    # -- the backend protocol -----------------------------------------------------------------

    def insert(self, records: Sequence[LedgerRecord]) -> int:
        """Insert in one transaction, committed before returning; rows whose (trace_id, span_id)
        already exist (or repeat within ``records``) are skipped, as are rows for a call already
        recorded by another emitter (same trace, provider and response id). Returns the number
        of new rows."""
        return len(self.insert_new(records))

    def insert_new(self, records: Sequence[LedgerRecord]) -> list[LedgerRecord]:
        """:meth:`insert`, returning the records that were written (each key at most once)."""
        if not records:
            return []
        rows = [_as_row(record) for record in records]
        stored = _without_nul(rows)
        written = self._insert_rows(stored)
        if stored is rows and len(written) == len(records):
            # The usual: no key changed on the way (no NUL), all distinct, and all new.
            return list(records)
        new: list[LedgerRecord] = []
        for record in records:
            key = (record.trace_id, record.span_id)
            if key in written:
                written.discard(key)  # a key repeated within the batch was written once
                new.append(record)
        return new

    def totals(self, filters: Filters = _NO_FILTERS) -> Totals:
        sql, params = _query.totals_sql(self.dialect, filters)
        return _query.totals_from_row(self._fetch(sql, params)[0])

    def group(
        self, by: Sequence[str], filters: Filters = _NO_FILTERS, limit: int | None = None
    ) -> list[Group]:
        """Totals per distinct value of ``by`` (from ``GROUPABLE``), by cost descending then key
        ascending (``None`` first). ``day``/``hour``/``month`` are UTC ``YYYY-MM-DD``,
        ``YYYY-MM-DDTHH``, ``YYYY-MM``; ``model`` is the request model, else the response model."""
        plan = _query.group_plan(self.dialect, by, filters)
        if limit is not None and (not _query.is_int(limit) or limit < 0):
            raise ValueError(f"limit must be a non-negative int or None, got {limit!r}")
        return _query.finish_groups(plan, self._group_rows(plan), limit)

    def records(self, filters: Filters = _NO_FILTERS, batch_size: int = 5000) -> Iterator[LedgerRecord]:
        """Every matching row ordered by (start_ns, trace_id, span_id), read ``batch_size`` rows
        per query (keyset pagination: no transaction or cursor stays open between pages, so a
        slow consumer never blocks writers or SQLite checkpoints). Rows committed while the
        iteration runs are included if they sort after the current position."""
        if not _query.is_int(batch_size) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        _query.where(self.dialect, filters)  # raise on a bad filter now, not at the first next()
        return self._pages(filters, batch_size)

    def _pages(self, filters: Filters, batch_size: int) -> Iterator[LedgerRecord]:
        after: tuple[int, str, str] | None = None
        while True:
            sql, params = _query.records_sql(self.dialect, filters, after, batch_size)
            rows = self._fetch(sql, params)
            for row in rows:
                yield _query.record_from_row(row)
            if len(rows) < batch_size:
                return
            after = _query.page_key(rows[-1])

    def scan(
        self, columns: Sequence[str], filters: Filters = _NO_FILTERS, *, slice_ns: int = _query.NS_PER_HOUR
    ) -> Iterator[tuple[Any, ...]]:
        """The named columns (from ``SCANNABLE``: any record field, or ``model``) of every
        matching row as tuples, by ``start_ns`` ascending (rows of one instant in no set order).

        For analyses that read many rows but few fields: a tuple of a few columns costs a
        fraction of a :class:`LedgerRecord`. Rows are read one ``slice_ns`` time slice per
        query, so memory holds one slice and no cursor stays open between slices; rows
        committed while the scan runs are included if their slice has not been read yet.
        """
        if isinstance(columns, str) or not columns:
            raise ValueError(f"scan needs a non-empty sequence of column names, got {columns!r}")
        unknown = [name for name in columns if name not in SCANNABLE]
        if unknown:
            raise ValueError(f"cannot scan {unknown}; scannable: {', '.join(SCANNABLE)}")
        if not _query.is_int(slice_ns) or slice_ns < 1:
            raise ValueError(f"slice_ns must be a positive int, got {slice_ns!r}")
        _query.where(self.dialect, filters)  # raise on a bad filter now, not at the first next()
        return self._slices(tuple(columns), filters, slice_ns)

    def _slices(self, columns: tuple[str, ...], filters: Filters, slice_ns: int) -> Iterator[tuple[Any, ...]]:
        since, until = _query.time_bounds(filters)
        if since is None or until is None:
            first, last = self._fetch(f"SELECT MIN(start_ns), MAX(start_ns) FROM {self.dialect.table()}", [])[
                0
            ]
            if first is None:
                return
            since = int(first) if since is None else since
            until = int(last) + 1 if until is None else until
        flags = [i for i, name in enumerate(columns) if name in BOOL_COLUMNS]
        lo = since
        while lo < until:
            hi = min(lo + slice_ns, until)
            sql, params = _query.scan_sql(self.dialect, columns, replace(filters, since_ns=lo, until_ns=hi))
            rows = self._fetch(sql, params)
            if flags:  # SQLite hands booleans back as 0/1
                for row in rows:
                    values = list(row)
                    for i in flags:
                        values[i] = bool(values[i])
                    yield tuple(values)
            else:
                yield from map(tuple, rows)
            lo = hi

    def count(self) -> int:
        return int(self._fetch(f"SELECT COUNT(*) FROM {self.dialect.table()}", [])[0][0])

    def __enter__(self) -> SqlLedger:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({redact(self.url)!r})"
