"""Streamed ``generateContent``: accounting for one ``streamGenerateContent`` request.

Every Gemini chunk carries ``usage_metadata`` with the running totals of its request, so the
last one seen is the request's usage (or, if the caller stopped early, what was billed so far).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from otel_llmcost.instrumentation._call import LLMCall
from otel_llmcost.instrumentation._streams import AsyncStreamProxy, SyncStreamProxy
from otel_llmcost.instrumentation._telemetry import Telemetry
from otel_llmcost.instrumentation.google_genai import _content as content
from otel_llmcost.instrumentation.google_genai._response import estimate, usage_of
from otel_llmcost.usage import Usage

__all__ = ["GenerateStreamHandler", "MarkedAsyncStream", "MarkedSyncStream"]


class GenerateStreamHandler:
    """:class:`~otel_llmcost.instrumentation._streams.StreamHandler` for one Gemini stream."""

    def __init__(self, capture_content: bool) -> None:
        self._capture = capture_content
        self._chunks = 0
        self._usage_metadata: Any = None
        self._model: str | None = None
        self._response_id: str | None = None
        self._finish: dict[int, str] = {}
        self._texts: list[str] = []
        self._parts: dict[int, list[dict[str, Any]]] = {}

    def on_item(self, item: Any) -> bool:
        self._chunks += 1
        usage_metadata = content.field(item, "usage_metadata")
        if usage_metadata is not None:
            self._usage_metadata = usage_metadata
            self._texts.clear()  # the provider counted: no estimate will be needed
        self._model = content.field(item, "model_version") or self._model
        self._response_id = content.field(item, "response_id") or self._response_id
        for position, candidate in enumerate(content.field(item, "candidates") or ()):
            index = content.field(candidate, "index")
            index = index if isinstance(index, int) else position
            reason = content.enum_value(content.field(candidate, "finish_reason"))
            if reason:
                self._finish[index] = reason
            parts = content.field(content.field(candidate, "content"), "parts") or ()
            if self._usage_metadata is None:
                self._texts.extend(content.part_texts(parts))
            if self._capture:
                self._collect(index, parts)
        return False  # Gemini streams carry nothing of ours: every chunk goes to the caller

    def _collect(self, index: int, parts: Any) -> None:
        # Deltas arrive as many small text parts; join neighbours of one kind into one part.
        collected = self._parts.setdefault(index, [])
        for part in content.semconv_parts(parts):
            last = collected[-1] if collected else None
            if last is not None and part["type"] in ("text", "reasoning") and last["type"] == part["type"]:
                last["content"] = str(last["content"]) + str(part["content"])
            else:
                collected.append(dict(part))

    def _output_messages(self) -> list[dict[str, Any]]:
        messages = []
        for index in sorted(set(self._parts) | set(self._finish)):
            candidate = {"content": {"role": "model", "parts": []}, "finish_reason": self._finish.get(index)}
            message = content.output_message(candidate)
            message["parts"] = self._parts.get(index, [])
            messages.append(message)
        return messages

    def on_end(self, call: LLMCall, error: BaseException | None, complete: bool) -> None:
        call.set_response(
            model=self._model,
            response_id=self._response_id,
            finish_reasons=[self._finish[i] for i in sorted(self._finish)],
        )
        usage: Usage | None
        if self._usage_metadata is not None:
            usage = usage_of(self._usage_metadata)
        elif self._chunks or (complete and error is None):
            # The request was answered (in part) but no chunk said what it cost.
            usage = estimate(call, "".join(self._texts))
        else:
            usage = None  # the request never got an answer (or was never sent)
        if error is not None:
            # Tokens streamed before a failure were billed: keep them on the failed span.
            call.usage = usage
            call.fail(error)
        else:
            call.finish(usage, output_messages=self._output_messages)


class MarkedSyncStream(SyncStreamProxy):
    """A sync stream proxy that marks the context "in call" while the SDK pulls the next chunk.

    google-genai's sync ``_generate_content_stream`` is a generator: it sends the HTTP request
    on the first ``next()``, after our wrapper returned. The mark keeps the raw-HTTP hook from
    recording that request a second time. No application code runs inside (the SDK runs AFC
    tools in the public method, above this layer), so nothing of the app's is hidden by it.
    """

    def __iter__(self) -> Iterator[Any]:
        return self  # every pull through __next__, which marks it

    def __next__(self) -> Any:
        token = Telemetry.mark_in_call()
        try:
            return super().__next__()
        finally:
            Telemetry.unmark(token)


class MarkedAsyncStream(AsyncStreamProxy):
    """:class:`MarkedSyncStream` for ``AsyncModels._generate_content_stream``'s async iterator."""

    def __aiter__(self) -> MarkedAsyncStream:
        return self  # every pull through __anext__, which marks it

    async def __anext__(self) -> Any:
        token = Telemetry.mark_in_call()
        try:
            return await super().__anext__()
        finally:
            Telemetry.unmark(token)
