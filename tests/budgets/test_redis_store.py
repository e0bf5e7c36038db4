"""Redis specifics: key layout and TTLs, retries, two processes, an outage and its recovery."""

from __future__ import annotations

import multiprocessing
import signal
import sys
import threading
import time
from collections.abc import Iterator

import pytest
import redis

from otel_llmcost.budgets._redis import RedisStore
from otel_llmcost.budgets._store import (
    RECORD_GRACE_SECONDS,
    BudgetStore,
    Charge,
    RollingSpec,
    StoreUnavailableError,
    open_store,
)
from otel_llmcost.exceptions import ConfigError
from tests.budgets.conftest import REDIS_URL, ThrowawayRedis, drop_prefix

pytestmark = pytest.mark.services
T0 = 1_800_000_000.0


@pytest.fixture
def shared(redis_prefix: str) -> Iterator[RedisStore]:
    store = RedisStore(REDIS_URL, prefix=redis_prefix)
    yield store
    store.close()


def test_keys_live_under_the_prefix_with_their_ttls(
    shared: RedisStore, redis_client: redis.Redis, redis_prefix: str
) -> None:
    hourly = Charge("h:2026-11-22T13", 10, 1, None, None, True, ttl_seconds=3600.0)
    rolling = Charge("r:rolling-24h", 10, 1, None, None, True, 88_800.0, RollingSpec(1440, 60))
    result = shared.reserve([hourly, rolling], lease_seconds=60, now=T0)
    assert result.reservation_id is not None
    names = sorted(k.decode() for k in redis_client.scan_iter(match=redis_prefix + "*"))
    assert names == sorted(
        [
            redis_prefix + "h:2026-11-22T13",
            redis_prefix + "r:rolling-24h",
            f"{redis_prefix}#r:{result.reservation_id}",
        ]
    )
    assert 3_590_000 < redis_client.pttl(redis_prefix + "h:2026-11-22T13") <= 3_600_000
    assert 88_790_000 < redis_client.pttl(redis_prefix + "r:rolling-24h") <= 88_800_000
    record_ttl = redis_client.pttl(f"{redis_prefix}#r:{result.reservation_id}")
    assert (60 + RECORD_GRACE_SECONDS) * 1000 - 10_000 < record_ttl <= (60 + RECORD_GRACE_SECONDS) * 1000
    shared.settle(result.reservation_id, [("h:2026-11-22T13", 5, 1), ("r:rolling-24h", 5, 1)], now=T0)
    fields = redis_client.hgetall(redis_prefix + "r:rolling-24h")
    bucket = int(T0 // 1440)
    assert fields[f"u:{bucket}".encode()] == b"5"
    assert (fields[b"bs"], fields[b"nb"], fields[b"ru"]) == (b"1440", b"60", b"0")
    assert redis_client.get(f"{redis_prefix}#r:{result.reservation_id}") == b"done"


def test_expiry_is_rearmed_only_when_it_moves(
    shared: RedisStore, redis_client: redis.Redis, redis_prefix: str
) -> None:
    key = redis_prefix + "idle"
    shared.add("idle", 1, 1, now=T0, ttl_seconds=1000.0)
    assert redis_client.hget(key, "ex") == str(int((T0 + 1000) * 1000)).encode()
    shared.add("idle", 1, 1, now=T0 + 5, ttl_seconds=1000.0)  # moved 5 s < 1% of the TTL: kept
    assert redis_client.hget(key, "ex") == str(int((T0 + 1000) * 1000)).encode()
    shared.add("idle", 1, 1, now=T0 + 20, ttl_seconds=1000.0)  # moved 20 s: re-armed
    assert redis_client.hget(key, "ex") == str(int((T0 + 1020) * 1000)).encode()
    shared.add("idle", 1, 1, now=T0 + 20, ttl_seconds=10.0)  # an earlier expiry: re-armed at once
    assert 0 < redis_client.pttl(key) <= 10_000


def test_a_late_settle_on_a_vanished_key_keeps_it_only_a_day(
    shared: RedisStore, redis_client: redis.Redis, redis_prefix: str
) -> None:
    shared.settle("unknown", [("gone:2026-10", 5, 5)], now=T0)
    assert 86_390_000 < redis_client.pttl(redis_prefix + "gone:2026-10") <= 86_400_000
    assert 590_000 < redis_client.pttl(redis_prefix + "#r:unknown") <= 600_000  # the idempotency tombstone


def test_a_reserve_retried_after_a_lost_reply_is_applied_once(shared: RedisStore, redis_prefix: str) -> None:
    # What redis-py's one retry does when the connection drops after Redis ran the script.
    args: list[object] = [int(T0 * 1000), int((T0 + 60) * 1000), "rid-1", 60_000, "100 1 -1 -1 1 -1 0 0"]
    keys = [redis_prefix + "#r:rid-1", redis_prefix + "k"]
    for _ in range(2):
        shared._run("reserve", keys, args)
    assert shared.state(["k"], now=T0)[0].reserved_usd_nanos == 100


def test_open_store_and_bad_urls() -> None:
    assert isinstance(open_store(REDIS_URL), RedisStore)
    assert isinstance(open_store("memory"), BudgetStore)
    with pytest.raises(ConfigError) as err:
        open_store("postgres://nope")
    assert err.value.key == "store"
    with pytest.raises(ConfigError, match="invalid Redis URL"):
        RedisStore("redis://host:notaport/0")


def test_without_redis_py_the_store_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)  # import redis -> ImportError
    with pytest.raises(ConfigError) as err:
        open_store("redis://127.0.0.1:6379/0")
    assert err.value.key == "store"
    assert "pip install 'otel-llmcost[redis]'" in err.value.reason


def _hammer(prefix: str, worker: int, rounds: int, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """One process: 8 threads reserve / settle against the shared limit; reports its spend."""
    store = RedisStore(REDIS_URL, prefix=prefix)
    totals: list[int] = []

    def run(thread: int) -> None:
        for i in range(rounds):
            result = store.reserve([Charge("org", 0, 40, None, 4000, True)], lease_seconds=60)
            if result.reservation_id is None:
                continue
            actual = (worker * 7 + thread * 3 + i) % 40 + 1
            store.settle(result.reservation_id, [("org", 0, actual)])
            totals.append(actual)

    threads = [threading.Thread(target=run, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store.close()
    queue.put(sum(totals))


def test_two_processes_share_one_limit(shared: RedisStore, redis_prefix: str) -> None:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_hammer, args=(redis_prefix, w, 40, queue)) for w in range(2)]
    for process in workers:
        process.start()
    reported = [queue.get(timeout=120) for _ in workers]
    for process in workers:
        process.join(timeout=30)
        assert process.exitcode == 0
    state = shared.state(["org"])[0]
    assert state.spent_tokens == sum(reported) <= 4000
    assert state.spent_tokens > 3000  # the limit was really contended
    assert (state.reserved_tokens, state.reserved_usd_nanos) == (0, 0)


def test_an_outage_fails_fast_and_recovery_is_automatic() -> None:
    server = ThrowawayRedis()
    server.start()
    store = RedisStore(f"redis://127.0.0.1:{server.port}/0", failure_backoff=0.2)
    outcomes: list[str] = []
    seen = {name: threading.Event() for name in ("ok", "down", "back")}
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                result = store.reserve([Charge("k", 1, 1, None, None, True)], lease_seconds=60)
                assert result.reservation_id is not None
                store.settle(result.reservation_id, [("k", 1, 1)])
                outcomes.append("ok")
                (seen["back"] if seen["down"].is_set() else seen["ok"]).set()
            except StoreUnavailableError:
                outcomes.append("down")
                seen["down"].set()
            except Exception as err:  # anything else is a failure of the contract
                outcomes.append(f"unexpected {type(err).__name__}: {err}")

    worker = threading.Thread(target=loop)
    worker.start()
    try:
        assert seen["ok"].wait(10)
        server.kill()  # mid-run
        assert seen["down"].wait(10)
        started = time.perf_counter()
        with pytest.raises(StoreUnavailableError):
            store.state(["k"])
        assert time.perf_counter() - started < 1.0  # no retry storm, no long timeout
        server.start()
        assert seen["back"].wait(10), "the store did not recover after Redis came back"
    finally:
        stop.set()
        worker.join()
        server.kill()
        store.close()
    assert [o for o in outcomes if o.startswith("unexpected")] == []
    assert "ok" in outcomes[outcomes.index("down") :]


def test_a_hung_server_times_out_quickly_and_recovers() -> None:
    server = ThrowawayRedis()
    server.start()
    assert server.process is not None
    store = RedisStore(f"redis://127.0.0.1:{server.port}/0", failure_backoff=0.0)
    try:
        store.add("k", 1, 1)
        server.process.send_signal(signal.SIGSTOP)  # accepts nothing, answers nothing
        started = time.perf_counter()
        with pytest.raises(StoreUnavailableError, match="unreachable"):
            store.add("k", 1, 1)
        assert time.perf_counter() - started < 1.5  # socket timeout 0.5 s, no retry on timeout
        server.process.send_signal(signal.SIGCONT)
        assert store.state(["k"])[0].spent_tokens in (1, 2)  # the timed-out add may have landed
    finally:
        server.kill()
        store.close()


def test_scripts_are_reloaded_after_a_script_flush(shared: RedisStore, redis_client: redis.Redis) -> None:
    shared.add("k", 1, 1, now=T0)
    redis_client.script_flush()  # what a restarted server looks like
    assert shared.add("k", 1, 1, now=T0).spent_tokens == 2


def test_ping_reports_health(shared: RedisStore) -> None:
    assert shared.ping() is True
    dead = RedisStore("redis://127.0.0.1:1/0")
    assert dead.ping() is False
    with pytest.raises(StoreUnavailableError):
        dead.state(["k"])


def test_cleanup_helper_removes_only_its_prefix(redis_client: redis.Redis, redis_prefix: str) -> None:
    redis_client.set(redis_prefix + "x", 1)
    redis_client.set(redis_prefix + "y", 1)
    drop_prefix(redis_client, redis_prefix)
    assert list(redis_client.scan_iter(match=redis_prefix + "*")) == []
