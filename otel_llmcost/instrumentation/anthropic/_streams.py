"""Streamed Messages: the event handler, and ``messages.stream()``'s stream managers.

Usage of a stream comes in two parts: ``message_start`` carries the input and cache counts (and
a placeholder output count), ``message_delta`` the cumulative totals (always ``output_tokens``,
and on newer API versions the input and cache counts again). A stream that ends without
``message_delta`` keeps the provider's input counts and estimates the output from the text
the caller received; the span says so (``llmcost.usage.estimated``).

``messages.stream()`` returns a ``MessageStreamManager`` that sends nothing until its ``with``
block is entered. We hand the caller that same manager, with its deferred request replaced by
one that runs through :meth:`Telemetry.traced` (so the send is marked as ours and the SDK
starts no span of its own) and returns the SDK's raw event stream behind a proxy. The
``MessageStream`` helper reads every event through that proxy — iteration, ``text_stream``,
``until_done()`` and ``get_final_message()`` alike — so one span sees exactly what the caller
read, and ends when the stream does.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Generator, Iterator, Mapping
from typing import Any

from otel_llmcost.instrumentation._call import LLMCall
from otel_llmcost.instrumentation._streams import AsyncStreamProxy, SyncStreamProxy
from otel_llmcost.instrumentation._telemetry import Telemetry
from otel_llmcost.instrumentation._tokens import count_tokens
from otel_llmcost.instrumentation._wrap import Wrapper, WrapSpec
from otel_llmcost.instrumentation.anthropic._request import build_request, get, output_messages
from otel_llmcost.instrumentation.anthropic._response import billed_usage
from otel_llmcost.instrumentation.anthropic._sdk_spans import suppression_active
from otel_llmcost.usage import Usage

__all__ = ["MessageEvents", "stream_specs"]

_logger = logging.getLogger(__name__)

# Delta types whose text the caller receives, by the field that holds it.
_DELTA_TEXT = {"text_delta": "text", "thinking_delta": "thinking", "input_json_delta": "partial_json"}


def _fields(obj: Any) -> dict[str, Any]:
    """The non-null fields of a usage object (SDK model or mapping)."""
    if obj is None:
        return {}
    if isinstance(obj, Mapping):
        data = dict(obj)
    else:
        to_dict = getattr(obj, "to_dict", None)
        data = to_dict() if callable(to_dict) else {}
    return {k: v for k, v in data.items() if v is not None}


class MessageEvents:
    """Accounts for the raw events of one streamed Message (a :class:`StreamHandler`)."""

    def __init__(self, model: str | None) -> None:
        self._model = model
        self._message_id: str | None = None
        self._response_model: str | None = None
        self._start_usage: dict[str, Any] | None = None
        self._delta_usage: dict[str, Any] | None = None
        self._stop_reason: str | None = None
        self._blocks: dict[int, dict[str, Any]] = {}
        self._texts: list[str] = []

    def on_item(self, item: Any) -> bool:
        kind = get(item, "type")
        if kind == "message_start":
            message = get(item, "message")
            self._message_id = get(message, "id")
            self._response_model = get(message, "model")
            self._start_usage = _fields(get(message, "usage"))
        elif kind == "content_block_start":
            block = get(item, "content_block")
            index = get(item, "index")
            if isinstance(index, int):
                self._blocks[index] = {
                    "type": get(block, "type"),
                    "id": get(block, "id"),
                    "name": get(block, "name"),
                    "text": [],
                }
        elif kind == "content_block_delta":
            delta = get(item, "delta")
            field = _DELTA_TEXT.get(str(get(delta, "type")))
            text = get(delta, field) if field else None
            if isinstance(text, str):
                self._texts.append(text)
                block = self._blocks.get(get(item, "index"))
                if block is not None:
                    block["text"].append(text)
        elif kind == "message_delta":
            self._stop_reason = get(get(item, "delta"), "stop_reason") or self._stop_reason
            usage = _fields(get(item, "usage"))
            if "output_tokens" in usage:  # the final count; without it the output is unknown
                self._delta_usage = usage
        return False  # the caller sees every event

    def on_end(self, call: LLMCall, error: BaseException | None, complete: bool) -> None:
        call.set_response(
            model=self._response_model,
            response_id=self._message_id,
            finish_reasons=[self._stop_reason] if self._stop_reason else None,
            service_tier=(self._start_usage or {}).get("service_tier"),
        )
        usage = self._usage(call, error)
        if error is not None:
            # A stream that fails part-way was still sent and (partly) billed: keep what we know.
            call.usage = usage
            call.fail(error)
            return
        call.finish(usage, output_messages=self._output_messages)

    def _usage(self, call: LLMCall, error: BaseException | None) -> Usage | None:
        if self._start_usage is None:
            if error is not None:
                return None
            # Closed before message_start: the prompt was sent; count it ourselves.
            prompt = call.estimate_prompt_tokens()
            return Usage(input=prompt, estimated=True) if prompt is not None else None
        if self._delta_usage is not None:
            return billed_usage({**self._start_usage, **self._delta_usage})
        # No message_delta: message_start's output count is a placeholder, not the output.
        provider_input = billed_usage(
            {**self._start_usage, "output_tokens": 0, "output_tokens_details": None}
        )
        output = count_tokens("".join(self._texts), self._model)
        return dataclasses.replace(provider_input, output=output, reasoning=0, estimated=True)

    def _output_messages(self) -> list[dict[str, Any]]:
        content: list[dict[str, Any]] = []
        for _, block in sorted(self._blocks.items()):
            text = "".join(block["text"])
            kind = block["type"]
            if kind == "text":
                content.append({"type": "text", "text": text})
            elif kind == "thinking":
                content.append({"type": "thinking", "thinking": text})
            elif kind in ("tool_use", "server_tool_use"):
                content.append({"type": kind, "id": block["id"], "name": block["name"], "input": text})
            else:
                content.append({"type": kind})
        return output_messages(content, self._stop_reason)


# --- messages.stream() ----------------------------------------------------------------------------


def _request_attribute(manager: Any) -> str:
    """The manager's (name-mangled) deferred-request attribute, e.g. ``_MessageStreamManager__api_request``."""
    return str(next(name for name in vars(manager) if name.endswith("__api_request")))


class _DeferredRequest:
    """An awaitable that starts our traced send only when awaited (in ``__aenter__``), so a
    manager that is never entered leaves nothing behind but the SDK's own unawaited request."""

    def __init__(self, start: Callable[[], Awaitable[Any]]) -> None:
        self._start = start

    def __await__(self) -> Generator[Any, None, Any]:
        return self._start().__await__()


def _stream_factory(telemetry: Telemetry, *, is_async: bool) -> Wrapper:
    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        manager = wrapped(*args, **kwargs)
        try:
            if args or not suppression_active():
                return manager
            attribute = _request_attribute(manager)
            original = getattr(manager, attribute)
            traced = _traced_async if is_async else _traced_sync
            setattr(manager, attribute, traced(telemetry, wrapped, instance, kwargs, attribute, original))
        except Exception:
            _logger.debug("otel-llmcost: anthropic stream not recorded", exc_info=True)
        return manager

    return wrapper


def _on_stream(proxy: type[SyncStreamProxy] | type[AsyncStreamProxy]) -> Callable[[LLMCall, Any], Any]:
    def on_result(call: LLMCall, raw_stream: Any) -> Any:
        return proxy(raw_stream, call, MessageEvents(call.model))

    return on_result


def _traced_sync(
    telemetry: Telemetry, wrapped: Any, instance: Any, kwargs: dict[str, Any], attribute: str, original: Any
) -> Callable[[], Any]:
    def send(**sent: Any) -> Any:
        if sent.get("model") == kwargs.get("model"):
            return original()
        # The budget guard downgraded the model: build the request again with the new one.
        return getattr(wrapped(**sent), attribute)()

    def request() -> Any:
        return telemetry.traced(
            lambda: build_request(instance, kwargs, telemetry.settings, stream=True),
            send,
            (),
            dict(kwargs),
            _on_stream(SyncStreamProxy),
            instance=instance,
        )

    return request


def _traced_async(
    telemetry: Telemetry, wrapped: Any, instance: Any, kwargs: dict[str, Any], attribute: str, original: Any
) -> _DeferredRequest:
    async def send(**sent: Any) -> Any:
        if sent.get("model") == kwargs.get("model"):
            return await original
        close = getattr(original, "close", None)
        if callable(close):
            close()  # the SDK's coroutine for the old model is never awaited: no warning for it
        return await getattr(wrapped(**sent), attribute)

    def start() -> Awaitable[Any]:
        return telemetry.traced_async(
            lambda: build_request(instance, kwargs, telemetry.settings, stream=True),
            send,
            (),
            dict(kwargs),
            _on_stream(AsyncStreamProxy),
            instance=instance,
        )

    return _DeferredRequest(start)


def stream_specs(modules: tuple[str, ...]) -> Iterator[WrapSpec]:
    """``stream`` of ``Messages``/``AsyncMessages`` in each module that defines them."""
    for module in modules:
        yield WrapSpec(module, "Messages.stream", lambda t: _stream_factory(t, is_async=False))
        yield WrapSpec(module, "AsyncMessages.stream", lambda t: _stream_factory(t, is_async=True))
