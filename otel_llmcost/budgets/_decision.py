"""The decision API: may this call go ahead, how much is left, and which tier to use."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Literal

from otel_llmcost.budgets._guard import BudgetGuard
from otel_llmcost.budgets._policy import Budget

__all__ = ["BudgetStatus", "Decision", "decide"]

Tier = Literal["premium", "balanced", "cheap"]
_NANO = Decimal("1e-9")


@dataclass(frozen=True)
class BudgetStatus:
    """One matching budget's standing for this call's scope."""

    name: str
    action: str
    remaining_usd: Decimal | None
    remaining_tokens: int | None
    remaining_fraction: Decimal  # of the tighter limit, in [0, 1]
    resets_at: datetime | None


@dataclass(frozen=True)
class Decision:
    allowed: bool
    """False when a block/downgrade budget has nothing left (or less than the estimate given)."""
    remaining_usd: Decimal | None
    remaining_tokens: int | None
    resets_at: datetime | None
    suggested_tier: Tier
    """``premium`` with more than half of the tightest budget left, ``balanced`` under 50%,
    ``cheap`` under 20%."""
    budget: str | None
    """The tightest budget."""
    budgets: tuple[BudgetStatus, ...]


def _tier(fraction: Decimal) -> Tier:
    if fraction > Decimal("0.5"):
        return "premium"
    if fraction > Decimal("0.2"):
        return "balanced"
    return "cheap"


def _status(budget: Budget, spent_usd: int, spent_tokens: int, moment: datetime) -> BudgetStatus:
    fractions = []
    remaining_usd = remaining_tokens = None
    if budget.limit_usd is not None:
        limit = budget.limit_usd_nanos or 0
        left = max(0, limit - spent_usd)
        remaining_usd = (Decimal(left) * _NANO).normalize()
        fractions.append(Decimal(left) / Decimal(limit) if limit else Decimal(0))
    if budget.limit_tokens is not None:
        remaining_tokens = max(0, budget.limit_tokens - spent_tokens)
        fractions.append(Decimal(remaining_tokens) / Decimal(budget.limit_tokens))
    return BudgetStatus(
        budget.name,
        budget.action,
        remaining_usd,
        remaining_tokens,
        min(fractions, default=Decimal(1)),
        budget.window.resets_at(moment),
    )


def decide(
    guard: BudgetGuard,
    *,
    provider: str | None = None,
    model: str | None = None,
    estimated_tokens: int = 0,
    estimated_usd: Decimal = Decimal(0),
    attribution: Mapping[str, str] | None = None,
    now: float | None = None,
) -> Decision:
    """The budgets that would count a call with this attribution (baggage plus ``attribution``),
    and what they leave. Reads the store; reserves nothing."""
    attrs = guard.attributes(provider, model, attribution)
    moment = datetime.fromtimestamp(time.time() if now is None else now, timezone.utc)
    counted: list[tuple[Budget, str]] = []
    for budget in guard.policy.matching(attrs):
        key = budget.instance_key(attrs, moment)
        if key is not None:
            counted.append((budget, key))
    states = guard.store.state([k for _, k in counted], now=moment.timestamp()) if counted else []
    statuses = []
    allowed = True
    for (budget, _), state in zip(counted, states, strict=True):
        status = _status(
            budget,
            state.spent_usd_nanos + state.reserved_usd_nanos,
            state.spent_tokens + state.reserved_tokens,
            moment,
        )
        statuses.append(status)
        if budget.enforces:
            short_usd = status.remaining_usd is not None and (
                status.remaining_usd <= 0 or status.remaining_usd < estimated_usd
            )
            short_tokens = status.remaining_tokens is not None and (
                status.remaining_tokens <= 0 or status.remaining_tokens < estimated_tokens
            )
            allowed = allowed and not (short_usd or short_tokens)
    tightest = min(statuses, key=lambda s: s.remaining_fraction, default=None)
    return Decision(
        allowed=allowed,
        remaining_usd=min((s.remaining_usd for s in statuses if s.remaining_usd is not None), default=None),
        remaining_tokens=min(
            (s.remaining_tokens for s in statuses if s.remaining_tokens is not None), default=None
        ),
        resets_at=tightest.resets_at if tightest else None,
        suggested_tier=_tier(tightest.remaining_fraction) if tightest else "premium",
        budget=tightest.name if tightest else None,
        budgets=tuple(statuses),
    )
