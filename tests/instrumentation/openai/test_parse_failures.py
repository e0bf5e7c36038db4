"""parse() whose parse step fails for an answer that was generated and billed: the app gets the
SDK's own exception, the span keeps the answer's usage and cost."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import nullcontext
from decimal import Decimal
from typing import Any

import openai
import pydantic
import pytest

from otel_llmcost.instrumentation import LLMCostInstrumentor
from otel_llmcost.instrumentation.openai._chat import ChatReader
from otel_llmcost.pricing import Pricer
from otel_llmcost.simulator import Simulator, UsageRule
from tests.instrumentation.conftest import Otel

from .conftest import async_client, attrs, instrumentation, mini_cost, only_span, raiser, usage_of

HELLO = [{"role": "user", "content": "reply in JSON"}]
O4_IN, O4_OUT = Decimal("1.1e-6"), Decimal("4.4e-6")


class Answer(pydantic.BaseModel):
    """The simulator's reply is plain words: never valid JSON for this model."""

    value: int


def _chat(client: openai.OpenAI) -> Any:
    return client.chat.completions.parse(model="gpt-4o-mini", messages=HELLO, response_format=Answer)


def _responses(client: openai.OpenAI) -> Any:
    return client.responses.parse(model="o4-mini", input="reply in JSON", text_format=Answer)


async def _achat(client: openai.AsyncOpenAI) -> Any:
    return await client.chat.completions.parse(model="gpt-4o-mini", messages=HELLO, response_format=Answer)


async def _aresponses(client: openai.AsyncOpenAI) -> Any:
    return await client.responses.parse(model="o4-mini", input="reply in JSON", text_format=Answer)


CALLS: dict[str, tuple[Callable[[openai.OpenAI], Any], Callable[[openai.AsyncOpenAI], Any]]] = {
    "chat": (_chat, _achat),
    "responses": (_responses, _aresponses),
}


def _failure(sim: Simulator, name: str, mode: str) -> pydantic.ValidationError:
    sync_call, async_call = CALLS[name]
    if mode == "sync":
        with (
            openai.OpenAI(base_url=sim.openai_base_url, api_key="test", max_retries=0) as client,
            pytest.raises(pydantic.ValidationError) as caught,
        ):
            sync_call(client)
        return caught.value

    async def run() -> None:
        async with async_client(sim) as client:
            await async_call(client)

    with pytest.raises(pydantic.ValidationError) as caught:
        asyncio.run(run())
    return caught.value


@pytest.fixture(autouse=True)
def _rules(sim: Simulator) -> None:
    sim.set_rule("gpt-4o-mini", UsageRule(prompt_tokens=300, completion_tokens=40))
    sim.set_rule("o4-mini", UsageRule(prompt_tokens=300, completion_tokens=40, reasoning_tokens=10))


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("name", list(CALLS))
def test_failed_parse_keeps_the_billed_usage_and_the_sdk_exception(
    otel: Otel, pricer: Pricer, sim: Simulator, name: str, mode: str
) -> None:
    plain = _failure(sim, name, mode)
    with instrumentation(otel, pricer):
        seen = _failure(sim, name, mode)
    assert type(seen) is type(plain) and seen.errors() == plain.errors()
    assert seen.title == "Answer"
    span = only_span(otel)
    a = attrs(span)
    assert a["error.type"] == "ValidationError"
    assert usage_of(span) == (300, 40)
    assert a["gen_ai.response.finish_reasons"] == ("stop",)
    if name == "chat":
        assert str(a["gen_ai.response.id"]).startswith("chatcmpl-sim")
        assert a["gen_ai.usage.cost.amount"] == mini_cost(300, 0, 40)
    else:
        assert str(a["gen_ai.response.id"]).startswith("resp_sim")
        assert a["gen_ai.usage.reasoning.output_tokens"] == 10
        assert a["gen_ai.usage.cost.amount"] == float(300 * O4_IN + 40 * O4_OUT)
    assert "llmcost.usage.estimated" not in a


def test_a_parse_that_succeeds_after_a_failed_one_is_unaffected(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI
) -> None:
    with pytest.raises(pydantic.ValidationError):
        _chat(client)
    parsed = client.chat.completions.parse(model="gpt-4o-mini", messages=HELLO)
    failed, succeeded = otel.genai_spans()
    assert attrs(failed)["error.type"] == "ValidationError"
    assert attrs(succeeded)["gen_ai.response.id"] == parsed.id and "error.type" not in attrs(succeeded)
    assert usage_of(succeeded) == (300, 40)


def test_a_fault_of_ours_leaves_the_exception_alone(
    otel: Otel,
    instrumented: LLMCostInstrumentor,
    sim: Simulator,
    client: openai.OpenAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ChatReader, "record", raiser)
    with pytest.raises(pydantic.ValidationError):
        _chat(client)
    a = attrs(only_span(otel))
    assert a["error.type"] == "ValidationError" and "gen_ai.usage.input_tokens" not in a


@pytest.mark.parametrize("raw", [False, True])
def test_raw_parse_failure_is_priced_from_the_body(
    otel: Otel, instrumented: LLMCostInstrumentor, sim: Simulator, client: openai.OpenAI, raw: bool
) -> None:
    """``with_raw_response`` / ``with_streaming_response``: the body is priced when read, before
    the parse step the app then asks for fails."""
    kwargs: dict[str, Any] = {"model": "gpt-4o-mini", "messages": HELLO, "response_format": Answer}
    context = (
        nullcontext(client.chat.completions.with_raw_response.parse(**kwargs))
        if raw
        else client.chat.completions.with_streaming_response.parse(**kwargs)
    )
    with context as response, pytest.raises(pydantic.ValidationError):
        response.parse()
    a = attrs(only_span(otel))
    assert usage_of(only_span(otel)) == (300, 40)
    assert a["gen_ai.usage.cost.amount"] == mini_cost(300, 0, 40)
