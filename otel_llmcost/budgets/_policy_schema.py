"""Validators for the budget policy file: each returns the clean value or raises
``ConfigError(reason, key=path)``; :mod:`._policy` adds the file name."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal
from zoneinfo import ZoneInfo

from otel_llmcost._yaml import read_yaml
from otel_llmcost.exceptions import ConfigError
from otel_llmcost.pricing import to_nanos
from otel_llmcost.pricing._engine import AmountTooLargeError, within_ledger

Action = Literal["alert", "block", "downgrade"]
Severity = Literal["warning", "critical"]

# Attribution, resource and call keys a scope / per / split may use, with their hierarchy level.
LEVELS: Mapping[str, int] = {
    **dict.fromkeys(("service", "environment", "namespace", "provider", "model"), 1),
    "team": 2,
    "project": 3,
    "feature": 4,
    "user": 5,
    "run": 6,
    "thread": 7,
}
ATTRIBUTE_KEYS = tuple(LEVELS)
TIERS = ("premium", "balanced", "cheap")


@dataclass(frozen=True)
class Threshold:
    """An alert level: a ``fraction`` of the limit(s), or an absolute ``usd`` / ``tokens``."""

    severity: Severity
    fraction: Decimal | None = None
    usd: Decimal | None = None
    tokens: int | None = None


_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_SEVERITIES = ("warning", "critical")
_ACTIONS = ("alert", "block", "downgrade")
_ON_STORE_ERROR = ("open", "closed")


def _load_yaml(path: str | Path) -> Any:
    return read_yaml(path)[0]


def _mapping(value: Any, where: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"must be a mapping, got {type(value).__name__}", key=where or None)

    for key in value:
        if key not in allowed:
            path = f"{where}.{key}" if where else str(key)
            raise ConfigError(f"unknown key; expected one of: {', '.join(allowed)}", key=path)
    return dict(value)


def _string(value: Any, where: str) -> str:
    # Scope values may be written unquoted (``team: 42``); booleans and nulls are mistakes.
    if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value) == "":
        raise ConfigError(f"must be a non-empty string, got {value!r}", key=where)
    return str(value)


def _choice(value: Any, where: str, options: tuple[str, ...]) -> str:
    if value not in options:
        raise ConfigError(f"expected one of {', '.join(options)}, got {value!r}", key=where)
    return str(value)


def _timezone(value: Any, where: str) -> ZoneInfo:
    try:
        return ZoneInfo(value)
    except (ValueError, TypeError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        raise ConfigError(f"unknown IANA time zone {value!r}", key=where) from None


def _store(value: Any, where: str) -> str:
    if value == "memory" or (
        isinstance(value, str) and value.startswith(("redis://", "rediss://", "unix://"))
    ):
        return str(value)
    raise ConfigError(f"expected memory or a redis://host:port/db URL, got {value!r}", key=where)


def _name(value: Any, where: str) -> str:
    if value is None:
        raise ConfigError("is required", key=where)
    if not isinstance(value, str) or not 0 < len(value) <= 64 or not set(value) <= _NAME_CHARS:
        raise ConfigError(f"must be 1-64 letters, digits, '_', '.' or '-', got {value!r}", key=where)
    return value


def _positive_decimal(value: Any, where: str) -> Decimal:
    # A quoted decimal ("0.001") is exact; an unquoted YAML float goes through its repr.
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConfigError(f"must be a positive number, got {value!r}", key=where)
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except ArithmeticError:
        raise ConfigError(f"must be a positive number, got {value!r}", key=where) from None
    if not number.is_finite() or number <= 0:
        raise ConfigError(f"must be a positive number, got {value!r}", key=where)
    try:
        within_ledger(number)
    except AmountTooLargeError as err:
        raise ConfigError(str(err), key=where) from None
    if to_nanos(number) == 0:
        raise ConfigError(f"must be a positive number, got {value!r}", key=where)
    return number


def _lease(value: Any, where: str) -> float:
    seconds = float(_positive_decimal(value, where))
    if seconds > 86_400:
        raise ConfigError("must be at most 86400 (one day)", key=where)
    return seconds


def _positive_int(value: Any, where: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 1.0e6 in YAML
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"must be a positive whole number, got {value!r}", key=where)
    return value


def _fraction(value: Any, where: str) -> Decimal:
    try:
        number = _positive_decimal(value, where)
    except ConfigError:
        number = None
    if number is None or number > 1:
        raise ConfigError(f"must be a fraction in (0, 1], got {value!r}", key=where)
    return number


def _thresholds(
    value: Any, where: str, limit_usd: Decimal | None, limit_tokens: int | None
) -> tuple[Threshold, ...]:
    if not isinstance(value, list):
        raise ConfigError("must be a list of fractions or {usd|tokens|at: …, severity: …}", key=where)
    found = []
    for index, item in enumerate(value):
        path = f"{where}[{index}]"
        if not isinstance(item, Mapping):
            fraction = _fraction(item, path)
            found.append(Threshold("critical" if fraction >= 1 else "warning", fraction=fraction))
            continue
        item = _mapping(item, path, ("usd", "tokens", "at", "severity"))
        kinds = [k for k in ("usd", "tokens", "at") if k in item]
        if len(kinds) != 1:
            raise ConfigError("needs exactly one of usd, tokens or at", key=path)
        kind = kinds[0]
        if kind == "at":
            threshold = Threshold("warning", fraction=_fraction(item["at"], f"{path}.at"))
            full = threshold.fraction == 1
        elif kind == "usd":
            threshold = Threshold("warning", usd=_positive_decimal(item["usd"], f"{path}.usd"))
            full = _over(threshold.usd, limit_usd, "limit_usd", f"{path}.usd")
        else:
            threshold = Threshold("warning", tokens=_positive_int(item["tokens"], f"{path}.tokens"))
            full = _over(threshold.tokens, limit_tokens, "limit_tokens", f"{path}.tokens")
        default = "critical" if full else "warning"
        severity = _choice(item.get("severity", default), f"{path}.severity", _SEVERITIES)
        found.append(replace(threshold, severity=severity))  # type: ignore[arg-type]
    return tuple(found)


def _over(amount: Decimal | int | None, limit: Decimal | int | None, name: str, where: str) -> bool:
    """Whether an absolute threshold sits at the limit (critical by default); above it is an error."""
    if amount is None or limit is None:
        return False
    if amount > limit:
        raise ConfigError(f"{amount} is above the budget's {name} {limit}", key=where)
    return amount == limit


def _scope(value: Any, where: str) -> dict[str, str]:
    scope = _mapping(value, where, ATTRIBUTE_KEYS)
    return {key: _string(item, f"{where}.{key}") for key, item in scope.items()}


def _string_map(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, Mapping) or not value:
        raise ConfigError("must be a non-empty mapping of model: cheaper model", key=where)
    return {_string(k, where): _string(v, f"{where}.{k}") for k, v in value.items()}


def _tiers(value: Any, where: str) -> Mapping[str, tuple[str, ...]]:
    raw = _mapping(value, where, TIERS)
    tiers: dict[str, tuple[str, ...]] = {}
    seen: dict[str, str] = {}
    for tier in TIERS:
        models = raw.get(tier, [])
        if not isinstance(models, list):
            raise ConfigError("must be a list of model names", key=f"{where}.{tier}")
        for index, model in enumerate(models):
            path = f"{where}.{tier}[{index}]"
            model = _string(model, path)
            if model in seen:
                raise ConfigError(f"model {model!r} is already in tier {seen[model]!r}", key=path)
            seen[model] = tier
        tiers[tier] = tuple(str(m) for m in models)
    return MappingProxyType(tiers)


def _split(
    value: Any, where: str, scope: Mapping[str, str], per: str | None
) -> tuple[str, dict[str, Decimal]]:
    raw = _mapping(value, where, ("by", "shares"))
    for required in ("by", "shares"):
        if required not in raw:
            raise ConfigError("is required", key=f"{where}.{required}")
    by = _choice(raw["by"], f"{where}.by", ATTRIBUTE_KEYS)
    if by in scope or by == per:
        raise ConfigError(
            f"cannot split on {by!r}: the budget's scope or per already uses it", key=f"{where}.by"
        )
    shares_raw = raw["shares"]
    if not isinstance(shares_raw, Mapping) or not shares_raw:
        raise ConfigError("must be a non-empty mapping of value: fraction", key=f"{where}.shares")
    shares = {
        _string(k, f"{where}.shares"): _fraction(v, f"{where}.shares.{k}") for k, v in shares_raw.items()
    }
    total = sum(shares.values(), Decimal(0))
    if total > 1:
        raise ConfigError(f"shares sum to {total}, more than 1", key=f"{where}.shares")
    return by, shares
