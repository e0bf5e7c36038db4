"""Anthropic Messages API (create, stream, beta, count_tokens) through the real anthropic SDK."""

from __future__ import annotations

import asyncio
import json

import anthropic
import httpx2
import pytest
import quicktok

from otel_llmcost.simulator import Simulator, UsageRule

from .conftest import Sent

ENC = quicktok.get_encoding("o200k_base")
HELLO = [{"role": "user", "content": "hello there"}]
RULE = UsageRule(prompt_tokens=1200, cached_tokens=1024, completion_tokens=50, reasoning_tokens=30)
RAW_TYPES = [
    "message_start",
    "content_block_start",  # then "ping", which the SDK drops (see test_core)
    *["content_block_delta"] * 20,
    "content_block_stop",
    "message_delta",
    "message_stop",
]


def test_input_tokens_exclude_cache_reads(sim: Simulator, claude: anthropic.Anthropic) -> None:
    sim.set_rule("claude-*", RULE)
    message = claude.messages.create(model="claude-sim-1", max_tokens=1024, messages=HELLO)
    usage = message.usage
    assert (usage.input_tokens, usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (
        176,
        1024,
        0,
    )
    assert usage.output_tokens == 50
    assert usage.output_tokens_details is not None and usage.output_tokens_details.thinking_tokens == 30
    assert message.stop_reason == "end_turn"
    assert message.model == "claude-sim-1" and message.id.startswith("msg_sim")
    assert len(ENC.encode(message.content[0].text)) == 20


def test_cache_writes_split_5m_1h(sim: Simulator, claude: anthropic.Anthropic) -> None:
    sim.set_rule(
        "claude-*", UsageRule(prompt_tokens=2000, cached_tokens=1000, cache_write_5m=300, cache_write_1h=200)
    )
    usage = claude.messages.create(model="claude-opus-4-1", max_tokens=100, messages=HELLO).usage
    assert (usage.input_tokens, usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (
        500,
        1000,
        500,
    )
    assert usage.cache_creation is not None
    assert (
        usage.cache_creation.ephemeral_5m_input_tokens,
        usage.cache_creation.ephemeral_1h_input_tokens,
    ) == (300, 200)
    assert usage.output_tokens_details is None


def test_derived_input_counts_system_and_messages(claude: anthropic.Anthropic) -> None:
    usage = claude.messages.create(model="claude-x", max_tokens=100, system="Be brief.", messages=HELLO).usage
    expected = 3 + (3 + len(ENC.encode("system")) + len(ENC.encode("Be brief.")))
    expected += 3 + len(ENC.encode("user")) + len(ENC.encode("hello there"))
    assert usage.input_tokens == expected
    count = claude.messages.count_tokens(model="claude-x", system="Be brief.", messages=HELLO)
    assert count.input_tokens == expected


def test_raw_stream_events_and_usage(sim: Simulator, claude: anthropic.Anthropic) -> None:
    sim.set_rule("claude-*", RULE)
    events = list(claude.messages.create(model="claude-x", max_tokens=1024, messages=HELLO, stream=True))
    assert [e.type for e in events] == RAW_TYPES
    start, delta = events[0], events[-2]
    assert start.type == "message_start" and delta.type == "message_delta"
    assert (start.message.usage.input_tokens, start.message.usage.cache_read_input_tokens) == (176, 1024)
    assert start.message.usage.output_tokens == 1
    assert (delta.usage.output_tokens, delta.usage.input_tokens, delta.usage.cache_read_input_tokens) == (
        50,
        176,
        1024,
    )
    assert delta.delta.stop_reason == "end_turn"


def test_stream_helper_final_message(sim: Simulator, claude: anthropic.Anthropic) -> None:
    sim.set_rule("claude-*", RULE)
    with claude.messages.stream(model="claude-x", max_tokens=1024, messages=HELLO) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert (final.usage.input_tokens, final.usage.cache_read_input_tokens, final.usage.output_tokens) == (
        176,
        1024,
        50,
    )
    assert final.content[0].text == text


def test_max_tokens_cap(claude: anthropic.Anthropic) -> None:
    message = claude.messages.create(model="claude-x", max_tokens=7, messages=HELLO)
    assert message.stop_reason == "max_tokens" and message.usage.output_tokens == 7
    events = list(claude.messages.create(model="claude-x", max_tokens=7, messages=HELLO, stream=True))
    assert events[-2].type == "message_delta" and events[-2].delta.stop_reason == "max_tokens"


def test_beta_messages_and_beta_query(sim: Simulator, claude: anthropic.Anthropic) -> None:
    sim.set_rule("claude-*", RULE)
    beta = claude.beta.messages.create(
        model="claude-x", max_tokens=100, messages=HELLO, betas=["context-1m-2025-08-07"]
    )
    assert beta.usage.input_tokens == 176
    explicit = claude.beta.messages.create(
        model="claude-x", max_tokens=100, messages=HELLO, extra_query={"beta": "true"}
    )
    assert explicit.usage.cache_read_input_tokens == 1024
    assert sim.requests[-1].query == "beta=true"
    assert sim.requests[0].headers["anthropic-beta"] == "context-1m-2025-08-07"
    count = claude.beta.messages.count_tokens(model="claude-x", messages=HELLO, extra_query={"beta": "true"})
    assert count.input_tokens == 1200  # count_tokens reports the whole prompt


def test_async_create_and_stream(sim: Simulator, aclaude: anthropic.AsyncAnthropic, sent: Sent) -> None:
    sim.set_rule("claude-*", RULE)

    async def run() -> tuple[int, int]:
        async with aclaude:
            message = await aclaude.messages.create(model="claude-x", max_tokens=100, messages=HELLO)
            async with aclaude.messages.stream(model="claude-x", max_tokens=100, messages=HELLO) as stream:
                final = await stream.get_final_message()
        return message.usage.input_tokens, final.usage.output_tokens

    assert asyncio.run(run()) == (176, 50)
    assert [r.body for r in sim.requests] == sent.bodies
    assert json.loads(sent.bodies[1])["stream"] is True


def test_injected_errors_raise_sdk_exceptions(sim: Simulator, claude: anthropic.Anthropic) -> None:
    sim.inject_error(429, provider="anthropic", retry_after_s=2.5)
    with pytest.raises(anthropic.RateLimitError) as info:
        claude.messages.create(model="claude-x", max_tokens=10, messages=HELLO)
    assert info.value.response.headers["retry-after"] == "2.5"
    assert info.value.body == {
        "type": "error",
        "error": {
            "type": "rate_limit_error",
            "message": "This request would exceed the rate limit for your organization.",
        },
    }
    sim.inject_error(529)
    with pytest.raises(anthropic.OverloadedError):
        claude.messages.create(model="claude-x", max_tokens=10, messages=HELLO)


def test_missing_max_tokens_is_invalid_request(sim: Simulator) -> None:
    response = httpx2.post(
        sim.url + "/v1/messages",
        headers={"anthropic-version": "2023-06-01", "x-api-key": "test"},
        json={"model": "claude-x", "messages": HELLO},
    )
    assert response.status_code == 400
    assert response.json() == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"},
    }


def test_default_client_construction_works(sim: Simulator) -> None:
    with anthropic.Anthropic(base_url=sim.anthropic_base_url, api_key="test", max_retries=0) as client:
        assert client.messages.create(model="claude-x", max_tokens=5, messages=HELLO).usage.output_tokens == 5
