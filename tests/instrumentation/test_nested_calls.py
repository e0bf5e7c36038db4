"""Calls made inside a call we record: an SDK helper's nested call on the same client is not
recorded again, while the application's own calls made there — from anthropic middleware, on
another client or another provider — are calls of their own, each priced once."""

from __future__ import annotations

import asyncio
from typing import Any

import anthropic
import openai
import pytest
from google import genai
from google.genai import types

from otel_llmcost.instrumentation import LLMCostInstrumentor
from otel_llmcost.semconv import INSTRUMENTATION_SCOPE as OURS
from otel_llmcost.simulator import Simulator
from tests.instrumentation.anthropic._support import DEPRECATED_MODEL
from tests.instrumentation.conftest import Otel

pytestmark = [DEPRECATED_MODEL]

HELLO = [{"role": "user", "content": "Say hello."}]


def _spans(otel: Otel) -> list[tuple[str, str, str]]:
    """(scope, provider, request model) of every GenAI span, in the order they ended."""
    return [
        (
            s.instrumentation_scope.name if s.instrumentation_scope else "",
            str((s.attributes or {}).get("gen_ai.provider.name")),
            str((s.attributes or {}).get("gen_ai.request.model")),
        )
        for s in otel.genai_spans()
    ]


@pytest.mark.usefixtures("instrumented")
def test_calls_made_in_anthropic_middleware_are_recorded(sim: Simulator, otel: Otel) -> None:
    gem = genai.Client(api_key="test", http_options=types.HttpOptions(base_url=sim.url))
    moderator = anthropic.Anthropic(
        base_url=sim.anthropic_base_url,
        api_key="k",
        max_retries=0,
        open_telemetry={"tracer_provider": otel.tracer_provider},
    )
    oa = openai.OpenAI(base_url=sim.openai_base_url, api_key="k", max_retries=0)

    class Moderation(anthropic.Middleware):
        def handle(self, request: Any, call_next: Any) -> Any:
            gem.models.generate_content(model="gemini-2.5-flash", contents="is this safe?")
            moderator.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=HELLO)
            oa.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
            return call_next(request)

    client = anthropic.Anthropic(
        base_url=sim.anthropic_base_url,
        api_key="k",
        max_retries=0,
        middleware=[Moderation()],
        open_telemetry={"tracer_provider": otel.tracer_provider},
    )
    message = client.messages.create(model="claude-sonnet-4-5", max_tokens=50, messages=HELLO)
    assert message.content[0].type == "text"
    assert len(sim.requests) == 4
    assert _spans(otel) == [
        (OURS, "gcp.gemini", "gemini-2.5-flash"),
        (OURS, "anthropic", "claude-haiku-4-5"),
        (OURS, "openai", "gpt-4o-mini"),
        (OURS, "anthropic", "claude-sonnet-4-5"),
    ]
    assert all("gen_ai.usage.cost.amount" in (s.attributes or {}) for s in otel.genai_spans())
    gem.close()


@pytest.mark.usefixtures("instrumented")
def test_calls_made_in_async_anthropic_middleware_are_recorded(sim: Simulator, otel: Otel) -> None:
    async def main() -> None:
        moderator = anthropic.AsyncAnthropic(base_url=sim.anthropic_base_url, api_key="k", max_retries=0)

        class Moderation(anthropic.Middleware):
            async def handle_async(self, request: Any, call_next: Any) -> Any:
                await moderator.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=HELLO)
                return await call_next(request)

        client = anthropic.AsyncAnthropic(
            base_url=sim.anthropic_base_url, api_key="k", max_retries=0, middleware=[Moderation()]
        )
        async with client.messages.stream(model="claude-sonnet-4-5", max_tokens=50, messages=HELLO) as stream:
            await stream.get_final_message()

    asyncio.run(main())
    assert _spans(otel) == [
        (OURS, "anthropic", "claude-haiku-4-5"),
        (OURS, "anthropic", "claude-sonnet-4-5"),
    ]


def test_helpers_on_the_same_client_still_make_one_span(
    sim: Simulator, otel: Otel, instrumented: LLMCostInstrumentor
) -> None:
    oa = openai.OpenAI(base_url=sim.openai_base_url, api_key="k", max_retries=0)
    with oa.chat.completions.stream(model="gpt-4o-mini", messages=HELLO) as stream:
        stream.get_final_completion()
    oa.chat.completions.parse(model="gpt-4o-mini", messages=HELLO)
    assert _spans(otel) == [(OURS, "openai", "gpt-4o-mini")] * 2
