"""Wrappers for the request-level ``_generate_content`` / ``_generate_content_stream`` methods."""

from __future__ import annotations

from typing import Any

from otel_llmcost.instrumentation._call import LLMCall
from otel_llmcost.instrumentation._telemetry import Telemetry
from otel_llmcost.instrumentation._wrap import Wrapper
from otel_llmcost.instrumentation.google_genai._request import describe_generate
from otel_llmcost.instrumentation.google_genai._response import report_response
from otel_llmcost.instrumentation.google_genai._streams import (
    GenerateStreamHandler,
    MarkedAsyncStream,
    MarkedSyncStream,
)

__all__ = [
    "generate_content",
    "generate_content_async",
    "generate_content_stream",
    "generate_content_stream_async",
]


def _wrapper(telemetry: Telemetry, *, stream: bool, is_async: bool) -> Wrapper:
    """One wrapper per (stream, async) pair: the span is described from the request alike; a
    response is reported at once, a stream is proxied and reported when it ends.
    ``AsyncModels._generate_content_stream`` is ``async def`` returning an async iterator:
    awaiting it sends the request, and the app iterates the (proxied) iterator it returns."""
    stream_class = MarkedAsyncStream if is_async else MarkedSyncStream

    def on_stream(call: LLMCall, result: Any) -> Any:
        return stream_class(result, call, GenerateStreamHandler(telemetry.settings.capture_content))

    on_result = on_stream if stream else report_response
    traced = telemetry.traced_async if is_async else telemetry.traced

    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return traced(
            lambda: describe_generate(telemetry, instance, kwargs, stream=stream),
            wrapped,
            args,
            kwargs,
            on_result,
            instance=instance,
        )

    return wrapper


def generate_content(telemetry: Telemetry) -> Wrapper:
    return _wrapper(telemetry, stream=False, is_async=False)


def generate_content_async(telemetry: Telemetry) -> Wrapper:
    return _wrapper(telemetry, stream=False, is_async=True)


def generate_content_stream(telemetry: Telemetry) -> Wrapper:
    return _wrapper(telemetry, stream=True, is_async=False)


def generate_content_stream_async(telemetry: Telemetry) -> Wrapper:
    return _wrapper(telemetry, stream=True, is_async=True)
