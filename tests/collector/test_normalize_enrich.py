"""Normalizer(enrich=True): our cost written onto the spans forwarded downstream."""

from __future__ import annotations

from collections import Counter
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from otel_llmcost import semconv as sc
from otel_llmcost.collector._normalize import Normalizer
from otel_llmcost.collector._otlp import attributes_dict, iter_spans
from otel_llmcost.pricing import Pricer
from otel_llmcost.pricing._overrides import parse_overrides
from tests.collector import spans as S
from tests.collector.spans import AnthropicCall, OpenAICall

CALL = OpenAICall(cached_tokens=1024)  # $0.00472: $0.00044 in, $0.00128 cache read, $0.003 out


def spans_after(request: ExportTraceServiceRequest) -> list[dict[str, Any]]:
    return [attributes_dict(span.attributes) for _, _, span in iter_spans(request)]


def cost_attributes(attrs: dict[str, Any]) -> dict[str, Any]:
    prefixes = ("gen_ai.usage.cost", "llmcost.cost.", "llmcost.pricing.")
    return {key: value for key, value in attrs.items() if key.startswith(prefixes)}


def test_priced_spans_get_our_cost(pricer: Pricer) -> None:
    request = S.request([S.openlit_openai(CALL, cost=0.009).but(**S.ids(1)), S.http_span()])
    before = spans_after(request)
    Normalizer(pricer).process(request, enrich=True)
    openlit, http = spans_after(request)

    assert cost_attributes(openlit) == {
        sc.OPENLIT_COST: 0.009,  # the emitter's own figure stays, under its own name
        sc.GEN_AI_USAGE_COST_AMOUNT: 0.00472,
        sc.GEN_AI_USAGE_COST_CURRENCY: "USD",
        sc.GEN_AI_USAGE_COST_SOURCE: "local",
        sc.LLMCOST_COST_INPUT: 0.00044,
        sc.LLMCOST_COST_OUTPUT: 0.003,
        sc.LLMCOST_COST_CACHE_READ: 0.00128,
        sc.LLMCOST_PRICING_MODEL: "openai/gpt-4o-2024-08-06",
        sc.LLMCOST_PRICING_VERSION: pricer.version,
    }
    assert {k: v for k, v in openlit.items() if k not in cost_attributes(openlit)} == {
        k: v for k, v in before[0].items() if k not in cost_attributes(before[0])
    }
    assert http == before[1]


def test_unpriced_spans_are_flagged(pricer: Pricer) -> None:
    request = S.request([S.openai_v2(OpenAICall(model="gpt-9", response_model="gpt-9")).but(**S.ids(1))])
    Normalizer(pricer).process(request, enrich=True)
    (attrs,) = spans_after(request)
    assert cost_attributes(attrs) == {sc.LLMCOST_COST_UNPRICED: True}


def test_our_own_cost_attributes_are_replaced_not_duplicated(pricer: Pricer) -> None:
    """The collector's catalog is authoritative: an agent priced with 50% off is corrected."""
    discounted = Pricer(overrides=parse_overrides({"discounts": {"openai": "50%"}}))
    request = S.request([S.ours_openai(CALL, pricer=discounted).but(**S.ids(1))])
    assert cost_attributes(spans_after(request)[0])[sc.GEN_AI_USAGE_COST_AMOUNT] == 0.00236

    result = Normalizer(pricer).process(request, enrich=True)
    span = next(iter_spans(request))[2]
    keys = [kv.key for kv in span.attributes]
    assert len(keys) == len(set(keys))
    attrs = attributes_dict(span.attributes)
    assert attrs[sc.GEN_AI_USAGE_COST_AMOUNT] == 0.00472
    assert attrs[sc.LLMCOST_PRICING_VERSION] == pricer.version
    assert result.records[0].reported_cost_nanos == 2_360_000
    assert result.discrepancies == 1


def test_a_span_unpriced_here_loses_the_agents_cost(pricer: Pricer) -> None:
    agent = Pricer(
        overrides=parse_overrides(
            {"models": {"my-finetune": {"provider": "openai", "input": 1, "output": 2}}}
        )
    )
    call = OpenAICall(model="my-finetune", response_model="my-finetune")
    request = S.request([S.ours_openai(call, pricer=agent).but(**S.ids(1))])
    Normalizer(pricer).process(request, enrich=True)
    (attrs,) = spans_after(request)
    assert cost_attributes(attrs) == {sc.LLMCOST_COST_UNPRICED: True}


def test_rejected_and_duplicate_spans_are_not_enriched(pricer: Pricer) -> None:
    call = AnthropicCall()
    same = {"trace_id": b"\x05" * 16}
    request = S.request(
        [
            S.anthropic_sdk(call).but(span_id=b"\x01" * 8, **same),
            S.ours_anthropic(call).but(span_id=b"\x02" * 8, **same),
            S.openai_v2(CALL).but(**S.ids(3), attrs={sc.GEN_AI_USAGE_INPUT_TOKENS: -1}),
        ]
    )
    before = spans_after(request)
    result = Normalizer(pricer).process(request, enrich=True)
    sdk, ours, bad = spans_after(request)

    assert result.rejected == Counter({"duplicate_call": 1, "negative_tokens": 1})
    assert (sdk, bad) == (before[0], before[2])
    assert ours[sc.GEN_AI_USAGE_COST_AMOUNT] == 0.0034602


def test_without_enrich_the_request_is_untouched(pricer: Pricer) -> None:
    request = S.request([S.openlit_openai(CALL, cost=0.009).but(**S.ids(1))])
    body = request.SerializeToString()
    Normalizer(pricer).process(request)
    assert request.SerializeToString() == body


def test_tier_and_stale_parts(pricer: Pricer) -> None:
    """An older agent's zero breakdown and a contradicting unpriced flag do not survive."""
    stale = {sc.LLMCOST_COST_CACHE_WRITE: 0.0, sc.LLMCOST_COST_UNPRICED: True}
    request = S.request([S.ours_openai(OpenAICall(service_tier="priority")).but(**S.ids(1), attrs=stale)])
    Normalizer(pricer).process(request, enrich=True)
    (attrs,) = spans_after(request)
    assert cost_attributes(attrs) == {
        sc.GEN_AI_USAGE_COST_AMOUNT: 0.0102,  # priority: $4.25/M in, $17/M out
        sc.GEN_AI_USAGE_COST_CURRENCY: "USD",
        sc.GEN_AI_USAGE_COST_SOURCE: "local",
        sc.LLMCOST_COST_INPUT: 0.0051,
        sc.LLMCOST_COST_OUTPUT: 0.0051,
        sc.LLMCOST_PRICING_MODEL: "openai/gpt-4o-2024-08-06",
        sc.LLMCOST_PRICING_VERSION: pricer.version,
        sc.LLMCOST_PRICING_TIER: "priority",
    }
