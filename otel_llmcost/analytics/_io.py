"""Ledger export and archive in JSONL or CSV, and the record codecs import shares; both formats
round-trip every field exactly.

**JSONL** (the interchange format): one JSON object per line, :meth:`LedgerRecord.to_dict` —
every field, ``null`` for None, JSON booleans, integers of any size written in full.

**CSV** (for spreadsheets): a header naming every field, then one row per record. Integers are
written in full, booleans as ``true``/``false``, None as an empty cell. So that an empty cell
can only mean None, a text value that is empty or starts with ``\\ = + - @``, tab or carriage
return gets one ``\\`` in front (removed again on import); this also stops spreadsheets from
running a value such as ``=HYPERLINK(…)`` as a formula. So does the same ``\\`` before the
full-width forms of ``= + - @`` (U+FF1D, U+FF0B, U+FF0D, U+FF20: some spreadsheets take them for
the ASCII ones) and before leading
whitespace followed by any of these. Import removes exactly one leading ``\\``, so an export
still round-trips byte for byte.

An archive (:func:`write_archive`) is a gzip-compressed JSONL export of the whole ledger,
``ledger-<UTC timestamp>.jsonl.gz``, written before ``otel-llmcost reset`` deletes anything;
``otel-llmcost import`` reads it back.
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import io
import json
import os
import re
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from operator import attrgetter
from pathlib import Path
from typing import IO, Any, Final

from otel_llmcost.ledger import Filters, LedgerBackend, LedgerRecord

__all__ = [
    "FIELDS",
    "FORMATS",
    "REQUIRED",
    "csv_value",
    "export_records",
    "open_output",
    "record_from_mapping",
    "write_archive",
    "write_csv",
    "write_jsonl",
]

FORMATS: Final = ("jsonl", "csv")
FIELDS: Final = LedgerRecord.field_names()
_INT64 = (-(2**63), 2**63 - 1)
_ID_DIGITS = {"trace_id": 32, "span_id": 16}
_HEX = re.compile(r"[0-9a-f]+")
_INT_TEXT = re.compile(r"-?[0-9]+")
# What a spreadsheet may run as a formula when a cell starts with it (full-width forms included).
_FORMULA_FIRST = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
_ESCAPE_FIRST = _FORMULA_FIRST | {"\\"}
_values = attrgetter(*FIELDS)


@dataclass(frozen=True, slots=True)
class _Spec:
    kind: type  # int, bool or str
    nullable: bool
    required: bool


def _specs() -> dict[str, _Spec]:
    hints = typing.get_type_hints(LedgerRecord)
    found = {}
    for f in dataclasses.fields(LedgerRecord):
        args = typing.get_args(hints[f.name])
        nullable = type(None) in args
        kind = next(a for a in args if a is not type(None)) if nullable else hints[f.name]
        found[f.name] = _Spec(kind, nullable, f.default is dataclasses.MISSING)
    return found


_SPECS: Final = _specs()
#: Fields without a default: every record names them.
REQUIRED: Final = tuple(name for name, spec in _SPECS.items() if spec.required)


# -- one record <-> a JSON object or a CSV row -------------------------------------------------


def _checked(name: str, value: Any) -> Any:
    """``value`` if it fits field ``name``; else ``ValueError`` saying why."""
    spec = _SPECS[name]
    if value is None:
        if not spec.nullable:
            raise ValueError(f"{name} must not be null")
        return None
    if spec.kind is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false, got {value!r}")
    elif spec.kind is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"{name} must be an integer, got {value!r}")
        if not _INT64[0] <= value <= _INT64[1]:
            raise ValueError(f"{name}={value} is outside the 64-bit integer range")
    else:
        if not isinstance(value, str):
            raise ValueError(f"{name} must be a string, got {value!r}")
        if not _utf8(value):
            raise ValueError(f"{name} is not valid UTF-8 text")
    return value


_KINDS: Final = {name: spec.kind for name, spec in _SPECS.items()}
_NAMES: Final = frozenset(_SPECS)
_REQUIRED_SET: Final = frozenset(REQUIRED)
_NULLABLE: Final = frozenset(name for name, spec in _SPECS.items() if spec.nullable)
_LOW, _HIGH = _INT64


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def record_from_mapping(data: Any) -> LedgerRecord:
    """A record from a JSON object (as :meth:`LedgerRecord.to_dict` makes), every field checked;
    ``ValueError`` naming the first problem."""
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    if not data.keys() <= _NAMES:
        raise ValueError(f"unknown field(s): {', '.join(sorted(data.keys() - _NAMES))}")
    if not data.keys() >= _REQUIRED_SET:
        raise ValueError(f"missing field(s): {', '.join(n for n in REQUIRED if n not in data)}")
    # The common case inline (import's hot loop); _checked explains whatever fails here. Exact
    # types: a JSON true is never an integer, and 1 never a boolean.
    for name, value in data.items():
        found: type = type(value)
        if found is _KINDS[name]:
            if found is str:
                if not (value.isascii() or _utf8(value)):  # NUL is fine: the ledger stores U+FFFD
                    _checked(name, value)
            elif found is int and not _LOW <= value <= _HIGH:
                _checked(name, value)
        elif value is not None or name not in _NULLABLE:
            _checked(name, value)
    for name, digits in _ID_DIGITS.items():
        value = data[name]
        if len(value) != digits or not _HEX.fullmatch(value):
            raise ValueError(f"{name}={value!r} is not {digits} lowercase hex digits")
    return LedgerRecord(**data)


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if not text or text[0] in _ESCAPE_FIRST:
        return "\\" + text
    if text[0].isspace() and text.lstrip()[:1] in _FORMULA_FIRST:  # " =1+1": trimmed, still a formula
        return "\\" + text
    return text


def csv_value(name: str, cell: str) -> Any:
    spec = _SPECS[name]
    if cell == "":
        return None  # _checked rejects it for a field that cannot be null
    if spec.kind is bool:
        if cell not in ("true", "false"):
            raise ValueError(f"{name} must be true or false, got {cell!r}")
        return cell == "true"
    if spec.kind is int:
        if not _INT_TEXT.fullmatch(cell):
            raise ValueError(f"{name} must be an integer, got {cell!r}")
        return int(cell)
    return cell[1:] if cell.startswith("\\") else cell


# -- export ------------------------------------------------------------------------------------


def write_jsonl(records: Iterable[LedgerRecord], out: IO[str]) -> int:
    """One JSON object per record and line; returns the number written."""
    count = 0
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    for record in records:
        out.write(dumps(dict(zip(FIELDS, _values(record), strict=True))) + "\n")
        count += 1
    return count


def write_csv(records: Iterable[LedgerRecord], out: IO[str]) -> int:
    """A header of every field, then one row per record; returns the number of records."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELDS)
    count = 0
    for record in records:
        writer.writerow([_csv_cell(v) for v in _values(record)])
        count += 1
    return count


def export_records(
    ledger: LedgerBackend, out: IO[str], fmt: str = "jsonl", filters: Filters | None = None
) -> int:
    """Every record ``filters`` selects, in (start_ns, trace_id, span_id) order, written as ``fmt``."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    records = ledger.records(filters or Filters())
    return write_jsonl(records, out) if fmt == "jsonl" else write_csv(records, out)


class open_output:  # a context manager used like open()
    """A text file written under a temporary name and renamed into place on success (fsync'd
    first), so a reader never sees half a file; gzip-compressed when the name ends in ``.gz``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._partial = self.path.with_name(self.path.name + ".partial")
        self._raw: IO[bytes] | None = None
        self._text: io.TextIOWrapper | None = None

    def __enter__(self) -> IO[str]:
        self._raw = open(self._partial, "wb")  # closed in __exit__
        binary: IO[bytes] = self._raw
        if self.path.name.endswith(".gz"):
            binary = gzip.GzipFile(filename="", mode="wb", fileobj=self._raw)  # type: ignore[assignment]
        self._text = io.TextIOWrapper(binary, encoding="utf-8", newline="")
        return self._text

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        assert self._raw is not None
        assert self._text is not None
        complete = exc_type is None
        try:
            self._text.flush()
            binary = self._text.detach()  # keeps self._raw open for the fsync
            if binary is not self._raw:
                binary.close()  # the gzip stream: writes its trailer, leaves self._raw open
            if complete:
                self._raw.flush()
                os.fsync(self._raw.fileno())
        except BaseException:
            complete = False
            raise
        finally:
            self._raw.close()
            if complete:
                os.replace(self._partial, self.path)
                _fsync_directory(self.path.parent)
            else:
                self._partial.unlink(missing_ok=True)


def _fsync_directory(directory: Path) -> None:
    # the rename is durable only once the directory entry is (POSIX; a no-op elsewhere)
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_archive(
    ledger: LedgerBackend, directory: str | os.PathLike[str], now: datetime | None = None
) -> tuple[Path, int]:
    """The whole ledger as ``directory/ledger-<UTC timestamp>.jsonl.gz`` (never overwriting an
    earlier archive), durable on disk when this returns: (path, records written)."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path, n = folder / f"ledger-{stamp}.jsonl.gz", 0
    while path.exists():
        n += 1
        path = folder / f"ledger-{stamp}-{n}.jsonl.gz"
    with open_output(path) as out:
        count = write_jsonl(ledger.records(), out)
    return path, count
