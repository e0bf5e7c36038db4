"""User price overrides: extra or replaced models, negotiated discounts, deployment names, self-hosted.

A YAML file (``prices:`` in the collector config, or ``OTEL_LLMCOST_PRICES``)::

    discounts:            # fraction off list price, per provider ("15%" or 0.15)
      openai: 15%
    deployments:          # Azure deployment (or any) name -> model name or catalog key
      prod-chat: gpt-4o
    models:
      my-finetune:        # the name spans carry
        provider: openai
        base: gpt-4o-mini # copy these prices, then apply the fields below
        input: 0.30       # USD per million tokens
        output: 1.20
      llama-3.1-70b-vllm:
        self_hosted: {monthly_cost_usd: 10000, tokens_per_second: 2500, utilization: 0.6}

A model without ``effective_from`` replaces the catalog entry outright; with one, its price is
*appended* from that date and earlier calls keep the catalog price. Every error names the file,
the key and the reason.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import MAX_PREC, ROUND_HALF_EVEN, Context, Decimal
from pathlib import Path
from typing import Any

from otel_llmcost._yaml import read_yaml
from otel_llmcost.exceptions import ConfigError
from otel_llmcost.pricing._catalog import (
    BUCKETS,
    MAX_PRICE,
    SERVICE_TIERS,
    Catalog,
    ModelEntry,
    PricePeriod,
    parse_decimal,
    parse_entry,
)
from otel_llmcost.pricing._resolve import Resolver

__all__ = ["SECONDS_PER_MONTH", "Overrides", "load_overrides", "parse_overrides", "self_hosted_price"]

#: 730 hours, the average month cloud providers bill by (365 * 24 / 12).
SECONDS_PER_MONTH = Decimal(730 * 3600)
# A self-hosted price is rounded to whole femto-dollars per token (nano-dollars per million), the
# grain of catalog prices: it prints as a price, not as 28 digits of a division, and the
# collector's integer pricing path (pricing/_nanos.py) applies to it.
_FEMTO_DOLLAR = Decimal("1e-15")
_UNBOUNDED = Context(prec=MAX_PREC)
_TOP_KEYS = {"version", "discounts", "deployments", "models"}
_MODEL_KEYS = {
    "provider",
    "base",
    "mode",
    "aliases",
    "free",
    "max_input_tokens",
    "max_output_tokens",
    "effective_from",
    "tiers",
    "long_context",
    "per_request",
    "prices",
    "self_hosted",
    *BUCKETS,
}
_SELF_HOSTED_KEYS = {"monthly_cost_usd", "tokens_per_second", "utilization"}


@dataclass
class Overrides:
    discounts: dict[str, Decimal] = field(default_factory=dict)
    deployments: dict[str, str] = field(default_factory=dict)
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str = "<overrides>"
    digest: str = ""

    def apply(self, catalog: Catalog) -> Catalog:
        """A copy of ``catalog`` with these models added or replaced."""
        result = catalog.copy()
        for name, spec in self.models.items():
            where = f"models.{name}"
            try:
                entry = _build_entry(name, spec, result, where=where)
            except ConfigError as err:
                raise ConfigError(err.reason, file=self.source, key=err.key or where) from None
            result.put(entry)
        return result


def self_hosted_price(monthly_cost_usd: Decimal, tokens_per_second: Decimal, utilization: Decimal) -> Decimal:
    """USD per token of a deployment that costs ``monthly_cost_usd`` and serves ``tokens_per_second``
    at ``utilization`` (share of the month it is busy), rounded (half to even) to whole
    femto-dollars (1e-15 USD)."""
    exact = monthly_cost_usd / (tokens_per_second * utilization * SECONDS_PER_MONTH)
    # Unbounded precision: an absurdly high price (more than 28 digits in femto-dollars) is
    # still a price, not an InvalidOperation.
    return exact.quantize(_FEMTO_DOLLAR, rounding=ROUND_HALF_EVEN, context=_UNBOUNDED)


def _positive(value: object, where: str) -> Decimal:
    number = parse_decimal(value, where=where, maximum=None)
    if number == 0:
        raise ConfigError("must be greater than zero", key=where)
    return number


def _fraction(value: object, where: str) -> Decimal:
    text = str(value).strip()
    if text.endswith("%"):
        number = parse_decimal(text[:-1], where=where, maximum=None) / 100
    else:
        number = parse_decimal(value, where=where, maximum=None)
    if number >= 1:
        raise ConfigError(f"a discount must be below 100% (0.15 or '15%'), got {value!r}", key=where)
    return number


def _period_raw(spec: Mapping[str, Any], base: PricePeriod | None, where: str) -> dict[str, Any]:
    """A catalog-format price period from flat override fields (USD per million tokens)."""
    prices: dict[str, Any] = {k: base_v for k, base_v in (base.table.per_million().items() if base else ())}
    for bucket in BUCKETS:
        if bucket in spec:
            prices[bucket] = parse_decimal(spec[bucket], where=f"{where}.{bucket}", maximum=MAX_PRICE)
    if "self_hosted" in spec:
        sh = spec["self_hosted"]
        if not isinstance(sh, Mapping):
            raise ConfigError("must be a mapping", key=f"{where}.self_hosted")
        unknown = set(sh) - _SELF_HOSTED_KEYS
        if unknown:
            raise ConfigError(f"unknown key(s) {sorted(unknown)}", key=f"{where}.self_hosted")
        for required in ("monthly_cost_usd", "tokens_per_second"):
            if required not in sh:
                raise ConfigError("is required", key=f"{where}.self_hosted.{required}")
        utilization = _positive(sh.get("utilization", 1), f"{where}.self_hosted.utilization")
        if utilization > 1:
            raise ConfigError("must be at most 1", key=f"{where}.self_hosted.utilization")
        monthly = parse_decimal(
            sh["monthly_cost_usd"], where=f"{where}.self_hosted.monthly_cost_usd", maximum=None
        )
        per_token = self_hosted_price(
            monthly, _positive(sh["tokens_per_second"], f"{where}.self_hosted.tokens_per_second"), utilization
        )
        if per_token == 0 and monthly:
            raise ConfigError(
                "works out below $0.000000001 per million tokens (it would price calls at $0): "
                "check monthly_cost_usd and tokens_per_second",
                key=f"{where}.self_hosted",
            )
        if per_token * 1_000_000 > MAX_PRICE:
            raise ConfigError(
                f"works out above ${MAX_PRICE:,} per million tokens: check monthly_cost_usd and tokens_per_second",
                key=f"{where}.self_hosted",
            )
        prices["input"] = prices["output"] = per_token * 1_000_000
    if "input" not in prices:
        raise ConfigError("needs an input price, a base model or self_hosted", key=where)
    raw: dict[str, Any] = {
        "effective_from": spec.get("effective_from", "1970-01-01"),
        "usd_per_mtok": {k: str(v) for k, v in prices.items()},
    }
    if "tiers" in spec:
        tiers = spec["tiers"]
        if not isinstance(tiers, Mapping) or set(tiers) - set(SERVICE_TIERS):
            raise ConfigError(f"must map tiers {list(SERVICE_TIERS)} to bucket prices", key=f"{where}.tiers")
        raw["tiers"] = {
            t: {
                k: str(parse_decimal(v, where=f"{where}.tiers.{t}.{k}", maximum=MAX_PRICE))
                for k, v in table.items()
            }
            for t, table in tiers.items()
        }
    elif base is not None:
        raw["tiers"] = {t: {k: str(v) for k, v in tbl.per_million().items()} for t, tbl in base.tiers.items()}
    if "long_context" in spec:
        rules = spec["long_context"]
        if not isinstance(rules, list):
            raise ConfigError("must be a list", key=f"{where}.long_context")
        raw["long_context"] = [
            {
                "threshold": r.get("threshold"),
                "inclusive": bool(r.get("inclusive", False)),
                "usd_per_mtok": {
                    k: str(parse_decimal(v, where=f"{where}.long_context[{i}].{k}", maximum=MAX_PRICE))
                    for k, v in r.items()
                    if k in BUCKETS
                },
            }
            for i, r in enumerate(rules)
            if isinstance(r, Mapping)
        ]
    if "per_request" in spec:
        raw["per_request"] = {
            k: str(parse_decimal(v, where=f"{where}.per_request.{k}", maximum=MAX_PRICE))
            for k, v in dict(spec["per_request"]).items()
        }
    return raw


def _build_entry(name: str, spec: Any, catalog: Catalog, *, where: str) -> ModelEntry:
    if not isinstance(spec, Mapping):
        raise ConfigError("must be a mapping of price fields", key=where)
    unknown = set(spec) - _MODEL_KEYS
    if unknown:
        raise ConfigError(f"unknown field(s) {sorted(unknown)}; known: {sorted(_MODEL_KEYS)}", key=where)
    lowered = name.strip().lower()
    provider = str(spec.get("provider") or (lowered.split("/", 1)[0] if "/" in lowered else "custom")).lower()
    model = lowered.split("/", 1)[1] if lowered.startswith(provider + "/") else lowered
    key = f"{provider}/{model}"
    existing = catalog.get(key)
    base_entry: ModelEntry | None = None
    if "base" in spec:
        base_key = str(spec["base"]).lower()
        resolved = base_key if base_key in catalog else Resolver(catalog).resolve(base_key, None)
        base_entry = catalog.get(resolved) if resolved else None
        if base_entry is None:
            raise ConfigError(f"base model {spec['base']!r} is not in the catalog", key=f"{where}.base")
    base_period = base_entry.periods[-1] if base_entry and base_entry.periods else None
    raw: dict[str, Any] = {
        "provider": provider,
        "model": model,
        "mode": spec.get("mode")
        or (base_entry.mode if base_entry else existing.mode if existing else "chat"),
        "aliases": list(spec.get("aliases") or ()),
        "free": bool(spec.get("free", False)),
        "max_input_tokens": spec.get("max_input_tokens", base_entry.max_input_tokens if base_entry else None),
        "max_output_tokens": spec.get(
            "max_output_tokens", base_entry.max_output_tokens if base_entry else None
        ),
        "origin": "override",
    }
    if raw["free"]:
        raw["prices"] = []
    elif "prices" in spec:
        if not isinstance(spec["prices"], list) or not spec["prices"]:
            raise ConfigError("must be a non-empty list of price periods", key=f"{where}.prices")
        raw["prices"] = [
            _period_raw(p, base_period, f"{where}.prices[{i}]") for i, p in enumerate(spec["prices"])
        ]
    else:
        raw["prices"] = [_period_raw(spec, base_period, where)]
    entry = parse_entry(key, raw, origin="override")
    if existing is not None and "effective_from" in spec and "prices" not in spec and not entry.free:
        # Dated change to a known model: keep its history before the new date.
        start = entry.periods[0].effective_from
        kept = tuple(p for p in existing.periods if p.effective_from < start)
        entry = ModelEntry(
            key=entry.key,
            provider=entry.provider,
            model=entry.model,
            mode=entry.mode,
            periods=(*kept, *entry.periods),
            aliases=entry.aliases or existing.aliases,
            max_input_tokens=entry.max_input_tokens or existing.max_input_tokens,
            max_output_tokens=entry.max_output_tokens or existing.max_output_tokens,
            origin="override",
        )
    return entry


def parse_overrides(data: Any, *, source: str = "<overrides>") -> Overrides:
    """Validate an already-parsed YAML document."""
    if data is None:
        return Overrides(source=source)
    if not isinstance(data, Mapping):
        raise ConfigError("must be a mapping with discounts, deployments and/or models", file=source)
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise ConfigError(f"unknown key(s) {sorted(unknown)}; known: {sorted(_TOP_KEYS)}", file=source)
    result = Overrides(source=source)
    for section in ("discounts", "deployments", "models"):
        if data.get(section) is not None and not isinstance(data[section], Mapping):
            raise ConfigError("must be a mapping", file=source, key=section)
    try:
        for provider, value in (data.get("discounts") or {}).items():
            result.discounts[str(provider).lower()] = _fraction(value, f"discounts.{provider}")
    except ConfigError as err:
        raise ConfigError(err.reason, file=source, key=err.key) from None
    for name, target in (data.get("deployments") or {}).items():
        if not isinstance(target, str) or not target.strip():
            raise ConfigError("must name a model", file=source, key=f"deployments.{name}")
        result.deployments[str(name).lower()] = target.strip().lower()
    for name, spec in (data.get("models") or {}).items():
        # Checked here so the error names the user's key, not the catalog period it becomes.
        dated = isinstance(spec, Mapping) and "effective_from" in spec
        if dated and not isinstance(spec["effective_from"], date):
            try:
                date.fromisoformat(str(spec["effective_from"]))
            except ValueError:
                raise ConfigError(
                    f"not an ISO date (YYYY-MM-DD): {spec['effective_from']!r}",
                    file=source,
                    key=f"models.{name}.effective_from",
                ) from None
        result.models[str(name)] = spec
    result.digest = hashlib.sha256(repr(sorted(data.items(), key=str)).encode()).hexdigest()[:8]
    return result


def load_overrides(path: str | Path) -> Overrides:
    """Read and validate an override file. Errors name the file, the key and the reason."""
    source = str(path)
    data, text = read_yaml(path)
    overrides = parse_overrides(data, source=source)
    overrides.digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return overrides
