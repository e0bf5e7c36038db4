"""Fixtures: a started Simulator with a fixed clock, and real SDK clients over both adapters.

Every client fixture is parametrised over ``via``: ``http`` (the loopback server) and
``mock`` (``httpx2.MockTransport`` calling the core). Requests the SDK hands to httpx2 are
captured with an event hook, so tests can compare them with what the simulator recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import anthropic
import httpx2
import openai
import pytest
from google import genai
from google.genai import types as genai_types

from otel_llmcost.simulator import Simulator

FIXED_TIME = 1_700_000_000
MOCK_URL = "http://simulator.test"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(clock=lambda: FIXED_TIME) as simulator:
        yield simulator


@pytest.fixture(params=["http", "mock"])
def via(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@dataclass
class Sent:
    """What the SDK handed to httpx2, in order (bodies as bytes); owns the httpx2 clients.

    Sync clients are closed at teardown. Async tests close the async ones inside their own
    event loop with ``await sent.aclose()`` (SDK ``async with`` blocks do it too).
    """

    bodies: list[bytes] = field(default_factory=list)
    clients: list[httpx2.Client] = field(default_factory=list)
    async_clients: list[httpx2.AsyncClient] = field(default_factory=list)

    def hook(self, request: httpx2.Request) -> None:
        self.bodies.append(request.read())

    async def ahook(self, request: httpx2.Request) -> None:
        self.bodies.append(await request.aread())

    async def aclose(self) -> None:
        for client in self.async_clients:
            await client.aclose()


@pytest.fixture
def sent() -> Iterator[Sent]:
    wire = Sent()
    yield wire
    for client in wire.clients:
        client.close()


def _base(sim: Simulator, via: str) -> str:
    return sim.url if via == "http" else MOCK_URL


def _sync_http(sim: Simulator, via: str, sent: Sent) -> httpx2.Client:
    transport = sim.mock_transport() if via == "mock" else None
    client = httpx2.Client(transport=transport, event_hooks={"request": [sent.hook]})
    sent.clients.append(client)
    return client


def _async_http(sim: Simulator, via: str, sent: Sent) -> httpx2.AsyncClient:
    transport = sim.async_mock_transport() if via == "mock" else None
    client = httpx2.AsyncClient(transport=transport, event_hooks={"request": [sent.ahook]})
    sent.async_clients.append(client)
    return client


@pytest.fixture
def oai(sim: Simulator, via: str, sent: Sent) -> Iterator[openai.OpenAI]:
    client = openai.OpenAI(
        base_url=_base(sim, via) + "/v1",
        api_key="test",
        max_retries=0,
        http_client=_sync_http(sim, via, sent),
    )
    with client:
        yield client


@pytest.fixture
def aoai(sim: Simulator, via: str, sent: Sent) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        base_url=_base(sim, via) + "/v1",
        api_key="test",
        max_retries=0,
        http_client=_async_http(sim, via, sent),
    )


@pytest.fixture
def claude(sim: Simulator, via: str, sent: Sent) -> Iterator[anthropic.Anthropic]:
    client = anthropic.Anthropic(
        base_url=_base(sim, via), api_key="test", max_retries=0, http_client=_sync_http(sim, via, sent)
    )
    with client:
        yield client


@pytest.fixture
def aclaude(sim: Simulator, via: str, sent: Sent) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(
        base_url=_base(sim, via), api_key="test", max_retries=0, http_client=_async_http(sim, via, sent)
    )


def gemini_client(sim: Simulator, via: str, sent: Sent, **options: Any) -> genai.Client:
    http_options = genai_types.HttpOptions(
        base_url=_base(sim, via),
        httpx_client=_sync_http(sim, via, sent),
        httpx_async_client=_async_http(sim, via, sent),
        **options,
    )
    return genai.Client(api_key="test", http_options=http_options)


@pytest.fixture
def gem(sim: Simulator, via: str, sent: Sent) -> genai.Client:
    return gemini_client(sim, via, sent)
