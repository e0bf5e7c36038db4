"""Real emitters end to end: the anthropic SDK's own span and ours, for calls to the simulator,
exported as OTLP and normalized — and the span builders checked against what they really write."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import openai
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_llmcost import semconv as sc
from otel_llmcost.collector._normalize import Normalizer
from otel_llmcost.instrumentation import LLMCostInstrumentor
from otel_llmcost.pricing import Pricer
from otel_llmcost.simulator import Simulator, UsageRule
from tests.collector import spans as S

pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")

MODEL = "claude-sonnet-4-5"
# 2000 prompt tokens: 1024 cache reads, 500 5-minute and 300 1-hour writes, so input_tokens = 176.
RULE = UsageRule(
    prompt_tokens=2000, cached_tokens=1024, cache_write_5m=500, cache_write_1h=300, completion_tokens=50
)
KWARGS = {"model": MODEL, "max_tokens": 100, "messages": [{"role": "user", "content": "Say hello."}]}


@pytest.fixture
def exporter() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({sc.SERVICE_NAME: "live", sc.LLMCOST_TEAM: "infra"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    yield provider, memory
    provider.shutdown()


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator() as simulator:
        simulator.set_rule(f"{MODEL}*", RULE)
        simulator.set_rule(
            "gpt-4o*", UsageRule(prompt_tokens=1200, cached_tokens=1024, completion_tokens=300)
        )
        yield simulator


def genai(memory: InMemorySpanExporter) -> list[ReadableSpan]:
    return [
        s for s in memory.get_finished_spans() if s.attributes and sc.GEN_AI_OPERATION_NAME in s.attributes
    ]


def test_the_anthropic_sdk_span_and_ours_cost_the_same(
    sim: Simulator, exporter: tuple[TracerProvider, InMemorySpanExporter], pricer: Pricer
) -> None:
    provider, memory = exporter
    client = anthropic.Anthropic(
        base_url=sim.anthropic_base_url,
        api_key="k",
        max_retries=0,
        open_telemetry={"tracer_provider": provider},
    )
    client.messages.create(**KWARGS)  # the SDK's own span
    instrumentor = LLMCostInstrumentor()
    instrumentor.instrument(tracer_provider=provider, pricer=pricer, guard=None)
    try:
        client.messages.create(**KWARGS)  # ours (the SDK's is suppressed for calls we record)
    finally:
        instrumentor.uninstrument()
    client.close()

    spans = genai(memory)
    assert [s.instrumentation_scope.name for s in spans if s.instrumentation_scope] == [
        sc.ANTHROPIC_SDK_SCOPE,
        sc.INSTRUMENTATION_SCOPE,
    ]
    result = Normalizer(pricer).process(encode_spans(spans))
    sdk, ours = result.records
    # $0.000528 input + $0.0003072 cache read + $0.001875 5m + $0.0018 1h writes + $0.00075 output
    assert sdk.cost_nanos == ours.cost_nanos == 5_260_200
    for record in (sdk, ours):
        assert (record.input_tokens, record.cache_read_tokens, record.output_tokens) == (176, 1024, 50)
        assert (record.cache_write_5m_tokens, record.cache_write_1h_tokens) == (500, 300)
        assert (record.service, record.team, record.max_tokens) == ("live", "infra", 100)
    assert (ours.reported_cost_nanos, sdk.reported_cost_nanos) == (5_260_200, None)
    assert result.rejected == {}


def test_the_builders_write_what_the_real_emitters_write(
    sim: Simulator, exporter: tuple[TracerProvider, InMemorySpanExporter], pricer: Pricer
) -> None:
    """Every GenAI attribute the builder sets, the real emitter sets too, with the same type."""
    provider, memory = exporter
    with anthropic.Anthropic(
        base_url=sim.anthropic_base_url,
        api_key="k",
        max_retries=0,
        open_telemetry={"tracer_provider": provider},
    ) as client:
        client.messages.create(**KWARGS)
    instrumentor = LLMCostInstrumentor()
    instrumentor.instrument(tracer_provider=provider, pricer=pricer, guard=None)
    try:
        with openai.OpenAI(base_url=sim.openai_base_url, api_key="k", max_retries=0) as oai:
            oai.chat.completions.create(
                model="gpt-4o", max_tokens=512, messages=[{"role": "user", "content": "hi"}]
            )
    finally:
        instrumentor.uninstrument()
    real_sdk, real_ours = genai(memory)

    built = {
        "sdk": (S.anthropic_sdk(S.AnthropicCall()), real_sdk),
        "ours": (S.ours_openai(S.OpenAICall()), real_ours),
    }
    for name, (spec, real) in built.items():
        real_attrs = dict(real.attributes or {})
        missing = {k for k in spec.attributes if k not in real_attrs}
        assert missing <= {sc.LLMCOST_PROMPT_FINGERPRINT} if name == "ours" else not missing, (name, missing)
        for key in spec.attributes.keys() & real_attrs.keys():
            assert type(spec.attributes[key]) is type(real_attrs[key]), (name, key)
    our_record = Normalizer(pricer).process(encode_spans([real_ours])).records[0]
    assert (our_record.cost_nanos, our_record.reported_cost_nanos) == (4_720_000, 4_720_000)
