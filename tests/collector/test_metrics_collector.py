"""CollectorMetrics: the collector's own health figures."""

from __future__ import annotations

import os

import psutil
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from otel_llmcost.collector._metrics import CollectorMetrics
from otel_llmcost.collector._normalize import REJECTION_REASONS

QUEUE = [3]


def metrics(registry: CollectorRegistry) -> CollectorMetrics:
    return CollectorMetrics(registry, queue_depth=lambda: QUEUE[0], queue_capacity=1024)


def test_exposition_text() -> None:
    registry = CollectorRegistry()
    m = metrics(registry)
    m.received(512)
    m.received(8)
    m.rejected("bad_span_id")
    m.rejected("duplicate_call", 3)
    m.write_duration(0.004)
    m.write_duration(0.2)
    m.write_duration(30.0)
    m.write_error()

    text = generate_latest(registry).decode()
    health = text[: text.index("# HELP llmcost_collector_process_cpu_seconds_total")]
    rejected = {"bad_span_id": 1, "duplicate_call": 3}
    write_buckets = {
        "0.001": 0, "0.0025": 0, "0.005": 1, "0.01": 1, "0.025": 1, "0.05": 1, "0.1": 1, "0.25": 2, "0.5": 2,
        "1.0": 2, "2.5": 2, "5.0": 2, "10.0": 2, "+Inf": 3,
    }  # fmt: skip
    assert health.splitlines() == [
        "# HELP llmcost_collector_spans_received_total Spans received by the OTLP receivers.",
        "# TYPE llmcost_collector_spans_received_total counter",
        "llmcost_collector_spans_received_total 520.0",
        "# HELP llmcost_collector_spans_rejected_total GenAI spans kept out of the ledger, by reason.",
        "# TYPE llmcost_collector_spans_rejected_total counter",
        *(
            f'llmcost_collector_spans_rejected_total{{reason="{reason}"}} {rejected.get(reason, 0):.1f}'
            for reason in sorted(REJECTION_REASONS)
        ),
        "# HELP llmcost_collector_queue_depth GenAI spans waiting for the ledger writer (received, not yet committed).",
        "# TYPE llmcost_collector_queue_depth gauge",
        "llmcost_collector_queue_depth 3.0",
        "# HELP llmcost_collector_queue_capacity Capacity of the pipeline queue.",
        "# TYPE llmcost_collector_queue_capacity gauge",
        "llmcost_collector_queue_capacity 1024.0",
        "# HELP llmcost_collector_ledger_write_seconds Duration of ledger writes in seconds.",
        "# TYPE llmcost_collector_ledger_write_seconds histogram",
        *(
            f'llmcost_collector_ledger_write_seconds_bucket{{le="{le}"}} {n:.1f}'
            for le, n in write_buckets.items()
        ),
        "llmcost_collector_ledger_write_seconds_count 3.0",
        "llmcost_collector_ledger_write_seconds_sum 30.204",
        "# HELP llmcost_collector_ledger_write_errors_total Ledger writes that failed.",
        "# TYPE llmcost_collector_ledger_write_errors_total counter",
        "llmcost_collector_ledger_write_errors_total 1.0",
    ]


def test_queue_depth_is_read_at_scrape_time() -> None:
    registry = CollectorRegistry()
    metrics(registry)
    QUEUE[0] = 7
    assert registry.get_sample_value("llmcost_collector_queue_depth") == 7
    QUEUE[0] = 0
    assert registry.get_sample_value("llmcost_collector_queue_depth") == 0


def test_process_figures() -> None:
    registry = CollectorRegistry()
    metrics(registry)
    process = psutil.Process(os.getpid())
    cpu = registry.get_sample_value("llmcost_collector_process_cpu_seconds_total")
    rss = registry.get_sample_value("llmcost_collector_process_resident_memory_bytes")
    assert cpu is not None and 0 < cpu <= sum(process.cpu_times()[:2]) + 0.01
    assert rss is not None and rss > 10_000_000
    assert registry.get_sample_value("llmcost_collector_process_threads") == process.num_threads()
    fds = registry.get_sample_value("llmcost_collector_process_open_fds")
    assert fds is not None and fds >= 3


def test_process_figures_are_best_effort(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = CollectorRegistry()
    m = metrics(registry)

    def gone() -> None:
        raise psutil.NoSuchProcess(os.getpid())

    monkeypatch.setattr(m._process, "num_threads", gone)
    text = generate_latest(registry).decode()
    assert "llmcost_collector_spans_received_total 0.0" in text
    assert "llmcost_collector_process_" not in text


def test_unknown_rejection_reasons_are_bounded() -> None:
    registry = CollectorRegistry()
    m = metrics(registry)
    for i in range(100):
        m.rejected(f"reason_{i}")
    reasons = [s.labels["reason"] for f in registry.collect() for s in f.samples if "reason" in s.labels]
    assert len(reasons) == 64
    assert registry.get_sample_value(
        "llmcost_collector_spans_rejected_total", {"reason": "__overflow__"}
    ) == 100 - (64 - len(REJECTION_REASONS) - 1)
