"""``with_raw_response`` and ``with_streaming_response``: the app gets the SDK's response object
itself, priced once, as and when the app reads it.

* ``with_raw_response.create(...)`` returns a ``LegacyAPIResponse`` whose body the SDK has already
  read: priced at once from that body.
* ``with_streaming_response.create(...)`` yields an ``APIResponse`` whose body is read lazily: priced
  when the app reads it (``parse``/``read``/``text``/``json`` all go through ``read``) and never
  read by us otherwise.
* A stream (either kind, ``stream=True``): its ``.parse()`` returns our proxy around the SDK stream
  (the same proxy on every ``.parse()``), which prices it from the chunk objects. Read any other
  way — ``iter_bytes``/``iter_text``/``iter_lines``/``read``, sync or async, or through
  ``http_response`` — it is priced from the server-sent events as the bytes pass, without
  touching them (:mod:`._raw_sse`): exact usage when the stream carries it, else an estimate.

The response objects are tracked in a weak dictionary (their classes' ``parse``/``read``/``close``
are hooked; untracked responses pass straight through). A response closed, or dropped, unread ends
its span with an estimate of the prompt alone (of the prompt and what streamed, for a stream left
early). Raw calls get no ``include_usage`` injection (see :func:`._chat.should_inject`): a raw chat
stream without caller-requested usage is estimated.

``parse`` (chat completions and Responses) turns the answer into the caller's type after the
SDK's own parsing, and may raise for a completion that was generated and billed (invalid JSON for
the ``response_format``, say). The parse hooks note the body of an answer whose ``parse()`` raised
for the plan that asked for it (:func:`._common.note_failed_parse`), so the failed span keeps the
completion's usage and cost.
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
from otel_llmcost.instrumentation.openai._common import Reader, note_failed_parse, proxy_stream

__all__ = ["async_close", "async_parse", "async_read", "sync_close", "sync_parse", "sync_read", "track"]

_logger = logging.getLogger(__name__)


class _Tracked:
    """One raw response whose call is still open."""

    def __init__(self, call: LLMCall, reader: Reader) -> None:
        self.call = call
        self.reader = reader
        self.source: Any = None  # the SDK stream the first parse() returned
        self.proxy: Any = None
        self.account: Any = None  # a stream's accounting from its body (_raw_sse.EventAccount)
        self.tap: Any = None  # the listener on that body (_raw_sse.RawTap), if one could be put in
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
            if (
                self.proxy is None
                and not self.settled
                and (hasattr(result, "__iter__") or hasattr(result, "__aiter__"))
            ):
                self.source = result
                self.proxy = proxy_stream(self.call, result, self.reader.stream_handler(self.call, False))
                self.settled = True  # the proxy owns the call from here
                if self.tap is not None:
                    self.tap.active = False  # the bytes only pass through now
            return self.proxy if result is self.source else result

    def listen(self, response: Any) -> None:
        """Put a listener on a stream's body (see ``_raw_sse``): it ends the call if the app reads
        the body other than through ``parse()``."""
        from otel_llmcost.instrumentation.openai import _raw_sse

        account = _raw_sse.account_for(self.call, self.reader)
        if account is not None:
            self.account = account  # first: a body read already is accounted for in install()
            self.tap = _raw_sse.install(response.http_response, self.call, account, self.stream_ended)

    def stream_ended(self, error: BaseException | None, complete: bool) -> None:
        """The body of a stream read raw ended, failed or was closed: account for what passed."""
        account = self.account
        if account is None or not self._settle():
            return
        try:
            account.on_end(self.call, error, complete)
        except Exception:
            _logger.debug("otel-llmcost: could not read a raw stream", exc_info=True)
            if error is None:
                self._finish_unread()
        # Whatever the account did, the span must end (as a stream proxy's does).
        if error is not None:
            self.call.fail(error)
        else:
            self.call.finish(None)

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
        """Closed or collected without the answer having been read: the prompt is all we know
        (and, of a stream read in part, what streamed)."""
        if self.tap is not None:  # (a no-op when parse() gave the call to our proxy)
            self.tap.end()
            return
        if not self._settle():
            return
        self._finish_unread()

    def _finish_unread(self) -> None:
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
    if call.request.stream:
        try:
            tracked.listen(result)
        except Exception:  # the body then goes unheard: priced as before, by parse() or an estimate
            _logger.debug("otel-llmcost: could not listen to a raw stream", exc_info=True)
    return True


def _after(action: Any, *args: Any) -> Any:
    try:
        return action(*args)
    except Exception:
        _logger.debug("otel-llmcost: raw response accounting failed", exc_info=True)
        return None


def sync_parse(telemetry: Telemetry) -> Wrapper:
    """``LegacyAPIResponse.parse`` / ``APIResponse.parse``: a tracked raw response's parse, and the
    body of any whose parse raised (for the ``parse`` call it belongs to, if any)."""

    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            result = wrapped(*args, **kwargs)
        except Exception:
            note_failed_parse(instance)
            raise
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
    """``AsyncAPIResponse.parse``: as :func:`sync_parse`."""

    async def parse(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            result = await wrapped(*args, **kwargs)
        except Exception:
            note_failed_parse(instance)
            raise
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
