"""Ledger URLs: accepted forms, ConfigError on the key ``ledger`` otherwise, psycopg optional."""

from __future__ import annotations

import subprocess
import sys

import pytest

from otel_llmcost.exceptions import ConfigError
from otel_llmcost.ledger import open_ledger
from otel_llmcost.ledger._url import PostgresTarget, SqliteTarget, parse, redact


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///ledger.db", "ledger.db"),
        ("sqlite:///data/ledger.db", "data/ledger.db"),
        ("sqlite:////var/lib/llmcost/ledger.db", "/var/lib/llmcost/ledger.db"),
        ("sqlite:////tmp/with%20space/l.db", "/tmp/with space/l.db"),
        ("SQLite:///x.db", "x.db"),
        ("sqlite:///:memory:", ":memory:"),
    ],
)
def test_sqlite_urls(url: str, path: str) -> None:
    assert parse(url) == SqliteTarget(path)


@pytest.mark.parametrize(
    ("url", "conninfo", "schema"),
    [
        ("postgresql://u:p@db:5432/llm", "postgresql://u:p@db:5432/llm", None),
        ("postgres://u@db/llm?schema=ledger_a", "postgres://u@db/llm", "ledger_a"),
        (
            "postgresql://u@db/llm?sslmode=require&schema=_x1&application_name=c",
            "postgresql://u@db/llm?sslmode=require&application_name=c",
            "_x1",
        ),
    ],
)
def test_postgres_urls(url: str, conninfo: str, schema: str | None) -> None:
    assert parse(url) == PostgresTarget(conninfo, schema)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("", "empty ledger URL"),
        ("   ", "empty ledger URL"),
        ("ledger.db", "no scheme"),
        ("mysql://u:p@h/db", "unsupported scheme 'mysql'"),
        ("redis://localhost", "unsupported scheme 'redis'"),
        ("sqlite://", "sqlite:///relative/path"),
        ("sqlite:x.db", "sqlite:///relative/path"),
        ("sqlite://host/x.db", "no host"),
        ("sqlite:///", "needs a database file path"),
        ("sqlite:///data/", "needs a database file path"),
        ("sqlite:///x.db?mode=ro", "no query parameters"),
        ("postgresql://u@h/db?schema=bad-name", "not a plain identifier"),
        ("postgresql://u@h/db?schema=", "not a plain identifier"),
        ('postgresql://u@h/db?schema=a";drop', "not a plain identifier"),
        ("postgresql://u@h/db?schema=" + "a" * 64, "not a plain identifier"),
        ("postgresql://u@h/db?schema=a&schema=b", "more than once"),
        ("postgresql://u@h:notaport/db", "malformed URL"),
    ],
)
def test_bad_urls(url: str, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        open_ledger(url)
    assert caught.value.key == "ledger"
    assert reason in str(caught.value)
    assert str(caught.value).startswith("ledger: ")


def test_errors_never_show_the_password() -> None:
    with pytest.raises(ConfigError) as caught:
        open_ledger("postgresql://admin:hunter2@db/llm?schema=no-no")
    assert "hunter2" not in str(caught.value)
    assert "admin:***@db" in str(caught.value)
    assert redact("postgresql://u:p%40ss@h:5/d?x=1") == "postgresql://u:***@h:5/d?x=1"
    assert redact("sqlite:///x.db") == "sqlite:///x.db"


def test_importing_the_ledger_does_not_import_psycopg() -> None:
    code = "import sys, otel_llmcost.ledger; print('psycopg' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_postgres_without_psycopg_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [
        m
        for m in sys.modules
        if m == "psycopg" or m.startswith(("psycopg.", "otel_llmcost.ledger._postgres"))
    ]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "psycopg", None)  # makes `import psycopg` raise ImportError
    with pytest.raises(ConfigError, match=r"pip install 'otel-llmcost\[postgres\]'") as caught:
        open_ledger("postgresql://u:p@127.0.0.1:5432/db")
    assert caught.value.key == "ledger"
