"""``generate_content_stream``: usage from the last chunk, early stops, failures, estimates."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any, cast

import httpx2
import pytest
import quicktok
from google import genai
from google.genai import errors, types
from opentelemetry.trace import StatusCode

from otel_llmcost.instrumentation.google_genai._streams import GenerateStreamHandler
from otel_llmcost.simulator import Simulator
from tests.instrumentation.conftest import Otel

from .conftest import FLASH_COST, RULE, Canned, answer, only_span

pytestmark = pytest.mark.usefixtures("instrumented")
ENC = quicktok.get_encoding("o200k_base")


def _points(otel: Otel, name: str) -> list[Any]:
    return otel.metrics().get(name, [])


def test_sync_stream_usage_cost_and_first_chunk_metric(otel: Otel, sim: Simulator, gem: genai.Client) -> None:
    sim.set_rule("gemini-2.5-*", RULE)
    stream = gem.models.generate_content_stream(model="gemini-2.5-flash", contents="hello")
    chunks = list(stream)
    assert inspect.isgenerator(stream)  # the SDK's own generator, untouched
    assert len(chunks) == 20 and all(isinstance(c, types.GenerateContentResponse) for c in chunks)
    span = only_span(otel)
    attrs = span.attributes or {}
    assert span.name == "generate_content gemini-2.5-flash"
    assert attrs["llmcost.request.streaming"] is True
    assert attrs["gen_ai.response.id"] == chunks[0].response_id
    assert attrs["gen_ai.response.finish_reasons"] == ("STOP",)
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (1200, 50)
    assert attrs["gen_ai.usage.reasoning.output_tokens"] == 30
    assert attrs["gen_ai.usage.cost.amount"] == float(FLASH_COST)
    (first,) = _points(otel, "gen_ai.client.operation.time_to_first_chunk")
    assert first.count == 1 and first.sum > 0
    assert first.attributes["gen_ai.provider.name"] == "gcp.gemini"
    (duration,) = _points(otel, "gen_ai.client.operation.duration")
    assert first.sum <= duration.sum


def test_async_stream_keeps_its_shape(otel: Otel, sim: Simulator, gem: genai.Client) -> None:
    sim.set_rule("gemini-2.5-*", RULE)

    async def run() -> int:
        stream = await gem.aio.models.generate_content_stream(model="gemini-2.5-flash", contents="hello")
        assert inspect.isasyncgen(stream)
        count = 0
        async for chunk in stream:
            assert isinstance(chunk, types.GenerateContentResponse)
            count += 1
        await gem.aio.aclose()
        return count

    assert asyncio.run(run()) == 20
    attrs = only_span(otel).attributes or {}
    assert attrs["llmcost.request.streaming"] is True
    assert attrs["gen_ai.usage.cost.amount"] == float(FLASH_COST)
    (first,) = _points(otel, "gen_ai.client.operation.time_to_first_chunk")
    assert first.count == 1


def test_stream_closed_early_keeps_the_usage_so_far(otel: Otel, sim: Simulator, gem: genai.Client) -> None:
    sim.set_rule("gemini-2.5-*", RULE)
    stream = cast(
        Generator[types.GenerateContentResponse, None, None],
        gem.models.generate_content_stream(model="gemini-2.5-flash", contents="hello"),
    )
    for _, _chunk in zip(range(3), stream, strict=False):
        pass
    assert otel.genai_spans() == []  # still open
    stream.close()
    attrs = only_span(otel).attributes or {}
    # The third chunk's running totals: 3 candidates so far plus the 30 thoughts.
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (1200, 33)
    assert "gen_ai.response.finish_reasons" not in attrs
    assert "llmcost.usage.estimated" not in attrs


def test_async_stream_closed_early(otel: Otel, sim: Simulator, gem: genai.Client) -> None:
    sim.set_rule("gemini-2.5-*", RULE)

    async def run() -> None:
        stream = cast(
            AsyncGenerator[types.GenerateContentResponse, None],
            await gem.aio.models.generate_content_stream(model="gemini-2.5-flash", contents="hello"),
        )
        async for _ in stream:
            break
        await stream.aclose()
        await gem.aio.aclose()

    asyncio.run(run())
    attrs = only_span(otel).attributes or {}
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (1200, 31)


def test_dropped_stream_fails_with_the_billed_usage(otel: Otel, sim: Simulator, gem: genai.Client) -> None:
    sim.set_rule("gemini-2.5-*", RULE)
    sim.config.fail_mid_stream = True  # the connection drops after 2 chunks
    received: list[types.GenerateContentResponse] = []

    def consume() -> None:
        received.extend(gem.models.generate_content_stream(model="gemini-2.5-flash", contents="hello"))

    with pytest.raises(httpx2.RemoteProtocolError):
        consume()
    assert len(received) == 2
    span = only_span(otel)
    assert span.status.status_code is StatusCode.ERROR
    attrs = span.attributes or {}
    assert attrs["error.type"] == "RemoteProtocolError"
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (1200, 32)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_stream_rate_limited(otel: Otel, sim: Simulator, gem: genai.Client, mode: str) -> None:
    sim.inject_error(429, provider="gemini")

    async def run() -> None:
        try:
            async for _ in await gem.aio.models.generate_content_stream(
                model="gemini-2.5-flash", contents="hi"
            ):
                pass
        finally:
            await gem.aio.aclose()

    def consume() -> None:
        if mode == "sync":
            list(gem.models.generate_content_stream(model="gemini-2.5-flash", contents="hi"))
        else:
            asyncio.run(run())

    with pytest.raises(errors.ClientError) as info:
        consume()
    assert type(info.value) is errors.ClientError and info.value.code == 429
    attrs = only_span(otel).attributes or {}
    assert attrs["error.type"] == "ClientError"
    assert "gen_ai.usage.input_tokens" not in attrs


def test_stream_without_usage_is_estimated(
    otel: Otel, canned: Canned, canned_client: Callable[..., genai.Client]
) -> None:
    canned.add_sse(answer("Hello", finish=None), answer(" world", finish="STOP"))
    client = canned_client()
    texts = [c.text for c in client.models.generate_content_stream(model="gemini-2.5-flash", contents="hi")]
    assert texts == ["Hello", " world"]
    attrs = only_span(otel).attributes or {}
    assert attrs["llmcost.usage.estimated"] is True
    # Our offline count: OpenAI chat framing over o200k (3 per message + 3), and the streamed text.
    assert attrs["gen_ai.usage.input_tokens"] == 3 + (3 + 1) + len(
        ENC.encode("hi")
    )  # prime, per message + role, text
    assert attrs["gen_ai.usage.output_tokens"] == len(ENC.encode("Hello world"))
    assert attrs["gen_ai.response.finish_reasons"] == ("STOP",)


def test_continuation_hops_are_one_span_each(
    otel: Otel, canned: Canned, canned_client: Callable[..., genai.Client]
) -> None:
    first = {"promptTokenCount": 100, "candidatesTokenCount": 5, "totalTokenCount": 105}
    second = {"promptTokenCount": 100, "candidatesTokenCount": 7, "totalTokenCount": 107}
    canned.add_sse(answer("part one", usage=first, finish="CONTINUATION", token="dG9rZW4=", response_id="r1"))
    canned.add_sse(answer(" part two", usage=second, response_id="r2"))
    client = canned_client()
    chunks = list(client.models.generate_content_stream(model="gemini-2.5-flash", contents="hi"))
    assert len(canned.requests) == 2 and len(chunks) == 2
    # The SDK sums the hops for the app; we record each billed request.
    last = chunks[-1].usage_metadata
    assert last is not None and (last.prompt_token_count, last.candidates_token_count) == (200, 12)
    spans = sorted(otel.genai_spans(), key=lambda s: str((s.attributes or {})["gen_ai.response.id"]))
    assert [(s.attributes or {})["gen_ai.usage.output_tokens"] for s in spans] == [5, 7]
    assert [(s.attributes or {})["gen_ai.response.finish_reasons"] for s in spans] == [
        ("CONTINUATION",),
        ("STOP",),
    ]


def test_faulty_stream_handler_never_reaches_the_app(
    otel: Otel, sim: Simulator, gem: genai.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: Any) -> Any:
        raise RuntimeError("our bug")

    monkeypatch.setattr(GenerateStreamHandler, "on_item", boom)
    monkeypatch.setattr(GenerateStreamHandler, "on_end", boom)
    chunks = list(gem.models.generate_content_stream(model="gemini-2.5-flash", contents="hi"))
    assert len(chunks) == 20
    span = only_span(otel)  # still ended
    assert span.status.status_code is StatusCode.UNSET
    assert "gen_ai.usage.input_tokens" not in (span.attributes or {})
