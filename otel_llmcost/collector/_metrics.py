"""Prometheus exposition of the collector: what calls cost, and how the collector itself is doing.

Both are custom ``prometheus_client`` collectors: ``observe()`` adds to plain dicts under a lock
and ``collect()`` yields fresh metric families at scrape time. That keeps the per-record cost to
one label-key lookup and a few integer additions (a labelled ``Counter`` would take a lock and a
``labels()`` lookup per sample, seven samples per record), and keeps money exact: cost accrues in
integer nano-dollars and becomes a float only in the exposition.

Token types (``llmcost_tokens_total{type}``) are exclusive, so the five sum to every token billed:
``input`` is uncached input (text, audio and image), ``cache_read`` and ``cache_write`` (5-minute
and 1-hour) the cached parts, ``output`` the output without reasoning (audio included) and
``reasoning`` the reasoning/thinking tokens. All input as the provider counts it is
``input + cache_read + cache_write``; all output is ``output + reasoning``.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping, Sequence

import psutil
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry

from otel_llmcost import semconv as sc
from otel_llmcost.collector._labels import DEFAULT_LABELS, LabelSet
from otel_llmcost.collector._normalize import REJECTION_REASONS, STATUS_ERROR, STATUS_OK, is_discrepant
from otel_llmcost.ledger._model import LedgerRecord

__all__ = ["DURATION_BUCKETS", "LEDGER_WRITE_BUCKETS", "TOKEN_TYPES", "CollectorMetrics", "CostMetrics"]

#: The GenAI semconv advisory boundaries of gen_ai.client.operation.duration, plus two more
#: doublings: reasoning models routinely take minutes.
DURATION_BUCKETS = (
    0.01,
    0.02,
    0.04,
    0.08,
    0.16,
    0.32,
    0.64,
    1.28,
    2.56,
    5.12,
    10.24,
    20.48,
    40.96,
    81.92,
    163.84,
    327.68,
)
LEDGER_WRITE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
TOKEN_TYPES = (sc.TOKEN_INPUT, sc.TOKEN_OUTPUT, sc.TOKEN_CACHE_READ, sc.TOKEN_CACHE_WRITE, sc.TOKEN_REASONING)
_MAX_REASONS = 64  # rejection reasons are our codes; the cap only guards against a bug

# Slots of one series' state list.
_COST, _IN, _OUT, _CACHE_READ, _CACHE_WRITE, _REASONING, _UNPRICED, _DISCREPANT, _OK, _ERROR, _DUR_SUM = (
    range(11)
)
_HIST = 11  # DURATION_BUCKETS counts (not cumulative) and +Inf follow


def _buckets(bounds: Sequence[float], counts: Sequence[float]) -> list[tuple[str, float]]:
    """Cumulative (le, count) pairs for ``HistogramMetricFamily``."""
    out: list[tuple[str, float]] = []
    total = 0.0
    for bound, count in zip((*map(str, bounds), "+Inf"), counts, strict=True):
        total += count
        out.append((bound, total))
    return out


class CostMetrics(Collector):
    """Cost, tokens, requests and duration of GenAI calls, from ledger records.

    ``labels`` (default provider, model, operation, service, team, project, environment) plus
    ``extra_labels`` (e.g. ``("user", "thread")``, off by default) label every series;
    ``series_cap`` bounds the distinct values of each (one int for all, or per label).
    """

    def __init__(
        self,
        registry: CollectorRegistry | None,
        *,
        labels: Sequence[str] = DEFAULT_LABELS,
        extra_labels: Sequence[str] = (),
        series_cap: int | Mapping[str, int] | None = None,
    ) -> None:
        self._labels = LabelSet((*labels, *extra_labels), series_cap)
        self._series: dict[tuple[str, ...], list[float]] = {}
        self._statuses: dict[tuple[str, tuple[str, ...]], int] = {}  # statuses other than ok/error
        self._lock = threading.Lock()
        self._zeros = [0] * (_HIST + len(DURATION_BUCKETS) + 1)
        if registry is not None:
            registry.register(self)

    @property
    def label_names(self) -> tuple[str, ...]:
        return self._labels.names

    def observe(self, records: Sequence[LedgerRecord]) -> None:
        """Count ``records`` (each exactly once; the pipeline calls this after the ledger write)."""
        bounds = DURATION_BUCKETS
        with self._lock:
            key_of = self._labels.key
            series_map = self._series
            for record in records:
                key = key_of(record)
                series = series_map.get(key)
                if series is None:
                    series = series_map[key] = list(self._zeros)
                series[_COST] += record.cost_nanos
                series[_IN] += record.input_tokens + record.input_audio_tokens
                series[_OUT] += record.output_tokens + record.output_audio_tokens
                series[_CACHE_READ] += record.cache_read_tokens
                series[_CACHE_WRITE] += record.cache_write_5m_tokens + record.cache_write_1h_tokens
                series[_REASONING] += record.reasoning_tokens
                status = record.status
                if status == STATUS_OK:
                    series[_OK] += 1
                elif status == STATUS_ERROR:
                    series[_ERROR] += 1
                else:
                    self._statuses[status, key] = self._statuses.get((status, key), 0) + 1
                if not record.priced:
                    series[_UNPRICED] += 1
                elif record.reported_cost_nanos is not None and is_discrepant(
                    record.cost_nanos, record.reported_cost_nanos
                ):
                    series[_DISCREPANT] += 1
                duration = max(0, record.end_ns - record.start_ns) / 1e9
                series[_DUR_SUM] += duration
                series[_HIST + bisect_left(bounds, duration)] += 1

    def collect(self) -> Iterator[Metric]:
        names = list(self._labels.names)
        with self._lock:
            series = [(key, list(values)) for key, values in self._series.items()]
            statuses = dict(self._statuses)
            overflow = dict(self._labels.overflow)
        cost = CounterMetricFamily(
            sc.PROM_COST_USD, "Cost of GenAI calls in USD, from the price catalog.", labels=names
        )
        tokens = CounterMetricFamily(
            sc.PROM_TOKENS, "Tokens of GenAI calls by exclusive type (the types sum to all tokens).",
            labels=[*names, sc.LABEL_TYPE],
        )  # fmt: skip
        requests = CounterMetricFamily(
            sc.PROM_REQUESTS, "GenAI calls by status.", labels=[*names, sc.LABEL_STATUS]
        )
        unpriced = CounterMetricFamily(
            sc.PROM_UNPRICED_REQUESTS, "GenAI calls whose model has no price in the catalog (cost not counted).",
            labels=names,
        )  # fmt: skip
        discrepant = CounterMetricFamily(
            sc.PROM_COST_DISCREPANCY, "GenAI calls whose emitter-reported cost differs from ours by > max($0.000001, 1%).",
            labels=names,
        )  # fmt: skip
        duration = HistogramMetricFamily(
            sc.PROM_REQUEST_DURATION, "Duration of GenAI calls in seconds.", labels=names
        )
        for key, values in series:
            labels = list(key)
            cost.add_metric(labels, values[_COST] / 1e9)
            for token_type, slot in zip(
                TOKEN_TYPES, (_IN, _OUT, _CACHE_READ, _CACHE_WRITE, _REASONING), strict=True
            ):
                tokens.add_metric([*labels, token_type], values[slot])
            requests.add_metric([*labels, STATUS_OK], values[_OK])
            requests.add_metric([*labels, STATUS_ERROR], values[_ERROR])
            unpriced.add_metric(labels, values[_UNPRICED])
            discrepant.add_metric(labels, values[_DISCREPANT])
            duration.add_metric(labels, _buckets(DURATION_BUCKETS, values[_HIST:]), values[_DUR_SUM])
        for (status, key), count in statuses.items():
            requests.add_metric([*key, status], count)
        overflowed = CounterMetricFamily(
            sc.PROM_LABEL_OVERFLOW, "Records whose label value was replaced by __overflow__ (series cap reached).",
            labels=[sc.LABEL_LABEL],
        )  # fmt: skip
        for name, count in overflow.items():
            overflowed.add_metric([name], count)
        yield from (cost, tokens, requests, unpriced, discrepant, duration, overflowed)


class CollectorMetrics(Collector):
    """The collector's own health: spans in and rejected, queue, ledger writes, the process.

    The pipeline calls :meth:`received`, :meth:`rejected`, :meth:`write_duration` and
    :meth:`write_error`; ``queue_depth`` is read at scrape time. Thread-safe.
    """

    def __init__(
        self, registry: CollectorRegistry | None, *, queue_depth: Callable[[], int], queue_capacity: int
    ) -> None:
        self._queue_depth = queue_depth
        self._queue_capacity = queue_capacity
        self._lock = threading.Lock()
        self._received = 0
        self._rejected: dict[str, int] = dict.fromkeys(
            REJECTION_REASONS, 0
        )  # zero series exist from the start
        self._write_errors = 0
        self._write_counts = [0] * (len(LEDGER_WRITE_BUCKETS) + 1)
        self._write_sum = 0.0
        self._process = psutil.Process()
        if registry is not None:
            registry.register(self)

    def received(self, n: int) -> None:
        with self._lock:
            self._received += n

    def rejected(self, reason: str, n: int = 1) -> None:
        with self._lock:
            if (
                reason not in self._rejected and len(self._rejected) >= _MAX_REASONS - 1
            ):  # one left for overflow
                reason = sc.OVERFLOW_LABEL_VALUE
            self._rejected[reason] = self._rejected.get(reason, 0) + n

    def write_duration(self, seconds: float) -> None:
        with self._lock:
            self._write_counts[bisect_left(LEDGER_WRITE_BUCKETS, seconds)] += 1
            self._write_sum += seconds

    def write_error(self) -> None:
        with self._lock:
            self._write_errors += 1

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            received, rejected = self._received, dict(self._rejected)
            write_errors, write_counts, write_sum = (
                self._write_errors,
                list(self._write_counts),
                self._write_sum,
            )
        yield CounterMetricFamily(
            sc.PROM_SPANS_RECEIVED, "Spans received by the OTLP receivers.", value=received
        )
        family = CounterMetricFamily(
            sc.PROM_SPANS_REJECTED, "GenAI spans kept out of the ledger, by reason.", labels=[sc.LABEL_REASON]
        )
        for reason, count in sorted(rejected.items()):
            family.add_metric([reason], count)
        yield family
        yield GaugeMetricFamily(
            sc.PROM_QUEUE_DEPTH,
            "GenAI spans waiting for the ledger writer (received, not yet committed).",
            value=self._queue_depth(),
        )
        yield GaugeMetricFamily(
            sc.PROM_QUEUE_CAPACITY, "Capacity of the pipeline queue.", value=self._queue_capacity
        )
        histogram = HistogramMetricFamily(
            sc.PROM_LEDGER_WRITE_SECONDS, "Duration of ledger writes in seconds."
        )
        histogram.add_metric([], _buckets(LEDGER_WRITE_BUCKETS, write_counts), write_sum)
        yield histogram
        yield CounterMetricFamily(
            sc.PROM_LEDGER_WRITE_ERRORS, "Ledger writes that failed.", value=write_errors
        )
        yield from self._process_metrics()

    def _process_metrics(self) -> Iterator[Metric]:
        process = self._process
        try:
            with process.oneshot():
                times = process.cpu_times()
                rss = process.memory_info().rss
                threads = process.num_threads()
                fds = process.num_fds() if hasattr(process, "num_fds") else None
        except psutil.Error:  # the figures are best effort; a scrape must not fail over them
            return
        yield CounterMetricFamily(
            sc.PROM_PROCESS_CPU_SECONDS, "User and system CPU time of the collector process.",
            value=times.user + times.system,
        )  # fmt: skip
        yield GaugeMetricFamily(
            sc.PROM_PROCESS_RESIDENT_MEMORY, "Resident memory of the collector process.", value=rss
        )
        yield GaugeMetricFamily(sc.PROM_PROCESS_THREADS, "Threads of the collector process.", value=threads)
        if fds is not None:
            yield GaugeMetricFamily(
                sc.PROM_PROCESS_OPEN_FDS, "Open file descriptors of the collector process.", value=fds
            )
