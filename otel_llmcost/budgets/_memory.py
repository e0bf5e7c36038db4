"""In-process budget store: one lock, no I/O, so it is safe from threads and from asyncio code.

Every operation costs O(charges) plus a bounded slice of housekeeping: each call purges at most
:data:`PURGE_BATCH` expired window keys and reservation records, more than one call can create,
so memory returns to its working set once keys expire (calendar windows that ended, idle
per-thread keys) without any background thread.
"""

from __future__ import annotations

import heapq
import itertools
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from math import inf

from otel_llmcost.budgets._store import (
    DONE_RETENTION_SECONDS,
    ORPHAN_TTL_SECONDS,
    RECORD_GRACE_SECONDS,
    Actual,
    BudgetState,
    Charge,
    ReserveResult,
    RollingSpec,
    validate_charges,
)

__all__ = ["PURGE_BATCH", "MemoryStore"]

PURGE_BATCH = 64


class _Entry:
    """One budget key: spend (running sums, plus buckets when rolling) and open holds."""

    __slots__ = (
        "buckets",
        "expires_at",
        "first",
        "holds",
        "min_lease",
        "rolling",
        "rt",
        "ru",
        "scheduled",
        "seeds",
        "st",
        "su",
    )

    def __init__(self, rolling: RollingSpec | None, now: float) -> None:
        self.su = self.st = self.ru = self.rt = 0
        self.holds: dict[str, tuple[int, int, float]] = {}  # reservation id -> (usd, tokens, lease end)
        self.min_lease = inf  # no hold can have expired before this
        self.expires_at: float | None = None
        self.scheduled: float | None = None  # the time this key sits in the expiry heap under
        self.seeds: set[str] | None = None
        self.rolling = rolling
        self.buckets: dict[int, list[int]] = {}
        self.first = int(now // rolling.bucket_seconds) if rolling else 0  # oldest live bucket

    def refresh(self, now: float) -> None:
        """Drop expired holds and rolling buckets that slid out of the window."""
        if now >= self.min_lease:
            expired = [rid for rid, hold in self.holds.items() if hold[2] <= now]
            for rid in expired:
                usd, tokens, _ = self.holds.pop(rid)
                self.ru -= usd
                self.rt -= tokens
            self.min_lease = min((hold[2] for hold in self.holds.values()), default=inf)
        rolling = self.rolling
        if rolling is not None:
            oldest = int(now // rolling.bucket_seconds) - rolling.buckets + 1
            if oldest > self.first:
                for index in [i for i in self.buckets if i < oldest]:
                    usd, tokens = self.buckets.pop(index)
                    self.su -= usd
                    self.st -= tokens
                self.first = oldest

    def spend(self, usd: int, tokens: int, now: float) -> None:
        self.su += usd
        self.st += tokens
        if self.rolling is not None:
            bucket = self.buckets.setdefault(int(now // self.rolling.bucket_seconds), [0, 0])
            bucket[0] += usd
            bucket[1] += tokens

    def state(self, key: str) -> BudgetState:
        return BudgetState(key, self.su, self.st, self.ru, self.rt)


class _Record:
    """What a reservation needs at settle time; kept (``done``) as an idempotency tombstone."""

    __slots__ = ("charges", "done", "drop_at")

    def __init__(self, charges: tuple[Charge, ...], drop_at: float, done: bool = False) -> None:
        self.charges = charges
        self.drop_at = drop_at
        self.done = done


class MemoryStore:
    """A :class:`~otel_llmcost.budgets._store.BudgetStore` for one process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._expiry: list[tuple[float, str]] = []  # heap of (time, key); stale items are skipped
        self._records: OrderedDict[str, _Record] = OrderedDict()  # roughly in drop_at order
        self._next_drop = inf  # no record is due before this
        self._ids = itertools.count()
        self._id_prefix = secrets.token_hex(4)

    # -- the contract -------------------------------------------------------------------------

    def reserve(
        self, charges: Sequence[Charge], *, lease_seconds: float, now: float | None = None
    ) -> ReserveResult:
        validate_charges(charges)
        now = time.time() if now is None else now
        with self._lock:
            self._purge(now)
            entries = []
            refused = None
            for charge in charges:
                entry = self._live(charge.key, now)
                entries.append(entry)
                if refused is None and charge.enforce and _over(charge, entry):
                    refused = charge.key
            if refused is not None:
                untouched = tuple(_state(c.key, e) for c, e in zip(charges, entries, strict=True))
                return ReserveResult(False, None, refused, untouched)
            rid = f"{self._id_prefix}-{next(self._ids)}"
            lease_end = now + lease_seconds
            states = []
            for charge, maybe in zip(charges, entries, strict=True):
                key = charge.key
                entry = maybe if maybe is not None else self._create(key, charge.rolling, now)
                entry.holds[rid] = (charge.usd_nanos, charge.tokens, lease_end)
                entry.ru += charge.usd_nanos
                entry.rt += charge.tokens
                if lease_end < entry.min_lease:
                    entry.min_lease = lease_end
                if charge.ttl_seconds is not None:
                    self._expire(key, entry, now + charge.ttl_seconds)
                states.append(BudgetState(key, entry.su, entry.st, entry.ru, entry.rt))
            drop_at = lease_end + RECORD_GRACE_SECONDS
            self._records[rid] = _Record(tuple(charges), drop_at)
            self._next_drop = min(self._next_drop, drop_at)
            return ReserveResult(True, rid, None, tuple(states))

    def settle(self, reservation_id: str, actual: Sequence[Actual], *, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        with self._lock:
            self._purge(now)
            record = self._records.get(reservation_id)
            if record is not None and record.done:
                return False
            held = self._drop_holds(reservation_id, record, now)
            for key, usd, tokens in actual:
                if usd < 0 or tokens < 0:
                    raise ValueError(f"negative spend on budget key {key!r}")
                charge, entry = held.get(key) or (None, self._live(key, now))
                ttl = charge.ttl_seconds if charge is not None else None
                if entry is None:
                    if charge is None:
                        ttl = ORPHAN_TTL_SECONDS  # an unknown reservation on a key that is gone
                    entry = self._create(key, charge.rolling if charge is not None else None, now)
                    if charge is not None:
                        held[key] = (charge, entry)
                entry.spend(usd, tokens, now)
                if ttl is not None:
                    self._expire(key, entry, now + ttl)
            self._finish(reservation_id, record, now)
            return True

    def release(self, reservation_id: str, *, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        with self._lock:
            self._purge(now)
            record = self._records.get(reservation_id)
            if record is None or record.done:
                return False
            self._drop_holds(reservation_id, record, now)
            self._finish(reservation_id, record, now)
            return True

    def add(
        self,
        key: str,
        usd_nanos: int,
        tokens: int,
        *,
        now: float | None = None,
        ttl_seconds: float | None = None,
        rolling: RollingSpec | None = None,
    ) -> BudgetState:
        now = time.time() if now is None else now
        with self._lock:
            self._purge(now)
            return self._add(key, usd_nanos, tokens, now, ttl_seconds, rolling).state(key)

    def seed(
        self,
        key: str,
        usd_nanos: int,
        tokens: int,
        *,
        seed_id: str,
        now: float | None = None,
        ttl_seconds: float | None = None,
        rolling: RollingSpec | None = None,
    ) -> bool:
        now = time.time() if now is None else now
        with self._lock:
            self._purge(now)
            entry = self._live(key, now)
            if entry is not None and entry.seeds is not None and seed_id in entry.seeds:
                return False
            entry = self._add(key, usd_nanos, tokens, now, ttl_seconds, rolling)
            entry.seeds = entry.seeds or set()
            entry.seeds.add(seed_id)
            return True

    def state(self, keys: Sequence[str], *, now: float | None = None) -> list[BudgetState]:
        now = time.time() if now is None else now
        with self._lock:
            self._purge(now)
            return [_state(key, self._live(key, now)) for key in keys]

    def delete(self, keys: Sequence[str]) -> int:
        with self._lock:
            return sum(self._entries.pop(key, None) is not None for key in keys)

    def ping(self) -> bool:
        return True

    def close(self) -> None:
        with self._lock:
            self._entries.clear()
            self._expiry.clear()
            self._records.clear()

    def stats(self) -> dict[str, int]:
        """Sizes of the internal tables (keys, expiry heap, reservation records)."""
        with self._lock:
            return {
                "keys": len(self._entries),
                "expiry_heap": len(self._expiry),
                "reservations": len(self._records),
            }

    def purge(self, now: float | None = None) -> None:
        """Drop everything that has expired at ``now`` (calls do this a batch at a time)."""
        now = time.time() if now is None else now
        with self._lock:
            self._purge(now, batch=None)

    # -- internals (lock held) ----------------------------------------------------------------

    def _live(self, key: str, now: float) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires_at is not None and entry.expires_at <= now:
            del self._entries[key]  # expired but not yet purged; its heap item goes stale
            return None
        if now >= entry.min_lease or entry.rolling is not None:
            entry.refresh(now)
        return entry

    def _create(self, key: str, rolling: RollingSpec | None, now: float) -> _Entry:
        entry = self._entries[key] = _Entry(rolling, now)
        return entry

    def _add(
        self, key: str, usd: int, tokens: int, now: float, ttl: float | None, rolling: RollingSpec | None
    ) -> _Entry:
        if usd < 0 or tokens < 0:
            raise ValueError(f"negative spend on budget key {key!r}")
        entry = self._live(key, now) or self._create(key, rolling, now)
        entry.spend(usd, tokens, now)
        if ttl is not None:
            self._expire(key, entry, now + ttl)
        return entry

    def _expire(self, key: str, entry: _Entry, when: float) -> None:
        entry.expires_at = when
        # Only an earlier expiry needs a new heap item; a later one is found when the current
        # item pops and is rescheduled. So the heap holds about one item per key.
        if entry.scheduled is None or when < entry.scheduled:
            entry.scheduled = when
            heapq.heappush(self._expiry, (when, key))

    def _drop_holds(
        self, rid: str, record: _Record | None, now: float
    ) -> dict[str, tuple[Charge, _Entry | None]]:
        """Remove the reservation's holds; its charges and their live entries, by key."""
        held: dict[str, tuple[Charge, _Entry | None]] = {}
        for charge in record.charges if record is not None else ():
            entry = self._live(charge.key, now)
            held[charge.key] = (charge, entry)
            hold = entry.holds.pop(rid, None) if entry is not None else None
            if entry is not None and hold is not None:  # gone already if its lease ran out
                entry.ru -= hold[0]
                entry.rt -= hold[1]
        return held

    def _finish(self, rid: str, record: _Record | None, now: float) -> None:
        if record is None:
            self._records[rid] = _Record((), now + DONE_RETENTION_SECONDS, done=True)
            self._next_drop = min(self._next_drop, now + DONE_RETENTION_SECONDS)
        else:
            record.done = True
            record.charges = ()

    def _purge(self, now: float, batch: int | None = PURGE_BATCH) -> None:
        heap, entries = self._expiry, self._entries
        if not (heap and heap[0][0] <= now) and self._next_drop > now:
            return  # the common case: nothing is due
        budget = batch if batch is not None else len(heap) + len(self._records)
        while heap and heap[0][0] <= now and budget > 0:
            budget -= 1
            when, key = heapq.heappop(heap)
            entry = entries.get(key)
            if entry is None or entry.scheduled != when:
                continue  # stale: the key is gone or sits in the heap under another time
            if entry.expires_at is not None and entry.expires_at <= now:
                del entries[key]
            elif entry.expires_at is not None:
                entry.scheduled = entry.expires_at
                heapq.heappush(heap, (entry.expires_at, key))
            else:
                entry.scheduled = None
        budget = batch if batch is not None else len(self._records)
        records = self._records
        self._next_drop = inf
        while records and budget > 0:
            budget -= 1
            rid, record = next(iter(records.items()))
            if record.drop_at > now:
                self._next_drop = record.drop_at
                break
            del records[rid]
        if records and budget == 0:
            self._next_drop = now  # more are due: the next call carries on


def _over(charge: Charge, entry: _Entry | None) -> bool:
    su, st, ru, rt = (entry.su, entry.st, entry.ru, entry.rt) if entry is not None else (0, 0, 0, 0)
    limit = charge.limit_usd_nanos
    if limit is not None and su + ru + charge.usd_nanos > limit:
        return True
    limit = charge.limit_tokens
    return limit is not None and st + rt + charge.tokens > limit


def _state(key: str, entry: _Entry | None) -> BudgetState:
    return entry.state(key) if entry is not None else BudgetState(key, 0, 0, 0, 0)
