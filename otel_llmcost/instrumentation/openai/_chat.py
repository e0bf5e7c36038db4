"""``chat.completions.create`` / ``parse`` (operation ``chat``) and the legacy ``completions.create``
(operation ``text_completion``), sync and async.

``chat.completions.stream()`` needs no wrapper of its own: its stream manager calls ``create``
(wrapped) when entered, so the helper gets exactly one span and iterates our proxy; the close hook
in :mod:`._streams` ends that span when the helper stream is closed. ``parse`` posts directly
(it does not call ``create``), so it is wrapped too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import attrgetter
from typing import Any

from otel_llmcost import semconv as sc
from otel_llmcost.instrumentation._call import LLMCall, Request
from otel_llmcost.instrumentation._telemetry import Telemetry
from otel_llmcost.instrumentation._tokens import count_tokens, with_allowance
from otel_llmcost.instrumentation.openai._common import (
    Endpoint,
    Plan,
    endpoint_of,
    estimated,
    get,
    int_arg,
    listed,
    plain_prompt,
    str_arg,
)
from otel_llmcost.instrumentation.openai._messages import (
    chat_input_messages,
    chat_output_messages,
    chat_prompt_texts,
    completion_text,
    tool_texts,
)
from otel_llmcost.instrumentation.openai._sse import ChatTap
from otel_llmcost.instrumentation.openai._streams import ChatStreamHandler, TappedChatStreamHandler
from otel_llmcost.usage import Usage, from_openai

__all__ = ["ChatReader", "plan_chat", "plan_legacy", "should_inject"]

#: The SDK's marker header for ``with_raw_response`` / ``with_streaming_response`` calls.
_RAW_RESPONSE_HEADER = "x-stainless-raw-response"


class ChatReader:
    """Reads chat (``message``/``delta``) or legacy (``text``) completions."""

    def __init__(self, *, legacy: bool, prompt_tokens: Callable[[LLMCall], int | None]) -> None:
        self.legacy = legacy
        self._prompt_tokens = prompt_tokens

    def finish(self, call: LLMCall, body: Any) -> None:
        choices = self.record(call, body)
        call.finish(call.usage, output_messages=lambda: chat_output_messages(choices))

    def record(self, call: LLMCall, body: Any) -> Sequence[Any]:
        """Report a whole answer (its choices returned) without ending the call: :meth:`finish`
        ends it; a call whose ``parse`` step raised fails all the same."""
        choices, model, response_id, service_tier, raw = _fields(body)
        choices = listed(choices) or ()
        call.set_response(
            model=model,
            response_id=response_id,
            finish_reasons=[str(r) for r in (get(c, "finish_reason") for c in choices) if r],
            service_tier=service_tier,
        )
        # Some OpenAI-compatible servers send no usage: estimate rather than leave it unpriced.
        call.usage = from_openai(raw) if raw is not None else self.estimate(call, completion_text(choices))
        return choices

    def stream_handler(self, call: LLMCall, injected: bool) -> ChatStreamHandler:
        return ChatStreamHandler(call, self, injected)

    def tapped_stream_handler(self, call: LLMCall, tap: ChatTap) -> TappedChatStreamHandler:
        """The accounting for an SDK stream whose events ``tap`` reads (see ``_sse``)."""
        return TappedChatStreamHandler(call, self, tap)

    def finish_unread(self, call: LLMCall) -> None:
        call.finish(self.estimate(call, ""))

    def estimate(self, call: LLMCall, completion: str) -> Usage:
        return estimated(self._prompt_tokens(call), completion, call.model)

    def delta_content(self, choice: Any) -> str:
        """The message text one stream choice adds."""
        text = get(choice, "text") if self.legacy else get(get(choice, "delta"), "content")
        return text if isinstance(text, str) else ""

    def delta_text(self, choice: Any) -> str:
        """All generated text one stream choice adds (content, refusal, tool call names and
        arguments): what an estimate counts."""
        if self.legacy:
            return self.delta_content(choice)
        delta = get(choice, "delta")
        parts = [self.delta_content(choice), get(delta, "refusal") or ""]
        for tool_call in get(delta, "tool_calls") or ():
            function = get(tool_call, "function")
            parts += [get(function, "name") or "", get(function, "arguments") or ""]
        return "".join(p for p in parts if isinstance(p, str))


_FIELDS = ("choices", "model", "id", "service_tier", "usage")
_FIELD_NAMES = frozenset(_FIELDS)
_read_fields = attrgetter(*_FIELDS)


def _fields(body: Any) -> tuple[Any, ...]:
    """``get(body, name)`` of each of ``_FIELDS``: in one C call when the SDK object holds them
    all (a chat completion's pydantic fields live in its ``__dict__``)."""
    if type(body) is not dict:
        fields = getattr(body, "__dict__", None)
        if fields is not None and _FIELD_NAMES.issubset(fields):
            return _read_fields(body)
    return tuple(get(body, name) for name in _FIELDS)


def _raw_mode(kwargs: Mapping[str, Any]) -> bool:
    headers = kwargs.get("extra_headers")
    return isinstance(headers, Mapping) and any(
        isinstance(k, str) and k.lower() == _RAW_RESPONSE_HEADER for k in headers
    )


def should_inject(telemetry: Telemetry, endpoint: Endpoint, kwargs: Mapping[str, Any]) -> bool:
    """Whether to add ``stream_options.include_usage`` to this streamed request.

    Not when the caller decided (``include_usage`` set either way — an explicit False is an
    opt-out we respect — or ``stream_options`` in ``extra_body``, which replaces ours), when the
    setting is off, when the endpoint would reject it, or for ``with_raw_response`` /
    ``with_streaming_response`` calls, whose raw body the app may read without our proxy to hide
    the extra chunk.
    """
    if kwargs.get("stream") is not True or not telemetry.settings.include_usage:
        return False
    options = kwargs.get("stream_options")
    if isinstance(options, Mapping) and "include_usage" in options:
        return False
    extra_body = kwargs.get("extra_body")
    if isinstance(extra_body, Mapping) and "stream_options" in extra_body:
        return False
    return not _raw_mode(kwargs) and endpoint.supports_include_usage()


#: Chat readers keep no state of a call: one serves them all.
_CHAT_READER = ChatReader(legacy=False, prompt_tokens=LLMCall.estimate_prompt_tokens)


def plan_chat(telemetry: Telemetry, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Plan:
    endpoint = endpoint_of(instance, telemetry)
    messages = listed(kwargs.get("messages"))
    tools = listed(kwargs.get("tools"))
    model = str_arg(kwargs, "model")
    functions = listed(kwargs.get("functions"))
    tool_choice, function_call = kwargs.get("tool_choice"), kwargs.get("function_call")

    def prompt_texts() -> list[str]:
        # Tool and legacy function definitions are billed as prompt tokens too.
        definitions = [*(tools or ()), *(functions or ())]
        return chat_prompt_texts(messages or (), model) + tool_texts(definitions, tool_choice, function_call)

    request = Request(
        provider=endpoint.provider,
        operation=sc.OP_CHAT,
        model=model,
        max_tokens=int_arg(kwargs, "max_completion_tokens", "max_tokens"),
        stream=kwargs.get("stream") is True,
        server_address=endpoint.host,
        server_port=endpoint.port,
        service_tier=str_arg(kwargs, "service_tier"),
        input_messages=(lambda: chat_input_messages(messages)) if messages is not None else None,
        prompt_texts=prompt_texts if messages is not None else None,
        fingerprint_payload=(lambda: {"messages": messages, "tools": tools})
        if messages is not None
        else None,
    )
    return Plan(request, _CHAT_READER, inject=should_inject(telemetry, endpoint, kwargs))


def plan_legacy(telemetry: Telemetry, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Plan:
    endpoint = endpoint_of(instance, telemetry)
    prompt_value = kwargs.get("prompt")
    prompt = plain_prompt(prompt_value)

    def prompt_tokens(call: LLMCall) -> int | None:
        # No chat framing: a completion prompt is billed as its tokens.
        if prompt is None:
            return None
        texts, ids = prompt
        return sum(count_tokens(t, call.model) for t in texts) + ids

    request = Request(
        provider=endpoint.provider,
        operation=sc.OP_TEXT_COMPLETION,
        model=str_arg(kwargs, "model"),
        max_tokens=int_arg(kwargs, "max_tokens"),
        stream=kwargs.get("stream") is True,
        server_address=endpoint.host,
        server_port=endpoint.port,
        prompt_texts=(lambda: _legacy_texts(prompt)) if prompt is not None else None,
        fingerprint_payload=(lambda: {"prompt": prompt_value}) if prompt is not None else None,
    )
    reader = ChatReader(legacy=True, prompt_tokens=prompt_tokens)
    return Plan(request, reader, inject=should_inject(telemetry, endpoint, kwargs))


def _legacy_texts(prompt: tuple[list[str], int]) -> list[str]:
    """A legacy prompt's texts; prompts given as token ids count those ids."""
    texts, ids = prompt
    return [*texts, with_allowance("", ids)] if ids else texts
