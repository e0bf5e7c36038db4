"""Helpers shared by the ledger tests: record factories and the test PostgreSQL server."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import Any

import pytest

from otel_llmcost.ledger import LedgerRecord

PG_URL = os.environ.get("OTEL_LLMCOST_TEST_PG", "postgresql://llmcost:llmcost@127.0.0.1:5432/llmcost_test")


def ns(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, nano: int = 0
) -> int:
    """Nanoseconds since the epoch of a UTC wall-clock time."""
    moment = datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
    return int(moment.timestamp()) * 1_000_000_000 + nano


def make_record(i: int, **fields: Any) -> LedgerRecord:
    """A record with ids derived from ``i`` (unique per ``i``) and sensible defaults."""
    start = fields.pop("start_ns", ns(2025, 3, 10, 12) + i * 1_000_000_000)
    values: dict[str, Any] = {
        "trace_id": f"{i:032x}",
        "span_id": f"{i:016x}",
        "start_ns": start,
        "end_ns": start + 500_000_000,
        "provider": "openai",
        "operation": "chat",
        "request_model": "gpt-4o",
        "response_model": "gpt-4o-2024-08-06",
        "pricing_model": "openai/gpt-4o",
        "price_version": "2025.03",
        **fields,
    }
    return LedgerRecord(**values)


def pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)


def check_pg() -> None:
    """Fail (never skip) the calling test when the test server is unreachable."""
    try:
        pg_admin("SELECT 1")
    except Exception as exc:
        problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    else:
        return
    pytest.fail(
        f"PostgreSQL is unreachable at {PG_URL}: {problem}. Start it with `scripts/services.sh ensure` "
        "(`make test` does), or point OTEL_LLMCOST_TEST_PG at a running server.",
        pytrace=False,
    )


def pg_url(schema: str) -> str:
    """The test server's URL with our ``schema`` parameter."""
    return f"{PG_URL}{'&' if '?' in PG_URL else '?'}schema={schema}"
