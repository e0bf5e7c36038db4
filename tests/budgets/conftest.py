"""Budget-store fixtures: every contract test runs against the memory store and a real Redis.

Redis is the server ``scripts/services.sh ensure`` starts (``make test`` runs it), reached at
``$OTEL_LLMCOST_TEST_REDIS``. When it is unreachable the Redis tests FAIL, loudly, rather than
skip: a green run must mean both stores were exercised. Each test gets its own random key
prefix and removes its keys afterwards, so tests can run in parallel against one server.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator

import pytest
import redis

from otel_llmcost.budgets._memory import MemoryStore
from otel_llmcost.budgets._redis import RedisStore
from otel_llmcost.budgets._store import BudgetStore

REDIS_URL = os.environ.get("OTEL_LLMCOST_TEST_REDIS", "redis://127.0.0.1:6379/0")


def check_redis() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as err:
        pytest.fail(
            f"Redis is unreachable at {REDIS_URL} ({err}); start it with `scripts/services.sh ensure`"
            " or point OTEL_LLMCOST_TEST_REDIS at one. These tests do not skip.",
            pytrace=False,
        )
    return client


def drop_prefix(client: redis.Redis, prefix: str) -> None:
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = check_redis()
    yield client
    client.close()


@pytest.fixture
def redis_prefix(redis_client: redis.Redis) -> Iterator[str]:
    """A key prefix no other test uses; its keys are deleted afterwards."""
    prefix = f"llmcost:test:{uuid.uuid4().hex[:12]}:"
    yield prefix
    drop_prefix(redis_client, prefix)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.services)])
def store(request: pytest.FixtureRequest) -> Iterator[BudgetStore]:
    if request.param == "memory":
        memory = MemoryStore()
        yield memory
        memory.close()
        return
    prefix = request.getfixturevalue("redis_prefix")
    shared = RedisStore(REDIS_URL, prefix=prefix)
    yield shared
    shared.close()


@pytest.fixture
def kind(store: BudgetStore) -> str:
    return "redis" if isinstance(store, RedisStore) else "memory"


class ThrowawayRedis:
    """A private redis-server on a free port (never the machine's shared one)."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed (scripts/services.sh ensure installs it)"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        for line in self.process.stdout:  # wait for readiness by reading its log, not by sleeping
            if "Ready to accept connections" in line:
                return
        raise AssertionError("redis-server exited before it was ready")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None
