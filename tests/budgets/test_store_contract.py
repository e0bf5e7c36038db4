"""The budget-store contract, run against BOTH stores (``[memory]`` and ``[redis]`` ids).

Time is passed explicitly (``now=``), so lease expiry, window expiry and rolling buckets are
tested by moving the clock, never by sleeping.
"""

from __future__ import annotations

import random
import threading

import pytest

from otel_llmcost.budgets._store import BudgetState, BudgetStore, Charge, RollingSpec

T0 = 1_800_000_000.0  # a whole hour (and minute) in Unix time: bucket boundaries are predictable
LEASE = 60.0


def charge(key: str, usd: int = 0, tokens: int = 0, **kw: object) -> Charge:
    fields: dict[str, object] = {
        "limit_usd_nanos": None,
        "limit_tokens": None,
        "enforce": True,
        "ttl_seconds": None,
        "rolling": None,
    }
    fields.update(kw)
    return Charge(key, usd, tokens, **fields)  # type: ignore[arg-type]


def spent(store: BudgetStore, key: str, now: float = T0) -> tuple[int, int]:
    state = store.state([key], now=now)[0]
    return state.spent_usd_nanos, state.spent_tokens


def reserved(store: BudgetStore, key: str, now: float = T0) -> tuple[int, int]:
    state = store.state([key], now=now)[0]
    return state.reserved_usd_nanos, state.reserved_tokens


def test_reserve_then_settle_moves_the_estimate_to_actual_spend(store: BudgetStore) -> None:
    result = store.reserve([charge("a", 100, 10, limit_usd_nanos=1000)], lease_seconds=LEASE, now=T0)
    assert result.ok and result.reservation_id and result.refused_key is None
    assert result.states == (BudgetState("a", 0, 0, 100, 10),)
    assert store.settle(result.reservation_id, [("a", 70, 8)], now=T0 + 1) is True
    assert store.state(["a"], now=T0 + 1) == [BudgetState("a", 70, 8, 0, 0)]


def test_reserve_is_all_or_nothing_across_charges(store: BudgetStore) -> None:
    store.add("team", 900, 0, now=T0)
    charges = [
        charge("org", 50, 5, limit_usd_nanos=10_000),
        charge("team", 150, 5, limit_usd_nanos=1_000),  # 900 + 150 > 1000
        charge("user", 50, 5, limit_tokens=100),
    ]
    result = store.reserve(charges, lease_seconds=LEASE, now=T0)
    assert not result.ok
    assert result.reservation_id is None
    assert result.refused_key == "team"
    assert result.states == (
        BudgetState("org", 0, 0, 0, 0),
        BudgetState("team", 900, 0, 0, 0),
        BudgetState("user", 0, 0, 0, 0),
    )
    assert store.state(["org", "team", "user"], now=T0) == list(result.states)  # nothing reserved


@pytest.mark.parametrize(
    ("limit", "estimate", "ok"),
    [
        ({"limit_usd_nanos": 1000}, (400, 0), True),  # 600 + 400 == limit: allowed
        ({"limit_usd_nanos": 1000}, (401, 0), False),
        ({"limit_tokens": 100}, (0, 40), True),
        ({"limit_tokens": 100}, (0, 41), False),
        ({"limit_usd_nanos": 10**9, "limit_tokens": 100}, (1, 41), False),  # either limit refuses
    ],
)
def test_limits_count_spent_plus_reserved(
    store: BudgetStore, limit: dict[str, int], estimate: tuple[int, int], ok: bool
) -> None:
    store.add("k", 300, 30, now=T0)
    first = store.reserve([charge("k", 300, 30, **limit)], lease_seconds=LEASE, now=T0)
    assert first.ok
    second = store.reserve([charge("k", *estimate, **limit)], lease_seconds=LEASE, now=T0)
    assert second.ok is ok
    assert second.refused_key == (None if ok else "k")


def test_alert_only_budgets_never_refuse(store: BudgetStore) -> None:
    store.add("alert", 5_000, 0, now=T0)
    result = store.reserve(
        [charge("alert", 100, 1, limit_usd_nanos=1000, enforce=False)], lease_seconds=LEASE, now=T0
    )
    assert result.ok
    assert reserved(store, "alert") == (100, 1)


def test_settle_may_exceed_the_estimate_and_then_refuses_more(store: BudgetStore) -> None:
    limit = {"limit_usd_nanos": 1000}
    result = store.reserve([charge("k", 100, 1, **limit)], lease_seconds=LEASE, now=T0)
    assert result.reservation_id is not None
    store.settle(result.reservation_id, [("k", 1200, 50)], now=T0)  # the provider billed more
    assert store.state(["k"], now=T0) == [BudgetState("k", 1200, 50, 0, 0)]
    refused = store.reserve([charge("k", 0, 0, **limit)], lease_seconds=LEASE, now=T0)
    assert not refused.ok  # already over: even an empty call is refused


def test_release_returns_the_reservation(store: BudgetStore) -> None:
    result = store.reserve([charge("a", 100, 10), charge("b", 5, 5)], lease_seconds=LEASE, now=T0)
    assert result.reservation_id is not None
    assert store.release(result.reservation_id, now=T0) is True
    assert store.state(["a", "b"], now=T0) == [BudgetState("a", 0, 0, 0, 0), BudgetState("b", 0, 0, 0, 0)]
    assert store.release(result.reservation_id, now=T0) is False
    assert store.settle(result.reservation_id, [("a", 1, 1)], now=T0) is False  # already done
    assert store.release("no-such-reservation", now=T0) is False


def test_an_expired_lease_is_released_by_the_next_operation(store: BudgetStore) -> None:
    limit = {"limit_usd_nanos": 1000}
    crashed = store.reserve([charge("k", 800, 8, **limit)], lease_seconds=30, now=T0)
    assert crashed.ok
    assert not store.reserve([charge("k", 800, 8, **limit)], lease_seconds=30, now=T0 + 29.9).ok
    assert reserved(store, "k", now=T0 + 30) == (0, 0)
    assert store.reserve([charge("k", 800, 8, **limit)], lease_seconds=30, now=T0 + 30).ok


def test_a_late_settle_still_records_the_actual_spend(store: BudgetStore) -> None:
    late = store.reserve([charge("k", 500, 5)], lease_seconds=30, now=T0)
    other = store.reserve([charge("k", 100, 1)], lease_seconds=300, now=T0 + 10)
    assert late.reservation_id is not None and other.reservation_id is not None
    assert reserved(store, "k", now=T0 + 40) == (100, 1)  # the late one's lease ended
    assert store.settle(late.reservation_id, [("k", 450, 4)], now=T0 + 60) is True
    assert store.state(["k"], now=T0 + 60) == [BudgetState("k", 450, 4, 100, 1)]  # nothing subtracted twice


def test_settle_is_idempotent_per_reservation(store: BudgetStore) -> None:
    result = store.reserve([charge("k", 100, 1)], lease_seconds=LEASE, now=T0)
    assert result.reservation_id is not None
    assert store.settle(result.reservation_id, [("k", 90, 1)], now=T0) is True
    assert store.settle(result.reservation_id, [("k", 90, 1)], now=T0) is False
    assert spent(store, "k") == (90, 1)


def test_settle_of_an_unknown_reservation_records_once(store: BudgetStore) -> None:
    assert store.settle("lost-after-restart", [("k", 70, 7), ("j", 1, 1)], now=T0) is True
    assert store.settle("lost-after-restart", [("k", 70, 7), ("j", 1, 1)], now=T0) is False
    assert spent(store, "k") == (70, 7)
    assert spent(store, "j") == (1, 1)


def test_settle_may_name_keys_the_reservation_did_not(store: BudgetStore) -> None:
    result = store.reserve([charge("a", 10, 1)], lease_seconds=LEASE, now=T0)
    assert result.reservation_id is not None
    store.settle(result.reservation_id, [("a", 10, 1), ("extra", 3, 3)], now=T0)
    assert store.state(["a", "extra"], now=T0) == [
        BudgetState("a", 10, 1, 0, 0),
        BudgetState("extra", 3, 3, 0, 0),
    ]


def test_seed_applies_once_per_seed_id(store: BudgetStore) -> None:
    assert store.seed("k", 500, 5, seed_id="ledger:2026-11", now=T0) is True
    assert store.seed("k", 500, 5, seed_id="ledger:2026-11", now=T0) is False
    assert store.seed("k", 1, 1, seed_id="other", now=T0) is True
    assert spent(store, "k") == (501, 6)
    store.delete(["k"])
    assert store.seed("k", 500, 5, seed_id="ledger:2026-11", now=T0) is True  # the seed went with the key
    assert spent(store, "k") == (500, 5)


def test_add_returns_the_new_state(store: BudgetStore) -> None:
    assert store.add("k", 5, 6, now=T0) == BudgetState("k", 5, 6, 0, 0)
    assert store.add("k", 5, 6, now=T0) == BudgetState("k", 10, 12, 0, 0)


def test_state_of_unknown_keys_is_zero_and_delete_counts(store: BudgetStore) -> None:
    store.add("a", 1, 1, now=T0)
    assert store.state(["nope", "a"], now=T0) == [
        BudgetState("nope", 0, 0, 0, 0),
        BudgetState("a", 1, 1, 0, 0),
    ]
    assert store.delete(["a", "nope"]) == 1
    assert store.state(["a"], now=T0) == [BudgetState("a", 0, 0, 0, 0)]
    assert store.state([], now=T0) == []


def test_invalid_charges_are_rejected(store: BudgetStore) -> None:
    with pytest.raises(ValueError, match="negative"):
        store.reserve([charge("a", -1, 0)], lease_seconds=LEASE, now=T0)
    with pytest.raises(ValueError, match="twice"):
        store.reserve([charge("a", 1, 0), charge("a", 1, 0)], lease_seconds=LEASE, now=T0)


def test_window_keys_expire_after_their_ttl(
    store: BudgetStore, kind: str, request: pytest.FixtureRequest
) -> None:
    result = store.reserve([charge("month", 10, 1, ttl_seconds=120.0)], lease_seconds=LEASE, now=T0)
    assert result.reservation_id is not None
    store.settle(result.reservation_id, [("month", 10, 1)], now=T0)
    store.add("forever", 1, 1, now=T0)
    if kind == "redis":  # Redis expires keys on its own clock: check the TTL it was given
        client = request.getfixturevalue("redis_client")
        prefix = request.getfixturevalue("redis_prefix")
        assert 110_000 < client.pttl(prefix + "month") <= 120_000
        assert client.ttl(prefix + "forever") == -1
    else:
        assert spent(store, "month", now=T0 + 119) == (10, 1)
        assert spent(store, "month", now=T0 + 120) == (0, 0)
        assert spent(store, "forever", now=T0 + 10**6) == (1, 1)


def test_rolling_window_sums_slide_out(store: BudgetStore) -> None:
    hour = RollingSpec(bucket_seconds=60, buckets=60)
    store.add("r", 10, 1, now=T0, rolling=hour)
    store.add("r", 20, 2, now=T0 + 1800, rolling=hour)
    store.add("r", 40, 4, now=T0 + 3599, rolling=hour)
    assert spent(store, "r", now=T0 + 3599) == (70, 7)
    assert spent(store, "r", now=T0 + 3600) == (60, 6)  # the first bucket dropped out
    assert spent(store, "r", now=T0 + 1800 + 3600) == (40, 4)
    assert spent(store, "r", now=T0 + 10 * 3600) == (0, 0)
    limit = {"limit_usd_nanos": 100, "rolling": hour}
    store.add("q", 100, 0, now=T0, rolling=hour)
    assert not store.reserve([charge("q", 1, 0, **limit)], lease_seconds=LEASE, now=T0 + 3599).ok
    later = store.reserve([charge("q", 1, 0, **limit)], lease_seconds=LEASE, now=T0 + 3600)
    assert later.ok and later.reservation_id is not None
    store.settle(later.reservation_id, [("q", 5, 0)], now=T0 + 3600)
    assert spent(store, "q", now=T0 + 3600) == (5, 0)
    assert spent(store, "q", now=T0 + 2 * 3600) == (0, 0)


def test_large_amounts_stay_exact(store: BudgetStore) -> None:
    # $9M in nano-dollars: below 2^53, where Lua's doubles are still exact.
    big = 9_000_000_000_000_000
    result = store.reserve([charge("k", big, 1, limit_usd_nanos=big)], lease_seconds=LEASE, now=T0)
    assert result.ok and result.states[0].reserved_usd_nanos == big
    assert result.reservation_id is not None
    store.settle(result.reservation_id, [("k", big - 1, 1)], now=T0)
    assert spent(store, "k") == (big - 1, 1)


def test_concurrent_reservations_never_overspend(store: BudgetStore) -> None:
    limit = 5_000
    settled: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(32)

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        start.wait()
        for _ in range(40):
            charges = [charge("org", 0, 50, limit_tokens=limit), charge(f"user{seed % 4}", 0, 50)]
            result = store.reserve(charges, lease_seconds=LEASE)
            if not result.ok:
                continue
            assert result.reservation_id is not None
            if rng.random() < 0.2:
                store.release(result.reservation_id)
                continue
            actual = rng.randint(1, 50)  # never above the estimate (max_tokens was set)
            store.settle(result.reservation_id, [("org", 0, actual), (f"user{seed % 4}", 0, actual)])
            with lock:
                settled.append(actual)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    org = store.state(["org"])[0]
    assert org.spent_tokens == sum(settled) <= limit
    assert (org.reserved_tokens, org.reserved_usd_nanos) == (0, 0)
    assert sum(s.spent_tokens for s in store.state([f"user{i}" for i in range(4)])) == sum(settled)
