"""One ledger suite, two engines: each test gets a fresh SQLite file or a fresh PostgreSQL schema.

PostgreSQL is the server ``scripts/services.sh ensure`` starts (``make test`` runs it). When it is
unreachable the PostgreSQL tests fail, loudly, rather than skip: a green run must mean both
engines were exercised.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from otel_llmcost.ledger import LedgerBackend, open_ledger
from tests.ledger.support import check_pg, pg_admin, pg_url

ENGINES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.services),
]


@pytest.fixture
def fresh_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Callable[[], str]]:
    """A factory of URLs for empty ledgers of the engine under test (dropped afterwards)."""
    engine = request.param
    schemas: list[str] = []

    def make() -> str:
        if engine == "sqlite":
            return f"sqlite:///{tmp_path / f'ledger-{len(schemas)}-{uuid.uuid4().hex[:6]}.db'}"
        schema = f"t_{uuid.uuid4().hex[:16]}"
        schemas.append(schema)
        return pg_url(schema)

    if engine == "postgresql":
        check_pg()
    yield make
    for schema in schemas:
        pg_admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def url(fresh_url: Callable[[], str]) -> str:
    return fresh_url()


@pytest.fixture
def ledger(url: str) -> Iterator[LedgerBackend]:
    backend = open_ledger(url)
    yield backend
    backend.close()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Every test that (indirectly) uses fresh_url runs once per engine.
    if "fresh_url" in metafunc.fixturenames:
        metafunc.parametrize("fresh_url", ENGINES, indirect=True)


@pytest.fixture
def engine(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"
