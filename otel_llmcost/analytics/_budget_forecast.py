"""The seasonal forecast as a budgets :data:`~otel_llmcost.budgets._status.Forecaster`, so the
collector's ``llmcost_budget_forecast_usd`` / ``_forecast_tokens`` and ``/v1/budgets`` project
with it.

Monthly and weekly budgets without ``per`` get the model's point forecast, fitted to the
budget's scope in the budget's zone, of spend or (for a token limit) of tokens; other windows
(a day is too short for a daily model, a rolling window has no end) and per-instance budgets (the
forecaster is not told the instance) keep the run-rate, as does a scope with too little history.
The fitted history (complete days only) is cached for an hour per budget, unit and local day:
budget status refreshes every few seconds, and only today's figure, one cheap query, changes
between refreshes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from otel_llmcost.analytics._forecast import HISTORY_DAYS, daily_spend, project, to_ns
from otel_llmcost.budgets._policy import Budget
from otel_llmcost.budgets._status import Unit, run_rate_forecast
from otel_llmcost.budgets._windows import Window
from otel_llmcost.ledger import Filters, LedgerBackend, Totals
from otel_llmcost.pricing import to_nanos

__all__ = ["LedgerForecaster"]

_logger = logging.getLogger(__name__)
_FORECAST_WINDOWS = frozenset({"monthly", "weekly"})
_MAX_CACHED = 256


class LedgerForecaster:
    """``forecaster(budget, spent, start, end, now, unit)`` for :func:`~otel_llmcost.budgets._status.budget_status`
    and :class:`~otel_llmcost.collector._budgets.BudgetMonitor`; thread-safe."""

    def __init__(
        self,
        ledger: LedgerBackend,
        *,
        cache_seconds: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ledger = ledger
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str, str, datetime, Unit], tuple[float, dict[date, int]]] = {}

    def __call__(
        self,
        budget: Budget,
        spent: Decimal,
        start: datetime,
        end: datetime,
        now: datetime,
        unit: Unit = "usd",
    ) -> Decimal | None:
        kind = budget.window.kind
        if budget.per is not None or kind not in _FORECAST_WINDOWS:
            return run_rate_forecast(budget, spent, start, end, now, unit)
        try:
            seasonal = self._seasonal(budget, spent, now, unit)
            if seasonal is not None:
                return seasonal
        except Exception:  # a forecast must never take budget status (and its gauges) down
            _logger.warning(
                "otel-llmcost: forecast of budget %r failed; using the run-rate", budget.name, exc_info=True
            )
        return run_rate_forecast(budget, spent, start, end, now, unit)

    def _seasonal(self, budget: Budget, spent: Decimal, now: datetime, unit: Unit) -> Decimal | None:
        kind = budget.window.kind
        zone = budget.window.tz
        midnight, _ = Window.parse("daily", zone).bounds(now)
        assert midnight is not None
        scope = dict(budget.scope)
        daily = self._history(budget.name, kind, midnight, zone, scope, unit)
        today = self._ledger.totals(Filters(since_ns=to_ns(midnight), until_ns=to_ns(now) + 1, equals=scope))
        # The model works on any integer amount per day: nano-dollars, or tokens.
        usd = unit == "usd"
        result = project(
            daily, window=kind, tz=zone, as_of=now, spent_nanos=to_nanos(spent) if usd else int(spent),
            today_nanos=today.cost_nanos if usd else _tokens(today), scope=scope, replicates=0,
        )  # fmt: skip
        if result.forecast_nanos is None:
            return None
        return Decimal(result.forecast_nanos).scaleb(-9) if usd else Decimal(result.forecast_nanos)

    def _history(
        self, name: str, kind: str, midnight: datetime, zone: ZoneInfo, scope: dict[str, str], unit: Unit
    ) -> dict[date, int]:
        key = (name, kind, str(zone), midnight, unit)
        now = self._clock()
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and now - cached[0] < self._cache_seconds:
            return cached[1]
        since = midnight - timedelta(days=HISTORY_DAYS + 1)
        measure = _tokens if unit == "tokens" else _nanos
        daily = daily_spend(self._ledger, since, midnight, zone, scope, measure)
        with self._lock:
            if len(self._cache) >= _MAX_CACHED:
                self._cache.clear()
            self._cache[key] = (now, daily)
        return daily


def _nanos(totals: Totals) -> int:
    return totals.cost_nanos


def _tokens(totals: Totals) -> int:
    """What a token limit counts: all input plus all output."""
    return totals.input_tokens + totals.output_tokens
