"""Forwarding: every span goes downstream, GenAI ones with our cost; a dead downstream costs
bounded memory and counted drops, never ingest."""

from __future__ import annotations

import time
from collections.abc import Callable

import grpc

from otel_llmcost import semconv as sc
from otel_llmcost.collector import Collector
from otel_llmcost.collector._config_values import PROTOCOL_GRPC, ForwardEndpoint
from otel_llmcost.collector._forward import Forwarder
from otel_llmcost.collector._senders import RetryableError
from tests.collector import spans as S
from tests.collector.conftest import genai_request, grpc_export, http_post, metric_sum
from tests.otlp_receiver import otlp_http_receiver
from tests.prometheus import free_port


def test_all_spans_arrive_downstream_and_genai_ones_carry_our_cost(
    start_collector: Callable[..., Collector],
) -> None:
    with otlp_http_receiver() as (endpoint, received):
        collector = start_collector(
            forward=(ForwardEndpoint(f"{endpoint}/v1/traces", name="tempo", compression="none"),)
        )
        unpriced_emitter = S.openllmetry_openai(S.OpenAICall(model="gpt-4o-mini", response_id="r-1")).but(
            **S.ids(7)
        )
        stale = S.ours_openai(S.OpenAICall(response_id="r-2")).but(
            attrs={sc.GEN_AI_USAGE_COST_AMOUNT: 99.0}, **S.ids(8)
        )
        request = S.request([S.http_span().but(**S.ids(6)), unpriced_emitter, stale])
        assert (
            grpc_export(collector.addresses["otlp_grpc"], request.SerializeToString()).code
            == grpc.StatusCode.OK
        )
        assert (
            http_post(
                collector.addresses["otlp_http"], genai_request(4, 100, http_spans=2).SerializeToString()
            ).status
            == 200
        )
        spans = {span["span_id"]: span for span in received.wait_for(9)}
    assert len(spans) == 9
    records = {record.span_id: record for record in collector.ledger.records()}
    for span_id, span in spans.items():
        attributes = span["attributes"]
        if span_id in records:  # a GenAI call: our price, exactly as the ledger has it
            assert round(attributes[sc.GEN_AI_USAGE_COST_AMOUNT] * 1e9) == records[span_id].cost_nanos
            assert attributes[sc.LLMCOST_PRICING_MODEL] == records[span_id].pricing_model
            assert attributes[sc.GEN_AI_USAGE_COST_SOURCE] == sc.COST_SOURCE_LOCAL
        else:
            assert not any(key.startswith(("gen_ai.", "llmcost.")) for key in attributes)
    assert len(records) == 6
    assert spans[S.ids(7)["span_id"].hex()]["attributes"][sc.GEN_AI_USAGE_COST_AMOUNT] > 0  # added
    assert spans[S.ids(8)["span_id"].hex()]["attributes"][sc.GEN_AI_USAGE_COST_AMOUNT] != 99.0  # replaced
    # Counted once the endpoint has answered, which is after the receiver has the spans.
    deadline = time.monotonic() + 10
    while metric_sum(collector, "llmcost_collector_forward_spans_total", endpoint="tempo") < 9:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert metric_sum(collector, "llmcost_collector_forward_spans_total", endpoint="tempo") == 9


def test_grpc_and_gzip_http_forwarding_into_another_collector(
    start_collector: Callable[..., Collector], tmp_path: object
) -> None:
    downstream = start_collector(ledger_url=f"sqlite:///{tmp_path}/downstream.db")
    grpc_target = ForwardEndpoint(
        f"http://{downstream.addresses['otlp_grpc']}", protocol=PROTOCOL_GRPC, name="grpc"
    )
    http_target = ForwardEndpoint(
        f"http://{downstream.addresses['otlp_http']}/v1/traces", name="http"
    )  # gzip
    upstream = start_collector(
        ledger_url=f"sqlite:///{tmp_path}/upstream.db", forward=(grpc_target, http_target)
    )
    assert (
        grpc_export(
            upstream.addresses["otlp_grpc"], genai_request(12, http_spans=3).SerializeToString()
        ).code.name
        == "OK"
    )
    upstream.stop(timeout=10)  # delivers what is queued before it returns
    assert metric_sum(upstream, "llmcost_collector_forward_spans_total", endpoint="grpc") == 15
    assert metric_sum(upstream, "llmcost_collector_forward_spans_total", endpoint="http") == 15
    assert metric_sum(downstream, "llmcost_collector_spans_received_total") == 30  # both copies; one row each
    assert downstream.ledger.totals() == upstream_totals(tmp_path)


def upstream_totals(tmp_path: object) -> object:
    from otel_llmcost.ledger import open_ledger

    with open_ledger(f"sqlite:///{tmp_path}/upstream.db") as ledger:
        return ledger.totals()


def test_a_dead_downstream_drops_the_oldest_bounded_and_counted_while_ingest_goes_on(
    start_collector: Callable[..., Collector],
) -> None:
    dead = ForwardEndpoint(f"http://127.0.0.1:{free_port()}/v1/traces", name="dead", timeout_s=1.0)
    collector = start_collector(
        forward=(dead,),
        forward_queue_bytes=64 * 1024,
        forward_initial_backoff_s=0.05,
        forward_max_backoff_s=0.1,
    )
    sent = 0
    for n in range(12):
        body = genai_request(20, n * 20).SerializeToString()
        assert (
            grpc_export(collector.addresses["otlp_grpc"], body).code == grpc.StatusCode.OK
        )  # ingest unaffected
        sent += 20
    assert collector.ledger.count() == sent
    assert (
        metric_sum(collector, "llmcost_collector_forward_dropped_total", endpoint="dead", reason="queue_full")
        > 0
    )
    assert metric_sum(collector, "llmcost_collector_forward_queue_bytes", endpoint="dead") <= 64 * 1024
    assert collector.stop(timeout=1.0)  # forwarding cut short does not make the shutdown unclean
    dropped = metric_sum(collector, "llmcost_collector_forward_dropped_total", endpoint="dead")
    assert metric_sum(collector, "llmcost_collector_forward_spans_total") == 0
    assert dropped == sent  # every span is accounted for: queue_full, retried to the end, or shutdown
    assert metric_sum(collector, "llmcost_collector_forward_retries_total", endpoint="dead") > 0


class _Flaky:
    """A sender that fails ``failures`` times with a retryable error, then accepts."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.delivered: list[bytes] = []

    def send(self, body: bytes) -> None:
        if self.failures:
            self.failures -= 1
            raise RetryableError("503", retry_after_s=0.01)
        self.delivered.append(body)

    def close(self) -> None:
        pass


def test_retries_until_delivered_and_gives_up_after_max_elapsed() -> None:
    endpoint = ForwardEndpoint("http://127.0.0.1:9/v1/traces", name="flaky")
    forwarder = Forwarder(
        [endpoint], registry=None, initial_backoff_s=0.01, max_backoff_s=0.02, max_elapsed_s=0.5
    )
    lane = forwarder._lanes[0]
    lane.sender = _Flaky(3)
    forwarder.start()
    forwarder.submit(genai_request(2), 2)
    assert forwarder.close(timeout=5)
    assert (lane.sent, lane.retries, len(lane.sender.delivered)) == (2, 3, 1)  # type: ignore[attr-defined]

    stubborn = Forwarder(
        [endpoint], registry=None, initial_backoff_s=0.01, max_backoff_s=0.02, max_elapsed_s=0.1
    )
    stubborn._lanes[0].sender = _Flaky(10**6)
    stubborn.start()
    stubborn.submit(genai_request(3), 3)
    assert stubborn.close(timeout=5)
    assert stubborn._lanes[0].dropped["retries_exhausted"] == 3
