"""The usage ledger: one durable row per GenAI call, never counted twice.

::

    with open_ledger(default_ledger_url()) as ledger:  # SQLite under ./.otel-llmcost/
        ledger.insert(records)  # returns the new-row count; re-sent rows are skipped
        ledger.group(["team", "day"], Filters(since_ns=t0))
        ledger.scan(["start_ns", "model", "cost_nanos"], Filters(since_ns=t0))  # tuples, in time order

URLs:

- ``sqlite:///relative/path.db`` (relative to the working directory) or
  ``sqlite:////absolute/path.db``: the path follows ``sqlite:///`` and is percent-decoded;
  missing parent directories are created (unless ``create=False``).
- ``sqlite:///:memory:``: a private in-memory ledger, for tests.
- ``postgresql://user:pass@host:port/db`` (or ``postgres://``), plus any libpq parameter; our
  own ``?schema=NAME`` keeps the tables in that schema, created when missing (unless
  ``create=False``). Needs the ``postgres`` extra (psycopg 3), imported only when such a URL
  is opened.

Opening runs the schema migrations (idempotent, safe with concurrent openers). A bad URL or a
missing driver raises :class:`~otel_llmcost.exceptions.ConfigError` on the key ``ledger``; an
unreachable database its subclass :class:`~otel_llmcost.exceptions.LedgerUnavailableError` (a
runtime failure, not bad configuration). ``open_ledger(url, create=False)``, for commands that
only read, raises :class:`~otel_llmcost.exceptions.LedgerNotFoundError` where no otel-llmcost
ledger is (no file, no schema, another application's database), creating and changing nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

from otel_llmcost.exceptions import ConfigError, LedgerNotFoundError, LedgerUnavailableError
from otel_llmcost.ledger._base import LedgerChangedError, LedgerClosedError
from otel_llmcost.ledger._model import (
    ATTRIBUTION_FIELDS,
    COST_FIELDS,
    GROUPABLE,
    SCANNABLE,
    TOKEN_FIELDS,
    Filters,
    Group,
    LedgerBackend,
    LedgerRecord,
    Totals,
    chunked,
)
from otel_llmcost.ledger._query import FILTERABLE, LedgerOverflowError, check_filter
from otel_llmcost.ledger._url import KEY, PostgresTarget, parse

__all__ = [
    "ATTRIBUTION_FIELDS",
    "COST_FIELDS",
    "FILTERABLE",
    "GROUPABLE",
    "SCANNABLE",
    "TOKEN_FIELDS",
    "Filters",
    "Group",
    "LedgerBackend",
    "LedgerChangedError",
    "LedgerClosedError",
    "LedgerNotFoundError",
    "LedgerOverflowError",
    "LedgerRecord",
    "LedgerUnavailableError",
    "Totals",
    "check_filter",
    "chunked",
    "default_ledger_url",
    "open_ledger",
]

_POSTGRES_HINT = "pip install 'otel-llmcost[postgres]'"


def default_ledger_url(cwd: str | os.PathLike[str] | None = None) -> str:
    """``sqlite:///<cwd>/.otel-llmcost/ledger.db`` with ``cwd`` made absolute (default: the
    working directory). The directory is created when the ledger is opened, not here."""
    base = Path(cwd if cwd is not None else os.getcwd()).resolve()
    return "sqlite:///" + quote((base / ".otel-llmcost" / "ledger.db").as_posix())


def open_ledger(url: str, *, create: bool = True) -> LedgerBackend:
    """Open (creating and migrating as needed) the ledger at ``url``; see the module docs.

    ``create=False``: open only an otel-llmcost ledger that exists (one of an older release is
    migrated), else raise :class:`LedgerNotFoundError` having created and changed nothing.
    ``sqlite:///:memory:`` is private to its opener, so it is always created.
    """
    target = parse(url)
    if isinstance(target, PostgresTarget):
        try:
            from otel_llmcost.ledger._postgres import PostgresLedger
        except ImportError as exc:
            if not (exc.name or "").startswith("psycopg"):
                raise
            raise ConfigError(
                f"a postgresql ledger needs psycopg 3, which is not installed: {_POSTGRES_HINT}", key=KEY
            ) from exc
        return PostgresLedger(url, target.conninfo, target.schema, create=create)
    from otel_llmcost.ledger._sqlite import SqliteLedger

    return SqliteLedger(url, target.path, create=create)
