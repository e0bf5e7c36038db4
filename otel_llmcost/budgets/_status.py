"""Where every budget stands, from the ledger: spent, limit, utilization and a window-end forecast.

This is the collector's view (what was actually billed), where the in-process guard's store holds
the live reservations. A ``per:`` budget reports its most-utilized instances (``top``): one series
per user or thread would not be a bounded label set.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from otel_llmcost.budgets._policy import Budget, Policy
from otel_llmcost.budgets._policy_schema import Threshold
from otel_llmcost.ledger import Filters, LedgerBackend, Totals

__all__ = ["BudgetWindowStatus", "Forecaster", "Unit", "budget_status", "run_rate_forecast"]

_NANO = Decimal("1e-9")
_NS = 1_000_000_000

#: What a forecast counts: ``usd``, or ``tokens`` (all input plus all output, as token limits do).
Unit = Literal["usd", "tokens"]
#: (budget, spent so far, window start, window end, now, unit) -> projected spent at the window's
#: end, in ``unit`` (USD to the nano-dollar, or whole tokens)
Forecaster = Callable[[Budget, Decimal, datetime, datetime, datetime, Unit], Decimal | None]


@dataclass(frozen=True)
class BudgetWindowStatus:
    budget: str
    window: str
    instance: str  # the per-key value ("" for a budget without per)
    scope: dict[str, str]
    action: str
    window_start: datetime | None
    resets_at: datetime | None
    spent_usd: Decimal
    spent_tokens: int
    limit_usd: Decimal | None
    limit_tokens: int | None
    forecast_usd: Decimal | None
    forecast_tokens: int | None  # budgets with a token limit only
    thresholds_reached: list[str] = field(default_factory=list)
    unpriced: int = 0
    """Calls in the window of models without a price: spent_usd leaves them out (unknown, not $0)."""

    @property
    def utilization(self) -> Decimal:
        """The larger of spent/limit over the USD and token limits (1 = exhausted)."""
        ratios = []
        if self.limit_usd:
            ratios.append(self.spent_usd / self.limit_usd)
        if self.limit_tokens:
            ratios.append(Decimal(self.spent_tokens) / Decimal(self.limit_tokens))
        return max(ratios, default=Decimal(0))

    def to_dict(self) -> dict[str, object]:
        def money(value: Decimal | None) -> str | None:
            return None if value is None else format(value.normalize(), "f")

        return {
            "budget": self.budget,
            "window": self.window,
            "key": self.instance,
            "scope": self.scope,
            "action": self.action,
            "window_start": self.window_start.isoformat() if self.window_start else None,
            "resets_at": self.resets_at.isoformat() if self.resets_at else None,
            "spent_usd": money(self.spent_usd),
            "spent_tokens": self.spent_tokens,
            "limit_usd": money(self.limit_usd),
            "limit_tokens": self.limit_tokens,
            "utilization": float(round(self.utilization, 6)),
            "forecast_usd": money(self.forecast_usd),
            "forecast_tokens": self.forecast_tokens,
            "thresholds_reached": self.thresholds_reached,
            "unpriced": self.unpriced,
        }


def _describe(threshold: Threshold) -> str:
    """``warning@80%``, ``critical@$800``, ``warning@500000 tokens``."""
    if threshold.fraction is not None:
        at = f"{(threshold.fraction * 100).normalize():f}%"
    elif threshold.usd is not None:
        at = f"${threshold.usd.normalize():f}"
    else:
        at = f"{threshold.tokens} tokens"
    return f"{threshold.severity}@{at}"


def run_rate_forecast(
    budget: Budget, spent: Decimal, start: datetime, end: datetime, now: datetime, unit: Unit = "usd"
) -> Decimal | None:
    """Spend at the window's end if the rate so far continues (the floor of any better model)."""
    elapsed = (now - start).total_seconds()
    length = (end - start).total_seconds()
    if elapsed <= 0 or length <= 0:
        return None
    projected = spent * Decimal(length) / Decimal(elapsed)
    if unit == "tokens":  # whole tokens, rounded half up as the seasonal model's run-rate floor is
        return projected.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return projected.quantize(_NANO)


def _bounds(budget: Budget, now: datetime) -> tuple[datetime | None, datetime | None]:
    window = budget.window
    if window.kind == "rolling":
        return now - timedelta(seconds=window.length_seconds), window.resets_at(now)
    return window.bounds(now)


def _status(
    budget: Budget,
    instance: str,
    scope: dict[str, str],
    totals: Totals,
    start: datetime | None,
    end: datetime | None,
    now: datetime,
    forecaster: Forecaster,
) -> BudgetWindowStatus:
    spent = (Decimal(totals.cost_nanos) * _NANO).normalize()
    tokens = totals.input_tokens + totals.output_tokens
    forecast = forecast_tokens = None
    if start is not None and end is not None and budget.window.kind != "rolling":
        forecast = forecaster(budget, spent, start, end, now, "usd")
        if budget.limit_tokens is not None:  # a token budget is forecast in its own unit too
            projected = forecaster(budget, Decimal(tokens), start, end, now, "tokens")
            forecast_tokens = None if projected is None else int(projected)
    reached = [_describe(t) for t in budget.thresholds_reached(totals.cost_nanos, tokens)]
    return BudgetWindowStatus(
        budget=budget.name, window=budget.window.spec, instance=instance, scope=scope, action=budget.action,
        window_start=start, resets_at=end if budget.window.kind != "rolling" else budget.window.resets_at(now),
        spent_usd=spent, spent_tokens=tokens, limit_usd=budget.limit_usd, limit_tokens=budget.limit_tokens,
        forecast_usd=forecast, forecast_tokens=forecast_tokens, thresholds_reached=reached,
        unpriced=totals.unpriced,
    )  # fmt: skip


def budget_status(
    policy: Policy,
    ledger: LedgerBackend,
    *,
    now: datetime | None = None,
    top: int = 10,
    forecaster: Forecaster = run_rate_forecast,
) -> list[BudgetWindowStatus]:
    """Every budget's current window, from the ledger; ``per:`` budgets report their ``top``
    most-utilized instances."""
    moment = now or datetime.now(timezone.utc)
    found: list[BudgetWindowStatus] = []
    for budget in policy.budgets:
        start, end = _bounds(budget, moment)
        filters = Filters(
            since_ns=int(start.timestamp() * _NS) if start else None,
            until_ns=int(moment.timestamp() * _NS) + 1,
            equals=dict(budget.scope),
        )
        if budget.per is None:
            totals = ledger.totals(filters)
            found.append(_status(budget, "", dict(budget.scope), totals, start, end, moment, forecaster))
            continue
        instances = [
            _status(budget, str(group.key[budget.per]), {**budget.scope, budget.per: str(group.key[budget.per])},
                    group.totals, start, end, moment, forecaster)
            for group in ledger.group([budget.per], filters)
            if group.key.get(budget.per)
        ]  # fmt: skip
        instances.sort(key=lambda s: (-s.utilization, s.instance))
        found.extend(instances[:top])
    return found
