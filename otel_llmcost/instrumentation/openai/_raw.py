"""``with_raw_response`` and ``with_streaming_response``: the app gets the SDK's response object
itself, priced once, as and when the app reads it.

* ``with_raw_response.create(...)`` returns a ``LegacyAPIResponse`` whose body the SDK has already
  read: priced at once from that body. With ``stream=True`` its ``.parse()`` returns our proxy
  around the SDK stream (the same proxy on every ``.parse()``).
* ``with_streaming_response.create(...)`` yields an ``APIResponse`` whose body is read lazily: priced
  when the app reads it (``parse``/``read``/``text``/``json`` all go through ``read``) and never
  read by us otherwise; a stream's ``.parse()`` returns our proxy.

The response objects are tracked in a weak dictionary (their classes' ``parse``/``read``/``close``
are hooked; untracked responses pass straight through). A response closed, or dropped, unread —
or consumed only through ``iter_bytes``/``iter_lines``, which keep no copy — ends its span with
an estimate of the prompt alone. Raw calls get no ``include_usage`` injection (see
:func:`._chat.should_inject`), so a raw stream without caller-requested usage is estimated.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import weakref
from typing import Any

from otel_llmcost.instrumentation._call import LLMCall
from otel_llmcost.instrumentation._telemetry import Telemetry
from otel_llmcost.instrumentation._wrap import Wrapper
from otel_llmcost.instrumentation.openai._common import Reader, proxy_stream

__all__ = ["async_close", "async_parse", "async_read", "sync_close", "sync_parse", "sync_read", "track"]

_logger = logging.getLogger(__name__)


class _Tracked:
    """One raw response whose call is still open."""

    def __init__(self, call: LLMCall, reader: Reader) -> None:
        self.call = call
        self.reader = reader
        self.source: Any = None  # the SDK stream the first parse() returned
        self.proxy: Any = None
        self.settled = False
        self._lock = threading.Lock()

    def _settle(self) -> bool:
        with self._lock:
            if self.settled:
                return False
            self.settled = True
            return True

    def parsed(self, response: Any, result: Any) -> Any:
        if not self.call.request.stream:
            self.read_body(response.http_response.content)
            return result
        with self._lock:
            if self.proxy is None and (hasattr(result, "__iter__") or hasattr(result, "__aiter__")):
                self.source = result
                self.proxy = proxy_stream(self.call, result, self.reader.stream_handler(self.call, False))
                self.settled = True  # the proxy owns the call from here
            return self.proxy if result is self.source else result

    def read_body(self, content: bytes) -> None:
        if self.call.request.stream or not self._settle():
            return
        try:
            self.reader.finish(self.call, json.loads(content))
        except Exception:
            _logger.debug("otel-llmcost: could not read a raw response", exc_info=True)
            self.call.finish(None)

    def closed(self, response: Any) -> Any:
        """After the response was closed: the proxy to close too, if the app parsed a stream."""
        if self.proxy is not None:
            return self.proxy
        if not self.call.request.stream:
            try:
                content = response.http_response.content  # raises if the body was never read
            except Exception:
                content = None
            if content is not None:
                self.read_body(content)
        self.abandon()
        return None

    def abandon(self) -> None:
        """Closed or collected without the answer having been read: the prompt is all we know."""
        if not self._settle():
            return
        try:
            self.reader.finish_unread(self.call)
        except Exception:
            _logger.debug("otel-llmcost: could not end a raw response's call", exc_info=True)
            self.call.finish(None)


_TRACKED: weakref.WeakKeyDictionary[Any, _Tracked] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def _lookup(response: Any) -> _Tracked | None:
    if not _TRACKED:  # the usual case: no raw response open; no lock, no weak reference made
        return None
    try:
        with _LOCK:
            return _TRACKED.get(response)
    except TypeError:  # not weak-referenceable: never ours
        return None


@functools.cache
def _response_types() -> tuple[Any, Any]:
    """The SDK's raw response classes, imported once (on the first call, after the SDK is)."""
    from openai._legacy_response import LegacyAPIResponse
    from openai._response import BaseAPIResponse

    return LegacyAPIResponse, BaseAPIResponse


def track(call: LLMCall, result: Any, reader: Reader) -> bool:
    """Take charge of ``result`` if it is a raw response; False for anything else."""
    legacy, base = _response_types()
    if isinstance(result, legacy):
        if not call.request.stream:
            reader.finish(call, json.loads(result.http_response.content))
            return True
    elif not isinstance(result, base):
        return False
    tracked = _Tracked(call, reader)
    with _LOCK:
        _TRACKED[result] = tracked
    weakref.finalize(result, tracked.abandon)
    return True


def _after(action: Any, *args: Any) -> Any:
    try:
        return action(*args)
    except Exception:
        _logger.debug("otel-llmcost: raw response accounting failed", exc_info=True)
        return None


def sync_parse(telemetry: Telemetry) -> Wrapper:
    """``LegacyAPIResponse.parse`` / ``APIResponse.parse``."""

    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        result = wrapped(*args, **kwargs)
        tracked = _lookup(instance)
        if tracked is None:
            return result
        mine = _after(tracked.parsed, instance, result)
        return result if mine is None else mine

    return wrapper


def sync_read(telemetry: Telemetry) -> Wrapper:
    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        content = wrapped(*args, **kwargs)
        tracked = _lookup(instance)
        if tracked is not None:
            _after(tracked.read_body, content)
        return content

    return wrapper


def sync_close(telemetry: Telemetry) -> Wrapper:
    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            return wrapped(*args, **kwargs)
        finally:
            tracked = _lookup(instance)
            if tracked is not None:
                proxy = _after(tracked.closed, instance)
                if proxy is not None:
                    _after(proxy.close)

    return wrapper


def async_parse(telemetry: Telemetry) -> Wrapper:
    """``AsyncAPIResponse.parse``."""

    async def parse(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        result = await wrapped(*args, **kwargs)
        tracked = _lookup(instance)
        if tracked is None:
            return result
        mine = _after(tracked.parsed, instance, result)
        return result if mine is None else mine

    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return parse(wrapped, instance, args, kwargs)

    return wrapper


def async_read(telemetry: Telemetry) -> Wrapper:
    async def read(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        content = await wrapped(*args, **kwargs)
        tracked = _lookup(instance)
        if tracked is not None:
            _after(tracked.read_body, content)
        return content

    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return read(wrapped, instance, args, kwargs)

    return wrapper


def async_close(telemetry: Telemetry) -> Wrapper:
    async def close(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            return await wrapped(*args, **kwargs)
        finally:
            tracked = _lookup(instance)
            if tracked is not None:
                proxy = _after(tracked.closed, instance)
                if proxy is not None:
                    try:
                        await proxy.close()
                    except Exception:
                        _logger.debug("otel-llmcost: could not end a raw stream", exc_info=True)

    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return close(wrapped, instance, args, kwargs)

    return wrapper
