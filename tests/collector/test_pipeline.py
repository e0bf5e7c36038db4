"""Ack after commit, exactly once, and backpressure: the pipeline between receivers and ledger."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import pytest
from google.rpc.error_details_pb2 import RetryInfo
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from otel_llmcost.collector import Collector
from otel_llmcost.collector._pipeline import Intake
from otel_llmcost.ledger import LedgerBackend, LedgerRecord
from tests.collector import spans as S
from tests.collector.conftest import genai_request, grpc_export, http_post, metric_sum, samples
from tests.ledger.support import make_record


class GatedLedger:
    """A real ledger whose writes can be held (``gate``) or made to fail (``broken``)."""

    def __init__(self, inner: LedgerBackend) -> None:
        self.inner = inner
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.broken = False
        self.url = inner.url

    def insert_new(self, records: Sequence[LedgerRecord]) -> list[LedgerRecord]:
        self.entered.set()
        assert self.gate.wait(30), "the test never opened the gate"
        if self.broken:
            raise ConnectionError("the database went away")
        return self.inner.insert_new(records)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def cost_samples(collector: Collector) -> dict[str, float]:
    return {
        k: v
        for k, v in samples(collector).items()
        if k.startswith(("llmcost_cost", "llmcost_tokens", "llmcost_requests"))
    }


def test_resending_the_same_export_changes_no_row_and_no_metric(
    start_collector: Callable[..., Collector], engine_ledger: LedgerBackend
) -> None:
    collector = start_collector(ledger=engine_ledger)
    body = genai_request(40, http_spans=5).SerializeToString()
    assert grpc_export(collector.addresses["otlp_grpc"], body).code == grpc.StatusCode.OK
    rows, before = engine_ledger.count(), cost_samples(collector)
    assert rows == 40 and metric_sum(collector, "llmcost_requests_total") == 40

    assert grpc_export(collector.addresses["otlp_grpc"], body).code == grpc.StatusCode.OK
    with ThreadPoolExecutor(8) as pool:  # the same bytes, concurrently, on both receivers
        grpc_codes = list(
            pool.map(lambda _: grpc_export(collector.addresses["otlp_grpc"], body).code, range(4))
        )
        http_codes = list(
            pool.map(lambda _: http_post(collector.addresses["otlp_http"], body).status, range(4))
        )
    assert grpc_codes == [grpc.StatusCode.OK] * 4 and http_codes == [200] * 4
    assert engine_ledger.count() == rows
    assert cost_samples(collector) == before
    assert metric_sum(collector, "llmcost_collector_spans_received_total") == 45 * 10


def test_a_new_export_racing_its_own_copy_is_counted_once(
    start_collector: Callable[..., Collector], engine_ledger: LedgerBackend
) -> None:
    collector = start_collector(ledger=engine_ledger)
    body = genai_request(25, first=500).SerializeToString()
    with ThreadPoolExecutor(6) as pool:
        codes = list(pool.map(lambda _: grpc_export(collector.addresses["otlp_grpc"], body).code, range(6)))
    assert codes == [grpc.StatusCode.OK] * 6
    assert engine_ledger.count() == 25
    assert metric_sum(collector, "llmcost_requests_total") == 25
    assert round(metric_sum(collector, "llmcost_cost_usd_total") * 1e9) == engine_ledger.totals().cost_nanos


def test_a_failed_write_is_retryable_and_counted_and_the_retry_lands_once(
    start_collector: Callable[..., Collector], sqlite_ledger: LedgerBackend
) -> None:
    ledger = GatedLedger(sqlite_ledger)
    collector = start_collector(ledger=ledger)
    body = genai_request(10).SerializeToString()
    ledger.broken = True
    answer = grpc_export(collector.addresses["otlp_grpc"], body)
    assert answer.code == grpc.StatusCode.UNAVAILABLE and "ledger write failed" in answer.details
    assert RetryInfo.FromString(answer.trailing["google.rpc.retryinfo-bin"]).retry_delay.seconds == 1
    http = http_post(collector.addresses["otlp_http"], body)
    assert (http.status, http.headers["retry-after"]) == (503, "1")
    assert metric_sum(collector, "llmcost_collector_ledger_write_errors_total") == 2
    assert metric_sum(collector, "llmcost_requests_total") == 0

    ledger.broken = False
    assert grpc_export(collector.addresses["otlp_grpc"], body).code == grpc.StatusCode.OK
    assert sqlite_ledger.count() == 10 and metric_sum(collector, "llmcost_requests_total") == 10


class PoisonedLedger(GatedLedger):
    """Fails (like a row the database cannot store) any write that holds one of ``poison``."""

    def __init__(self, inner: LedgerBackend, poison: set[str]) -> None:
        super().__init__(inner)
        self.poison = poison
        self.batches: list[int] = []

    def insert_new(self, records: Sequence[LedgerRecord]) -> list[LedgerRecord]:
        self.entered.set()
        assert self.gate.wait(30), "the test never opened the gate"
        self.batches.append(len(records))
        if any(r.span_id in self.poison for r in records):
            raise OverflowError("Python int too large to convert to SQLite INTEGER")
        return self.inner.insert_new(records)


def wait_for_queue_depth(collector: Collector, spans: int) -> None:
    deadline = time.monotonic() + 10
    while metric_sum(collector, "llmcost_collector_queue_depth") < spans:
        assert time.monotonic() < deadline, f"the queue never held {spans} spans"
        threading.Event().wait(0.01)


def test_one_unwritable_export_fails_alone_not_the_exports_batched_with_it(
    start_collector: Callable[..., Collector], sqlite_ledger: LedgerBackend
) -> None:
    poisoned = genai_request(3, first=200)
    poison = {
        span.span_id.hex() for rs in poisoned.resource_spans for ss in rs.scope_spans for span in ss.spans
    }
    ledger = PoisonedLedger(sqlite_ledger, poison)
    collector = start_collector(ledger=ledger)
    address = collector.addresses["otlp_grpc"]
    ledger.gate.clear()
    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(grpc_export, address, genai_request(4).SerializeToString())
        assert ledger.entered.wait(10)  # the writer holds the first export; the next two queue up
        good = pool.submit(grpc_export, address, genai_request(5, first=100).SerializeToString())
        wait_for_queue_depth(collector, 9)  # the good export queued first: the order is fixed
        bad = pool.submit(grpc_export, address, poisoned.SerializeToString())
        wait_for_queue_depth(collector, 12)
        ledger.gate.set()
        assert first.result(10).code == grpc.StatusCode.OK
        assert good.result(10).code == grpc.StatusCode.OK
        refused = bad.result(10)
    assert refused.code == grpc.StatusCode.UNAVAILABLE and "OverflowError" in refused.details
    # The two queued exports went in one transaction, which failed; then each went alone.
    assert ledger.batches == [4, 8, 5, 3]
    assert sqlite_ledger.count() == 9 and metric_sum(collector, "llmcost_requests_total") == 9
    assert metric_sum(collector, "llmcost_collector_ledger_write_errors_total") == 2


def test_a_full_intake_answers_retry_later_and_the_retry_succeeds(
    start_collector: Callable[..., Collector], sqlite_ledger: LedgerBackend
) -> None:
    ledger = GatedLedger(sqlite_ledger)
    collector = start_collector(ledger=ledger, intake_capacity=10)
    grpc_address, http_address = collector.addresses["otlp_grpc"], collector.addresses["otlp_http"]
    ledger.gate.clear()
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(grpc_export, grpc_address, genai_request(10).SerializeToString())
        assert ledger.entered.wait(10)  # the writer holds the first export: the intake is full
        second = genai_request(5, first=100).SerializeToString()
        busy = grpc_export(grpc_address, second)
        assert busy.code == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert RetryInfo.FromString(busy.trailing["google.rpc.retryinfo-bin"]).retry_delay.seconds == 1
        refused = http_post(http_address, second)
        assert (refused.status, refused.headers["retry-after"]) == (429, "1")
        assert metric_sum(collector, "llmcost_collector_queue_depth") == 10
        assert not first.done()  # not acknowledged while its rows are not committed
        ledger.gate.set()
        assert first.result(10).code == grpc.StatusCode.OK
    assert grpc_export(grpc_address, second).code == grpc.StatusCode.OK  # the exporter's retry
    assert sqlite_ledger.count() == 15
    assert metric_sum(collector, "llmcost_collector_exports_total", receiver="grpc", outcome="busy") == 1
    assert metric_sum(collector, "llmcost_collector_exports_total", receiver="http", outcome="busy") == 1


def test_a_write_slower_than_the_commit_timeout_is_not_acknowledged(
    start_collector: Callable[..., Collector], sqlite_ledger: LedgerBackend
) -> None:
    ledger = GatedLedger(sqlite_ledger)
    collector = start_collector(ledger=ledger, commit_timeout_s=0.2)
    body = genai_request(8).SerializeToString()
    ledger.gate.clear()
    answer = grpc_export(collector.addresses["otlp_grpc"], body)
    assert answer.code == grpc.StatusCode.UNAVAILABLE and "took over" in answer.details
    ledger.gate.set()
    assert grpc_export(collector.addresses["otlp_grpc"], body).code == grpc.StatusCode.OK  # the retry
    assert sqlite_ledger.count() == 8 and metric_sum(collector, "llmcost_requests_total") == 8


def test_spans_with_impossible_usage_are_rejected_the_export_still_succeeds(collector: Collector) -> None:
    good = S.ours_openai(S.OpenAICall(response_id="ok-1")).but(**S.ids(1))
    negative = good.but(attrs={"gen_ai.usage.output_tokens": -5, "gen_ai.response.id": "bad-1"}, **S.ids(2))
    absurd = good.but(attrs={"gen_ai.usage.input_tokens": 10**13, "gen_ai.response.id": "bad-2"}, **S.ids(3))
    answer = grpc_export(
        collector.addresses["otlp_grpc"], S.request([good, negative, absurd]).SerializeToString()
    )
    assert answer.code == grpc.StatusCode.OK
    partial = ExportTraceServiceResponse.FromString(answer.body).partial_success
    assert partial.rejected_spans == 2
    assert "absurd_tokens=1" in partial.error_message and "negative_tokens=1" in partial.error_message
    assert collector.ledger.count() == 1
    assert metric_sum(collector, "llmcost_collector_spans_rejected_total", reason="negative_tokens") == 1
    assert metric_sum(collector, "llmcost_collector_spans_rejected_total", reason="absurd_tokens") == 1


def test_the_intake_is_bounded_in_spans_but_never_refuses_a_big_export_when_empty() -> None:
    intake = Intake(capacity=10)
    big = intake.offer([make_record(i) for i in range(25)])
    assert big is not None and intake.depth() == 25 and intake.full()
    assert intake.offer([make_record(99)]) is None
    assert intake.take() == [big]
    intake.release(25)
    one, two = intake.offer([make_record(1)]), intake.offer([make_record(2)])
    intake.close()
    assert intake.offer([make_record(3)]) is None
    assert intake.take() == [one, two]
    assert intake.take() is None


@pytest.fixture
def sqlite_ledger(sqlite_url: str) -> Any:
    from otel_llmcost.ledger import open_ledger

    ledger = open_ledger(sqlite_url)
    yield ledger
    ledger.close()


def test_shutdown_refuses_new_exports_and_commits_those_in_flight(
    start_collector: Callable[..., Collector], sqlite_ledger: LedgerBackend
) -> None:
    ledger = GatedLedger(sqlite_ledger)
    collector = start_collector(ledger=ledger)
    grpc_address, http_address = collector.addresses["otlp_grpc"], collector.addresses["otlp_http"]
    ledger.gate.clear()
    with ThreadPoolExecutor(2) as pool:
        in_flight = pool.submit(grpc_export, grpc_address, genai_request(6).SerializeToString())
        assert ledger.entered.wait(10)
        stopping = pool.submit(collector.stop, 10.0)
        assert collector.stopping.wait(10)
        late = genai_request(2, 50).SerializeToString()
        assert grpc_export(grpc_address, late, timeout=5).code == grpc.StatusCode.UNAVAILABLE
        refused = http_post(http_address, late)
        assert (refused.status, refused.headers["retry-after"]) == (503, "1")
        ledger.gate.set()
        assert in_flight.result(10).code == grpc.StatusCode.OK  # acknowledged: so it must be stored
        assert stopping.result(10) is True
    assert sqlite_ledger.count() == 6


def test_only_row_failures_are_retried_export_by_export() -> None:
    import sqlite3

    import psycopg

    from otel_llmcost.collector._pipeline import _systemic

    # A database that is down or locked fails every export alone too: no point in N retries.
    assert _systemic(sqlite3.OperationalError("database is locked"))
    assert _systemic(psycopg.OperationalError("connection refused"))
    assert _systemic(psycopg.InterfaceError("the connection is closed"))
    assert not _systemic(OverflowError("Python int too large to convert to SQLite INTEGER"))
    assert not _systemic(psycopg.errors.NumericValueOutOfRange("bigint out of range"))
    assert not _systemic(ValueError("PostgreSQL text fields cannot contain NUL (0x00) bytes"))
