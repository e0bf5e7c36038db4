"""Import JSONL or CSV exports into a ledger: bad lines reported and skipped, the rest merged once.

Every line is checked on its own (JSON or CSV syntax, field names, types, 64-bit integer range,
trace/span id format, text the ledger can store), then held to the rules the collector applies to
what it ingests (:class:`_AsCollected`): token counts and timestamps it would accept, a cost
consistent with the row, over-long indexed values fitted as it fits them. A bad line is reported
with its file and line number and the import goes on, inserting the good records in committed
batches. The ledger's (trace_id, span_id) key makes importing idempotent: merging several
people's or replicas' exports into one ledger, or importing the same file twice, counts every
call once, and the result says how many records were new and how many were already present.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from typing import IO, Any, Final, cast

from otel_llmcost.analytics._io import FIELDS, REQUIRED, csv_value, record_from_mapping
from otel_llmcost.ledger import COST_FIELDS, TOKEN_FIELDS, LedgerBackend, LedgerRecord
from otel_llmcost.ledger._model import MAX_KEY_CHARS, fit_key
from otel_llmcost.usage import MAX_TOKENS_PER_CALL

__all__ = ["BadLine", "ImportResult", "detect_format", "import_file", "import_lines"]

IMPORT_BATCH: Final = 2000
#: The most nano-dollars a ledger can hold in all: every report sums cost_nanos in 64 bits.
MAX_LEDGER_NANOS: Final = 2**63 - 1
MAX_KEPT_ERRORS: Final = 100
_SUFFIXES: Final = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv"}
_NS_PER_DAY: Final = 86_400 * 1_000_000_000
# Counts a Usage bounds (0 to MAX_TOKENS_PER_CALL each), as the ledger names them.
_COUNTS: Final = (*TOKEN_FIELDS, "web_search_requests")
_BREAKDOWN: Final = COST_FIELDS[1:]  # cost_input_nanos … cost_fees_nanos (request fees)
# The total and each breakdown column are rounded to the nano-dollar separately, from the same
# exact amounts (pricing/_nanos.py): seven roundings of at most half a nano-dollar each, so the
# columns may sum to up to 3 nano-dollars either side of cost_nanos, and no closer identity holds.
_ROUNDING_NANOS: Final = len(COST_FIELDS) // 2
_FITTED: Final = ("provider", "response_id", "team", "project", "user")  # the values the ledger indexes
_counts = attrgetter(*_COUNTS)
_breakdown = attrgetter(*_BREAKDOWN)


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that was not imported (``line`` 0: the file itself could not be read)."""

    source: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.reason}" if self.line else f"{self.source}: {self.reason}"


@dataclass
class ImportResult:
    source: str
    read: int = 0  # good records read
    new: int = 0  # of which were not in the ledger yet
    failed: int = 0  # lines (or files) that could not be imported
    errors: list[BadLine] = field(default_factory=list)  # the first MAX_KEPT_ERRORS of them

    @property
    def already_present(self) -> int:
        return self.read - self.new

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.source,
            "read": self.read,
            "new": self.new,
            "already_present": self.already_present,
            "failed": self.failed,
            "errors": [{"line": e.line, "reason": e.reason} for e in self.errors],
        }


Parsed = tuple[int, LedgerRecord] | BadLine


def detect_format(name: str, first_line: str = "") -> str:
    """``jsonl`` or ``csv`` from the file name (``.gz`` aside), else from its first line."""
    base = name[:-3] if name.endswith(".gz") else name
    suffix = Path(base).suffix.lower()
    if suffix in _SUFFIXES:
        return _SUFFIXES[suffix]
    return "jsonl" if first_line.lstrip().startswith("{") else "csv"


class _AsCollected:
    """The collector's rules for a row (collector/_normalize.py), applied to an imported one.

    ``record(data)`` is :func:`record_from_mapping` of ``data`` held to them: every token count
    within what :class:`~otel_llmcost.usage.Usage` accepts; ``0 < start_ns <=`` a day after
    ``now_ns`` (the import is this row's ingestion) and ``end_ns >= start_ns``; a priced row
    carries ``cost_nanos``, no cost column is negative, an unpriced row costs nothing, and a
    breakdown, when given, sums to ``cost_nanos`` within its rounding. A row may leave the
    breakdown out (all six columns 0, their default), as hand-made records do. Over-long
    provider, response id, team, project and user values are fitted with the ledger's
    ``fit_key``. Anything else raises ``ValueError`` saying what is wrong.
    """

    def __init__(self, now_ns: int) -> None:
        self._latest_start = now_ns + _NS_PER_DAY

    def record(self, data: Any) -> LedgerRecord:
        record = record_from_mapping(data)
        counts: tuple[int, ...] = _counts(record)
        if min(counts) < 0 or max(counts) > MAX_TOKENS_PER_CALL:
            for name, value in zip(_COUNTS, counts, strict=True):
                if value < 0:
                    raise ValueError(f"{name} is negative ({value})")
                if value > MAX_TOKENS_PER_CALL:
                    raise ValueError(f"{name}={value} exceeds the per-call maximum {MAX_TOKENS_PER_CALL}")
        start, end = record.start_ns, record.end_ns
        if start <= 0:
            raise ValueError(f"start_ns={start} is not a time after 1970-01-01")
        if start > self._latest_start:
            raise ValueError(f"start_ns={start} is more than a day ahead of this machine's clock")
        if end < start:
            raise ValueError(f"end_ns={end} is before start_ns={start}")
        cost, parts = record.cost_nanos, _breakdown(record)
        if record.priced:
            if "cost_nanos" not in data:
                raise ValueError("priced record without cost_nanos: give its cost, or set priced to false")
            if cost < 0 or min(parts) < 0:
                for name, value in zip(COST_FIELDS, (cost, *parts), strict=True):
                    if value < 0:
                        raise ValueError(f"{name} is negative ({value})")
            if any(parts) and abs(cost - sum(parts)) > _ROUNDING_NANOS:
                raise ValueError(
                    f"cost_nanos={cost} does not match its breakdown columns, which sum to {sum(parts)}"
                )
        elif cost or any(parts):
            for name, value in zip(COST_FIELDS, (cost, *parts), strict=True):
                if value:
                    raise ValueError(
                        f"unpriced record with {name}={value}: set priced to true, or the cost to 0"
                    )
        for name in _FITTED:
            value = getattr(record, name)
            if value is not None and len(value) > MAX_KEY_CHARS:
                setattr(record, name, fit_key(value))
        return record


_Make = Callable[[Any], LedgerRecord]


def _jsonl(lines: Iterable[str], source: str, make: _Make) -> Iterator[Parsed]:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield number, make(json.loads(line))
        except ValueError as err:  # json.JSONDecodeError is one
            yield BadLine(source, number, str(err))


def _csv(lines: Iterable[str], source: str, make: _Make) -> Iterator[Parsed]:
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        return
    unknown = sorted(set(header) - set(FIELDS))
    missing = [n for n in REQUIRED if n not in header]
    if unknown or missing or len(set(header)) != len(header):
        problem = (
            f"unknown column(s) {unknown}"
            if unknown
            else f"missing column(s) {missing}"
            if missing
            else "a repeated column"
        )
        yield BadLine(source, 1, f"bad CSV header: {problem}")
        return
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            yield BadLine(source, start, f"bad CSV: {err}")
            start = reader.line_num + 1
            continue
        number, start = start, reader.line_num + 1
        if not row:
            continue
        try:
            if len(row) != len(header):
                raise ValueError(f"{len(row)} cells for {len(header)} columns")
            yield number, make({n: csv_value(n, c) for n, c in zip(header, row, strict=True)})
        except ValueError as err:
            yield BadLine(source, number, str(err))


def import_lines(
    ledger: LedgerBackend,
    lines: Iterable[str],
    source: str,
    fmt: str,
    on_error: Callable[[BadLine], None] | None = None,
    batch_size: int = IMPORT_BATCH,
) -> ImportResult:
    """Insert the good records of ``lines`` (``fmt`` jsonl or csv) in committed batches, held to
    the collector's rules as of now (see :class:`_AsCollected`); every bad line goes to
    ``on_error`` and is counted. A ledger error stops the import (batches committed before it
    stay).

    A record that would take the ledger's total cost past :data:`MAX_LEDGER_NANOS` is a bad line
    too: costs are never negative, so while the total fits, every sum a report, budget or
    forecast takes over any selection of rows fits as well (a record already present counts:
    the bound errs on the safe side)."""
    result = ImportResult(source)
    headroom = MAX_LEDGER_NANOS - ledger.totals().cost_nanos

    def bad(line: BadLine) -> None:
        result.failed += 1
        if len(result.errors) < MAX_KEPT_ERRORS:
            result.errors.append(line)
        if on_error is not None:
            on_error(line)

    make = _AsCollected(time.time_ns()).record
    batch: list[LedgerRecord] = []
    try:
        for item in (_jsonl if fmt == "jsonl" else _csv)(lines, source, make):
            if isinstance(item, BadLine):
                bad(item)
                continue
            cost = item[1].cost_nanos
            if cost > headroom:
                bad(BadLine(source, item[0], _beyond(cost, headroom)))
                continue
            headroom -= cost
            batch.append(item[1])
            result.read += 1
            if len(batch) >= batch_size:
                result.new += ledger.insert(batch)
                batch = []
    except (OSError, EOFError) as err:  # an unreadable or truncated (e.g. gzip) file
        bad(BadLine(source, 0, f"cannot read: {err}"))
    if batch:
        result.new += ledger.insert(batch)
    return result


def _beyond(cost: int, headroom: int) -> str:
    return (
        f"cost_nanos={cost} would take the ledger's total cost past the 64-bit integer range that "
        f"reports add up in (room left: {max(headroom, 0)} nano-dollars)"
    )


def import_file(
    ledger: LedgerBackend,
    path: str | os.PathLike[str],
    fmt: str | None = None,
    on_error: Callable[[BadLine], None] | None = None,
    batch_size: int = IMPORT_BATCH,
) -> ImportResult:
    """:func:`import_lines` over a file (gzip-compressed when its name ends in ``.gz``); the
    format comes from ``fmt``, else the name, else the first line."""
    source = os.fspath(path)
    try:
        opened = gzip.open(source, "rb") if source.endswith(".gz") else open(source, "rb")  # noqa: SIM115
        raw = cast("IO[bytes]", opened)
    except OSError as err:
        result = ImportResult(
            source, failed=1, errors=[BadLine(source, 0, f"cannot read: {err.strerror or err}")]
        )
        if on_error is not None:
            on_error(result.errors[0])
        return result
    # surrogateescape: a line with bytes that are not UTF-8 fails on its own (as text the ledger
    # cannot store) instead of aborting the whole file
    with raw, io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape", newline="") as text:
        lines: Iterator[str] = iter(text)
        if fmt is None:
            try:
                first = next(lines, "")
            except (OSError, EOFError):
                first = ""
            fmt = detect_format(source, first)
            lines = _prepend(first, lines)
        return import_lines(ledger, lines, source, fmt, on_error, batch_size)


def _prepend(first: str, rest: Iterator[str]) -> Iterator[str]:
    if first:
        yield first
    yield from rest
