"""Redis dies (SIGKILL) or hangs (SIGSTOP) while eight threads make budget-guarded calls, then
comes back: the configured on_store_error holds for every call, nothing crashes, and the guard
recovers without a restart of the app.

``closed`` must never let a call reach the provider without a reservation; ``open`` must let
every call through. A hung Redis costs each call at most the store's socket timeout.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import openai
import pytest

from otel_llmcost.budgets import BudgetGuard, parse_policy
from otel_llmcost.budgets._redis import RedisStore
from otel_llmcost.budgets._store import Charge, ReserveResult
from otel_llmcost.exceptions import BudgetExceededError
from otel_llmcost.instrumentation import LLMCostInstrumentor
from otel_llmcost.pricing import Pricer
from otel_llmcost.simulator import Simulator, UsageRule
from tests.budgets.conftest import ThrowawayRedis
from tests.budgets.test_guard_concurrency import HI, PER_CALL
from tests.conftest import Otel

pytestmark = pytest.mark.services  # a private redis-server binary
THREADS = 8
SOCKET_TIMEOUT = 0.5


class CountingStore(RedisStore):
    """The real Redis store, counting the reservations it granted."""

    def __init__(self, url: str) -> None:
        super().__init__(url, socket_timeout=SOCKET_TIMEOUT, failure_backoff=0.05)
        self.granted = 0
        self._lock = threading.Lock()

    def reserve(
        self, charges: Sequence[Charge], *, lease_seconds: float, now: float | None = None
    ) -> ReserveResult:
        result = super().reserve(charges, lease_seconds=lease_seconds, now=now)
        if result.ok:
            with self._lock:
                self.granted += 1
        return result


class Load:
    """THREADS threads calling the provider until stopped; outcomes counted per phase."""

    def __init__(self, client: openai.OpenAI) -> None:
        self.client = client
        self.phase = "before"
        self.outcomes: Counter[tuple[str, str]] = Counter()
        self.slowest: dict[str, float] = {}
        self.unexpected: list[BaseException] = []
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run) for _ in range(THREADS)]

    def _run(self) -> None:
        while not self._stop.is_set():
            phase, started = self.phase, time.monotonic()
            try:
                self.client.chat.completions.create(model="gpt-4o-mini", messages=HI, max_tokens=20)
                outcome = "ok"
            except BudgetExceededError as err:
                outcome = "refused: store down" if "store is unavailable" in str(err) else "refused"
            except BaseException as err:  # anything else reaching the app is a failure of ours
                self.unexpected.append(err)
                outcome = "unexpected"
            with self._cond:
                self.outcomes[phase, outcome] += 1
                self.slowest[phase] = max(self.slowest.get(phase, 0.0), time.monotonic() - started)
                self._cond.notify_all()

    def wait_for(self, phase: str, outcome: str, count: int, timeout: float = 20) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: self.outcomes[phase, outcome] >= count, timeout), self.outcomes

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)


@pytest.fixture
def guarded(
    otel: Otel, pricer: Pricer
) -> Iterator[Callable[[str], tuple[ThrowawayRedis, CountingStore, Simulator, openai.OpenAI]]]:
    cleanup: list[Callable[[], None]] = []

    def make(on_store_error: str) -> tuple[ThrowawayRedis, CountingStore, Simulator, openai.OpenAI]:
        server = ThrowawayRedis()
        server.start()
        cleanup.append(server.kill)
        policy = {"budgets": [{
            "name": "shared", "window": "total", "limit_tokens": 10**9, "action": "block",
            "on_store_error": on_store_error, "lease_seconds": 60,
        }]}  # fmt: skip
        store = CountingStore(f"redis://127.0.0.1:{server.port}/0")
        cleanup.append(store.close)
        instrumentor = LLMCostInstrumentor()
        guard = BudgetGuard(parse_policy(policy), store, pricer=pricer, resource={})
        instrumentor.instrument(tracer_provider=otel.tracer_provider, pricer=pricer, guard=guard)
        cleanup.append(instrumentor.uninstrument)
        sim = Simulator().start()
        cleanup.append(sim.stop)
        sim.set_rule("*", UsageRule(completion_tokens=20))
        client = openai.OpenAI(base_url=sim.openai_base_url, api_key="t", max_retries=0)
        # The first call loads the tokenizer (a second or two): not what the timings are about.
        client.chat.completions.create(model="gpt-4o-mini", messages=HI, max_tokens=20)
        sim.clear()
        store.granted = 0  # its spend stays in the store: one PER_CALL more than the counts below
        return server, store, sim, client

    yield make
    for step in reversed(cleanup):
        step()


def freeze(server: ThrowawayRedis) -> Callable[[], None]:
    assert server.process is not None
    pid = server.process.pid
    os.kill(pid, signal.SIGSTOP)
    return lambda: os.kill(pid, signal.SIGCONT)


@pytest.mark.parametrize("fault", ["killed", "frozen"])
@pytest.mark.parametrize("on_store_error", ["closed", "open"])
def test_threads_calling_through_a_redis_outage(guarded: Any, on_store_error: str, fault: str) -> None:
    server, store, sim, client = guarded(on_store_error)
    during = "refused: store down" if on_store_error == "closed" else "ok"
    with Load(client) as load:
        load.wait_for("before", "ok", 4 * THREADS)
        resume = freeze(server) if fault == "frozen" else None
        if resume is None:
            server.kill()
        load.phase = "outage"
        load.wait_for("outage", during, 2 * THREADS)
        if resume is not None:
            resume()
        else:
            server.start()  # same port, empty
        load.phase = "after"
        load.wait_for("after", "ok", 4 * THREADS)  # recovered: no restart of the app
    print(
        on_store_error,
        fault,
        dict(load.outcomes),
        {k: round(v, 3) for k, v in load.slowest.items()},
        store.granted,
    )
    assert load.unexpected == []
    outcomes = load.outcomes
    if on_store_error == "closed":
        # Never through unreserved: every request the provider saw had a reservation granted.
        assert len(sim.requests) == store.granted == sum(n for (_, o), n in outcomes.items() if o == "ok")
        assert outcomes["outage", "refused: store down"] >= 2 * THREADS
    else:
        assert {o for _, o in outcomes} == {"ok"}  # fail open: every call went ahead
        assert len(sim.requests) == sum(outcomes.values()) > store.granted
    # A hung Redis costs a call one socket timeout (reserve, or settle), never a hang.
    assert max(load.slowest.values()) < 4 * SOCKET_TIMEOUT + 1.0, load.slowest
    (state,) = store.state(["shared:total"])
    assert state.spent_tokens % PER_CALL == 0 and 0 < state.spent_tokens <= PER_CALL * (store.granted + 1)
