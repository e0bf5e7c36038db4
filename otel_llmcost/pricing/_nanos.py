"""Cost in integer nano-dollars, the way the ledger stores it, without building a :class:`Cost`.

The collector prices every span it receives, and needs only the rounded figures: the total and
the ledger's six cost columns. ``Decimal`` arithmetic and the ``Cost`` built around it were a
fifth of a span's time. Nearly every catalog price is a whole number of femto-dollars
(1e-15 USD: $2.50 per million tokens is 2,500,000,000 fd per token), so the same sums are exact
in integers, and one integer division with banker's rounding gives the nano-dollars.

The result is the one :func:`cost_nanos` reads off :func:`compute_cost`'s ``Cost``, to the
nano-dollar, whenever the integer path is taken: a product of a price and a token count is
exact in ``Decimal`` too as long as it has at most 28 significant digits (the default context
precision), which holds when the femto-dollar total is below 10**28 — and a total that large
(or a price finer than a femto-dollar, a discount, or a decimal context of lower precision)
takes the ``Decimal`` path itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, getcontext
from operator import attrgetter
from typing import Final

from otel_llmcost.pricing._catalog import BUCKETS, ModelEntry, PricePeriod, PriceTable
from otel_llmcost.pricing._engine import (
    STANDARD_TIER,
    Cost,
    compute_cost,
    day_of,
    normalize_tier,
    table_for,
)
from otel_llmcost.usage import Usage, UsageCounts

__all__ = ["NANOS_COLUMNS", "Femtos", "cost_nanos", "price_femtos", "price_nanos"]

#: What :func:`cost_nanos` and :func:`price_nanos` list, in order: the total, then the groups
#: ``Cost`` sums its buckets into (``Cost.input`` …), as the ledger's cost columns are.
NANOS_COLUMNS: Final = ("total", "input", "output", "cache_read", "cache_write", "reasoning", "request_fees")
# Cost.breakdown bucket -> index in the list above.
_SLOTS: Final = {
    "input": 1, "input_audio": 1, "input_image": 1, "output": 2, "output_audio": 2, "cache_read": 3,
    "cache_write_5m": 4, "cache_write_1h": 4, "reasoning": 5, "request_fees": 6,
}  # fmt: skip
_ONE = Decimal(1)
_ZERO = Decimal(0)
_BILLION = Decimal(1_000_000_000)
_FEMTO_PER_USD = 10**15
_FEMTO_PER_NANO = 1_000_000
_HALF_NANO = _FEMTO_PER_NANO // 2
_DIGITS = 28  # Decimal's default precision; a thread whose context has fewer takes the Decimal path
_EXACT_BELOW = 10**_DIGITS  # femto-dollars: 28 digits hold every product and sum below this exactly
_FREE: Final = (0, 0, 0, 0, 0, 0, 0)
_table_prices = attrgetter(*BUCKETS)
_CACHE_LIMIT = 4096  # entries of each cache below; the keys come from untrusted spans


def cost_nanos(cost: Cost) -> list[int]:
    """The total, then ``Cost.input``, ``.output``, ``.cache_read``, ``.cache_write``,
    ``.reasoning`` and ``.request_fees``, each in nano-dollars as :func:`to_nanos` rounds it.

    Inlines ``to_nanos`` (same operations, so the same rounding; a test holds them equal) and
    converts only the buckets present.
    """
    nanos = [int((cost.total * _BILLION).quantize(_ONE, rounding=ROUND_HALF_EVEN)), 0, 0, 0, 0, 0, 0]
    slots: dict[int, Decimal] = {}
    for bucket, amount in cost.breakdown.items():
        slot = _SLOTS[bucket]
        prior = slots.get(slot)
        slots[slot] = amount if prior is None else prior + amount
    for slot, amount in slots.items():
        nanos[slot] = int((amount * _BILLION).quantize(_ONE, rounding=ROUND_HALF_EVEN))
    return nanos


def _femto(price: Decimal) -> int | None:
    """``price`` (USD) in whole femto-dollars, or ``None`` when it is not a whole number of them."""
    numerator, denominator = price.as_integer_ratio()
    femto, rest = divmod(numerator * _FEMTO_PER_USD, denominator)
    return None if rest else femto


class _Plan:
    """What pricing one entry on one day at one requested tier needs besides the token counts."""

    __slots__ = ("entry", "fallback", "fee", "long_from", "period", "prices", "tier")

    def __init__(self, entry: ModelEntry, period: PricePeriod | None, tier: str) -> None:
        self.entry = entry  # held so that the id() in the cache key stays this entry's
        self.period = period
        self.tier = tier
        fee = period.per_request.get("web_search") if period is not None else None
        self.fee = _femto(fee) if fee else 0  # None: not whole femto-dollars
        # Every request below the long-context thresholds has the same table: resolved once,
        # here, as a request of 0 tokens (below them all, or at least long_from).
        self.prices: tuple[int, ...] | None = None
        self.fallback = False
        self.long_from: int | None = None  # the fewest input tokens some long-context rule applies to
        if period is not None:
            table, _, self.fallback = table_for(period, 0, tier)
            self.prices = _prices(table)
            if period.long_context:
                self.long_from = min(
                    r.threshold if r.inclusive else r.threshold + 1 for r in period.long_context
                )


_tables: dict[int, tuple[PriceTable, tuple[int, ...] | None]] = {}
_plans: dict[tuple[int, datetime | date, str | None], _Plan] = {}


def _prices(table: PriceTable) -> tuple[int, ...] | None:
    """``table``'s per-token prices in femto-dollars (``BUCKETS`` order), or ``None`` if one is
    not a whole number of them. Cached by identity: catalog tables live as long as the catalog."""
    cached = _tables.get(id(table))
    if cached is not None and cached[0] is table:
        return cached[1]
    femtos = [_femto(price) for price in _table_prices(table)]
    prices = None if None in femtos else tuple(f for f in femtos if f is not None)
    if len(_tables) >= _CACHE_LIMIT:
        _tables.clear()
    _tables[id(table)] = (table, prices)  # the table is kept, so its id is not reused meanwhile
    return prices


def _nanos(femto: int) -> int:
    """Femto-dollars to nano-dollars, half to even (``quantize(…, ROUND_HALF_EVEN)``)."""
    nanos, rest = divmod(femto, _FEMTO_PER_NANO)
    if rest > _HALF_NANO or (rest == _HALF_NANO and nanos & 1):
        return nanos + 1
    return nanos


#: Femto-dollars (1e-15 USD) in :data:`NANOS_COLUMNS` order: the total, input, output, cache read,
#: cache write, reasoning and request fees.
Femtos = tuple[int, int, int, int, int, int, int]


def price_femtos(
    entry: ModelEntry,
    counts: UsageCounts,
    *,
    at: datetime | None = None,
    service_tier: str | None = None,
    discount: Decimal = _ZERO,
) -> tuple[str, str, int | None, Femtos] | None:
    """``compute_cost`` in integer femto-dollars: the catalog key, the service tier priced, the
    long-context threshold applied and the figures, each ``Cost``'s (``Cost.total``,
    ``Cost.input`` …) times 10**15 exactly, so ``femtos / 10**15`` is ``float()`` of it.

    ``None`` when only ``Decimal`` can say (a price that is not whole femto-dollars, a
    discount, a sum past ``Decimal``'s exact range, no price in force at ``at``): ask
    :func:`compute_cost`. ``counts`` are a :class:`Usage`'s fields in order: the first nine
    are ``BUCKETS``, then web search requests.
    """
    key = (id(entry), at if at is not None else day_of(None), service_tier)
    plan = _plans.get(key)
    if plan is None or plan.entry is not entry:
        period = None if entry.free else entry.period_at(day_of(at))
        plan = _Plan(entry, period, normalize_tier(service_tier))
        if len(_plans) >= _CACHE_LIMIT:
            _plans.clear()
        _plans[key] = plan
    if entry.free:
        return entry.key, STANDARD_TIER, None, _FREE
    period = plan.period
    if period is None or discount:
        return None
    prices, fallback, long_from, threshold = plan.prices, plan.fallback, plan.long_from, None
    if long_from is not None:
        total_input = (
            counts[0] + counts[1] + counts[2] + counts[3] + counts[6] + counts[8]
        )  # Usage.total_input
        if total_input >= long_from:
            table, threshold, fallback = table_for(period, total_input, plan.tier)
            prices = _prices(table)
    fee = plan.fee if counts[9] else 0
    if prices is None or fee is None:
        return None
    inp, cache_read, write_5m, write_1h, out, reasoning, in_audio, out_audio, in_image = prices
    cost_input = counts[0] * inp + counts[6] * in_audio + counts[8] * in_image
    cost_output = counts[4] * out + counts[7] * out_audio
    cost_cache_read = counts[1] * cache_read
    cost_cache_write = counts[2] * write_5m + counts[3] * write_1h
    cost_reasoning = counts[5] * reasoning
    cost_fees = counts[9] * fee
    total = cost_input + cost_output + cost_cache_read + cost_cache_write + cost_reasoning + cost_fees
    if total >= _EXACT_BELOW or getcontext().prec < _DIGITS:
        return None
    femtos = (total, cost_input, cost_output, cost_cache_read, cost_cache_write, cost_reasoning, cost_fees)
    return entry.key, STANDARD_TIER if fallback else plan.tier, threshold, femtos


def price_nanos(
    entry: ModelEntry,
    counts: UsageCounts,
    *,
    at: datetime | None = None,
    service_tier: str | None = None,
    discount: Decimal = _ZERO,
    price_version: str = "",
) -> tuple[str, str, Sequence[int]] | None:
    """``compute_cost`` reduced to what the ledger stores: the catalog key, the service tier
    priced, and :func:`cost_nanos` of the cost; ``None`` when no price was in force at ``at``.

    ``counts`` are a :class:`Usage`'s fields in order: the first nine are ``BUCKETS``, then web
    search requests and the estimated flag.
    """
    exact = price_femtos(entry, counts, at=at, service_tier=service_tier, discount=discount)
    if exact is not None:
        key, tier, _, (total, inp, out, cache_read, cache_write, reasoning, fees) = exact
        # Most calls leave most columns at zero: no call for those.
        nanos = (
            _nanos(total), _nanos(inp) if inp else 0, _nanos(out) if out else 0,
            _nanos(cache_read) if cache_read else 0, _nanos(cache_write) if cache_write else 0,
            _nanos(reasoning) if reasoning else 0, _nanos(fees) if fees else 0,
        )  # fmt: skip
        return key, tier, nanos
    cost = compute_cost(
        entry,
        Usage(*counts),
        at=at,
        service_tier=service_tier,
        price_version=price_version,
        discount=discount,
    )
    if cost is None:
        return None
    return cost.model, cost.service_tier, cost_nanos(cost)
