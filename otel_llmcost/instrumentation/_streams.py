"""Stream proxies: the caller's stream, unchanged, with our accounting finalized exactly once.

A proxy keeps every behaviour of the object it wraps (attributes, helper methods, ``with``,
``close()``, raw responses) and ends the GenAI span when the stream is exhausted, fails, is
closed, exits its ``with`` block, or is garbage-collected — whichever comes first.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any, Protocol

import wrapt

from otel_llmcost.instrumentation._call import LLMCall

__all__ = ["AsyncStreamProxy", "StreamHandler", "SyncStreamProxy"]

_logger = logging.getLogger(__name__)


class StreamHandler(Protocol):
    """Provider-specific accounting for one stream. A handler with a false ``per_item`` class
    attribute does its accounting elsewhere (before the SDK parses the events): the proxy then
    does not call :meth:`on_item` at all."""

    def on_item(self, item: Any) -> bool:
        """Account for one item; return True to hide it from the caller (an injected usage chunk)."""
        ...

    def on_end(self, call: LLMCall, error: BaseException | None, complete: bool) -> None:
        """Report the result: ``call.finish(usage)`` or ``call.fail(error)``. ``complete`` is False
        when the caller stopped early (usage may be missing: estimate it)."""
        ...


class _Base(wrapt.ObjectProxy[Any]):
    def __init__(self, wrapped: Any, call: LLMCall, handler: StreamHandler) -> None:
        super().__init__(wrapped)
        self._self_call = call
        self._self_handler = handler
        self._self_ended = False
        self._self_first = True
        self._self_per_item = bool(getattr(handler, "per_item", True))

    def _self_item(self, item: Any) -> bool:
        try:
            if self._self_first:
                self._self_first = False
                self._self_call.first_chunk()
            return bool(self._self_handler.on_item(item))
        except Exception:
            _logger.debug("otel-llmcost: stream accounting failed", exc_info=True)
            return False

    def _self_end(self, error: BaseException | None, complete: bool) -> None:
        if self._self_ended:
            return
        self._self_ended = True
        try:
            self._self_handler.on_end(self._self_call, error, complete)
        except Exception:
            _logger.debug("otel-llmcost: stream finalization failed", exc_info=True)
        # Whatever the handler did, the span must end.
        if error is not None:
            self._self_call.fail(error)
        else:
            self._self_call.finish(None)

    def __del__(self) -> None:
        try:
            self._self_end(None, complete=False)
        except Exception:  # interpreter shutdown: nothing left to report to
            pass


class SyncStreamProxy(_Base):
    def __init__(self, wrapped: Any, call: LLMCall, handler: StreamHandler) -> None:
        super().__init__(wrapped, call, handler)
        self._self_iterator: Any = None

    def __iter__(self) -> Iterator[Any]:
        # ``for`` loops take a generator, which resumes cheaper than ``__next__`` is called on a
        # proxy (which then calls ``_self_item``); ``next(stream)`` takes ``__next__``. Both read
        # the same iterator, so they mix.
        return self._self_chunks()

    def _self_chunks(self) -> Iterator[Any]:
        """Every item the handler does not hide, accounted for as ``__next__`` does: inline (a
        copy of ``_self_item``), since the call would cost ~0.3 µs of a ~15 µs anthropic event."""
        iterator = self._self_iterator
        if iterator is None:
            iterator = self._self_iterator = iter(self.__wrapped__)
        # A handler without per-item accounting (a tapped chat stream) needs only the end.
        on_item = self._self_handler.on_item if self._self_per_item else None
        try:
            for item in iterator:  # not ``yield from``: that would close ``iterator`` on a break
                if on_item is not None:
                    try:
                        if self._self_first:
                            self._self_first = False
                            self._self_call.first_chunk()
                        hidden = on_item(item)
                    except Exception:
                        _logger.debug("otel-llmcost: stream accounting failed", exc_info=True)
                        hidden = False
                    if hidden:
                        continue
                yield item
        except GeneratorExit:  # the loop was left: the stream may still be resumed, or closed
            raise
        except BaseException as exc:
            self._self_end(exc, complete=False)
            raise
        self._self_end(None, complete=True)

    def __next__(self) -> Any:
        if self._self_iterator is None:
            self._self_iterator = iter(self.__wrapped__)
        while True:
            try:
                item = next(self._self_iterator)
            except StopIteration:
                self._self_end(None, complete=True)
                raise
            except BaseException as exc:
                self._self_end(exc, complete=False)
                raise
            if not self._self_per_item or not self._self_item(item):
                return item

    def __enter__(self) -> SyncStreamProxy:
        self.__wrapped__.__enter__()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(exc_type, exc, tb)
        finally:
            self._self_end(exc, complete=False)

    def close(self) -> Any:
        try:
            return self.__wrapped__.close()
        finally:
            self._self_end(None, complete=False)


class AsyncStreamProxy(_Base):
    def __init__(self, wrapped: Any, call: LLMCall, handler: StreamHandler) -> None:
        super().__init__(wrapped, call, handler)
        self._self_iterator: Any = None

    def __aiter__(self) -> AsyncIterator[Any]:
        # As SyncStreamProxy.__iter__: ``async for`` takes an async generator (one resume per
        # item instead of a coroutine per item and a _self_item call); ``anext()`` __anext__.
        return self._self_chunks()

    async def _self_chunks(self) -> AsyncIterator[Any]:
        """:meth:`SyncStreamProxy._self_chunks` for ``async for``."""
        iterator = self._self_iterator
        if iterator is None:
            iterator = self._self_iterator = self.__wrapped__.__aiter__()
        on_item = self._self_handler.on_item if self._self_per_item else None
        try:
            async for item in iterator:
                if on_item is not None:
                    try:
                        if self._self_first:
                            self._self_first = False
                            self._self_call.first_chunk()
                        hidden = on_item(item)
                    except Exception:
                        _logger.debug("otel-llmcost: stream accounting failed", exc_info=True)
                        hidden = False
                    if hidden:
                        continue
                yield item
        except GeneratorExit:  # left (or finalized by the event loop): the stream may resume
            raise
        except BaseException as exc:
            self._self_end(exc, complete=False)
            raise
        self._self_end(None, complete=True)

    async def __anext__(self) -> Any:
        if self._self_iterator is None:
            self._self_iterator = self.__wrapped__.__aiter__()
        while True:
            try:
                item = await self._self_iterator.__anext__()
            except StopAsyncIteration:
                self._self_end(None, complete=True)
                raise
            except BaseException as exc:
                self._self_end(exc, complete=False)
                raise
            if not self._self_per_item or not self._self_item(item):
                return item

    async def __aenter__(self) -> AsyncStreamProxy:
        await self.__wrapped__.__aenter__()
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(exc_type, exc, tb)
        finally:
            self._self_end(exc, complete=False)

    async def close(self) -> Any:
        try:
            return await self.__wrapped__.close()
        finally:
            self._self_end(None, complete=False)

    async def aclose(self) -> Any:
        try:
            return await self.__wrapped__.aclose()
        finally:
            self._self_end(None, complete=False)
