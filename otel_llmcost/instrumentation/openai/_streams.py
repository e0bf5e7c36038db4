"""Accounting for streamed answers, and the close hooks of the SDK's ``.stream()`` helpers.

Chat and legacy completion streams carry usage only in a final ``choices: []`` chunk, sent when
``stream_options.include_usage`` is set. When *we* set it, that chunk is hidden from the caller
(``on_item`` returns True), so the caller — and the ``.stream()`` helper accumulating its final
completion — sees exactly the chunks it would have seen without us. A stream that ends without
usage (stopped early, opted out, a server that sends none) is estimated from the streamed text.

For the SDK's own ``Stream``/``AsyncStream`` none of this happens on the chunk objects:
``_sse.ChatTap`` reads the chunks' JSON text before the SDK parses it (and takes out the usage
chunk), and :class:`TappedChatStreamHandler` finishes the span from that text at the end.
:class:`ChatStreamHandler` reads chunk objects for everything else (raw responses).

Responses streams report usage in ``response.completed`` / ``response.incomplete`` /
``response.failed``; nothing is hidden.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from otel_llmcost.instrumentation._call import LLMCall
from otel_llmcost.instrumentation._streams import AsyncStreamProxy, SyncStreamProxy
from otel_llmcost.instrumentation._telemetry import Telemetry
from otel_llmcost.instrumentation._wrap import Wrapper
from otel_llmcost.instrumentation.openai._common import get, safely
from otel_llmcost.usage import Usage, from_openai

if TYPE_CHECKING:
    from otel_llmcost.instrumentation.openai._chat import ChatReader
    from otel_llmcost.instrumentation.openai._responses import ResponsesReader
    from otel_llmcost.instrumentation.openai._sse import ChatTap

__all__ = [
    "DELTA_EVENTS",
    "FINAL_EVENTS",
    "ChatStreamHandler",
    "ResponsesStreamHandler",
    "TappedChatStreamHandler",
    "async_helper_close",
    "sync_helper_close",
]

_logger = logging.getLogger(__name__)

#: Events whose ``response`` is final and carries usage.
FINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})
#: Events whose ``delta`` is generated text (counted when we must estimate).
DELTA_EVENTS = frozenset(
    {
        "response.output_text.delta",
        "response.refusal.delta",
        "response.function_call_arguments.delta",
        "response.custom_tool_call_input.delta",
    }
)


def _tier(item: Any) -> str | None:
    tier = get(item, "service_tier")
    return tier if isinstance(tier, str) else None


class ChatStreamHandler:
    """Chat completions and legacy completions streams."""

    def __init__(self, call: LLMCall, reader: ChatReader, injected: bool) -> None:
        self._call = call
        self._reader = reader
        self._injected = injected
        # The choices as they streamed; their text is only assembled when it is needed (an
        # estimate when no usage came, or content capture), not on every chunk.
        self._choices: list[Any] = []
        self._finish_reasons: dict[int, str] = {}
        self._service_tier: str | None = None
        self._usage: Usage | None = None
        self._done = False
        self._first = True

    def on_item(self, item: Any) -> bool:
        # SDK chunk objects take the direct path (this runs for every chunk); wire dicts from raw
        # responses go through ``get``.
        wire = type(item) is dict
        choices = (get(item, "choices") if wire else getattr(item, "choices", None)) or ()
        usage = get(item, "usage") if wire else getattr(item, "usage", None)
        # Decided first and alone: a fault in the accounting below must not make the chunk we
        # asked for visible to the caller.
        hide = self._injected and usage is not None and not choices
        try:
            if self._first:
                self._first_item(item)
            for choice in choices:
                self._choices.append(choice)
                reason = get(choice, "finish_reason") if wire else getattr(choice, "finish_reason", None)
                if reason:
                    self._finish_reasons[get(choice, "index") or 0] = str(reason)
            if usage is not None:
                self._usage = from_openai(usage)
                self._service_tier = _tier(item) or self._service_tier
        except Exception:
            _logger.debug("otel-llmcost: openai stream accounting failed", exc_info=True)
        return hide

    def _first_item(self, item: Any) -> None:
        call = self._call
        call.set_response(model=get(item, "model"), response_id=get(item, "id"))
        self._service_tier = _tier(item)
        # Azure's first chunk (prompt filter results) may carry neither: look again next time.
        self._first = not (call.response_id and call.response_model)

    def _per_choice(self, text_of: Any) -> dict[int, list[str]]:
        parts: dict[int, list[str]] = {}
        for choice in self._choices:
            parts.setdefault(get(choice, "index") or 0, []).append(text_of(choice))
        return parts

    def text(self) -> str:
        return "".join("".join(p) for _, p in sorted(self._per_choice(self._reader.delta_text).items()))

    def on_end(self, call: LLMCall, error: BaseException | None, complete: bool) -> None:
        if self._done:
            return
        self._done = True
        reasons = [self._finish_reasons[i] for i in sorted(self._finish_reasons)]
        call.set_response(finish_reasons=reasons, service_tier=self._service_tier)
        usage = self._usage if self._usage is not None else self._reader.estimate(call, self.text())
        if error is not None:
            # The proxy fails the call next; what streamed before the failure was billed.
            call.usage = usage
            return
        call.finish(usage, output_messages=self._output_messages)

    def _output_messages(self) -> list[dict[str, Any]]:
        return [
            {
                "role": "assistant",
                "parts": [{"type": "text", "content": "".join(parts)}],
                "finish_reason": self._finish_reasons.get(index),
            }
            for index, parts in sorted(self._per_choice(self._reader.delta_content).items())
        ]


class TappedChatStreamHandler:
    """A chat stream whose chunks :class:`~._sse.ChatTap` saw as JSON text: nothing to do per chunk
    (the proxy does not call :meth:`on_item`); at the end, a :class:`ChatStreamHandler` is given
    the chunks it needs, parsed: those with a ``finish_reason`` and the usage chunk (every chunk
    names the response id, model and service tier) — or every chunk when the text itself is
    needed: an estimate (no usage came) or captured content.
    """

    per_item = False

    def __init__(self, call: LLMCall, reader: ChatReader, tap: ChatTap) -> None:
        self._tap = tap
        self._inner = ChatStreamHandler(call, reader, injected=False)

    def on_item(self, item: Any) -> bool:
        return False

    def on_end(self, call: LLMCall, error: BaseException | None, complete: bool) -> None:
        tap, inner = self._tap, self._inner
        usage_chunk = tap.usage_chunk
        full = usage_chunk is None or call.telemetry.settings.capture_content
        for data in tap.chunks if full else tap.finished:
            item = _parsed(data)
            if item is not None:
                inner.on_item(item)
        if usage_chunk is not None:
            inner.on_item(usage_chunk)
        # The texts are no longer needed; the stream object may outlive its span by far.
        tap.chunks.clear()
        tap.finished.clear()
        inner.on_end(call, error, complete)


def _parsed(data: str) -> dict[str, Any] | None:
    try:
        item = json.loads(data)
    except ValueError:  # the SDK raised for it already
        return None
    return item if type(item) is dict else None


class ResponsesStreamHandler:
    """Responses API streams (``create(stream=True)``, ``.stream()``, ``retrieve(stream=True)``)."""

    def __init__(self, call: LLMCall, reader: ResponsesReader) -> None:
        self._call = call
        self._reader = reader
        self._final: Any = None
        self._text: list[str] = []
        self._done = False

    def on_item(self, item: Any) -> bool:
        kind = get(item, "type")
        response = get(item, "response")
        if response is not None:
            self._reader.describe(self._call, response)
            if kind in FINAL_EVENTS:
                self._final = response
        elif kind in DELTA_EVENTS:
            delta = get(item, "delta")
            if isinstance(delta, str):
                self._text.append(delta)
        return False

    def on_end(self, call: LLMCall, error: BaseException | None, complete: bool) -> None:
        if self._done:
            return
        self._done = True
        final = self._final
        usage = self._reader.report(call, final) if final is not None else None
        if usage is None:
            usage = self._reader.estimate(call, "".join(self._text))
        if error is not None:
            call.usage = usage
            return
        if final is not None:
            call.finish(usage, output_messages=lambda: self._reader.output_messages(call, final))
        else:
            call.finish(usage)


# --- .stream() helpers ----------------------------------------------------------------------------
# ChatCompletionStream / ResponseStream.close() close the HTTP response directly, bypassing the raw
# stream they iterate (our proxy). Without these hooks a helper stream left early would end its span
# only when garbage-collected.


def sync_helper_close(telemetry: Telemetry) -> Wrapper:
    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            return wrapped(*args, **kwargs)
        finally:
            raw = getattr(instance, "_raw_stream", None)
            if isinstance(raw, SyncStreamProxy):
                safely(raw.close, None)

    return wrapper


def async_helper_close(telemetry: Telemetry) -> Wrapper:
    async def close(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            return await wrapped(*args, **kwargs)
        finally:
            raw = getattr(instance, "_raw_stream", None)
            if isinstance(raw, AsyncStreamProxy):
                try:
                    await raw.close()
                except Exception:
                    _logger.debug("otel-llmcost: could not end a helper stream", exc_info=True)

    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return close(wrapped, instance, args, kwargs)

    return wrapper
