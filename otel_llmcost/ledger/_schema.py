"""Table layout and versioned migrations, derived from :class:`LedgerRecord`.

The dataclass is the single source of truth: each field becomes a column whose SQL type comes from
its annotation (``int`` → 64-bit integer, ``bool`` → boolean, ``str`` → text; ``X | None`` →
nullable) and whose ``DEFAULT`` comes from the field default. Migrations are numbered and recorded
in ``schema_migrations``; they run on open, idempotently, under a database-wide lock. Opening a
ledger only to read it migrates one of ours (an older release's) but creates nothing anywhere
else: :func:`not_a_ledger` decides what is ours.

Adding a field later: give it a default, list it in :data:`_INTRODUCED` with the next version, and
append a migration whose statements are ``add_columns(dialect, version)``. Migration 1 keeps
creating exactly the columns it always did, so old and new databases converge.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from otel_llmcost.exceptions import ConfigError
from otel_llmcost.ledger._model import TOKEN_FIELDS, LedgerRecord

__all__ = ["COLUMNS", "MIGRATIONS", "TABLE", "Column", "Dialect", "Migration", "indexes", "latest_version"]

TABLE = "llm_usage"
MIGRATIONS_TABLE = "schema_migrations"

# field name -> schema version that added it; fields not listed are part of migration 1.
_INTRODUCED: dict[str, int] = {}


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: type  # int, bool or str
    nullable: bool
    default: object  # dataclasses.MISSING when the field has none
    since: int


@dataclass(frozen=True, slots=True)
class Dialect:
    """What differs between the two engines; everything else in the SQL is shared."""

    name: str  # "sqlite" | "postgresql"
    param: str  # "?" | "%s"
    qualifier: str  # "" or '"schema".'
    types: typing.Mapping[type, str]
    true: str
    false: str
    # SQL for ``applied_at`` in schema_migrations and for "now" in that column
    timestamp_type: str
    now: str

    def table(self, name: str = TABLE) -> str:
        return f"{self.qualifier}{name}"


def sqlite_dialect() -> Dialect:
    return Dialect(
        name="sqlite",
        param="?",
        qualifier="",
        types={int: "INTEGER", bool: "INTEGER", str: "TEXT"},
        true="1",
        false="0",
        timestamp_type="TEXT",
        now="strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
    )


def postgres_dialect(schema: str | None) -> Dialect:
    # COLLATE "C": byte order, as SQLite's default BINARY collation, so both engines sort group
    # keys and page through records identically; it is also the cheapest comparison.
    return Dialect(
        name="postgresql",
        param="%s",
        qualifier=f'"{schema}".' if schema else "",
        types={int: "BIGINT", bool: "BOOLEAN", str: 'TEXT COLLATE "C"'},
        true="TRUE",
        false="FALSE",
        timestamp_type="TIMESTAMPTZ",
        now="now()",
    )


def _columns() -> tuple[Column, ...]:
    hints = typing.get_type_hints(LedgerRecord)
    columns = []
    for f in dataclasses.fields(LedgerRecord):
        hint = hints[f.name]
        args = typing.get_args(hint)
        nullable = typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in args
        kind = next((a for a in args if a is not type(None)), hint) if nullable else hint
        if kind not in (int, bool, str) or (nullable and len(args) != 2):
            raise TypeError(f"ledger field {f.name!r}: no SQL type for annotation {hint!r}")
        columns.append(Column(f.name, kind, nullable, f.default, _INTRODUCED.get(f.name, 1)))
    return tuple(columns)


COLUMNS: tuple[Column, ...] = _columns()
COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in COLUMNS)
BOOL_COLUMNS: frozenset[str] = frozenset(c.name for c in COLUMNS if c.kind is bool)


def _literal(dialect: Dialect, value: object) -> str:
    if isinstance(value, bool):
        return dialect.true if value else dialect.false
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no SQL literal for {value!r}")


def ident(name: str) -> str:
    """A column name quoted for both engines (``user`` is reserved in PostgreSQL)."""
    return f'"{name}"'


def column_sql(dialect: Dialect, column: Column) -> str:
    sql = f"{ident(column.name)} {dialect.types[column.kind]}"
    if not column.nullable:
        sql += " NOT NULL"
    if column.default is not dataclasses.MISSING and column.default is not None:
        sql += f" DEFAULT {_literal(dialect, column.default)}"
    return sql


# Dimensions of the headline reports (by provider, model, service, team, project; per day) and
# every column Totals sums. See indexes() for why they form one index.
REPORT_DIMENSIONS = (
    "provider",
    "request_model",
    "response_model",
    "service",
    "environment",
    "team",
    "project",
)
REPORT_MEASURES = ("status", "priced", "cost_nanos", *TOKEN_FIELDS)


def indexes(dialect: Dialect) -> list[tuple[str, tuple[str, ...]]]:
    """Secondary indexes, besides the (trace_id, span_id) primary key.

    Both engines: ``start`` serves time-range filters and lets records() page in (start_ns,
    trace_id, span_id) order without sorting.

    SQLite: ``report``, a time-ordered covering index of the report dimensions and every column
    Totals sums, about a quarter of the table's width: totals and group-bys over those
    dimensions, for any time range or filter on them, never read the table (about 1.5x faster
    on a million rows). It grows at its end like ``start``, so inserts barely notice it;
    indexes led by an attribution column were left out because each batch then dirties a page
    per distinct value, which cost a third of insert throughput.

    The set is fixed by migration 1: a change is a new migration, not an edit here.

    PostgreSQL: aggregates with parallel hash plans over the heap (and index-only scans depend
    on vacuum), so no covering index; instead ``team``/``project``/``user`` indexes let a
    budget or chargeback query read one attribution value's rows over a window.
    """
    found: list[tuple[str, tuple[str, ...]]] = [("llm_usage_start", ("start_ns", "trace_id", "span_id"))]
    if dialect.name == "sqlite":
        found.append(("llm_usage_report", ("start_ns", *REPORT_DIMENSIONS, *REPORT_MEASURES)))
    else:
        found += [(f"llm_usage_{name}", (name, "start_ns")) for name in ("team", "project", "user")]
    return found


def create_v1(dialect: Dialect) -> list[str]:
    cols = ",\n  ".join(column_sql(dialect, c) for c in COLUMNS if c.since == 1)
    statements = [
        f"CREATE TABLE IF NOT EXISTS {dialect.table()} (\n  {cols},\n  PRIMARY KEY (trace_id, span_id)\n)"
    ]
    for name, cols_ in indexes(dialect):
        statements.append(
            f"CREATE INDEX IF NOT EXISTS {name} ON {dialect.table()} ({', '.join(map(ident, cols_))})"
        )
    # One call reported by two emitters (e.g. the anthropic SDK's own span and another
    # instrumentation's) shares its trace and the provider's response id: count it once.
    statements.append(
        f"CREATE UNIQUE INDEX IF NOT EXISTS llm_usage_call ON {dialect.table()} "
        f"({ident('trace_id')}, {ident('provider')}, {ident('response_id')}) WHERE {ident('response_id')} IS NOT NULL"
    )
    return statements


def add_columns(dialect: Dialect, version: int) -> list[str]:
    """``ALTER TABLE`` statements for the fields :data:`_INTRODUCED` at ``version``."""
    return [
        f"ALTER TABLE {dialect.table()} ADD COLUMN {column_sql(dialect, c)}"
        for c in COLUMNS
        if c.since == version
    ]


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    statements: Callable[[Dialect], list[str]]


MIGRATIONS: tuple[Migration, ...] = (Migration(1, "create llm_usage", create_v1),)


def latest_version() -> int:
    return MIGRATIONS[-1].version


def migrations_table_sql(dialect: Dialect) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {dialect.table(MIGRATIONS_TABLE)} (\n"
        f"  version INTEGER PRIMARY KEY,\n"
        f"  description TEXT NOT NULL,\n"
        f"  applied_at {dialect.timestamp_type} NOT NULL DEFAULT ({dialect.now})\n)"
    )


def first_migration_sql(dialect: Dialect) -> str:
    """Reads what an otel-llmcost ledger records as migration 1 (see :func:`not_a_ledger`)."""
    return f"SELECT description FROM {dialect.table(MIGRATIONS_TABLE)} WHERE version = 1"


def not_a_ledger(tables: Collection[str], first: Sequence[tuple[typing.Any, ...]] | None) -> str | None:
    """Why a database (or schema) holding ``tables`` is not an otel-llmcost ledger; ``None`` when it
    is one. ``first``: the rows of :func:`first_migration_sql`, ``None`` when it could not run.

    Any release of ours recorded migration 1 with its description, so an older ledger passes and
    may be migrated; another application's tables, or none, do not, and are left untouched.
    """
    missing = [name for name in (TABLE, MIGRATIONS_TABLE) if name not in tables]
    if missing:
        return f"it has no {' or '.join(missing)} table"
    if first is None or [tuple(row) for row in first] != [(MIGRATIONS[0].description,)]:
        return f"its {MIGRATIONS_TABLE} table was not written by otel-llmcost"
    return None


def pending(dialect: Dialect, applied: set[int]) -> list[tuple[str, list[typing.Any]]]:
    """The statements (with parameters) that bring a database at ``applied`` up to date.

    Raises :class:`ConfigError` when a newer otel-llmcost migrated the database: writing to a
    table whose layout we do not know could lose data.
    """
    newest = max(applied, default=0)
    if newest > latest_version():
        raise ConfigError(
            f"ledger schema version {newest} is newer than this otel-llmcost understands "
            f"({latest_version()}); upgrade otel-llmcost",
            key="ledger",
        )
    steps: list[tuple[str, list[typing.Any]]] = []
    record = (
        f"INSERT INTO {dialect.table(MIGRATIONS_TABLE)} (version, description) "
        f"VALUES ({dialect.param}, {dialect.param})"
    )
    for migration in MIGRATIONS:
        if migration.version in applied:
            continue
        steps.extend((sql, []) for sql in migration.statements(dialect))
        steps.append((record, [migration.version, migration.description]))
    return steps
