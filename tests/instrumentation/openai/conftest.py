"""openai clients on the simulator, and helpers shared by the openai instrumentation tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import httpx2
import openai
import pytest
from opentelemetry.sdk.trace import ReadableSpan

from otel_llmcost.instrumentation import LLMCostInstrumentor
from otel_llmcost.pricing import Pricer
from otel_llmcost.simulator import SimRequest, Simulator, UsageRule
from tests.instrumentation.conftest import Otel

HELLO = [{"role": "user", "content": "hello"}]
#: gpt-4o-mini list prices, USD per token: input 0.15, cache read 0.075, output 0.60 per million.
MINI_IN, MINI_CACHED, MINI_OUT = Decimal("0.15e-6"), Decimal("0.075e-6"), Decimal("0.6e-6")
#: 1200 prompt tokens of which 1024 cached; 50 completion tokens of which 30 reasoning.
CACHED_RULE = UsageRule(prompt_tokens=1200, cached_tokens=1024, completion_tokens=50, reasoning_tokens=30)
PLAIN_RULE = UsageRule(prompt_tokens=100, completion_tokens=20)


def mini_cost(uncached: int, cached: int, output: int) -> float:
    return float(uncached * MINI_IN + cached * MINI_CACHED + output * MINI_OUT)


@pytest.fixture
def client(sim: Simulator) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=sim.openai_base_url, api_key="test", max_retries=0) as oai:
        yield oai


def async_client(sim: Simulator) -> openai.AsyncOpenAI:
    """Use as ``async with async_client(sim) as client:`` inside ``asyncio.run``."""
    return openai.AsyncOpenAI(base_url=sim.openai_base_url, api_key="test", max_retries=0)


def body(sim: Simulator, index: int = -1) -> dict[str, Any]:
    return dict(json.loads(sim.requests[index].body))


def only_span(otel: Otel) -> ReadableSpan:
    spans = otel.genai_spans()
    assert len(spans) == 1, [s.name for s in spans]
    return spans[0]


def attrs(span: ReadableSpan) -> dict[str, Any]:
    assert span.attributes is not None
    return dict(span.attributes)


def usage_of(span: ReadableSpan) -> tuple[int, int]:
    a = attrs(span)
    return a["gen_ai.usage.input_tokens"], a["gen_ai.usage.output_tokens"]


@contextmanager
def instrumentation(otel: Otel, pricer: Pricer, **kwargs: Any) -> Iterator[LLMCostInstrumentor]:
    """Instrument for a block (for tests that also need an uninstrumented run)."""
    instrumentor = LLMCostInstrumentor()
    instrumentor.instrument(
        tracer_provider=otel.tracer_provider,
        meter_provider=otel.meter_provider,
        pricer=pricer,
        guard=None,
        **kwargs,
    )
    try:
        yield instrumentor
    finally:
        instrumentor.uninstrument()


_ENDPOINTS = ("/chat/completions", "/completions", "/embeddings", "/responses")


def routed_http(sim: Simulator) -> httpx2.Client:
    """An httpx2 client for an SDK whose base URL names another host (Azure, Groq, a local vLLM):
    requests reach the simulator in-process, their path mapped to the simulator's ``/v1/...``."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        suffix = next((path[path.index(e) :] for e in _ENDPOINTS if e in path), path)
        answer = sim.handle(
            SimRequest(
                method=request.method,
                path="/v1" + suffix,
                query=request.url.query.decode(),
                headers={k.lower(): v for k, v in request.headers.items()},
                body=request.content,
            )
        )
        content = b"".join(answer.chunks) if answer.chunks is not None else answer.body
        return httpx2.Response(answer.status, headers=answer.headers, content=content)

    return httpx2.Client(transport=httpx2.MockTransport(handler))


def raiser(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("injected fault in otel-llmcost")
