"""``messages.create`` and ``messages.parse`` (stable and beta, sync and async).

A non-streamed call reports the returned ``Message``; ``create(stream=True)`` returns the SDK's
``Stream``/``AsyncStream`` behind a proxy that reads the events as the caller does. A ``parse``
whose reply fails ``output_format`` validation keeps the billed usage on its failed span
(:mod:`._parsed`).

Raw responses are recorded too, once, with the SDK's own span suppressed as for any call of ours:
``with_raw_response`` on a non-streamed call from the response body the SDK has already read;
``with_streaming_response``, and ``with_raw_response`` with ``stream=True``, from the unread body
as the app reads it (:mod:`._raw`), whichever way it reads it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from otel_llmcost.instrumentation._call import LLMCall
from otel_llmcost.instrumentation._streams import AsyncStreamProxy, SyncStreamProxy
from otel_llmcost.instrumentation._telemetry import Telemetry
from otel_llmcost.instrumentation._wrap import Wrapper, WrapSpec
from otel_llmcost.instrumentation.anthropic import _parsed, _raw
from otel_llmcost.instrumentation.anthropic._request import build_request
from otel_llmcost.instrumentation.anthropic._response import report_message
from otel_llmcost.instrumentation.anthropic._sdk_spans import suppression_active
from otel_llmcost.instrumentation.anthropic._streams import MessageEvents

__all__ = ["message_specs"]

_logger = logging.getLogger(__name__)

# Defined by the SDK's raw-response helpers (anthropic._constants.RAW_RESPONSE_HEADER):
# "raw" for with_raw_response, "stream" for with_streaming_response.
_RAW_RESPONSE_HEADER = "X-Stainless-Raw-Response"
_RAW_MODES = frozenset({"raw", "stream"})
_SKIP = "skip"


def _raw_mode(kwargs: dict[str, Any]) -> str | None:
    """None for a plain call, "raw" or "stream" for a raw one, ``_SKIP`` for one we leave alone."""
    headers = kwargs.get("extra_headers")
    if not isinstance(headers, dict):
        return None
    mode = headers.get(_RAW_RESPONSE_HEADER)
    if mode is None:
        return None
    return mode if mode in _RAW_MODES else _SKIP


def _on_result(
    telemetry: Telemetry, *, streamed: bool, is_async: bool, mode: str | None
) -> Callable[[LLMCall, Any], Any]:
    def on_result(call: LLMCall, result: Any) -> Any:
        if mode is None:
            if streamed:
                handler = MessageEvents(call.model)
                proxy = AsyncStreamProxy if is_async else SyncStreamProxy
                return proxy(result, call, handler)
            report_message(call, result)
        elif mode == "raw" and not streamed:  # with_raw_response: the SDK read the whole body already
            report_message(call, result.http_response.json())
        else:  # an unread body: priced as the app reads it
            return _raw.track(call, result, is_async=is_async)
        return result

    return on_result


def _plan(
    instance: Any, kwargs: dict[str, Any], telemetry: Telemetry, *, is_async: bool
) -> tuple[bool, Callable[[LLMCall, Any], Any]] | None:
    """(streamed, on_result) for a call we record, else None."""
    if not suppression_active():
        return None  # uninstrumented, or a stale copy of this wrapper on a platform class
    mode = _raw_mode(kwargs)
    if mode == _SKIP:
        return None
    streamed = kwargs.get("stream") is True
    if streamed and mode is not None and not _raw.sends_server_sent_events(instance):
        return None  # a raw Bedrock stream (AWS event-stream frames): left to the SDK's span
    return streamed, _on_result(telemetry, streamed=streamed, is_async=is_async, mode=mode)


def _validates(parse: bool, kwargs: dict[str, Any]) -> bool:
    """Whether the SDK validates the reply after the call (``parse`` with an ``output_format``)."""
    return parse and kwargs.get("output_format") is not None


def _sync_factory(telemetry: Telemetry, *, parse: bool = False) -> Wrapper:
    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            plan = None if args else _plan(instance, kwargs, telemetry, is_async=False)
            if plan is None:
                return wrapped(*args, **kwargs)
            streamed, on_result = plan
            validates = _validates(parse, kwargs)
        except Exception:
            _logger.debug("otel-llmcost: anthropic call not recorded", exc_info=True)
            return wrapped(*args, **kwargs)

        def build() -> Any:
            return build_request(instance, kwargs, telemetry.settings, stream=streamed)

        if not validates:
            return telemetry.traced(build, wrapped, args, kwargs, on_result, instance=instance)
        slot: list[Any] = []
        token = _parsed.SLOT.set(slot)
        try:
            return telemetry.traced(
                build,
                wrapped,
                args,
                kwargs,
                on_result,
                lambda call, _: _parsed.report_unparsed(call, slot),
                instance=instance,
            )
        finally:
            _parsed.SLOT.reset(token)

    return wrapper


def _async_factory(telemetry: Telemetry, *, parse: bool = False) -> Wrapper:
    async def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            plan = None if args else _plan(instance, kwargs, telemetry, is_async=True)
            if plan is None:
                return await wrapped(*args, **kwargs)
            streamed, on_result = plan
            validates = _validates(parse, kwargs)
        except Exception:
            _logger.debug("otel-llmcost: anthropic call not recorded", exc_info=True)
            return await wrapped(*args, **kwargs)

        def build() -> Any:
            return build_request(instance, kwargs, telemetry.settings, stream=streamed)

        if not validates:
            return await telemetry.traced_async(build, wrapped, args, kwargs, on_result, instance=instance)
        slot: list[Any] = []
        token = _parsed.SLOT.set(slot)
        try:
            return await telemetry.traced_async(
                build,
                wrapped,
                args,
                kwargs,
                on_result,
                lambda call, _: _parsed.report_unparsed(call, slot),
                instance=instance,
            )
        finally:
            _parsed.SLOT.reset(token)

    return wrapper


def message_specs(modules: tuple[str, ...]) -> Iterator[WrapSpec]:
    """create and parse of ``Messages``/``AsyncMessages`` in each module that defines them."""
    for module in modules:
        yield WrapSpec(module, "Messages.create", _sync_factory)
        yield WrapSpec(module, "AsyncMessages.create", _async_factory)
        yield WrapSpec(module, "Messages.parse", lambda t: _sync_factory(t, parse=True))
        yield WrapSpec(module, "AsyncMessages.parse", lambda t: _async_factory(t, parse=True))
