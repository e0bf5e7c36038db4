"""OpenAI: chat completions, legacy completions and embeddings.

Usage follows the real API: ``prompt_tokens`` includes ``prompt_tokens_details.cached_tokens``,
``audio_tokens`` and ``cache_write_tokens`` (sent only when non-zero: the rule's 5m + 1h writes); ``completion_tokens`` includes ``completion_tokens_details.reasoning_tokens``.
A streamed answer carries usage only in a final ``"choices": []`` chunk, and only when the
request sets ``stream_options.include_usage``; every other chunk then has ``"usage": null``.
"""

from __future__ import annotations

import re
from typing import Any

from ._config import MAX_EMBEDDING_DIMS
from ._core import Context, optional_int, require_model
from ._errors import SimBadRequest
from ._tokens import chat_prompt_tokens, count, embedding, embedding_base64, text_of
from ._types import SimRequest, SimResponse, json_response, sse_data, sse_response
from ._usage import UsagePlan, input_plan, plan_usage

SYSTEM_FINGERPRINT = "fp_simulator"
DONE = b"data: [DONE]\n\n"
#: The legacy completions endpoint's default ``max_tokens`` (as on the real API).
LEGACY_DEFAULT_MAX_TOKENS = 16


def service_tier(payload: dict[str, Any]) -> str:
    """The tier the real API reports: the requested one, with ``auto``/absent as ``default``."""
    requested = payload.get("service_tier")
    return requested if isinstance(requested, str) and requested != "auto" else "default"


def request_headers(ctx: Context) -> dict[str, str]:
    return {"x-request-id": ctx.new_id("req_sim"), "openai-processing-ms": "1"}


def chat_usage(plan: UsagePlan) -> dict[str, Any]:
    prompt_details: dict[str, Any] = {"cached_tokens": plan.cached, "audio_tokens": plan.audio}
    if plan.cache_write:  # optional on the wire; sent only when something was written
        prompt_details["cache_write_tokens"] = plan.cache_write
    return {
        "prompt_tokens": plan.prompt,
        "completion_tokens": plan.output,
        "total_tokens": plan.total,
        "prompt_tokens_details": prompt_details,
        "completion_tokens_details": {
            "reasoning_tokens": plan.reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _include_usage(payload: dict[str, Any]) -> bool:
    options = payload.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


def _chat_messages(payload: dict[str, Any]) -> list[tuple[str, str]]:
    messages = payload.get("messages")
    if not isinstance(messages, list) or not messages:
        raise SimBadRequest("Missing required parameter: 'messages'.", param="messages")
    pairs: list[tuple[str, str]] = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise SimBadRequest(f"Invalid value for 'messages[{i}]': expected an object with a role.")
        text = text_of(message.get("content"))
        for extra in ("name", "tool_calls"):
            if message.get(extra):
                text += "\n" + text_of(message[extra])
        pairs.append((message["role"], text))
    return pairs


def chat_completions(
    request: SimRequest, payload: dict[str, Any], ctx: Context, _m: re.Match[str]
) -> SimResponse:
    model = require_model(payload)
    derived = chat_prompt_tokens(_chat_messages(payload), payload.get("tools"))
    cap = optional_int(payload, "max_completion_tokens", "max_tokens")
    plan = plan_usage(ctx.config, model, derived, cap)
    finish = "length" if plan.capped else "stop"
    base: dict[str, Any] = {
        "id": ctx.new_id("chatcmpl-sim"),
        "object": "chat.completion",
        "created": ctx.created(),
        "model": plan.response_model,
    }
    tier, headers = service_tier(payload), request_headers(ctx)
    if payload.get("stream") is not True:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": plan.text(),
            "refusal": None,
            "annotations": [],
        }
        body = {
            **base,
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
            "usage": chat_usage(plan),
            "service_tier": tier,
            "system_fingerprint": SYSTEM_FINGERPRINT,
        }
        return json_response(200, body, headers)
    include_usage = _include_usage(payload)
    chunk_base = {
        **base,
        "object": "chat.completion.chunk",
        "service_tier": tier,
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        obj: dict[str, Any] = {**chunk_base, "choices": [choice]}
        if include_usage:
            obj["usage"] = None
        return sse_data(obj)

    frames = [chunk({"role": "assistant", "content": "", "refusal": None})]
    frames += [chunk({"content": delta}) for delta in plan.deltas()]
    frames.append(chunk({}, finish))
    if include_usage:
        frames.append(sse_data({**chunk_base, "choices": [], "usage": chat_usage(plan)}))
    frames.append(DONE)
    return sse_response(frames, headers)


def _prompt_texts(value: object, param: str) -> list[str]:
    """``str | list[str] | list[int] | list[list[int]]`` → one text per input.

    Token-id inputs become their ids joined by spaces (their token count is their length).
    """
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value:
        if all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return [" ".join(map(str, value))]
        texts: list[str] = []
        for item in value:
            if isinstance(item, str):
                texts.append(item)
            elif isinstance(item, list) and all(isinstance(v, int) for v in item):
                texts.append(" ".join(map(str, item)))
            else:
                break
        else:
            return texts
    raise SimBadRequest(
        f"Invalid value for '{param}': expected a string or an array of strings or tokens.", param=param
    )


def _input_tokens(value: object, texts: list[str]) -> int:
    if isinstance(value, list) and value and not isinstance(value[0], str):
        ids = value if isinstance(value[0], int) else [i for item in value for i in item]
        return len(ids)
    return sum(count(t) for t in texts)


def completions(request: SimRequest, payload: dict[str, Any], ctx: Context, _m: re.Match[str]) -> SimResponse:
    model = require_model(payload)
    if "prompt" not in payload:
        raise SimBadRequest("Missing required parameter: 'prompt'.", param="prompt")
    prompt = payload["prompt"]
    derived = _input_tokens(prompt, _prompt_texts(prompt, "prompt"))
    cap = optional_int(payload, "max_tokens")
    plan = plan_usage(ctx.config, model, derived, LEGACY_DEFAULT_MAX_TOKENS if cap is None else cap)
    finish = "length" if plan.capped else "stop"
    usage = {"prompt_tokens": plan.prompt, "completion_tokens": plan.output, "total_tokens": plan.total}
    base: dict[str, Any] = {
        "id": ctx.new_id("cmpl-sim"),
        "object": "text_completion",
        "created": ctx.created(),
        "model": plan.response_model,
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }
    headers = request_headers(ctx)
    if payload.get("stream") is not True:
        choice = {"text": plan.text(), "index": 0, "logprobs": None, "finish_reason": finish}
        return json_response(200, {**base, "choices": [choice], "usage": usage}, headers)

    def chunk(text: str, finish_reason: str | None) -> bytes:
        return sse_data(
            {
                **base,
                "choices": [{"text": text, "index": 0, "logprobs": None, "finish_reason": finish_reason}],
            }
        )

    frames = [chunk(delta, None) for delta in plan.deltas()]
    frames.append(chunk("", finish))
    if _include_usage(payload):
        frames.append(sse_data({**base, "choices": [], "usage": usage}))
    frames.append(DONE)
    return sse_response(frames, headers)


def embeddings(request: SimRequest, payload: dict[str, Any], ctx: Context, _m: re.Match[str]) -> SimResponse:
    model = require_model(payload)
    if "input" not in payload:
        raise SimBadRequest("Missing required parameter: 'input'.", param="input")
    texts = _prompt_texts(payload["input"], "input")
    if any(t == "" for t in texts):
        raise SimBadRequest("'$.input' is invalid. Please check the API reference.", param="input")
    fmt = payload.get("encoding_format", "float")
    if fmt not in ("float", "base64"):
        raise SimBadRequest(
            "Invalid value for 'encoding_format': expected 'float' or 'base64'.", param="encoding_format"
        )
    dims = optional_int(payload, "dimensions", maximum=MAX_EMBEDDING_DIMS) or ctx.config.embedding_dims
    tokens = input_plan(ctx.config, model, _input_tokens(payload["input"], texts))
    data = []
    for index, text in enumerate(texts):
        vector = embedding(text, dims, model)
        data.append(
            {
                "object": "embedding",
                "index": index,
                "embedding": embedding_base64(vector) if fmt == "base64" else vector,
            }
        )
    rule_model = ctx.config.rule_for(model).response_model or model
    body = {
        "object": "list",
        "data": data,
        "model": rule_model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
    return json_response(200, body, request_headers(ctx))
