"""A raw stream's accounting, read from its body's bytes as the application reads them.

A ``with_streaming_response`` / ``with_raw_response`` stream hands the application the SDK's
response object, whose body it may read any way it likes: ``iter_bytes`` / ``iter_text`` /
``iter_lines`` / ``read`` (sync or async), the ``http_response`` itself, or ``parse()``. Every one
of them pulls the body through the ``httpx2.Response``'s byte stream, so that is where we listen:
:func:`install` puts a :class:`TappedSyncStream` / :class:`TappedAsyncStream` in front of it, which
passes every chunk on as it is (the same object, at the same time) and feeds a copy of the
reference to an incremental server-sent-events parser (:class:`SSEParser`, no buffering beyond
the one line being received). The events go to an account that knows the operation's format:

* chat and legacy completions (:class:`RawChatAccount`): the chat tap of :mod:`._sse`, without
  its injection handling (nothing is hidden or rewritten), finished by
  :class:`~._streams.TappedChatStreamHandler`;
* Responses (:class:`RawResponsesAccount`): the events that carry a ``response`` (created, final)
  and the text deltas (for an estimate), parsed as they pass, for
  :class:`~._streams.ResponsesStreamHandler`.

The span ends when the body is closed — which httpx2 does as soon as it was read to its end (exact
usage when the stream carried it) or failed (the error the transport raised) — or collected, or
closed before its end (an estimate from what streamed).
A fault in our parsing switches the tap off and leaves the bytes alone; the call is then
estimated. A body the transport had already read whole (``http_response.content`` is set) is
parsed at once.

What the application reads is exactly what the server sent: we never add
``stream_options.include_usage`` to a raw call (:func:`._chat.should_inject`), since no proxy could
take out of its bytes the usage-only chunk and the ``"usage": null`` members it brings. A raw chat
stream thus carries usage only when the caller asked for it; without, its span has the exact
response model, id and finish reasons, and output tokens estimated from the streamed text
(``llmcost.usage.estimated``). Responses streams always carry usage (``response.completed``).

Only raw streams come here (this module imports httpx2, loaded by the SDK by then).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Protocol

import httpx2

from otel_llmcost.instrumentation._call import LLMCall
from otel_llmcost.instrumentation.openai._chat import ChatReader
from otel_llmcost.instrumentation.openai._responses import ResponsesReader
from otel_llmcost.instrumentation.openai._sse import ChatTap
from otel_llmcost.instrumentation.openai._streams import (
    DELTA_EVENTS,
    FINAL_EVENTS,
    ResponsesStreamHandler,
    TappedChatStreamHandler,
)

__all__ = [
    "EventAccount",
    "RawChatAccount",
    "RawResponsesAccount",
    "RawTap",
    "SSEParser",
    "TappedAsyncStream",
    "TappedSyncStream",
    "account_for",
    "install",
]

_logger = logging.getLogger(__name__)

_LINE_END = re.compile(rb"\r\n|\r|\n")

Ended = Callable[[BaseException | None, bool], None]


class EventAccount(Protocol):
    """One raw stream's accounting: its events as they pass, then the end."""

    def on_event(self, event: str | None, data: str) -> None: ...

    def on_end(self, call: LLMCall, error: BaseException | None, complete: bool) -> None: ...


class SSEParser:
    """Server-sent events from bytes pushed in any slicing (the WHATWG event-stream rules, as the
    SDK's own decoder reads them): ``on_event(event, data)`` for every event that has data.

    Lines end in CR, LF or CRLF (a CR ending one chunk and the LF starting the next are one line
    end); only the line still being received is kept. An event not closed by a blank line when
    the body ends is dropped, as the SDK drops it.
    """

    __slots__ = ("_data", "_event", "_on_event", "_pending", "_skip_lf")

    def __init__(self, on_event: Callable[[str | None, str], None]) -> None:
        self._on_event = on_event
        self._pending = bytearray()
        self._skip_lf = False
        self._event: str | None = None
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> None:
        start = 0
        size = len(chunk)
        if self._skip_lf and size:
            self._skip_lf = False
            if chunk[0] == 10:
                start = 1
        for match in _LINE_END.finditer(chunk, start):
            end = match.start()
            if self._pending:
                self._pending += chunk[start:end]
                line = bytes(self._pending)
                self._pending.clear()
            else:
                line = chunk[start:end]
            start = match.end()
            if start == size and chunk[end:] == b"\r":  # a lone CR ending the chunk: an LF may follow
                self._skip_lf = True
            self._line(line)
        if start < size:
            self._pending += chunk[start:]

    def _line(self, line: bytes) -> None:
        if not line:  # the blank line ending an event
            data, event = self._data, self._event
            self._event = None
            if data:
                self._data = []
                self._on_event(event, "\n".join(data))
            return
        if line[:1] == b":":  # a comment (keep-alive)
            return
        name, _, value = line.decode("utf-8", "replace").partition(":")
        if value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value or None


class RawTap:
    """Bytes in (:meth:`feed`), events out to ``account``; :meth:`done` when the body ended or
    failed, and ``ended(error, complete)`` once, from :meth:`end`, when the stream is closed (which
    httpx2 does right after the body's end, so the client's ``elapsed`` leaves our accounting out).
    ``decoder``: a content decoder of our own when the body is compressed (the application's reads
    decode theirs). Never raises: a fault turns the tap off (:attr:`active`)."""

    __slots__ = (
        "_call",
        "_decoder",
        "_ended",
        "_first",
        "_on_end",
        "_outcome",
        "_parser",
        "account",
        "active",
    )

    def __init__(self, call: LLMCall, account: EventAccount, ended: Ended, decoder: Any = None) -> None:
        self._call = call
        self.account = account
        self._on_end = ended
        self._decoder = decoder
        self._parser = SSEParser(self._event)
        self._first = True
        self._ended = False
        self._outcome: tuple[BaseException | None, bool] = (None, False)
        self.active = True
        """False once the call is accounted for elsewhere (``parse()`` returned our stream proxy)
        or after a fault of ours: the bytes then only pass through."""

    def _event(self, event: str | None, data: str) -> None:
        if self._first:
            self._first = False
            self._call.first_chunk()
        self.account.on_event(event, data)

    def feed(self, chunk: bytes) -> None:
        if not self.active:
            return
        try:
            decoder = self._decoder
            if decoder is None:
                self._parser.feed(chunk)
            else:
                for part in decoder.decode(chunk):
                    self._parser.feed(part)
        except Exception:
            self.active = False
            _logger.debug("otel-llmcost: could not read a raw stream", exc_info=True)

    def done(self, error: BaseException | None) -> None:
        """The body was read to its end (``error`` None), or reading it failed."""
        if self._outcome == (None, False):
            self._outcome = (error, error is None)

    def end(self) -> None:
        """The stream was closed (or its response collected): end the call with what passed."""
        if self._ended:
            return
        self._ended = True
        error, complete = self._outcome
        if complete and self._decoder is not None and self.active:
            try:
                for part in self._decoder.flush():
                    self._parser.feed(part)
            except Exception:
                _logger.debug("otel-llmcost: could not read a raw stream", exc_info=True)
        try:
            self._on_end(error, complete)
        except Exception:
            _logger.debug("otel-llmcost: could not end a raw stream's call", exc_info=True)


class _Tapped:
    """What both stream wrappers share: the wrapped stream and the tap; any other attribute (the
    client's ``elapsed``, set when the stream is closed) is the wrapped stream's."""

    def __init__(self, inner: Any, tap: RawTap) -> None:
        self._inner = inner
        self._tap = tap

    def __getattr__(self, name: str) -> Any:
        if name in ("_inner", "_tap"):  # not set yet (copied, unpickled): never recurse
            raise AttributeError(name)
        return getattr(self._inner, name)


class TappedSyncStream(_Tapped, httpx2.SyncByteStream):
    """``inner``'s chunks passed on unchanged (the same objects), each seen by the tap first."""

    def __iter__(self) -> Iterator[bytes]:
        tap = self._tap
        try:
            for chunk in self._inner:
                tap.feed(chunk)
                yield chunk
        except GeneratorExit:  # the reader stopped: the response is closed next, or collected
            raise
        except BaseException as exc:
            tap.done(exc)
            raise
        tap.done(None)

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            self._tap.end()


class TappedAsyncStream(_Tapped, httpx2.AsyncByteStream):
    """:class:`TappedSyncStream` for async bodies."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        tap = self._tap
        iterator = self._inner.__aiter__()
        try:
            async for chunk in iterator:
                tap.feed(chunk)
                yield chunk
        except GeneratorExit:
            raise
        except BaseException as exc:
            tap.done(exc)
            raise
        finally:
            # What httpx2's aiter_raw does to the stream it iterates (now ours), we do to the one
            # below: close its iterator.
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                await aclose()
        tap.done(None)

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            self._tap.end()


def _content_decoder(http: Any) -> Any:
    """A decoder of our own for a compressed body; None for an uncompressed one. Raises if the
    encoding cannot be decoded here (the caller then leaves the body alone)."""
    values = http.headers.get_list("content-encoding", split_commas=True)
    encodings = [v.strip().lower() for v in values if v.strip().lower() not in ("", "identity")]
    if not encodings:
        return None
    from httpx2._decoders import SUPPORTED_DECODERS, MultiDecoder

    unknown = [e for e in encodings if e not in SUPPORTED_DECODERS]
    if unknown:
        raise ValueError(f"unsupported content encoding {unknown}")
    return MultiDecoder(encodings)


def install(http: Any, call: LLMCall, account: EventAccount, ended: Ended) -> RawTap | None:
    """Listen to ``http``'s (an ``httpx2.Response``) body for ``account``. A body already read is
    parsed now and the tap ended; None when the body cannot be listened to."""
    try:
        content = http.content  # only when the transport read the body whole already
    except Exception:
        content = None
    if content is not None:
        tap = RawTap(call, account, ended)
        tap.feed(content)
        tap.done(None)
        tap.end()
        return tap
    stream = http.stream
    if (
        http.is_stream_consumed
        or http.is_closed
        or not isinstance(stream, (httpx2.SyncByteStream, httpx2.AsyncByteStream))
    ):
        return None
    tap = RawTap(call, account, ended, _content_decoder(http))
    sync = isinstance(stream, httpx2.SyncByteStream)
    http.stream = TappedSyncStream(stream, tap) if sync else TappedAsyncStream(stream, tap)
    return tap


class RawChatAccount:
    """Chat and legacy completions: :class:`~._sse.ChatTap` notes the chunks' JSON text (no chunk
    is hidden or changed: we never add ``include_usage`` to a raw call), and
    :class:`~._streams.TappedChatStreamHandler` finishes the call from them."""

    __slots__ = ("_handler", "_tap")

    def __init__(self, call: LLMCall, reader: ChatReader) -> None:
        self._tap = ChatTap(None, call, injected=False)
        self._handler = TappedChatStreamHandler(call, reader, self._tap)

    def on_event(self, event: str | None, data: str) -> None:
        self._tap.note(event, data)

    def on_end(self, call: LLMCall, error: BaseException | None, complete: bool) -> None:
        self._handler.on_end(call, error, complete)


#: Responses events we parse: those carrying the response (its model and id; usage in the final
#: ones) and the text deltas an estimate counts. Unnamed events are parsed to learn their type.
_RESPONSES_EVENTS = frozenset(
    {"response.created", "response.queued", "response.in_progress", *FINAL_EVENTS, *DELTA_EVENTS}
)


class RawResponsesAccount:
    """Responses streams: the events :class:`~._streams.ResponsesStreamHandler` reads, parsed as
    they pass (it keeps only the final response and the delta texts)."""

    __slots__ = ("_handler",)

    def __init__(self, call: LLMCall, reader: ResponsesReader) -> None:
        self._handler = ResponsesStreamHandler(call, reader)

    def on_event(self, event: str | None, data: str) -> None:
        if (event is not None and event not in _RESPONSES_EVENTS) or data[:1] != "{":
            return
        try:
            item = json.loads(data)
        except ValueError:  # not ours to report: the application reads the same text
            return
        if type(item) is dict:
            self._handler.on_item(item)

    def on_end(self, call: LLMCall, error: BaseException | None, complete: bool) -> None:
        self._handler.on_end(call, error, complete)


def account_for(call: LLMCall, reader: Any) -> EventAccount | None:
    """The account for a raw stream read by ``reader``; None for a stream we cannot read."""
    if isinstance(reader, ChatReader):
        return RawChatAccount(call, reader)
    if isinstance(reader, ResponsesReader):
        return RawResponsesAccount(call, reader)
    return None
