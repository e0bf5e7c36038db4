"""``messages.create`` and ``messages.parse`` (stable and beta, sync and async).

A non-streamed call reports the returned ``Message``; ``create(stream=True)`` returns the SDK's
``Stream``/``AsyncStream`` behind a proxy that reads the events as the caller does.

Raw responses: ``with_raw_response`` on a non-streamed call is recorded from the response body
the SDK has already read. ``with_streaming_response`` and raw streamed calls hand the caller an
unread body; reading it for usage would take it from the caller, so those calls are not
recorded here and keep the SDK's own span (which the collector prices like any GenAI span).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from otel_llmcost.instrumentation._call import LLMCall
from otel_llmcost.instrumentation._streams import AsyncStreamProxy, SyncStreamProxy
from otel_llmcost.instrumentation._telemetry import Telemetry
from otel_llmcost.instrumentation._wrap import Wrapper, WrapSpec
from otel_llmcost.instrumentation.anthropic._request import build_request
from otel_llmcost.instrumentation.anthropic._response import report_message
from otel_llmcost.instrumentation.anthropic._sdk_spans import suppression_active
from otel_llmcost.instrumentation.anthropic._streams import MessageEvents

__all__ = ["message_specs"]

_logger = logging.getLogger(__name__)

# Defined by the SDK's raw-response helpers (anthropic._constants.RAW_RESPONSE_HEADER).
_RAW_RESPONSE_HEADER = "X-Stainless-Raw-Response"


def _raw_mode(kwargs: dict[str, Any]) -> str | None:
    headers = kwargs.get("extra_headers")
    if not isinstance(headers, dict):
        return None
    mode = headers.get(_RAW_RESPONSE_HEADER)
    return mode if isinstance(mode, str) else None


def _records(kwargs: dict[str, Any]) -> bool:
    """Whether we record this call (else it runs untouched and keeps the SDK's own span)."""
    if not suppression_active():
        return False  # uninstrumented, or a stale copy of this wrapper on a platform class
    mode = _raw_mode(kwargs)
    return mode is None or (mode == "raw" and kwargs.get("stream") is not True)


def _on_result(telemetry: Telemetry, *, streamed: bool, is_async: bool) -> Callable[[LLMCall, Any], Any]:
    def on_result(call: LLMCall, result: Any) -> Any:
        if streamed:
            handler = MessageEvents(call.model)
            proxy = AsyncStreamProxy if is_async else SyncStreamProxy
            return proxy(result, call, handler)
        raw = getattr(result, "http_response", None)
        if raw is not None:  # with_raw_response: the SDK read the whole body already
            report_message(call, raw.json())
        else:
            report_message(call, result)
        return result

    return on_result


def _sync_factory(telemetry: Telemetry) -> Wrapper:
    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            if args or not _records(kwargs):
                return wrapped(*args, **kwargs)
            streamed = kwargs.get("stream") is True
            on_result = _on_result(telemetry, streamed=streamed, is_async=False)
        except Exception:
            _logger.debug("otel-llmcost: anthropic call not recorded", exc_info=True)
            return wrapped(*args, **kwargs)
        return telemetry.traced(
            lambda: build_request(instance, kwargs, telemetry.settings, stream=streamed),
            wrapped,
            args,
            kwargs,
            on_result,
        )

    return wrapper


def _async_factory(telemetry: Telemetry) -> Wrapper:
    async def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            if args or not _records(kwargs):
                return await wrapped(*args, **kwargs)
            streamed = kwargs.get("stream") is True
            on_result = _on_result(telemetry, streamed=streamed, is_async=True)
        except Exception:
            _logger.debug("otel-llmcost: anthropic call not recorded", exc_info=True)
            return await wrapped(*args, **kwargs)
        return await telemetry.traced_async(
            lambda: build_request(instance, kwargs, telemetry.settings, stream=streamed),
            wrapped,
            args,
            kwargs,
            on_result,
        )

    return wrapper


def message_specs(modules: tuple[str, ...]) -> Iterator[WrapSpec]:
    """create and parse of ``Messages``/``AsyncMessages`` in each module that defines them."""
    for module in modules:
        for method in ("create", "parse"):
            yield WrapSpec(module, f"Messages.{method}", _sync_factory)
            yield WrapSpec(module, f"AsyncMessages.{method}", _async_factory)
