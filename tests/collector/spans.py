"""OTLP span builders that write what each real GenAI emitter writes for one call.

Each builder takes the provider's own numbers (as its API returned them: :class:`OpenAICall`,
:class:`AnthropicCall`) and sets the attributes the emitter's source sets, read from:

* ours — ``otel_llmcost/instrumentation/_call.py`` (scope ``otel_llmcost.instrumentation``);
* openai-v2 — ``opentelemetry-instrumentation-openai-v2`` ``patch.py`` (legacy path: ``gen_ai.system``,
  ``gen_ai.openai.response.service_tier``; latest path: ``gen_ai.provider.name``, ``openai.*``);
  it records no cached tokens;
* OpenLLMetry 0.62 — ``opentelemetry/instrumentation/{openai/shared,anthropic}/__init__.py``
  (anthropic input made inclusive in ``_set_token_usage``); ``legacy=True`` writes the pre-semconv
  names kept in ``semconv_ai`` (``gen_ai.usage.prompt_tokens``, ``llm.request.type`` …);
* OpenLIT — ``openlit/instrumentation/{openai,anthropic}/utils.py``: ``gen_ai.usage.cost`` and,
  for Anthropic, the API's *exclusive* ``input_tokens`` copied verbatim;
* OpenInference — ``llm.token_count.*`` with an inclusive prompt count, ``openinference.span.kind``;
* the anthropic SDK — ``anthropic/_tracing.py`` ``SPAN_ATTRIBUTES`` and
  ``anthropic/lib/_tracing/_response.py`` (``input_tokens`` + cache reads + cache writes).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from otel_llmcost import semconv as sc
from otel_llmcost.collector._normalize import BatchResult, Normalizer
from otel_llmcost.collector._otlp import set_any_value
from otel_llmcost.pricing import Pricer
from otel_llmcost.usage import Usage

START_NS = 1_762_171_200_000_000_000  # 2025-11-03T12:00:00Z
NOW_NS = START_NS + 100_000_000_000  # when the collector sees it
DURATION_NS = 1_500_000_000
RESOURCE: dict[str, Any] = {
    sc.SERVICE_NAME: "checkout", sc.DEPLOYMENT_ENVIRONMENT_NAME: "prod", sc.K8S_NAMESPACE_NAME: "shop",
    sc.K8S_POD_NAME: "checkout-7d9f-abcde",
}  # fmt: skip
OPENAI_V2_SCOPE = "opentelemetry.instrumentation.openai_v2"
OPENLLMETRY_OPENAI_SCOPE = "opentelemetry.instrumentation.openai.v1"
OPENLLMETRY_ANTHROPIC_SCOPE = "opentelemetry.instrumentation.anthropic"
OPENINFERENCE_OPENAI_SCOPE = "openinference.instrumentation.openai"
OPENINFERENCE_ANTHROPIC_SCOPE = "openinference.instrumentation.anthropic"


@dataclass(frozen=True)
class OpenAICall:
    """One chat completion as the OpenAI API reported it (prompt_tokens include cached)."""

    model: str = "gpt-4o"
    response_model: str = "gpt-4o-2024-08-06"
    response_id: str = "chatcmpl-001"
    prompt_tokens: int = 1200
    completion_tokens: int = 300
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    service_tier: str = "default"
    finish_reason: str = "stop"
    max_tokens: int | None = 512


@dataclass(frozen=True)
class AnthropicCall:
    """One message as the Anthropic API reported it (input_tokens exclude cache reads/writes)."""

    model: str = "claude-sonnet-4-5"
    response_model: str = "claude-sonnet-4-5-20250929"
    response_id: str = "msg_001"
    input_tokens: int = 176
    output_tokens: int = 50
    cache_read_input_tokens: int = 1024
    cache_creation_input_tokens: int = 500
    ephemeral_1h_input_tokens: int = 0
    service_tier: str = "standard"
    stop_reason: str = "end_turn"
    max_tokens: int = 1024

    @property
    def inclusive_input(self) -> int:
        return self.input_tokens + self.cache_read_input_tokens + self.cache_creation_input_tokens


@dataclass
class SpanSpec:
    scope: str
    name: str
    attributes: dict[str, Any]
    trace_id: bytes = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")
    span_id: bytes = bytes.fromhex("b7ad6b7169203331")
    start_ns: int = START_NS
    end_ns: int = START_NS + DURATION_NS
    error: bool = False

    def but(self, **changes: Any) -> SpanSpec:
        """A copy with fields changed; ``attrs={...}`` merges attributes (``None`` deletes)."""
        attrs = dict(self.attributes)
        for key, value in changes.pop("attrs", {}).items():
            if value is None:
                attrs.pop(key, None)
            else:
                attrs[key] = value
        return replace(self, attributes=attrs, **changes)


def ids(n: int) -> dict[str, bytes]:
    """Distinct, valid trace and span ids for the n-th span of a test."""
    return {"trace_id": (0xABC000 + n).to_bytes(16, "big"), "span_id": (0xDEF000 + n).to_bytes(8, "big")}


@functools.cache
def _pricer_default() -> Pricer:
    return Pricer()


def _our_cost(model: str, provider: str, usage: Usage, pricer: Pricer | None) -> dict[str, Any]:
    """What ``LLMCall._price`` writes (the breakdown's nonzero parts only)."""
    cost = (pricer or _pricer_default()).price(model, usage, provider=provider)
    if cost is None:
        return {sc.LLMCOST_COST_UNPRICED: True}
    attrs: dict[str, Any] = {
        sc.GEN_AI_USAGE_COST_AMOUNT: float(cost.total),
        sc.GEN_AI_USAGE_COST_CURRENCY: sc.COST_CURRENCY_USD,
        sc.GEN_AI_USAGE_COST_SOURCE: sc.COST_SOURCE_LOCAL,
        sc.LLMCOST_COST_INPUT: float(cost.input),
        sc.LLMCOST_COST_OUTPUT: float(cost.output),
        sc.LLMCOST_PRICING_MODEL: cost.model,
        sc.LLMCOST_PRICING_VERSION: cost.price_version,
    }
    parts = {
        sc.LLMCOST_COST_CACHE_READ: cost.cache_read,
        sc.LLMCOST_COST_CACHE_WRITE: cost.cache_write,
        sc.LLMCOST_COST_REASONING: cost.reasoning,
    }
    return attrs | {key: float(amount) for key, amount in parts.items() if amount}


def ours_openai(
    call: OpenAICall, *, attribution: Mapping[str, str] | None = None, pricer: Pricer | None = None
) -> SpanSpec:
    usage = Usage.from_totals(
        call.prompt_tokens,
        call.completion_tokens,
        cache_read=call.cached_tokens,
        reasoning=call.reasoning_tokens,
    )
    attrs: dict[str, Any] = {
        sc.GEN_AI_OPERATION_NAME: sc.OP_CHAT,
        sc.GEN_AI_PROVIDER_NAME: sc.PROVIDER_OPENAI,
        sc.GEN_AI_REQUEST_MODEL: call.model,
        sc.SERVER_ADDRESS: "api.openai.com",
        sc.SERVER_PORT: 443,
        **({sc.GEN_AI_REQUEST_MAX_TOKENS: call.max_tokens} if call.max_tokens else {}),
        **{sc.ATTRIBUTION_KEYS[k]: v for k, v in (attribution or {}).items()},
        sc.LLMCOST_PROMPT_FINGERPRINT: "5f1c0a9e3b7d2e44",
        sc.GEN_AI_RESPONSE_MODEL: call.response_model,
        sc.GEN_AI_RESPONSE_ID: call.response_id,
        sc.GEN_AI_RESPONSE_FINISH_REASONS: (call.finish_reason,),
        sc.GEN_AI_OPENAI_RESPONSE_SERVICE_TIER: call.service_tier,
        **usage.to_attributes(),
        **_our_cost(call.response_model, sc.PROVIDER_OPENAI, usage, pricer),
    }
    return SpanSpec(sc.INSTRUMENTATION_SCOPE, f"chat {call.model}", attrs)


def ours_anthropic(
    call: AnthropicCall, *, attribution: Mapping[str, str] | None = None, pricer: Pricer | None = None
) -> SpanSpec:
    usage = Usage(
        input=call.input_tokens,
        cache_read=call.cache_read_input_tokens,
        cache_write_5m=call.cache_creation_input_tokens - call.ephemeral_1h_input_tokens,
        cache_write_1h=call.ephemeral_1h_input_tokens,
        output=call.output_tokens,
    )
    attrs: dict[str, Any] = {
        sc.GEN_AI_OPERATION_NAME: sc.OP_CHAT,
        sc.GEN_AI_PROVIDER_NAME: sc.PROVIDER_ANTHROPIC,
        sc.GEN_AI_REQUEST_MODEL: call.model,
        sc.GEN_AI_REQUEST_MAX_TOKENS: call.max_tokens,
        sc.SERVER_ADDRESS: "api.anthropic.com",
        sc.SERVER_PORT: 443,
        **{sc.ATTRIBUTION_KEYS[k]: v for k, v in (attribution or {}).items()},
        sc.GEN_AI_RESPONSE_MODEL: call.response_model,
        sc.GEN_AI_RESPONSE_ID: call.response_id,
        sc.GEN_AI_RESPONSE_FINISH_REASONS: (call.stop_reason,),
        **usage.to_attributes(),
        **_our_cost(call.response_model, sc.PROVIDER_ANTHROPIC, usage, pricer),
    }
    return SpanSpec(sc.INSTRUMENTATION_SCOPE, f"chat {call.model}", attrs)


def openai_v2(call: OpenAICall, *, latest: bool = False) -> SpanSpec:
    attrs: dict[str, Any] = {
        sc.GEN_AI_OPERATION_NAME: sc.OP_CHAT,
        (sc.GEN_AI_PROVIDER_NAME if latest else sc.GEN_AI_SYSTEM): sc.PROVIDER_OPENAI,
        sc.GEN_AI_REQUEST_MODEL: call.model,
        sc.SERVER_ADDRESS: "api.openai.com",
        sc.SERVER_PORT: 443,
        sc.GEN_AI_RESPONSE_MODEL: call.response_model,
        sc.GEN_AI_RESPONSE_FINISH_REASONS: (call.finish_reason,),
        sc.GEN_AI_RESPONSE_ID: call.response_id,
        (
            sc.GEN_AI_OPENAI_RESPONSE_SERVICE_TIER
            if latest
            else sc.GEN_AI_OPENAI_RESPONSE_SERVICE_TIER_DEPRECATED
        ): call.service_tier,
        sc.GEN_AI_USAGE_INPUT_TOKENS: call.prompt_tokens,
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: call.completion_tokens,
    }
    if call.max_tokens:
        attrs[sc.GEN_AI_REQUEST_MAX_TOKENS] = call.max_tokens
    return SpanSpec(OPENAI_V2_SCOPE, f"chat {call.model}", attrs)


def openllmetry_openai(call: OpenAICall, *, legacy: bool = False) -> SpanSpec:
    if legacy:
        attrs: dict[str, Any] = {
            sc.GEN_AI_SYSTEM: "OpenAI",
            sc.LLM_REQUEST_TYPE: "chat",
            sc.GEN_AI_REQUEST_MODEL: call.model,
            sc.LLM_IS_STREAMING: False,
            "gen_ai.openai.api_base": "https://api.openai.com/v1/",
            sc.GEN_AI_RESPONSE_MODEL: call.response_model,
            sc.LLM_USAGE_TOTAL_TOKENS: call.prompt_tokens + call.completion_tokens,
            sc.OPENLLMETRY_COMPLETION_TOKENS: call.completion_tokens,
            sc.OPENLLMETRY_PROMPT_TOKENS: call.prompt_tokens,
            sc.OPENLLMETRY_CACHE_READ_INPUT_TOKENS: call.cached_tokens,
            "gen_ai.prompt.0.role": "user",
        }
        return SpanSpec(OPENLLMETRY_OPENAI_SCOPE, "openai.chat", attrs)
    attrs = {
        sc.GEN_AI_OPERATION_NAME: sc.OP_CHAT,
        sc.GEN_AI_PROVIDER_NAME: sc.PROVIDER_OPENAI,
        sc.GEN_AI_REQUEST_MODEL: call.model,
        sc.OPENLLMETRY_IS_STREAMING: False,
        sc.GEN_AI_RESPONSE_MODEL: call.response_model,
        sc.GEN_AI_RESPONSE_ID: call.response_id,
        sc.GEN_AI_RESPONSE_FINISH_REASONS: (call.finish_reason,),
        sc.GEN_AI_OPENAI_RESPONSE_SERVICE_TIER: call.service_tier,
        "gen_ai.usage.total_tokens": call.prompt_tokens + call.completion_tokens,
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: call.completion_tokens,
        sc.GEN_AI_USAGE_INPUT_TOKENS: call.prompt_tokens,
        sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: call.cached_tokens,
    }
    if call.max_tokens:
        attrs[sc.GEN_AI_REQUEST_MAX_TOKENS] = call.max_tokens
    if call.reasoning_tokens:
        attrs[sc.OPENLLMETRY_REASONING_TOKENS] = call.reasoning_tokens
    return SpanSpec(OPENLLMETRY_OPENAI_SCOPE, "openai.chat", attrs)


def openllmetry_anthropic(call: AnthropicCall, *, legacy: bool = False) -> SpanSpec:
    total = call.inclusive_input + call.output_tokens
    if legacy:
        attrs: dict[str, Any] = {
            sc.GEN_AI_SYSTEM: "Anthropic",
            sc.LLM_REQUEST_TYPE: "chat",
            sc.GEN_AI_REQUEST_MODEL: call.model,
            sc.GEN_AI_RESPONSE_MODEL: call.response_model,
            sc.OPENLLMETRY_PROMPT_TOKENS: call.inclusive_input,
            sc.OPENLLMETRY_COMPLETION_TOKENS: call.output_tokens,
            sc.LLM_USAGE_TOTAL_TOKENS: total,
            sc.OPENLLMETRY_CACHE_READ_INPUT_TOKENS: call.cache_read_input_tokens,
            sc.OPENLLMETRY_CACHE_CREATION_INPUT_TOKENS: call.cache_creation_input_tokens,
        }
        return SpanSpec(OPENLLMETRY_ANTHROPIC_SCOPE, "anthropic.chat", attrs)
    attrs = {
        sc.GEN_AI_PROVIDER_NAME: sc.PROVIDER_ANTHROPIC,
        sc.GEN_AI_OPERATION_NAME: sc.OP_CHAT,
        sc.GEN_AI_REQUEST_MODEL: call.model,
        sc.GEN_AI_REQUEST_MAX_TOKENS: call.max_tokens,
        sc.OPENLLMETRY_IS_STREAMING: False,
        sc.GEN_AI_RESPONSE_MODEL: call.response_model,
        sc.GEN_AI_RESPONSE_ID: call.response_id,
        # set_response_attributes writes the exclusive count; _set_token_usage then overwrites it
        sc.GEN_AI_USAGE_INPUT_TOKENS: call.inclusive_input,
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: call.output_tokens,
        "gen_ai.usage.total_tokens": total,
        sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: call.cache_read_input_tokens,
        sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: call.cache_creation_input_tokens,
    }
    return SpanSpec(OPENLLMETRY_ANTHROPIC_SCOPE, "anthropic.chat", attrs)


def _openlit_common(provider: str, model: str, response_model: str, address: str) -> dict[str, Any]:
    return {
        "telemetry.sdk.name": "openlit",
        sc.GEN_AI_OPERATION_NAME: sc.OP_CHAT,
        sc.GEN_AI_PROVIDER_NAME: provider,
        sc.SERVER_ADDRESS: address,
        sc.SERVER_PORT: 443,
        sc.GEN_AI_REQUEST_MODEL: model,
        sc.GEN_AI_RESPONSE_MODEL: response_model,
        sc.DEPLOYMENT_ENVIRONMENT: "default",
        sc.SERVICE_NAME: "default",
        sc.GEN_AI_REQUEST_STREAM: False,
        "gen_ai.server.time_per_output_token": 0.0,
        "gen_ai.server.time_to_first_token": 1.5,
        "gen_ai.sdk.version": "1.99.0",
    }


def openlit_openai(call: OpenAICall, *, cost: float) -> SpanSpec:
    attrs = _openlit_common(sc.PROVIDER_OPENAI, call.model, call.response_model, "api.openai.com")
    attrs.update(
        {
            "gen_ai.openai.api.type": "chat_completions",
            "gen_ai.request.seed": 0,
            "gen_ai.request.frequency_penalty": 0.0,
            "gen_ai.request.presence_penalty": 0.0,
            "gen_ai.request.temperature": 1.0,
            "gen_ai.request.top_p": 1.0,
            "gen_ai.request.user": "",
            sc.GEN_AI_RESPONSE_ID: call.response_id,
            sc.GEN_AI_RESPONSE_FINISH_REASONS: (call.finish_reason,),
            "gen_ai.output.type": "text",
            sc.GEN_AI_OPENAI_RESPONSE_SERVICE_TIER: call.service_tier,
            sc.GEN_AI_USAGE_INPUT_TOKENS: call.prompt_tokens,
            sc.GEN_AI_USAGE_OUTPUT_TOKENS: call.completion_tokens,
            sc.METRIC_GEN_AI_TOKEN_USAGE: call.prompt_tokens + call.completion_tokens,
            sc.OPENLIT_COST: cost,
            sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: call.cached_tokens,
            sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: 0,
        }
    )
    if call.max_tokens:
        attrs[sc.GEN_AI_REQUEST_MAX_TOKENS] = call.max_tokens
    return SpanSpec(sc.OPENLIT_SCOPE, f"chat {call.model}", attrs)


def openlit_anthropic(call: AnthropicCall, *, cost: float) -> SpanSpec:
    attrs = _openlit_common(sc.PROVIDER_ANTHROPIC, call.model, call.response_model, "api.anthropic.com")
    attrs.update(
        {
            sc.GEN_AI_REQUEST_MAX_TOKENS: call.max_tokens,
            "gen_ai.request.stop_sequences": (),
            "gen_ai.request.temperature": 1.0,
            "gen_ai.request.top_k": 1.0,
            "gen_ai.request.top_p": 1.0,
            sc.GEN_AI_RESPONSE_ID: call.response_id,
            sc.GEN_AI_RESPONSE_FINISH_REASONS: (call.stop_reason,),
            "gen_ai.output.type": "text",
            sc.GEN_AI_USAGE_INPUT_TOKENS: call.input_tokens,  # Anthropic's exclusive count, verbatim
            sc.GEN_AI_USAGE_OUTPUT_TOKENS: call.output_tokens,
            sc.METRIC_GEN_AI_TOKEN_USAGE: call.input_tokens + call.output_tokens,
            sc.OPENLIT_COST: cost,
            sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: call.cache_read_input_tokens,
            sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: call.cache_creation_input_tokens,
        }
    )
    return SpanSpec(sc.OPENLIT_SCOPE, f"chat {call.model}", attrs)


def openinference_openai(call: OpenAICall, *, cost: float | None = None) -> SpanSpec:
    attrs: dict[str, Any] = {
        sc.OPENINFERENCE_SPAN_KIND: sc.OPENINFERENCE_KIND_LLM,
        sc.OPENINFERENCE_SYSTEM: "openai",
        sc.OPENINFERENCE_PROVIDER: "openai",
        "llm.invocation_parameters": json.dumps({"model": call.model, "max_tokens": call.max_tokens}),
        "input.mime_type": "application/json",
        "input.value": json.dumps({"model": call.model, "messages": [{"role": "user", "content": "hi"}]}),
        sc.OPENINFERENCE_MODEL_NAME: call.response_model,
        "output.mime_type": "application/json",
        "output.value": json.dumps({"id": call.response_id, "choices": [{"message": {"content": "hello"}}]}),
        sc.OPENINFERENCE_PROMPT: call.prompt_tokens,
        sc.OPENINFERENCE_COMPLETION: call.completion_tokens,
        "llm.token_count.total": call.prompt_tokens + call.completion_tokens,
        sc.OPENINFERENCE_CACHE_READ: call.cached_tokens,
    }
    if call.reasoning_tokens:
        attrs[sc.OPENINFERENCE_REASONING] = call.reasoning_tokens
    if cost is not None:
        attrs[sc.OPENINFERENCE_COST_TOTAL] = cost
    return SpanSpec(OPENINFERENCE_OPENAI_SCOPE, "ChatCompletion", attrs)


def openinference_anthropic(call: AnthropicCall) -> SpanSpec:
    attrs: dict[str, Any] = {
        sc.OPENINFERENCE_SPAN_KIND: sc.OPENINFERENCE_KIND_LLM,
        sc.OPENINFERENCE_SYSTEM: "anthropic",
        sc.OPENINFERENCE_PROVIDER: "anthropic",
        "llm.invocation_parameters": json.dumps({"model": call.model, "max_tokens": call.max_tokens}),
        sc.OPENINFERENCE_MODEL_NAME: call.response_model,
        sc.OPENINFERENCE_PROMPT: call.inclusive_input,
        sc.OPENINFERENCE_COMPLETION: call.output_tokens,
        "llm.token_count.total": call.inclusive_input + call.output_tokens,
        sc.OPENINFERENCE_CACHE_READ: call.cache_read_input_tokens,
        sc.OPENINFERENCE_CACHE_WRITE: call.cache_creation_input_tokens,
    }
    return SpanSpec(OPENINFERENCE_ANTHROPIC_SCOPE, "Messages", attrs)


def anthropic_sdk(call: AnthropicCall) -> SpanSpec:
    attrs: dict[str, Any] = {
        sc.SERVER_ADDRESS: "api.anthropic.com",
        sc.SERVER_PORT: 443,
        sc.GEN_AI_PROVIDER_NAME: sc.PROVIDER_ANTHROPIC,
        sc.GEN_AI_OPERATION_NAME: sc.OP_CHAT,
        sc.GEN_AI_REQUEST_MODEL: call.model,
        sc.GEN_AI_REQUEST_MAX_TOKENS: call.max_tokens,
        "http.request.method": "POST",
        "anthropic.request.id": "req_011CUjx",
        "http.response.status_code": 200,
        sc.GEN_AI_RESPONSE_ID: call.response_id,
        sc.GEN_AI_RESPONSE_MODEL: call.response_model,
        sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: call.cache_creation_input_tokens,
        sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: call.cache_read_input_tokens,
        sc.ANTHROPIC_CACHE_WRITE_5M: call.cache_creation_input_tokens - call.ephemeral_1h_input_tokens,
        sc.ANTHROPIC_CACHE_WRITE_1H: call.ephemeral_1h_input_tokens,
        sc.ANTHROPIC_SERVICE_TIER: call.service_tier,
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: call.output_tokens,
        sc.ANTHROPIC_STOP_REASON: call.stop_reason,
        sc.GEN_AI_USAGE_INPUT_TOKENS: call.inclusive_input,
    }
    return SpanSpec(sc.ANTHROPIC_SDK_SCOPE, "anthropic.messages.create", attrs)


def http_span(path: str = "/checkout") -> SpanSpec:
    """A non-GenAI span, as HTTP server instrumentation writes it."""
    attrs = {
        "http.request.method": "POST",
        "url.path": path,
        "http.route": path,
        "http.response.status_code": 200,
        sc.SERVER_ADDRESS: "shop.internal",
        "user_agent.original": "curl/8.5.0",
    }
    return SpanSpec("opentelemetry.instrumentation.fastapi", f"POST {path}", attrs)


def _set(target: AnyValue, value: Any) -> None:
    if isinstance(value, bytes):
        target.bytes_value = value
    elif isinstance(value, (tuple, list)):
        array = target.array_value
        array.SetInParent()
        for item in value:
            _set(array.values.add(), item)
    else:
        set_any_value(target, value)


def to_span(spec: SpanSpec) -> Span:
    span = Span(
        trace_id=spec.trace_id,
        span_id=spec.span_id,
        name=spec.name,
        kind=Span.SPAN_KIND_CLIENT,
        start_time_unix_nano=spec.start_ns,
        end_time_unix_nano=spec.end_ns,
    )
    for key, value in spec.attributes.items():
        kv = span.attributes.add()
        kv.key = key
        _set(kv.value, value)
    if spec.error:
        span.status.code = Status.STATUS_CODE_ERROR
        span.status.message = "boom"
    return span


def request(
    specs: Iterable[SpanSpec], *, resource: Mapping[str, Any] | None = RESOURCE
) -> ExportTraceServiceRequest:
    """One resource (``resource`` attributes) holding ``specs`` in order."""
    return request_groups([(resource or {}, specs)])


def request_groups(
    groups: Iterable[tuple[Mapping[str, Any], Iterable[SpanSpec]]],
) -> ExportTraceServiceRequest:
    """One ``ResourceSpans`` per group; consecutive specs of one scope share a ``ScopeSpans``."""
    out = ExportTraceServiceRequest()
    for resource, specs in groups:
        resource_spans = out.resource_spans.add()
        for key, value in resource.items():
            kv = resource_spans.resource.attributes.add()
            kv.key = key
            _set(kv.value, value)
        scope_spans = None
        for spec in specs:
            if scope_spans is None or scope_spans.scope.name != spec.scope:
                scope_spans = resource_spans.scope_spans.add()
                scope_spans.scope.name = spec.scope
            scope_spans.spans.append(to_span(spec))
    return out


def normalize(pricer: Pricer, *specs: SpanSpec, now_ns: int = NOW_NS, enrich: bool = False) -> BatchResult:
    """``specs`` as one call each (distinct ids, in order) through a fresh :class:`Normalizer`."""
    distinct = [spec.but(**ids(i)) for i, spec in enumerate(specs)]
    return Normalizer(pricer, now_ns=lambda: now_ns).process(request(distinct), enrich=enrich)
