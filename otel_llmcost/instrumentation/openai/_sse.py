"""A chat stream's accounting, done on the server-sent events' JSON text before the SDK parses it.

:class:`ChatTap` sits in front of an SDK ``Stream``/``AsyncStream``'s event decoder. For every
event it keeps a reference to the JSON text the SDK is about to parse (a string: no copy, nothing
for the garbage collector to walk), notes the chunks that carry a ``finish_reason``, and parses
only the chunk that carries usage. The stream's span is finished from those texts at the end,
parsing only the few chunks it needs (:class:`~._streams.TappedChatStreamHandler`), instead of
reading every chunk object on its way to the application.

When we injected ``stream_options.include_usage`` the tap also undoes what it changed on the wire:
the usage-only chunk the caller did not ask for never reaches the SDK (no chunk object is built
for it), and the ``"usage": null`` member the server then adds to every other chunk is taken out
of the JSON text, so the SDK builds exactly the chunk objects it would have built without us —
down to ``model_fields_set`` — and spends no time parsing the extra member.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

from otel_llmcost.instrumentation._call import LLMCall

__all__ = ["ChatTap", "install_tap", "without_null_usage"]

_logger = logging.getLogger(__name__)

# What follows a member's key when its value is null, however the server spaces it.
_NULL_VALUE = re.compile(r"\s*:\s*null(?![\w])")
_COMMA = re.compile(r"\s*,")
_USAGE_KEY = '"usage"'
_NULL_TAILS = (',"usage":null}', ', "usage": null}')
_FINISH_KEY = '"finish_reason"'
_FINISH_NULLS = (":null", ": null")


def without_null_usage(data: str, at: int, end: int) -> str:
    """``data`` without the ``"usage": null`` member found at ``at`` (its key) .. ``end`` (after
    ``null``), and without the comma that separated it from its neighbour."""
    before = at - 1
    while before >= 0 and data[before] in " \t\r\n":
        before -= 1
    if before >= 0 and data[before] == ",":  # "…, "usage": null": drop the comma before it
        return data[:before] + data[end:]
    comma = _COMMA.match(data, end)  # the object's first member: drop the comma after it
    return data[:at] + data[comma.end() if comma is not None else end :]


class ChatTap:
    """An SDK chat stream's event decoder (``SSEBytesDecoder``) with our accounting in front.

    ``chunks`` holds the JSON text of every chunk the SDK parses for the caller, in order;
    ``finished`` those with a non-null ``finish_reason``; ``usage_chunk`` the parsed chunk that
    carried usage. A chunk whose text is not what we expect is passed on untouched: the SDK reads
    it and reports what is wrong with it.
    """

    __slots__ = ("_call", "_decoder", "_event_type", "_injected", "chunks", "finished", "usage_chunk")

    def __init__(self, decoder: Any, call: LLMCall, injected: bool, event_type: Any = None) -> None:
        self._decoder = decoder
        self._call = call
        self._injected = injected
        self._event_type: Any = event_type
        """The SDK's ``ServerSentEvent`` class: only its events get their null usage removed."""
        self.chunks: list[str] = []
        self.finished: list[str] = []
        self.usage_chunk: dict[str, Any] | None = None

    def _passes(self, sse: Any) -> bool:
        """Account for one event; False hides it from the SDK (the usage chunk we asked for).

        The general path: every event of an async stream, and of a sync stream the first one and
        those :meth:`iter_bytes` does not read inline. The common layouts still take substring
        tests (C speed) and only the unusual ones a regular expression.
        """
        try:
            data = sse.data
            chunks = self.chunks
            if not chunks:
                self._call.first_chunk()
            if data[:1] != "{" or sse.event:  # "[DONE]", named events: not chat chunks
                return True
            if data.endswith(_NULL_TAILS):  # where OpenAI puts it, compact or spaced
                if self._injected and type(sse) is self._event_type:
                    data = sse._data = data[: data.rindex(",")] + "}"  # what ``sse.data`` returns
            else:
                at = data.rfind(_USAGE_KEY)
                if at >= 0:
                    null = _NULL_VALUE.match(data, at + 7)
                    if null is None:
                        if self._usage(data):
                            return False
                    elif self._injected and type(sse) is self._event_type:
                        data = sse._data = without_null_usage(data, at, null.end())
            chunks.append(data)
            # Every choice names its finish_reason, null until it ends (any spacing but these two
            # is noted and read). A chunk usually carries one choice, even with n > 1; the earlier
            # ones of a chunk that carries several are looked at too, from the last one back.
            at = data.rfind(_FINISH_KEY)
            while at >= 0:
                if not data.startswith(_FINISH_NULLS, at + 15):
                    self.finished.append(data)
                    break
                at = data.rfind(_FINISH_KEY, 0, at)
        except Exception:
            _logger.debug("otel-llmcost: openai stream accounting failed", exc_info=True)
        return True

    def note(self, event: str | None, data: str) -> None:
        """Account for one event of a body the application reads itself (a raw stream, see
        ``_raw_sse``; a tap made with ``injected=False`` and no decoder): nothing is hidden."""
        self._passes(_Event(event, data))

    def _usage(self, data: str) -> bool:
        """Note the chunk carrying usage; True when it is the usage-only chunk we asked for."""
        item = json.loads(data)
        if type(item) is not dict or item.get("usage") is None or "error" in item:
            return False
        self.usage_chunk = item
        return self._injected and not item.get("choices")

    def iter_bytes(self, iterator: Iterator[bytes]) -> Iterator[Any]:
        passes = self._passes
        chunks = self.chunks
        note = chunks.append
        finished = self.finished
        injected = self._injected
        event_type = self._event_type
        for sse in self._decoder.iter_bytes(iterator):
            # The usual chunk inline (a sync stream's every event runs this): an SDK event, not
            # the first, unnamed, whose usage is absent or the trailing null OpenAI sends. Read
            # through the event's fields, not its properties (a Python call each). Anything else
            # takes the general path (``_passes``); a fault here passes the event on untouched.
            noted = False
            try:
                if chunks and type(sse) is event_type and sse._event is None:
                    data = sse._data
                    if data[:1] == "{":
                        if data.endswith(_NULL_TAILS):
                            if injected:
                                data = sse._data = data[: data.rindex(",")] + "}"
                            noted = True
                        elif _USAGE_KEY not in data:
                            noted = True
                        if noted:
                            note(data)
                            at = data.rfind(_FINISH_KEY)  # as in _passes
                            while at >= 0:
                                if not data.startswith(_FINISH_NULLS, at + 15):
                                    finished.append(data)
                                    break
                                at = data.rfind(_FINISH_KEY, 0, at)
            except Exception:
                _logger.debug("otel-llmcost: openai stream accounting failed", exc_info=True)
                noted = True  # passed on untouched, as _passes does
            if noted or passes(sse):
                yield sse

    async def aiter_bytes(self, iterator: AsyncIterator[bytes]) -> AsyncIterator[Any]:
        passes = self._passes
        async for sse in self._decoder.aiter_bytes(iterator):
            if passes(sse):
                yield sse


class _Event:
    """An event read by ``_raw_sse`` (what :meth:`ChatTap._passes` reads of an SDK event)."""

    __slots__ = ("data", "event")

    def __init__(self, event: str | None, data: str) -> None:
        self.event = event
        self.data = data


@functools.cache
def _event_type() -> type | None:
    """The SDK's ``ServerSentEvent`` class, imported once (the SDK is loaded by the first stream)."""
    try:
        from openai._streaming import ServerSentEvent
    except ImportError:  # pragma: no cover - every openai 3.x has it
        return None
    return ServerSentEvent


def install_tap(stream: Any, call: LLMCall, injected: bool) -> ChatTap | None:
    """Put a :class:`ChatTap` in front of an SDK ``Stream``/``AsyncStream``'s decoder.

    Called as soon as the SDK returns the stream: its event generator reads ``_decoder`` only
    when first iterated. None for anything else (a raw response, an SDK without ``_decoder``):
    the stream proxy then reads the chunk objects instead.
    """
    decoder = getattr(stream, "_decoder", None)
    if decoder is None or not hasattr(decoder, "iter_bytes") or not hasattr(decoder, "aiter_bytes"):
        return None
    tap = ChatTap(decoder, call, injected, _event_type())
    stream._decoder = tap
    return tap
