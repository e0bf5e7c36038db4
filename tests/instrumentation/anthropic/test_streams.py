"""Streams: create(stream=True) and messages.stream() managers, sync and async, stable and beta."""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Callable
from typing import Any

import anthropic
import httpx2
import pytest
from anthropic.lib.streaming import MessageStream, MessageStreamManager

from otel_llmcost.instrumentation._tokens import count_tokens
from otel_llmcost.simulator import Simulator
from tests.instrumentation.anthropic._support import (
    COST_TOTAL,
    DEPRECATED_MODEL,
    KWARGS,
    MODEL,
    assert_cache_scenario,
    only_span,
)
from tests.instrumentation.conftest import Otel

pytestmark = [DEPRECATED_MODEL, pytest.mark.usefixtures("instrumented")]


def test_create_stream_exact(client: anthropic.Anthropic, otel: Otel) -> None:
    stream = client.messages.create(**KWARGS, stream=True)

    assert isinstance(stream, anthropic.Stream)
    assert stream.response.status_code == 200  # helpers of the SDK's stream still work
    assert otel.genai_spans() == []  # the span ends when the stream does
    events = list(stream)

    assert [e.type for e in events][:2] == ["message_start", "content_block_start"]
    assert events[-1].type == "message_stop"
    assert_cache_scenario(only_span(otel), streaming=True)
    metrics = otel.metrics()
    (ttfc,) = metrics["gen_ai.client.operation.time_to_first_chunk"]
    assert ttfc.count == 1 and ttfc.attributes["gen_ai.request.model"] == MODEL
    (cost,) = metrics["llmcost.client.cost"]
    assert cost.value == float(COST_TOTAL)


def test_create_stream_with_block(client: anthropic.Anthropic, otel: Otel) -> None:
    with client.messages.create(**KWARGS, stream=True) as stream:
        for _ in stream:
            pass
    assert_cache_scenario(only_span(otel), streaming=True)


def test_create_stream_async_and_beta(make_async: Callable[[], anthropic.AsyncAnthropic], otel: Otel) -> None:
    async def run() -> None:
        async with make_async() as client:
            stream = await client.messages.create(**KWARGS, stream=True)
            assert isinstance(stream, anthropic.AsyncStream)
            async for _ in stream:
                pass
            beta = await client.beta.messages.create(**KWARGS, stream=True)
            async with beta:
                async for _ in beta:
                    pass

    asyncio.run(run())
    spans = otel.genai_spans()
    assert len(spans) == 2
    for span in spans:
        assert_cache_scenario(span, streaming=True)


@pytest.mark.parametrize("beta", [False, True])
def test_stream_manager_text_stream_and_final_message(
    beta: bool, client: anthropic.Anthropic, cache_sim: Simulator, otel: Otel
) -> None:
    resource = client.beta.messages if beta else client.messages
    manager = resource.stream(**KWARGS)
    if not beta:
        assert type(manager) is MessageStreamManager  # the SDK's own manager
    assert cache_sim.requests == [] and otel.genai_spans() == []  # nothing sent before `with`

    with manager as stream:
        if not beta:
            assert type(stream) is MessageStream
        text = "".join(stream.text_stream)
        final = stream.get_final_message()

    assert final.usage.output_tokens == 50
    assert text == final.content[0].text  # type: ignore[union-attr]
    assert_cache_scenario(only_span(otel), streaming=True)


def test_stream_manager_events_and_until_done(client: anthropic.Anthropic, otel: Otel) -> None:
    with client.messages.stream(**KWARGS) as stream:
        first = next(iter(stream))
        stream.until_done()
        final = stream.get_final_message()
        assert stream.request_id is not None and stream.request_id.startswith("req_sim")

    assert first.type == "message_start"
    assert final.stop_reason == "end_turn"
    assert_cache_scenario(only_span(otel), streaming=True)


@pytest.mark.parametrize("beta", [False, True])
def test_stream_manager_async(
    beta: bool, make_async: Callable[[], anthropic.AsyncAnthropic], otel: Otel
) -> None:
    async def run() -> Any:
        async with make_async() as client:
            resource = client.beta.messages if beta else client.messages
            async with resource.stream(**KWARGS) as stream:
                chunks = [text async for text in stream.text_stream]
                final = await stream.get_final_message()
            return chunks, final

    chunks, final = asyncio.run(run())

    assert "".join(chunks) == final.content[0].text
    assert_cache_scenario(only_span(otel), streaming=True)


def test_stream_manager_never_entered_sends_nothing(
    client: anthropic.Anthropic, cache_sim: Simulator, otel: Otel
) -> None:
    manager = client.messages.stream(**KWARGS)
    del manager
    gc.collect()
    assert cache_sim.requests == []
    assert otel.genai_spans() == []


def test_stream_closed_early_estimates_output(client: anthropic.Anthropic, otel: Otel) -> None:
    with client.messages.stream(**KWARGS) as stream:
        received = []
        for event in stream:
            if event.type == "text":
                received.append(event.text)
            if len(received) == 3:
                break

    a = only_span(otel).attributes or {}
    assert a["llmcost.usage.estimated"] is True
    # Provider-reported input (with its cache split) is kept; the output is what we received.
    assert a["gen_ai.usage.input_tokens"] == 2000
    assert a["gen_ai.usage.cache_read.input_tokens"] == 1024
    assert a["gen_ai.usage.cache_write.input_tokens"] == 800
    assert a["gen_ai.usage.output_tokens"] == count_tokens("".join(received), MODEL)
    assert "gen_ai.response.finish_reasons" not in a
    assert "error.type" not in a
    assert a["gen_ai.response.id"].startswith("msg_sim")  # type: ignore[union-attr]


def test_stream_closed_before_any_event_estimates_prompt(client: anthropic.Anthropic, otel: Otel) -> None:
    stream = client.messages.create(**KWARGS, stream=True)
    stream.close()

    a = only_span(otel).attributes or {}
    assert a["llmcost.usage.estimated"] is True
    assert a["gen_ai.usage.output_tokens"] == 0
    assert a["gen_ai.usage.input_tokens"] == 3 + (3 + 1) + count_tokens(
        "Say hello.", MODEL
    )  # prime, per message + role, text


def test_stream_dropped_ends_span_on_gc(client: anthropic.Anthropic, otel: Otel) -> None:
    stream = client.messages.create(**KWARGS, stream=True)
    next(iter(stream))
    del stream
    gc.collect()

    a = only_span(otel).attributes or {}
    assert a["llmcost.usage.estimated"] is True
    assert a["gen_ai.usage.input_tokens"] == 2000


def test_stream_cut_mid_way_records_error_and_known_usage(
    client: anthropic.Anthropic, cache_sim: Simulator, otel: Otel
) -> None:
    cache_sim.config.fail_mid_stream = True
    cache_sim.config.fail_after_chunks = 4  # message_start, block start, ping, one delta
    manager = client.messages.stream(**KWARGS)
    stream = manager.__enter__()
    with pytest.raises((httpx2.RemoteProtocolError, anthropic.APIConnectionError)) as caught:
        stream.until_done()
    manager.__exit__(None, None, None)

    span = only_span(otel)
    a = span.attributes or {}
    assert a["error.type"] == type(caught.value).__qualname__
    assert not span.status.is_ok
    assert a["llmcost.usage.estimated"] is True
    assert a["gen_ai.usage.input_tokens"] == 2000
    assert a["gen_ai.usage.output_tokens"] == 1  # the one text delta received


def test_stream_error_event(otel: Otel) -> None:
    body = (
        b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_e","type":"message",'
        b'"role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,'
        b'"usage":{"input_tokens":10,"output_tokens":1}}}\n\n'
        b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'
    )

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    transport = httpx2.MockTransport(handler)
    with anthropic.Anthropic(
        api_key="k", base_url="https://api.anthropic.com", http_client=httpx2.Client(transport=transport)
    ) as client:
        stream = client.messages.create(**KWARGS, stream=True)
        with pytest.raises(anthropic.APIStatusError) as caught:
            list(stream)

    a = only_span(otel).attributes or {}
    assert a["error.type"] == type(caught.value).__qualname__
    assert a["gen_ai.usage.input_tokens"] == 10
    assert a["gen_ai.usage.output_tokens"] == 0
    assert a["llmcost.usage.estimated"] is True


def test_async_stream_manager_left_early(
    make_async: Callable[[], anthropic.AsyncAnthropic], otel: Otel
) -> None:
    async def run() -> list[str]:
        received: list[str] = []
        async with make_async() as client, client.messages.stream(**KWARGS) as stream:
            async for text in stream.text_stream:
                received.append(text)
                if len(received) == 2:
                    break
        return received

    received = asyncio.run(run())

    a = only_span(otel).attributes or {}
    assert a["llmcost.usage.estimated"] is True
    assert a["gen_ai.usage.input_tokens"] == 2000
    assert a["gen_ai.usage.output_tokens"] == count_tokens("".join(received), MODEL)


@pytest.mark.parametrize("instrumentor_kwargs", [{"capture_content": True}])
def test_stream_output_content_when_opted_in(client: anthropic.Anthropic, otel: Otel) -> None:
    with client.messages.stream(**KWARGS) as stream:
        text = stream.get_final_text()

    a = only_span(otel).attributes or {}
    assert json.loads(str(a["gen_ai.output.messages"])) == [
        {"role": "assistant", "parts": [{"type": "text", "content": text}], "finish_reason": "end_turn"}
    ]
    assert json.loads(str(a["gen_ai.input.messages"])) == [
        {"role": "user", "parts": [{"type": "text", "content": "Say hello."}]}
    ]
