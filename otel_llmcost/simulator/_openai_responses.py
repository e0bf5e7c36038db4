"""OpenAI Responses API: ``POST /v1/responses`` and ``GET /v1/responses/{id}`` (stored replay).

``usage.input_tokens`` includes ``input_tokens_details.cached_tokens`` and
``cache_write_tokens`` (always sent; when non-zero, with a ``cache_write_tokens_details``
TTL split: the rule's ``cache_write_5m`` as ``ttl_30m_tokens``, ``cache_write_1h`` as
``ttl_12h_tokens``); ``output_tokens`` includes ``output_tokens_details.reasoning_tokens``.
When reasoning tokens are reported the output starts with a ``reasoning`` item (empty
summary), as on the real API. An answer cut by ``max_output_tokens`` has status
``incomplete`` with ``incomplete_details.reason = "max_output_tokens"`` and its stream ends
with ``response.incomplete`` instead of ``response.completed``.
"""

from __future__ import annotations

import re
from typing import Any

from ._core import Context, StoredResponse, optional_int, require_model
from ._errors import SimBadRequest, error_response
from ._openai import request_headers, service_tier
from ._tokens import chat_prompt_tokens, text_of
from ._types import SimRequest, SimResponse, json_response, sse_data, sse_response
from ._usage import UsagePlan, plan_usage


def _messages(payload: dict[str, Any]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    instructions = payload.get("instructions")
    if isinstance(instructions, str) and instructions:
        pairs.append(("system", instructions))
    items = payload.get("input")
    if isinstance(items, str):
        pairs.append(("user", items))
    elif isinstance(items, list):
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("role"), str):
                pairs.append((item["role"], text_of(item.get("content"))))
            else:
                pairs.append(("tool", text_of(item)))
    elif items is not None:
        raise SimBadRequest(
            "Invalid type for 'input': expected a string or an array of input items.", param="input"
        )
    if not pairs:
        raise SimBadRequest("Missing required parameter: 'input'.", param="input")
    return pairs


def responses_usage(plan: UsagePlan) -> dict[str, Any]:
    input_details: dict[str, Any] = {"cache_write_tokens": plan.cache_write, "cached_tokens": plan.cached}
    if plan.cache_write:
        # Short and long retention: the rule's 5m field → ttl_30m, its 1h field → ttl_12h.
        input_details["cache_write_tokens_details"] = {
            "ttl_30m_tokens": plan.write_5m,
            "ttl_12h_tokens": plan.write_1h,
        }
    return {
        "input_tokens": plan.prompt,
        "input_tokens_details": input_details,
        "output_tokens": plan.output,
        "output_tokens_details": {"reasoning_tokens": plan.reasoning},
        "total_tokens": plan.total,
    }


def create(request: SimRequest, payload: dict[str, Any], ctx: Context, _m: re.Match[str]) -> SimResponse:
    model = require_model(payload)
    derived = chat_prompt_tokens(_messages(payload), payload.get("tools"))
    plan = plan_usage(ctx.config, model, derived, optional_int(payload, "max_output_tokens"))
    response_id = ctx.new_id("resp_sim")
    reasoning_item = (
        {"id": ctx.new_id("rs_sim"), "type": "reasoning", "summary": []} if plan.reasoning else None
    )
    message_id = ctx.new_id("msg_sim")
    final_status = "incomplete" if plan.capped else "completed"
    reasoning = payload.get("reasoning")
    if not isinstance(reasoning, dict):
        reasoning = {}
    shell: dict[str, Any] = {
        "id": response_id,
        "object": "response",
        "created_at": ctx.created(),
        "status": "in_progress",
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": payload.get("instructions"),
        "max_output_tokens": payload.get("max_output_tokens"),
        "max_tool_calls": payload.get("max_tool_calls"),
        "model": plan.response_model,
        "output": [],
        "parallel_tool_calls": payload.get("parallel_tool_calls", True),
        "previous_response_id": payload.get("previous_response_id"),
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "service_tier": service_tier(payload),
        "store": payload.get("store", True) is not False,
        "temperature": payload.get("temperature", 1.0),
        "text": payload.get("text", {"format": {"type": "text"}}),
        "tool_choice": payload.get("tool_choice", "auto"),
        "tools": payload.get("tools", []),
        "top_p": payload.get("top_p", 1.0),
        "truncation": payload.get("truncation", "disabled"),
        "usage": None,
        "user": payload.get("user"),
        "metadata": payload.get("metadata") or {},
    }
    text = plan.text()
    part = {"type": "output_text", "annotations": [], "logprobs": [], "text": text}
    message = {
        "id": message_id,
        "type": "message",
        "status": final_status,
        "content": [part],
        "role": "assistant",
    }
    output = ([reasoning_item] if reasoning_item else []) + [message]
    final = {
        **shell,
        "status": final_status,
        "incomplete_details": {"reason": "max_output_tokens"} if plan.capped else None,
        "output": output,
        "usage": responses_usage(plan),
    }
    events = _events(shell, final, plan, reasoning_item, message)
    if final["store"]:
        ctx.state.store(response_id, StoredResponse(body=final, events=events))
    headers = request_headers(ctx)
    if payload.get("stream") is True:
        return sse_response([sse_data(e, event=e["type"]) for e in events], headers)
    return json_response(200, final, headers)


def _events(
    shell: dict[str, Any],
    final: dict[str, Any],
    plan: UsagePlan,
    reasoning_item: dict[str, Any] | None,
    message: dict[str, Any],
) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []

    def emit(event_type: str, **fields: Any) -> None:
        events.append({"type": event_type, "sequence_number": len(events), **fields})

    emit("response.created", response=shell)
    emit("response.in_progress", response=shell)
    index = 0
    if reasoning_item is not None:
        emit("response.output_item.added", output_index=index, item=reasoning_item)
        emit("response.output_item.done", output_index=index, item=reasoning_item)
        index += 1
    item_id = message["id"]
    where = {"item_id": item_id, "output_index": index, "content_index": 0}
    empty_part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
    emit(
        "response.output_item.added",
        output_index=index,
        item={**message, "status": "in_progress", "content": []},
    )
    emit("response.content_part.added", **where, part=empty_part)
    for delta in plan.deltas():
        emit("response.output_text.delta", **where, delta=delta, logprobs=[])
    emit("response.output_text.done", **where, text=plan.text(), logprobs=[])
    emit("response.content_part.done", **where, part=message["content"][0])
    emit("response.output_item.done", output_index=index, item=message)
    emit("response.incomplete" if plan.capped else "response.completed", response=final)
    return events


def retrieve(request: SimRequest, payload: dict[str, Any], ctx: Context, match: re.Match[str]) -> SimResponse:
    response_id = match.group("id")
    stored = ctx.state.stored(response_id)
    if stored is None:
        return error_response(
            "openai", 404, f"Response with id '{response_id}' not found.", param="response_id"
        )
    params = request.params
    headers = request_headers(ctx)
    if params.get("stream") != "true":
        return json_response(200, stored.body, headers)
    after = params.get("starting_after")
    try:
        start = -1 if after in (None, "") else int(after)
    except ValueError:
        raise SimBadRequest(
            "Invalid 'starting_after': expected an integer.", param="starting_after"
        ) from None
    events = [e for e in stored.events if e["sequence_number"] > start]
    return sse_response([sse_data(e, event=e["type"]) for e in events], headers)
