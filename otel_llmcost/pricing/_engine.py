"""Exact cost of a :class:`~otel_llmcost.usage.Usage` under one catalog entry.

``Decimal`` end to end: a per-token price times an integer count is exact, and so is the sum.
"""

from __future__ import annotations

import operator
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Final

from otel_llmcost.pricing._catalog import BUCKETS, ModelEntry, PricePeriod, PriceTable
from otel_llmcost.usage import Usage

__all__ = ["STANDARD_TIER", "Cost", "compute_cost", "day_of", "normalize_tier", "table_for", "to_nanos"]

STANDARD_TIER: Final = "standard"
_ZERO = Decimal(0)
_NANO = Decimal("1e-9")
_BILLION = Decimal(1_000_000_000)
_ONE = Decimal(1)
_EPOCH_DAY = date(1970, 1, 1)
# One C call each instead of nine getattr()s: this loop runs for every span priced.
_usage_counts = operator.attrgetter(*BUCKETS)
_table_prices = operator.attrgetter(*BUCKETS)
_today_cache: list[object] = [-1, _EPOCH_DAY]


def _today_utc() -> date:
    day_number = int(time.time() // 86400)
    if _today_cache[0] != day_number:
        _today_cache[1] = _EPOCH_DAY + timedelta(days=day_number)
        _today_cache[0] = day_number
    return _today_cache[1]  # type: ignore[return-value]


def positive_usd(value: object) -> Decimal:
    """A positive amount of USD, exactly, from a decimal string or a number (a float by its
    shortest repr: 0.1 stays 0.1); ``ValueError`` saying what was expected otherwise."""
    amount = Decimal("NaN")
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        try:
            amount = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
        except ArithmeticError:
            pass
    if not amount.is_finite() or amount <= 0:
        raise ValueError(f"expected a positive amount of USD, got {value!r}")
    return within_ledger(amount)


#: The most nano-dollars a ledger column (a signed 64-bit integer) holds: $9,223,372,036.854775807.
MAX_NANOS = 2**63 - 1


class AmountTooLargeError(ValueError):
    """A USD amount beyond what the ledger can hold in nano-dollars."""

    def __init__(self, amount: Decimal) -> None:
        super().__init__(f"{amount} USD is more than the ledger can hold ($9,223,372,036.854775807 at most)")


def within_ledger(amount: Decimal) -> Decimal:
    """``amount`` itself; :class:`AmountTooLargeError` when the ledger could never hold it."""
    if abs(amount) * _BILLION > MAX_NANOS:
        raise AmountTooLargeError(amount)
    return amount


def to_nanos(amount: Decimal) -> int:
    """Integer nano-dollars (banker's rounding), as the ledger stores money."""
    return int((amount * _BILLION).quantize(_ONE, rounding=ROUND_HALF_EVEN))


@dataclass(slots=True)
class Cost:
    """What one call cost, with the per-bucket breakdown and the price that produced it."""

    total: Decimal
    breakdown: Mapping[str, Decimal]
    """USD per bucket (``BUCKETS`` plus ``request_fees``); zero buckets are omitted."""
    model: str
    """The catalog key used (``llmcost.pricing.model``)."""
    provider: str
    price_version: str
    effective_from: date
    service_tier: str = STANDARD_TIER
    tier_fallback: bool = False
    """The requested service tier is not offered for this model; priced at standard."""
    long_context_threshold: int | None = None
    free: bool = False

    def bucket(self, name: str) -> Decimal:
        return self.breakdown.get(name, _ZERO)

    @property
    def input(self) -> Decimal:
        """Uncached input, audio and image input included."""
        return self.bucket("input") + self.bucket("input_audio") + self.bucket("input_image")

    @property
    def output(self) -> Decimal:
        """Output excluding reasoning (audio output included)."""
        return self.bucket("output") + self.bucket("output_audio")

    @property
    def cache_read(self) -> Decimal:
        return self.bucket("cache_read")

    @property
    def cache_write(self) -> Decimal:
        return self.bucket("cache_write_5m") + self.bucket("cache_write_1h")

    @property
    def reasoning(self) -> Decimal:
        return self.bucket("reasoning")

    @property
    def request_fees(self) -> Decimal:
        return self.bucket("request_fees")

    @property
    def total_nanos(self) -> int:
        return to_nanos(self.total)


def day_of(at: datetime | None) -> date:
    """The UTC day whose prices apply at ``at`` (today when ``None``; a naive datetime means UTC)."""
    return _today_utc() if at is None else (at.astimezone(timezone.utc) if at.tzinfo else at).date()


def normalize_tier(service_tier: str | None) -> str:
    """A requested or reported service tier as the catalog names it (the provider's default
    tier names all mean standard)."""
    tier = STANDARD_TIER if not service_tier else service_tier.lower()
    if tier in ("default", "auto", "standard_only", "on_demand"):
        tier = STANDARD_TIER
    return tier


def table_for(period: PricePeriod, total_input: int, tier: str) -> tuple[PriceTable, int | None, bool]:
    """The price table for a request with ``total_input`` input tokens (cache included):
    long-context first (whole request), then service tier; with the long-context threshold
    applied and whether the tier fell back to standard."""
    table, tiers, threshold = period.table, period.tiers, None
    if period.long_context:
        for rule in period.long_context:
            if rule.applies(total_input):
                table, tiers, threshold = rule.table, rule.tiers, rule.threshold
    if tier == STANDARD_TIER:
        return table, threshold, False
    tier_table = tiers.get(tier)
    if tier_table is None and threshold is not None:
        # Long-context table without its own tier prices: the base tier table still discounts.
        tier_table = period.tiers.get(tier)
        if tier_table is not None:
            return tier_table, threshold, False
    if tier_table is None:
        return table, threshold, True
    return tier_table, threshold, False


def compute_cost(
    entry: ModelEntry,
    usage: Usage,
    *,
    at: datetime | None = None,
    service_tier: str | None = None,
    price_version: str,
    discount: Decimal = _ZERO,
) -> Cost | None:
    """The cost of ``usage`` at ``entry``'s price in force at ``at`` (default now, UTC).

    ``None`` when no price period covers ``at`` (a call older than the first known price).
    ``discount`` is a fraction (0.15 = 15% off list) applied to every bucket.
    """
    day = day_of(at)
    tier = normalize_tier(service_tier)
    if entry.free:
        return Cost(
            total=_ZERO,
            breakdown={},
            model=entry.key,
            provider=entry.provider,
            price_version=price_version,
            effective_from=entry.periods[0].effective_from if entry.periods else _EPOCH_DAY,
            free=True,
        )
    period = entry.period_at(day)
    if period is None:
        return None
    table, threshold, fallback = table_for(period, usage.total_input if period.long_context else 0, tier)
    breakdown: dict[str, Decimal] = {}
    total = _ZERO
    for bucket, tokens, price in zip(BUCKETS, _usage_counts(usage), _table_prices(table), strict=True):
        if tokens:
            amount = price * tokens
            breakdown[bucket] = amount
            total += amount
    if usage.web_search_requests:
        fee = period.per_request.get("web_search")
        if fee:
            amount = fee * usage.web_search_requests
            breakdown["request_fees"] = amount
            total += amount
    if discount:
        factor = Decimal(1) - discount
        breakdown = {bucket: amount * factor for bucket, amount in breakdown.items()}
        total *= factor
    return Cost(
        total=total,
        breakdown=breakdown,
        model=entry.key,
        provider=entry.provider,
        price_version=price_version,
        effective_from=period.effective_from,
        service_tier=STANDARD_TIER if fallback else tier,
        tier_fallback=fallback,
        long_context_threshold=threshold,
    )
