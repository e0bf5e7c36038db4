"""Normalize → ledger → metrics → forward, with the export acknowledged only after the commit.

Receiver threads parse and normalize (the CPU-heavy part, in parallel with the write); the
records then go to ONE writer thread through a bounded intake. The writer takes everything
pending, writes it with one ``insert_new`` (one transaction, so one fsync for many exports),
counts only the rows that were new in :class:`CostMetrics` (a re-sent export changes no
counter), and only then releases each waiting receiver, which answers its client. A write error
fails every export of that transaction with a retryable status: the exporter re-sends and the
ledger's keys make the retry idempotent. So nothing acknowledged is lost and nothing is counted
twice.

The intake is bounded in spans, and a full intake refuses the export with a retryable status
(RESOURCE_EXHAUSTED / 429 + Retry-After) instead of blocking the receiver or dropping data.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from prometheus_client.metrics_core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from otel_llmcost import semconv as sc
from otel_llmcost.collector._forward import Forwarder
from otel_llmcost.collector._metrics import CollectorMetrics, CostMetrics
from otel_llmcost.collector._normalize import Normalizer
from otel_llmcost.ledger import LedgerBackend, LedgerRecord
from otel_llmcost.pricing import Pricer

__all__ = ["ExportResult", "Intake", "Outcome", "Pipeline"]

_logger = logging.getLogger(__name__)


class Outcome(enum.Enum):
    """How an export request ended; each receiver maps it to its protocol's status."""

    OK = "ok"
    INVALID = "invalid"  # malformed body: INVALID_ARGUMENT / 400
    TOO_LARGE = "too_large"  # RESOURCE_EXHAUSTED / 413
    BUSY = "busy"  # intake full: RESOURCE_EXHAUSTED / 429, retry later
    UNAVAILABLE = "unavailable"  # write failed, timed out or shutting down: UNAVAILABLE / 503
    UNAUTHENTICATED = "unauthenticated"  # UNAUTHENTICATED / 401
    UNSUPPORTED = "unsupported"  # HTTP only: wrong path (404), method (405), media type (415)


@dataclass(frozen=True, slots=True)
class ExportResult:
    outcome: Outcome
    message: str = ""
    retry_after_s: int | None = None  # set on retryable outcomes
    rejected_spans: int = 0  # GenAI spans kept out of the ledger (OTLP partial success)


class _Ticket:
    """One export's records waiting for the writer; ``done`` is set after commit or failure."""

    __slots__ = ("done", "error", "records")

    def __init__(self, records: list[LedgerRecord]) -> None:
        self.records = records
        self.done = threading.Event()
        self.error: BaseException | None = None


class Intake:
    """Exports waiting for the writer, bounded in spans (those being written count too)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._cond = threading.Condition()
        self._pending: list[_Ticket] = []
        self._depth = 0
        self._closed = False

    def depth(self) -> int:
        return self._depth

    def full(self) -> bool:
        return self._depth >= self.capacity

    def offer(self, records: list[LedgerRecord]) -> _Ticket | None:
        """A ticket, or ``None`` when the records do not fit. An export bigger than the whole
        capacity is admitted into an empty intake, or it could never be written."""
        ticket = _Ticket(records)
        with self._cond:
            if self._closed or (self._depth and self._depth + len(records) > self.capacity):
                return None
            self._pending.append(ticket)
            self._depth += len(records)
            self._cond.notify()
        return ticket

    def take(self) -> list[_Ticket] | None:
        """Everything pending, waiting for some; ``None`` once closed and empty."""
        with self._cond:
            while not self._pending:
                if self._closed:
                    return None
                self._cond.wait()
            taken, self._pending = self._pending, []
            return taken

    def release(self, spans: int) -> None:
        with self._cond:
            self._depth -= spans

    def close(self) -> None:
        """Refuse new offers; :meth:`take` returns what is pending, then ``None``."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class _ExportCounts(Collector):
    """``llmcost_collector_exports_total{receiver, outcome}``: every export request answered."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self._counts: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        if registry is not None:
            registry.register(self)

    def add(self, receiver: str, outcome: Outcome) -> None:
        with self._lock:
            key = (receiver, outcome.value)
            self._counts[key] = self._counts.get(key, 0) + 1

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            sc.PROM_EXPORTS, "OTLP export requests answered, by receiver and outcome.",
            labels=[sc.LABEL_RECEIVER, sc.LABEL_OUTCOME],
        )  # fmt: skip
        with self._lock:
            counts = sorted(self._counts.items())
        for (receiver, outcome), count in counts:
            family.add_metric([receiver, outcome], count)
        yield family


class Pipeline:
    """The path of every export from a receiver thread to the ledger, metrics and downstream."""

    def __init__(
        self,
        ledger: LedgerBackend,
        pricer: Pricer,
        cost_metrics: CostMetrics,
        *,
        registry: CollectorRegistry | None,
        intake_capacity: int,
        commit_timeout_s: float = 10.0,
        retry_after_s: int = 1,
        forwarder: Forwarder | None = None,
    ) -> None:
        self.ledger = ledger
        self._pricer = pricer
        self._cost_metrics = cost_metrics
        self.intake = Intake(intake_capacity)
        self.metrics = CollectorMetrics(
            registry, queue_depth=self.intake.depth, queue_capacity=intake_capacity
        )
        self._exports = _ExportCounts(registry)
        self._commit_timeout_s = commit_timeout_s
        self._retry_after_s = retry_after_s
        self._forwarder = forwarder
        self._local = threading.local()  # a Normalizer per receiver thread (its caches are unlocked)
        self._closing = False
        self._writer = threading.Thread(target=self._write_loop, name="llmcost-ledger-writer", daemon=True)

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        self._writer.start()

    @property
    def running(self) -> bool:
        return self._writer.is_alive() and not self._closing

    def close(self, timeout: float) -> bool:
        """Refuse new exports, write what is pending and stop the writer. ``False`` when the
        writer did not finish within ``timeout`` (the exports still waiting were not
        acknowledged, so their exporters will re-send them)."""
        self._closing = True
        self.intake.close()
        if self._writer.is_alive():
            self._writer.join(timeout)
        return not self._writer.is_alive()

    # -- the receiver side ----------------------------------------------------------------------

    def count(self, receiver: str, result: ExportResult) -> ExportResult:
        self._exports.add(receiver, result.outcome)
        return result

    def busy(self) -> ExportResult | None:
        """The answer to give before even parsing, when the intake is full or we are stopping."""
        if self._closing:
            return self._retry(Outcome.UNAVAILABLE, "the collector is shutting down")
        if self.intake.full():
            return self._retry(Outcome.BUSY, "the ledger intake is full; retry later")
        return None

    def export(self, request: ExportTraceServiceRequest, timeout: float | None = None) -> ExportResult:
        """Normalize ``request``, wait until its records are committed, forward it; the result
        says what to answer. ``timeout`` caps the wait (the client's deadline, if sooner)."""
        refusal = self.busy()
        if refusal is not None:
            return refusal
        normalizer = getattr(self._local, "normalizer", None)
        if normalizer is None:
            normalizer = self._local.normalizer = Normalizer(self._pricer)
        result = normalizer.process(request, enrich=self._forwarder is not None)
        metrics = self.metrics
        metrics.received(result.total_spans)
        for reason, n in result.rejected.items():
            metrics.rejected(reason, n)
        if result.records:
            ticket = self.intake.offer(result.records)
            if ticket is None:
                return self.busy() or self._retry(Outcome.BUSY, "the ledger intake is full; retry later")
            wait = self._commit_timeout_s if timeout is None else min(timeout, self._commit_timeout_s)
            if not ticket.done.wait(max(wait, 0.0)):
                # Not acknowledged; if the write still lands, the re-sent export is a no-op.
                return self._retry(Outcome.UNAVAILABLE, f"the ledger write took over {wait:.3g} s")
            if ticket.error is not None:
                return self._retry(Outcome.UNAVAILABLE, f"ledger write failed: {type(ticket.error).__name__}")
        if self._forwarder is not None:
            self._forwarder.submit(request, result.total_spans)
        rejected = sum(result.rejected.values())
        message = ""
        if rejected:
            reasons = ", ".join(f"{reason}={n}" for reason, n in sorted(result.rejected.items()))
            message = f"{rejected} GenAI span(s) kept out of the ledger: {reasons}"
        return ExportResult(Outcome.OK, message, rejected_spans=rejected)

    def _retry(self, outcome: Outcome, message: str) -> ExportResult:
        return ExportResult(outcome, message, retry_after_s=self._retry_after_s)

    # -- the writer thread ----------------------------------------------------------------------

    def _write_loop(self) -> None:
        while True:
            tickets = self.intake.take()
            if tickets is None:
                return
            records = tickets[0].records if len(tickets) == 1 else [r for t in tickets for r in t.records]
            try:
                self._write(records, tickets)
            except BaseException as err:  # never let a waiting export read this as a success
                for ticket in tickets:
                    ticket.error = ticket.error or err
                raise
            finally:
                self.intake.release(len(records))
                for ticket in tickets:
                    ticket.done.set()

    def _write(self, records: Sequence[LedgerRecord], tickets: list[_Ticket]) -> None:
        started = time.perf_counter()
        try:
            new = self.ledger.insert_new(records)
        except Exception as err:  # the writer must outlive any failure of one write
            _logger.warning(
                "otel-llmcost collector: ledger write of %d records failed: %r", len(records), err
            )
            self.metrics.write_error()
            if len(tickets) > 1 and not _systemic(err):
                # One export's bad row fails the whole transaction: write each export alone so
                # only that one is refused (and retried by its exporter), not its neighbours.
                for ticket in tickets:
                    self._write(ticket.records, [ticket])
                return
            for ticket in tickets:
                ticket.error = err
            return
        self.metrics.write_duration(time.perf_counter() - started)
        try:
            self._cost_metrics.observe(new)
        except Exception:  # committed is committed: a metrics bug must not fail the export
            _logger.exception("otel-llmcost collector: counting %d new records failed", len(new))


def _systemic(err: BaseException) -> bool:
    """A failure of the ledger itself (unreachable, locked, disk full), not of some row in the
    batch: writing each export alone would only fail again, once per export. The DB-API names
    it OperationalError in both drivers (sqlite3, psycopg), and InterfaceError for psycopg's
    closed connection."""
    return any(cls.__name__ in _SYSTEMIC for cls in type(err).__mro__)


_SYSTEMIC = frozenset({"OperationalError", "InterfaceError"})
