"""Normalizer: what a record says besides cost — attribution, outcome, flags, provider, operation."""

from __future__ import annotations

from collections import Counter

import pytest

from otel_llmcost import semconv as sc
from otel_llmcost.collector._normalize import Normalizer
from otel_llmcost.pricing import Pricer
from tests.collector import spans as S
from tests.collector.spans import AnthropicCall, OpenAICall, normalize

OPENAI_CALL = OpenAICall()
ANTHROPIC_CALL = AnthropicCall()


def test_attribution_from_the_span_then_the_resource(pricer: Pricer) -> None:
    resource = {
        sc.SERVICE_NAME: "billing",
        sc.DEPLOYMENT_ENVIRONMENT: "staging",  # the deprecated name still counts
        sc.LLMCOST_TEAM: "platform",
        sc.LLMCOST_PROJECT: "default-project",
        sc.LLMCOST_FEATURE: "summaries",
    }
    specs = [
        S.ours_openai(OPENAI_CALL, attribution={"team": "search"}).but(**S.ids(1)),
        S.anthropic_sdk(ANTHROPIC_CALL).but(**S.ids(2)),
    ]
    result = Normalizer(pricer).process(S.request(specs, resource=resource))

    ours, sdk = result.records
    assert (ours.service, ours.environment, ours.namespace, ours.pod) == ("billing", "staging", None, None)
    assert (ours.team, ours.project, ours.feature, ours.user) == (
        "search",
        "default-project",
        "summaries",
        None,
    )
    assert (sdk.team, sdk.project, sdk.feature) == ("platform", "default-project", "summaries")


def test_openlit_span_level_service_and_environment_only_as_fallback(pricer: Pricer) -> None:
    spec = S.openlit_openai(OPENAI_CALL, cost=0.006)  # writes service.name/deployment.environment "default"
    with_resource, without = (
        Normalizer(pricer).process(S.request([spec])).records[0],
        Normalizer(pricer).process(S.request([spec], resource={})).records[0],
    )
    assert (with_resource.service, with_resource.environment) == ("checkout", "prod")
    assert (without.service, without.environment) == ("default", "default")


def test_failed_calls_are_recorded_with_their_error(pricer: Pricer) -> None:
    failed = S.openai_v2(OPENAI_CALL).but(
        error=True,
        attrs={
            sc.GEN_AI_USAGE_INPUT_TOKENS: None,
            sc.GEN_AI_USAGE_OUTPUT_TOKENS: None,
            sc.GEN_AI_RESPONSE_MODEL: None,
            sc.ERROR_TYPE: "RateLimitError",
        },
    )
    error_type_only = S.openai_v2(OPENAI_CALL).but(attrs={sc.ERROR_TYPE: "APITimeoutError"})
    not_a_call = S.anthropic_sdk(ANTHROPIC_CALL).but(
        name="anthropic.models.list",
        error=True,
        attrs={
            sc.GEN_AI_OPERATION_NAME: None,
            sc.GEN_AI_USAGE_INPUT_TOKENS: None,
            sc.GEN_AI_USAGE_OUTPUT_TOKENS: None,
        },
    )
    result = normalize(pricer, failed, error_type_only, not_a_call)

    first, second = result.records
    assert (first.status, first.error_type, first.priced, first.cost_nanos) == (
        "error",
        "RateLimitError",
        True,
        0,
    )
    assert (first.input_tokens, first.output_tokens, first.request_model) == (0, 0, "gpt-4o")
    assert first.pricing_model == "openai/gpt-4o"
    # tokens billed before the failure are still billed
    assert (second.status, second.error_type, second.cost_nanos) == ("error", "APITimeoutError", 6_000_000)
    assert (result.genai_spans, result.rejected) == (3, Counter())


def test_streaming_max_tokens_and_finish_reason_across_emitters(pricer: Pricer) -> None:
    result = normalize(
        pricer,
        S.ours_openai(OPENAI_CALL).but(attrs={sc.LLMCOST_STREAMING: True}),
        S.openlit_anthropic(ANTHROPIC_CALL, cost=0.0).but(attrs={sc.GEN_AI_REQUEST_STREAM: True}),
        S.openllmetry_openai(OPENAI_CALL, legacy=True).but(attrs={sc.LLM_IS_STREAMING: True}),
        S.openlit_anthropic(ANTHROPIC_CALL, cost=0.0).but(attrs={sc.GEN_AI_REQUEST_MAX_TOKENS: -1}),
        S.openai_v2(OPENAI_CALL).but(attrs={sc.GEN_AI_RESPONSE_FINISH_REASONS: ("length", "stop")}),
        S.openai_v2(OPENAI_CALL).but(attrs={sc.GEN_AI_RESPONSE_FINISH_REASONS: "content_filter"}),
    )
    assert [r.streaming for r in result.records] == [True, True, True, False, False, False]
    assert [r.max_tokens for r in result.records] == [512, 1024, None, None, 512, 512]
    assert [r.finish_reason for r in result.records] == [
        "stop",
        "end_turn",
        None,
        "end_turn",
        "length",
        "content_filter",
    ]


def test_provider_names_are_normalized(pricer: Pricer) -> None:
    azure = OpenAICall(model="gpt-4o-mini", response_model="gpt-4o-mini")
    result = normalize(
        pricer,
        S.openllmetry_openai(OPENAI_CALL, legacy=True),  # gen_ai.system "OpenAI"
        S.openllmetry_anthropic(ANTHROPIC_CALL, legacy=True),  # "Anthropic"
        S.openinference_openai(azure).but(attrs={sc.OPENINFERENCE_PROVIDER: "azure"}),
        S.openai_v2(OPENAI_CALL).but(attrs={sc.GEN_AI_SYSTEM: None}),  # no provider at all
    )
    assert [(r.provider, r.pricing_model) for r in result.records] == [
        ("openai", "openai/gpt-4o-2024-08-06"),
        ("anthropic", "anthropic/claude-sonnet-4-5-20250929"),
        ("azure.ai.openai", "azure.ai.openai/gpt-4o-mini"),
        ("openai", "openai/gpt-4o-2024-08-06"),  # from the catalog entry the model resolved to
    ]
    assert [r.operation for r in result.records] == ["chat", "chat", "chat", "chat"]


def test_openllmetry_legacy_request_types(pricer: Pricer) -> None:
    embedding = OpenAICall(
        model="text-embedding-3-small", response_model="text-embedding-3-small", completion_tokens=0
    )
    spec = S.openllmetry_openai(embedding, legacy=True).but(attrs={sc.LLM_REQUEST_TYPE: "embedding"})
    (record,) = normalize(pricer, spec).records
    assert (record.operation, record.cost_nanos) == ("embeddings", 24_000)  # 1200 x $0.02/M


def test_spans_that_are_not_model_calls_make_no_rows(pricer: Pricer) -> None:
    agent = S.ours_openai(OPENAI_CALL).but(
        name="invoke_agent planner", attrs={sc.GEN_AI_OPERATION_NAME: "invoke_agent"}
    )
    chain = S.openinference_openai(OPENAI_CALL).but(
        name="RunnableSequence", attrs={sc.OPENINFERENCE_SPAN_KIND: "CHAIN"}
    )
    no_usage = S.openai_v2(OPENAI_CALL).but(
        attrs={sc.GEN_AI_USAGE_INPUT_TOKENS: None, sc.GEN_AI_USAGE_OUTPUT_TOKENS: None}
    )
    result = normalize(pricer, S.http_span(), agent, chain, no_usage, S.http_span("/health"))

    assert result.records == []
    # agent and chain spans sum their children's usage: not GenAI calls, never billed
    assert (result.total_spans, result.genai_spans, result.rejected) == (5, 1, Counter())


def test_an_empty_request(pricer: Pricer) -> None:
    result = Normalizer(pricer).process(S.request([]))
    assert (result.records, result.total_spans, result.genai_spans, result.unpriced) == ([], 0, 0, 0)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_records_keep_span_order_across_scopes_and_resources(pricer: Pricer, provider: str) -> None:
    one = S.ours_openai(OPENAI_CALL) if provider == "openai" else S.ours_anthropic(ANTHROPIC_CALL)
    groups = [
        ({sc.SERVICE_NAME: "a"}, [one.but(**S.ids(1)), S.openai_v2(OPENAI_CALL).but(**S.ids(2))]),
        ({sc.SERVICE_NAME: "b"}, [one.but(**S.ids(3))]),
    ]
    result = Normalizer(pricer).process(S.request_groups(groups))
    assert [(r.service, r.span_id[-1]) for r in result.records] == [("a", "1"), ("a", "2"), ("b", "3")]
