"""Responses API: ``responses.create`` / ``parse`` / ``retrieve(..., stream=True)`` (operation ``chat``).

``responses.stream()`` is covered through ``create`` (new response) or ``retrieve`` (an existing
one), which its stream manager calls when entered; ``parse`` posts directly and is wrapped itself.

Replays are not counted twice: every response id priced here (exactly, or by an estimate when its
stream was left early) goes into a bounded LRU, and a ``retrieve(id, stream=True)`` of an id in it
is passed through untouched (no span). An id not in it — a ``background=True`` create whose usage
only arrives later, or a response created by another process — is priced from the replay's final
event; a replay left before that event records no usage (a later one may still price it). Limits: the LRU is per process (a
response created and priced by another replica is priced again if this process replays it), and a
non-streamed ``retrieve`` is never priced (polling a background response leaves it unpriced).

Finish reasons (the Responses API has none; mapped to the chat vocabulary): ``completed`` →
``stop`` (``tool_calls`` when an output item asks the app to run a tool); ``incomplete`` → its
``incomplete_details.reason`` (``max_output_tokens``, ``content_filter``); ``failed`` → ``error``;
``cancelled`` → ``cancelled``; ``queued`` / ``in_progress`` → none.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from typing import Any

from otel_llmcost import semconv as sc
from otel_llmcost.instrumentation._call import LLMCall, Request
from otel_llmcost.instrumentation._telemetry import Telemetry
from otel_llmcost.instrumentation.openai._common import (
    Plan,
    endpoint_of,
    estimated,
    get,
    int_arg,
    listed,
    str_arg,
)
from otel_llmcost.instrumentation.openai._messages import (
    TOOL_CALL_ITEMS,
    responses_input_messages,
    responses_output_messages,
    responses_output_text,
    responses_prompt_texts,
    tool_texts,
)
from otel_llmcost.instrumentation.openai._streams import ResponsesStreamHandler
from otel_llmcost.usage import Usage, from_openai

__all__ = ["PricedIds", "ResponsesReader", "finish_reason", "plan_responses", "plan_retrieve", "priced_ids"]

PRICED_IDS_MAX = 4096


class PricedIds:
    """The last ``size`` response ids priced in this process (thread-safe LRU)."""

    def __init__(self, size: int = PRICED_IDS_MAX) -> None:
        self._size = size
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, response_id: str) -> None:
        with self._lock:
            self._ids[response_id] = None
            self._ids.move_to_end(response_id)
            while len(self._ids) > self._size:
                self._ids.popitem(last=False)

    def __contains__(self, response_id: object) -> bool:
        with self._lock:
            return response_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)


# One LRU per instrumentor (its Telemetry): "priced here" means by this agent.
_PRICED: weakref.WeakKeyDictionary[Telemetry, PricedIds] = weakref.WeakKeyDictionary()
_PRICED_LOCK = threading.Lock()


def priced_ids(telemetry: Telemetry) -> PricedIds:
    with _PRICED_LOCK:
        ids = _PRICED.get(telemetry)
        if ids is None:
            ids = _PRICED[telemetry] = PricedIds()
        return ids


def finish_reason(body: Any) -> str | None:
    status = get(body, "status")
    if status == "completed":
        tool_call = any(get(item, "type") in TOOL_CALL_ITEMS for item in get(body, "output") or ())
        return "tool_calls" if tool_call else "stop"
    if status == "incomplete":
        reason = get(get(body, "incomplete_details"), "reason")
        return str(reason) if reason else "incomplete"
    if status == "failed":
        return "error"
    if status == "cancelled":
        return "cancelled"
    return None


class ResponsesReader:
    def __init__(self, priced: PricedIds, *, replay: bool = False) -> None:
        self._priced = priced
        self._replay = replay

    def describe(self, call: LLMCall, body: Any) -> None:
        call.set_response(
            model=get(body, "model"), response_id=get(body, "id"), service_tier=get(body, "service_tier")
        )

    def report(self, call: LLMCall, body: Any) -> Usage | None:
        """Record a final response; its usage (None when it has none yet, e.g. queued)."""
        self.describe(call, body)
        reason = finish_reason(body)
        if reason:
            call.set_response(finish_reasons=[reason])
        raw = get(body, "usage")
        if raw is None:
            return None
        usage = from_openai(raw)
        response_id = get(body, "id")
        if isinstance(response_id, str) and response_id:
            self._priced.add(response_id)
        return usage

    def estimate(self, call: LLMCall, completion: str) -> Usage | None:
        # A replay without its final event is not estimated: the response may still be priced
        # exactly by a later replay, which an estimate recorded now would double.
        if self._replay:
            return None
        if call.response_id:  # priced here, if only roughly: a later replay must not add the exact cost
            self._priced.add(call.response_id)
        return estimated(call.estimate_prompt_tokens(), completion, call.model)

    def output_messages(self, call: LLMCall, body: Any) -> list[dict[str, Any]]:
        return responses_output_messages(body, finish_reason(body))

    def finish(self, call: LLMCall, body: Any) -> None:
        usage = self.report(call, body)
        if usage is None and get(body, "status") in ("completed", "incomplete"):
            usage = self.estimate(call, responses_output_text(body))  # a server that sent no usage
        call.finish(usage, output_messages=lambda: self.output_messages(call, body))

    def record(self, call: LLMCall, body: Any) -> None:
        """Report a whole answer on a call that fails all the same (its ``parse`` step raised)."""
        usage = self.report(call, body)
        if usage is None and get(body, "status") in ("completed", "incomplete"):
            usage = self.estimate(call, responses_output_text(body))
        call.usage = usage

    def stream_handler(self, call: LLMCall, injected: bool) -> ResponsesStreamHandler:
        return ResponsesStreamHandler(call, self)

    def finish_unread(self, call: LLMCall) -> None:
        call.finish(self.estimate(call, ""))


def plan_responses(
    telemetry: Telemetry, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Plan:
    endpoint = endpoint_of(instance, telemetry)
    instructions = kwargs.get("instructions")
    input_value = kwargs.get("input")
    prompt_input = input_value if isinstance(input_value, str) else listed(input_value)
    tools = listed(kwargs.get("tools"))
    tool_choice = kwargs.get("tool_choice")
    model = str_arg(kwargs, "model")
    readable = prompt_input is not None or isinstance(instructions, str)

    def prompt_texts() -> list[str]:
        return responses_prompt_texts(instructions, prompt_input, model) + tool_texts(tools, tool_choice)

    request = Request(
        provider=endpoint.provider,
        operation=sc.OP_CHAT,
        model=model,
        max_tokens=int_arg(kwargs, "max_output_tokens"),
        stream=kwargs.get("stream") is True,
        server_address=endpoint.host,
        server_port=endpoint.port,
        service_tier=str_arg(kwargs, "service_tier"),
        input_messages=(lambda: responses_input_messages(instructions, prompt_input)) if readable else None,
        prompt_texts=prompt_texts if readable else None,
        fingerprint_payload=(
            (lambda: {"instructions": instructions, "input": prompt_input, "tools": tools})
            if readable
            else None
        ),
    )
    return Plan(request, ResponsesReader(priced_ids(telemetry)))


def plan_retrieve(
    telemetry: Telemetry, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Plan | None:
    """A replay of a response not priced here; None (pass through) for anything else."""
    if kwargs.get("stream") is not True:
        return None
    response_id = args[0] if args else kwargs.get("response_id")
    priced = priced_ids(telemetry)
    if not isinstance(response_id, str) or response_id in priced:
        return None
    endpoint = endpoint_of(instance, telemetry)
    request = Request(
        provider=endpoint.provider,
        operation=sc.OP_CHAT,
        model=None,  # unknown until the replay says
        stream=True,
        server_address=endpoint.host,
        server_port=endpoint.port,
        downgradable=False,  # a replay has no model to change (retrieve() takes no model=)
    )
    return Plan(request, ResponsesReader(priced, replay=True))
