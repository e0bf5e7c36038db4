"""OTLP forwarding of every received span (GenAI ones enriched with our cost) to downstream
endpoints such as Tempo or Jaeger.

Each endpoint has its own bounded queue and sender thread, so a slow or dead backend never
blocks ingest or another endpoint. The queue is bounded in bytes (spans vary from hundreds of
bytes to megabytes, memory is what must stay bounded); when it is full the OLDEST exports are
dropped: after an outage the recent spans are the ones worth having, and backends often refuse
spans that are too old anyway. Failed sends are retried with exponential backoff and jitter
(honouring Retry-After / RetryInfo) until ``max_elapsed_s``. Every span given up is counted in
``llmcost_collector_forward_dropped_total{endpoint, reason}``. Forwarding is at-least-once: an
export the client re-sends is forwarded again.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from typing import Final

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from otel_llmcost import semconv as sc
from otel_llmcost.collector._config_values import PROTOCOL_GRPC, ForwardEndpoint
from otel_llmcost.collector._senders import GrpcSender, HttpSender, PermanentError, RetryableError, Sender

__all__ = ["DROP_QUEUE_FULL", "DROP_REJECTED", "DROP_RETRIES_EXHAUSTED", "DROP_SHUTDOWN", "Forwarder"]

_logger = logging.getLogger(__name__)

DROP_QUEUE_FULL: Final = "queue_full"  # evicted (oldest first) to make room
DROP_REJECTED: Final = "rejected"  # the endpoint refused it for good (e.g. HTTP 400)
DROP_RETRIES_EXHAUSTED: Final = "retries_exhausted"  # still failing after max_elapsed_s
DROP_SHUTDOWN: Final = "shutdown"  # still queued when the shutdown deadline passed
_REASONS = (DROP_QUEUE_FULL, DROP_REJECTED, DROP_RETRIES_EXHAUSTED, DROP_SHUTDOWN)


class _Lane:
    """One endpoint: its queue, counters and sender thread."""

    def __init__(
        self, endpoint: ForwardEndpoint, sender: Sender, capacity: int, forwarder: Forwarder
    ) -> None:
        self.endpoint = endpoint
        self.sender = sender
        self.capacity = capacity
        self._forwarder = forwarder
        self._items: deque[tuple[bytes, int]] = deque()
        self._cond = threading.Condition()
        self.queued_bytes = 0
        self.queued_spans = 0
        self.sent = 0
        self.retries = 0
        self.dropped = dict.fromkeys(_REASONS, 0)
        self.thread = threading.Thread(target=self._run, name=f"llmcost-forward-{endpoint.name}", daemon=True)

    def put(self, body: bytes, spans: int) -> None:
        with self._cond:
            self._items.append((body, spans))
            self.queued_bytes += len(body)
            self.queued_spans += spans
            while self.queued_bytes > self.capacity and self._items:
                self._evict(DROP_QUEUE_FULL)
            self._cond.notify()

    def _evict(self, reason: str) -> None:
        old, old_spans = self._items.popleft()
        self.queued_bytes -= len(old)
        self.queued_spans -= old_spans
        self.dropped[reason] += old_spans

    def _take(self) -> tuple[bytes, int] | None:
        with self._cond:
            while not self._items:
                if self._forwarder.closing:
                    return None
                self._cond.wait()
            body, spans = self._items.popleft()
            self.queued_bytes -= len(body)
            self.queued_spans -= spans
            return body, spans

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def abandon(self) -> None:
        """Drop everything still queued (the shutdown deadline passed)."""
        with self._cond:
            while self._items:
                self._evict(DROP_SHUTDOWN)

    def _run(self) -> None:
        while (item := self._take()) is not None:
            self._deliver(*item)
        self.sender.close()

    def _deliver(self, body: bytes, spans: int) -> None:
        forwarder = self._forwarder
        started = time.monotonic()
        attempt = 0
        while True:
            try:
                self.sender.send(body)
            except RetryableError as err:
                delay = err.retry_after_s
                if delay is None:
                    backoff = min(forwarder.initial_backoff_s * 2**attempt, forwarder.max_backoff_s)
                    delay = backoff * random.uniform(0.8, 1.2)  # jitter: endpoints recover unsynchronized
                attempt += 1
                if time.monotonic() - started + delay > forwarder.max_elapsed_s:
                    _logger.warning(
                        "forward to %s: giving up after %d attempts: %s", self.endpoint.name, attempt, err
                    )
                    self.dropped[DROP_RETRIES_EXHAUSTED] += spans
                    return
                self.retries += 1
                if forwarder.stopped.wait(delay):
                    self.dropped[DROP_SHUTDOWN] += spans
                    return
            except PermanentError as err:
                _logger.warning(
                    "forward to %s: refused, dropping %d spans: %s", self.endpoint.name, spans, err
                )
                self.dropped[DROP_REJECTED] += spans
                return
            else:
                self.sent += spans
                return


class Forwarder(Collector):
    """Queues serialized exports for each endpoint; also the Prometheus collector of its metrics."""

    def __init__(
        self,
        endpoints: Sequence[ForwardEndpoint],
        *,
        registry: CollectorRegistry | None,
        queue_bytes: int = 64 * 1024 * 1024,
        initial_backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
        max_elapsed_s: float = 300.0,
    ) -> None:
        self.initial_backoff_s = initial_backoff_s
        self.max_backoff_s = max_backoff_s
        self.max_elapsed_s = max_elapsed_s
        self.closing = False
        self.stopped = threading.Event()  # set at the shutdown deadline: abandon retries
        self._lanes = [
            _Lane(endpoint, GrpcSender(endpoint) if endpoint.protocol == PROTOCOL_GRPC else HttpSender(endpoint), queue_bytes, self)
            for endpoint in endpoints
        ]  # fmt: skip
        if registry is not None:
            registry.register(self)

    def start(self) -> None:
        for lane in self._lanes:
            lane.thread.start()

    def submit(self, request: ExportTraceServiceRequest, spans: int) -> None:
        """Queue ``request`` for every endpoint; never blocks (full queues drop their oldest)."""
        if self.closing or not self._lanes:
            return
        body = request.SerializeToString()
        for lane in self._lanes:
            lane.put(body, spans)

    def close(self, timeout: float) -> bool:
        """Deliver what is queued for up to ``timeout`` seconds, then drop the rest (counted).
        ``True`` when everything queued was delivered or dropped for a reason of its own."""
        self.closing = True
        deadline = time.monotonic() + timeout
        for lane in self._lanes:
            lane.wake()
        for lane in self._lanes:
            if lane.thread.is_alive():
                lane.thread.join(max(0.0, deadline - time.monotonic()))
        clean = not any(lane.thread.is_alive() for lane in self._lanes)
        self.stopped.set()
        for lane in self._lanes:
            lane.abandon()
            lane.wake()
        for lane in self._lanes:
            if lane.thread.is_alive():
                lane.thread.join(1.0)
        return clean

    def collect(self) -> Iterator[Metric]:
        labels = [sc.LABEL_ENDPOINT]
        sent = CounterMetricFamily(
            sc.PROM_FORWARD_SPANS, "Spans delivered to a forward endpoint.", labels=labels
        )
        retries = CounterMetricFamily(
            sc.PROM_FORWARD_RETRIES, "Failed forward attempts that were retried.", labels=labels
        )
        dropped = CounterMetricFamily(
            sc.PROM_FORWARD_DROPPED, "Spans never delivered to a forward endpoint, by reason.",
            labels=[*labels, sc.LABEL_REASON],
        )  # fmt: skip
        spans = GaugeMetricFamily(
            sc.PROM_FORWARD_QUEUE_SPANS, "Spans waiting to be forwarded.", labels=labels
        )
        size = GaugeMetricFamily(sc.PROM_FORWARD_QUEUE_BYTES, "Bytes waiting to be forwarded.", labels=labels)
        capacity = GaugeMetricFamily(
            sc.PROM_FORWARD_QUEUE_CAPACITY, "Capacity of a forward queue in bytes.", labels=labels
        )
        for lane in self._lanes:
            name = [lane.endpoint.name]
            sent.add_metric(name, lane.sent)
            retries.add_metric(name, lane.retries)
            for reason, count in lane.dropped.items():
                dropped.add_metric([*name, reason], count)
            spans.add_metric(name, lane.queued_spans)
            size.add_metric(name, lane.queued_bytes)
            capacity.add_metric(name, lane.capacity)
        yield from (sent, retries, dropped, spans, size, capacity)
