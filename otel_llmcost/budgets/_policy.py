"""The budget policy file (docs/budgets.md): parsed and validated once, then queried per call.

Every error is a :class:`~otel_llmcost.exceptions.ConfigError` naming the file, the key path
(``budgets[2].window``, ``budgets[0].split.shares.a``) and the reason; unknown keys are errors.

Hierarchy order (what :meth:`Policy.matching` returns) is org → resource/call partitions
(service, environment, namespace, provider, model) → team → project → feature → user → run →
thread: a budget ranks by the most specific key among its scope, ``per`` and split key; ties
keep file order, split children right after their parent's rank peers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from functools import cached_property, lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo

from otel_llmcost.budgets._store import Charge
from otel_llmcost.budgets._windows import Window
from otel_llmcost.exceptions import ConfigError
from otel_llmcost.pricing import to_nanos

__all__ = [
    "ATTRIBUTE_KEYS",
    "DEFAULT_TIERS",
    "SCOPE_IDLE_SECONDS",
    "TIERS",
    "Budget",
    "Policy",
    "Threshold",
    "escape_value",
    "load_policy",
    "parse_policy",
]

# The downgrade map when a policy has no ``tiers:`` — flagship → mid-size → small models of each
# provider in the bundled catalog (the tests check that every name resolves there).
DEFAULT_TIERS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "premium": (
            *("claude-opus-5", "claude-opus-4-7", "claude-opus-4-6", "claude-opus-4-5"),
            *("gpt-5.5", "gpt-5.4", "gpt-5.2", "gpt-5.1", "gpt-5", "gpt-4.1", "o3"),
            *("gemini-pro-latest", "gemini-2.5-pro"),
        ),
        "balanced": (
            *("claude-sonnet-5", "claude-sonnet-4-6", "claude-sonnet-4-5"),
            *("gpt-5.4-mini", "gpt-5-mini", "gpt-4o", "gpt-4.1-mini", "o4-mini"),
            *("gemini-3.5-flash", "gemini-2.5-flash"),
        ),
        "cheap": (
            *("claude-haiku-5-5", "claude-haiku-4-5"),
            *("gpt-5.4-nano", "gpt-5-nano", "gpt-4o-mini", "gpt-4.1-nano"),
            *("gemini-3.1-flash-lite", "gemini-2.5-flash-lite"),
        ),
    }
)

SCOPE_IDLE_SECONDS = 7 * 86_400.0
"""A ``per: thread`` / ``per: run`` total budget's key expires after a week without calls:
threads and runs end, and their keys must not accumulate. Other totals never expire."""
_EPHEMERAL_PER = frozenset({"thread", "run"})
_MAX_VALUE_CHARS = 64


@dataclass(frozen=True, eq=False)
class Budget:
    """One budget of the policy (split children are budgets too, with ``parent`` set)."""

    name: str
    window: Window
    limit_usd: Decimal | None
    limit_tokens: int | None
    thresholds: tuple[Threshold, ...]
    action: Action
    on_store_error: Literal["open", "closed"]
    lease_seconds: float
    scope: Mapping[str, str] = field(default_factory=dict)
    per: str | None = None
    downgrade: Mapping[str, str] = field(default_factory=dict)
    parent: str | None = None
    level: int = 0

    @cached_property
    def limit_usd_nanos(self) -> int | None:
        return None if self.limit_usd is None else to_nanos(self.limit_usd)

    @property
    def enforces(self) -> bool:
        """Whether the store must refuse reservations over the limit (block and downgrade)."""
        return self.action != "alert"

    def matches(self, attrs: Mapping[str, str]) -> bool:
        """Whether the call's attributes satisfy the scope (exact string matches)."""
        return all(attrs.get(key) == value for key, value in self.scope.items())

    def scope_for(self, attrs: Mapping[str, str]) -> dict[str, str]:
        """The scope this call is counted under: the budget's scope plus its ``per`` value."""
        scope = dict(self.scope)
        if self.per is not None and attrs.get(self.per):
            scope[self.per] = attrs[self.per]
        return scope

    def instance_key(self, attrs: Mapping[str, str], now: datetime) -> str | None:
        """``name[:per=value]:window`` (value escaped, or hashed when long), or ``None`` when the
        call lacks the ``per`` key and so is not counted by this budget."""
        window = self.window.window_id(now)
        if self.window.kind == "rolling":
            window = f"rolling-{self.window.spec}"  # a changed length must not reuse buckets
        if self.per is None:
            return f"{self.name}:{window}"
        value = attrs.get(self.per)
        if not value:
            return None
        return f"{self.name}:{self.per}={escape_value(value)}:{window}"

    def ttl_seconds(self, now: datetime) -> float | None:
        """Key expiry for the window containing ``now`` (see :data:`SCOPE_IDLE_SECONDS`)."""
        ttl = self.window.ttl_seconds(now)
        if ttl is None and self.per in _EPHEMERAL_PER:
            return SCOPE_IDLE_SECONDS
        return ttl

    def charge(self, attrs: Mapping[str, str], now: datetime, usd_nanos: int, tokens: int) -> Charge | None:
        """The store charge for this call, or ``None`` when the budget does not count it."""
        key = self.instance_key(attrs, now)
        if key is None:
            return None
        return Charge(
            key,
            usd_nanos,
            tokens,
            self.limit_usd_nanos,
            self.limit_tokens,
            self.enforces,
            self.ttl_seconds(now),
            self.window.rolling,
        )

    def thresholds_reached(self, spent_usd_nanos: int, spent_tokens: int) -> tuple[Threshold, ...]:
        """The thresholds that ``spent`` has reached (a fraction counts on either limit)."""
        reached = []
        for threshold in self.thresholds:
            usd_at: Decimal | None = threshold.usd
            tokens_at: Decimal | int | None = threshold.tokens
            if threshold.fraction is not None:
                usd_at = None if self.limit_usd is None else self.limit_usd * threshold.fraction
                tokens_at = None if self.limit_tokens is None else self.limit_tokens * threshold.fraction
            if (usd_at is not None and spent_usd_nanos >= to_nanos(usd_at)) or (
                tokens_at is not None and spent_tokens >= tokens_at
            ):
                reached.append(threshold)
        return tuple(reached)


@dataclass(frozen=True, eq=False)
class Policy:
    """A validated policy: budgets in hierarchy order, the zone, the store URL and tier map."""

    budgets: tuple[Budget, ...]
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    store: str = "memory"
    tiers: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: DEFAULT_TIERS)
    source: str = "<policy>"

    def matching(self, attrs: Mapping[str, str]) -> list[Budget]:
        """Budgets that count this call (scope matches and the ``per`` key is present), in
        hierarchy order."""
        return [b for b in self.budgets if b.matches(attrs) and (b.per is None or attrs.get(b.per))]

    def get(self, name: str) -> Budget:
        for budget in self.budgets:
            if budget.name == name:
                return budget
        raise KeyError(name)

    def tier_of(self, model: str) -> str | None:
        return next((tier for tier in TIERS if model in self.tiers.get(tier, ())), None)

    def downgrade_candidates(self, budget: Budget, model: str) -> tuple[str, ...]:
        """Cheaper models to try for ``model`` under ``budget``, best first: the budget's
        explicit mapping, else every model of the cheaper tiers (next tier first). The guard
        keeps those of the same provider that the catalog prices low enough."""
        if model in budget.downgrade:
            return (budget.downgrade[model],)
        tier = self.tier_of(model)
        if tier is None:
            return ()
        return tuple(m for lower in TIERS[TIERS.index(tier) + 1 :] for m in self.tiers.get(lower, ()))


@lru_cache(maxsize=8192)
def escape_value(value: str) -> str:
    """A per-value made safe for a key: percent-escaped, or ``#`` + SHA-256 prefix when long."""
    escaped = quote(value, safe="@")
    if len(escaped) <= _MAX_VALUE_CHARS:
        return escaped
    return "#" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def load_policy(path: str | Path) -> Policy:
    """Read and validate a policy file; errors name the file, the key path and the reason."""
    return parse_policy(_load_yaml(path), source=str(path))


def parse_policy(data: Any, *, source: str = "<policy>") -> Policy:
    """Validate policy data (a parsed YAML mapping, e.g. the collector config's ``budgets:``)."""
    try:
        return _parse(data, source)
    except ConfigError as err:
        raise ConfigError(err.reason, file=source, key=err.key) from None


_TOP_KEYS = ("timezone", "defaults", "store", "tiers", "budgets")
_DEFAULT_KEYS = ("thresholds", "action", "on_store_error", "lease_seconds")
_BUDGET_KEYS = ("name", "window", "limit_usd", "limit_tokens", "scope", "per", "split", "downgrade")
_BUILTIN_DEFAULTS: Mapping[str, Any] = {
    "thresholds": [0.5, 0.8, 1.0],
    "action": "alert",
    "on_store_error": "open",
    "lease_seconds": 600,
}


def _parse(data: Any, source: str) -> Policy:
    data = {} if data is None else data
    _mapping(data, "", _TOP_KEYS)
    zone = _timezone(data.get("timezone", "UTC"), "timezone")
    defaults = _mapping(data.get("defaults", {}), "defaults", _DEFAULT_KEYS)
    base = {**_BUILTIN_DEFAULTS, **defaults}
    settings = {key: (base[key], f"defaults.{key}" if key in defaults else "defaults") for key in base}
    _thresholds(*settings["thresholds"], None, None)  # checked here too, in case no budget uses them
    _choice(*settings["action"], _ACTIONS)
    _choice(*settings["on_store_error"], _ON_STORE_ERROR)
    _lease(*settings["lease_seconds"])
    store = _store(data.get("store", "memory"), "store")
    tiers = _tiers(data["tiers"], "tiers") if "tiers" in data else DEFAULT_TIERS
    raw_budgets = data.get("budgets", [])
    if not isinstance(raw_budgets, list):
        raise ConfigError("must be a list of budgets", key="budgets")
    budgets: list[tuple[int, int, Budget]] = []
    names: set[str] = set()
    for index, raw in enumerate(raw_budgets):
        # Split children are named "<parent>/<by>=<value>": "/" is not allowed in a name, so
        # only a parent's name can be a duplicate.
        for position, budget in enumerate(_budget(raw, f"budgets[{index}]", zone, settings)):
            if budget.name in names:
                raise ConfigError(f"duplicate budget name {budget.name!r}", key=f"budgets[{index}].name")
            names.add(budget.name)
            budgets.append((index, position, budget))
    budgets.sort(key=lambda item: (item[2].level, len(item[2].scope), item[0], item[1]))
    return Policy(tuple(b for _, _, b in budgets), zone, store, tiers, source)


def _budget(raw: Any, where: str, zone: ZoneInfo, settings: Mapping[str, tuple[Any, str]]) -> list[Budget]:
    raw = _mapping(raw, where, _BUDGET_KEYS + _DEFAULT_KEYS)
    name = _name(raw.get("name"), f"{where}.name")
    if "window" not in raw:
        raise ConfigError("is required", key=f"{where}.window")
    try:
        window = Window.parse(raw["window"], zone)
    except ValueError as err:
        raise ConfigError(str(err), key=f"{where}.window") from None
    limit_usd = _positive_decimal(raw["limit_usd"], f"{where}.limit_usd") if "limit_usd" in raw else None
    limit_tokens = (
        _positive_int(raw["limit_tokens"], f"{where}.limit_tokens") if "limit_tokens" in raw else None
    )
    if limit_usd is None and limit_tokens is None:
        raise ConfigError("needs limit_usd and/or limit_tokens", key=where)

    def setting(key: str) -> tuple[Any, str]:
        return (raw[key], f"{where}.{key}") if key in raw else settings[key]

    try:
        thresholds = _thresholds(*setting("thresholds"), limit_usd, limit_tokens)
    except ConfigError as err:  # an absolute default threshold above this budget's limit
        if "thresholds" in raw:
            raise
        raise ConfigError(f"{err.reason} (inherited by {where})", key=err.key) from None
    action = _choice(*setting("action"), _ACTIONS)
    on_store_error = _choice(*setting("on_store_error"), _ON_STORE_ERROR)
    lease_seconds = _lease(*setting("lease_seconds"))
    scope = _scope(raw.get("scope", {}), f"{where}.scope")
    per = _choice(raw["per"], f"{where}.per", ATTRIBUTE_KEYS) if "per" in raw else None
    downgrade: Mapping[str, str] = {}
    if "downgrade" in raw:
        if action != "downgrade":
            raise ConfigError("only valid with action: downgrade", key=f"{where}.downgrade")
        downgrade = _string_map(raw["downgrade"], f"{where}.downgrade")
    level = max([LEVELS[k] for k in (*scope, *([per] if per else []))], default=0)
    parent = Budget(
        name,
        window,
        limit_usd,
        limit_tokens,
        thresholds,
        action,  # type: ignore[arg-type]
        on_store_error,  # type: ignore[arg-type]
        lease_seconds,
        MappingProxyType(scope),
        per,
        MappingProxyType(dict(downgrade)),
        None,
        level,
    )
    if "split" not in raw:
        return [parent]
    by, shares = _split(raw["split"], f"{where}.split", scope, per)
    children = [parent]
    for value, share in shares.items():
        key = f"{where}.split.shares.{value}"
        child_usd = None if limit_usd is None else (limit_usd * share).quantize(Decimal("1e-9"), ROUND_DOWN)
        child_tokens = None if limit_tokens is None else int(limit_tokens * share)
        if child_usd == 0 or child_tokens == 0:
            raise ConfigError("share too small: the child budget's limit would be zero", key=key)
        children.append(
            replace(
                parent,
                name=f"{name}/{by}={escape_value(value)}",
                limit_usd=child_usd,
                limit_tokens=child_tokens,
                thresholds=tuple(_share_of(t, share) for t in thresholds),
                scope=MappingProxyType({**scope, by: value}),
                parent=name,
                level=max(level, LEVELS[by]),
            )
        )
    return children


def _share_of(threshold: Threshold, share: Decimal) -> Threshold:
    """A split child's threshold: an absolute amount scales with the child's share, as its limit."""
    if threshold.usd is not None:
        return replace(threshold, usd=(threshold.usd * share).quantize(Decimal("1e-9"), ROUND_DOWN))
    if threshold.tokens is not None:
        return replace(threshold, tokens=max(1, int(threshold.tokens * share)))
    return threshold


from otel_llmcost.budgets._policy_schema import (  # noqa: E402 - after the types they validate
    _ACTIONS,
    _ON_STORE_ERROR,
    ATTRIBUTE_KEYS,
    LEVELS,
    TIERS,
    Action,
    Threshold,
    _choice,
    _lease,
    _load_yaml,
    _mapping,
    _name,
    _positive_decimal,
    _positive_int,
    _scope,
    _split,
    _store,
    _string_map,
    _thresholds,
    _tiers,
    _timezone,
)
