"""messages.create / messages.parse (stable and beta, sync and async): exact usage and cost."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import anthropic
import httpx2
import pydantic
import pytest
from anthropic.types import Message, ParsedMessage
from anthropic.types.beta import BetaMessage

from otel_llmcost.instrumentation import LLMCostInstrumentor
from otel_llmcost.simulator import Simulator, UsageRule
from tests.instrumentation.anthropic._support import (
    COST_TOTAL,
    DEPRECATED_MODEL,
    KWARGS,
    MESSAGES,
    MODEL,
    assert_cache_scenario,
    only_span,
)
from tests.instrumentation.conftest import Otel

pytestmark = [DEPRECATED_MODEL, pytest.mark.usefixtures("instrumented")]


def test_create_exact_usage_and_cost(client: anthropic.Anthropic, otel: Otel) -> None:
    message = client.messages.create(**KWARGS)

    assert type(message) is Message  # the SDK's own object, untouched
    assert message.usage.input_tokens == 176
    assert_cache_scenario(only_span(otel))


def test_create_async(make_async: Callable[[], anthropic.AsyncAnthropic], otel: Otel) -> None:
    async def run() -> Any:
        async with make_async() as client:
            return await client.messages.create(**KWARGS)

    message = asyncio.run(run())

    assert type(message) is Message
    assert_cache_scenario(only_span(otel))


def test_beta_create_sync_and_async(
    client: anthropic.Anthropic, make_async: Callable[[], anthropic.AsyncAnthropic], otel: Otel
) -> None:
    message = client.beta.messages.create(**KWARGS, betas=["context-management-2025-06-27"])

    async def run() -> Any:
        async with make_async() as aclient:
            return await aclient.beta.messages.create(**KWARGS)

    amessage = asyncio.run(run())

    assert type(message) is BetaMessage and type(amessage) is BetaMessage
    spans = otel.genai_spans()
    assert len(spans) == 2
    for span in spans:
        assert_cache_scenario(span)


class Greeting(pydantic.BaseModel):
    text: str


@pytest.mark.parametrize("beta", [False, True])
def test_parse_sync_and_async(
    beta: bool,
    client: anthropic.Anthropic,
    make_async: Callable[[], anthropic.AsyncAnthropic],
    otel: Otel,
) -> None:
    resource = client.beta.messages if beta else client.messages
    parsed = resource.parse(**KWARGS)

    async def run() -> Any:
        async with make_async() as aclient:
            aresource = aclient.beta.messages if beta else aclient.messages
            return await aresource.parse(**KWARGS)

    aparsed = asyncio.run(run())

    assert isinstance(parsed, (ParsedMessage, BetaMessage)) and isinstance(aparsed, type(parsed))
    spans = otel.genai_spans()
    assert len(spans) == 2
    for span in spans:
        assert_cache_scenario(span)


def test_metrics(client: anthropic.Anthropic, otel: Otel) -> None:
    client.messages.create(**KWARGS)

    metrics = otel.metrics()
    base = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": MODEL,
        "gen_ai.response.model": MODEL,
        "server.address": "127.0.0.1",
    }
    tokens = {p.attributes["gen_ai.token.type"]: p for p in metrics["gen_ai.client.token.usage"]}
    assert tokens["input"].sum == 2000 and tokens["input"].count == 1
    assert tokens["output"].sum == 50
    (duration,) = metrics["gen_ai.client.operation.duration"]
    assert {k: v for k, v in duration.attributes.items() if k != "server.port"} == base
    assert duration.count == 1
    (cost,) = metrics["llmcost.client.cost"]
    assert cost.value == float(COST_TOTAL)
    assert "gen_ai.client.operation.time_to_first_chunk" not in metrics


def test_max_tokens_truncation(client: anthropic.Anthropic, cache_sim: Simulator, otel: Otel) -> None:
    cache_sim.set_rule(f"{MODEL}*", UsageRule(prompt_tokens=12))  # 20 reply tokens by default
    message = client.messages.create(**{**KWARGS, "max_tokens": 5})

    assert message.stop_reason == "max_tokens"
    a = only_span(otel).attributes or {}
    assert a["gen_ai.response.finish_reasons"] == ("max_tokens",)
    assert a["llmcost.response.truncated"] is True
    assert a["gen_ai.usage.output_tokens"] == 5
    assert "llmcost.response.max_tokens_exceeded" not in a
    assert a["gen_ai.usage.cost.amount"] == float(Decimal(12 * 3 + 5 * 15) / 1_000_000)


def test_max_tokens_exceeded(client: anthropic.Anthropic, cache_sim: Simulator, otel: Otel) -> None:
    cache_sim.set_rule(f"{MODEL}*", UsageRule(prompt_tokens=12, completion_tokens=9, ignore_max_tokens=True))
    client.messages.create(**{**KWARGS, "max_tokens": 5})

    a = only_span(otel).attributes or {}
    assert a["gen_ai.usage.output_tokens"] == 9
    assert a["llmcost.response.max_tokens_exceeded"] is True
    assert "llmcost.response.truncated" not in a


@pytest.mark.parametrize("instrumentor_kwargs", [{"capture_content": True}])
def test_capture_content(client: anthropic.Anthropic, otel: Otel) -> None:
    message = client.messages.create(**KWARGS, system="Be brief.")

    a = only_span(otel).attributes or {}
    assert json.loads(str(a["gen_ai.input.messages"])) == [
        {"role": "user", "parts": [{"type": "text", "content": "Say hello."}]}
    ]
    assert json.loads(str(a["gen_ai.system_instructions"])) == [{"type": "text", "content": "Be brief."}]
    text = message.content[0].text  # type: ignore[union-attr]
    assert json.loads(str(a["gen_ai.output.messages"])) == [
        {"role": "assistant", "parts": [{"type": "text", "content": text}], "finish_reason": "end_turn"}
    ]


def test_no_content_by_default_but_fingerprint(client: anthropic.Anthropic, otel: Otel) -> None:
    client.messages.create(**KWARGS, system="Be brief.")
    client.messages.create(**KWARGS, system="Be brief.")

    first, second = otel.genai_spans()
    for span in (first, second):
        a = span.attributes or {}
        assert not {"gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions"} & set(a)
    fingerprint = (first.attributes or {})["llmcost.prompt.fingerprint"]
    assert isinstance(fingerprint, str) and len(fingerprint) == 16
    assert (second.attributes or {})["llmcost.prompt.fingerprint"] == fingerprint


def test_request_service_tier_and_response_tier(client: anthropic.Anthropic, otel: Otel) -> None:
    client.messages.create(**KWARGS, service_tier="standard_only")

    a = only_span(otel).attributes or {}
    assert a["gen_ai.request.service_tier"] == "standard_only"
    assert a["anthropic.response.service_tier"] == "standard"
    assert a["gen_ai.usage.cost.amount"] == float(COST_TOTAL)


def test_web_search_priced_per_request(otel: Otel) -> None:
    body = {
        "id": "msg_ws",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [{"type": "text", "text": "Found it."}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 1000,
            "output_tokens": 100,
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 0,
            "server_tool_use": {"web_search_requests": 3},
            "service_tier": "standard",
        },
    }
    transport = httpx2.MockTransport(lambda request: httpx2.Response(200, json=body))
    with anthropic.Anthropic(
        api_key="k", base_url="https://api.anthropic.com", http_client=httpx2.Client(transport=transport)
    ) as client:
        client.messages.create(**KWARGS)

    a = only_span(otel).attributes or {}
    assert a["server.address"] == "api.anthropic.com" and a["server.port"] == 443
    assert a["llmcost.usage.web_search_requests"] == 3
    assert a["llmcost.cost.request_fees"] == float(Decimal("0.03"))
    tokens = Decimal(1000 * 3 + 100 * 15) / 1_000_000
    assert a["gen_ai.usage.cost.amount"] == float(tokens + Decimal("0.03"))


def test_response_service_tier_prices_the_call(otel: Otel) -> None:
    body = {
        "id": "msg_b",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 1000, "output_tokens": 100, "service_tier": "batch"},
    }
    transport = httpx2.MockTransport(lambda request: httpx2.Response(200, json=body))
    with anthropic.Anthropic(
        api_key="k", base_url="https://api.anthropic.com", http_client=httpx2.Client(transport=transport)
    ) as client:
        client.messages.create(**KWARGS)

    a = only_span(otel).attributes or {}
    assert a["anthropic.response.service_tier"] == "batch"
    assert a["llmcost.pricing.tier"] == "batch"
    # batch list prices: input $1.50, output $7.50 per 1M tokens
    assert a["gen_ai.usage.cost.amount"] == float(Decimal(1000 * 15 + 100 * 75) / 10 / 1_000_000)


def test_compaction_iterations_are_billed(otel: Otel) -> None:
    usage = {"input_tokens": 100, "output_tokens": 10, "cache_read_input_tokens": 0}
    iterations = [
        {"type": "compaction", "input_tokens": 5000, "output_tokens": 200},
        {"type": "message", "input_tokens": 100, "output_tokens": 10},
    ]
    body = {
        "id": "msg_c",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [],
        "stop_reason": "end_turn",
        "usage": {**usage, "iterations": iterations},
    }
    transport = httpx2.MockTransport(lambda request: httpx2.Response(200, json=body))
    with anthropic.Anthropic(
        api_key="k", base_url="https://api.anthropic.com", http_client=httpx2.Client(transport=transport)
    ) as client:
        client.beta.messages.create(**KWARGS)

    a = only_span(otel).attributes or {}
    assert a["gen_ai.usage.input_tokens"] == 5100
    assert a["gen_ai.usage.output_tokens"] == 210
    assert a["gen_ai.usage.cost.amount"] == float(Decimal(5100 * 3 + 210 * 15) / 1_000_000)


def test_with_raw_response_is_recorded_from_the_read_body(client: anthropic.Anthropic, otel: Otel) -> None:
    raw = client.messages.with_raw_response.create(**KWARGS)

    assert raw.http_response.status_code == 200
    assert type(raw.parse()) is Message
    assert_cache_scenario(only_span(otel))


def test_unknown_model_is_flagged_unpriced(
    client: anthropic.Anthropic, cache_sim: Simulator, otel: Otel
) -> None:
    cache_sim.set_rule("claude-internal-*", UsageRule(prompt_tokens=10, completion_tokens=2))
    client.messages.create(**{**KWARGS, "model": "claude-internal-x"})

    a = only_span(otel).attributes or {}
    assert a["llmcost.cost.unpriced"] is True
    assert "gen_ai.usage.cost.amount" not in a
    assert a["gen_ai.usage.input_tokens"] == 10


def test_messages_as_a_one_shot_iterable(
    client: anthropic.Anthropic, cache_sim: Simulator, otel: Otel
) -> None:
    # The SDK must still see every message: we never read iterables that are not lists.
    client.messages.create(model=MODEL, max_tokens=100, messages=iter(MESSAGES))  # type: ignore[arg-type]

    assert cache_sim.requests[-1].json()["messages"] == MESSAGES
    a = only_span(otel).attributes or {}
    assert "llmcost.prompt.fingerprint" not in a
    assert a["gen_ai.usage.input_tokens"] == 2000


def test_positional_misuse_passes_through(client: anthropic.Anthropic, otel: Otel) -> None:
    with pytest.raises(TypeError):
        client.messages.create(MODEL)  # type: ignore[misc,call-arg]
    assert otel.genai_spans() == []


def test_not_instrumented_twice(
    client: anthropic.Anthropic, instrumented: LLMCostInstrumentor, otel: Otel
) -> None:
    instrumented.instrument()  # BaseInstrumentor ignores a second instrument()
    client.messages.create(**KWARGS)
    assert len(otel.genai_spans()) == 1
