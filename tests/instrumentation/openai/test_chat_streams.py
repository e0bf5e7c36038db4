"""Streamed chat completions: include_usage injection, opt-outs, estimates, early stops, the .stream() helper."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionChunk
from opentelemetry.trace import StatusCode

from otel_llmcost.instrumentation import LLMCostInstrumentor
from otel_llmcost.instrumentation._streams import AsyncStreamProxy, SyncStreamProxy
from otel_llmcost.instrumentation._tokens import count_message_tokens, count_tokens
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

PROMPT_ESTIMATE = count_message_tokens(["hello"], "gpt-4o-mini")


def _text(chunks: list[ChatCompletionChunk]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def _assert_exact(otel: Otel) -> dict[str, Any]:
    a = attrs(only_span(otel))
    assert usage_of(only_span(otel)) == (1200, 50)
    assert a["gen_ai.usage.cost.amount"] == mini_cost(176, 1024, 50)
    assert "llmcost.usage.estimated" not in a
    return a


def test_injected_usage_chunk_is_consumed_and_priced_exactly(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI
) -> None:
    sim.set_rule("gpt-4o-mini", CACHED_RULE)
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True)
    assert isinstance(stream, SyncStreamProxy) and isinstance(stream, openai.Stream)
    chunks = list(stream)

    assert body(sim)["stream_options"] == {"include_usage": True}
    assert len(chunks) == 22  # role, 20 deltas, finish: exactly what the app gets without us
    assert all(c.choices and c.usage is None for c in chunks)
    a = _assert_exact(otel)
    assert a["gen_ai.response.id"] == chunks[0].id
    assert a["gen_ai.response.finish_reasons"] == ("stop",)
    assert a["llmcost.request.streaming"] is True
    assert a["openai.response.service_tier"] == "default"


def test_caller_requested_usage_chunk_is_delivered(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI
) -> None:
    sim.set_rule("gpt-4o-mini", CACHED_RULE)
    chunks = list(
        client.chat.completions.create(
            model="gpt-4o-mini", messages=HELLO, stream=True, stream_options={"include_usage": True}
        )
    )
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.prompt_tokens == 1200
    _assert_exact(otel)


def test_caller_stream_options_are_merged_not_replaced(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI
) -> None:
    options = {"include_obfuscation": False}
    list(
        client.chat.completions.create(
            model="gpt-4o-mini", messages=HELLO, stream=True, stream_options=options
        )
    )
    assert body(sim)["stream_options"] == {"include_obfuscation": False, "include_usage": True}
    assert options == {"include_obfuscation": False}  # the caller's dict is not touched


def test_caller_extra_body_is_kept_beside_the_injected_stream_options(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI
) -> None:
    sim.set_rule("gpt-4o-mini", CACHED_RULE)
    extra = {"user_tag": "t1"}
    chunks = list(
        client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True, extra_body=extra)
    )
    sent = body(sim)
    assert sent["user_tag"] == "t1"
    assert list(sent)[-2:] == ["user_tag", "stream_options"]
    assert sent["stream_options"] == {"include_usage": True}
    assert extra == {"user_tag": "t1"}  # the caller's dict is not touched
    assert len(chunks) == 22
    _assert_exact(otel)


def _estimated(otel: Otel, text: str) -> None:
    a = attrs(only_span(otel))
    assert a["llmcost.usage.estimated"] is True
    assert usage_of(only_span(otel)) == (PROMPT_ESTIMATE, count_tokens(text, "gpt-4o-mini"))
    assert a["gen_ai.usage.cost.amount"] == mini_cost(PROMPT_ESTIMATE, 0, count_tokens(text, "gpt-4o-mini"))


def test_explicit_include_usage_false_is_respected_and_estimated(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI
) -> None:
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=HELLO, stream=True, stream_options={"include_usage": False}
    )
    chunks = list(stream)
    assert body(sim)["stream_options"] == {"include_usage": False}
    _estimated(otel, _text(chunks))


def _uninstrumented_then_instrumented(otel: Otel, pricer: Pricer, sim: Simulator, **kwargs: Any) -> str:
    with openai.OpenAI(base_url=sim.openai_base_url, api_key="test", max_retries=0) as client:
        list(client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True))
        with instrumentation(otel, pricer, **kwargs):
            chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True))
    before, after = sim.requests
    assert after.body == before.body and dict(after.headers) == dict(before.headers)
    assert "stream_options" not in body(sim)
    return _text(chunks)


def test_opt_out_setting_leaves_the_request_untouched(otel: Otel, pricer: Pricer, sim: Simulator) -> None:
    _estimated(otel, _uninstrumented_then_instrumented(otel, pricer, sim, include_usage=False))


def test_opt_out_env_leaves_the_request_untouched(
    otel: Otel, pricer: Pricer, sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_LLMCOST_INCLUDE_USAGE", "false")
    _estimated(otel, _uninstrumented_then_instrumented(otel, pricer, sim))


def test_stream_stopped_early_ends_the_span_with_an_estimate(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI
) -> None:
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True)
    seen = []
    for chunk in stream:
        seen.append(chunk)
        if len(seen) == 4:
            break
    assert otel.genai_spans() == []
    stream.close()
    _estimated(otel, _text(seen))
    assert "gen_ai.response.finish_reasons" not in attrs(only_span(otel))


def test_a_stream_left_and_resumed_is_priced_once_exactly(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI
) -> None:
    sim.set_rule("gpt-4o-mini", CACHED_RULE)
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True)
    seen = []
    for chunk in stream:
        seen.append(chunk)
        if len(seen) == 3:
            break
    assert otel.genai_spans() == []
    seen.extend(stream)  # the same stream, picked up where the loop left it
    assert len(seen) == 22 and all(c.choices for c in seen)
    a = _assert_exact(otel)
    assert a["gen_ai.response.finish_reasons"] == ("stop",)


def test_stream_failing_midway_records_the_error_and_what_streamed(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI
) -> None:
    sim.config.fail_mid_stream = True
    sim.config.fail_after_chunks = 3
    seen: list[ChatCompletionChunk] = []
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True)
    with pytest.raises(openai.APIConnectionError):
        seen.extend(stream)
    span = only_span(otel)
    assert span.status.status_code is StatusCode.ERROR
    a = attrs(span)
    assert a["error.type"] == "APIConnectionError"
    assert a["llmcost.usage.estimated"] is True
    assert usage_of(span) == (PROMPT_ESTIMATE, count_tokens(_text(seen), "gpt-4o-mini"))


def test_stream_as_context_manager(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI
) -> None:
    sim.set_rule("gpt-4o-mini", CACHED_RULE)
    with client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True) as stream:
        chunks = list(stream)
    assert len(chunks) == 22
    _assert_exact(otel)


def _final_completion(client: openai.OpenAI) -> dict[str, Any]:
    with client.chat.completions.stream(model="gpt-4o-mini", messages=HELLO) as stream:
        text = "".join(e.delta for e in stream if e.type == "content.delta")
        final = stream.get_final_completion()
    assert final.choices[0].message.content == text
    return final.model_dump(exclude={"id"})


def test_stream_helper_one_span_and_the_same_final_completion(
    otel: Otel, pricer: Pricer, sim: Simulator
) -> None:
    sim.clock = lambda: 1_700_000_000
    sim.set_rule("gpt-4o-mini", CACHED_RULE)
    with openai.OpenAI(base_url=sim.openai_base_url, api_key="test", max_retries=0) as client:
        plain = _final_completion(client)
        with instrumentation(otel, pricer):
            observed = _final_completion(client)
    assert observed == plain
    assert plain["usage"] is None
    assert body(sim, 0).get("stream_options") is None
    assert body(sim, 1)["stream_options"] == {"include_usage": True}
    _assert_exact(otel)


def test_stream_helper_left_early_ends_its_span_on_exit(
    otel: Otel, instrumented: LLMCostInstrumentor, client: openai.OpenAI
) -> None:
    with client.chat.completions.stream(model="gpt-4o-mini", messages=HELLO) as stream:
        for event in stream:
            if event.type == "content.delta":
                break
        assert otel.genai_spans() == []
    assert stream is not None  # still referenced: the span must not wait for garbage collection
    a = attrs(only_span(otel))
    assert a["llmcost.usage.estimated"] is True
    assert a["gen_ai.usage.input_tokens"] == PROMPT_ESTIMATE


def test_async_stream_and_async_helper(otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator) -> None:
    sim.set_rule("gpt-4o-mini", CACHED_RULE)

    async def run() -> tuple[list[ChatCompletionChunk], Any]:
        async with async_client(sim) as client:
            stream = await client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True)
            assert isinstance(stream, AsyncStreamProxy) and isinstance(stream, openai.AsyncStream)
            chunks = [chunk async for chunk in stream]
            async with client.chat.completions.stream(model="gpt-4o-mini", messages=HELLO) as helper:
                final = await helper.get_final_completion()
            return chunks, final

    chunks, final = asyncio.run(run())
    assert len(chunks) == 22 and all(c.choices and c.usage is None for c in chunks)
    assert final.usage is None and final.choices[0].message.content == _text(chunks)
    spans = otel.genai_spans()
    assert len(spans) == 2
    for span in spans:
        assert usage_of(span) == (1200, 50)
        assert attrs(span)["gen_ai.usage.cost.amount"] == mini_cost(176, 1024, 50)


def test_async_stream_closed_early(otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator) -> None:
    async def run() -> list[ChatCompletionChunk]:
        async with async_client(sim) as client:
            stream = await client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True)
            seen = []
            async for chunk in stream:
                seen.append(chunk)
                if len(seen) == 3:
                    break
            await stream.close()
            assert len(otel.genai_spans()) == 1
            return seen

    _estimated(otel, _text(asyncio.run(run())))


def test_time_to_first_chunk_is_recorded_for_streams(
    otel: Otel, instrumented: LLMCostInstrumentor, client: openai.OpenAI
) -> None:
    list(client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True))
    (point,) = otel.metrics()["gen_ai.client.operation.time_to_first_chunk"]
    assert point.count == 1
    assert point.attributes["gen_ai.operation.name"] == "chat"
    assert point.attributes["gen_ai.request.model"] == "gpt-4o-mini"


def test_async_stream_helper_left_early_ends_its_span_on_exit(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator
) -> None:
    async def run() -> None:
        async with async_client(sim) as client:
            async with client.chat.completions.stream(model="gpt-4o-mini", messages=HELLO) as stream:
                async for event in stream:
                    if event.type == "content.delta":
                        break
                assert otel.genai_spans() == []
            assert len(otel.genai_spans()) == 1

    asyncio.run(run())
    assert attrs(only_span(otel))["llmcost.usage.estimated"] is True


@pytest.mark.parametrize("instrumentor_kwargs", [{"capture_content": True}])
def test_streamed_content_is_captured_when_enabled(
    otel: Otel, instrumented: LLMCostInstrumentor, client: openai.OpenAI
) -> None:
    chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True))
    output = json.loads(str(attrs(only_span(otel))["gen_ai.output.messages"]))
    assert output == [
        {"role": "assistant", "parts": [{"type": "text", "content": _text(chunks)}], "finish_reason": "stop"}
    ]
