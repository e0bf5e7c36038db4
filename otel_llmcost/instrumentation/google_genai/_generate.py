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


def generate_content(telemetry: Telemetry) -> Wrapper:
    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return telemetry.traced(
            lambda: describe_generate(telemetry, instance, kwargs, stream=False),
            wrapped,
            args,
            kwargs,
            report_response,
        )

    return wrapper


def generate_content_async(telemetry: Telemetry) -> Wrapper:
    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return telemetry.traced_async(
            lambda: describe_generate(telemetry, instance, kwargs, stream=False),
            wrapped,
            args,
            kwargs,
            report_response,
        )

    return wrapper


def generate_content_stream(telemetry: Telemetry) -> Wrapper:
    def on_result(call: LLMCall, stream: Any) -> Any:
        return MarkedSyncStream(stream, call, GenerateStreamHandler(telemetry.settings.capture_content))

    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return telemetry.traced(
            lambda: describe_generate(telemetry, instance, kwargs, stream=True),
            wrapped,
            args,
            kwargs,
            on_result,
        )

    return wrapper


def generate_content_stream_async(telemetry: Telemetry) -> Wrapper:
    # AsyncModels._generate_content_stream is ``async def`` returning an async iterator: awaiting
    # it sends the request, and the app iterates the (proxied) iterator it returns.
    def on_result(call: LLMCall, stream: Any) -> Any:
        return MarkedAsyncStream(stream, call, GenerateStreamHandler(telemetry.settings.capture_content))

    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return telemetry.traced_async(
            lambda: describe_generate(telemetry, instance, kwargs, stream=True),
            wrapped,
            args,
            kwargs,
            on_result,
        )

    return wrapper
