"""Responses API: create, stream, the .stream() helper, parse, retrieve(stream=True) and its dedup."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import openai
import pytest
from openai.types.responses import ParsedResponse, Response
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import StatusCode

from otel_llmcost.instrumentation import LLMCostInstrumentor
from otel_llmcost.instrumentation._streams import SyncStreamProxy
from otel_llmcost.instrumentation._tokens import count_message_tokens, count_tokens
from otel_llmcost.instrumentation.openai._responses import PricedIds
from otel_llmcost.simulator import Simulator, UsageRule
from tests.instrumentation.conftest import Otel

from .conftest import CACHED_RULE, async_client, attrs, body, only_span, usage_of

O4_IN, O4_CACHED, O4_OUT = Decimal("1.1e-6"), Decimal("0.275e-6"), Decimal("4.4e-6")
EXACT = float(176 * O4_IN + 1024 * O4_CACHED + 50 * O4_OUT)


@pytest.fixture(autouse=True)
def _o4_rule(sim: Simulator) -> None:
    sim.set_rule("o4-mini", CACHED_RULE)


def _assert_exact(span: Any, response_id: str) -> None:
    a = attrs(span)
    assert span.name == "chat o4-mini"
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.response.id"] == response_id
    assert a["gen_ai.response.model"] == "o4-mini"
    assert a["gen_ai.response.finish_reasons"] == ("stop",)
    assert usage_of(span) == (1200, 50)
    assert a["gen_ai.usage.cache_read.input_tokens"] == 1024
    assert a["gen_ai.usage.reasoning.output_tokens"] == 30
    assert a["gen_ai.usage.cost.amount"] == EXACT
    assert a["llmcost.cost.reasoning"] == float(30 * O4_OUT)


def test_create(otel: Otel, instrumented: LLMCostInstrumentor, client: openai.OpenAI) -> None:
    response = client.responses.create(
        model="o4-mini", input="hello", instructions="Be brief.", max_output_tokens=500
    )
    assert type(response) is Response
    span = only_span(otel)
    _assert_exact(span, response.id)
    assert attrs(span)["gen_ai.request.max_tokens"] == 500
    assert attrs(span)["openai.response.service_tier"] == "default"


def test_incomplete_response_is_flagged_truncated(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI
) -> None:
    sim.remove_rule("o4-mini")
    response = client.responses.create(model="o4-mini", input="hello", max_output_tokens=5)
    assert response.status == "incomplete"
    a = attrs(only_span(otel))
    assert a["gen_ai.response.finish_reasons"] == ("max_output_tokens",)
    assert a["llmcost.response.truncated"] is True
    assert a["gen_ai.usage.output_tokens"] == 5


def test_stream_delivers_every_event(
    otel: Otel, instrumented: LLMCostInstrumentor, client: openai.OpenAI
) -> None:
    stream = client.responses.create(model="o4-mini", input="hello", stream=True)
    assert isinstance(stream, SyncStreamProxy)
    events = list(stream)
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[-1].type == "response.completed"
    _assert_exact(only_span(otel), events[-1].response.id)
    assert attrs(only_span(otel))["llmcost.request.streaming"] is True


def test_stream_helper_one_span(otel: Otel, instrumented: LLMCostInstrumentor, client: openai.OpenAI) -> None:
    with client.responses.stream(model="o4-mini", input="hello") as stream:
        text = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
        final = stream.get_final_response()
    assert final.output_text == text
    _assert_exact(only_span(otel), final.id)


def test_stream_helper_left_early_is_estimated_on_exit(
    otel: Otel, instrumented: LLMCostInstrumentor, client: openai.OpenAI
) -> None:
    deltas = []
    with client.responses.stream(model="o4-mini", input="hello", instructions="Be brief.") as stream:
        for event in stream:
            if event.type == "response.output_text.delta":
                deltas.append(event.delta)
                if len(deltas) == 3:
                    break
    a = attrs(only_span(otel))
    assert a["llmcost.usage.estimated"] is True
    prompt = count_message_tokens(["Be brief.", "hello"], "o4-mini")
    assert usage_of(only_span(otel)) == (prompt, count_tokens("".join(deltas), "o4-mini"))
    # Estimated here counts as priced here: a replay of it adds nothing.
    list(client.responses.retrieve(str(a["gen_ai.response.id"]), stream=True))
    assert len(otel.genai_spans()) == 1


def test_parse(otel: Otel, instrumented: LLMCostInstrumentor, client: openai.OpenAI) -> None:
    parsed = client.responses.parse(model="o4-mini", input="hello")
    assert isinstance(parsed, ParsedResponse)
    _assert_exact(only_span(otel), parsed.id)


def test_retrieve_stream_of_a_response_priced_here_is_not_counted_again(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI
) -> None:
    response = client.responses.create(model="o4-mini", input="hello")
    replay = list(client.responses.retrieve(response.id, stream=True))
    assert replay[-1].type == "response.completed"
    with client.responses.stream(response_id=response.id) as helper:
        assert helper.get_final_response().id == response.id
    assert len(sim.requests) == 3
    _assert_exact(only_span(otel), response.id)


def test_retrieve_stream_of_a_response_not_priced_here_is_priced_once(
    otel: Otel, instrumented: LLMCostInstrumentor, client: openai.OpenAI
) -> None:
    with suppress_instrumentation():  # as if created by another process, or in background
        response = client.responses.create(model="o4-mini", input="hello")
    assert otel.genai_spans() == []
    stream = client.responses.retrieve(response.id, stream=True)
    list(stream)
    list(client.responses.retrieve(response.id, stream=True))
    span = only_span(otel)
    assert span.name == "chat"  # no model is known before the replay says
    _assert_exact_replay(span, response.id)


def _assert_exact_replay(span: Any, response_id: str) -> None:
    a = attrs(span)
    assert "gen_ai.request.model" not in a
    assert a["gen_ai.response.model"] == "o4-mini"
    assert a["gen_ai.response.id"] == response_id
    assert a["gen_ai.usage.cost.amount"] == EXACT


def test_retrieve_stream_left_early_records_no_usage_and_a_later_replay_prices_it(
    otel: Otel, instrumented: LLMCostInstrumentor, client: openai.OpenAI
) -> None:
    with suppress_instrumentation():
        response = client.responses.create(model="o4-mini", input="hello")
    stream = client.responses.retrieve(response.id, stream=True)
    next(iter(stream))
    stream.close()
    list(client.responses.retrieve(response.id, stream=True, starting_after=3))
    early, full = otel.genai_spans()
    assert "gen_ai.usage.input_tokens" not in attrs(early)
    assert "llmcost.cost.unpriced" not in attrs(early)
    _assert_exact_replay(full, response.id)


def test_non_streamed_retrieve_is_passed_through(
    otel: Otel, instrumented: LLMCostInstrumentor, client: openai.OpenAI
) -> None:
    with suppress_instrumentation():
        response = client.responses.create(model="o4-mini", input="hello")
    assert type(client.responses.retrieve(response.id)) is Response
    assert otel.genai_spans() == []


def test_rate_limited_stream_create(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI
) -> None:
    sim.inject_error(429)
    with pytest.raises(openai.RateLimitError):
        client.responses.create(model="o4-mini", input="hello", stream=True)
    span = only_span(otel)
    assert span.status.status_code is StatusCode.ERROR
    assert attrs(span)["error.type"] == "RateLimitError"


def test_async_create_stream_and_retrieve(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator
) -> None:
    async def run() -> list[str]:
        async with async_client(sim) as client:
            created = await client.responses.create(model="o4-mini", input="hello")
            streamed = [
                e async for e in await client.responses.create(model="o4-mini", input="hi", stream=True)
            ]
            async with client.responses.stream(model="o4-mini", input="hey") as helper:
                final = await helper.get_final_response()
            with suppress_instrumentation():
                elsewhere = await client.responses.create(model="o4-mini", input="yo")
            replayed = [e async for e in await client.responses.retrieve(elsewhere.id, stream=True)]
            again = await client.responses.retrieve(created.id, stream=True)
            assert [e async for e in again][-1].type == "response.completed"
            parsed = await client.responses.parse(model="o4-mini", input="hello")
            assert isinstance(parsed, ParsedResponse)
            return [created.id, streamed[-1].response.id, final.id, replayed[-1].response.id, parsed.id]

    ids = asyncio.run(run())
    spans = otel.genai_spans()
    assert [attrs(s)["gen_ai.response.id"] for s in spans] == ids
    for span in spans:
        assert attrs(span)["gen_ai.usage.cost.amount"] == EXACT
    assert body(sim, 0)["model"] == "o4-mini"


def test_priced_ids_is_a_bounded_lru() -> None:
    ids = PricedIds(size=2)
    for response_id in ("a", "b", "a", "c"):
        ids.add(response_id)
    assert "a" in ids and "c" in ids and "b" not in ids
    assert len(ids) == 2


def test_usage_rule_response_model_is_priced(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI
) -> None:
    sim.set_rule(
        "o4-mini", UsageRule(prompt_tokens=100, completion_tokens=10, response_model="o4-mini-2025-04-16")
    )
    client.responses.create(model="o4-mini", input="hello")
    a = attrs(only_span(otel))
    assert a["gen_ai.response.model"] == "o4-mini-2025-04-16"
    assert a["gen_ai.usage.cost.amount"] == float(100 * O4_IN + 10 * O4_OUT)


@pytest.mark.parametrize("instrumentor_kwargs", [{"capture_content": True}])
def test_content_capture(otel: Otel, instrumented: LLMCostInstrumentor, client: openai.OpenAI) -> None:
    response = client.responses.create(model="o4-mini", input="hello", instructions="Be brief.")
    a = attrs(only_span(otel))
    assert json.loads(str(a["gen_ai.input.messages"])) == [
        {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
        {"role": "user", "parts": [{"type": "text", "content": "hello"}]},
    ]
    assert json.loads(str(a["gen_ai.output.messages"])) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": response.output_text}],
            "finish_reason": "stop",
        }
    ]
