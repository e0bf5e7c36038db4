"""OpenAI chat completions, legacy completions and embeddings through the real openai SDK."""

from __future__ import annotations

import asyncio
import json

import openai
import pytest
import quicktok

from otel_llmcost.simulator import Simulator, UsageRule

from .conftest import FIXED_TIME, Sent

ENC = quicktok.get_encoding("o200k_base")
HELLO = [{"role": "user", "content": "hello there"}]
RULE = UsageRule(prompt_tokens=1200, cached_tokens=1024, completion_tokens=50, reasoning_tokens=30)


def test_chat_rule_reports_exact_inclusive_usage(sim: Simulator, oai: openai.OpenAI) -> None:
    sim.set_rule("gpt-4o*", RULE)
    response = oai.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    usage = response.usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (1200, 50, 1250)
    assert usage.prompt_tokens_details is not None and usage.prompt_tokens_details.cached_tokens == 1024
    assert usage.completion_tokens_details is not None
    assert usage.completion_tokens_details.reasoning_tokens == 30
    choice = response.choices[0]
    assert choice.finish_reason == "stop"
    assert len(ENC.encode(choice.message.content or "")) == 20  # visible = 50 - 30
    assert response.model == "gpt-4o-mini"
    assert response.created == FIXED_TIME
    assert response.id.startswith("chatcmpl-sim")
    assert response.service_tier == "default"


def test_chat_derived_prompt_follows_documented_formula(oai: openai.OpenAI) -> None:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2+2?"}]
    response = oai.chat.completions.create(model="any-model", messages=messages)
    expected = 3 + sum(3 + len(ENC.encode(m["role"])) + len(ENC.encode(m["content"])) for m in messages)
    assert response.usage is not None
    assert response.usage.prompt_tokens == expected
    assert response.usage.completion_tokens == 20
    assert len(ENC.encode(response.choices[0].message.content or "")) == 20


def test_chat_stream_with_include_usage_ends_with_usage_only_chunk(
    sim: Simulator, oai: openai.OpenAI
) -> None:
    sim.set_rule("gpt-4o", RULE)
    chunks = list(
        oai.chat.completions.create(
            model="gpt-4o", messages=HELLO, stream=True, stream_options={"include_usage": True}
        )
    )
    *body, last = chunks
    assert last.choices == [] and last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (1200, 50)
    assert (
        last.usage.prompt_tokens_details is not None
        and last.usage.prompt_tokens_details.cached_tokens == 1024
    )
    assert all(c.usage is None and len(c.choices) == 1 for c in body)
    assert body[0].choices[0].delta.role == "assistant"
    assert body[-1].choices[0].finish_reason == "stop"
    text = "".join(c.choices[0].delta.content or "" for c in body)
    assert len(ENC.encode(text)) == 20
    assert len({c.id for c in chunks}) == 1


def test_chat_stream_without_include_usage_has_no_usage(oai: openai.OpenAI) -> None:
    chunks = list(oai.chat.completions.create(model="gpt-4o", messages=HELLO, stream=True))
    assert all(c.usage is None for c in chunks)
    assert all(len(c.choices) == 1 for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_chat_stream_helper_accumulates(oai: openai.OpenAI) -> None:
    with oai.chat.completions.stream(
        model="gpt-4o", messages=HELLO, stream_options={"include_usage": True}
    ) as stream:
        final = stream.get_final_completion()
    assert final.usage is not None and final.usage.completion_tokens == 20
    assert len(ENC.encode(final.choices[0].message.content or "")) == 20


@pytest.mark.parametrize("cap_name", ["max_tokens", "max_completion_tokens"])
def test_chat_output_cap_cuts_reasoning_then_text(sim: Simulator, oai: openai.OpenAI, cap_name: str) -> None:
    sim.set_rule("o3*", UsageRule(reasoning_tokens=8))
    response = oai.chat.completions.create(model="o3-mini", messages=HELLO, **{cap_name: 10})
    assert response.choices[0].finish_reason == "length"
    assert response.usage is not None and response.usage.completion_tokens == 10
    assert response.usage.completion_tokens_details is not None
    assert response.usage.completion_tokens_details.reasoning_tokens == 8
    assert len(ENC.encode(response.choices[0].message.content or "")) == 2


def test_chat_ignore_max_tokens_exceeds_cap(sim: Simulator, oai: openai.OpenAI) -> None:
    sim.set_rule("gpt-4o", UsageRule(completion_tokens=40, ignore_max_tokens=True))
    response = oai.chat.completions.create(model="gpt-4o", messages=HELLO, max_tokens=5)
    assert response.usage is not None and response.usage.completion_tokens == 40
    assert response.choices[0].finish_reason == "stop"


def test_chat_service_tier_and_response_model(sim: Simulator, oai: openai.OpenAI) -> None:
    sim.set_rule("gpt-4o", UsageRule(response_model="gpt-4o-2024-08-06"))
    response = oai.chat.completions.create(model="gpt-4o", messages=HELLO, service_tier="flex")
    assert response.service_tier == "flex"
    assert response.model == "gpt-4o-2024-08-06"


def test_chat_async_and_async_stream(sim: Simulator, aoai: openai.AsyncOpenAI) -> None:
    sim.set_rule("gpt-4o", RULE)

    async def run() -> tuple[int, int]:
        async with aoai:
            response = await aoai.chat.completions.create(model="gpt-4o", messages=HELLO)
            stream = await aoai.chat.completions.create(
                model="gpt-4o", messages=HELLO, stream=True, stream_options={"include_usage": True}
            )
            usage = [c.usage async for c in stream if c.usage is not None]
        assert response.usage is not None and len(usage) == 1
        return response.usage.prompt_tokens, usage[0].completion_tokens

    assert asyncio.run(run()) == (1200, 50)


def test_recorded_request_is_byte_exact(sim: Simulator, oai: openai.OpenAI, sent: Sent) -> None:
    oai.chat.completions.create(model="gpt-4o", messages=HELLO, temperature=0.5, stream=True).close()
    oai.embeddings.create(model="text-embedding-3-small", input="hi")
    assert [r.body for r in sim.requests] == sent.bodies
    chat, embed = sim.requests
    assert (chat.method, chat.path, embed.path) == ("POST", "/v1/chat/completions", "/v1/embeddings")
    assert chat.headers["authorization"] == "Bearer test"
    assert json.loads(embed.body)["encoding_format"] == "base64"  # the SDK's default


def test_embeddings_base64_default_and_float_agree(sim: Simulator, oai: openai.OpenAI) -> None:
    texts = ["the quick brown fox", "jumps"]
    default = oai.embeddings.create(model="text-embedding-3-small", input=texts)
    floats = oai.embeddings.create(model="text-embedding-3-small", input=texts, encoding_format="float")
    assert [d.embedding for d in default.data] == [d.embedding for d in floats.data]
    assert all(len(d.embedding) == 8 for d in default.data)
    tokens = sum(len(ENC.encode(t)) for t in texts)
    assert (default.usage.prompt_tokens, default.usage.total_tokens) == (tokens, tokens)
    sized = oai.embeddings.create(model="text-embedding-3-small", input=[1, 2, 3], dimensions=4)
    assert len(sized.data[0].embedding) == 4 and sized.usage.prompt_tokens == 3
    sim.set_rule("text-embedding-*", UsageRule(prompt_tokens=77))
    assert oai.embeddings.create(model="text-embedding-3-large", input="x").usage.prompt_tokens == 77


def test_legacy_completions_default_cap_and_stream(oai: openai.OpenAI) -> None:
    capped = oai.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say hi")
    assert capped.choices[0].finish_reason == "length"  # real API default max_tokens is 16
    assert capped.usage is not None and capped.usage.completion_tokens == 16
    assert capped.usage.prompt_tokens == len(ENC.encode("Say hi"))
    chunks = list(
        oai.completions.create(
            model="gpt-3.5-turbo-instruct",
            prompt="Say hi",
            max_tokens=100,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 20
    assert chunks[-2].choices[0].finish_reason == "stop"


def test_injected_errors_raise_sdk_exceptions(sim: Simulator, oai: openai.OpenAI) -> None:
    sim.inject_error(429, provider="openai")
    with pytest.raises(openai.RateLimitError) as info:
        oai.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert info.value.response.headers["retry-after"] == "1"
    assert info.value.code == "rate_limit_exceeded"
    sim.inject_error(500, times=2, path_glob="*/embeddings")
    for _ in range(2):
        with pytest.raises(openai.InternalServerError):
            oai.embeddings.create(model="text-embedding-3-small", input="x")
    assert oai.embeddings.create(model="text-embedding-3-small", input="x").usage.prompt_tokens == 1


def test_bad_requests_get_openai_400(oai: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        oai.chat.completions.create(model="", messages=HELLO)
    assert info.value.param == "model"
    with pytest.raises(openai.BadRequestError):
        oai.chat.completions.create(model="gpt-4o", messages=[])


def test_default_client_construction_works(sim: Simulator) -> None:
    with openai.OpenAI(base_url=sim.openai_base_url, api_key="test", max_retries=0) as client:
        assert client.chat.completions.create(model="gpt-4o", messages=HELLO).usage is not None
