"""The mock OpenAI endpoint every implementation is measured against: canned, realistic bytes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

COST_ATTRIBUTES = ("gen_ai.usage.cost.amount", "gen_ai.usage.cost")
ATTRIBUTION_ATTRIBUTE = "llmcost.team"

MODEL = "gpt-4o-mini"
RESPONSE_MODEL = "gpt-4o-mini-2024-07-18"
#: A prompt-cached call: 1300 prompt tokens of which 1024 cached, 64 completion tokens.
USAGE: dict[str, Any] = {
    "prompt_tokens": 1300,
    "completion_tokens": 64,
    "total_tokens": 1364,
    "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
    "completion_tokens_details": {
        "reasoning_tokens": 0,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    },
}
#: gpt-4o-mini list prices, USD per 1M tokens: input 0.15, cached input 0.075, output 0.60.
#: 276 x 0.15 + 1024 x 0.075 + 64 x 0.60 = 156.6 per 1M -> the exact cost of one call.
EXPECTED_COST = 0.0001566
#: A long shared system prompt (~1000 tokens: the cached part) and a short question, so what an
#: implementation does per prompt byte (hashing, serializing) is paid at a realistic size.
SYSTEM_PROMPT = "You are a concise assistant for an online bookshop.\n" + "\n".join(
    f"Rule {i}: recommend only titles in stock at branch {i}, quote prices in EUR, and never reveal "
    "another customer's order history or contact details."
    for i in range(1, 41)
)
MESSAGES = [
    {"role": "system", "content": SYSTEM_PROMPT},
    {"role": "user", "content": "Suggest three science fiction novels for a long train ride."},
]
CREATED = 1_767_225_600
COMPLETION_ID = "chatcmpl-BenchAbCdEf0123456789"
FINGERPRINT = "fp_b376dfbbd5"
WORDS = ("The", " Left", " Hand", " of", " Darkness", ",", " Hyperion", " and", " Ancillary", " Justice", ".")


def _completion_text(chunks: int) -> list[str]:
    return [WORDS[i % len(WORDS)] for i in range(chunks)]


def completion_body(chunks: int) -> bytes:
    """A non-streamed chat completion, as OpenAI sends it (usage with cached tokens)."""
    return json.dumps(
        {
            "id": COMPLETION_ID,
            "object": "chat.completion",
            "created": CREATED,
            "model": RESPONSE_MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": "".join(_completion_text(chunks)),
                        "refusal": None,
                        "annotations": [],
                    },
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": USAGE,
            "service_tier": "default",
            "system_fingerprint": FINGERPRINT,
        }
    ).encode()


def stream_events(chunks: int, include_usage: bool) -> list[bytes]:
    """An SSE body split per event (one network read each): ``chunks`` content chunks, the last
    carrying ``finish_reason``, then a usage-only chunk when asked for, then ``[DONE]``."""
    events: list[bytes] = []

    def chunk(choices: list[dict[str, Any]], usage: dict[str, Any] | None) -> bytes:
        payload = {
            "id": COMPLETION_ID,
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": RESPONSE_MODEL,
            "service_tier": "default",
            "system_fingerprint": FINGERPRINT,
            "choices": choices,
        }
        if include_usage:
            payload["usage"] = usage  # null on every chunk but the last, as OpenAI sends it
        return b"data: " + json.dumps(payload).encode() + b"\n\n"

    for i, text in enumerate(_completion_text(chunks)):
        delta: dict[str, Any] = {"content": text}
        if i == 0:
            delta = {"role": "assistant", "content": text, "refusal": None}
        last = i == chunks - 1
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": "stop" if last else None}
        events.append(chunk([choice], None))
    if include_usage:
        events.append(chunk([], USAGE))
    events.append(b"data: [DONE]\n\n")
    return events


def make_handler(chunks: int) -> Callable[[Any], Any]:
    """The ``MockTransport`` handler: canned bytes built once, a fresh response per request."""
    import httpx2

    body = completion_body(chunks)
    plain_events = stream_events(chunks, include_usage=False)
    usage_events = stream_events(chunks, include_usage=True)
    json_headers = {
        "content-type": "application/json",
        "x-request-id": "req_bench",
        "openai-processing-ms": "212",
    }
    sse_headers = {**json_headers, "content-type": "text/event-stream; charset=utf-8"}

    def handler(request: Any) -> Any:
        sent = json.loads(request.content)
        if not sent.get("stream"):
            return httpx2.Response(200, headers=json_headers, content=body)
        options = sent.get("stream_options") or {}
        events = usage_events if options.get("include_usage") else plain_events
        return httpx2.Response(200, headers=sse_headers, content=iter(events))

    return handler
