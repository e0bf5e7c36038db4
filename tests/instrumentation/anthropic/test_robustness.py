"""Provider errors reach the app unchanged; our own faults never do; the budget guard can downgrade."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import anthropic
import pytest
from anthropic.types import Message

from otel_llmcost.exceptions import BudgetExceededError
from otel_llmcost.instrumentation._call import LLMCall
from otel_llmcost.instrumentation.anthropic import _messages, _streams
from otel_llmcost.pricing import Pricer
from otel_llmcost.simulator import Simulator
from tests.instrumentation.anthropic._support import (
    DEPRECATED_MODEL,
    KWARGS,
    MODEL,
    Downgrade,
    assert_cache_scenario,
    only_span,
)
from tests.instrumentation.conftest import Otel

pytestmark = [DEPRECATED_MODEL]


def assert_failed(otel: Otel, error_type: str) -> None:
    span = only_span(otel)
    a = span.attributes or {}
    assert a["error.type"] == error_type
    assert not span.status.is_ok and span.status.description
    assert "gen_ai.usage.input_tokens" not in a and "gen_ai.usage.cost.amount" not in a
    (duration,) = otel.metrics()["gen_ai.client.operation.duration"]
    assert duration.attributes["error.type"] == error_type


@pytest.mark.usefixtures("instrumented")
@pytest.mark.parametrize("variant", ["create", "create_stream", "stream_manager", "beta_parse"])
def test_rate_limit_unchanged_sync(
    variant: str, client: anthropic.Anthropic, cache_sim: Simulator, otel: Otel
) -> None:
    def enter_stream_manager() -> None:
        with client.messages.stream(**KWARGS):
            pass

    calls: dict[str, Callable[[], object]] = {
        "create": lambda: client.messages.create(**KWARGS),
        "create_stream": lambda: client.messages.create(**KWARGS, stream=True),
        "stream_manager": enter_stream_manager,
        "beta_parse": lambda: client.beta.messages.parse(**KWARGS),
    }
    cache_sim.inject_error(429, provider="anthropic")
    with pytest.raises(anthropic.RateLimitError) as caught:
        calls[variant]()

    assert type(caught.value) is anthropic.RateLimitError
    assert caught.value.status_code == 429 and caught.value.type == "rate_limit_error"
    assert_failed(otel, "RateLimitError")


@pytest.mark.usefixtures("instrumented")
def test_rate_limit_unchanged_async(
    make_async: Callable[[], anthropic.AsyncAnthropic], cache_sim: Simulator, otel: Otel
) -> None:
    cache_sim.inject_error(429, provider="anthropic", times=2)

    async def run() -> list[BaseException]:
        errors: list[BaseException] = []
        async with make_async() as client:
            for attempt in (
                client.messages.create(**KWARGS),
                client.beta.messages.create(**KWARGS, stream=True),
            ):
                try:
                    await attempt
                except anthropic.APIStatusError as err:
                    errors.append(err)
        return errors

    errors = asyncio.run(run())
    assert [type(e) for e in errors] == [anthropic.RateLimitError] * 2
    spans = otel.genai_spans()
    assert [(s.attributes or {})["error.type"] for s in spans] == ["RateLimitError"] * 2


@pytest.mark.usefixtures("instrumented")
def test_async_stream_manager_error(
    make_async: Callable[[], anthropic.AsyncAnthropic], cache_sim: Simulator, otel: Otel
) -> None:
    cache_sim.inject_error(529, provider="anthropic")

    async def run() -> None:
        async with make_async() as client, client.messages.stream(**KWARGS):
            pass

    with pytest.raises(anthropic.OverloadedError):
        asyncio.run(run())
    assert_failed(otel, "OverloadedError")


# --- our own faults ------------------------------------------------------------------------------


@pytest.mark.usefixtures("instrumented")
def test_pricer_fault_never_reaches_the_app(
    client: anthropic.Anthropic, pricer: Pricer, otel: Otel, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("pricing bug")

    monkeypatch.setattr(pricer, "price_entry", boom)
    monkeypatch.setattr(pricer, "price_femtos", boom)
    message = client.messages.create(**KWARGS)
    with client.messages.stream(**KWARGS) as stream:
        final = stream.get_final_message()

    assert type(message) is Message and final.usage.output_tokens == 50
    assert len(otel.genai_spans()) == 2  # both spans still ended (and no SDK span either)


@pytest.mark.usefixtures("instrumented")
def test_result_attributes_fault(
    client: anthropic.Anthropic, otel: Otel, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(self: LLMCall) -> None:
        raise RuntimeError("attribute bug")

    monkeypatch.setattr(LLMCall, "_result_attributes", boom)
    assert type(client.messages.create(**KWARGS)) is Message
    assert len(otel.genai_spans()) == 1


@pytest.mark.usefixtures("instrumented")
@pytest.mark.parametrize("hook", ["on_item", "on_end"])
def test_stream_handler_fault(
    hook: str, client: anthropic.Anthropic, otel: Otel, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("handler bug")

    monkeypatch.setattr(_streams.MessageEvents, hook, boom)
    with client.messages.stream(**KWARGS) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()

    assert text == final.content[0].text  # type: ignore[union-attr]
    span = only_span(otel)  # ended by the proxy whatever the handler did
    assert "error.type" not in (span.attributes or {})


@pytest.mark.usefixtures("instrumented")
def test_response_reading_fault(
    client: anthropic.Anthropic, otel: Otel, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(call: LLMCall, message: Any) -> None:
        raise RuntimeError("reader bug")

    monkeypatch.setattr(_messages, "report_message", boom)
    message = client.messages.create(**KWARGS)

    assert type(message) is Message
    a = only_span(otel).attributes or {}
    assert "gen_ai.usage.input_tokens" not in a and "error.type" not in a


@pytest.mark.usefixtures("instrumented")
def test_request_building_fault_leaves_the_sdk_span(
    client: anthropic.Anthropic, otel: Otel, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("request bug")

    monkeypatch.setattr(_messages, "build_request", boom)
    assert type(client.messages.create(**KWARGS)) is Message
    (span,) = otel.genai_spans()  # we stood aside, so the SDK's span is the one record
    assert (
        span.instrumentation_scope is not None
        and span.instrumentation_scope.name == "com.anthropic.sdk.python"
    )


# --- budget guard ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("instrumented")
@pytest.mark.parametrize("instrumentor_kwargs", [{"guard": Downgrade(to="claude-haiku-4-5")}])
def test_guard_downgrades_create_and_stream_manager(
    client: anthropic.Anthropic,
    make_async: Callable[[], anthropic.AsyncAnthropic],
    cache_sim: Simulator,
    otel: Otel,
    instrumentor_kwargs: dict[str, Any],
) -> None:
    client.messages.create(**KWARGS)
    with client.messages.stream(**KWARGS) as stream:
        stream.until_done()

    async def run() -> None:
        async with make_async() as aclient, aclient.beta.messages.stream(**KWARGS) as astream:
            await astream.until_done()

    asyncio.run(run())

    assert [r.json()["model"] for r in cache_sim.requests] == ["claude-haiku-4-5"] * 3
    for span in otel.genai_spans():
        a = span.attributes or {}
        assert span.name == "chat claude-haiku-4-5"
        assert a["llmcost.budget.downgraded_from"] == MODEL
        assert a["gen_ai.request.model"] == "claude-haiku-4-5"
        assert a["llmcost.pricing.model"] == "anthropic/claude-haiku-4-5"
    assert len(instrumentor_kwargs["guard"].settled) == 3


@pytest.mark.usefixtures("instrumented")
@pytest.mark.parametrize("instrumentor_kwargs", [{"guard": Downgrade(block=True)}])
def test_guard_blocks_before_anything_is_sent(
    client: anthropic.Anthropic, cache_sim: Simulator, otel: Otel
) -> None:
    with pytest.raises(BudgetExceededError):
        client.messages.create(**KWARGS)
    with pytest.raises(BudgetExceededError), client.messages.stream(**KWARGS):
        pass

    assert cache_sim.requests == []
    assert [(s.attributes or {})["error.type"] for s in otel.genai_spans()] == ["BudgetExceededError"] * 2


@pytest.mark.usefixtures("instrumented")
def test_no_guard_keeps_the_request_model(
    client: anthropic.Anthropic, cache_sim: Simulator, otel: Otel
) -> None:
    with client.messages.stream(**KWARGS) as stream:
        stream.until_done()
    assert cache_sim.requests[0].json()["model"] == MODEL
    assert_cache_scenario(only_span(otel), streaming=True)
