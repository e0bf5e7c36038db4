"""The usage-only chunk we asked for, taken out of a chat stream before the SDK parses it.

When we inject ``stream_options.include_usage``, the stream ends with a ``choices: []`` chunk the
caller did not ask for, and the stream proxy hides it. The SDK would first build a pydantic chunk
object for it — as costly as any chunk the caller reads (~60 µs) — only for the proxy to drop
it. :class:`UsageChunkFilter` sits in front of the SDK stream's server-sent-event decoder instead
and hands that chunk's JSON to the proxy as a wire dict.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

__all__ = ["UsageChunkFilter", "skip_usage_chunk"]

# What follows ``"choices"`` in a chunk's JSON when the list is empty, however the server spaces it.
_EMPTY_LIST = re.compile(r"\s*:\s*\[\s*\]")


class UsageChunkFilter:
    """An SDK stream's server-sent-event decoder (``SSEBytesDecoder``) without the usage-only
    chunk we asked for: ``accept`` (the proxy's item hook) reads it from its JSON and says
    whether it is hidden; a chunk it does not hide goes to the SDK as usual."""

    def __init__(self, decoder: Any, accept: Callable[[Any], bool]) -> None:
        self._decoder = decoder
        self._accept = accept

    def _hidden(self, sse: Any) -> bool:
        try:
            data = sse.data
            # This runs for every event of the stream: a substring search (a regex search cost
            # ~4,000 instructions per chunk), a match anchored after it, and json.loads only for
            # the chunk whose choices are empty.
            at = data.find('"choices"')
            if at < 0 or sse.event or not _EMPTY_LIST.match(data, at + 9):
                return False
            item = json.loads(data)
            if type(item) is not dict or item.get("choices") or item.get("usage") is None or "error" in item:
                return False
        except Exception:  # not our chunk: the SDK reads it (and reports what is wrong with it)
            return False
        return self._accept(item)

    def iter_bytes(self, iterator: Iterator[bytes]) -> Iterator[Any]:
        hidden = self._hidden
        for sse in self._decoder.iter_bytes(iterator):
            if not hidden(sse):
                yield sse

    async def aiter_bytes(self, iterator: AsyncIterator[bytes]) -> AsyncIterator[Any]:
        hidden = self._hidden
        async for sse in self._decoder.aiter_bytes(iterator):
            if not hidden(sse):
                yield sse


def skip_usage_chunk(stream: Any, accept: Callable[[Any], bool]) -> None:
    """Put :class:`UsageChunkFilter` in front of an SDK ``Stream``/``AsyncStream``'s decoder.

    Called as soon as the SDK returns the stream: its event generator only reads ``_decoder``
    when first iterated. Anything else (a raw response, an SDK without ``_decoder``) is left
    alone, and the proxy hides the usage chunk as before.
    """
    decoder = getattr(stream, "_decoder", None)
    if decoder is not None and hasattr(decoder, "iter_bytes") and hasattr(decoder, "aiter_bytes"):
        stream._decoder = UsageChunkFilter(decoder, accept)
