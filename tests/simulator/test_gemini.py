"""Gemini Developer API (generate, stream, embed, count) through the real google-genai SDK."""

from __future__ import annotations

import asyncio
import json

import httpx2
import pytest
import quicktok
from google import genai
from google.genai import errors, types

from otel_llmcost.simulator import Simulator, UsageRule

from .conftest import Sent, gemini_client

ENC = quicktok.get_encoding("o200k_base")
RULE = UsageRule(prompt_tokens=1200, cached_tokens=1024, completion_tokens=50, reasoning_tokens=30)


def test_generate_usage_thoughts_outside_candidates(sim: Simulator, gem: genai.Client) -> None:
    sim.set_rule("gemini-2.5-*", RULE)
    response = gem.models.generate_content(model="gemini-2.5-flash", contents="hello")
    usage = response.usage_metadata
    assert usage is not None
    assert (usage.prompt_token_count, usage.cached_content_token_count) == (1200, 1024)
    assert (usage.candidates_token_count, usage.thoughts_token_count, usage.total_token_count) == (
        20,
        30,
        1250,
    )
    assert response.candidates is not None and response.candidates[0].finish_reason == types.FinishReason.STOP
    assert len(ENC.encode(response.text or "")) == 20
    assert response.model_version == "gemini-2.5-flash"
    assert sim.requests[0].path == "/v1/models/gemini-2.5-flash:generateContent"


def test_derived_prompt_and_count_tokens_agree(gem: genai.Client) -> None:
    config = types.GenerateContentConfig(system_instruction="Be brief.")
    usage = gem.models.generate_content(
        model="gemini-2.0-flash", contents="hello", config=config
    ).usage_metadata
    expected = 3 + (3 + len(ENC.encode("system")) + len(ENC.encode("Be brief.")))
    expected += 3 + len(ENC.encode("user")) + len(ENC.encode("hello"))
    assert usage is not None and usage.prompt_token_count == expected
    assert usage.total_token_count == expected + 20 and usage.thoughts_token_count is None
    counted = gem.models.count_tokens(model="gemini-2.0-flash", contents="hello")
    assert counted.total_tokens == 3 + 3 + len(ENC.encode("user")) + len(ENC.encode("hello"))


def test_stream_every_chunk_has_usage_last_is_complete(sim: Simulator, gem: genai.Client, sent: Sent) -> None:
    sim.set_rule("gemini-2.5-*", RULE)
    chunks = list(gem.models.generate_content_stream(model="gemini-2.5-pro", contents="hello"))
    assert len(chunks) == 20
    assert all(c.usage_metadata is not None and c.usage_metadata.prompt_token_count == 1200 for c in chunks)
    running = [c.usage_metadata.candidates_token_count for c in chunks if c.usage_metadata]
    assert running == list(range(1, 21))
    last = chunks[-1].usage_metadata
    assert last is not None and (last.thoughts_token_count, last.total_token_count) == (30, 1250)
    assert (
        chunks[-1].candidates is not None
        and chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    )
    assert all(c.candidates and c.candidates[0].finish_reason is None for c in chunks[:-1])
    assert sim.requests[0].query == "alt=sse"
    assert sim.requests[0].body == sent.bodies[0]


def test_max_output_tokens_cap(gem: genai.Client) -> None:
    config = types.GenerateContentConfig(max_output_tokens=6)
    response = gem.models.generate_content(model="gemini-2.0-flash", contents="hi", config=config)
    assert (
        response.candidates is not None
        and response.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS
    )
    assert response.usage_metadata is not None and response.usage_metadata.candidates_token_count == 6


def test_embed_content_usage_metadata(sim: Simulator, gem: genai.Client) -> None:
    texts = ["first text", "second"]
    config = types.EmbedContentConfig(output_dimensionality=4)
    response = gem.models.embed_content(model="gemini-embedding-001", contents=texts, config=config)
    assert response.embeddings is not None and [len(e.values or []) for e in response.embeddings] == [4, 4]
    assert response.usage_metadata is not None
    assert response.usage_metadata.prompt_token_count == sum(len(ENC.encode(t)) for t in texts)
    request = sim.requests[0]
    assert request.path == "/v1/models/gemini-embedding-001:batchEmbedContents"
    assert json.loads(request.body)["requests"][0]["outputDimensionality"] == 4


def test_embed_without_usage_like_older_api(sim: Simulator, gem: genai.Client) -> None:
    sim.config.gemini_embedding_usage = False
    response = gem.models.embed_content(model="text-embedding-004", contents="hello")
    assert response.usage_metadata is None
    assert response.embeddings is not None and len(response.embeddings[0].values or []) == 8


def test_single_embed_content_endpoint(sim: Simulator) -> None:
    body = {"content": {"parts": [{"text": "hello world"}]}, "outputDimensionality": 3}
    sim.set_rule("embed-*", UsageRule(prompt_tokens=9))
    answer = httpx2.post(sim.url + "/v1beta/models/embed-x:embedContent", json=body).json()
    assert len(answer["embedding"]["values"]) == 3
    assert answer["usageMetadata"] == {
        "promptTokenCount": 9,
        "promptTokenDetails": [{"modality": "TEXT", "tokenCount": 9}],
    }


def test_v1beta_api_version_and_cached_count(sim: Simulator, via: str, sent: Sent) -> None:
    sim.set_rule("gemini-*", RULE)
    client = gemini_client(sim, via, sent, api_version="v1beta")
    counted = client.models.count_tokens(model="gemini-2.5-flash", contents="hi")
    assert (counted.total_tokens, counted.cached_content_token_count) == (1200, 1024)
    assert sim.requests[0].path == "/v1beta/models/gemini-2.5-flash:countTokens"


def test_async_generate_and_stream(sim: Simulator, gem: genai.Client, sent: Sent) -> None:
    sim.set_rule("gemini-2.5-*", RULE)

    async def run() -> tuple[int | None, int | None]:
        response = await gem.aio.models.generate_content(model="gemini-2.5-flash", contents="hi")
        stream = await gem.aio.models.generate_content_stream(model="gemini-2.5-flash", contents="hi")
        usages = [c.usage_metadata async for c in stream]
        await sent.aclose()
        assert response.usage_metadata is not None and usages[-1] is not None
        return response.usage_metadata.total_token_count, usages[-1].total_token_count

    assert asyncio.run(run()) == (1250, 1250)


def test_injected_errors_raise_genai_errors(sim: Simulator, gem: genai.Client) -> None:
    sim.inject_error(429, provider="gemini")
    with pytest.raises(errors.ClientError) as info:
        gem.models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert (info.value.code, info.value.status) == (429, "RESOURCE_EXHAUSTED")
    sim.inject_error(503, path_glob="*:streamGenerateContent")
    with pytest.raises(errors.ServerError) as server:
        list(gem.models.generate_content_stream(model="gemini-2.5-flash", contents="hi"))
    assert (server.value.code, server.value.status) == (503, "UNAVAILABLE")


def test_missing_contents_is_invalid_argument(sim: Simulator) -> None:
    answer = httpx2.post(sim.url + "/v1/models/gemini-2.5-flash:generateContent", json={})
    assert answer.status_code == 400
    assert answer.json()["error"]["status"] == "INVALID_ARGUMENT"


def test_default_client_construction_works(sim: Simulator) -> None:
    client = genai.Client(api_key="test", http_options=types.HttpOptions(base_url=sim.gemini_base_url))
    response = client.models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert response.usage_metadata is not None and response.usage_metadata.candidates_token_count == 20
