"""Redis budget store: one atomic Lua script per operation, shared by every process and replica.

The scripts and the data layout are in ``_redis.lua``. Reserve checks every enforcing charge and
applies all or nothing in one script, so concurrent callers in any number of processes never
take settled spend over a limit. Window keys expire through ``PEXPIRE`` from the charge's
``ttl_seconds``; leases are judged against the caller's ``now``.

Failure handling: sockets time out after ``socket_timeout`` (0.5 s), a dropped connection is
retried once at once (every script is idempotent on retry: reserve re-run with the same
reservation id is a no-op, settle and release are tombstoned), and after a failure calls fail
fast with :class:`StoreUnavailableError` for ``failure_backoff`` seconds instead of stacking
timeouts; the first call after that (or :meth:`RedisStore.ping`) reconnects on its own. A call
that timed out may still have run on a slow server: a reservation made that way is held until
its lease ends, never longer.

Keys are ``<prefix><budget key>`` (hashes) and ``<prefix>#r:<id>`` (reservation records); the
prefix defaults to ``llmcost:budget:``. Redis Cluster is not supported (a reserve touches keys
in several slots).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Sequence
from importlib import resources
from typing import Any

from otel_llmcost.budgets._store import (
    DEFAULT_REDIS_PREFIX,
    DONE_RETENTION_SECONDS,
    ORPHAN_TTL_SECONDS,
    RECORD_GRACE_SECONDS,
    Actual,
    BudgetState,
    Charge,
    ReserveResult,
    RollingSpec,
    StoreUnavailableError,
    validate_charges,
)
from otel_llmcost.exceptions import ConfigError

__all__ = ["RedisStore", "load_scripts"]

_HINT = "the Redis budget store needs redis-py: pip install 'otel-llmcost[redis]'"


def load_scripts() -> dict[str, str]:
    """The Lua scripts by name, each with the shared helpers prepended."""
    text = resources.files("otel_llmcost.budgets").joinpath("_redis.lua").read_text(encoding="utf-8")
    shared, *parts = text.split("\n--@@ ")
    return {part.split("\n", 1)[0].strip(): shared + "\n" + part.split("\n", 1)[1] for part in parts}


class RedisStore:
    """A :class:`~otel_llmcost.budgets._store.BudgetStore` on Redis (``redis://`` URL)."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = DEFAULT_REDIS_PREFIX,
        socket_timeout: float = 0.5,
        failure_backoff: float = 1.0,
    ) -> None:
        try:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        except ImportError:
            raise ConfigError(_HINT, key="store") from None
        try:
            self._client = redis.Redis.from_url(
                url,
                socket_timeout=socket_timeout,
                socket_connect_timeout=socket_timeout,
                # One immediate retry replaces a pooled connection that died with a restarted
                # server; more would stack timeouts while Redis is really down.
                retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)),
            )
        except ValueError as err:
            raise ConfigError(f"invalid Redis URL: {err}", key="store") from None
        self.prefix = prefix
        self._record_prefix = prefix + "#r:"
        self._unreachable = (redis.ConnectionError, redis.TimeoutError)
        self._errors = redis.RedisError
        self._failure_backoff = failure_backoff
        self._down_until = 0.0
        self._where = _redact(url)
        # name -> (sha1, source). Called with a bare EVALSHA rather than redis-py's Script
        # wrapper, which costs ~30 µs a call; a server that lost its scripts gets them reloaded.
        self._scripts = {
            name: (hashlib.sha1(src.encode()).hexdigest(), src) for name, src in load_scripts().items()
        }
        self._no_script = redis.exceptions.NoScriptError

    # -- the contract -------------------------------------------------------------------------

    def reserve(
        self, charges: Sequence[Charge], *, lease_seconds: float, now: float | None = None
    ) -> ReserveResult:
        validate_charges(charges)
        now = time.time() if now is None else now
        rid = secrets.token_hex(12)
        args: list[Any] = [
            _ms(now),
            _ms(now + lease_seconds),
            rid,
            _ms(lease_seconds + RECORD_GRACE_SECONDS),
        ]
        for c in charges:
            rolling = c.rolling
            args.append(
                f"{c.usd_nanos} {c.tokens} {-1 if c.limit_usd_nanos is None else c.limit_usd_nanos} "
                f"{-1 if c.limit_tokens is None else c.limit_tokens} {1 if c.enforce else 0} "
                f"{_ttl_ms(c.ttl_seconds)} {rolling.bucket_seconds if rolling else 0} {rolling.buckets if rolling else 0}"
            )
        keys = [self._record_prefix + rid, *(self.prefix + c.key for c in charges)]
        out = self._run("reserve", keys, args)
        states = _states([c.key for c in charges], out[2:])
        if out[0] == 1:
            return ReserveResult(True, rid, None, states)
        return ReserveResult(False, None, charges[out[1] - 1].key, states)

    def settle(self, reservation_id: str, actual: Sequence[Actual], *, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        amounts = []
        for key, usd, tokens in actual:
            if usd < 0 or tokens < 0:
                raise ValueError(f"negative spend on budget key {key!r}")
            amounts.append(f"{int(usd)} {int(tokens)}")
        args = [
            _ms(now),
            reservation_id,
            _ms(DONE_RETENTION_SECONDS),
            _ms(ORPHAN_TTL_SECONDS),
            " ".join(amounts),
        ]
        keys = [self._record_prefix + reservation_id, *(self.prefix + key for key, _, _ in actual)]
        return bool(self._run("settle", keys, args))

    def release(self, reservation_id: str, *, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        return bool(self._run("release", [self._record_prefix + reservation_id], [_ms(now), reservation_id]))

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
        out = self._add(key, usd_nanos, tokens, "", now, ttl_seconds, rolling)
        return BudgetState(key, *out[1:5])

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
        field = "d:" + (seed_id if len(seed_id) <= 64 else hashlib.sha256(seed_id.encode()).hexdigest())
        return bool(self._add(key, usd_nanos, tokens, field, now, ttl_seconds, rolling)[0])

    def state(self, keys: Sequence[str], *, now: float | None = None) -> list[BudgetState]:
        if not keys:
            return []
        now = time.time() if now is None else now
        out = self._run("state", [self.prefix + key for key in keys], [_ms(now)])
        return list(_states(keys, out))

    def delete(self, keys: Sequence[str]) -> int:
        if not keys:
            return 0
        return int(self._call(self._client.delete, *(self.prefix + key for key in keys)))

    def ping(self) -> bool:
        """Probe Redis now (ignoring the fail-fast window); a success ends that window."""
        try:
            self._client.ping()
        except self._errors:
            return False
        self._down_until = 0.0
        return True

    def close(self) -> None:
        self._client.close()

    # -- internals ----------------------------------------------------------------------------

    def _add(
        self,
        key: str,
        usd: int,
        tokens: int,
        seed_field: str,
        now: float | None,
        ttl: float | None,
        rolling: RollingSpec | None,
    ) -> list[int]:
        if usd < 0 or tokens < 0:
            raise ValueError(f"negative spend on budget key {key!r}")
        now = time.time() if now is None else now
        args = [
            _ms(now),
            usd,
            tokens,
            _ttl_ms(ttl),
            rolling.bucket_seconds if rolling else 0,
            rolling.buckets if rolling else 0,
            seed_field,
        ]
        return list(self._run("add", [self.prefix + key], args))

    def _run(self, name: str, keys: list[str], args: list[Any]) -> Any:
        sha, source = self._scripts[name]
        execute: Callable[..., Any] = self._client.execute_command

        def evalsha() -> Any:
            try:
                return execute("EVALSHA", sha, len(keys), *keys, *args)
            except self._no_script:  # a restarted or flushed server: load it, then run once more
                execute("SCRIPT", "LOAD", source)
                return execute("EVALSHA", sha, len(keys), *keys, *args)

        return self._call(evalsha)

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if self._down_until and time.monotonic() < self._down_until:
            raise StoreUnavailableError(
                f"budget store {self._where} is unavailable (failing fast after an error)"
            )
        try:
            result = fn(*args, **kwargs)
        except self._unreachable as err:
            self._down_until = time.monotonic() + self._failure_backoff
            raise StoreUnavailableError(f"budget store {self._where} is unreachable: {err}") from err
        except self._errors as err:  # e.g. OOM, a read-only replica: the store cannot serve
            raise StoreUnavailableError(f"budget store {self._where} failed: {err}") from err
        self._down_until = 0.0
        return result


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


def _ttl_ms(ttl: float | None) -> int:
    return -1 if ttl is None else max(1, int(ttl * 1000))


def _states(keys: Sequence[str], flat: Sequence[int]) -> tuple[BudgetState, ...]:
    return tuple(BudgetState(key, *flat[i * 4 : i * 4 + 4]) for i, key in enumerate(keys))


def _redact(url: str) -> str:
    """The URL without a password, for error messages."""
    scheme, sep, rest = url.partition("://")
    if "@" not in rest:
        return url
    return f"{scheme}{sep}***@{rest.rsplit('@', 1)[1]}"
