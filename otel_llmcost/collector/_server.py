"""The collector process: receivers, pipeline, ledger, metrics and HTTP API, started and stopped
as one."""

from __future__ import annotations

import logging
import threading
import time
from types import TracebackType

from prometheus_client.registry import CollectorRegistry

from otel_llmcost.analytics._budget_forecast import LedgerForecaster
from otel_llmcost.budgets import load_policy
from otel_llmcost.budgets._policy import DEFAULT_TIERS
from otel_llmcost.collector._analytics import AnalyticsMonitor
from otel_llmcost.collector._api import Api, json_response
from otel_llmcost.collector._budgets import BudgetMonitor
from otel_llmcost.collector._config import CollectorConfig
from otel_llmcost.collector._config_values import Address
from otel_llmcost.collector._forward import Forwarder
from otel_llmcost.collector._http import HttpServer, Request, Response
from otel_llmcost.collector._metrics import CostMetrics
from otel_llmcost.collector._pipeline import Pipeline
from otel_llmcost.collector._receivers import GrpcReceiver, OtlpHttpHandler
from otel_llmcost.ledger import Filters, LedgerBackend, default_ledger_url, open_ledger
from otel_llmcost.pricing import Pricer

__all__ = ["Collector"]

_logger = logging.getLogger(__name__)
_PROBE = Filters(since_ns=1 << 62)  # matches nothing: an index lookup that proves the ledger answers
_PROBE_TTL_S = 1.0


def _no_budgets(request: Request) -> Response:
    """``/v1/budgets`` of a collector started without a budget policy (``--budgets``)."""
    return json_response({"configured": False, "refreshed_at": None, "budgets": []})


class Collector:
    """One collector. Construction loads prices and opens the ledger (raising
    :class:`~otel_llmcost.exceptions.ConfigError` when they are unusable); :meth:`start` binds
    every port and serves from background threads; :meth:`stop` shuts down gracefully.

    ``registry`` (default: a new one) receives every metric; ``ledger`` and ``pricer`` may be
    given instead of opened from the configuration (a given ledger is not closed by :meth:`stop`).
    Routes added to :attr:`api` before :meth:`start` are served with the built-in ones.
    """

    def __init__(
        self,
        config: CollectorConfig | None = None,
        *,
        registry: CollectorRegistry | None = None,
        ledger: LedgerBackend | None = None,
        pricer: Pricer | None = None,
    ) -> None:
        self.config = config = config if config is not None else CollectorConfig()
        self.registry = registry if registry is not None else CollectorRegistry()
        self.pricer = pricer if pricer is not None else Pricer(overrides=config.prices)
        self._owns_ledger = ledger is None
        self.ledger = ledger if ledger is not None else open_ledger(config.ledger_url or default_ledger_url())
        try:
            self.cost_metrics = CostMetrics(
                self.registry,
                labels=config.metric_labels,
                extra_labels=config.extra_labels,
                series_cap=config.series_cap,
            )
            self.forwarder = None
            if config.forward:
                self.forwarder = Forwarder(
                    config.forward,
                    registry=self.registry,
                    queue_bytes=config.forward_queue_bytes,
                    initial_backoff_s=config.forward_initial_backoff_s,
                    max_backoff_s=config.forward_max_backoff_s,
                    max_elapsed_s=config.forward_max_elapsed_s,
                )
            self.pipeline = Pipeline(
                self.ledger,
                self.pricer,
                self.cost_metrics,
                registry=self.registry,
                intake_capacity=config.intake_capacity,
                commit_timeout_s=config.commit_timeout_s,
                retry_after_s=config.retry_after_s,
                forwarder=self.forwarder,
            )
            self.api = Api(
                registry=self.registry, ledger=self.ledger, ready=self.ready, bearer_token=config.bearer_token
            )
            self.budgets: BudgetMonitor | None = None
            tiers = DEFAULT_TIERS
            if config.budgets:
                # A bad policy file refuses to start (ConfigError names file, key and reason).
                policy = load_policy(config.budgets)
                tiers = policy.tiers
                self.budgets = BudgetMonitor(
                    policy, self.ledger, registry=self.registry, refresh_seconds=config.budgets_refresh_s,
                    forecaster=LedgerForecaster(self.ledger),
                )  # fmt: skip
                self.api.route("/v1/budgets", self.budgets.handle)
            else:  # the endpoint is part of the API either way: say there is nothing to watch
                self.api.route("/v1/budgets", _no_budgets)
            self.analytics = AnalyticsMonitor(
                self.ledger, pricer=self.pricer, tiers=tiers, registry=self.registry,
                refresh_seconds=config.analytics_refresh_s, daily_threshold_usd=config.daily_cost_threshold_usd,
            )  # fmt: skip
            self.api.route("/v1/forecast", self.analytics.handle_forecast)
            self.api.route("/v1/insights", self.analytics.handle_insights)
        except BaseException:
            self._close_ledger()
            raise
        self._grpc: GrpcReceiver | None = None
        self._http_handler: OtlpHttpHandler | None = None
        self._http: HttpServer | None = None
        self._api_server: HttpServer | None = None
        self._started = False
        self._stopped = False
        self._stop_lock = threading.Lock()
        self.stopping = threading.Event()
        """Set when :meth:`stop` begins: from then on new exports are refused."""
        self._probe: tuple[float, bool] = (0.0, False)

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> Collector:
        """Bind the receivers and the API (``OSError`` when a port is taken) and start serving."""
        config = self.config
        try:
            self.pipeline.start()
            if self.budgets is not None:
                try:
                    self.budgets.refresh()  # gauges are right from the first scrape
                except Exception:  # the background refresh retries; serving must not wait for it
                    _logger.warning(
                        "otel-llmcost collector: first budget status refresh failed", exc_info=True
                    )
                self.budgets.start()
            self.analytics.start()
            if self.forwarder is not None:
                self.forwarder.start()
            if config.otlp_grpc is not None:
                self._grpc = GrpcReceiver(
                    self.pipeline, config.otlp_grpc,
                    max_request_bytes=config.max_request_bytes, max_concurrency=config.max_concurrency,
                    bearer_token=config.bearer_token, tls=config.tls,
                )  # fmt: skip
            if config.otlp_http is not None:
                self._http_handler = OtlpHttpHandler(
                    self.pipeline,
                    max_request_bytes=config.max_request_bytes,
                    bearer_token=config.bearer_token,
                )
                tls = config.tls.server_context() if config.tls is not None else None
                self._http = HttpServer(
                    config.otlp_http,
                    self._http_handler,
                    name="otlp-http",
                    tls=tls,
                    max_connections=config.max_concurrency * 4,
                )
            self._api_server = HttpServer(config.listen, self.api, name="api", max_connections=64)
            if self._grpc is not None:
                self._grpc.start()
            if self._http is not None:
                self._http.start()
            self._api_server.start()
        except BaseException:
            self.stop(timeout=1.0)
            raise
        self._started = True
        return self

    def stop(self, timeout: float | None = None) -> bool:
        """Refuse new exports (UNAVAILABLE / 503), let those in flight commit, stop the writer,
        flush forwarding, close the servers and the ledger — within ``timeout`` seconds (default
        ``shutdown.timeout_seconds``). ``False`` if something had to be cut short; exports cut
        short were never acknowledged. Idempotent."""
        with self._stop_lock:
            if self._stopped:
                return True
            self._stopped = True
        self.stopping.set()
        deadline = time.monotonic() + (self.config.shutdown_timeout_s if timeout is None else timeout)

        def left() -> float:
            return max(0.0, deadline - time.monotonic())

        clean = True
        if self._http_handler is not None:
            self._http_handler.closing = True  # new exports are answered 503 from here on
        if self._grpc is not None:
            clean &= self._grpc.stop(left())  # refuses new RPCs, waits for those in flight
        if self._http is not None:
            clean &= self._http.drain(left())
            self._http.stop()
        clean &= self.pipeline.close(left())
        if self.forwarder is not None and not self.forwarder.close(left()):
            # Forwarding is best effort: what is left is counted as dropped, and the ledger is whole.
            _logger.warning("otel-llmcost collector: forwarding cut short by the shutdown deadline")
        if self._api_server is not None:
            self._api_server.stop()
        if self.budgets is not None:
            self.budgets.stop(left())
        self.analytics.stop(left())
        self._close_ledger()
        if not clean:
            _logger.warning(
                "otel-llmcost collector: shutdown cut short after %.1f s", self.config.shutdown_timeout_s
            )
        return clean

    def _close_ledger(self) -> None:
        if self._owns_ledger:
            try:
                self.ledger.close()
            except Exception:
                _logger.exception("otel-llmcost collector: closing the ledger failed")

    def __enter__(self) -> Collector:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- what is running ----------------------------------------------------------------------

    @property
    def addresses(self) -> dict[str, Address]:
        """The bound addresses (real ports when 0 was asked): otlp_grpc, otlp_http, listen."""
        found: dict[str, Address] = {}
        if self._grpc is not None:
            found["otlp_grpc"] = self._grpc.address
        if self._http is not None:
            found["otlp_http"] = self._http.address
        if self._api_server is not None:
            found["listen"] = self._api_server.address
        return found

    def ready(self) -> tuple[bool, dict[str, bool]]:
        checks = {
            "receivers": self._started and not self._stopped,
            "writer": self.pipeline.running,
            "ledger": self._ledger_reachable(),
        }
        return all(checks.values()), checks

    def _ledger_reachable(self) -> bool:
        checked_at, ok = self._probe
        now = time.monotonic()
        if now - checked_at < _PROBE_TTL_S:
            return ok
        try:
            next(iter(self.ledger.records(_PROBE, batch_size=1)), None)
            ok = True
        except Exception as err:
            _logger.warning("otel-llmcost collector: the ledger does not answer: %r", err)
            ok = False
        self._probe = (now, ok)
        return ok
