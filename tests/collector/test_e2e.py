"""End to end: the real openai, anthropic and google-genai SDKs call the simulator, our
instrumentation prices the calls, a REAL OTLP exporter (gRPC or HTTP) sends the spans to the
collector, and the ledger, ``/metrics`` and a real Prometheus agree to the nano-dollar."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import anthropic
import openai
import pytest
from google import genai
from google.genai import types
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter

from otel_llmcost import semconv as sc
from otel_llmcost.collector import Collector
from otel_llmcost.instrumentation import LLMCostInstrumentor
from otel_llmcost.ledger import Filters
from otel_llmcost.pricing import Pricer
from otel_llmcost.simulator import Simulator, UsageRule
from tests.collector.conftest import http_get, scrape
from tests.prometheus import PrometheusServer, prometheus_factory

__all__ = ["prometheus_factory"]  # the fixture, imported for the tests below

pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")

# Expected costs, by hand from the catalog's USD per million tokens:
# gpt-4o-mini (input 0.15, cache read 0.075, output 0.60): 1200 prompt incl. 1024 cached + 50 out
#   = 176 * 0.15 + 1024 * 0.075 + 50 * 0.60 = 26.4 + 76.8 + 30 µ$ = 133,200 n$
OPENAI_NANOS = 133_200
# claude-sonnet-4-5 (input 3, cache read 0.30, 5m write 3.75, 1h write 6, output 15): 2000 prompt
#   = 176 input + 1024 read + 500 5m + 300 1h, 50 out = 528 + 307.2 + 1875 + 1800 + 750 µ$
ANTHROPIC_NANOS = 5_260_200
# gemini-2.5-flash (input 0.30, cache read 0.03, output and thinking 2.50): 1000 prompt incl. 200
#   cached, 120 out incl. 40 thinking = 800 * 0.3 + 200 * 0.03 + 120 * 2.5 = 240 + 6 + 300 µ$
GEMINI_NANOS = 546_000
TOTAL_NANOS = OPENAI_NANOS + ANTHROPIC_NANOS + GEMINI_NANOS


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator() as simulator:
        simulator.set_rule(
            "gpt-4o-mini*", UsageRule(prompt_tokens=1200, cached_tokens=1024, completion_tokens=50)
        )
        simulator.set_rule(
            "claude-sonnet-4-5*",
            UsageRule(
                prompt_tokens=2000,
                cached_tokens=1024,
                cache_write_5m=500,
                cache_write_1h=300,
                completion_tokens=50,
            ),
        )
        simulator.set_rule(
            "gemini-2.5-flash*",
            UsageRule(prompt_tokens=1000, cached_tokens=200, completion_tokens=120, reasoning_tokens=40),
        )
        yield simulator


def exporter_for(collector: Collector, protocol: str) -> SpanExporter:
    if protocol == "grpc":
        return GrpcSpanExporter(endpoint=str(collector.addresses["otlp_grpc"]), insecure=True)
    return HttpSpanExporter(endpoint=f"http://{collector.addresses['otlp_http']}/v1/traces")


def call_all_three(sim: Simulator, exporter: SpanExporter, pricer: Pricer) -> None:
    """One call per SDK, instrumented, each span exported (and acknowledged) as it ends."""
    provider = TracerProvider(resource=Resource.create({sc.SERVICE_NAME: "e2e", sc.LLMCOST_TEAM: "search"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = LLMCostInstrumentor()
    instrumentor.instrument(tracer_provider=provider, pricer=pricer, guard=None)
    try:
        messages = [{"role": "user", "content": "hello"}]
        with openai.OpenAI(base_url=sim.openai_base_url, api_key="k", max_retries=0) as oai:
            oai.chat.completions.create(model="gpt-4o-mini", messages=messages)  # type: ignore[arg-type]
        with anthropic.Anthropic(base_url=sim.anthropic_base_url, api_key="k", max_retries=0) as claude:
            claude.messages.create(model="claude-sonnet-4-5", max_tokens=100, messages=messages)  # type: ignore[arg-type]
        gem = genai.Client(api_key="k", http_options=types.HttpOptions(base_url=sim.url))
        gem.models.generate_content(model="gemini-2.5-flash", contents="hello")
    finally:
        instrumentor.uninstrument()
        provider.shutdown()


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_real_sdks_through_a_real_exporter_land_in_the_ledger_exactly(
    sim: Simulator, collector: Collector, shared_pricer: Pricer, protocol: str
) -> None:
    call_all_three(sim, exporter_for(collector, protocol), shared_pricer)

    totals = collector.ledger.totals()
    assert (totals.requests, totals.cost_nanos) == (3, TOTAL_NANOS)
    by_provider = {g.key["provider"]: g.totals.cost_nanos for g in collector.ledger.group(["provider"])}
    assert by_provider == {"openai": OPENAI_NANOS, "anthropic": ANTHROPIC_NANOS, "gcp.gemini": GEMINI_NANOS}
    team = collector.ledger.totals(Filters(equals={"team": "search", "service": "e2e"}))
    assert team.requests == 3
    scraped = scrape(collector)
    assert round(scraped["llmcost_cost_usd_total"] * 1e9) == TOTAL_NANOS
    assert scraped["llmcost_collector_spans_received_total"] == 3
    report = http_get(collector.addresses["listen"], "/v1/report?group_by=provider").body
    assert b'"total_usd": "0.0059394"' in report


@pytest.mark.services
def test_a_real_prometheus_scrapes_the_same_totals(
    sim: Simulator,
    collector: Collector,
    shared_pricer: Pricer,
    prometheus_factory: Callable[..., PrometheusServer],
) -> None:
    prometheus = prometheus_factory(targets=[str(collector.addresses["listen"])])
    call_all_three(sim, exporter_for(collector, "grpc"), shared_pricer)

    value = prometheus.wait_for("sum(llmcost_cost_usd_total)", lambda v: v is not None and v > 0)
    assert value is not None and round(value * 1e9) == TOTAL_NANOS == collector.ledger.totals().cost_nanos
    by_provider = {
        r["metric"]["provider"]: round(float(r["value"][1]) * 1e9)
        for r in prometheus.query("sum by (provider) (llmcost_cost_usd_total)")
    }
    assert by_provider == {"openai": OPENAI_NANOS, "anthropic": ANTHROPIC_NANOS, "gcp.gemini": GEMINI_NANOS}
    tokens = prometheus.value('sum(llmcost_tokens_total{type="cache_read"})')
    assert tokens == 1024 + 1024 + 200
    assert prometheus.value("sum(llmcost_requests_total)") == 3
