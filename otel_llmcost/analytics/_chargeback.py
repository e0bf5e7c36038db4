"""Chargeback: who pays for what, with unattributed spend shared out and nothing lost to rounding.

Spend on rows without the chosen attribution (no ``team``, or a blank one) is spread over the
attributed teams (or projects) in proportion to their own spend. Shares are computed in integer
nano-dollars with largest-remainder rounding: each gets the floor of its exact share, and the
nanos left over go one each to the largest fractional remainders (ties: larger own spend, then
name). So the allocations always add up to the ledger total exactly.

When no spend is attributed at all there is nothing to be proportional to: every nano stays on
an ``unattributed`` row (key ``None``) and the method says so.

Never a silent $0: calls of models without a price carry no cost, so a bill that includes any
is a lower bound. Each allocation counts its own ``unpriced`` calls, and the chargeback those
without the attribution (``unattributed_unpriced``): when those are spread, every share of them
is incomplete too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from otel_llmcost.analytics._report import LedgerReader, format_time, usd
from otel_llmcost.ledger import Filters

__all__ = ["CHARGEBACK_DIMENSIONS", "Allocation", "Chargeback", "allocate", "chargeback", "rounded_parts"]

CHARGEBACK_DIMENSIONS: Final = ("team", "project")
PROPORTIONAL: Final = "proportional"
UNATTRIBUTED: Final = "unattributed"
_SHARE_UNITS = 1_000_000  # shares to six places


@dataclass(frozen=True)
class Allocation:
    """One team's (or project's) bill; ``key`` is ``None`` only for the unattributed row."""

    key: str | None
    requests: int
    direct_nanos: int  # spend on rows carrying this key
    allocated_nanos: int  # its share of the unattributed spend
    unpriced: int = 0  # of its requests, those of models without a price (cost unknown)

    @property
    def total_nanos(self) -> int:
        return self.direct_nanos + self.allocated_nanos


@dataclass(frozen=True)
class Chargeback:
    by: str
    method: str  # "proportional" | "unattributed"
    description: str
    total_nanos: int
    unattributed_nanos: int
    unattributed_requests: int
    allocations: list[Allocation]
    filters: Filters
    unattributed_unpriced: int = 0  # requests without the attribution whose model has no price

    @property
    def spread(self) -> bool:
        """Whether the unattributed requests are spread over the allocations (not a row of their own)."""
        return self.method == PROPORTIONAL

    @property
    def requests(self) -> int:
        """Every request the chargeback covers, attributed or not."""
        return sum(a.requests for a in self.allocations) + (self.unattributed_requests if self.spread else 0)

    @property
    def unpriced(self) -> int:
        """Every request of a model without a price, attributed or not."""
        return sum(a.unpriced for a in self.allocations) + (self.unattributed_unpriced if self.spread else 0)

    def shares(self) -> list[Decimal]:
        """Each allocation's share of the total to six places, rounded by largest remainder so
        that they sum to exactly 1 (all 0 when nothing was spent)."""
        if self.total_nanos == 0:
            return [Decimal(0)] * len(self.allocations)
        parts = allocate(_SHARE_UNITS, {str(i): a.total_nanos for i, a in enumerate(self.allocations)})
        return [Decimal(parts[str(i)]).scaleb(-6) for i in range(len(self.allocations))]

    def to_dict(self) -> dict[str, Any]:
        shares = [format(share, "f") for share in self.shares()]
        return {
            "by": self.by,
            "method": self.method,
            "description": self.description,
            "total_usd": usd(self.total_nanos),
            "attributed_usd": usd(self.total_nanos - self.unattributed_nanos),
            "unattributed_usd": usd(self.unattributed_nanos),
            "requests": self.requests,
            "unpriced": self.unpriced,
            "unattributed_requests": self.unattributed_requests,
            "unattributed_unpriced": self.unattributed_unpriced,
            "since": format_time(self.filters.since_ns),
            "until": format_time(self.filters.until_ns),
            "filters": dict(sorted(self.filters.equals.items())),
            "allocations": [
                {
                    self.by: a.key,
                    "requests": a.requests,
                    "unpriced": a.unpriced,
                    "direct_usd": usd(a.direct_nanos),
                    "allocated_usd": usd(a.allocated_nanos),
                    "total_usd": usd(a.total_nanos),
                    "share": share,
                }
                for a, share in zip(self.allocations, shares, strict=True)
            ],
        }


def allocate(amount: int, weights: Mapping[str, int]) -> dict[str, int]:
    """``amount`` (integer, >= 0) split in proportion to non-negative integer ``weights`` by
    largest remainder: the parts sum to ``amount`` exactly. Needs a positive total weight."""
    total = sum(weights.values())
    if amount < 0 or total <= 0 or any(w < 0 for w in weights.values()):
        raise ValueError("allocate needs amount >= 0, weights >= 0 and a positive total weight")
    parts: dict[str, int] = {}
    remainders: dict[str, int] = {}
    for key, weight in weights.items():
        parts[key], remainders[key] = divmod(amount * weight, total)
    left = amount - sum(parts.values())  # < len(weights): each remainder is below one nano
    for key in sorted(weights, key=lambda k: (-remainders[k], -weights[k], k))[:left]:
        parts[key] += 1
    return parts


def rounded_parts(values: Sequence[int], unit: int, total_units: int) -> list[int]:
    """Non-negative integer ``values`` in whole ``unit``s, each its floor or its ceiling, summing
    to ``total_units`` (largest remainder: the units over the floors go to the largest
    remainders; ties: the larger value, then the earlier one). Shown amounts rounded so add up to
    the shown total. ``total_units`` outside the floors' and ceilings' sums (only when the
    total was rounded on its own) moves the nearest parts a unit further."""
    floors = [value // unit for value in values]
    rests = [value % unit for value in values]
    left = total_units - sum(floors)
    if not values:
        return []
    if left >= 0:
        order = sorted(range(len(values)), key=lambda i: (-rests[i], -values[i], i))
        for step in range(left):
            floors[order[step % len(order)]] += 1
        return floors
    order = sorted(range(len(values)), key=lambda i: (rests[i], values[i], -i))
    while left < 0 and any(floors):
        for i in order:
            if left < 0 and floors[i] > 0:
                floors[i] -= 1
                left += 1
    return floors


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _pool(nanos: int, requests: int, unpriced: int, by: str) -> str:
    """The unattributed spend in words, never a silent $0."""
    calls = f"{_plural(requests, 'request')} without a {by}"
    if not unpriced:
        return f"${usd(nanos)} over {calls}"
    if unpriced == requests:
        return f"{calls}, all unpriced: their cost is unknown, not $0"
    return f"${usd(nanos)} over {calls}, {unpriced:,} of them unpriced (cost unknown, not $0)"


def chargeback(reader: LedgerReader, by: str, filters: Filters | None = None) -> Chargeback:
    """Every ``by`` value's bill over the rows ``filters`` selects (see the module docs)."""
    if by not in CHARGEBACK_DIMENSIONS:
        raise ValueError(f"chargeback is by {' or '.join(CHARGEBACK_DIMENSIONS)}, not {by!r}")
    selection = filters or Filters()
    direct: dict[str, int] = {}
    requests: dict[str, int] = {}
    unpriced: dict[str, int] = {}
    pool_nanos = pool_requests = pool_unpriced = 0
    for group in reader.group([by], selection):
        key = group.key[by]
        if key is None or not key.strip():
            pool_nanos += group.totals.cost_nanos
            pool_requests += group.totals.requests
            pool_unpriced += group.totals.unpriced
        else:
            direct[key] = direct.get(key, 0) + group.totals.cost_nanos
            requests[key] = requests.get(key, 0) + group.totals.requests
            unpriced[key] = unpriced.get(key, 0) + group.totals.unpriced
    total = pool_nanos + sum(direct.values())
    if sum(direct.values()) > 0:
        method = PROPORTIONAL
        shares = allocate(pool_nanos, direct)
        if pool_requests:
            description = (
                f"unattributed spend ({_pool(pool_nanos, pool_requests, pool_unpriced, by)}) is spread "
                f"over each {by} in proportion to its attributed spend; shares are rounded to the "
                "nano-dollar by largest remainder, so allocations sum exactly to the total"
            )
        else:
            description = f"every request carries a {by}, so each pays its own spend and nothing is spread"
        rows = [Allocation(k, requests[k], direct[k], shares[k], unpriced[k]) for k in direct]
    else:
        method = UNATTRIBUTED
        description = (
            f"no spend carries a {by}, so there is nothing to allocate in proportion to: "
            f"all ${usd(total)} is shown as unattributed"
        )
        rows = [Allocation(k, requests[k], direct[k], 0, unpriced[k]) for k in direct]
        if pool_requests:
            rows.append(Allocation(None, pool_requests, pool_nanos, 0, pool_unpriced))
    rows.sort(key=lambda a: (-a.total_nanos, a.key is not None, a.key or ""))
    return Chargeback(
        by, method, description, total, pool_nanos, pool_requests, rows, selection, pool_unpriced
    )
