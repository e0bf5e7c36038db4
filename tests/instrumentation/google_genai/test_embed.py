"""``embed_content``: the provider's token count when there is one, ours (estimated) when not."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
import quicktok
from google import genai
from google.genai import errors, types
from opentelemetry.trace import StatusCode

from otel_llmcost.simulator import Simulator, UsageRule
from tests.instrumentation.conftest import Otel

from .conftest import Canned, cost, only_span

pytestmark = pytest.mark.usefixtures("instrumented")
ENC = quicktok.get_encoding("o200k_base")
TEXTS = ["first text", "second one here"]


def test_embed_with_provider_usage(otel: Otel, sim: Simulator, gem: genai.Client) -> None:
    sim.set_rule("gemini-embedding-*", UsageRule(prompt_tokens=1000))
    response = gem.models.embed_content(model="gemini-embedding-001", contents=TEXTS)
    assert isinstance(response, types.EmbedContentResponse) and response.embeddings is not None
    assert sim.requests[0].path == "/v1/models/gemini-embedding-001:batchEmbedContents"
    span = only_span(otel)
    assert span.name == "embeddings gemini-embedding-001"
    attrs = dict(span.attributes or {})
    assert isinstance(attrs.pop("llmcost.prompt.fingerprint"), str)
    assert isinstance(attrs.pop("llmcost.pricing.version"), str)
    assert attrs == {
        "gen_ai.operation.name": "embeddings",
        "gen_ai.provider.name": "gcp.gemini",
        "gen_ai.request.model": "gemini-embedding-001",
        "server.address": "127.0.0.1",
        "server.port": sim.port,
        "gen_ai.usage.input_tokens": 1000,
        "gen_ai.usage.output_tokens": 0,
        "gen_ai.usage.cost.amount": cost("0.00015"),  # 1000 x $0.15/M
        "gen_ai.usage.cost.currency": "USD",
        "gen_ai.usage.cost.source": "local",
        "llmcost.cost.input": cost("0.00015"),
        "llmcost.cost.output": 0.0,
        "llmcost.pricing.model": "gcp.gemini/gemini-embedding-001",
    }


def test_async_embed_uses_the_derived_provider_count(otel: Otel, sim: Simulator, gem: genai.Client) -> None:
    async def run() -> None:
        await gem.aio.models.embed_content(model="gemini-embedding-001", contents=TEXTS)
        await gem.aio.aclose()

    asyncio.run(run())
    attrs = only_span(otel).attributes or {}
    tokens = sum(len(ENC.encode(t)) for t in TEXTS)  # what the simulator counted and reported
    assert attrs["gen_ai.usage.input_tokens"] == tokens
    assert "llmcost.usage.estimated" not in attrs


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_embed_without_provider_usage_counts_the_texts(
    otel: Otel, sim: Simulator, gem: genai.Client, mode: str
) -> None:
    sim.config.gemini_embedding_usage = False  # older Developer-API answers: no counts at all
    if mode == "sync":
        response = gem.models.embed_content(model="gemini-embedding-001", contents=TEXTS)
    else:

        async def run() -> types.EmbedContentResponse:
            try:
                return await gem.aio.models.embed_content(model="gemini-embedding-001", contents=TEXTS)
            finally:
                await gem.aio.aclose()

        response = asyncio.run(run())
    assert response.usage_metadata is None
    attrs = only_span(otel).attributes or {}
    assert attrs["llmcost.usage.estimated"] is True
    assert attrs["gen_ai.usage.input_tokens"] == 2 + 3  # o200k: "first text" 2, "second one here" 3
    assert sum(len(ENC.encode(t)) for t in TEXTS) == 5
    assert attrs["gen_ai.usage.cost.amount"] == cost("0.00000075")  # 5 x $0.15/M


def test_single_content_and_content_objects(otel: Otel, sim: Simulator, gem: genai.Client) -> None:
    sim.config.gemini_embedding_usage = False
    content = types.Content(parts=[types.Part(text="alpha beta"), types.Part(text="gamma")])
    gem.models.embed_content(model="gemini-embedding-001", contents=content)
    attrs = only_span(otel).attributes or {}
    assert attrs["gen_ai.usage.input_tokens"] == len(ENC.encode("alpha beta\ngamma"))


def test_vertex_statistics_token_counts(
    otel: Otel, canned: Canned, canned_client: Callable[..., genai.Client]
) -> None:
    canned.add_json(
        {
            "predictions": [
                {"embeddings": {"values": [0.1, 0.2], "statistics": {"token_count": 4, "truncated": False}}},
                {"embeddings": {"values": [0.3, 0.4], "statistics": {"token_count": 7, "truncated": False}}},
            ],
            "metadata": {"billableCharacterCount": 40},
        }
    )
    client = canned_client(vertex=True)
    response = client.models.embed_content(model="text-embedding-004", contents=["a", "b"])
    assert canned.requests[0].url.path.endswith("/publishers/google/models/text-embedding-004:predict")
    assert response.embeddings is not None and response.embeddings[1].statistics is not None
    attrs = only_span(otel).attributes or {}
    assert attrs["gen_ai.provider.name"] == "gcp.vertex_ai"
    assert attrs["gen_ai.usage.input_tokens"] == 11
    assert "llmcost.usage.estimated" not in attrs
    assert attrs["gen_ai.usage.cost.amount"] == cost("0.0000011")  # 11 x $0.10/M


def test_embed_error(otel: Otel, sim: Simulator, gem: genai.Client) -> None:
    sim.inject_error(429, provider="gemini")
    with pytest.raises(errors.ClientError):
        gem.models.embed_content(model="gemini-embedding-001", contents="x")
    span = only_span(otel)
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "ClientError"
