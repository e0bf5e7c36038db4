"""Raw httpx2 calls to provider REST endpoints become priced GenAI spans (non-streaming)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from otel_llmcost.instrumentation import LLMCostInstrumentor
from otel_llmcost.pricing import Pricer
from otel_llmcost.simulator import Simulator, UsageRule
from tests.conftest import Otel


@pytest.fixture
def sims() -> Iterator[dict[str, Simulator]]:
    with Simulator() as openai_sim, Simulator() as anthropic_sim, Simulator() as gemini_sim:
        yield {"openai": openai_sim, "anthropic": anthropic_sim, "gcp.gemini": gemini_sim}


@pytest.fixture
def raw(otel: Otel, pricer: Pricer, sims: dict[str, Simulator]) -> Iterator[None]:
    provider_map = {f"127.0.0.1:{sim.port}": provider for provider, sim in sims.items()}
    instrumentor = LLMCostInstrumentor()
    instrumentor.instrument(
        tracer_provider=otel.tracer_provider,
        meter_provider=otel.meter_provider,
        pricer=pricer,
        guard=None,
        provider_map=provider_map,
    )
    yield
    instrumentor.uninstrument()


def test_openai_chat(otel: Otel, raw: None, sims: dict[str, Simulator]) -> None:
    sim = sims["openai"]
    sim.set_rule("gpt-4o-mini", UsageRule(prompt_tokens=1200, cached_tokens=1024, completion_tokens=50))
    with httpx2.Client() as client:
        response = client.post(
            f"{sim.openai_base_url}/chat/completions",
            headers={"Authorization": "Bearer sk-x"},
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
        )
    assert response.status_code == 200
    assert response.json()["usage"]["prompt_tokens"] == 1200  # the app reads the body as usual
    (span,) = otel.genai_spans()
    assert span.name == "chat gpt-4o-mini"
    assert span.attributes["gen_ai.provider.name"] == "openai"
    assert span.attributes["gen_ai.usage.input_tokens"] == 1200
    assert span.attributes["gen_ai.usage.cache_read.input_tokens"] == 1024
    # 176 × 0.15 + 1024 × 0.075 + 50 × 0.60 per 1M
    assert span.attributes["gen_ai.usage.cost.amount"] == 0.0001332
    assert "sk-x" not in repr(dict(span.attributes))


def test_anthropic_messages(otel: Otel, raw: None, sims: dict[str, Simulator]) -> None:
    sim = sims["anthropic"]
    sim.set_rule(
        "claude-sonnet-4-5",
        UsageRule(
            prompt_tokens=2000,
            cached_tokens=1024,
            cache_write_5m=500,
            cache_write_1h=300,
            completion_tokens=50,
        ),
    )
    with httpx2.Client() as client:
        client.post(
            f"{sim.anthropic_base_url}/v1/messages",
            headers={"x-api-key": "k"},
            json={
                "model": "claude-sonnet-4-5",
                "max_tokens": 100,
                "messages": [{"role": "user", "content": "hi"}],
            },
        )
    (span,) = otel.genai_spans()
    assert span.attributes["gen_ai.usage.input_tokens"] == 2000
    assert span.attributes["gen_ai.usage.cache_write.input_tokens"] == 800
    assert span.attributes["gen_ai.usage.cost.amount"] == 0.0052602


def test_gemini_generate_content(otel: Otel, raw: None, sims: dict[str, Simulator]) -> None:
    sim = sims["gcp.gemini"]
    sim.set_rule(
        "gemini-2.5-flash",
        UsageRule(prompt_tokens=1200, cached_tokens=1024, completion_tokens=50, reasoning_tokens=30),
    )
    with httpx2.Client() as client:
        client.post(
            f"{sim.gemini_base_url}/v1beta/models/gemini-2.5-flash:generateContent",
            json={"contents": [{"role": "user", "parts": [{"text": "hi"}]}]},
        )
    (span,) = otel.genai_spans()
    assert span.name == "generate_content gemini-2.5-flash"
    assert span.attributes["gen_ai.usage.reasoning.output_tokens"] == 30
    assert span.attributes["gen_ai.usage.cost.amount"] == 0.00020852


def test_error_status_is_recorded_not_raised(otel: Otel, raw: None, sims: dict[str, Simulator]) -> None:
    sim = sims["openai"]
    sim.inject_error(status=429, times=1)
    with httpx2.Client() as client:
        response = client.post(
            f"{sim.openai_base_url}/chat/completions",
            json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
        )
    assert response.status_code == 429
    (span,) = otel.genai_spans()
    assert span.attributes["error.type"] == "429"
    assert "gen_ai.usage.cost.amount" not in span.attributes


def test_unknown_host_and_streams_pass_through(otel: Otel, raw: None) -> None:
    with Simulator() as unmapped, httpx2.Client() as client:
        client.post(
            f"{unmapped.openai_base_url}/chat/completions",
            json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
        )
    assert otel.genai_spans() == []


def test_stream_body_is_not_recorded(otel: Otel, raw: None, sims: dict[str, Simulator]) -> None:
    with httpx2.Client() as client:
        client.post(
            f"{sims['openai'].openai_base_url}/chat/completions",
            json={"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "hi"}]},
        )
    assert otel.genai_spans() == []


def test_async_client(otel: Otel, raw: None, sims: dict[str, Simulator]) -> None:
    sim = sims["openai"]

    async def go() -> Any:
        async with httpx2.AsyncClient() as client:
            return await client.post(
                f"{sim.openai_base_url}/embeddings",
                json={"model": "text-embedding-3-small", "input": "hello world"},
            )

    response = asyncio.run(go())
    assert response.status_code == 200
    (span,) = otel.genai_spans()
    assert span.attributes["gen_ai.operation.name"] == "embeddings"
    tokens = span.attributes["gen_ai.usage.input_tokens"]
    assert span.attributes["gen_ai.usage.cost.amount"] == pytest.approx(tokens * 0.02e-6, rel=1e-12)
