"""The chat stream tap: our accounting on the events' JSON text, before the SDK parses it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2
import openai
import pytest
from openai._streaming import ServerSentEvent

from otel_llmcost.instrumentation import LLMCostInstrumentor
from otel_llmcost.instrumentation.openai._sse import ChatTap, install_tap
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
    usage_of,
)

USAGE = '"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}'
USAGE_DICT = {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
CONTENT = '{"id":"c","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]'


class _Decoder:
    """An SSE decoder that yields the events it was given, whatever bytes it is fed."""

    def __init__(self, events: list[ServerSentEvent]) -> None:
        self.events = events

    def iter_bytes(self, iterator: Iterator[bytes]) -> Iterator[ServerSentEvent]:
        yield from self.events

    async def aiter_bytes(self, iterator: AsyncIterator[bytes]) -> AsyncIterator[ServerSentEvent]:
        for event in self.events:
            yield event


class _Call:
    def __init__(self) -> None:
        self.first_chunks = 0

    def first_chunk(self) -> None:
        self.first_chunks += 1


def _tap(events: list[ServerSentEvent], injected: bool = True) -> tuple[ChatTap, list[str]]:
    tap = ChatTap(_Decoder(events), _Call(), injected, ServerSentEvent)  # type: ignore[arg-type]
    passed = [e.data for e in tap.iter_bytes(iter(()))]
    return tap, passed


@pytest.mark.parametrize(
    "data",
    [
        '{"id":"c","choices":[],' + USAGE + "}",
        '{"id": "c", "choices": [ ], ' + USAGE.replace(":", ": ") + "}",
    ],
)
def test_the_usage_only_chunk_we_asked_for_never_reaches_the_sdk(data: str) -> None:
    tap, passed = _tap([ServerSentEvent(data=CONTENT + "}"), ServerSentEvent(data=data)])
    assert passed == [CONTENT + "}"]
    assert tap.usage_chunk == {"id": "c", "choices": [], "usage": USAGE_DICT}
    assert tap.chunks == [CONTENT + "}"]


def test_a_caller_who_asked_for_usage_gets_the_usage_chunk() -> None:
    data = '{"id":"c","choices":[],' + USAGE + "}"
    tap, passed = _tap([ServerSentEvent(data=data)], injected=False)
    assert passed == [data] and tap.chunks == [data]
    assert tap.usage_chunk == {"id": "c", "choices": [], "usage": USAGE_DICT}


@pytest.mark.parametrize(
    ("data", "stripped"),
    [
        (CONTENT + ',"usage":null}', CONTENT + "}"),  # where OpenAI puts it: last
        (CONTENT + ', "usage" : null }', CONTENT + " }"),
        ('{"usage":null,"id":"c","choices":[]}', '{"id":"c","choices":[]}'),  # first
        ('{ "usage": null , "id": "c"}', '{  "id": "c"}'),
        ('{"id":"c","usage":null,"choices":[]}', '{"id":"c","choices":[]}'),  # in between
        ('{"usage":null}', "{}"),  # alone
    ],
)
def test_the_null_usage_member_we_caused_is_taken_out(data: str, stripped: str) -> None:
    tap, passed = _tap([ServerSentEvent(data=data)])
    assert passed == [stripped] and tap.chunks == [stripped]
    assert tap.usage_chunk is None


def test_null_usage_stays_when_the_caller_asked_for_it_or_the_event_is_not_the_sdks() -> None:
    data = CONTENT + ',"usage":null}'
    assert _tap([ServerSentEvent(data=data)], injected=False)[1] == [data]

    class Event:
        event = None

        def __init__(self, data: str) -> None:
            self.data = data

    tap = ChatTap(_Decoder([Event(data)]), _Call(), True, ServerSentEvent)  # type: ignore[list-item,arg-type]
    assert [e.data for e in tap.iter_bytes(iter(()))] == [data]


@pytest.mark.parametrize(
    ("data", "event"),
    [
        ('{"choices":[{"index":0,"delta":{"content":"\\"usage\\": null"}}]}', None),  # text, not a member
        ('{"choices":[{"index":0,"delta":{"content":"usage"}}]}', None),
        ('{"choices":[],' + USAGE + ',"error":{"message":"x"}}', None),  # the SDK raises for errors
        ('{"choices":[],' + USAGE + "}", "thread.message"),  # a named event is not a chat chunk
        ('{"choices":[], ' + USAGE + ", broken", None),  # the SDK reports malformed JSON, not us
        ('[{"choices":[]}]', None),
        ("[DONE]", None),
    ],
)
def test_every_other_event_reaches_the_sdk_untouched(data: str, event: str | None) -> None:
    tap, passed = _tap([ServerSentEvent(data=data, event=event)])
    assert passed == [data]
    assert tap.usage_chunk is None


def test_chunks_with_a_finish_reason_are_noted() -> None:
    first = '{"id":"c","choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}'
    last = '{"id":"c","choices":[{"index":0,"delta":{},"finish_reason" : "length"}]}'
    tap, passed = _tap(
        [ServerSentEvent(data=first), ServerSentEvent(data=last), ServerSentEvent(data="[DONE]")]
    )
    assert passed == [first, last, "[DONE]"]
    assert tap.chunks == [first, last]
    assert tap.finished == [last]


def test_a_chunk_whose_earlier_choice_finished_is_noted() -> None:
    # Two choices in one chunk: the first finished, the last has not.
    both = (
        '{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"},'
        '{"index":1,"delta":{"content":"x"},"finish_reason":null}]}'
    )
    neither = (
        '{"id":"c","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null},'
        '{"index":1,"delta":{"content":"b"},"finish_reason": null}]}'
    )
    tap, passed = _tap([ServerSentEvent(data=neither), ServerSentEvent(data=both)])
    assert passed == [neither, both]
    assert tap.finished == [both]


def test_the_first_event_marks_the_first_chunk_once() -> None:
    call = _Call()
    tap = ChatTap(_Decoder([ServerSentEvent(data=CONTENT + "}")] * 3), call, True, ServerSentEvent)  # type: ignore[arg-type]
    assert len(list(tap.iter_bytes(iter(())))) == 3
    assert call.first_chunks == 1


def test_async_decoding_is_tapped_the_same_way() -> None:
    kept = ServerSentEvent(data=CONTENT + ',"usage":null}')
    usage = ServerSentEvent(data='{"choices":[],' + USAGE + "}")
    tap = ChatTap(_Decoder([kept, usage]), _Call(), True, ServerSentEvent)  # type: ignore[arg-type]

    async def run() -> list[ServerSentEvent]:
        async def nothing() -> AsyncIterator[bytes]:
            return
            yield b""

        return [e async for e in tap.aiter_bytes(nothing())]

    assert [e.data for e in asyncio.run(run())] == [CONTENT + "}"]
    assert tap.usage_chunk is not None and tap.chunks == [CONTENT + "}"]


def test_objects_without_an_sse_decoder_are_left_alone() -> None:
    class Raw:
        _decoder = object()

    raw = Raw()
    assert install_tap(raw, _Call(), True) is None  # type: ignore[arg-type]
    assert install_tap(object(), _Call(), True) is None  # type: ignore[arg-type]
    assert type(raw._decoder) is object


_FIRST = CONTENT + ',"usage":null}'
#: Events as they may come after a stream's first one (the inline path's territory in iter_bytes).
_LATER: list[tuple[str, str | None]] = [
    (CONTENT + ',"usage":null}', None),  # OpenAI's layout with include_usage: inline
    (CONTENT + ', "usage": null}', None),
    (CONTENT + "}", None),  # no usage member at all: inline
    ('{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}', None),
    (
        '{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"},'
        '{"index":1,"delta":{"content":"x"},"finish_reason":null}],"usage":null}',
        None,
    ),
    ('{"usage":null,"id":"c","choices":[]}', None),  # elsewhere: the general path
    ('{"id":"c","choices":[],' + USAGE + "}", None),  # the usage chunk
    ('{"choices":[],' + USAGE + ',"error":{"message":"x"}}', None),
    ('{"choices":[{"index":0,"delta":{"content":"usage"}}]}', None),
    ('{"choices":[],' + USAGE + "}", "thread.message"),
    ("[DONE]", None),
    ("", None),
]


@pytest.mark.parametrize("injected", [True, False])
@pytest.mark.parametrize(("data", "event"), _LATER)
def test_later_events_are_read_inline_exactly_as_the_general_path_reads_them(
    data: str, event: str | None, injected: bool
) -> None:
    def events() -> list[ServerSentEvent]:
        return [ServerSentEvent(data=_FIRST), ServerSentEvent(data=data, event=event)]

    general = ChatTap(_Decoder([]), _Call(), injected, ServerSentEvent)  # type: ignore[arg-type]
    expected = [e.data for e in events() if general._passes(e)]
    tap = ChatTap(_Decoder(events()), _Call(), injected, ServerSentEvent)  # type: ignore[arg-type]
    assert [e.data for e in tap.iter_bytes(iter(()))] == expected
    assert (tap.chunks, tap.finished, tap.usage_chunk) == (
        general.chunks,
        general.finished,
        general.usage_chunk,
    )


def test_a_fault_reading_a_later_event_passes_it_on_untouched() -> None:
    class Odd:
        """Not a string: slicing it raises inside the tap."""

        def __getitem__(self, index: Any) -> Any:
            raise RuntimeError("boom")

    odd = ServerSentEvent(data="x")
    odd._data = Odd()  # type: ignore[assignment]
    first = ServerSentEvent(data=_FIRST)
    tap = ChatTap(_Decoder([first, odd]), _Call(), True, ServerSentEvent)  # type: ignore[arg-type]
    assert list(tap.iter_bytes(iter(()))) == [first, odd]
    assert tap.chunks == [CONTENT + "}"]


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
    assert type(stream.__wrapped__._decoder) is ChatTap
    chunks = list(stream)
    assert len(chunks) == len(built) == 22
    assert all(data["choices"] and "usage" not in data for data in built)
    assert all("usage" not in chunk.model_fields_set for chunk in chunks)
    assert usage_of(only_span(otel)) == (1200, 50)
    assert attrs(only_span(otel))["gen_ai.usage.cost.amount"] == mini_cost(176, 1024, 50)
    tap = stream.__wrapped__._decoder
    assert tap.chunks == [] and tap.finished == []  # released once the span ended


def test_the_sdk_parses_the_chunks_it_would_have_parsed_without_us(
    otel: Otel, pricer: Pricer, sim: Simulator, client: openai.OpenAI, built: list[Any]
) -> None:
    sim.clock = lambda: 1_700_000_000
    list(client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True))
    plain = [{k: v for k, v in data.items() if k != "id"} for data in built]
    built.clear()
    with instrumentation(otel, pricer):
        list(client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True))
    assert body(sim)["stream_options"] == {"include_usage": True}
    assert [{k: v for k, v in data.items() if k != "id"} for data in built] == plain
    assert len(plain) == 22


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
    assert type(stream.__wrapped__._decoder) is ChatTap
    chunks = list(stream)
    assert len(chunks) == len(built) == 23 and chunks[-1].usage.prompt_tokens == 1200
    assert all(data["usage"] is None for data in built[:-1])  # asked for: left as the server sent it
    assert usage_of(only_span(otel)) == (1200, 50)


def _canned_client(events: list[str]) -> openai.OpenAI:
    """A real client whose endpoint streams ``events`` (then ``[DONE]``), one network read each."""
    frames = [f"data: {e}\n\n".encode() for e in [*events, "[DONE]"]]

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=iter(frames))

    return openai.OpenAI(
        base_url="https://api.openai.com/v1",
        api_key="test",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
    )


def _chunk(index: int, content: str, finish: str | None) -> str:
    reason = f'"{finish}"' if finish else "null"
    return (
        '{"id":"chatcmpl-x","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini-2024-07-18",'
        f'"choices":[{{"index":{index},"delta":{{"content":"{content}"}},"finish_reason":{reason}}}],'
        '"usage":null}'
    )


def test_two_choices_in_one_chunk_keep_both_finish_reasons(
    otel: Otel, instrumented: LLMCostInstrumentor
) -> None:
    usage = (
        '{"id":"chatcmpl-x","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini-2024-07-18",'
        '"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":4,"total_tokens":14}}'
    )
    both = (
        '{"id":"chatcmpl-x","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini-2024-07-18",'
        '"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":"length"},'
        '{"index":1,"delta":{"content":"b"},"finish_reason":null}],"usage":null}'
    )
    events = [both, _chunk(1, "c", "stop"), usage]
    with _canned_client(events) as client:
        chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, n=2, stream=True))
    assert [len(chunk.choices) for chunk in chunks] == [2, 1]
    a = attrs(only_span(otel))
    assert a["gen_ai.response.finish_reasons"] == ("length", "stop")
    assert a["llmcost.response.truncated"] is True
    assert usage_of(only_span(otel)) == (10, 4)


def test_two_choices_an_azure_style_first_chunk_and_the_usage_chunk(
    otel: Otel, instrumented: LLMCostInstrumentor
) -> None:
    filter_results = (
        '{"id":"","object":"","created":0,"model":"","choices":[],'
        '"prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}'
    )
    usage = (
        '{"id":"chatcmpl-x","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini-2024-07-18",'
        '"choices":[],"usage":{"prompt_tokens":1200,"completion_tokens":50,"total_tokens":1250,'
        '"prompt_tokens_details":{"cached_tokens":1024}}}'
    )
    events = [
        filter_results,
        _chunk(0, "a", None),
        _chunk(1, "b", None),
        _chunk(0, "c", "stop"),
        _chunk(1, "d", None),
        _chunk(1, "e", "length"),
        usage,
    ]
    with _canned_client(events) as client:
        chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, n=2, stream=True))
    assert len(chunks) == 6  # the usage chunk we asked for is not among them
    assert all("usage" not in chunk.model_fields_set for chunk in chunks)
    a = attrs(only_span(otel))
    assert a["gen_ai.response.id"] == "chatcmpl-x"
    assert a["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
    assert a["gen_ai.response.finish_reasons"] == ("stop", "length")
    assert a["llmcost.response.truncated"] is True
    assert usage_of(only_span(otel)) == (1200, 50)
    assert a["gen_ai.usage.cache_read.input_tokens"] == 1024
    assert a["gen_ai.usage.cost.amount"] == mini_cost(176, 1024, 50)
