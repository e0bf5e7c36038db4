"""Budget status in the collector: refreshed from the ledger in the background, exposed as gauges
(``llmcost_budget_spent_usd``, ``_limit_usd``, ``_utilization_ratio``, ``_forecast_usd``, and for
a token limit ``_spent_tokens``, ``_limit_tokens`` and ``_forecast_tokens``) and as ``/v1/budgets``.

The ledger queries run on a timer, not at scrape time: a month-to-date query over a large ledger
takes a fraction of a second, and Prometheus scrapes every few seconds.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import datetime, timezone

from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from otel_llmcost import semconv as sc
from otel_llmcost.budgets._policy import Policy
from otel_llmcost.budgets._status import BudgetWindowStatus, Forecaster, budget_status, run_rate_forecast
from otel_llmcost.collector._api import json_response
from otel_llmcost.collector._http import Request, Response
from otel_llmcost.collector._refresh import PeriodicRefresh
from otel_llmcost.ledger import LedgerBackend

__all__ = ["BudgetMonitor"]

_logger = logging.getLogger(__name__)
_LABELS = (sc.LABEL_BUDGET, "window", sc.LABEL_BUDGET_KEY)


class BudgetMonitor(Collector):
    """Keeps the latest :class:`BudgetWindowStatus` list; thread-safe."""

    def __init__(
        self,
        policy: Policy,
        ledger: LedgerBackend,
        *,
        registry: CollectorRegistry | None = None,
        refresh_seconds: float = 15.0,
        top: int = 10,
        forecaster: Forecaster = run_rate_forecast,
    ) -> None:
        self.policy = policy
        self._ledger = ledger
        self._top = top
        self._forecaster = forecaster
        self._lock = threading.Lock()
        self._statuses: list[BudgetWindowStatus] = []
        self._refreshed_at: datetime | None = None
        self._refresher = PeriodicRefresh(
            self.refresh, refresh_seconds, name="llmcost-budgets", what="budget status"
        )
        if registry is not None:
            registry.register(self)

    # -- refresh -----------------------------------------------------------------------------

    def refresh(self, now: datetime | None = None) -> list[BudgetWindowStatus]:
        statuses = budget_status(
            self.policy, self._ledger, now=now, top=self._top, forecaster=self._forecaster
        )
        with self._lock:
            self._statuses = statuses
            self._refreshed_at = now or datetime.now(timezone.utc)
        return statuses

    def start(self) -> None:
        """Refresh every ``refresh_seconds`` in a background thread."""
        self._refresher.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._refresher.stop(timeout)

    @property
    def statuses(self) -> list[BudgetWindowStatus]:
        with self._lock:
            return list(self._statuses)

    # -- Prometheus ----------------------------------------------------------------------------

    def collect(self) -> Iterator[Metric]:
        spent = GaugeMetricFamily(
            sc.PROM_BUDGET_SPENT, "Spend in the budget's current window (USD).", labels=_LABELS
        )
        limit = GaugeMetricFamily(sc.PROM_BUDGET_LIMIT, "The budget's USD limit.", labels=_LABELS)
        ratio = GaugeMetricFamily(
            sc.PROM_BUDGET_UTILIZATION,
            "Spent over limit (the larger of USD and tokens; 1 = exhausted).",
            labels=_LABELS,
        )
        forecast = GaugeMetricFamily(
            sc.PROM_BUDGET_FORECAST,
            "Projected spend at the end of the budget's window (USD).",
            labels=_LABELS,
        )
        spent_tokens = GaugeMetricFamily(
            sc.PROM_BUDGET_SPENT_TOKENS,
            "Tokens (input plus output) in the budget's current window; token budgets only.",
            labels=_LABELS,
        )
        limit_tokens = GaugeMetricFamily(
            sc.PROM_BUDGET_LIMIT_TOKENS, "The budget's token limit (input plus output).", labels=_LABELS
        )
        forecast_tokens = GaugeMetricFamily(
            sc.PROM_BUDGET_FORECAST_TOKENS,
            "Projected tokens (input plus output) at the end of the budget's window; token budgets only.",
            labels=_LABELS,
        )
        for status in self.statuses:
            labels = [status.budget, status.window, status.instance]
            spent.add_metric(labels, float(status.spent_usd))
            if status.limit_usd is not None:
                limit.add_metric(labels, float(status.limit_usd))
            ratio.add_metric(labels, float(status.utilization))
            if status.forecast_usd is not None:
                forecast.add_metric(labels, float(status.forecast_usd))
            if status.limit_tokens is not None:
                spent_tokens.add_metric(labels, float(status.spent_tokens))
                limit_tokens.add_metric(labels, float(status.limit_tokens))
            if status.forecast_tokens is not None:
                forecast_tokens.add_metric(labels, float(status.forecast_tokens))
        yield from (spent, limit, ratio, forecast, spent_tokens, limit_tokens, forecast_tokens)

    # -- /v1/budgets ---------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        with self._lock:
            statuses, at = list(self._statuses), self._refreshed_at
        return json_response(
            {
                "refreshed_at": at.isoformat() if at else None,
                "timezone": str(self.policy.timezone),
                "budgets": [s.to_dict() for s in statuses],
            }
        )
