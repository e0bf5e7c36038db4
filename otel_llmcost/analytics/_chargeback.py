"""Chargeback: who pays for what, with unattributed spend shared out and nothing lost to rounding.

Spend on rows without the chosen attribution (no ``team``, or a blank one) is spread over the
attributed teams (or projects) in proportion to their own spend. Shares are computed in integer
nano-dollars with largest-remainder rounding: each gets the floor of its exact share, and the
nanos left over go one each to the largest fractional remainders (ties: larger own spend, then
name). So the allocations always add up to the ledger total exactly.

When no spend is attributed at all there is nothing to be proportional to: every nano stays on
an ``unattributed`` row (key ``None``) and the method says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Final

from otel_llmcost.analytics._report import LedgerReader, format_time, usd
from otel_llmcost.ledger import Filters

__all__ = ["CHARGEBACK_DIMENSIONS", "Allocation", "Chargeback", "allocate", "chargeback"]

CHARGEBACK_DIMENSIONS: Final = ("team", "project")
PROPORTIONAL: Final = "proportional"
UNATTRIBUTED: Final = "unattributed"
_SHARE_PLACES = Decimal("0.000001")


@dataclass(frozen=True)
class Allocation:
    """One team's (or project's) bill; ``key`` is ``None`` only for the unattributed row."""

    key: str | None
    requests: int
    direct_nanos: int  # spend on rows carrying this key
    allocated_nanos: int  # its share of the unattributed spend

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

    def to_dict(self) -> dict[str, Any]:
        def share(nanos: int) -> str:
            if self.total_nanos == 0:
                return "0"
            value = (Decimal(nanos) / Decimal(self.total_nanos)).quantize(_SHARE_PLACES, ROUND_HALF_EVEN)
            return format(value, "f")

        return {
            "by": self.by,
            "method": self.method,
            "description": self.description,
            "total_usd": usd(self.total_nanos),
            "attributed_usd": usd(self.total_nanos - self.unattributed_nanos),
            "unattributed_usd": usd(self.unattributed_nanos),
            "unattributed_requests": self.unattributed_requests,
            "since": format_time(self.filters.since_ns),
            "until": format_time(self.filters.until_ns),
            "filters": dict(sorted(self.filters.equals.items())),
            "allocations": [
                {
                    self.by: a.key,
                    "requests": a.requests,
                    "direct_usd": usd(a.direct_nanos),
                    "allocated_usd": usd(a.allocated_nanos),
                    "total_usd": usd(a.total_nanos),
                    "share": share(a.total_nanos),
                }
                for a in self.allocations
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


def chargeback(reader: LedgerReader, by: str, filters: Filters | None = None) -> Chargeback:
    """Every ``by`` value's bill over the rows ``filters`` selects (see the module docs)."""
    if by not in CHARGEBACK_DIMENSIONS:
        raise ValueError(f"chargeback is by {' or '.join(CHARGEBACK_DIMENSIONS)}, not {by!r}")
    selection = filters or Filters()
    direct: dict[str, int] = {}
    requests: dict[str, int] = {}
    pool_nanos = pool_requests = 0
    for group in reader.group([by], selection):
        key = group.key[by]
        if key is None or not key.strip():
            pool_nanos += group.totals.cost_nanos
            pool_requests += group.totals.requests
        else:
            direct[key] = direct.get(key, 0) + group.totals.cost_nanos
            requests[key] = requests.get(key, 0) + group.totals.requests
    total = pool_nanos + sum(direct.values())
    if sum(direct.values()) > 0:
        method = PROPORTIONAL
        shares = allocate(pool_nanos, direct)
        description = (
            f"unattributed spend (${usd(pool_nanos)} over {pool_requests} requests without a {by}) is "
            f"spread over each {by} in proportion to its attributed spend; shares are rounded to the "
            "nano-dollar by largest remainder, so allocations sum exactly to the total"
        )
        rows = [Allocation(k, requests[k], direct[k], shares[k]) for k in direct]
    else:
        method = UNATTRIBUTED
        description = (
            f"no spend carries a {by}, so there is nothing to allocate in proportion to: "
            f"all ${usd(total)} is shown as unattributed"
        )
        rows = [Allocation(k, requests[k], direct[k], 0) for k in direct]
        if pool_requests:
            rows.append(Allocation(None, pool_requests, pool_nanos, 0))
    rows.sort(key=lambda a: (-a.total_nanos, a.key is not None, a.key or ""))
    return Chargeback(by, method, description, total, pool_nanos, pool_requests, rows, selection)
