"""The budget store contract: what the guard asks of the memory and Redis stores.

Amounts are integers (USD in nano-dollars, see :func:`otel_llmcost.pricing.to_nanos`; tokens),
so both stores add exactly. ``now`` is Unix time in seconds; every method takes it so tests can
move time instead of sleeping, and leases and window-key expiry are judged against it.

Semantics shared by every store (the contract suite in ``tests/budgets`` runs against each):

* :meth:`BudgetStore.reserve` is all-or-nothing across its charges: if any *enforcing* charge
  would take ``spent + reserved + this`` over either of its limits, nothing is reserved anywhere
  and ``refused_key`` names the first such charge. Alert-only charges (``enforce=False``)
  always reserve.
* A reservation holds a lease; once ``now`` passes it, the next operation touching one of its
  keys drops it, so a crashed process cannot hold budget. A late :meth:`~BudgetStore.settle`
  still records the actual spend (the reservation record outlives its lease by
  :data:`RECORD_GRACE_SECONDS`), and settle/release are idempotent per reservation id.
* ``ttl_seconds`` makes a key expire that long after its latest write (calendar window ends,
  idle per-thread keys); a key without it lives until :meth:`~BudgetStore.delete`.
* A rolling key keeps spend in ``buckets`` buckets of ``bucket_seconds`` (aligned to the Unix
  epoch); the spend counted at ``now`` is that of the current bucket and the ``buckets - 1``
  before it. Reservations are not bucketed: they are short-lived.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol, runtime_checkable

from otel_llmcost.exceptions import ConfigError, LLMCostError

__all__ = [
    "DEFAULT_REDIS_PREFIX",
    "DONE_RETENTION_SECONDS",
    "ORPHAN_TTL_SECONDS",
    "RECORD_GRACE_SECONDS",
    "BudgetState",
    "BudgetStore",
    "Charge",
    "ReserveResult",
    "RollingSpec",
    "StoreUnavailableError",
    "open_store",
]

DEFAULT_REDIS_PREFIX = "llmcost:budget:"

RECORD_GRACE_SECONDS = 600.0
"""How long a reservation record outlives its lease: a call that overran its lease by up to this
long still settles against the keys (and rolling specs) it reserved on."""

DONE_RETENTION_SECONDS = 600.0
"""How long the id of a settled or released reservation is remembered (idempotency window) when
its record is already gone. Retries of a settle come within seconds; ten minutes is ample."""

ORPHAN_TTL_SECONDS = 86_400.0
"""Expiry given to a key that a late settle of an unknown reservation re-creates: its window or
scope has ended (or the key was deleted), so the spend is kept only long enough to be seen."""


class StoreUnavailableError(LLMCostError):
    """The budget store's backend cannot be reached; the budget's ``on_store_error`` decides."""


# NamedTuples rather than frozen dataclasses: as immutable and typed, and several times cheaper
# to build, which matters on the guard's path (a reserve builds one state per matching budget).


class RollingSpec(NamedTuple):
    """A rolling window kept in ``buckets`` equal buckets of ``bucket_seconds`` each."""

    bucket_seconds: int
    buckets: int


class Charge(NamedTuple):
    """One budget instance a call is charged to. ``None`` limits are unlimited."""

    key: str
    usd_nanos: int
    tokens: int
    limit_usd_nanos: int | None
    limit_tokens: int | None
    enforce: bool
    ttl_seconds: float | None = None
    rolling: RollingSpec | None = None


class BudgetState(NamedTuple):
    """A key's settled spend and open reservations at the time of the operation."""

    key: str
    spent_usd_nanos: int
    spent_tokens: int
    reserved_usd_nanos: int
    reserved_tokens: int


class ReserveResult(NamedTuple):
    """``ok`` with a ``reservation_id``, or refused on ``refused_key``; ``states`` follow the
    charges' order (after this reservation when ``ok``, untouched when refused)."""

    ok: bool
    reservation_id: str | None
    refused_key: str | None
    states: tuple[BudgetState, ...]


Actual = tuple[str, int, int]
"""``(key, usd_nanos, tokens)`` actually spent, for :meth:`BudgetStore.settle`."""


@runtime_checkable
class BudgetStore(Protocol):
    """Atomic reserve / settle / release over budget keys. Implementations are thread-safe."""

    def reserve(
        self, charges: Sequence[Charge], *, lease_seconds: float, now: float | None = None
    ) -> ReserveResult:
        """Reserve every charge or none (see the module docstring)."""
        ...

    def settle(self, reservation_id: str, actual: Sequence[Actual], *, now: float | None = None) -> bool:
        """Drop the reservation and add the ``actual`` spend (which may exceed the estimate).

        An unknown or expired reservation still records ``actual``. ``False`` when this id was
        already settled or released (nothing changes)."""
        ...

    def release(self, reservation_id: str, *, now: float | None = None) -> bool:
        """Drop the reservation without spend. ``False`` when unknown or already done."""
        ...

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
        """Add spend directly (no reservation, no limit check)."""
        ...

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
        """Add spend once per ``(key, seed_id)`` for as long as the key lives (seeding a window
        from the ledger). ``False`` when this seed was already applied."""
        ...

    def state(self, keys: Sequence[str], *, now: float | None = None) -> list[BudgetState]:
        """Current state of each key (zeros for unknown keys), in order."""
        ...

    def delete(self, keys: Sequence[str]) -> int:
        """Forget these keys (an ended scope); the number that existed."""
        ...

    def ping(self) -> bool:
        """Whether the backend answers now."""
        ...

    def close(self) -> None: ...


def validate_charges(charges: Sequence[Charge]) -> None:
    """Reject what no store can apply meaningfully: negative amounts, a key charged twice."""
    seen: set[str] = set()
    for charge in charges:
        if charge.usd_nanos < 0 or charge.tokens < 0:
            raise ValueError(f"negative charge on budget key {charge.key!r}")
        if charge.key in seen:
            raise ValueError(f"budget key {charge.key!r} charged twice in one reservation")
        seen.add(charge.key)


def open_store(url: str, *, prefix: str = DEFAULT_REDIS_PREFIX) -> BudgetStore:
    """``memory`` or ``redis://`` / ``rediss://`` / ``unix://`` URL → a store.

    Raises :class:`ConfigError` on key ``store`` for anything else, or when the Redis extra is
    missing."""
    if url == "memory":
        from otel_llmcost.budgets._memory import MemoryStore

        return MemoryStore()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from otel_llmcost.budgets._redis import RedisStore

        return RedisStore(url, prefix=prefix)
    raise ConfigError(f"expected 'memory' or a redis:// URL, got {url!r}", key="store")
