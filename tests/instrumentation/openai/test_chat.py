"""chat.completions.create / parse (not streamed): attributes, exact cost, flags, errors, endpoints."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletion, ParsedChatCompletion
from opentelemetry.trace import SpanKind, StatusCode

from otel_llmcost.instrumentation import LLMCostInstrumentor
from otel_llmcost.pricing import Pricer
from otel_llmcost.pricing._overrides import Overrides
from otel_llmcost.simulator import Simulator, UsageRule
from tests.instrumentation.conftest import Otel

from .conftest import (
    CACHED_RULE,
    HELLO,
    MINI_CACHED,
    MINI_IN,
    MINI_OUT,
    async_client,
    attrs,
    body,
    mini_cost,
    only_span,
    routed_http,
)


def test_create_records_every_attribute_and_exact_cost(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI
) -> None:
    sim.set_rule("gpt-4o-mini", CACHED_RULE)
    result = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, max_completion_tokens=100)

    assert type(result) is ChatCompletion
    span = only_span(otel)
    assert span.name == "chat gpt-4o-mini"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    a = attrs(span)
    version = a.pop("llmcost.pricing.version")
    assert isinstance(version, str) and version
    assert isinstance(a.pop("llmcost.prompt.fingerprint"), str)
    # 176 uncached + 1024 cached input; 20 visible + 30 reasoning output, at gpt-4o-mini list prices.
    assert a == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.request.max_tokens": 100,
        "server.address": "127.0.0.1",
        "server.port": sim.port,
        "gen_ai.response.model": "gpt-4o-mini",
        "gen_ai.response.id": result.id,
        "gen_ai.response.finish_reasons": ("stop",),
        "openai.response.service_tier": "default",
        "gen_ai.usage.input_tokens": 1200,
        "gen_ai.usage.output_tokens": 50,
        "gen_ai.usage.cache_read.input_tokens": 1024,
        "gen_ai.usage.reasoning.output_tokens": 30,
        "gen_ai.usage.cost.amount": mini_cost(176, 1024, 50),
        "gen_ai.usage.cost.currency": "USD",
        "gen_ai.usage.cost.source": "local",
        "llmcost.cost.input": float(176 * MINI_IN),
        "llmcost.cost.cache_read": float(1024 * MINI_CACHED),
        "llmcost.cost.output": float(20 * MINI_OUT),
        "llmcost.cost.reasoning": float(30 * MINI_OUT),
        "llmcost.pricing.model": "openai/gpt-4o-mini",
    }
    assert a["gen_ai.usage.cost.amount"] == float(Decimal("0.0001332"))


def test_async_create_is_priced_the_same(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator
) -> None:
    sim.set_rule("gpt-4o-mini", CACHED_RULE)

    async def run() -> ChatCompletion:
        async with async_client(sim) as client:
            return await client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)

    result = asyncio.run(run())
    assert type(result) is ChatCompletion
    a = attrs(only_span(otel))
    assert a["gen_ai.response.id"] == result.id
    assert (a["gen_ai.usage.input_tokens"], a["gen_ai.usage.output_tokens"]) == (1200, 50)
    assert a["gen_ai.usage.cost.amount"] == mini_cost(176, 1024, 50)


def test_parse_sync_and_async_one_span_each(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator
) -> None:
    sim.set_rule("gpt-4o-mini", UsageRule(prompt_tokens=300, completion_tokens=40))
    with openai.OpenAI(base_url=sim.openai_base_url, api_key="test", max_retries=0) as client:
        parsed = client.chat.completions.parse(model="gpt-4o-mini", messages=HELLO)

    async def run() -> Any:
        async with async_client(sim) as aclient:
            return await aclient.chat.completions.parse(model="gpt-4o-mini", messages=HELLO)

    aparsed = asyncio.run(run())
    assert isinstance(parsed, ParsedChatCompletion) and isinstance(aparsed, ParsedChatCompletion)
    spans = otel.genai_spans()
    assert [s.name for s in spans] == ["chat gpt-4o-mini", "chat gpt-4o-mini"]
    for span, result in zip(spans, (parsed, aparsed), strict=True):
        a = attrs(span)
        assert a["gen_ai.response.id"] == result.id
        assert a["gen_ai.usage.cost.amount"] == mini_cost(300, 0, 40)
        assert "llmcost.request.streaming" not in a


def test_parse_length_error_is_raised_and_still_priced(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator
) -> None:
    """parse raises LengthFinishReasonError for a completion cut at max_tokens — billed anyway."""
    sim.set_rule("gpt-4o-mini", UsageRule(prompt_tokens=300, completion_tokens=40))
    with (
        openai.OpenAI(base_url=sim.openai_base_url, api_key="test", max_retries=0) as client,
        pytest.raises(openai.LengthFinishReasonError) as err,
    ):
        client.chat.completions.parse(model="gpt-4o-mini", messages=HELLO, max_completion_tokens=5)
    assert err.value.completion.usage is not None
    a = attrs(only_span(otel))
    assert a["error.type"] == "LengthFinishReasonError"
    assert a["gen_ai.response.finish_reasons"] == ("length",)
    assert (a["gen_ai.usage.input_tokens"], a["gen_ai.usage.output_tokens"]) == (300, 5)
    assert a["gen_ai.usage.cost.amount"] == mini_cost(300, 0, 5)
    assert a["llmcost.response.truncated"] is True


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_rate_limit_reaches_the_app_unchanged(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, mode: str
) -> None:
    sim.inject_error(429)

    async def arun() -> None:
        async with async_client(sim) as aclient:
            await aclient.chat.completions.create(model="gpt-4o-mini", messages=HELLO)

    def run() -> None:
        if mode == "async":
            asyncio.run(arun())
            return
        with openai.OpenAI(base_url=sim.openai_base_url, api_key="test", max_retries=0) as client:
            client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)

    with pytest.raises(openai.RateLimitError) as caught:
        run()
    assert caught.value.status_code == 429
    span = only_span(otel)
    assert span.status.status_code is StatusCode.ERROR
    a = attrs(span)
    assert a["error.type"] == "RateLimitError"
    assert "gen_ai.usage.input_tokens" not in a and "gen_ai.usage.cost.amount" not in a


def test_output_beyond_max_tokens_is_flagged(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI
) -> None:
    sim.set_rule("gpt-4o-mini", UsageRule(prompt_tokens=10, completion_tokens=50, ignore_max_tokens=True))
    client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, max_tokens=10)
    a = attrs(only_span(otel))
    assert a["gen_ai.request.max_tokens"] == 10
    assert a["gen_ai.usage.output_tokens"] == 50
    assert a["llmcost.response.max_tokens_exceeded"] is True
    assert "llmcost.response.truncated" not in a


def test_length_finish_reason_is_flagged_truncated(
    otel: Otel, instrumented: LLMCostInstrumentor, client: openai.OpenAI
) -> None:
    result = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, max_completion_tokens=5)
    assert result.choices[0].finish_reason == "length"
    a = attrs(only_span(otel))
    assert a["gen_ai.response.finish_reasons"] == ("length",)
    assert a["llmcost.response.truncated"] is True
    assert a["gen_ai.usage.output_tokens"] == 5
    assert "llmcost.response.max_tokens_exceeded" not in a


def test_service_tier_in_request_and_response_prices_the_tier(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI
) -> None:
    sim.set_rule("gpt-4o-mini", UsageRule(prompt_tokens=1000, completion_tokens=100))
    client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, service_tier="priority")
    a = attrs(only_span(otel))
    assert a["gen_ai.request.service_tier"] == "priority"
    assert a["openai.response.service_tier"] == "priority"
    assert a["llmcost.pricing.tier"] == "priority"
    # priority: input $0.25, output $1 per million
    assert a["gen_ai.usage.cost.amount"] == float(1000 * Decimal("0.25e-6") + 100 * Decimal("1e-6"))


def _azure(sim: Simulator, api_version: str = "2024-10-21") -> openai.AzureOpenAI:
    return openai.AzureOpenAI(
        azure_endpoint="https://contoso.openai.azure.com",
        api_version=api_version,
        api_key="azure-key",
        max_retries=0,
        http_client=routed_http(sim),
    )


def test_azure_deployment_name_is_unpriced_unless_mapped(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator
) -> None:
    sim.set_rule("prod-chat", UsageRule(prompt_tokens=1000, completion_tokens=100))
    with _azure(sim) as azure:
        azure.chat.completions.create(model="prod-chat", messages=HELLO)
    a = attrs(only_span(otel))
    assert a["gen_ai.provider.name"] == "azure.ai.openai"
    assert (a["server.address"], a["server.port"]) == ("contoso.openai.azure.com", 443)
    assert a["gen_ai.request.model"] == "prod-chat"
    assert a["llmcost.cost.unpriced"] is True
    assert "gen_ai.usage.cost.amount" not in a
    assert a["gen_ai.usage.input_tokens"] == 1000
    assert "azure-key" not in repr(a)


@pytest.mark.parametrize(
    "instrumentor_kwargs", [{"pricer": Pricer(overrides=Overrides(deployments={"prod-chat": "gpt-4o-mini"}))}]
)
def test_azure_deployment_mapped_by_overrides_is_priced(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator
) -> None:
    sim.set_rule("prod-chat", UsageRule(prompt_tokens=1000, completion_tokens=100))
    with _azure(sim) as azure:
        azure.chat.completions.create(model="prod-chat", messages=HELLO)
    a = attrs(only_span(otel))
    assert a["gen_ai.provider.name"] == "azure.ai.openai"
    assert a["llmcost.pricing.model"] == "azure.ai.openai/gpt-4o-mini"
    assert a["gen_ai.usage.cost.amount"] == mini_cost(1000, 0, 100)


@pytest.mark.parametrize(
    ("api_version", "injected"), [("2024-10-21", True), ("2024-06-01", False), ("preview", True)]
)
def test_azure_include_usage_only_on_api_versions_that_accept_it(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, api_version: str, injected: bool
) -> None:
    with _azure(sim, api_version) as azure:
        chunks = list(azure.chat.completions.create(model="prod-chat", messages=HELLO, stream=True))
    assert ("stream_options" in body(sim)) is injected
    assert all(chunk.choices for chunk in chunks)
    assert (attrs(only_span(otel)).get("llmcost.usage.estimated") is True) is not injected


@pytest.mark.parametrize(
    ("base_url", "provider"),
    [
        ("https://api.groq.com/openai/v1", "groq"),
        ("https://api.x.ai/v1", "x_ai"),
        ("https://api.deepseek.com", "deepseek"),
        ("http://localhost:8000/v1", "vllm"),
        ("https://llm.internal.example/v1", "openai"),
    ],
)
def test_provider_follows_the_base_url(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, base_url: str, provider: str
) -> None:
    with openai.OpenAI(base_url=base_url, api_key="k", max_retries=0, http_client=routed_http(sim)) as other:
        other.chat.completions.create(model="some-model", messages=HELLO)
    assert attrs(only_span(otel))["gen_ai.provider.name"] == provider


def test_a_new_base_url_on_the_same_client_is_seen(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator
) -> None:
    # The endpoint is cached per base URL object: assigning a new URL must not reuse the old one.
    with openai.OpenAI(
        base_url="https://api.groq.com/openai/v1", api_key="k", max_retries=0, http_client=routed_http(sim)
    ) as other:
        other.chat.completions.create(model="some-model", messages=HELLO)
        other.base_url = "https://api.x.ai/v1"  # type: ignore[assignment]
        other.chat.completions.create(model="some-model", messages=HELLO)
    assert [attrs(s)["gen_ai.provider.name"] for s in otel.genai_spans()] == ["groq", "x_ai"]
    assert [attrs(s)["server.address"] for s in otel.genai_spans()] == ["api.groq.com", "api.x.ai"]


def test_mistral_stream_gets_no_injection(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator
) -> None:
    with openai.OpenAI(
        base_url="https://api.mistral.ai/v1", api_key="k", max_retries=0, http_client=routed_http(sim)
    ) as mistral:
        list(mistral.chat.completions.create(model="mistral-small-latest", messages=HELLO, stream=True))
    assert "stream_options" not in body(sim)
    a = attrs(only_span(otel))
    assert a["gen_ai.provider.name"] == "mistral_ai"
    assert a["llmcost.usage.estimated"] is True


@pytest.mark.parametrize("instrumentor_kwargs", [{"capture_content": True}])
def test_content_is_recorded_only_when_captured(
    otel: Otel, instrumented: LLMCostInstrumentor, client: openai.OpenAI
) -> None:
    result = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    a = attrs(only_span(otel))
    assert a["gen_ai.input.messages"] == '[{"role":"user","parts":[{"type":"text","content":"hello"}]}]'
    text = result.choices[0].message.content
    assert a["gen_ai.output.messages"] == (
        '[{"role":"assistant","parts":[{"type":"text","content":"'
        + str(text)
        + '"}],"finish_reason":"stop"}]'
    )


def test_content_is_not_recorded_by_default(
    otel: Otel, instrumented: LLMCostInstrumentor, client: openai.OpenAI
) -> None:
    client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    a = attrs(only_span(otel))
    assert "gen_ai.input.messages" not in a and "gen_ai.output.messages" not in a
    assert "hello" not in repr(a)


def test_generator_messages_are_not_consumed(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI
) -> None:
    client.chat.completions.create(model="gpt-4o-mini", messages=(m for m in HELLO))
    assert body(sim)["messages"] == HELLO
    assert attrs(only_span(otel))["gen_ai.usage.input_tokens"] > 0
