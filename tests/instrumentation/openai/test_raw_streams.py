"""Raw streams read as bytes, text or lines (not through parse()): priced from the server-sent
events as they pass, the bytes the app reads untouched."""

from __future__ import annotations

import asyncio
import gzip
import json
import random
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from decimal import Decimal
from typing import Any

import httpx2
import openai
import pytest
from openai._streaming import SSEDecoder

from otel_llmcost.instrumentation import LLMCostInstrumentor
from otel_llmcost.instrumentation._tokens import count_message_tokens, count_tokens
from otel_llmcost.instrumentation.openai import _raw_sse
from otel_llmcost.instrumentation.openai._raw_sse import SSEParser
from otel_llmcost.pricing import Pricer
from otel_llmcost.simulator import Simulator
from tests.instrumentation.conftest import Otel

from .conftest import (
    CACHED_RULE,
    HELLO,
    async_client,
    attrs,
    body,
    instrumentation,
    mini_cost,
    only_span,
    raiser,
    usage_of,
)

USAGE = {"include_usage": True}
O4_IN, O4_CACHED, O4_OUT = Decimal("1.1e-6"), Decimal("0.275e-6"), Decimal("4.4e-6")
PROMPT = count_message_tokens(["hello"], "gpt-4o-mini")

#: Every way to read a with_streaming_response body: what the app gets, as bytes.
READERS: dict[str, Callable[[Any], bytes]] = {
    "iter_bytes": lambda r: b"".join(r.iter_bytes()),
    "iter_bytes(7)": lambda r: b"".join(r.iter_bytes(7)),
    "iter_text": lambda r: "".join(r.iter_text()).encode(),
    "iter_lines": lambda r: "\n".join(r.iter_lines()).encode(),
    "read": lambda r: r.read(),
    "text": lambda r: r.text().encode(),
    "http_response.iter_raw": lambda r: b"".join(r.http_response.iter_raw()),
}


def _exact_chat(span: Any) -> None:
    a = attrs(span)
    assert usage_of(span) == (1200, 50)
    assert a["gen_ai.usage.cache_read.input_tokens"] == 1024
    assert a["gen_ai.usage.reasoning.output_tokens"] == 30
    assert a["gen_ai.usage.cost.amount"] == mini_cost(176, 1024, 50)
    assert a["gen_ai.response.finish_reasons"] == ("stop",)
    assert a["gen_ai.response.model"] == "gpt-4o-mini"
    assert str(a["gen_ai.response.id"]).startswith("chatcmpl-sim")
    assert a["openai.response.service_tier"] == "default"
    assert "llmcost.usage.estimated" not in a and "error.type" not in a


def _deltas(payload: bytes) -> str:
    """The content the complete events of (the start of) a chat stream's body carry."""
    text = []
    for event in payload.decode().replace("\r\n", "\n").split("\n\n")[:-1]:
        if event.startswith("data: {"):
            for choice in json.loads(event[6:])["choices"]:
                text.append(choice["delta"].get("content") or "")
    return "".join(text)


def _fixed(sim: Simulator) -> Simulator:
    sim.clock = lambda: 1_700_000_000.0
    sim.set_rule("gpt-4o-mini", CACHED_RULE)
    return sim


@pytest.mark.parametrize("reader", list(READERS))
def test_chat_stream_read_raw_is_exact_and_unchanged(otel: Otel, pricer: Pricer, reader: str) -> None:
    payloads = []
    for instrumented in (False, True):
        with (
            _fixed(Simulator()) as sim,
            openai.OpenAI(base_url=sim.openai_base_url, api_key="test", max_retries=0) as client,
            instrumentation(otel, pricer) if instrumented else nullcontext(),
            client.chat.completions.with_streaming_response.create(
                model="gpt-4o-mini", messages=HELLO, stream=True, stream_options=USAGE
            ) as response,
        ):
            payloads.append(READERS[reader](response))
            assert "stream_options" in body(sim) and body(sim)["stream_options"] == USAGE
    plain, seen = payloads
    assert seen == plain and b'"usage":{' in seen  # the app reads the usage chunk it asked for
    _exact_chat(only_span(otel))


def test_chat_stream_without_usage_keeps_the_response_and_estimates_the_output(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI
) -> None:
    """The issue's case: we never add include_usage to a raw call (the app would read its chunk)."""
    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=HELLO, stream=True
    ) as response:
        lines = list(response.iter_lines())
    assert "stream_options" not in body(sim)
    assert lines[-2:] == ["data: [DONE]", ""]
    a = attrs(only_span(otel))
    text = _deltas("\n".join(lines).encode())
    assert usage_of(only_span(otel)) == (PROMPT, count_tokens(text, "gpt-4o-mini")) and text
    assert a["llmcost.usage.estimated"] is True
    assert a["gen_ai.response.finish_reasons"] == ("stop",)
    assert a["gen_ai.response.model"] == "gpt-4o-mini"
    assert a["gen_ai.usage.cost.amount"] == mini_cost(PROMPT, 0, count_tokens(text, "gpt-4o-mini"))


def test_legacy_completion_stream_read_raw(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI
) -> None:
    sim.set_rule("gpt-3.5-turbo-instruct", CACHED_RULE)
    with client.completions.with_streaming_response.create(
        model="gpt-3.5-turbo-instruct", prompt="hi", max_tokens=60, stream=True, stream_options=USAGE
    ) as response:
        response.read()
    a = attrs(only_span(otel))
    assert a["gen_ai.operation.name"] == "text_completion"
    assert usage_of(only_span(otel)) == (1200, 50) and a["gen_ai.response.finish_reasons"] == ("stop",)


def test_responses_stream_read_raw_is_exact(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI
) -> None:
    sim.set_rule("o4-mini", CACHED_RULE)
    with client.responses.with_streaming_response.create(
        model="o4-mini", input="hello", stream=True
    ) as response:
        lines = list(response.iter_lines())
    final = json.loads(next(x for x in lines if x.startswith('data: {"type":"response.completed"'))[6:])
    a = attrs(only_span(otel))
    assert a["gen_ai.response.id"] == final["response"]["id"]
    assert a["gen_ai.response.finish_reasons"] == ("stop",)
    assert usage_of(only_span(otel)) == (1200, 50)
    assert a["gen_ai.usage.cost.amount"] == float(176 * O4_IN + 1024 * O4_CACHED + 50 * O4_OUT)
    assert "llmcost.usage.estimated" not in a


def test_async_raw_streams_read_raw(otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator) -> None:
    sim.set_rule("gpt-4o-mini", CACHED_RULE)
    sim.set_rule("o4-mini", CACHED_RULE)

    async def run() -> list[bytes]:
        got: list[bytes] = []
        async with async_client(sim) as client:
            kwargs: dict[str, Any] = {"model": "gpt-4o-mini", "messages": HELLO, "stream": True}
            async with client.chat.completions.with_streaming_response.create(
                **kwargs, stream_options=USAGE
            ) as response:
                got.append(b"".join([c async for c in response.iter_bytes()]))
            async with client.chat.completions.with_streaming_response.create(
                **kwargs, stream_options=USAGE
            ) as response:
                got.append("\n".join([line async for line in response.iter_lines()]).encode())
            async with client.chat.completions.with_streaming_response.create(
                **kwargs, stream_options=USAGE
            ) as response:
                got.append(await response.read())
            async with client.responses.with_streaming_response.create(
                model="o4-mini", input="hello", stream=True
            ) as response:
                got.append("".join([t async for t in response.iter_text()]).encode())
        return got

    payloads = asyncio.run(run())
    assert all(b"data: [DONE]" in p for p in payloads[:3])
    spans = otel.genai_spans()
    assert len(spans) == 4
    for span in spans[:3]:
        _exact_chat(span)
    assert usage_of(spans[3]) == (1200, 50) and attrs(spans[3])["gen_ai.response.model"] == "o4-mini"


def test_stream_left_early_is_estimated_from_what_streamed(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI
) -> None:
    sim.set_rule("gpt-4o-mini", CACHED_RULE)
    sim.config.chunk_delay_s = 0.002
    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=HELLO, stream=True, stream_options=USAGE
    ) as response:
        chunks = response.iter_bytes()
        read = [next(chunks) for _ in range(3)]
        assert otel.genai_spans() == []  # not ended while the app may still read
    a = attrs(only_span(otel))  # closed by the with block, the usage chunk never read
    text = _deltas(b"".join(read))
    assert text and a["llmcost.usage.estimated"] is True
    assert usage_of(only_span(otel)) == (PROMPT, count_tokens(text, "gpt-4o-mini"))
    assert "gen_ai.response.finish_reasons" not in a
    assert a["gen_ai.response.id"] == json.loads(read[0].split(b"\n")[0][6:])["id"]


def test_loop_left_ends_the_span_as_the_response_closes(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI
) -> None:
    """Leaving an ``iter_lines`` loop closes the SDK's response (httpx2 does): the span ends then,
    with what had arrived by then."""
    sim.set_rule("gpt-4o-mini", CACHED_RULE)
    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=HELLO, stream=True, stream_options=USAGE
    ) as response:
        for line in response.iter_lines():
            if line.startswith("data: {"):
                break
        assert response.is_closed
        assert len(otel.genai_spans()) == 1


def test_stream_cut_by_the_server_fails_with_the_transport_error(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI
) -> None:
    sim.config.fail_mid_stream = True
    sim.config.fail_after_chunks = 3
    read: list[str] = []
    with (
        client.chat.completions.with_streaming_response.create(
            model="gpt-4o-mini", messages=HELLO, stream=True
        ) as response,
        pytest.raises(httpx2.RemoteProtocolError),
    ):
        read.extend(response.iter_lines())
    a = attrs(only_span(otel))
    assert a["error.type"] == "RemoteProtocolError"
    assert a["llmcost.usage.estimated"] is True
    assert usage_of(only_span(otel))[0] == PROMPT


def _sim_gzip_client(sim: Simulator, piece: int) -> httpx2.Client:
    """The simulator's answers gzip-compressed, streamed in ``piece``-byte slices."""
    transport = sim.mock_transport()

    def handler(request: httpx2.Request) -> httpx2.Response:
        answer = transport.handle_request(request)
        packed = gzip.compress(answer.read())

        def pieces() -> Iterator[bytes]:
            for i in range(0, len(packed), piece):
                yield packed[i : i + piece]

        headers = [(k, v) for k, v in answer.headers.items() if k.lower() != "content-length"]
        return httpx2.Response(
            answer.status_code, headers=[*headers, ("content-encoding", "gzip")], content=pieces()
        )

    return httpx2.Client(transport=httpx2.MockTransport(handler))


def test_compressed_stream_is_read_through_a_decoder_of_our_own(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator
) -> None:
    sim.set_rule("gpt-4o-mini", CACHED_RULE)
    with (
        openai.OpenAI(
            base_url=sim.openai_base_url, api_key="test", max_retries=0, http_client=_sim_gzip_client(sim, 50)
        ) as client,
        client.chat.completions.with_streaming_response.create(
            model="gpt-4o-mini", messages=HELLO, stream=True, stream_options=USAGE
        ) as response,
    ):
        lines = list(response.iter_lines())
    assert lines[-2:] == ["data: [DONE]", ""]
    _exact_chat(only_span(otel))


def test_body_read_by_the_transport_is_priced_at_once(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator
) -> None:
    """A transport may hand over a body it read whole: priced when the call returns; parse() then
    gives the SDK's stream itself (the call is accounted for)."""
    sim.set_rule("gpt-4o-mini", CACHED_RULE)

    def handler(request: httpx2.Request) -> httpx2.Response:
        answer = sim.mock_transport().handle_request(request)
        return httpx2.Response(answer.status_code, headers=answer.headers, content=answer.read())

    http = httpx2.Client(transport=httpx2.MockTransport(handler))
    with (
        openai.OpenAI(
            base_url=sim.openai_base_url, api_key="test", max_retries=0, http_client=http
        ) as client,
        client.chat.completions.with_streaming_response.create(
            model="gpt-4o-mini", messages=HELLO, stream=True, stream_options=USAGE
        ) as response,
    ):
        _exact_chat(only_span(otel))
        stream = response.parse()
        assert type(stream) is openai.Stream
        assert list(stream)[-1].usage is not None
    _exact_chat(only_span(otel))


@pytest.mark.parametrize("where", ["feed", "end"])
def test_a_fault_of_ours_never_reaches_the_app(
    otel: Otel,
    instrumented: LLMCostInstrumentor,
    sim: Simulator,
    client: openai.OpenAI,
    monkeypatch: pytest.MonkeyPatch,
    where: str,
) -> None:
    if where == "feed":
        monkeypatch.setattr(SSEParser, "feed", raiser)
    else:
        monkeypatch.setattr(_raw_sse.RawChatAccount, "on_end", raiser)
    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=HELLO, stream=True
    ) as response:
        lines = list(response.iter_lines())
    assert len(lines) == 46 and lines[-2] == "data: [DONE]"
    a = attrs(only_span(otel))
    assert a["llmcost.usage.estimated"] is True and "error.type" not in a
    assert usage_of(only_span(otel)) == (PROMPT, 0)


def test_parse_after_the_listener_is_priced_once_by_the_proxy(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI
) -> None:
    sim.set_rule("gpt-4o-mini", CACHED_RULE)
    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=HELLO, stream=True, stream_options=USAGE
    ) as response:
        chunks = list(response.parse())
    assert chunks[-1].usage is not None
    _exact_chat(only_span(otel))


def _events(feed: Callable[[SSEParser], None]) -> list[tuple[str | None, str]]:
    events: list[tuple[str | None, str]] = []
    parser = SSEParser(lambda event, data: events.append((event, data)))
    feed(parser)
    return events


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_sse_parser_reads_any_slicing_as_the_sdk_does(newline: bytes) -> None:
    lines = [
        b": keep-alive",
        b"",
        b'data: {"a": 1}',
        b"",
        b"event: response.created",
        b'data: {"type":"response.created",',
        b'data: "x": "\xc3\xa9"}',
        b"id: 7",
        b"",
        b"event: ping",
        b"",
        b"data:no-space",
        b"",
        b"data: [DONE]",
        b"",
        b"data: never closed",
    ]
    payload = newline.join(lines)
    decoder = SSEDecoder()
    expected = [(e.event, e.data) for e in decoder.iter_bytes(iter([payload])) if e.data]
    assert len(expected) == 4
    assert _events(lambda p: p.feed(payload)) == expected
    assert _events(lambda p: [p.feed(payload[i : i + 1]) for i in range(len(payload))]) == expected
    rng = random.Random(7)
    for _ in range(50):
        cuts = sorted(rng.sample(range(1, len(payload)), 6))
        slices = [payload[a:b] for a, b in zip([0, *cuts], [*cuts, len(payload)], strict=True)]
        assert _events(lambda p, pieces=slices: _feed_all(p, pieces)) == expected


def _feed_all(parser: SSEParser, pieces: list[bytes]) -> None:
    for piece in pieces:
        parser.feed(piece)
