"""Raw responses with an unread body: with_streaming_response, and with_raw_response with stream=True.

One priced span of ours per call (the SDK's own span suppressed), exact usage however the app
reads the body, an estimate only when it never does, and the app's objects and bytes unchanged.
"""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import anthropic
import httpx2
import pytest
from anthropic._response import APIResponse, AsyncAPIResponse
from anthropic.types import Message
from anthropic.types.beta import BetaMessage

from otel_llmcost.exceptions import BudgetExceededError
from otel_llmcost.instrumentation._tokens import count_tokens
from otel_llmcost.instrumentation.anthropic import _raw, _streams
from otel_llmcost.simulator import Simulator
from tests.instrumentation.anthropic._support import (
    COST_TOTAL,
    DEPRECATED_MODEL,
    KWARGS,
    MODEL,
    Downgrade,
    assert_cache_scenario,
    only_span,
)
from tests.instrumentation.conftest import Otel

pytestmark = [DEPRECATED_MODEL, pytest.mark.usefixtures("instrumented")]

# Our estimate of the prompt "Say hello.": 3 priming tokens, 3 + 1 for the message and its role.
PROMPT_ESTIMATE = 3 + (3 + 1) + count_tokens("Say hello.", MODEL)

JSON_READERS: dict[str, Callable[[Any], Any]] = {
    "parse": lambda r: r.parse().usage.input_tokens,
    "read": lambda r: json.loads(r.read())["usage"]["input_tokens"],
    "json": lambda r: r.json()["usage"]["input_tokens"],
    "text": lambda r: json.loads(r.text())["usage"]["input_tokens"],
    "iter_bytes": lambda r: json.loads(b"".join(r.iter_bytes(7)))["usage"]["input_tokens"],
    "iter_text": lambda r: json.loads("".join(r.iter_text()))["usage"]["input_tokens"],
    "iter_lines": lambda r: json.loads("".join(r.iter_lines()))["usage"]["input_tokens"],
}

SSE_READERS: dict[str, Callable[[Any], Any]] = {
    "parse": lambda r: [e.type for e in r.parse()][-1],
    "read": lambda r: r.read().rstrip().rsplit(b"\n", 1)[-1],
    "text": lambda r: r.text().rstrip().rsplit("\n", 1)[-1],
    "iter_bytes": lambda r: b"".join(r.iter_bytes(5)).rstrip().rsplit(b"\n", 1)[-1],
    "iter_text": lambda r: "".join(r.iter_text(3)).rstrip().rsplit("\n", 1)[-1],
    "iter_lines": lambda r: [line for line in r.iter_lines() if line][-1],
}
SSE_LAST = {"parse": "message_stop"}
LAST_LINE = 'data: {"type":"message_stop"}'


@pytest.mark.parametrize("reader", list(JSON_READERS))
def test_streaming_response_json_exact(reader: str, client: anthropic.Anthropic, otel: Otel) -> None:
    with client.messages.with_streaming_response.create(**KWARGS) as response:
        assert type(response) is APIResponse
        assert otel.genai_spans() == []  # priced when the app reads the body
        assert JSON_READERS[reader](response) == 176

    assert_cache_scenario(only_span(otel))
    assert "iter_bytes" not in vars(response.http_response)  # the response is as the SDK made it


@pytest.mark.parametrize("reader", list(SSE_READERS))
def test_streaming_response_sse_exact(reader: str, client: anthropic.Anthropic, otel: Otel) -> None:
    with client.messages.with_streaming_response.create(**KWARGS, stream=True) as response:
        last = SSE_READERS[reader](response)

    expected = SSE_LAST.get(reader, LAST_LINE)
    assert last == (expected.encode() if isinstance(last, bytes) else expected)
    assert_cache_scenario(only_span(otel), streaming=True)
    (ttfc,) = otel.metrics()["gen_ai.client.operation.time_to_first_chunk"]
    assert ttfc.count == 1


def test_parsed_stream_is_the_sdks_own(client: anthropic.Anthropic, otel: Otel) -> None:
    with client.messages.with_streaming_response.create(**KWARGS, stream=True) as response:
        stream = response.parse()
        assert type(stream) is anthropic.Stream  # no proxy: the bytes are read below it
        assert otel.genai_spans() == []
        events = list(stream)

    assert [e.type for e in events][:2] == ["message_start", "content_block_start"]
    assert_cache_scenario(only_span(otel), streaming=True)
    (cost,) = otel.metrics()["llmcost.client.cost"]
    assert cost.value == float(COST_TOTAL)


def test_raw_response_of_a_stream(client: anthropic.Anthropic, otel: Otel) -> None:
    raw = client.messages.with_raw_response.create(**KWARGS, stream=True)
    assert type(raw) is APIResponse and otel.genai_spans() == []
    with raw.parse() as stream:
        events = list(stream)

    assert events[-1].type == "message_stop"
    assert_cache_scenario(only_span(otel), streaming=True)


def test_beta_streaming_response(client: anthropic.Anthropic, otel: Otel) -> None:
    with client.beta.messages.with_streaming_response.create(**KWARGS) as response:
        message = response.parse()

    assert type(message) is BetaMessage
    assert_cache_scenario(only_span(otel))


def test_async(make_async: Callable[[], anthropic.AsyncAnthropic], otel: Otel) -> None:
    async def run() -> list[Any]:
        async with make_async() as client:
            async with client.messages.with_streaming_response.create(**KWARGS) as r1:
                assert type(r1) is AsyncAPIResponse
                message = await r1.parse()
            async with client.messages.with_streaming_response.create(**KWARGS) as r2:
                lines = [line async for line in r2.iter_lines()]
            async with client.messages.with_streaming_response.create(**KWARGS, stream=True) as r3:
                stream = await r3.parse()
                assert type(stream) is anthropic.AsyncStream
                events = [e.type async for e in stream]
            async with client.beta.messages.with_streaming_response.create(**KWARGS, stream=True) as r4:
                chunks = [chunk async for chunk in r4.iter_bytes()]
            raw = await client.messages.with_raw_response.create(**KWARGS, stream=True)
            async with await raw.parse() as astream:
                raw_events = [e.type async for e in astream]
            async with client.messages.with_streaming_response.create(**KWARGS) as r5:
                body = await r5.read()
            return [message, lines, events, chunks, raw_events, body]

    message, lines, events, chunks, raw_events, body = asyncio.run(run())

    assert type(message) is Message and json.loads("".join(lines))["usage"]["input_tokens"] == 176
    assert events[-1] == raw_events[-1] == "message_stop"
    assert b"".join(chunks).rstrip().endswith(LAST_LINE.encode())
    assert json.loads(body)["id"].startswith("msg_sim")
    spans = otel.genai_spans()
    assert [s.instrumentation_scope.name for s in spans if s.instrumentation_scope] == [
        "otel_llmcost.instrumentation"
    ] * 6
    for span, streaming in zip(spans, [False, False, True, True, True, False], strict=True):
        assert_cache_scenario(span, streaming=streaming)


# --- bodies not read, read in part, dropped ----------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_unread_body_is_estimated_from_the_prompt(
    stream: bool, client: anthropic.Anthropic, otel: Otel
) -> None:
    with client.messages.with_streaming_response.create(**KWARGS, stream=stream):
        pass

    a = only_span(otel).attributes or {}
    assert a["llmcost.usage.estimated"] is True
    assert a["gen_ai.usage.input_tokens"] == PROMPT_ESTIMATE
    assert a["gen_ai.usage.output_tokens"] == 0
    assert a["gen_ai.usage.cost.amount"] == float(Decimal(PROMPT_ESTIMATE) * 3 / 1_000_000)
    assert "error.type" not in a


def test_async_unread_body_is_estimated(
    make_async: Callable[[], anthropic.AsyncAnthropic], otel: Otel
) -> None:
    async def run() -> None:
        async with (
            make_async() as client,
            client.messages.with_streaming_response.create(**KWARGS, stream=True),
        ):
            pass

    asyncio.run(run())
    a = only_span(otel).attributes or {}
    assert a["llmcost.usage.estimated"] is True
    assert a["gen_ai.usage.input_tokens"] == PROMPT_ESTIMATE
    assert a["gen_ai.usage.output_tokens"] == 0


def test_stream_cut_mid_way_records_error_and_known_usage(
    client: anthropic.Anthropic, cache_sim: Simulator, otel: Otel
) -> None:
    cache_sim.config.fail_mid_stream = True
    cache_sim.config.fail_after_chunks = 4  # message_start, block start, ping, one delta
    with (
        client.messages.with_streaming_response.create(**KWARGS, stream=True) as response,
        pytest.raises((httpx2.RemoteProtocolError, anthropic.APIConnectionError)) as caught,
    ):
        list(response.iter_lines())

    span = only_span(otel)
    a = span.attributes or {}
    assert a["error.type"] == type(caught.value).__qualname__
    assert not span.status.is_ok
    assert a["llmcost.usage.estimated"] is True
    assert a["gen_ai.usage.input_tokens"] == 2000
    assert a["gen_ai.usage.output_tokens"] == 1  # the one text delta received


def test_dropped_response_ends_its_span(client: anthropic.Anthropic, otel: Otel) -> None:
    manager = client.messages.with_streaming_response.create(**KWARGS, stream=True)
    response = manager.__enter__()
    del manager, response
    gc.collect()

    a = only_span(otel).attributes or {}
    assert a["llmcost.usage.estimated"] is True
    assert a["gen_ai.usage.input_tokens"] == PROMPT_ESTIMATE


def _event(obj: dict[str, Any]) -> bytes:
    return f"event: {obj['type']}\ndata: {json.dumps(obj, separators=(',', ':'))}\n\n".encode()


START = _event(
    {
        "type": "message_start",
        "message": {
            "id": "msg_r",
            "type": "message",
            "role": "assistant",
            "model": MODEL,
            "content": [],
            "stop_reason": None,
            "usage": {"input_tokens": 10, "cache_read_input_tokens": 90, "output_tokens": 1},
        },
    }
)
BLOCK = _event({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
DELTAS = [
    _event({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}})
    for text in ("Hello there,", " friend.")
]
END = [
    _event({"type": "content_block_stop", "index": 0}),
    _event({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 7}}),
    _event({"type": "message_stop"}),
]
SSE_CHUNKS = [START, BLOCK, *DELTAS, *END]
ERROR_EVENT = _event({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
# 10 input + 90 cache reads at $3 / $0.30 per 1M, 7 output at $15.
SSE_COST = Decimal(10 * 3 + 9 * 3 + 7 * 15) / 1_000_000


def mock_client(chunks: list[bytes], content_type: str = "text/event-stream") -> anthropic.Anthropic:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": content_type}, content=iter(chunks))

    transport = httpx2.MockTransport(handler)
    return anthropic.Anthropic(
        api_key="k", base_url="https://api.anthropic.com", http_client=httpx2.Client(transport=transport)
    )


def test_bytes_unchanged_and_priced_exactly(otel: Otel) -> None:
    with (
        mock_client(SSE_CHUNKS) as client,
        client.messages.with_streaming_response.create(**KWARGS, stream=True) as response,
    ):
        chunks = list(response.iter_bytes())

    assert chunks == SSE_CHUNKS
    a = only_span(otel).attributes or {}
    assert a["gen_ai.usage.input_tokens"] == 100
    assert a["gen_ai.usage.cache_read.input_tokens"] == 90
    assert a["gen_ai.usage.output_tokens"] == 7
    assert a["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert a["gen_ai.usage.cost.amount"] == float(SSE_COST)
    assert "llmcost.usage.estimated" not in a


def test_stream_read_in_part_keeps_the_input_and_estimates_the_output(otel: Otel) -> None:
    with (
        mock_client(SSE_CHUNKS) as client,
        client.messages.with_streaming_response.create(**KWARGS, stream=True) as response,
    ):
        for chunk in response.iter_bytes():
            if chunk == DELTAS[0]:
                break

    a = only_span(otel).attributes or {}
    assert a["llmcost.usage.estimated"] is True
    assert a["gen_ai.usage.input_tokens"] == 100
    assert a["gen_ai.usage.cache_read.input_tokens"] == 90
    assert a["gen_ai.usage.output_tokens"] == count_tokens("Hello there,", MODEL)
    assert a["gen_ai.response.id"] == "msg_r"
    assert "error.type" not in a


@pytest.mark.parametrize("reader", ["parse", "iter_lines"])
def test_error_event(reader: str, otel: Otel) -> None:
    with (
        mock_client([START, ERROR_EVENT]) as client,
        client.messages.with_streaming_response.create(**KWARGS, stream=True) as response,
    ):
        if reader == "parse":
            with pytest.raises(anthropic.APIStatusError) as caught:
                list(response.parse())
            expected = type(caught.value).__qualname__
        else:
            lines = list(response.iter_lines())  # the app sees the event, not an exception
            assert lines[-2].startswith('data: {"type":"error"')
            expected = "APIStatusError"  # what the SDK's Stream raises for it

    span = only_span(otel)
    a = span.attributes or {}
    assert a["error.type"] == expected
    assert not span.status.is_ok
    assert a["gen_ai.usage.input_tokens"] == 100
    assert a["gen_ai.usage.output_tokens"] == 0
    assert a["llmcost.usage.estimated"] is True


# --- our faults, the budget guard, trace context ----------------------------------------------------


def test_our_faults_never_reach_the_app(
    client: anthropic.Anthropic, otel: Otel, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("accounting bug")

    monkeypatch.setattr(_streams.MessageEvents, "on_item", boom)
    monkeypatch.setattr(_raw, "report_message", boom)
    with client.messages.with_streaming_response.create(**KWARGS) as response:
        message = response.parse()
    with client.messages.with_streaming_response.create(**KWARGS, stream=True) as response:
        events = [e.type for e in response.parse()]

    assert type(message) is Message and message.usage.input_tokens == 176
    assert events[-1] == "message_stop"
    spans = otel.genai_spans()  # both ended, both ours
    assert [s.instrumentation_scope.name for s in spans if s.instrumentation_scope] == [
        "otel_llmcost.instrumentation"
    ] * 2
    assert all("error.type" not in (s.attributes or {}) for s in spans)


def test_tap_fault_prices_the_prompt(
    client: anthropic.Anthropic, otel: Otel, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("tap bug")

    monkeypatch.setattr(_raw.BodyTap, "install", boom)
    with client.messages.with_streaming_response.create(**KWARGS) as response:
        message = response.parse()

    assert type(message) is Message
    a = only_span(otel).attributes or {}
    assert a["llmcost.usage.estimated"] is True and a["gen_ai.usage.input_tokens"] == PROMPT_ESTIMATE


@pytest.mark.parametrize("instrumentor_kwargs", [{"guard": Downgrade(to="claude-haiku-4-5")}])
def test_guard_downgrades(
    client: anthropic.Anthropic, cache_sim: Simulator, otel: Otel, instrumentor_kwargs: dict[str, Any]
) -> None:
    with client.messages.with_streaming_response.create(**KWARGS, stream=True) as response:
        response.read()

    assert cache_sim.requests[0].json()["model"] == "claude-haiku-4-5"
    span = only_span(otel)
    a = span.attributes or {}
    assert span.name == "chat claude-haiku-4-5"
    assert a["llmcost.budget.downgraded_from"] == MODEL
    assert a["llmcost.pricing.model"] == "anthropic/claude-haiku-4-5"
    (settled,) = instrumentor_kwargs["guard"].settled
    # Settled with the usage read from the stream (the simulator's default rule for this model).
    assert settled.usage is not None and (settled.usage.output, settled.usage.estimated) == (20, False)
    assert a["gen_ai.usage.output_tokens"] == 20


@pytest.mark.parametrize("instrumentor_kwargs", [{"guard": Downgrade(block=True)}])
def test_guard_blocks_before_anything_is_sent(
    client: anthropic.Anthropic, cache_sim: Simulator, otel: Otel
) -> None:
    with pytest.raises(BudgetExceededError), client.messages.with_streaming_response.create(**KWARGS):
        pass

    assert cache_sim.requests == []
    assert (only_span(otel).attributes or {})["error.type"] == "BudgetExceededError"


def test_trace_context_names_our_span(client: anthropic.Anthropic, cache_sim: Simulator, otel: Otel) -> None:
    with client.messages.with_streaming_response.create(**KWARGS, stream=True) as response:
        response.read()

    ctx = only_span(otel).get_span_context()
    assert cache_sim.requests[0].header("traceparent") == (
        f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{ctx.trace_flags:02x}"
    )
    assert [s.name for s in otel.spans()] == [f"chat {MODEL}"]  # and no SDK span at all
