"""Normalizer: every emitter's span of one call becomes the same exactly priced ledger row."""

from __future__ import annotations

from collections import Counter
from datetime import date

from otel_llmcost import semconv as sc
from otel_llmcost.collector._normalize import BatchResult
from otel_llmcost.pricing import Pricer
from otel_llmcost.pricing._overrides import parse_overrides
from tests.collector import spans as S
from tests.collector.spans import NOW_NS, AnthropicCall, OpenAICall, SpanSpec, normalize

OPENAI_CALL = OpenAICall()  # 1200 in, 300 out on gpt-4o-2024-08-06: $0.003 + $0.003
CACHED_OPENAI_CALL = OpenAICall(cached_tokens=1024)  # 176 uncached: $0.00044 + $0.00128 + $0.003
ANTHROPIC_CALL = AnthropicCall()  # 176 in, 1024 cache read, 500 5m writes, 50 out on claude-sonnet-4-5
ANTHROPIC_1H_CALL = AnthropicCall(cache_creation_input_tokens=800, ephemeral_1h_input_tokens=300)


def openai_emitters(call: OpenAICall) -> dict[str, SpanSpec]:
    return {
        "ours": S.ours_openai(call),
        "openai-v2": S.openai_v2(call),
        "openai-v2 latest": S.openai_v2(call, latest=True),
        "openllmetry": S.openllmetry_openai(call),
        "openllmetry legacy": S.openllmetry_openai(call, legacy=True),
        "openlit": S.openlit_openai(call, cost=0.006),
        "openinference": S.openinference_openai(call),
    }


def anthropic_emitters(call: AnthropicCall) -> dict[str, SpanSpec]:
    return {
        "ours": S.ours_anthropic(call),
        "anthropic sdk": S.anthropic_sdk(call),
        "openllmetry": S.openllmetry_anthropic(call),
        "openllmetry legacy": S.openllmetry_anthropic(call, legacy=True),
        "openlit": S.openlit_anthropic(call, cost=0.0034602),
        "openinference": S.openinference_anthropic(call),
    }


def costs(result: BatchResult, names: list[str]) -> dict[str, int]:
    return {name: record.cost_nanos for name, record in zip(names, result.records, strict=True)}


def test_every_openai_emitter_prices_one_call_identically(pricer: Pricer) -> None:
    emitters = openai_emitters(OPENAI_CALL)
    result = normalize(pricer, *emitters.values())

    assert result.rejected == Counter()
    assert (result.total_spans, result.genai_spans, result.unpriced, result.discrepancies) == (7, 7, 0, 0)
    assert costs(result, list(emitters)) == dict.fromkeys(emitters, 6_000_000)
    for record in result.records:
        assert (record.provider, record.operation) == ("openai", "chat")
        assert (record.input_tokens, record.cache_read_tokens, record.output_tokens) == (1200, 0, 300)
        assert (record.cost_input_nanos, record.cost_output_nanos) == (3_000_000, 3_000_000)
        assert record.pricing_model == "openai/gpt-4o-2024-08-06"
        assert record.response_model == "gpt-4o-2024-08-06"


def test_cached_openai_call_by_each_emitter(pricer: Pricer) -> None:
    emitters = openai_emitters(CACHED_OPENAI_CALL)
    result = normalize(pricer, *emitters.values())

    assert costs(result, list(emitters)) == {
        **dict.fromkeys(emitters, 4_720_000),
        # openai-v2 records no cached tokens: it can only be priced as 1200 uncached
        "openai-v2": 6_000_000,
        "openai-v2 latest": 6_000_000,
    }
    ours = result.records[0]
    assert (ours.input_tokens, ours.cache_read_tokens, ours.output_tokens) == (176, 1024, 300)
    assert (ours.cost_input_nanos, ours.cost_cache_read_nanos, ours.cost_output_nanos) == (
        440_000,
        1_280_000,
        3_000_000,
    )
    # OpenLIT said $0.006 for a $0.00472 call: the one discrepancy
    assert result.discrepancies == 1


def test_every_anthropic_emitter_prices_one_call_identically(pricer: Pricer) -> None:
    """Inclusive input (ours, the SDK, OpenLLMetry, OpenInference) and OpenLIT's exclusive copy."""
    emitters = anthropic_emitters(ANTHROPIC_CALL)
    result = normalize(pricer, *emitters.values())

    assert result.rejected == Counter()
    assert costs(result, list(emitters)) == dict.fromkeys(emitters, 3_460_200)
    for record in result.records:
        assert record.provider == "anthropic"
        assert (record.input_tokens, record.cache_read_tokens, record.cache_write_5m_tokens) == (
            176,
            1024,
            500,
        )
        assert (record.cache_write_1h_tokens, record.output_tokens) == (0, 50)
        assert (record.cost_input_nanos, record.cost_cache_read_nanos) == (528_000, 307_200)
        assert (record.cost_cache_write_nanos, record.cost_output_nanos) == (1_875_000, 750_000)
        assert record.pricing_model == "anthropic/claude-sonnet-4-5-20250929"


def test_one_hour_cache_writes_need_an_emitter_that_reports_them(pricer: Pricer) -> None:
    emitters = anthropic_emitters(ANTHROPIC_1H_CALL)
    result = normalize(pricer, *emitters.values())

    # 300 of the 800 writes at the 1h price ($6/M) need the 5m/1h split only ours and the SDK record
    assert costs(result, list(emitters)) == {
        "ours": 5_260_200,
        "anthropic sdk": 5_260_200,
        "openllmetry": 4_585_200,
        "openllmetry legacy": 4_585_200,
        "openlit": 4_585_200,
        "openinference": 4_585_200,
    }
    sdk = result.records[1]
    assert (sdk.cache_write_5m_tokens, sdk.cache_write_1h_tokens, sdk.cost_cache_write_nanos) == (
        500,
        300,
        3_675_000,
    )


def test_our_span_becomes_this_record(pricer: Pricer) -> None:
    spec = S.ours_openai(
        CACHED_OPENAI_CALL, attribution={"team": "search", "project": "ranker", "user": "u-42"}
    )
    result = normalize(pricer, spec)

    (record,) = result.records
    assert record.to_dict() == {
        "trace_id": "00000000000000000000000000abc000",
        "span_id": "0000000000def000",
        "start_ns": S.START_NS,
        "end_ns": S.START_NS + 1_500_000_000,
        "provider": "openai",
        "operation": "chat",
        "request_model": "gpt-4o",
        "response_model": "gpt-4o-2024-08-06",
        "response_id": "chatcmpl-001",
        "pricing_model": "openai/gpt-4o-2024-08-06",
        "price_version": pricer.version,
        "priced": True,
        "service_tier": "standard",
        "input_tokens": 176,
        "cache_read_tokens": 1024,
        "cache_write_5m_tokens": 0,
        "cache_write_1h_tokens": 0,
        "output_tokens": 300,
        "reasoning_tokens": 0,
        "input_audio_tokens": 0,
        "output_audio_tokens": 0,
        "web_search_requests": 0,
        "usage_estimated": False,
        "cost_nanos": 4_720_000,
        "cost_input_nanos": 440_000,
        "cost_output_nanos": 3_000_000,
        "cost_cache_read_nanos": 1_280_000,
        "cost_cache_write_nanos": 0,
        "cost_reasoning_nanos": 0,
        "cost_fees_nanos": 0,
        "reported_cost_nanos": 4_720_000,
        "status": "ok",
        "error_type": None,
        "finish_reason": "stop",
        "max_tokens": 512,
        "streaming": False,
        "service": "checkout",
        "environment": "prod",
        "namespace": "shop",
        "pod": "checkout-7d9f-abcde",
        "team": "search",
        "project": "ranker",
        "user": "u-42",
        "feature": None,
        "thread": None,
        "run": None,
        "prompt_fingerprint": "5f1c0a9e3b7d2e44",
        "ingested_ns": NOW_NS,
    }
    assert (result.unpriced, result.discrepancies) == (0, 0)


def test_anthropic_sdk_span_details(pricer: Pricer) -> None:
    (record,) = normalize(pricer, S.anthropic_sdk(ANTHROPIC_CALL)).records
    assert (record.finish_reason, record.max_tokens, record.service_tier) == ("end_turn", 1024, "standard")
    assert (record.request_model, record.reported_cost_nanos) == ("claude-sonnet-4-5", None)


def test_reported_cost_discrepancy_is_more_than_a_cent_of_a_cent_and_1_percent(pricer: Pricer) -> None:
    call = OPENAI_CALL  # ours: $0.006
    cheap = OpenAICall(
        model="gpt-4o-mini", response_model="gpt-4o-mini", prompt_tokens=10, completion_tokens=0
    )
    result = normalize(
        pricer,
        S.openlit_openai(call, cost=0.006),  # exact
        S.openlit_openai(call, cost=0.00605),  # 0.83% off: within 1%
        S.openlit_openai(call, cost=0.0061),  # 1.67% off
        S.openinference_openai(call, cost=0.0059),  # 1.67% under, via llm.cost.total
        S.openlit_openai(cheap, cost=0.000002),  # $0.0000015 vs $0.000002: 33% but under $0.000001
        S.openlit_openai(cheap, cost=0.0000026),  # $0.0000011 over
    )
    by_reported = {r.reported_cost_nanos: r.cost_nanos for r in result.records}
    assert by_reported == {
        6_000_000: 6_000_000,
        6_050_000: 6_000_000,
        6_100_000: 6_000_000,
        5_900_000: 6_000_000,
        2000: 1500,
        2600: 1500,
    }
    assert result.discrepancies == 3


def test_unknown_model_is_unpriced_never_a_silent_zero(pricer: Pricer) -> None:
    call = OpenAICall(model="gpt-9-ultra", response_model="gpt-9-ultra-2031-01-01")
    result = normalize(pricer, S.openlit_openai(call, cost=0.5), S.ours_openai(OPENAI_CALL))

    unknown, known = result.records
    assert (unknown.priced, unknown.cost_nanos, unknown.pricing_model) == (False, 0, None)
    assert (unknown.provider, unknown.input_tokens, unknown.output_tokens) == ("openai", 1200, 300)
    assert (unknown.reported_cost_nanos, unknown.service_tier) == (500_000_000, "default")
    assert unknown.price_version == pricer.version
    assert known.priced
    assert (result.unpriced, result.discrepancies) == (1, 0)


def test_response_service_tier_prices_the_call(pricer: Pricer) -> None:
    only_requested = {
        sc.GEN_AI_OPENAI_RESPONSE_SERVICE_TIER: None,
        sc.GEN_AI_OPENAI_REQUEST_SERVICE_TIER: "batch",
    }
    result = normalize(
        pricer,
        S.ours_openai(OpenAICall(service_tier="priority")),
        S.openai_v2(OpenAICall(service_tier="priority")),  # gen_ai.openai.response.service_tier
        S.openai_v2(OpenAICall(service_tier="default")).but(attrs={sc.GEN_AI_REQUEST_SERVICE_TIER: "flex"}),
        S.openllmetry_openai(OPENAI_CALL).but(attrs=only_requested),
    )
    priority, legacy_priority, default, requested = result.records
    # priority: $4.25/M in, $17/M out
    assert (priority.cost_nanos, priority.service_tier) == (10_200_000, "priority")
    assert (legacy_priority.cost_nanos, legacy_priority.service_tier) == (10_200_000, "priority")
    # the response said "default": the requested flex tier is not what was billed
    assert (default.cost_nanos, default.service_tier) == (6_000_000, "standard")
    # no response tier at all: the requested one (batch: $1.25/M in, $5/M out)
    assert (requested.cost_nanos, requested.service_tier) == (3_000_000, "batch")


def test_price_in_force_on_the_span_start_day(pricer: Pricer) -> None:
    overrides = parse_overrides(
        {
            "models": {
                "openai/gpt-4o-2024-08-06": {"effective_from": date(2025, 12, 1), "input": 2, "output": 8}
            }
        }
    )
    dated = Pricer(overrides=overrides)
    day = 86_400 * 10**9
    midnight = 1_764_547_200 * 10**9  # 2025-12-01T00:00:00Z
    result = normalize(
        dated,
        S.ours_openai(OPENAI_CALL).but(start_ns=midnight - 1, end_ns=midnight + 10**9),
        S.ours_openai(OPENAI_CALL).but(start_ns=midnight, end_ns=midnight + 10**9),
        S.ours_openai(OPENAI_CALL).but(start_ns=midnight + day + 5, end_ns=midnight + day + 10),
        now_ns=midnight + 2 * day,
    )
    # before: $2.50/M in + $10/M out; from Dec 1: $2 + $8
    assert [r.cost_nanos for r in result.records] == [6_000_000, 4_800_000, 4_800_000]
