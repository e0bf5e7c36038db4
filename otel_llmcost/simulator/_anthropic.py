"""Anthropic Messages API: ``POST /v1/messages`` (JSON and SSE) and ``/v1/messages/count_tokens``.

``usage.input_tokens`` EXCLUDES cache reads (``cache_read_input_tokens``) and cache writes
(``cache_creation_input_tokens`` = ``cache_creation.ephemeral_5m_input_tokens`` +
``ephemeral_1h_input_tokens``). ``output_tokens`` includes thinking tokens, itemised in
``output_tokens_details.thinking_tokens`` when there are any. A stream reports input and
cache counts in ``message_start`` (with ``output_tokens`` 1) and the cumulative totals again
in ``message_delta``. The beta surface (``client.beta.messages``, ``?beta=true``) is served
by the same endpoints: the query string does not change the answer.
"""

from __future__ import annotations

import re
from typing import Any

from ._core import Context, optional_int
from ._errors import SimBadRequest
from ._tokens import chat_prompt_tokens, text_of
from ._types import SimRequest, SimResponse, json_response, sse_data, sse_response
from ._usage import UsagePlan, input_plan, plan_usage


def _required(payload: dict[str, Any], name: str) -> Any:
    if payload.get(name) is None:
        raise SimBadRequest(f"{name}: Field required")
    return payload[name]


def _model_and_messages(payload: dict[str, Any]) -> tuple[str, list[tuple[str, str]]]:
    model = _required(payload, "model")
    if not isinstance(model, str) or not model:
        raise SimBadRequest("model: Input should be a valid string")
    messages = _required(payload, "messages")
    if not isinstance(messages, list):
        raise SimBadRequest("messages: Input should be a valid list")
    pairs: list[tuple[str, str]] = []
    system = payload.get("system")
    if system:
        pairs.append(("system", text_of(system)))
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            raise SimBadRequest(f"messages.{i}.role: Input should be 'user' or 'assistant'")
        pairs.append((message["role"], text_of(message.get("content"))))
    return model, pairs


def usage(plan: UsagePlan, output_tokens: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "input_tokens": plan.uncached_input,
        "cache_creation_input_tokens": plan.cache_write,
        "cache_read_input_tokens": plan.cached,
        "cache_creation": {
            "ephemeral_5m_input_tokens": plan.write_5m,
            "ephemeral_1h_input_tokens": plan.write_1h,
        },
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }
    if plan.reasoning and output_tokens == plan.output:
        body["output_tokens_details"] = {"thinking_tokens": plan.reasoning}
    return body


def _headers(ctx: Context) -> dict[str, str]:
    return {"request-id": ctx.new_id("req_sim")}


def messages(request: SimRequest, payload: dict[str, Any], ctx: Context, _m: re.Match[str]) -> SimResponse:
    model, pairs = _model_and_messages(payload)
    _required(payload, "max_tokens")
    max_tokens = optional_int(payload, "max_tokens")
    plan = plan_usage(ctx.config, model, chat_prompt_tokens(pairs, payload.get("tools")), max_tokens)
    stop_reason = "max_tokens" if plan.capped else "end_turn"
    message: dict[str, Any] = {
        "id": ctx.new_id("msg_sim"),
        "type": "message",
        "role": "assistant",
        "model": plan.response_model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
    }
    headers = _headers(ctx)
    if payload.get("stream") is not True:
        content = [{"type": "text", "text": plan.text()}] if plan.visible else []
        body = {**message, "content": content, "stop_reason": stop_reason, "usage": usage(plan, plan.output)}
        return json_response(200, body, headers)

    def event(obj: dict[str, Any]) -> bytes:
        return sse_data(obj, event=obj["type"])

    frames = [
        event({"type": "message_start", "message": {**message, "usage": usage(plan, min(1, plan.output))}})
    ]
    if plan.visible:
        frames.append(
            event({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
        )
    frames.append(event({"type": "ping"}))
    if plan.visible:
        for delta in plan.deltas():
            frames.append(
                event(
                    {
                        "type": "content_block_delta",
                        "index": 0,
                        "delta": {"type": "text_delta", "text": delta},
                    }
                )
            )
        frames.append(event({"type": "content_block_stop", "index": 0}))
    final_usage = usage(plan, plan.output)
    del final_usage["cache_creation"], final_usage["service_tier"]
    frames.append(
        event(
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": final_usage,
            }
        )
    )
    frames.append(event({"type": "message_stop"}))
    return sse_response(frames, headers)


def count_tokens(
    request: SimRequest, payload: dict[str, Any], ctx: Context, _m: re.Match[str]
) -> SimResponse:
    model, pairs = _model_and_messages(payload)
    tokens = input_plan(ctx.config, model, chat_prompt_tokens(pairs, payload.get("tools")))
    return json_response(200, {"input_tokens": tokens}, _headers(ctx))
