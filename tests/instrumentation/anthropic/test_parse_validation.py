"""messages.parse(output_format=...): a reply that fails validation was still generated and billed.

The SDK raises pydantic's ValidationError after the HTTP 200; the app gets that same exception
and our failed span keeps the reply's usage and cost.
"""

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
from anthropic.types import ParsedMessage

from otel_llmcost.simulator import Simulator
from tests.instrumentation.anthropic._support import (
    COST_CACHE_READ,
    COST_CACHE_WRITE,
    COST_INPUT,
    COST_OUTPUT,
    COST_TOTAL,
    DEPRECATED_MODEL,
    KWARGS,
    MODEL,
    only_span,
)
from tests.instrumentation.conftest import Otel

pytestmark = [DEPRECATED_MODEL, pytest.mark.usefixtures("instrumented")]


class Greeting(pydantic.BaseModel):
    text: str


def assert_failed_but_billed(otel: Otel) -> None:
    """One failed span per call, with the cache scenario's exact usage and cost."""
    spans = otel.genai_spans()
    assert [s.instrumentation_scope.name for s in spans if s.instrumentation_scope] == [
        "otel_llmcost.instrumentation"
    ] * len(spans)
    for span in spans:
        a = span.attributes or {}
        assert span.name == f"chat {MODEL}"
        assert a["error.type"] == "ValidationError"
        assert not span.status.is_ok
        assert a["gen_ai.response.model"] == MODEL
        assert str(a["gen_ai.response.id"]).startswith("msg_sim")
        assert a["gen_ai.response.finish_reasons"] == ("end_turn",)
        assert a["gen_ai.usage.input_tokens"] == 2000
        assert a["gen_ai.usage.output_tokens"] == 50
        assert a["gen_ai.usage.cache_read.input_tokens"] == 1024
        assert a["gen_ai.usage.cache_write.input_tokens"] == 800
        assert a["gen_ai.usage.cost.amount"] == float(COST_TOTAL)
        assert a["llmcost.cost.input"] == float(COST_INPUT)
        assert a["llmcost.cost.cache_read"] == float(COST_CACHE_READ)
        assert a["llmcost.cost.cache_write"] == float(COST_CACHE_WRITE)
        assert a["llmcost.cost.output"] == float(COST_OUTPUT)
        assert "llmcost.usage.estimated" not in a


@pytest.mark.parametrize("beta", [False, True])
def test_validation_failure_keeps_usage_sync(beta: bool, client: anthropic.Anthropic, otel: Otel) -> None:
    resource = client.beta.messages if beta else client.messages
    with pytest.raises(pydantic.ValidationError) as caught:
        resource.parse(**KWARGS, output_format=Greeting)  # the simulator answers in plain words

    assert type(caught.value) is pydantic.ValidationError
    assert caught.value.title == "Greeting"
    assert_failed_but_billed(otel)
    (cost,) = otel.metrics()["llmcost.client.cost"]
    assert cost.value == float(COST_TOTAL)


@pytest.mark.parametrize("beta", [False, True])
def test_validation_failure_keeps_usage_async(
    beta: bool, make_async: Callable[[], anthropic.AsyncAnthropic], otel: Otel
) -> None:
    async def run() -> BaseException | None:
        async with make_async() as client:
            resource = client.beta.messages if beta else client.messages
            try:
                await resource.parse(**KWARGS, output_format=Greeting)
            except pydantic.ValidationError as err:
                return err
        return None

    error = asyncio.run(run())
    assert type(error) is pydantic.ValidationError
    assert_failed_but_billed(otel)


def test_usage_of_one_call_never_lands_on_the_next(
    client: anthropic.Anthropic, cache_sim: Simulator, otel: Otel
) -> None:
    with pytest.raises(pydantic.ValidationError):
        client.messages.parse(**KWARGS, output_format=Greeting)
    cache_sim.inject_error(429, provider="anthropic")
    with pytest.raises(anthropic.RateLimitError):
        client.messages.parse(**KWARGS, output_format=Greeting)

    first, second = otel.genai_spans()
    assert (first.attributes or {})["gen_ai.usage.cost.amount"] == float(COST_TOTAL)
    b = second.attributes or {}
    assert b["error.type"] == "RateLimitError"
    assert "gen_ai.usage.input_tokens" not in b and "gen_ai.usage.cost.amount" not in b


def test_valid_reply_is_parsed_and_priced(otel: Otel) -> None:
    body = {
        "id": "msg_p",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [{"type": "text", "text": json.dumps({"text": "hi"})}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 100, "output_tokens": 8},
    }
    transport = httpx2.MockTransport(lambda request: httpx2.Response(200, json=body))
    with anthropic.Anthropic(
        api_key="k", base_url="https://api.anthropic.com", http_client=httpx2.Client(transport=transport)
    ) as client:
        parsed: Any = client.messages.parse(**KWARGS, output_format=Greeting)

    assert isinstance(parsed, ParsedMessage) and parsed.parsed_output == Greeting(text="hi")
    a = only_span(otel).attributes or {}
    assert "error.type" not in a
    assert a["gen_ai.usage.cost.amount"] == float(Decimal(100 * 3 + 8 * 15) / 1_000_000)
