"""Analytics in the collector: anomaly and forecast gauges, ``/v1/forecast`` and ``/v1/insights``.

Gauges (refreshed from the ledger on a timer, like budget status, never at scrape time):

* ``llmcost_anomaly_ratio{kind}`` (``hourly_cost`` | ``hourly_tokens``): the trailing 60 minutes
  over their baseline, the median of the same 60 minutes in the previous 4 weeks (see
  :mod:`~otel_llmcost.analytics._anomalies`); absent while no earlier week has data. Its parts:
  ``llmcost_anomaly_value{kind}`` and ``llmcost_anomaly_baseline{kind}`` (USD or tokens).
* ``llmcost_daily_cost_usd``: the current UTC day's spend so far, and
  ``llmcost_daily_cost_threshold_usd`` when ``anomalies.daily_cost_threshold_usd`` is set.
* ``llmcost_forecast_usd{window="month", bound="point"|"low"|"high"}``: the UTC month's
  projected spend and its 80% interval (absent with too little history).

``/v1/forecast`` and ``/v1/insights`` answer exactly what ``otel-llmcost forecast --json`` and
``insights --json`` print. Insights read a month of rows, so an answer is kept for a few minutes
per distinct query.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from otel_llmcost import semconv as sc
from otel_llmcost.analytics._anomalies import HourlyLevel, current_levels
from otel_llmcost.analytics._backtest import backtest
from otel_llmcost.analytics._forecast import WINDOWS, Forecast, forecast
from otel_llmcost.analytics._insights import DAY_NS, find_insights, parse_duration
from otel_llmcost.collector._api import ApiError, json_response, parse_time
from otel_llmcost.collector._http import Request, Response
from otel_llmcost.collector._refresh import PeriodicRefresh
from otel_llmcost.ledger import FILTERABLE, Filters, LedgerBackend
from otel_llmcost.pricing import Pricer, positive_usd, to_nanos

__all__ = ["AnalyticsMonitor"]

_logger = logging.getLogger(__name__)
_SCOPE_KEYS = FILTERABLE - {"day", "hour", "month"}
_FORECAST_PARAMS = frozenset({"window", "timezone", "as_of", "backtest"})
_INSIGHTS_PARAMS = frozenset({"days", "since", "until", "duplicate_window", "daily_threshold_usd"})
_CACHED_ANSWERS = 16


def _single(request: Request, name: str) -> str | None:
    values = request.query.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise ApiError(f"{name} is given {len(values)} times; give it once", name)
    return values[0]


def _scope(request: Request, known: frozenset[str]) -> dict[str, str | None]:
    unknown = sorted(set(request.query) - known - _SCOPE_KEYS)
    if unknown:
        expected = ", ".join(sorted(known)) + " or a filter on " + ", ".join(sorted(_SCOPE_KEYS))
        raise ApiError(f"unknown parameter {unknown[0]!r}; expected {expected}", unknown[0])
    return {name: _single(request, name) for name in sorted(set(request.query) & _SCOPE_KEYS)}


class AnalyticsMonitor(Collector):
    """Keeps the latest anomaly levels, day spend and month forecast; serves the two endpoints."""

    def __init__(
        self,
        ledger: LedgerBackend,
        *,
        pricer: Pricer,
        tiers: Mapping[str, Sequence[str]],
        registry: CollectorRegistry | None = None,
        refresh_seconds: float = 60.0,
        daily_threshold_usd: Decimal | None = None,
        insights_cache_seconds: float = 300.0,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self._ledger = ledger
        self._pricer = pricer
        self._tiers = tiers
        self._threshold = daily_threshold_usd
        self._cache_seconds = insights_cache_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._levels: dict[str, HourlyLevel] = {}
        self._day_nanos: int | None = None
        self._forecast: Forecast | None = None
        self._answers: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[float, dict[str, Any]]] = {}
        self._refresher = PeriodicRefresh(
            self.refresh, refresh_seconds, name="llmcost-analytics", what="analytics"
        )
        self.first_refresh = self._refresher.first_refresh
        """Set once the background thread's first refresh has finished (or failed)."""
        if registry is not None:
            registry.register(self)

    # -- refresh -----------------------------------------------------------------------------

    def refresh(self, now_ns: int | None = None) -> None:
        """Each gauge group on its own: one that fails is withdrawn (a stale anomaly ratio could
        keep an alert firing, or hide one) while the others still update; then the first
        failure is raised for the caller to log."""
        now = now_ns if now_ns is not None else self._clock()
        moment = datetime.fromtimestamp(now // 1_000_000_000, timezone.utc)
        failure: Exception | None = None

        def attempt(part: Callable[[], Any]) -> Any:
            nonlocal failure
            try:
                return part()
            except Exception as err:
                failure = failure or err
                return None

        levels = attempt(lambda: current_levels(self._ledger, now))
        day = attempt(
            lambda: self._ledger.totals(Filters(since_ns=now - now % DAY_NS, until_ns=now + 1)).cost_nanos
        )
        month = attempt(lambda: forecast(self._ledger, window="month", as_of=moment))
        with self._lock:
            self._levels, self._day_nanos, self._forecast = levels or {}, day, month
        if failure is not None:
            raise failure

    def start(self) -> None:
        """Refresh now and then every ``refresh_seconds``, in a background thread (the first
        refresh may read a lot of a large ledger: it must not hold up the collector's start)."""
        self._refresher.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._refresher.stop(timeout)

    # -- Prometheus ----------------------------------------------------------------------------

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            levels, day, month = dict(self._levels), self._day_nanos, self._forecast
        ratio = GaugeMetricFamily(
            sc.PROM_ANOMALY_RATIO, "The trailing hour over its baseline (the same hour's median in past weeks).",
            labels=[sc.LABEL_KIND],
        )  # fmt: skip
        value = GaugeMetricFamily(
            sc.PROM_ANOMALY_VALUE, "The trailing hour's spend (USD) or tokens.", labels=[sc.LABEL_KIND]
        )
        baseline = GaugeMetricFamily(
            sc.PROM_ANOMALY_BASELINE,
            "The trailing hour's baseline, spend (USD) or tokens.",
            labels=[sc.LABEL_KIND],
        )
        for kind, level in sorted(levels.items()):
            scale = 1e-9 if kind == sc.ANOMALY_HOURLY_COST else 1.0
            value.add_metric([kind], level.value * scale)
            if level.baseline is not None:
                baseline.add_metric([kind], level.baseline * scale)
            if level.ratio is not None:
                ratio.add_metric([kind], level.ratio)
        yield from (ratio, value, baseline)
        if day is not None:
            yield GaugeMetricFamily(
                sc.PROM_DAILY_COST, "Spend of the current UTC day so far (USD).", value=day / 1e9
            )
        if self._threshold is not None:
            yield GaugeMetricFamily(
                sc.PROM_DAILY_COST_THRESHOLD,
                "The configured daily spend threshold (USD).",
                value=float(self._threshold),
            )
        projected = GaugeMetricFamily(
            sc.PROM_FORECAST, "Projected spend at the window's end (point) and its 80% interval (USD).",
            labels=[sc.LABEL_WINDOW, sc.LABEL_BOUND],
        )  # fmt: skip
        if month is not None and month.forecast_nanos is not None:
            for bound, nanos in (
                ("point", month.forecast_nanos),
                ("low", month.low_nanos),
                ("high", month.high_nanos),
            ):
                if nanos is not None:
                    projected.add_metric(["month", bound], nanos / 1e9)
        yield projected

    # -- /v1/forecast --------------------------------------------------------------------------

    def handle_forecast(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            raise ApiError(f"{request.method} is not allowed here; use GET", status=405)
        scope = _scope(request, _FORECAST_PARAMS)
        window = _single(request, "window") or "month"
        if window not in WINDOWS:
            raise ApiError(f"window={window!r}: expected month or week", "window")
        zone_name = _single(request, "timezone") or "UTC"
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ApiError(f"timezone={zone_name!r}: not an IANA time zone", "timezone") from None
        as_of_text = _single(request, "as_of")
        as_of = None
        if as_of_text is not None:
            ns = parse_time(as_of_text, "as_of")
            as_of = datetime.fromtimestamp(ns // 1_000_000_000, timezone.utc).replace(
                microsecond=ns % 10**9 // 1000
            )
        flag = (_single(request, "backtest") or "false").lower()
        if flag not in ("true", "false", "1", "0"):
            raise ApiError(f"backtest={flag!r}: expected true or false", "backtest")
        try:
            if flag in ("true", "1"):
                if WINDOWS[window] != "monthly":
                    raise ApiError("backtest scores month-end forecasts; use window=month", "window")
                return json_response(
                    self._cached(
                        request,
                        lambda: {
                            "timezone": str(zone),
                            "scope": scope,
                            **backtest(self._ledger, tz=zone, as_of=as_of, scope=scope).to_dict(),
                        },
                    )
                )
            return json_response(
                forecast(self._ledger, window=window, tz=zone, as_of=as_of, scope=scope).to_dict()
            )
        except ValueError as err:
            raise ApiError(str(err)) from None

    # -- /v1/insights --------------------------------------------------------------------------

    def handle_insights(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            raise ApiError(f"{request.method} is not allowed here; use GET", status=405)
        scope = _scope(request, _INSIGHTS_PARAMS)
        days_text = _single(request, "days") or "30"
        if not (days_text.isascii() and days_text.isdigit()) or not 1 <= int(days_text) <= 3660:
            raise ApiError(f"days={days_text!r}: expected a whole number of days from 1 to 3660", "days")
        times = {}
        for name in ("since", "until"):
            text = _single(request, name)
            times[name] = parse_time(text, name) if text is not None else None
        window_text = _single(request, "duplicate_window") or "24h"
        try:
            window = parse_duration(window_text)
        except ValueError as err:
            raise ApiError(f"duplicate_window: {err}", "duplicate_window") from None
        threshold = self._threshold
        threshold_text = _single(request, "daily_threshold_usd")
        if threshold_text is not None:
            try:
                threshold = positive_usd(threshold_text)
            except ValueError:
                raise ApiError(
                    f"daily_threshold_usd={threshold_text!r}: expected a positive amount of USD",
                    "daily_threshold_usd",
                ) from None
        return json_response(
            self._cached(
                request,
                lambda: find_insights(
                    self._ledger, since_ns=times["since"], until_ns=times["until"], days=int(days_text),
                    scope=scope, pricer=self._pricer, tiers=self._tiers, duplicate_window_ns=window,
                    daily_threshold_nanos=None if threshold is None else to_nanos(threshold),
                ).to_dict(),
            )
        )  # fmt: skip

    def _cached(self, request: Request, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """``compute()``'s answer, kept ``insights_cache_seconds`` per path and query: insights
        and backtests read a month or more of rows, and dashboards poll."""
        key = (request.path, tuple(sorted((k, v[0]) for k, v in request.query.items())))
        now = time.monotonic()
        with self._lock:
            cached = self._answers.get(key)
        if cached is not None and now - cached[0] < self._cache_seconds:
            return cached[1]
        try:
            data = compute()
        except ValueError as err:
            raise ApiError(str(err)) from None
        with self._lock:
            if len(self._answers) >= _CACHED_ANSWERS:
                self._answers.clear()
            self._answers[key] = (now, data)
        return data
