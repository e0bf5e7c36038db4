"""A fixed ledger with hand-computed figures, and per-engine ledger URLs, for the report tests.

The six calls (UTC)::

    #  start                 provider    model              team    project  cost (nanos)    tokens in/out
    1  2025-03-10 12:00:00   openai      gpt-4o             search  alpha    1_250_000_000   1000 (400 cache read) / 200
    2  2025-03-15 08:00:00   openai      gpt-4o-mini        search  beta         3_000_000   1000 / 500
    3  2025-03-20 18:30:00   anthropic   claude-sonnet-4-5  ads     alpha    7_500_000_001   2300 (300 cache write) / 100
    4  2025-03-31 23:59:59   anthropic   claude-sonnet-4-5  -       -          999_999_999   10 / 5
    5  2025-04-01 00:00:00   gcp.gemini  gemini-2.5-pro     ads     -        2_000_000_000   0 / 70 (20 reasoning), error
    6  2025-04-02 10:00:00   openai      o3 (unpriced)      -       -                    0   100 / 10

Totals: 6 calls, 1 error, 1 unpriced, 11_753_000_000 nanos = $11.753, 4410 tokens in, 885 out.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from otel_llmcost.ledger import LedgerRecord
from tests.ledger.support import check_pg, make_record, ns, pg_admin, pg_url

ENGINES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.services),
]


def ledger_url(engine: str, tmp_path: Path) -> Iterator[str]:
    """A URL of a fresh, empty ledger of ``engine`` (a PostgreSQL schema of its own, dropped after)."""
    if engine == "sqlite":
        yield f"sqlite:///{tmp_path / f'ledger-{uuid.uuid4().hex[:8]}.db'}"
        return
    check_pg()
    schema = f"r_{uuid.uuid4().hex[:16]}"
    try:
        yield pg_url(schema)
    finally:
        pg_admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def fixed_records() -> list[LedgerRecord]:
    sonnet = {
        "provider": "anthropic",
        "request_model": "claude-sonnet-4-5",
        "response_model": "claude-sonnet-4-5",
    }
    return [
        make_record(1, start_ns=ns(2025, 3, 10, 12), team="search", project="alpha", user="u1",
                    cost_nanos=1_250_000_000, input_tokens=600, cache_read_tokens=400, output_tokens=200),
        make_record(2, start_ns=ns(2025, 3, 15, 8), request_model="gpt-4o-mini", team="search", project="beta",
                    cost_nanos=3_000_000, input_tokens=1000, output_tokens=500),
        make_record(3, start_ns=ns(2025, 3, 20, 18, 30), **sonnet, team="ads", project="alpha",
                    cost_nanos=7_500_000_001, input_tokens=2000, cache_write_5m_tokens=300, output_tokens=100),
        make_record(4, start_ns=ns(2025, 3, 31, 23, 59, 59), **sonnet, cost_nanos=999_999_999,
                    input_tokens=10, output_tokens=5),
        make_record(5, start_ns=ns(2025, 4, 1), provider="gcp.gemini", request_model="gemini-2.5-pro",
                    response_model="gemini-2.5-pro", team="ads", cost_nanos=2_000_000_000, output_tokens=50,
                    reasoning_tokens=20, status="error", error_type="RateLimitError"),
        make_record(6, start_ns=ns(2025, 4, 2, 10), request_model="o3", response_model="o3", priced=False,
                    pricing_model=None, price_version=None, input_tokens=100, output_tokens=10),
    ]  # fmt: skip


def totals(usd: str, requests: int, errors: int = 0, unpriced: int = 0, **tokens: int) -> dict[str, object]:
    """The totals part of a /v1/report answer; unnamed token counts are 0."""
    found: dict[str, object] = {
        "total_usd": usd,
        "requests": requests,
        "errors": errors,
        "unpriced": unpriced,
    }
    for name in (
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "reasoning_tokens",
    ):
        found[name] = tokens.get(name, 0)
    return found
