"""embeddings.create and the legacy completions.create, sync, async, stream, error."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import openai
import pytest
from openai.types import Completion, CreateEmbeddingResponse
from opentelemetry.trace import StatusCode

from otel_llmcost.instrumentation import LLMCostInstrumentor
from otel_llmcost.instrumentation._tokens import count_tokens
from otel_llmcost.simulator import Simulator, UsageRule
from tests.instrumentation.conftest import Otel

from .conftest import async_client, attrs, body, only_span, usage_of

EMBED_IN = Decimal("0.02e-6")  # text-embedding-3-small, USD per token
INSTRUCT_IN, INSTRUCT_OUT = Decimal("1.5e-6"), Decimal("2e-6")  # gpt-3.5-turbo-instruct


def test_embeddings(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI
) -> None:
    sim.set_rule("text-embedding-3-small", UsageRule(prompt_tokens=1000))
    result = client.embeddings.create(model="text-embedding-3-small", input=["hello", "world"])
    assert type(result) is CreateEmbeddingResponse and len(result.data) == 2
    span = only_span(otel)
    a = attrs(span)
    assert span.name == "embeddings text-embedding-3-small"
    assert a["gen_ai.operation.name"] == "embeddings"
    assert a["gen_ai.provider.name"] == "openai"
    assert a["gen_ai.response.model"] == "text-embedding-3-small"
    assert usage_of(span) == (1000, 0)
    assert a["gen_ai.usage.cost.amount"] == float(1000 * EMBED_IN)
    assert "llmcost.request.streaming" not in a


def test_async_embeddings_with_token_ids(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator
) -> None:
    async def run() -> CreateEmbeddingResponse:
        async with async_client(sim) as client:
            return await client.embeddings.create(model="text-embedding-3-small", input=[[1, 2, 3], [4, 5]])

    assert len(asyncio.run(run()).data) == 2
    a = attrs(only_span(otel))
    assert a["gen_ai.usage.input_tokens"] == 5
    assert a["gen_ai.usage.cost.amount"] == float(5 * EMBED_IN)


def test_embeddings_error(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI
) -> None:
    sim.inject_error(500)
    with pytest.raises(openai.InternalServerError):
        client.embeddings.create(model="text-embedding-3-small", input="hello")
    span = only_span(otel)
    assert span.status.status_code is StatusCode.ERROR
    assert attrs(span)["error.type"] == "InternalServerError"


def test_legacy_completion(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI
) -> None:
    sim.set_rule("gpt-3.5-turbo-instruct", UsageRule(prompt_tokens=100, completion_tokens=20))
    result = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say hello", max_tokens=50)
    assert type(result) is Completion
    span = only_span(otel)
    a = attrs(span)
    assert span.name == "text_completion gpt-3.5-turbo-instruct"
    assert a["gen_ai.operation.name"] == "text_completion"
    assert a["gen_ai.request.max_tokens"] == 50
    assert a["gen_ai.response.id"] == result.id
    assert a["gen_ai.response.finish_reasons"] == ("stop",)
    assert usage_of(span) == (100, 20)
    assert a["gen_ai.usage.cost.amount"] == float(100 * INSTRUCT_IN + 20 * INSTRUCT_OUT)


def test_legacy_stream_hides_the_injected_usage_chunk(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI
) -> None:
    sim.set_rule("gpt-3.5-turbo-instruct", UsageRule(prompt_tokens=100))
    chunks = list(client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say hello", stream=True))
    assert body(sim)["stream_options"] == {"include_usage": True}
    assert all(chunk.choices and chunk.usage is None for chunk in chunks)
    assert chunks[-1].choices[0].finish_reason == "length"  # the API's default max_tokens is 16
    a = attrs(only_span(otel))
    assert a["gen_ai.response.finish_reasons"] == ("length",)
    assert a["llmcost.response.truncated"] is True
    assert usage_of(only_span(otel)) == (100, 16)
    assert a["gen_ai.usage.cost.amount"] == float(100 * INSTRUCT_IN + 16 * INSTRUCT_OUT)


@pytest.mark.parametrize("instrumentor_kwargs", [{"include_usage": False}])
def test_async_legacy_stream_estimated_without_injection(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator
) -> None:
    async def run() -> str:
        async with async_client(sim) as client:
            stream = await client.completions.create(
                model="gpt-3.5-turbo-instruct", prompt="Say hello", stream=True
            )
            return "".join([c.choices[0].text async for c in stream])

    text = asyncio.run(run())
    assert "stream_options" not in body(sim)
    a = attrs(only_span(otel))
    assert a["llmcost.usage.estimated"] is True
    expected_in = count_tokens("Say hello", "gpt-3.5-turbo-instruct")  # no chat framing
    assert usage_of(only_span(otel)) == (expected_in, count_tokens(text, "gpt-3.5-turbo-instruct"))


def test_legacy_error(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI
) -> None:
    sim.inject_error(400, message="bad prompt")
    with pytest.raises(openai.BadRequestError, match="bad prompt"):
        client.completions.create(model="gpt-3.5-turbo-instruct", prompt="hi", stream=True)
    span = only_span(otel)
    assert span.status.status_code is StatusCode.ERROR
    assert attrs(span)["error.type"] == "BadRequestError"
    assert "stream_options" in body(sim)
