"""with_raw_response and with_streaming_response: the SDK's own objects, priced once, read lazily."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import openai
from openai._legacy_response import LegacyAPIResponse
from openai._response import APIResponse, AsyncAPIResponse
from openai.types import CreateEmbeddingResponse
from openai.types.chat import ChatCompletion
from openai.types.responses import Response

from otel_llmcost.instrumentation import LLMCostInstrumentor
from otel_llmcost.instrumentation._streams import AsyncStreamProxy, SyncStreamProxy
from otel_llmcost.instrumentation._tokens import count_message_tokens
from otel_llmcost.simulator import Simulator
from tests.instrumentation.conftest import Otel

from .conftest import CACHED_RULE, HELLO, async_client, attrs, body, mini_cost, only_span, usage_of


def _exact(otel: Otel) -> None:
    span = only_span(otel)
    assert usage_of(span) == (1200, 50)
    assert attrs(span)["gen_ai.usage.cost.amount"] == mini_cost(176, 1024, 50)
    assert "llmcost.usage.estimated" not in attrs(span)


def test_raw_response_is_the_sdk_object_priced_once(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI
) -> None:
    sim.set_rule("gpt-4o-mini", CACHED_RULE)
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=HELLO)
    assert type(raw) is LegacyAPIResponse
    assert raw.headers["x-request-id"].startswith("req_sim")
    parsed = raw.parse()
    assert type(parsed) is ChatCompletion and raw.parse() is parsed
    _exact(otel)
    assert attrs(only_span(otel))["gen_ai.response.id"] == parsed.id


def test_raw_stream_parses_to_our_proxy_without_injection(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI
) -> None:
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=HELLO, stream=True)
    assert type(raw) is LegacyAPIResponse
    stream = raw.parse()
    assert isinstance(stream, SyncStreamProxy) and isinstance(stream, openai.Stream)
    assert raw.parse() is stream
    chunks = list(stream)
    assert len(chunks) == 22
    # The app may read a raw body itself: no extra chunk is ever asked for there.
    assert "stream_options" not in body(sim)
    span = only_span(otel)
    assert attrs(span)["llmcost.usage.estimated"] is True
    assert usage_of(span)[0] == count_message_tokens(["hello"], "gpt-4o-mini")


def test_raw_stream_with_caller_usage_is_exact(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI
) -> None:
    sim.set_rule("gpt-4o-mini", CACHED_RULE)
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(raw.parse())
    assert chunks[-1].usage is not None
    _exact(otel)


def test_streaming_response_is_priced_when_the_app_reads_it(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI
) -> None:
    sim.set_rule("gpt-4o-mini", CACHED_RULE)
    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=HELLO
    ) as response:
        assert type(response) is APIResponse
        assert otel.genai_spans() == []  # the body is not read until the app reads it
        assert not response.is_closed
        completion = response.parse()
        assert type(completion) is ChatCompletion
        _exact(otel)
        assert response.parse() is completion
    _exact(otel)


def test_streaming_response_read_as_json(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI
) -> None:
    sim.set_rule("gpt-4o-mini", CACHED_RULE)
    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=HELLO
    ) as response:
        data: Any = response.json()
    assert data["usage"]["prompt_tokens"] == 1200
    _exact(otel)


def test_streaming_response_closed_unread_estimates_the_prompt(
    otel: Otel, instrumented: LLMCostInstrumentor, client: openai.OpenAI
) -> None:
    with client.chat.completions.with_streaming_response.create(model="gpt-4o-mini", messages=HELLO):
        pass
    span = only_span(otel)
    assert attrs(span)["llmcost.usage.estimated"] is True
    assert usage_of(span) == (count_message_tokens(["hello"], "gpt-4o-mini"), 0)


def test_streaming_response_of_a_stream_parses_to_our_proxy(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI
) -> None:
    sim.set_rule("gpt-4o-mini", CACHED_RULE)
    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=HELLO, stream=True, stream_options={"include_usage": True}
    ) as response:
        stream = response.parse()
        assert isinstance(stream, SyncStreamProxy)
        for _ in stream:
            break
    _ = stream  # left early, still referenced: closing the response ended the span
    span = only_span(otel)
    assert attrs(span)["llmcost.usage.estimated"] is True


def test_raw_embeddings_and_responses(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI
) -> None:
    raw = client.embeddings.with_raw_response.create(model="text-embedding-3-small", input="hello")
    assert type(raw.parse()) is CreateEmbeddingResponse
    with client.responses.with_streaming_response.create(model="o4-mini", input="hello") as response:
        parsed = response.parse()
        assert type(parsed) is Response
    embed, resp = otel.genai_spans()
    assert embed.name == "embeddings text-embedding-3-small"
    assert attrs(resp)["gen_ai.response.id"] == parsed.id
    assert parsed.usage is not None and usage_of(resp) == (
        parsed.usage.input_tokens,
        parsed.usage.output_tokens,
    )


def test_async_raw_and_streaming_response(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator
) -> None:
    sim.set_rule("gpt-4o-mini", CACHED_RULE)

    async def run() -> None:
        async with async_client(sim) as client:
            raw = await client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=HELLO)
            assert type(raw) is LegacyAPIResponse and type(raw.parse()) is ChatCompletion
            async with client.chat.completions.with_streaming_response.create(
                model="gpt-4o-mini", messages=HELLO
            ) as response:
                assert type(response) is AsyncAPIResponse
                assert type(await response.parse()) is ChatCompletion
            raw_stream = await client.chat.completions.with_raw_response.create(
                model="gpt-4o-mini", messages=HELLO, stream=True, stream_options={"include_usage": True}
            )
            stream = raw_stream.parse()
            assert isinstance(stream, AsyncStreamProxy)
            assert [c async for c in stream][-1].usage is not None
            async with client.chat.completions.with_streaming_response.create(
                model="gpt-4o-mini", messages=HELLO
            ):
                pass

    asyncio.run(run())
    spans = otel.genai_spans()
    assert len(spans) == 4
    for span in spans[:3]:
        assert usage_of(span) == (1200, 50)
        assert attrs(span)["gen_ai.usage.cost.amount"] == mini_cost(176, 1024, 50)
    assert attrs(spans[3])["llmcost.usage.estimated"] is True


def test_raw_stream_unparsed_ends_when_closed_or_collected(
    otel: Otel, instrumented: LLMCostInstrumentor, client: openai.OpenAI
) -> None:
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=HELLO, stream=True)
    raw.http_response.close()  # the body listener hears the close: the span ends now
    closed = only_span(otel)
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=HELLO, stream=True)
    assert len(otel.genai_spans()) == 1
    del raw
    gc.collect()
    collected = otel.genai_spans()[1]
    for span in (closed, collected):
        assert attrs(span)["llmcost.usage.estimated"] is True
        assert usage_of(span) == (count_message_tokens(["hello"], "gpt-4o-mini"), 0)
