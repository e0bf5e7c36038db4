"""``generate_content`` through the real google-genai SDK: attributes, exact cost, flags, errors."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
import quicktok
from google import genai
from google.genai import errors, types
from opentelemetry.trace import SpanKind, StatusCode

from otel_llmcost.instrumentation import LLMCostInstrumentor
from otel_llmcost.simulator import Simulator, UsageRule
from tests.instrumentation.conftest import Otel

from .conftest import FLASH_COST, RULE, Canned, answer, cost, only_span

ENC = quicktok.get_encoding("o200k_base")

pytestmark = pytest.mark.usefixtures("instrumented")


def test_generate_content_exact_usage_and_cost(otel: Otel, sim: Simulator, gem: genai.Client) -> None:
    sim.set_rule("gemini-2.5-*", RULE)
    response = gem.models.generate_content(model="gemini-2.5-flash", contents="hello")
    assert isinstance(response, types.GenerateContentResponse)
    span = only_span(otel)
    assert span.name == "generate_content gemini-2.5-flash"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    attrs = dict(span.attributes or {})
    assert attrs.pop("llmcost.prompt.fingerprint").__class__ is str
    assert attrs.pop("llmcost.pricing.version").__class__ is str
    assert attrs == {
        "gen_ai.operation.name": "generate_content",
        "gen_ai.provider.name": "gcp.gemini",
        "gen_ai.request.model": "gemini-2.5-flash",
        "server.address": "127.0.0.1",
        "server.port": sim.port,
        "gen_ai.response.model": "gemini-2.5-flash",
        "gen_ai.response.id": response.response_id,
        "gen_ai.response.finish_reasons": ("STOP",),
        "gen_ai.usage.input_tokens": 1200,
        "gen_ai.usage.output_tokens": 50,
        "gen_ai.usage.cache_read.input_tokens": 1024,
        "gen_ai.usage.reasoning.output_tokens": 30,
        "gen_ai.usage.cost.amount": float(FLASH_COST),
        "gen_ai.usage.cost.currency": "USD",
        "gen_ai.usage.cost.source": "local",
        "llmcost.cost.input": cost("0.0000528"),  # 176 x $0.30/M
        "llmcost.cost.cache_read": cost("0.00003072"),  # 1024 x $0.03/M
        "llmcost.cost.output": cost("0.00005"),  # 20 candidates x $2.50/M
        "llmcost.cost.reasoning": cost("0.000075"),  # 30 thoughts x $2.50/M
        "llmcost.pricing.model": "gcp.gemini/gemini-2.5-flash",
    }
    assert response.response_id == "sim000000000001"


def test_async_generate_content(otel: Otel, sim: Simulator, gem: genai.Client) -> None:
    sim.set_rule("gemini-2.5-*", RULE)

    async def run() -> types.GenerateContentResponse:
        response = await gem.aio.models.generate_content(model="gemini-2.5-flash", contents="hello")
        await gem.aio.aclose()
        return response

    response = asyncio.run(run())
    attrs = only_span(otel).attributes or {}
    assert attrs["gen_ai.response.id"] == response.response_id
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (1200, 50)
    assert attrs["gen_ai.usage.cost.amount"] == float(FLASH_COST)


def test_long_context_repriced_at_the_higher_table(otel: Otel, sim: Simulator, gem: genai.Client) -> None:
    sim.set_rule(
        "gemini-2.5-pro", UsageRule(prompt_tokens=250_000, cached_tokens=50_000, completion_tokens=1000)
    )
    gem.models.generate_content(model="gemini-2.5-pro", contents="a long document")
    attrs = only_span(otel).attributes or {}
    # > 200k prompt: $2.50 input, $0.25 cache read, $15 output per million.
    assert attrs["llmcost.pricing.long_context"] == 200_000
    assert attrs["llmcost.cost.input"] == cost("0.5")  # 200_000 x 2.50
    assert attrs["llmcost.cost.cache_read"] == cost("0.0125")  # 50_000 x 0.25
    assert attrs["llmcost.cost.output"] == cost("0.015")  # 1000 x 15
    assert attrs["gen_ai.usage.cost.amount"] == cost("0.5275")


def test_exactly_200k_prompt_stays_at_the_base_table(otel: Otel, sim: Simulator, gem: genai.Client) -> None:
    sim.set_rule("gemini-2.5-pro", UsageRule(prompt_tokens=200_000, completion_tokens=1000))
    gem.models.generate_content(model="gemini-2.5-pro", contents="a long document")
    attrs = only_span(otel).attributes or {}
    assert "llmcost.pricing.long_context" not in attrs
    assert attrs["gen_ai.usage.cost.amount"] == cost("0.26")  # 200_000 x 1.25 + 1000 x 10


def test_max_tokens_truncation_flag(otel: Otel, sim: Simulator, gem: genai.Client) -> None:
    sim.set_rule("gemini-2.5-flash", UsageRule(prompt_tokens=10))
    config = types.GenerateContentConfig(max_output_tokens=6)
    gem.models.generate_content(model="gemini-2.5-flash", contents="hi", config=config)
    attrs = only_span(otel).attributes or {}
    assert attrs["gen_ai.request.max_tokens"] == 6
    assert attrs["gen_ai.response.finish_reasons"] == ("MAX_TOKENS",)
    assert attrs["llmcost.response.truncated"] is True
    assert attrs["gen_ai.usage.output_tokens"] == 6
    assert "llmcost.response.max_tokens_exceeded" not in attrs


@pytest.mark.parametrize(("cap", "exceeded"), [(10, True), (25, False)])
def test_max_tokens_exceeded_compares_candidates_only(
    otel: Otel, sim: Simulator, gem: genai.Client, cap: int, exceeded: bool
) -> None:
    # 20 candidates + 30 thoughts: maxOutputTokens caps the candidates, thinking has its own budget.
    rule = UsageRule(prompt_tokens=10, completion_tokens=50, reasoning_tokens=30, ignore_max_tokens=True)
    sim.set_rule("gemini-2.5-flash", rule)
    config: types.GenerateContentConfigDict = {"max_output_tokens": cap}  # a dict config works the same
    gem.models.generate_content(model="gemini-2.5-flash", contents="hi", config=config)
    attrs = only_span(otel).attributes or {}
    assert attrs["gen_ai.request.max_tokens"] == cap
    assert attrs.get("llmcost.response.max_tokens_exceeded") is (True if exceeded else None)
    assert "llmcost.response.truncated" not in attrs


def test_flex_service_tier_priced_at_flex(otel: Otel, sim: Simulator, gem: genai.Client) -> None:
    sim.set_rule("gemini-2.5-*", RULE)
    config = types.GenerateContentConfig(service_tier=types.ServiceTier.FLEX)
    gem.models.generate_content(model="gemini-2.5-flash", contents="hi", config=config)
    attrs = only_span(otel).attributes or {}
    assert attrs["gen_ai.request.service_tier"] == "flex"
    assert attrs["llmcost.pricing.tier"] == "flex"
    assert attrs["gen_ai.usage.cost.amount"] == cost("0.00011962")  # 176 x .15 + 1024 x .03 + 50 x 1.25


def test_raw_http_response_config_still_counted(otel: Otel, sim: Simulator, gem: genai.Client) -> None:
    sim.set_rule("gemini-2.5-*", RULE)
    config = types.GenerateContentConfig(should_return_http_response=True)
    response = gem.models.generate_content(model="gemini-2.5-flash", contents="hi", config=config)
    assert response.usage_metadata is None and response.sdk_http_response is not None
    attrs = only_span(otel).attributes or {}
    assert attrs["gen_ai.response.model"] == "gemini-2.5-flash"
    assert attrs["gen_ai.response.finish_reasons"] == ("STOP",)
    assert attrs["gen_ai.usage.cost.amount"] == float(FLASH_COST)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_rate_limit_error_reaches_the_app_unchanged(
    otel: Otel, sim: Simulator, gem: genai.Client, mode: str
) -> None:
    sim.inject_error(429, provider="gemini")

    async def run() -> None:
        try:
            await gem.aio.models.generate_content(model="gemini-2.5-flash", contents="hi")
        finally:
            await gem.aio.aclose()

    def call() -> None:
        if mode == "sync":
            gem.models.generate_content(model="gemini-2.5-flash", contents="hi")
        else:
            asyncio.run(run())

    with pytest.raises(errors.ClientError) as info:
        call()
    assert type(info.value) is errors.ClientError
    assert (info.value.code, info.value.status) == (429, "RESOURCE_EXHAUSTED")
    span = only_span(otel)
    assert span.status.status_code is StatusCode.ERROR
    attrs = span.attributes or {}
    assert attrs["error.type"] == "ClientError"
    assert "gen_ai.usage.input_tokens" not in attrs and "gen_ai.usage.cost.amount" not in attrs


def test_vertex_client_is_vertex_ai(
    otel: Otel, canned: Canned, canned_client: Callable[..., genai.Client]
) -> None:
    canned.add_json(
        {
            "candidates": [{"content": {"role": "model", "parts": [{"text": "ok"}]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 100, "candidatesTokenCount": 10, "totalTokenCount": 110},
            "modelVersion": "gemini-2.5-flash",
            "responseId": "vertex-1",
        }
    )
    client = canned_client(vertex=True)
    client.models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert canned.requests[0].url.path == "/v1beta1/publishers/google/models/gemini-2.5-flash:generateContent"
    attrs = only_span(otel).attributes or {}
    assert attrs["gen_ai.provider.name"] == "gcp.vertex_ai"
    assert (attrs["server.address"], attrs["server.port"]) == ("us-central1-aiplatform.googleapis.com", 443)
    assert attrs["llmcost.pricing.model"] == "gcp.vertex_ai/gemini-2.5-flash"
    assert attrs["gen_ai.usage.cost.amount"] == cost("0.000055")  # 100 x 0.30 + 10 x 2.50


def test_response_without_usage_is_estimated(
    otel: Otel, canned: Canned, canned_client: Callable[..., genai.Client]
) -> None:
    canned.add_json(answer("Hello there", usage=None))
    canned_client().models.generate_content(model="gemini-2.5-flash", contents="hi")
    attrs = only_span(otel).attributes or {}
    assert attrs["llmcost.usage.estimated"] is True
    assert attrs["gen_ai.usage.input_tokens"] == 3 + (3 + 1) + len(
        ENC.encode("hi")
    )  # prime, per message + role, text
    assert attrs["gen_ai.usage.output_tokens"] == len(ENC.encode("Hello there"))


def test_per_request_base_url_is_the_server(otel: Otel, sim: Simulator) -> None:
    client = genai.Client(api_key="test", http_options=types.HttpOptions(base_url="http://unused.invalid"))
    config = types.GenerateContentConfig(http_options=types.HttpOptions(base_url=sim.url))
    client.models.generate_content(model="gemini-2.5-flash", contents="hi", config=config)
    attrs = only_span(otel).attributes or {}
    assert (attrs["server.address"], attrs["server.port"]) == ("127.0.0.1", sim.port)


def test_no_content_on_spans_by_default(otel: Otel, gem: genai.Client) -> None:
    config = types.GenerateContentConfig(system_instruction="Be brief.")
    gem.models.generate_content(model="gemini-2.5-flash", contents="secret prompt", config=config)
    attrs = only_span(otel).attributes or {}
    assert not {"gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions"} & set(attrs)
    assert not any("secret" in str(v) for v in attrs.values())


def test_budget_downgrade_sends_the_cheaper_model(otel: Otel, sim: Simulator, gem: genai.Client) -> None:
    class Downgrade:
        def before(self, call):  # type: ignore[no-untyped-def]
            call.model_override = "gemini-2.5-flash-lite"

        def after(self, call):  # type: ignore[no-untyped-def]
            pass

    instrumentor = LLMCostInstrumentor()
    assert instrumentor.telemetry is not None
    instrumentor.telemetry.guard = Downgrade()  # type: ignore[assignment]
    gem.models.generate_content(model="gemini-2.5-pro", contents="hi")
    assert sim.requests[0].path == "/v1/models/gemini-2.5-flash-lite:generateContent"
    span = only_span(otel)
    assert span.name == "generate_content gemini-2.5-flash-lite"
    attrs = span.attributes or {}
    assert attrs["gen_ai.request.model"] == "gemini-2.5-flash-lite"
    assert attrs["llmcost.budget.downgraded_from"] == "gemini-2.5-pro"
