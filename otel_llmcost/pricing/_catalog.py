"""The price catalog in memory: model entries, price periods, tiers and long-context tables.

The on-disk format is documented in ``docs/pricing-catalog.md``. Entries are parsed lazily: an
app that calls three models parses three entries, not four thousand.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import Any

from otel_llmcost.exceptions import ConfigError

__all__ = [
    "BUCKETS",
    "SERVICE_TIERS",
    "Catalog",
    "LongContextRule",
    "ModelEntry",
    "PricePeriod",
    "PriceTable",
    "load_default_catalog",
]

#: Price buckets, in the order breakdowns list them.
BUCKETS = (
    "input",
    "cache_read",
    "cache_write_5m",
    "cache_write_1h",
    "output",
    "reasoning",
    "input_audio",
    "output_audio",
    "input_image",
)
SERVICE_TIERS = ("batch", "flex", "priority")
_MILLION = Decimal(1_000_000)
#: The bucket each derived bucket is priced beside: what a derived table's scale is read from.
_SIDE = {
    "cache_read": "input",
    "cache_write_5m": "input",
    "cache_write_1h": "input",
    "input_audio": "input",
    "input_image": "input",
    "reasoning": "output",
    "output_audio": "output",
}
_EPOCH = date(1970, 1, 1)


#: The highest price an override file may give, in USD per million tokens (and per request): $1 a
#: token, 100 times the dearest model in the catalog. Anything above is a typo (1e30 for 1.30),
#: and would price a call beyond what the ledger holds (2**63 - 1 nano-dollars).
MAX_PRICE = Decimal(1_000_000)


def parse_decimal(value: object, *, where: str, maximum: Decimal | None = None) -> Decimal:
    """A non-negative finite Decimal (at most ``maximum``) from a catalog string (or an int);
    floats go through repr."""
    if isinstance(value, bool) or value is None:
        raise ConfigError(f"expected a price, got {value!r}", key=where)
    if isinstance(value, float):
        value = repr(value)
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        raise ConfigError(f"not a number: {value!r}", key=where) from None
    if not result.is_finite() or result < 0:
        raise ConfigError(f"must be a non-negative finite number, got {value!r}", key=where)
    if maximum is not None and result > maximum:
        raise ConfigError(
            f"must be at most {maximum:,} (USD per million tokens or per request), got {value!r}", key=where
        )
    return result


@dataclass(frozen=True, slots=True)
class PriceTable:
    """USD per token for each bucket, with the documented fallbacks already applied."""

    input: Decimal
    output: Decimal
    cache_read: Decimal
    cache_write_5m: Decimal
    cache_write_1h: Decimal
    reasoning: Decimal
    input_audio: Decimal
    output_audio: Decimal
    input_image: Decimal

    @classmethod
    def from_per_million(
        cls, raw: Mapping[str, Any], *, where: str, base: PriceTable | None = None
    ) -> PriceTable:
        """Build from a ``usd_per_mtok`` mapping. Missing buckets fall back within the table
        (``cache_read`` → ``input`` …); in a table derived from ``base`` (a long-context table, or
        a long-context table's tier), to ``base``'s price scaled as this table scales ``base``'s
        input (input-side buckets) or output (output-side buckets): a long-context table that
        doubles input doubles the cache prices it does not name, and its reasoning tokens cost
        its output price, not the base output price."""
        unknown = set(raw) - set(BUCKETS)
        if unknown:
            raise ConfigError(f"unknown price bucket(s) {sorted(unknown)}; known: {list(BUCKETS)}", key=where)
        per_token = {k: parse_decimal(v, where=f"{where}.{k}") / _MILLION for k, v in raw.items()}

        def pick(name: str, fallback: Decimal) -> Decimal:
            if name in per_token:
                return per_token[name]
            if base is None:
                return fallback
            inherited: Decimal = getattr(base, name)
            side = _SIDE.get(name)
            base_side: Decimal = getattr(base, side) if side is not None else Decimal(0)
            if side is None or side not in per_token or not base_side:
                return inherited
            return inherited * per_token[side] / base_side

        if base is None and "input" not in per_token:
            raise ConfigError("has no input price", key=where)
        inp = pick("input", Decimal(0))
        out = pick("output", Decimal(0))
        cw5 = pick("cache_write_5m", inp)
        return cls(
            input=inp,
            output=out,
            cache_read=pick("cache_read", inp),
            cache_write_5m=cw5,
            cache_write_1h=pick("cache_write_1h", cw5),
            reasoning=pick("reasoning", out),
            input_audio=pick("input_audio", inp),
            output_audio=pick("output_audio", out),
            input_image=pick("input_image", inp),
        )

    def scaled(self, factor: Decimal) -> PriceTable:
        return PriceTable(*(getattr(self, b) * factor for b in BUCKETS))

    def per_million(self) -> dict[str, Decimal]:
        return {b: (getattr(self, b) * _MILLION).normalize() for b in BUCKETS}


@dataclass(frozen=True, slots=True)
class LongContextRule:
    """Above ``threshold`` total input tokens (``>=`` when inclusive) the whole request re-prices."""

    threshold: int
    inclusive: bool
    table: PriceTable
    tiers: Mapping[str, PriceTable]

    def applies(self, total_input: int) -> bool:
        return total_input >= self.threshold if self.inclusive else total_input > self.threshold


@dataclass(frozen=True, slots=True)
class PricePeriod:
    effective_from: date
    table: PriceTable
    tiers: Mapping[str, PriceTable]
    long_context: tuple[LongContextRule, ...]
    per_request: Mapping[str, Decimal]

    def scaled(self, factor: Decimal) -> PricePeriod:
        return PricePeriod(
            effective_from=self.effective_from,
            table=self.table.scaled(factor),
            tiers={k: v.scaled(factor) for k, v in self.tiers.items()},
            long_context=tuple(
                LongContextRule(
                    r.threshold,
                    r.inclusive,
                    r.table.scaled(factor),
                    {k: v.scaled(factor) for k, v in r.tiers.items()},
                )
                for r in self.long_context
            ),
            per_request={k: v * factor for k, v in self.per_request.items()},
        )


def _parse_date(value: object, *, where: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"not an ISO date (YYYY-MM-DD): {value!r}", key=where) from None


def _parse_tiers(
    raw: Mapping[str, Any] | None, *, where: str, base: PriceTable | None
) -> dict[str, PriceTable]:
    tiers: dict[str, PriceTable] = {}
    for name, table in (raw or {}).items():
        if name not in SERVICE_TIERS:
            raise ConfigError(
                f"unknown service tier {name!r}; known: {list(SERVICE_TIERS)}", key=f"{where}.{name}"
            )
        if base is None and "input" not in table:
            continue  # a tier without an input price is not offered
        tiers[name] = PriceTable.from_per_million(table, where=f"{where}.{name}", base=base)
    return tiers


def parse_period(raw: Mapping[str, Any], *, where: str) -> PricePeriod:
    table = PriceTable.from_per_million(raw.get("usd_per_mtok") or {}, where=f"{where}.usd_per_mtok")
    rules = []
    for i, rule in enumerate(raw.get("long_context") or ()):
        rwhere = f"{where}.long_context[{i}]"
        threshold = rule.get("threshold")
        if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold <= 0:
            raise ConfigError(f"threshold must be a positive integer, got {threshold!r}", key=rwhere)
        lc_table = PriceTable.from_per_million(rule.get("usd_per_mtok") or {}, where=rwhere, base=table)
        rules.append(
            LongContextRule(
                threshold=threshold,
                inclusive=bool(rule.get("inclusive", False)),
                table=lc_table,
                tiers=_parse_tiers(rule.get("tiers"), where=f"{rwhere}.tiers", base=lc_table),
            )
        )
    rules.sort(key=lambda r: r.threshold)
    return PricePeriod(
        effective_from=_parse_date(raw.get("effective_from", _EPOCH), where=f"{where}.effective_from"),
        table=table,
        tiers=_parse_tiers(raw.get("tiers"), where=f"{where}.tiers", base=None),
        long_context=tuple(rules),
        per_request={
            k: parse_decimal(v, where=f"{where}.per_request.{k}")
            for k, v in (raw.get("per_request") or {}).items()
        },
    )


@dataclass(frozen=True, slots=True)
class ModelEntry:
    """One priced model at one provider."""

    key: str
    provider: str
    model: str
    mode: str
    periods: tuple[PricePeriod, ...]
    aliases: tuple[str, ...] = ()
    max_input_tokens: int | None = None
    max_output_tokens: int | None = None
    free: bool = False
    origin: str = "catalog"

    def period_at(self, day: date) -> PricePeriod | None:
        """The price period in force on ``day`` (UTC), or ``None`` before the first one."""
        periods = self.periods
        if len(periods) == 1:
            return periods[0] if periods[0].effective_from <= day else None
        found = None
        for period in self.periods:
            if period.effective_from <= day:
                found = period
            else:
                break
        return found


def parse_entry(key: str, raw: Mapping[str, Any], *, origin: str = "catalog") -> ModelEntry:
    free = bool(raw.get("free", False))
    periods_raw = raw.get("prices") or []
    if not periods_raw and not free:
        raise ConfigError("has no prices", key=key)
    periods = tuple(
        sorted(
            (parse_period(p, where=f"{key}.prices[{i}]") for i, p in enumerate(periods_raw)),
            key=lambda p: p.effective_from,
        )
    )
    provider = str(raw.get("provider") or key.split("/", 1)[0])
    return ModelEntry(
        key=key,
        provider=provider,
        model=str(raw.get("model") or key.split("/", 1)[-1]),
        mode=str(raw.get("mode") or "chat"),
        periods=periods,
        aliases=tuple(str(a).lower() for a in raw.get("aliases") or ()),
        max_input_tokens=raw.get("max_input_tokens"),
        max_output_tokens=raw.get("max_output_tokens"),
        free=free,
        origin=str(raw.get("origin") or origin),
    )


@dataclass
class Catalog:
    """Model entries by key (``provider/model``), parsed on first use."""

    version: str
    raw: dict[str, Mapping[str, Any]]
    source: Mapping[str, Any] = field(default_factory=dict)
    _parsed: dict[str, ModelEntry] = field(default_factory=dict, repr=False)

    def __contains__(self, key: object) -> bool:
        return key in self.raw or key in self._parsed

    def keys(self) -> Iterator[str]:
        yield from self.raw.keys()
        yield from (k for k in self._parsed if k not in self.raw)

    def get(self, key: str) -> ModelEntry | None:
        entry = self._parsed.get(key)
        if entry is None:
            raw = self.raw.get(key)
            if raw is None:
                return None
            entry = parse_entry(key, raw)
            self._parsed[key] = entry
        return entry

    def put(self, entry: ModelEntry) -> None:
        """Add or replace an entry (overrides)."""
        self.raw.pop(entry.key, None)
        self._parsed[entry.key] = entry

    def names(self) -> Iterator[tuple[str, str, str]]:
        """(name, provider, key) for every model id and alias, without parsing prices."""
        for key, raw in self.raw.items():
            provider = str(raw.get("provider") or key.split("/", 1)[0])
            yield str(raw.get("model") or key.split("/", 1)[-1]).lower(), provider, key
            for alias in raw.get("aliases") or ():
                yield str(alias).lower(), provider, key
        for key, entry in self._parsed.items():
            if key in self.raw:
                continue
            yield entry.model.lower(), entry.provider, key
            for alias in entry.aliases:
                yield alias, entry.provider, key

    def copy(self) -> Catalog:
        return Catalog(
            version=self.version, raw=dict(self.raw), source=self.source, _parsed=dict(self._parsed)
        )


def load_catalog_json(text: str, *, origin: str) -> Catalog:
    data = json.loads(text)
    if not isinstance(data, dict) or data.get("format") != 1 or not isinstance(data.get("models"), dict):
        raise ConfigError("not a format-1 otel-llmcost catalog", file=origin)
    return Catalog(
        version=str(data.get("version", "unknown")), raw=data["models"], source=data.get("source", {})
    )


def load_default_catalog() -> Catalog:
    """The catalog bundled with the package (no network, ever)."""
    text = resources.files("otel_llmcost.pricing").joinpath("data/catalog.json").read_text(encoding="utf-8")
    return load_catalog_json(text, origin="otel_llmcost/pricing/data/catalog.json")
