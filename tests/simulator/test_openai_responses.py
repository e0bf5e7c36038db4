"""OpenAI Responses API (create, stream, retrieve, replay) through the real openai SDK."""

from __future__ import annotations

import asyncio

import openai
import pytest
import quicktok

from otel_llmcost.simulator import Simulator, UsageRule

from .conftest import FIXED_TIME

ENC = quicktok.get_encoding("o200k_base")
RULE = UsageRule(prompt_tokens=1200, cached_tokens=1024, completion_tokens=50, reasoning_tokens=30)

STREAM_TYPES = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",  # reasoning item
    "response.output_item.done",
    "response.output_item.added",  # message
    "response.content_part.added",
    *["response.output_text.delta"] * 20,
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]


def test_create_reports_inclusive_usage_and_reasoning_item(sim: Simulator, oai: openai.OpenAI) -> None:
    sim.set_rule("o4-mini", RULE)
    response = oai.responses.create(model="o4-mini", input="hello", instructions="Be brief.")
    usage = response.usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (1200, 50, 1250)
    assert usage.input_tokens_details.cached_tokens == 1024
    assert usage.input_tokens_details.cache_write_tokens == 0
    assert usage.output_tokens_details.reasoning_tokens == 30
    assert [item.type for item in response.output] == ["reasoning", "message"]
    assert len(ENC.encode(response.output_text)) == 20
    assert (response.status, response.model, response.created_at) == ("completed", "o4-mini", FIXED_TIME)
    assert response.id.startswith("resp_sim")


def test_derived_input_counts_instructions_as_system_message(oai: openai.OpenAI) -> None:
    response = oai.responses.create(model="gpt-4.1", input="hello", instructions="Be brief.")
    expected = 3 + (3 + len(ENC.encode("system")) + len(ENC.encode("Be brief.")))
    expected += 3 + len(ENC.encode("user")) + len(ENC.encode("hello"))
    assert response.usage is not None and response.usage.input_tokens == expected


def test_cache_writes_are_reported_with_ttl_split(sim: Simulator, oai: openai.OpenAI) -> None:
    sim.set_rule(
        "gpt-5", UsageRule(prompt_tokens=3000, cached_tokens=1000, cache_write_5m=600, cache_write_1h=400)
    )
    usage = oai.responses.create(model="gpt-5", input="hi").usage
    assert usage is not None and usage.input_tokens == 3000
    details = usage.input_tokens_details
    assert (details.cached_tokens, details.cache_write_tokens) == (1000, 1000)
    assert details.cache_write_tokens_details is not None
    assert (
        details.cache_write_tokens_details.ttl_30m_tokens,
        details.cache_write_tokens_details.ttl_12h_tokens,
    ) == (
        600,
        400,
    )
    chat = oai.chat.completions.create(model="gpt-5", messages=[{"role": "user", "content": "hi"}]).usage
    assert chat is not None and chat.prompt_tokens_details is not None
    assert chat.prompt_tokens_details.cache_write_tokens == 1000


def test_stream_event_sequence_and_final_usage(sim: Simulator, oai: openai.OpenAI) -> None:
    sim.set_rule("o4-mini", RULE)
    events = list(oai.responses.create(model="o4-mini", input="hello", stream=True))
    assert [e.type for e in events] == STREAM_TYPES
    assert [e.sequence_number for e in events] == list(range(len(events)))
    final = events[-1]
    assert final.type == "response.completed"
    assert final.response.usage is not None and final.response.usage.output_tokens == 50
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == final.response.output_text


def test_stream_helper_final_response(oai: openai.OpenAI) -> None:
    with oai.responses.stream(model="gpt-4.1", input="hello") as stream:
        final = stream.get_final_response()
    assert final.usage is not None and final.usage.output_tokens == 20
    assert len(ENC.encode(final.output_text)) == 20


def test_max_output_tokens_makes_response_incomplete(oai: openai.OpenAI) -> None:
    response = oai.responses.create(model="gpt-4.1", input="hello", max_output_tokens=16)
    assert response.status == "incomplete"
    assert (
        response.incomplete_details is not None and response.incomplete_details.reason == "max_output_tokens"
    )
    assert response.usage is not None and response.usage.output_tokens == 16
    events = list(oai.responses.create(model="gpt-4.1", input="hello", max_output_tokens=16, stream=True))
    assert events[-1].type == "response.incomplete"


def test_retrieve_and_replay_stored_response(sim: Simulator, oai: openai.OpenAI) -> None:
    created = oai.responses.create(model="gpt-4.1", input="hello")
    assert oai.responses.retrieve(created.id) == created
    replay = list(oai.responses.retrieve(created.id, stream=True))
    assert replay[-1].type == "response.completed" and replay[-1].response.id == created.id
    tail = list(oai.responses.retrieve(created.id, stream=True, starting_after=replay[-3].sequence_number))
    assert [e.sequence_number for e in tail] == [e.sequence_number for e in replay[-2:]]
    assert sim.requests[-1].method == "GET" and sim.requests[-1].params["starting_after"]


def test_unstored_or_unknown_response_is_404(oai: openai.OpenAI) -> None:
    created = oai.responses.create(model="gpt-4.1", input="hello", store=False)
    with pytest.raises(openai.NotFoundError):
        oai.responses.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        oai.responses.retrieve("resp_missing")


def test_async_create_and_stream(sim: Simulator, aoai: openai.AsyncOpenAI) -> None:
    sim.set_rule("o4-mini", RULE)

    async def run() -> tuple[int, int]:
        async with aoai:
            response = await aoai.responses.create(model="o4-mini", input="hi")
            stream = await aoai.responses.create(model="o4-mini", input="hi", stream=True)
            types = [e.type async for e in stream]
        assert types == STREAM_TYPES
        assert response.usage is not None
        return response.usage.input_tokens, response.usage.output_tokens

    assert asyncio.run(run()) == (1200, 50)
