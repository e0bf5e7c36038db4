"""Fixtures for the google-genai instrumentation: real SDK clients on the simulator or canned answers.

``gem`` talks HTTP to the ``sim`` fixture's loopback server, built the way an app builds it
(``genai.Client(api_key=..., http_options=HttpOptions(base_url=...))``; google-genai retries
nothing unless ``HttpOptions.retry_options`` is set, so an injected 429 surfaces at once).
``canned_client`` answers from a queue of prepared responses, for wire shapes the simulator does
not produce (function calls, continuation tokens, Vertex AI, streams without usage).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx2
import pytest
from google import genai
from google.genai import types
from opentelemetry.sdk.trace import ReadableSpan

from otel_llmcost.simulator import Simulator, UsageRule
from tests.instrumentation.conftest import Otel

#: The brief's reference call: 1200 prompt tokens of which 1024 cached, 20 candidates, 30 thoughts.
RULE = UsageRule(prompt_tokens=1200, cached_tokens=1024, completion_tokens=50, reasoning_tokens=30)
#: gemini-2.5-flash list prices: 176 x $0.30 + 1024 x $0.03 + (20 + 30) x $2.50, per million.
FLASH_COST = Decimal("0.00020852")
VERTEX_URL = "https://us-central1-aiplatform.googleapis.com/"


def cost(value: str) -> float:
    """The float a span carries for an exact Decimal amount."""
    return float(Decimal(value))


def only_span(otel: Otel) -> ReadableSpan:
    spans = otel.genai_spans()
    assert len(spans) == 1, [s.name for s in spans]
    return spans[0]


@pytest.fixture
def gem(sim: Simulator) -> Iterator[genai.Client]:
    client = genai.Client(api_key="test", http_options=types.HttpOptions(base_url=sim.url))
    yield client
    client.close()


def answer(
    text: str = "",
    *,
    usage: dict[str, int] | None = None,
    finish: str | None = "STOP",
    model: str = "gemini-2.5-flash",
    response_id: str = "canned-1",
    parts: list[dict[str, Any]] | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    """A ``GenerateContentResponse`` in wire form."""
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts or [{"text": text}]}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    if token:
        candidate["continuationToken"] = token
    body: dict[str, Any] = {"candidates": [candidate], "modelVersion": model, "responseId": response_id}
    if usage is not None:
        body["usageMetadata"] = usage
    return body


def sse(*chunks: dict[str, Any]) -> bytes:
    return b"".join(b"data: " + json.dumps(c).encode() + b"\r\n\r\n" for c in chunks)


@dataclass
class Canned:
    """Answers requests in order from ``responses``; records what was sent."""

    responses: list[httpx2.Response] = field(default_factory=list)
    requests: list[httpx2.Request] = field(default_factory=list)
    on_request: Callable[[httpx2.Request], None] | None = None

    def add_json(self, body: dict[str, Any], status: int = 200) -> None:
        self.responses.append(httpx2.Response(status, json=body))

    def add_sse(self, *chunks: dict[str, Any]) -> None:
        headers = {"content-type": "text/event-stream"}
        self.responses.append(httpx2.Response(200, headers=headers, content=sse(*chunks)))

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        request.read()
        self.requests.append(request)
        if self.on_request is not None:
            self.on_request(request)
        return self.responses.pop(0)

    async def ahandle(self, request: httpx2.Request) -> httpx2.Response:
        await request.aread()
        return self.handle(request)


@pytest.fixture
def canned() -> Canned:
    return Canned()


@pytest.fixture
def canned_client(canned: Canned) -> Callable[..., genai.Client]:
    def build(
        *, vertex: bool = False, base_url: str = "https://generativelanguage.googleapis.com/"
    ) -> genai.Client:
        options = types.HttpOptions(
            base_url=VERTEX_URL if vertex else base_url,
            httpx_client=httpx2.Client(transport=httpx2.MockTransport(canned.handle)),
            httpx_async_client=httpx2.AsyncClient(transport=httpx2.MockTransport(canned.ahandle)),
        )
        return genai.Client(vertexai=True if vertex else None, api_key="test", http_options=options)

    return build
