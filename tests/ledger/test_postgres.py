"""PostgreSQL specifics: transparent reconnect, schema handling, connection failures."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from otel_llmcost.exceptions import ConfigError, LedgerUnavailableError
from otel_llmcost.ledger import open_ledger
from otel_llmcost.ledger._postgres import PostgresLedger
from otel_llmcost.ledger._url import redact
from tests.ledger.support import PG_URL, check_pg, make_record, pg_admin, pg_url

pytestmark = pytest.mark.services


@pytest.fixture
def pg() -> Iterator[PostgresLedger]:
    check_pg()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    ledger = open_ledger(pg_url(schema))
    assert isinstance(ledger, PostgresLedger)
    yield ledger
    ledger.close()
    pg_admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _terminate(*pids: int) -> None:
    for pid in pids:
        pg_admin(f"SELECT pg_terminate_backend({int(pid)})")


def test_writes_survive_a_lost_connection(pg: PostgresLedger) -> None:
    assert pg.insert([make_record(1)]) == 1
    assert pg._writer is not None
    _terminate(pg._writer.info.backend_pid)
    assert pg.insert([make_record(1), make_record(2)]) == 1  # reconnected once, transparently
    assert pg.count() == 2


def test_reads_survive_a_lost_connection(pg: PostgresLedger) -> None:
    pg.insert([make_record(1, cost_nanos=7)])
    assert pg.totals().cost_nanos == 7
    _terminate(*(conn.info.backend_pid for conn in pg._readers._idle))
    assert pg.totals().cost_nanos == 7
    assert [r.trace_id for r in pg.records()] == [f"{1:032x}"]


def test_a_second_failure_is_raised(pg: PostgresLedger, monkeypatch: pytest.MonkeyPatch) -> None:
    pg.insert([make_record(1)])
    assert pg._writer is not None
    _terminate(pg._writer.info.backend_pid)
    real_connect = pg._connect

    def connect_then_die(*, autocommit: bool) -> psycopg.Connection[tuple[object, ...]]:
        conn = real_connect(autocommit=autocommit)
        _terminate(conn.info.backend_pid)
        return conn

    monkeypatch.setattr(pg, "_connect", connect_then_die)
    with pytest.raises(psycopg.OperationalError):
        pg.insert([make_record(2)])
    monkeypatch.undo()
    assert pg.insert([make_record(2)]) == 1  # and the ledger recovers on the next call


def test_schema_is_created_and_isolated() -> None:
    check_pg()
    a, b = (f"t_{uuid.uuid4().hex[:16]}" for _ in range(2))
    try:
        with open_ledger(pg_url(a)) as first, open_ledger(pg_url(b)) as second:
            first.insert([make_record(1)])
            assert (first.count(), second.count()) == (1, 0)
    finally:
        for schema in (a, b):
            pg_admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_unreachable_server_is_unavailable_not_bad_configuration() -> None:
    with pytest.raises(LedgerUnavailableError) as caught:
        open_ledger("postgresql://llmcost:s3cret@127.0.0.1:1/llmcost_test?schema=x")
    assert caught.value.key == "ledger"
    assert caught.value.reason == (
        "cannot open PostgreSQL ledger postgresql://llmcost:***@127.0.0.1:1/llmcost_test?schema=x: "
        "connection failed: "
        'connection to server at "127.0.0.1", port 1 failed: Connection refused'
    )


def test_a_parameter_libpq_refuses_is_bad_configuration() -> None:
    with pytest.raises(ConfigError) as caught:
        open_ledger(f"{PG_URL}?sslmode=bogus")
    assert type(caught.value) is ConfigError
    assert str(caught.value) == (
        f"ledger: cannot open PostgreSQL ledger {redact(PG_URL)}?sslmode=bogus: "
        'connection is bad: invalid sslmode value: "bogus"'
    )


def test_an_unknown_parameter_is_named_with_the_accepted_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        open_ledger("postgresql://llmcost:s3cret@127.0.0.1:1/llmcost_test?sslmode=require&foo=bar&schema=x")
    assert type(caught.value) is ConfigError
    message = str(caught.value)
    assert message.startswith(
        "ledger: unknown parameter 'foo' (got 'postgresql://llmcost:***@127.0.0.1:1/llmcost_test?sslmode=require"
        "&foo=bar&schema=x'); a postgresql ledger URL takes schema=NAME and libpq's parameters: application_name, "
    )
    assert ", connect_timeout, " in message and ", sslmode, " in message and "\n" not in message
    with pytest.raises(ConfigError) as caught:
        open_ledger("postgresql://u@127.0.0.1:1/d%zz")
    assert (
        str(caught.value)
        == "ledger: invalid percent-encoded token: \"d%zz\" (got 'postgresql://u@127.0.0.1:1/d%zz')"
    )
