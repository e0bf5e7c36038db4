"""The seasonal forecast as a budgets :data:`~otel_llmcost.budgets._status.Forecaster`, so the
collector's ``llmcost_budget_forecast_usd`` and ``/v1/budgets`` project with it.

Monthly and weekly budgets without ``per`` get the model's point forecast, fitted to the
budget's scope in the budget's zone; other windows (a day is too short for a daily model, a
rolling window has no end) and per-instance budgets (the forecaster is not told the instance)
keep the run-rate, as does a scope with too little history. The fitted history (complete days
only) is cached for an hour per budget and local day: budget status refreshes every few seconds,
and only today's spend, one cheap query, changes between refreshes.
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
from otel_llmcost.budgets._status import run_rate_forecast
from otel_llmcost.budgets._windows import Window
from otel_llmcost.ledger import Filters, LedgerBackend
from otel_llmcost.pricing import to_nanos

__all__ = ["LedgerForecaster"]

_logger = logging.getLogger(__name__)
_FORECAST_WINDOWS = frozenset({"monthly", "weekly"})
_MAX_CACHED = 256


class LedgerForecaster:
    """``forecaster(budget, spent, start, end, now)`` for :func:`~otel_llmcost.budgets._status.budget_status`
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
        self._cache: dict[tuple[str, str, str, datetime], tuple[float, dict[date, int]]] = {}

    def __call__(
        self, budget: Budget, spent: Decimal, start: datetime, end: datetime, now: datetime
    ) -> Decimal | None:
        kind = budget.window.kind
        if budget.per is not None or kind not in _FORECAST_WINDOWS:
            return run_rate_forecast(budget, spent, start, end, now)
        try:
            seasonal = self._seasonal(budget, spent, now)
            if seasonal is not None:
                return seasonal
        except Exception:  # a forecast must never take budget status (and its gauges) down
            _logger.warning(
                "otel-llmcost: forecast of budget %r failed; using the run-rate", budget.name, exc_info=True
            )
        return run_rate_forecast(budget, spent, start, end, now)

    def _seasonal(self, budget: Budget, spent: Decimal, now: datetime) -> Decimal | None:
        kind = budget.window.kind
        zone = budget.window.tz
        midnight, _ = Window.parse("daily", zone).bounds(now)
        assert midnight is not None
        scope = dict(budget.scope)
        daily = self._history(budget.name, kind, midnight, zone, scope)
        today = self._ledger.totals(Filters(since_ns=to_ns(midnight), until_ns=to_ns(now) + 1, equals=scope))
        result = project(
            daily, window=kind, tz=zone, as_of=now, spent_nanos=to_nanos(spent), today_nanos=today.cost_nanos,
            scope=scope, replicates=0,
        )  # fmt: skip
        return None if result.forecast_nanos is None else Decimal(result.forecast_nanos).scaleb(-9)

    def _history(
        self, name: str, kind: str, midnight: datetime, zone: ZoneInfo, scope: dict[str, str]
    ) -> dict[date, int]:
        key = (name, kind, str(zone), midnight)
        now = self._clock()
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and now - cached[0] < self._cache_seconds:
            return cached[1]
        daily = daily_spend(self._ledger, midnight - timedelta(days=HISTORY_DAYS + 1), midnight, zone, scope)
        with self._lock:
            if len(self._cache) >= _MAX_CACHED:
                self._cache.clear()
            self._cache[key] = (now, daily)
        return daily
