"""Ledger URLs: ``sqlite:///path``, ``sqlite:///:memory:``, ``postgresql://…[?schema=NAME]``.

SQLite follows the SQLAlchemy convention: what follows ``sqlite:///`` is the path, so a
relative path has three slashes (``sqlite:///data/ledger.db``, relative to the working
directory) and an absolute one four (``sqlite:////var/lib/llmcost/ledger.db``). The path is
percent-decoded. Every problem is a :class:`ConfigError` on the key ``ledger``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from otel_llmcost.exceptions import ConfigError

KEY = "ledger"
MEMORY = ":memory:"
_SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


@dataclass(frozen=True, slots=True)
class SqliteTarget:
    path: str  # a filesystem path, or ":memory:"


@dataclass(frozen=True, slots=True)
class PostgresTarget:
    conninfo: str  # the URL psycopg connects to, without our own parameters
    schema: str | None


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***``, for logs and error messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = parts.netloc.rpartition("@")[0].partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def _fail(url: str, reason: str) -> ConfigError:
    return ConfigError(f"{reason} (got {redact(url)!r})", key=KEY)


def parse(url: str) -> SqliteTarget | PostgresTarget:
    if not isinstance(url, str) or not url.strip():
        raise ConfigError("empty ledger URL; expected sqlite:///path or postgresql://…", key=KEY)
    url = url.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parses the port, raising ValueError when it is not a number
    except ValueError as exc:
        raise _fail(url, f"malformed URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        return _parse_sqlite(url, parts.netloc, parts.path, parts.query)
    if scheme in ("postgresql", "postgres"):
        return _parse_postgres(url)
    if not scheme:
        raise _fail(url, "no scheme; expected sqlite:///path or postgresql://user:pass@host:port/db")
    raise _fail(url, f"unsupported scheme {scheme!r}; expected sqlite or postgresql")


def _parse_sqlite(url: str, netloc: str, path: str, query: str) -> SqliteTarget:
    if netloc or not url.lower().startswith("sqlite:///"):
        raise _fail(url, "a SQLite URL is sqlite:///relative/path or sqlite:////absolute/path (no host)")
    if query:
        raise _fail(url, "a SQLite URL takes no query parameters")
    path = unquote(path[1:])  # drop the slash that ends "sqlite://"
    if not path or path.endswith("/"):
        raise _fail(url, "a SQLite URL needs a database file path")
    return SqliteTarget(path)


def _parse_postgres(url: str) -> PostgresTarget:
    parts = urlsplit(url)
    params = parse_qsl(parts.query, keep_blank_values=True)
    schemas = [value for name, value in params if name == "schema"]
    if len(schemas) > 1:
        raise _fail(url, "schema given more than once")
    schema = schemas[0] if schemas else None
    if schema is not None and not _SCHEMA_NAME.fullmatch(schema):
        raise _fail(url, f"schema {schema!r} is not a plain identifier (letters, digits, _; max 63)")
    rest = urlencode([(name, value) for name, value in params if name != "schema"])
    return PostgresTarget(urlunsplit(parts._replace(query=rest)), schema)
