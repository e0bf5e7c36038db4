"""Budgets hold under concurrency: settled spend never exceeds a block limit when max_tokens is
set, and errors leak no reservation — 32 threads, 32 asyncio tasks, two processes on Redis."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import openai
import pytest

from otel_llmcost.budgets import BudgetGuard, parse_policy
from otel_llmcost.budgets._memory import MemoryStore
from otel_llmcost.budgets._redis import RedisStore
from otel_llmcost.budgets._store import BudgetStore
from otel_llmcost.exceptions import BudgetExceededError
from otel_llmcost.instrumentation import LLMCostInstrumentor
from otel_llmcost.pricing import Pricer
from otel_llmcost.simulator import Simulator, UsageRule
from tests.budgets.conftest import REDIS_URL, check_redis, drop_prefix
from tests.conftest import Otel

HI = [{"role": "user", "content": "hi"}]
# "hi" is 8 prompt tokens for both our estimate and the simulator (OpenAI's framing: 3 per
# message + the role + the text, 3 to prime the reply); the simulator answers exactly max_tokens
# (20): every call costs exactly its reservation, 28 tokens.
PER_CALL = 28
FITS = 10
POLICY = {
    "budgets": [
        {
            "name": "shared",
            "window": "total",
            "limit_tokens": PER_CALL * FITS + 5,
            "action": "block",
            "lease_seconds": 60,
        }
    ]
}
KEY = "shared:total"


def run_calls(sim_url: str, n: int, errors: int = 0) -> tuple[int, int, int]:
    """n concurrent calls from threads; returns (ok, blocked, failed)."""
    llm = openai.OpenAI(base_url=sim_url + "/v1", api_key="t", max_retries=0)

    def one(_: int) -> str:
        try:
            llm.chat.completions.create(model="gpt-4o-mini", messages=HI, max_tokens=20)
        except BudgetExceededError:
            return "blocked"
        except openai.InternalServerError:
            return "failed"
        return "ok"

    with ThreadPoolExecutor(max_workers=n) as pool:
        outcomes = list(pool.map(one, range(n)))
    return outcomes.count("ok"), outcomes.count("blocked"), outcomes.count("failed")


def guarded(otel: Otel, pricer: Pricer, store: BudgetStore) -> tuple[LLMCostInstrumentor, BudgetGuard]:
    guard = BudgetGuard(parse_policy(POLICY), store, pricer=pricer, resource={})
    instrumentor = LLMCostInstrumentor()
    instrumentor.instrument(tracer_provider=otel.tracer_provider, pricer=pricer, guard=guard)
    return instrumentor, guard


@pytest.fixture
def sim() -> Any:
    with Simulator() as simulator:
        simulator.set_rule("*", UsageRule(completion_tokens=20))
        yield simulator


def test_32_threads_memory_store(otel: Otel, pricer: Pricer, sim: Simulator) -> None:
    sim.inject_error(status=500, times=5)  # errors must release, never leak, their reservation
    instrumentor, guard = guarded(otel, pricer, MemoryStore())
    try:
        ok, blocked, failed = run_calls(sim.url, 32)
    finally:
        instrumentor.uninstrument()
    (state,) = guard.store.state([KEY])
    # In-flight reservations hold budget, so calls refused while the failing ones were still in
    # flight stay refused: how many succeed depends on timing, the invariants do not.
    assert state.reserved_tokens == 0
    assert state.spent_tokens == PER_CALL * ok <= PER_CALL * FITS + 5
    assert 1 <= ok <= FITS
    assert (ok + blocked + failed, failed) == (32, 5)


def test_32_asyncio_tasks_memory_store(otel: Otel, pricer: Pricer, sim: Simulator) -> None:
    instrumentor, guard = guarded(otel, pricer, MemoryStore())

    async def main() -> list[str]:
        async with openai.AsyncOpenAI(base_url=sim.openai_base_url, api_key="t", max_retries=0) as llm:

            async def one() -> str:
                try:
                    await llm.chat.completions.create(model="gpt-4o-mini", messages=HI, max_tokens=20)
                except BudgetExceededError:
                    return "blocked"
                return "ok"

            return list(await asyncio.gather(*(one() for _ in range(32))))

    try:
        outcomes = asyncio.run(main())
    finally:
        instrumentor.uninstrument()
    (state,) = guard.store.state([KEY])
    assert (outcomes.count("ok"), outcomes.count("blocked")) == (FITS, 32 - FITS)
    assert (state.spent_tokens, state.reserved_tokens) == (PER_CALL * FITS, 0)


def _process(sim_url: str, prefix: str, n: int, queue: Any) -> None:
    pricer = Pricer()
    guard = BudgetGuard(
        parse_policy(POLICY), RedisStore(REDIS_URL, prefix=prefix), pricer=pricer, resource={}
    )
    LLMCostInstrumentor().instrument(pricer=pricer, guard=guard)
    queue.put(run_calls(sim_url, n))


@pytest.mark.services
def test_two_processes_sharing_redis(sim: Simulator) -> None:
    client = check_redis()
    prefix = f"llmcost:test:{uuid.uuid4().hex[:12]}:"
    sim.inject_error(status=500, times=4)
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_process, args=(sim.url, prefix, 16, queue)) for _ in range(2)]
    try:
        for worker in workers:
            worker.start()
        results = [queue.get(timeout=120) for _ in workers]
        for worker in workers:
            worker.join(timeout=30)
            assert worker.exitcode == 0
        store = RedisStore(REDIS_URL, prefix=prefix)
        (state,) = store.state([KEY])
        store.close()
    finally:
        drop_prefix(client, prefix)
    ok = sum(r[0] for r in results)
    assert sum(r[2] for r in results) == 4
    assert 1 <= ok <= FITS
    assert (state.spent_tokens, state.reserved_tokens) == (PER_CALL * ok, 0)
    assert state.spent_tokens <= PER_CALL * FITS + 5


@pytest.mark.services
@pytest.mark.parametrize("on_store_error", ["open", "closed"])
def test_redis_killed_mid_run_then_recovers(
    otel: Otel, pricer: Pricer, sim: Simulator, on_store_error: str
) -> None:
    from tests.budgets.conftest import ThrowawayRedis

    server = ThrowawayRedis()
    server.start()
    policy = {
        "budgets": [
            {
                "name": "shared",
                "window": "total",
                "limit_tokens": 10_000,
                "action": "block",
                "on_store_error": on_store_error,
            }
        ]
    }
    store = RedisStore(f"redis://127.0.0.1:{server.port}/0", failure_backoff=0.05)
    guard = BudgetGuard(parse_policy(policy), store, pricer=pricer, resource={})
    instrumentor = LLMCostInstrumentor()
    instrumentor.instrument(tracer_provider=otel.tracer_provider, pricer=pricer, guard=guard)
    llm = openai.OpenAI(base_url=sim.openai_base_url, api_key="t", max_retries=0)
    try:
        llm.chat.completions.create(model="gpt-4o-mini", messages=HI, max_tokens=20)
        server.kill()
        if on_store_error == "open":
            llm.chat.completions.create(model="gpt-4o-mini", messages=HI, max_tokens=20)  # proceeds
        else:
            with pytest.raises(BudgetExceededError, match="store is unavailable"):
                llm.chat.completions.create(model="gpt-4o-mini", messages=HI, max_tokens=20)
        assert guard.store_errors >= 1
        server.start()  # same port, empty: recovery needs no restart of the app
        # The store fails fast for failure_backoff after an error; nothing to await, so poll.
        deadline = time.monotonic() + 5
        while not store.ping() and time.monotonic() < deadline:
            time.sleep(0.01)
        llm.chat.completions.create(model="gpt-4o-mini", messages=HI, max_tokens=20)
        (state,) = store.state([KEY])
    finally:
        instrumentor.uninstrument()
        store.close()
        server.kill()
    assert (state.spent_tokens, state.reserved_tokens) == (PER_CALL, 0)
    assert len(sim.requests) == (3 if on_store_error == "open" else 2)
