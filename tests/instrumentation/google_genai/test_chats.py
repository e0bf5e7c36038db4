"""Chats and automatic function calling: one span per model request, none for the app's tools."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from google import genai
from google.genai import types

from otel_llmcost.instrumentation._telemetry import Telemetry
from otel_llmcost.simulator import Simulator
from tests.instrumentation.conftest import Otel

from .conftest import FLASH_COST, RULE, Canned, answer, cost, only_span

pytestmark = pytest.mark.usefixtures("instrumented")


def test_chat_turn_is_one_span_with_exact_usage(otel: Otel, sim: Simulator, gem: genai.Client) -> None:
    sim.set_rule("gemini-2.5-*", RULE)
    chat = gem.chats.create(model="gemini-2.5-flash")
    response = chat.send_message("hello")
    attrs = only_span(otel).attributes or {}
    assert attrs["gen_ai.response.id"] == response.response_id
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (1200, 50)
    assert attrs["gen_ai.usage.cost.amount"] == float(FLASH_COST)
    chat.send_message("and again")
    assert len(otel.genai_spans()) == 2 and len(sim.requests) == 2


def test_chat_stream_turn_is_one_span(otel: Otel, sim: Simulator, gem: genai.Client) -> None:
    sim.set_rule("gemini-2.5-*", RULE)
    chat = gem.chats.create(model="gemini-2.5-flash")
    assert len(list(chat.send_message_stream("hello"))) == 20
    attrs = only_span(otel).attributes or {}
    assert attrs["llmcost.request.streaming"] is True
    assert attrs["gen_ai.usage.cost.amount"] == float(FLASH_COST)


def test_async_chat_turns(otel: Otel, sim: Simulator, gem: genai.Client) -> None:
    sim.set_rule("gemini-2.5-*", RULE)

    async def run() -> None:
        chat = gem.aio.chats.create(model="gemini-2.5-flash")
        await chat.send_message("hello")
        async for _ in await chat.send_message_stream("more"):
            pass
        await gem.aio.aclose()

    asyncio.run(run())
    spans = otel.genai_spans()
    assert len(spans) == 2
    assert [(s.attributes or {}).get("llmcost.request.streaming") for s in spans] == [None, True]
    assert all((s.attributes or {})["gen_ai.usage.cost.amount"] == float(FLASH_COST) for s in spans)


def _usage(prompt: int, candidates: int) -> dict[str, int]:
    return {
        "promptTokenCount": prompt,
        "candidatesTokenCount": candidates,
        "totalTokenCount": prompt + candidates,
    }


def test_automatic_function_calling_prices_every_round(
    otel: Otel, canned: Canned, canned_client: Callable[..., genai.Client]
) -> None:
    client = canned_client()
    call = {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}
    canned.add_json(answer(parts=[call], usage=_usage(100, 10), response_id="round-1"))
    canned.add_json(
        answer("sunny in summary", usage=_usage(20, 3), response_id="nested", model="gemini-2.5-pro")
    )
    canned.add_json(answer("It is sunny.", usage=_usage(130, 5), response_id="round-2"))
    seen_in_call = []

    def get_weather(city: str) -> str:
        """The weather in a city (calls a model itself, as agent tools do)."""
        seen_in_call.append(Telemetry.in_call())
        nested = client.models.generate_content(model="gemini-2.5-pro", contents=f"weather in {city}?")
        return nested.text or ""

    config = types.GenerateContentConfig(tools=[get_weather])
    response = client.models.generate_content(model="gemini-2.5-flash", contents="weather?", config=config)
    assert response.text == "It is sunny."
    assert seen_in_call == [False]  # the app's tool runs outside any call of ours
    by_id = {(s.attributes or {})["gen_ai.response.id"]: s.attributes or {} for s in otel.genai_spans()}
    assert set(by_id) == {"round-1", "nested", "round-2"}
    assert [by_id[i]["gen_ai.usage.input_tokens"] for i in ("round-1", "nested", "round-2")] == [100, 20, 130]
    assert [by_id[i]["gen_ai.usage.output_tokens"] for i in ("round-1", "nested", "round-2")] == [10, 3, 5]
    assert by_id["nested"]["gen_ai.request.model"] == "gemini-2.5-pro"
    assert by_id["round-1"]["gen_ai.usage.cost.amount"] == cost("0.000055")  # 100 x .30 + 10 x 2.50


def test_chat_with_tools_one_span_per_round(
    otel: Otel, canned: Canned, canned_client: Callable[..., genai.Client]
) -> None:
    client = canned_client()
    call = {"functionCall": {"name": "add", "args": {"a": 2, "b": 3}}}
    canned.add_json(answer(parts=[call], usage=_usage(50, 8), response_id="r1"))
    canned.add_json(answer("5", usage=_usage(70, 1), response_id="r2"))

    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    chat = client.chats.create(model="gemini-2.5-flash", config=types.GenerateContentConfig(tools=[add]))
    assert chat.send_message("2 + 3?").text == "5"
    spans = otel.genai_spans()
    assert [(s.attributes or {})["gen_ai.usage.input_tokens"] for s in spans] == [50, 70]


def test_single_span_when_called_inside_another_call(otel: Otel, sim: Simulator, gem: genai.Client) -> None:
    # A chat turn goes Chat.send_message -> Models.generate_content -> Models._generate_content:
    # only the request-level method records.
    gem.chats.create(model="gemini-2.5-flash").send_message("hi")
    only_span(otel)


def test_streamed_function_calling_prices_every_round(
    otel: Otel, canned: Canned, canned_client: Callable[..., genai.Client]
) -> None:
    client = canned_client()
    call = {"functionCall": {"name": "lookup", "args": {"key": "x"}}}
    canned.add_sse(answer(parts=[call], usage=_usage(40, 6), response_id="s1"))
    canned.add_json(answer("nested", usage=_usage(9, 2), response_id="nested"))
    canned.add_sse(answer("done", usage=_usage(60, 4), response_id="s2"))

    def lookup(key: str) -> str:
        """Look a key up (with a model call of its own)."""
        return client.models.generate_content(model="gemini-2.5-flash", contents=key).text or ""

    config = types.GenerateContentConfig(tools=[lookup])
    chunks = list(
        client.models.generate_content_stream(model="gemini-2.5-flash", contents="go", config=config)
    )
    assert chunks[-1].text == "done"
    usage = {
        (s.attributes or {})["gen_ai.response.id"]: (s.attributes or {})["gen_ai.usage.input_tokens"]
        for s in otel.genai_spans()
    }
    assert usage == {"s1": 40, "nested": 9, "s2": 60}
