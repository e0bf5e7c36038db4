"""Memory-store specifics: bounded memory without a background thread, asyncio use."""

from __future__ import annotations

import asyncio

from otel_llmcost.budgets._memory import PURGE_BATCH, MemoryStore
from otel_llmcost.budgets._store import (
    DONE_RETENTION_SECONDS,
    RECORD_GRACE_SECONDS,
    BudgetStore,
    Charge,
)

T0 = 1_800_000_000.0


def test_it_satisfies_the_protocol() -> None:
    assert isinstance(MemoryStore(), BudgetStore)


def test_100k_short_lived_keys_do_not_accumulate() -> None:
    store = MemoryStore()
    store.add("org:2026-11", 1, 1, now=T0, ttl_seconds=10 * 86_400.0)  # a long-lived key stays
    baseline = store.stats()
    for i in range(100_000):  # e.g. per-thread keys of finished conversations, hourly windows
        charge = Charge(f"thread:{i}", 1, 1, None, 100, True, ttl_seconds=60.0)
        result = store.reserve([charge], lease_seconds=30, now=T0 + i * 0.0001)
        assert result.reservation_id is not None
        store.settle(result.reservation_id, [(charge.key, 1, 1)], now=T0 + i * 0.0001)
    assert store.stats()["keys"] == 100_001
    later = T0 + 60 + 30 + RECORD_GRACE_SECONDS + 200
    # Ordinary traffic purges a batch per call; no call ever does all the work at once.
    calls = 0
    while store.stats() != baseline:
        store.state(["org:2026-11"], now=later)
        calls += 1
        assert calls <= 2 * 100_000 // PURGE_BATCH + 10
    assert store.stats() == {"keys": 1, "expiry_heap": 1, "reservations": 0}
    assert store.state(["org:2026-11"], now=later)[0].spent_tokens == 1


def test_a_refreshed_ttl_is_honoured_not_the_first_one() -> None:
    store = MemoryStore()
    store.add("idle", 1, 1, now=T0, ttl_seconds=10.0)
    store.add("idle", 1, 1, now=T0 + 8, ttl_seconds=10.0)  # activity pushes expiry to T0 + 18
    store.purge(now=T0 + 12)
    assert store.state(["idle"], now=T0 + 12)[0].spent_tokens == 2
    store.purge(now=T0 + 18)
    assert store.stats()["keys"] == 0
    store.add("shorter", 1, 1, now=T0, ttl_seconds=100.0)
    store.add("shorter", 1, 1, now=T0, ttl_seconds=5.0)  # an earlier expiry takes effect too
    store.purge(now=T0 + 5)
    assert store.stats()["keys"] == 0


def test_tombstones_of_unknown_settles_are_dropped_after_retention() -> None:
    store = MemoryStore()
    for i in range(1000):
        store.settle(f"lost-{i}", [("k", 1, 0)], now=T0)
    assert store.stats()["reservations"] == 1000
    store.purge(now=T0 + DONE_RETENTION_SECONDS)
    assert store.stats()["reservations"] == 0
    assert store.state(["k"], now=T0)[0].spent_usd_nanos == 1000


def test_unsettled_reservations_are_dropped_after_lease_and_grace() -> None:
    store = MemoryStore()
    result = store.reserve([Charge("k", 5, 5, None, None, True)], lease_seconds=30, now=T0)
    assert result.reservation_id is not None
    store.purge(now=T0 + 30 + RECORD_GRACE_SECONDS - 1)
    assert store.stats()["reservations"] == 1  # a late settle can still find its record
    store.purge(now=T0 + 30 + RECORD_GRACE_SECONDS)
    assert store.stats()["reservations"] == 0
    assert store.state(["k"], now=T0 + 31)[0].reserved_tokens == 0


def test_usable_from_asyncio_tasks() -> None:
    store = MemoryStore()

    async def call(i: int) -> bool:
        result = store.reserve([Charge("k", 0, 10, None, 1000, True)], lease_seconds=60)
        await asyncio.sleep(0)  # other tasks run while the reservation is open
        if result.reservation_id is None:
            return False
        return store.settle(result.reservation_id, [("k", 0, 10)])

    async def main() -> list[bool]:
        return await asyncio.gather(*(call(i) for i in range(150)))

    outcomes = asyncio.run(main())
    assert outcomes.count(True) == 100
    assert store.state(["k"])[0].spent_tokens == 1000
