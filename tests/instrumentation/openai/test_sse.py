"""The injected usage chunk is taken out of the server-sent events before the SDK parses it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import openai
import pytest
from openai._streaming import ServerSentEvent

from otel_llmcost.instrumentation import LLMCostInstrumentor
from otel_llmcost.instrumentation.openai._sse import UsageChunkFilter, skip_usage_chunk
from otel_llmcost.simulator import Simulator
from tests.instrumentation.conftest import Otel

from .conftest import CACHED_RULE, HELLO, async_client, attrs, mini_cost, only_span, usage_of

USAGE = '"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}'


class _Decoder:
    """An SSE decoder that yields the events it was given, whatever bytes it is fed."""

    def __init__(self, events: list[ServerSentEvent]) -> None:
        self.events = events

    def iter_bytes(self, iterator: Iterator[bytes]) -> Iterator[ServerSentEvent]:
        yield from self.events

    async def aiter_bytes(self, iterator: AsyncIterator[bytes]) -> AsyncIterator[ServerSentEvent]:
        for event in self.events:
            yield event


def _filtered(events: list[ServerSentEvent], hide: bool = True) -> tuple[list[str], list[Any]]:
    accepted: list[Any] = []

    def accept(item: Any) -> bool:
        accepted.append(item)
        return hide

    passed = UsageChunkFilter(_Decoder(events), accept).iter_bytes(iter(()))
    return [e.data for e in passed], accepted


@pytest.mark.parametrize(
    "data",
    [
        '{"id":"c","choices":[],' + USAGE + "}",
        '{"id": "c", "choices": [ ], ' + USAGE.replace(":", ": ") + "}",
    ],
)
def test_the_usage_only_chunk_goes_to_the_proxy_not_the_sdk(data: str) -> None:
    passed, accepted = _filtered(
        [ServerSentEvent(data='{"choices":[{"index":0}]}'), ServerSentEvent(data=data)]
    )
    assert passed == ['{"choices":[{"index":0}]}']
    assert accepted == [
        {"id": "c", "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}}
    ]


@pytest.mark.parametrize(
    ("data", "event"),
    [
        ('{"choices":[{"index":0,"delta":{"content":"[]"}}],"usage":null}', None),  # content with []
        ('{"choices":[],"usage":null}', None),  # no usage in it
        ('{"choices":[],' + USAGE + ',"error":{"message":"x"}}', None),  # the SDK raises for errors
        ('{"choices":[],' + USAGE + "}", "thread.message"),  # a named event is not a chat chunk
        ('{"choices":[], broken', None),  # the SDK reports malformed JSON, not us
        ('[{"choices":[]}]', None),
        ("[DONE]", None),
    ],
)
def test_every_other_event_reaches_the_sdk_untouched(data: str, event: str | None) -> None:
    passed, accepted = _filtered([ServerSentEvent(data=data, event=event)])
    assert passed == [data]
    assert accepted == []


def test_a_chunk_the_proxy_does_not_hide_still_reaches_the_sdk() -> None:
    data = '{"choices":[],' + USAGE + "}"
    passed, accepted = _filtered([ServerSentEvent(data=data)], hide=False)
    assert passed == [data] and len(accepted) == 1


def test_async_decoding_is_filtered_the_same_way() -> None:
    data = '{"choices":[],' + USAGE + "}"
    kept = ServerSentEvent(data='{"choices":[{"index":0}]}')
    accepted: list[Any] = []

    def accept(item: Any) -> bool:
        accepted.append(item)
        return True

    decoder = UsageChunkFilter(_Decoder([kept, ServerSentEvent(data=data)]), accept)

    async def run() -> list[ServerSentEvent]:
        async def nothing() -> AsyncIterator[bytes]:
            return
            yield b""

        return [e async for e in decoder.aiter_bytes(nothing())]

    assert asyncio.run(run()) == [kept]
    assert len(accepted) == 1


def test_objects_without_an_sse_decoder_are_left_alone() -> None:
    class Raw:
        _decoder = object()

    raw = Raw()
    skip_usage_chunk(raw, lambda item: True)
    skip_usage_chunk(object(), lambda item: True)
    assert type(raw._decoder) is object


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every chunk object the SDK builds from the stream's events."""
    chunks: list[Any] = []
    process = openai.OpenAI._process_response_data
    aprocess = openai.AsyncOpenAI._process_response_data

    def spy(self: Any, *, data: Any, **kwargs: Any) -> Any:
        chunks.append(data)
        return process(self, data=data, **kwargs)

    def aspy(self: Any, *, data: Any, **kwargs: Any) -> Any:
        chunks.append(data)
        return aprocess(self, data=data, **kwargs)

    monkeypatch.setattr(openai.OpenAI, "_process_response_data", spy)
    monkeypatch.setattr(openai.AsyncOpenAI, "_process_response_data", aspy)
    return chunks


def test_the_sdk_never_builds_the_injected_chunk(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI, built: list[Any]
) -> None:
    sim.set_rule("gpt-4o-mini", CACHED_RULE)
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True)
    assert type(stream.__wrapped__._decoder) is UsageChunkFilter
    chunks = list(stream)
    assert len(chunks) == len(built) == 22
    assert all(data["choices"] and data.get("usage") is None for data in built)
    assert usage_of(only_span(otel)) == (1200, 50)
    assert attrs(only_span(otel))["gen_ai.usage.cost.amount"] == mini_cost(176, 1024, 50)


def test_the_async_sdk_never_builds_the_injected_chunk(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, built: list[Any]
) -> None:
    sim.set_rule("gpt-4o-mini", CACHED_RULE)

    async def run() -> list[Any]:
        async with async_client(sim) as client:
            stream = await client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True)
            return [chunk async for chunk in stream]

    chunks = asyncio.run(run())
    assert len(chunks) == len(built) == 22
    assert usage_of(only_span(otel)) == (1200, 50)


def test_a_caller_who_asked_for_usage_gets_the_chunk_from_the_sdk(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI, built: list[Any]
) -> None:
    sim.set_rule("gpt-4o-mini", CACHED_RULE)
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    assert type(stream.__wrapped__._decoder) is not UsageChunkFilter
    chunks = list(stream)
    assert len(chunks) == len(built) == 23 and chunks[-1].usage.prompt_tokens == 1200
    assert usage_of(only_span(otel)) == (1200, 50)
