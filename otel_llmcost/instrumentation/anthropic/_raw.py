"""Raw responses whose body the app reads later: ``with_streaming_response.create(...)``, and
``with_raw_response.create(..., stream=True)``.

The SDK hands the app an ``APIResponse`` whose body is still unread. The call is priced from that
body as the app reads it — however it reads it — and we never read it otherwise. Every way of
reading it goes through one method of the ``httpx2.Response`` behind it: ``parse()`` (a
``Message``, or a ``Stream`` of events), ``read()``, ``json()``, ``text()``, ``iter_bytes()``,
``iter_text()``, ``iter_lines()`` and the SDK's ``Stream`` all read ``iter_bytes`` (``aiter_bytes``
on an async client), the decoded body. So that one response gets instance attributes of its own,
``iter_bytes`` and ``close`` (``aiter_bytes`` and ``aclose``), which call the class's methods and
show us each chunk on its way to the app; they are removed when the call ends. The app gets the
same objects and the same bytes; the class, and every other response, is untouched.

A JSON body is priced when it has been read to its end. An event stream is accounted for event by
event (:class:`~._streams.MessageEvents`, as for ``create(stream=True)``) and priced when it
ends: read to the end, failed, closed, or dropped (a weak-reference finalizer) — whichever comes
first. A body closed or dropped unread is priced from an estimate of the prompt
(``llmcost.usage.estimated``); a stream closed part-way keeps the provider's input counts and
estimates the output read so far. An ``error`` event fails the call with the exception the SDK's
``Stream`` raises for it, whether or not the app parsed the stream. Bytes read past the decoded
body (``http_response.iter_raw()``) are not seen: such a call is estimated.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from otel_llmcost.instrumentation._call import LLMCall
from otel_llmcost.instrumentation.anthropic._response import report_message
from otel_llmcost.instrumentation.anthropic._sdk_spans import BASE_CLIENT
from otel_llmcost.instrumentation.anthropic._streams import MessageEvents
from otel_llmcost.usage import Usage

__all__ = ["BodyTap", "StreamErrorEvent", "sends_server_sent_events", "track"]

_logger = logging.getLogger(__name__)


class StreamErrorEvent(Exception):
    """An ``error`` event in a stream, when the SDK's own exception for it cannot be built."""


class _EventData:
    """The ``data`` of each server-sent event in a byte stream fed in arbitrary chunks (lines end
    in LF or CRLF, as Anthropic sends them)."""

    def __init__(self) -> None:
        self._rest = b""
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> list[bytes]:
        lines = (self._rest + chunk).split(b"\n")
        self._rest = lines.pop()
        return self._lines(lines)

    def flush(self) -> list[bytes]:
        rest, self._rest = self._rest, b""
        return self._lines([rest, b""])

    def _lines(self, lines: list[bytes]) -> list[bytes]:
        events: list[bytes] = []
        for line in lines:
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line:
                if self._data:
                    events.append(b"\n".join(self._data))
                    self._data = []
            elif line.startswith(b"data:"):
                value = line[5:]
                self._data.append(value[1:] if value.startswith(b" ") else value)
        return events


def _prompt_estimate(call: LLMCall) -> Usage | None:
    """All we know of a call whose answer was never read: the prompt, by our tokenizer."""
    prompt = call.estimate_prompt_tokens()
    return Usage(input=prompt, estimated=True) if prompt is not None else None


class BodyTap:
    """Accounts for the body of one raw response as the app reads it, and ends its call once."""

    def __init__(
        self, call: LLMCall, response: Any, *, sse: bool, make_error: Callable[..., BaseException] | None
    ) -> None:
        self._call = call
        self._response = weakref.ref(response)
        self._events = MessageEvents(call.model) if sse else None
        self._sse = _EventData() if sse else None
        self._parts: list[bytes] = []
        self._error_body: Any = None
        self._make_error = make_error
        self._installed: dict[str, Any] = {}
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._stepping = False
        """True while the body's own iterator runs (it closes the response when it is exhausted)."""
        self._ended = False
        self._lock = threading.Lock()

    # --- what the response's attributes call --------------------------------------------------

    def iterate(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        if self._ended:
            yield from chunks
            return
        try:
            while True:
                self._stepping = True
                try:
                    chunk = next(chunks)
                except StopIteration:
                    break
                finally:
                    self._stepping = False
                self._feed(chunk)
                yield chunk
        except GeneratorExit:  # the reader stopped: closing the body's iterator closes the body
            chunks.close()  # type: ignore[attr-defined]
            raise
        except BaseException as exc:
            self.end(exc, complete=False)
            raise
        self.end(None, complete=True)

    async def aiterate(self, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        if self._ended:
            async for chunk in chunks:
                yield chunk
            return
        try:
            while True:
                self._stepping = True
                try:
                    chunk = await chunks.__anext__()
                except StopAsyncIteration:
                    break
                finally:
                    self._stepping = False
                self._feed(chunk)
                yield chunk
        except GeneratorExit:
            await chunks.aclose()  # type: ignore[attr-defined]
            raise
        except BaseException as exc:
            self.end(exc, complete=False)
            raise
        self.end(None, complete=True)

    def closed(self) -> None:
        """The response was closed: the end, unless its own iterator closed it on reaching the end
        (which the iterator then reports)."""
        if not self._stepping:
            self.end(None, complete=False)

    def abandon(self) -> None:
        """The response was garbage-collected before its call ended."""
        self.end(None, complete=False)

    # --- accounting -------------------------------------------------------------------------------

    def _feed(self, chunk: bytes) -> None:
        try:
            if self._sse is None:
                self._parts.append(chunk)
                return
            self._call.first_chunk()
            for data in self._sse.feed(chunk):
                self._event(data)
        except Exception:
            _logger.debug("otel-llmcost: raw response accounting failed", exc_info=True)

    def _event(self, data: bytes) -> None:
        try:
            item = json.loads(data)
        except ValueError:
            return  # not an event of ours; the SDK reports what is wrong with it
        if not isinstance(item, dict) or self._events is None:
            return
        if item.get("type") == "error":
            self._error_body = item
        else:
            self._events.on_item(item)

    def end(self, error: BaseException | None, complete: bool) -> None:
        with self._lock:
            if self._ended:
                return
            self._ended = True
        call = self._call
        try:
            self._uninstall()
            if self._events is not None and self._sse is not None:
                for data in self._sse.flush():
                    self._event(data)
                if error is None and self._error_body is not None:
                    error = self._stream_error(self._error_body)
                self._events.on_end(call, error, complete)
            elif complete and error is None:
                self._end_json()
            elif error is not None:
                call.usage = _prompt_estimate(call)  # sent, and billed: keep what we know
            else:
                call.finish(_prompt_estimate(call))
        except Exception:
            _logger.debug("otel-llmcost: could not end a raw response's call", exc_info=True)
        # Whatever happened above, the span ends.
        if error is not None:
            call.fail(error)
        else:
            call.finish(None)

    def _end_json(self) -> None:
        try:
            body = json.loads(b"".join(self._parts))
        except ValueError:
            self._call.finish(_prompt_estimate(self._call))
            return
        report_message(self._call, body)

    def _stream_error(self, body: Any) -> BaseException:
        """The exception the SDK's ``Stream`` raises for an ``error`` event."""
        response = self._response()
        if self._make_error is not None and response is not None:
            try:
                return self._make_error(f"{body}", body=body, response=response)
            except Exception:
                _logger.debug("otel-llmcost: could not build the stream's error", exc_info=True)
        return StreamErrorEvent(f"{body}")

    # --- the response's attributes ------------------------------------------------------------

    def install(self, response: Any, *, is_async: bool) -> None:
        ref = self._response
        cls = type(response)
        if is_async:
            aiter_bytes, aclose = cls.aiter_bytes, cls.aclose

            def aiter_bytes_tapped(*args: Any, **kwargs: Any) -> AsyncIterator[bytes]:
                return self.aiterate(aiter_bytes(ref(), *args, **kwargs))

            async def aclose_tapped(*args: Any, **kwargs: Any) -> Any:
                try:
                    return await aclose(ref(), *args, **kwargs)
                finally:
                    self.closed()

            self._installed = {"aiter_bytes": aiter_bytes_tapped, "aclose": aclose_tapped}
        else:
            iter_bytes, close = cls.iter_bytes, cls.close

            def iter_bytes_tapped(*args: Any, **kwargs: Any) -> Iterator[bytes]:
                return self.iterate(iter_bytes(ref(), *args, **kwargs))

            def close_tapped(*args: Any, **kwargs: Any) -> Any:
                try:
                    return close(ref(), *args, **kwargs)
                finally:
                    self.closed()

            self._installed = {"iter_bytes": iter_bytes_tapped, "close": close_tapped}
        # The attributes hold the response weakly and the finalizer holds this tap: dropping the
        # response (no cycle through it) ends the call at once.
        vars(response).update(self._installed)
        self._finalizer = weakref.finalize(response, self.abandon)

    def _uninstall(self) -> None:
        if self._finalizer is not None:
            self._finalizer.detach()
        installed, self._installed = self._installed, {}
        response = self._response()
        if response is None:
            return
        attributes = vars(response)
        for name, function in installed.items():
            if attributes.get(name) is function:
                del attributes[name]


def sends_server_sent_events(resource: Any) -> bool:
    """Whether the streams of ``resource``'s client are server-sent events, which we can read.

    Bedrock's are AWS event-stream frames (its client has a decoder of its own): a raw stream
    there is not recorded by us and keeps the SDK's own span.
    """
    module = sys.modules.get(BASE_CLIENT)
    base = getattr(getattr(module, "BaseClient", None), "_make_sse_decoder", None)
    client = getattr(resource, "_client", None)
    return base is not None and getattr(type(client), "_make_sse_decoder", None) is base


def track(call: LLMCall, result: Any, *, is_async: bool) -> Any:
    """Price ``result``, a raw response with an unread body, as the app reads it; returns it."""
    response = result.http_response
    make_error = getattr(getattr(result, "_client", None), "_make_status_error", None)
    tap = BodyTap(call, response, sse=call.request.stream, make_error=make_error)
    if response.is_closed:  # read already (a middleware may have): price what was read
        try:
            content = response.content
        except Exception:
            tap.end(None, complete=False)
            return result
        tap._feed(content)
        tap.end(None, complete=True)
        return result
    try:
        tap.install(response, is_async=is_async)
    except Exception:  # ours: the body is the app's alone now; the prompt is all we can price
        _logger.debug("otel-llmcost: could not follow a raw response's body", exc_info=True)
        tap.end(None, complete=False)
    return result
