"""Shared by every openai wrapper: reading SDK objects or wire dicts, the endpoint, estimates, and
handing the result back to the application (plain, streamed or raw).

Nothing here imports the SDK at module level; the few SDK classes we test against are imported
when a call is already being made, so the SDK is loaded by then.
"""

from __future__ import annotations

import contextvars
import inspect
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from otel_llmcost import semconv as sc
from otel_llmcost.instrumentation._call import LLMCall, Request
from otel_llmcost.instrumentation._providers import provider_for_url, server_of
from otel_llmcost.instrumentation._streams import AsyncStreamProxy, StreamHandler, SyncStreamProxy
from otel_llmcost.instrumentation._telemetry import Telemetry
from otel_llmcost.instrumentation._tokens import count_tokens
from otel_llmcost.instrumentation._wrap import Wrapper
from otel_llmcost.instrumentation.openai._sse import install_tap
from otel_llmcost.usage import Usage, from_openai

__all__ = [
    "Endpoint",
    "ParsePlan",
    "Plan",
    "Reader",
    "async_factory",
    "deliver",
    "endpoint_of",
    "estimated",
    "get",
    "int_arg",
    "listed",
    "note_failed_parse",
    "parsing",
    "plain_prompt",
    "proxy_stream",
    "safely",
    "str_arg",
    "sync_factory",
]

_logger = logging.getLogger(__name__)
_T = TypeVar("_T")


def safely(action: Callable[[], _T], default: _T) -> _T:
    """``action()``, or ``default`` when our code fails (logged at debug, never raised)."""
    try:
        return action()
    except Exception:
        _logger.debug("otel-llmcost: openai instrumentation failed", exc_info=True)
        return default


def get(obj: Any, name: str) -> Any:
    """``obj.name`` of an SDK object or ``obj[name]`` of a wire dict (raw responses), else None."""
    if obj is None:
        return None
    if type(obj) is dict:  # the wire form; checked before the (slow) Mapping ABC
        return obj.get(name)
    if hasattr(obj, "__dict__"):  # SDK objects
        return getattr(obj, name, None)
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def str_arg(kwargs: Mapping[str, Any], name: str) -> str | None:
    value = kwargs.get(name)
    return value if isinstance(value, str) and value else None


def int_arg(kwargs: Mapping[str, Any], *names: str) -> int | None:
    for name in names:
        value = kwargs.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def listed(value: Any) -> Sequence[Any] | None:
    """``value`` if it is a list or tuple. Any other iterable (a generator the SDK will consume)
    must not be touched: reading it here would send the provider an empty prompt."""
    return value if isinstance(value, (list, tuple)) else None


class Endpoint:
    """Where a client sends its calls: ``gen_ai.provider.name`` and ``server.*`` from its base URL."""

    __slots__ = ("api_version", "host", "port", "provider")

    def __init__(self, provider: str, host: str | None, port: int | None, api_version: str | None) -> None:
        self.provider = provider
        self.host = host
        self.port = port
        self.api_version = api_version

    def supports_include_usage(self) -> bool:
        """Whether ``stream_options.include_usage`` may be injected without the endpoint rejecting it.

        Mistral's OpenAI-compatible API refuses unknown fields (422); Azure OpenAI refuses
        ``stream_options`` ("Unrecognized request argument") on API versions before 2024-09-01.
        """
        if self.provider == sc.PROVIDER_MISTRAL:
            return False
        if self.provider == sc.PROVIDER_AZURE_OPENAI and self.api_version:
            version = self.api_version[:10]
            # Dated versions compare as strings; undated ones ("v1", "preview", "latest") are new.
            if version[:4].isdigit() and version < "2024-09-01":
                return False
        return True


# id(base URL object) -> (that object, api version, provider map, its Endpoint). Parsing the URL
# and matching it against the provider hosts cost ~6 µs per call; a client's base URL object only
# changes when the app assigns a new one. Holding the object keeps its id from being reused.
_ENDPOINTS: dict[int, tuple[Any, Any, Mapping[str, str], Endpoint]] = {}
_MAX_ENDPOINTS = 256


def endpoint_of(resource: Any, telemetry: Telemetry) -> Endpoint:
    """The endpoint of an SDK resource (``client.chat.completions`` …) through its ``_client``."""
    client = getattr(resource, "_client", None)
    # The attribute behind the SDK's base_url property, which (openai 3.x) imports a helper on
    # every read: ~1 µs per call for the same object.
    url = getattr(client, "_base_url", None)
    if url is None:
        url = getattr(client, "base_url", None)
    version = getattr(client, "_api_version", None)  # AzureOpenAI only
    provider_map = telemetry.settings.provider_map
    cached = _ENDPOINTS.get(id(url))
    if cached is not None and cached[0] is url and cached[1] == version and cached[2] is provider_map:
        return cached[3]
    base_url = str(url or "")
    host, port = server_of(base_url)
    provider = provider_for_url(base_url, sc.PROVIDER_OPENAI, provider_map)
    endpoint = Endpoint(provider, host, port, version if isinstance(version, str) else None)
    if len(_ENDPOINTS) >= _MAX_ENDPOINTS:  # bounded: an app creating clients in a loop
        _ENDPOINTS.clear()
    _ENDPOINTS[id(url)] = (url, version, provider_map, endpoint)
    return endpoint


def estimated(prompt_tokens: int | None, completion_text: str, model: str | None) -> Usage:
    """Usage from our tokenizer, flagged ``llmcost.usage.estimated``."""
    return Usage(input=prompt_tokens or 0, output=count_tokens(completion_text, model), estimated=True)


class Reader(Protocol):
    """How one operation's answers are read; one instance per call."""

    def finish(self, call: LLMCall, body: Any) -> None:
        """Report a whole answer (the SDK object, or the wire dict of a raw response) and end the call."""
        ...

    def stream_handler(self, call: LLMCall, injected: bool) -> StreamHandler:
        """The accounting for a streamed answer (``injected``: we added ``include_usage``)."""
        ...

    def finish_unread(self, call: LLMCall) -> None:
        """End a call whose answer the application never read (raw responses): estimate the prompt."""
        ...


def deliver(call: LLMCall, result: Any, reader: Reader, *, injected: bool = False) -> Any:
    """What the application gets back: ``result`` itself (priced now, or later for raw responses
    read lazily) or, for a stream, our proxy around it."""
    from otel_llmcost.instrumentation.openai import _raw

    if _raw.track(call, result, reader):
        return result
    if call.request.stream and (hasattr(result, "__aiter__") or hasattr(result, "__iter__")):
        tapped = getattr(reader, "tapped_stream_handler", None)
        tap = install_tap(result, call, injected) if tapped is not None else None
        handler = tapped(call, tap) if tapped is not None and tap is not None else None
        if handler is None:
            handler = reader.stream_handler(call, injected)
        return proxy_stream(call, result, handler)
    reader.finish(call, result)
    return result


def proxy_stream(call: LLMCall, stream: Any, handler: StreamHandler) -> Any:
    if hasattr(stream, "__aiter__"):
        return AsyncStreamProxy(stream, call, handler)
    return SyncStreamProxy(stream, call, handler)


def plain_prompt(value: Any) -> tuple[list[str], int] | None:
    """(texts, token-id count) of a legacy ``prompt`` or an embeddings ``input``: a string, a list
    of strings, a list of token ids or a list of such lists. None for anything else."""
    if isinstance(value, str):
        return [value], 0
    items = listed(value)
    if items is None:
        return None
    texts: list[str] = []
    ids = 0
    for item in items:
        if isinstance(item, str):
            texts.append(item)
        elif isinstance(item, int):
            ids += 1
        elif isinstance(item, (list, tuple)):
            ids += len(item)
    return texts, ids


class Plan:
    """One call we are about to record: its request, how to read its answer, and whether to add
    ``stream_options.include_usage`` to what is sent."""

    def __init__(self, request: Request, reader: Reader, *, inject: bool = False) -> None:
        self.request = request
        self.reader = reader
        self.inject = inject
        self.injected = False

    def build(self) -> Request:
        return self.request

    def sender(self, wrapped: Callable[..., Any]) -> Callable[..., Any]:
        """``wrapped``, adding ``include_usage`` only when the call is really recorded.

        ``Telemetry.traced`` runs the SDK call with the in-call marker set only after it started
        a span; when it stays out of the way (instrumentation suppressed, our own fault) the
        marker is unset and the request goes out exactly as the app made it — no proxy would be
        there to hide the extra chunk.
        """

        if not self.inject:
            return wrapped  # nothing to add: the request goes out as the app made it

        def send(*args: Any, **kwargs: Any) -> Any:
            if Telemetry.in_call():
                kwargs = with_include_usage(kwargs)
                self.injected = True
            return wrapped(*args, **kwargs)

        return send

    def on_result(self, call: LLMCall, result: Any) -> Any:
        return deliver(call, result, self.reader, injected=self.injected)

    @staticmethod
    def on_error(call: LLMCall, exc: BaseException) -> None:
        """``parse`` raises ``LengthFinishReasonError`` / ``ContentFilterFinishReasonError`` for a
        completion that was generated — and billed: record its usage on the failed span."""
        completion = getattr(exc, "completion", None)
        usage = get(completion, "usage") if completion is not None else None
        if usage is None:
            return
        choices = listed(get(completion, "choices")) or ()
        call.set_response(
            model=get(completion, "model"),
            response_id=get(completion, "id"),
            finish_reasons=[str(r) for r in (get(c, "finish_reason") for c in choices) if r],
        )
        call.usage = from_openai(usage)


#: The plan of the ``parse`` call whose SDK call runs in this context (see :class:`ParsePlan`).
_PARSING: contextvars.ContextVar[ParsePlan | None] = contextvars.ContextVar(
    "otel_llmcost_openai_parse", default=None
)


class ParsePlan(Plan):
    """A ``parse`` call (chat completions, Responses; never streamed). Its SDK call turns the
    answer into the caller's type after reading it, and may raise for an answer that was generated
    and billed: content not valid for the ``response_format`` (pydantic's ``ValidationError``),
    tool arguments not valid for their model … The SDK call runs with this plan in
    :data:`_PARSING`; the hooks of ``APIResponse.parse`` note the body of an answer whose parse
    raised (:func:`note_failed_parse`), and :meth:`on_error` records its usage on the failed span.
    """

    failed_body: bytes | None = None

    def sender(self, wrapped: Callable[..., Any]) -> Callable[..., Any]:
        """``wrapped`` run with this plan in :data:`_PARSING` (for a coroutine method: while the
        coroutine runs)."""

        async def awaiting(coroutine: Awaitable[Any]) -> Any:
            token = _PARSING.set(self)
            try:
                return await coroutine
            finally:
                _PARSING.reset(token)

        def send(*args: Any, **kwargs: Any) -> Any:
            token = _PARSING.set(self)
            try:
                result = wrapped(*args, **kwargs)
            finally:
                _PARSING.reset(token)
            return awaiting(result) if inspect.iscoroutine(result) else result

        return send

    def on_error(self, call: LLMCall, exc: BaseException) -> None:  # type: ignore[override]
        Plan.on_error(call, exc)  # the finish-reason errors carry their completion
        body = self.failed_body
        record = getattr(self.reader, "record", None)
        if call.usage is None and body is not None and record is not None:
            record(call, json.loads(body))


def note_failed_parse(response: Any) -> None:
    """Called by the hooks of the SDK's ``APIResponse.parse`` when it raised: in a ``parse`` call
    of ours, keep the answer's body (read by then, unless reading it was what failed) for
    :meth:`ParsePlan.on_error`. Never raises."""
    plan = _PARSING.get()
    if plan is None or plan.failed_body is not None:
        return
    try:
        content = response.http_response.content  # raises when the body was never read
    except Exception:
        return
    if isinstance(content, bytes) and content:
        plan.failed_body = content


def parsing(planner: Planner) -> Planner:
    """``planner`` for a ``parse`` method: its plan made a :class:`ParsePlan`."""

    def plan(
        telemetry: Telemetry, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Plan | None:
        found = planner(telemetry, instance, args, kwargs)
        return ParsePlan(found.request, found.reader) if found is not None else None

    return plan


def with_include_usage(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``kwargs`` whose ``stream_options`` (the caller's, merged) asks for usage.

    Without ``stream_options`` of the caller's, ours goes in ``extra_body``: the SDK adds that to
    the JSON body as it is, where a keyword argument is first transformed against the request's
    type annotations (~7 µs). The body is the same but for the member's place (last).
    """
    options = kwargs.get("stream_options")
    if options is None:
        extra = kwargs.get("extra_body")
        extra_body = dict(extra) if isinstance(extra, Mapping) else {}
        extra_body["stream_options"] = {"include_usage": True}
        return {**kwargs, "extra_body": extra_body}
    merged = dict(options) if isinstance(options, Mapping) else {}
    merged["include_usage"] = True
    return {**kwargs, "stream_options": merged}


Planner = Callable[[Telemetry, Any, tuple[Any, ...], dict[str, Any]], Plan | None]


def _plan(
    planner: Planner, telemetry: Telemetry, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Plan | None:
    if telemetry.nested(instance):
        return None
    try:
        return planner(telemetry, instance, args, kwargs)
    except Exception:
        _logger.debug("otel-llmcost: openai instrumentation failed", exc_info=True)
        return None


def sync_factory(planner: Planner) -> Callable[[Telemetry], Wrapper]:
    """A wrapper factory for a synchronous SDK method; ``planner`` returns None to stay out."""

    def factory(telemetry: Telemetry) -> Wrapper:
        def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            plan = _plan(planner, telemetry, instance, args, kwargs)
            if plan is None:
                return wrapped(*args, **kwargs)
            return telemetry.traced(
                plan.build,
                plan.sender(wrapped),
                args,
                kwargs,
                plan.on_result,
                plan.on_error,
                instance=instance,
            )

        return wrapper

    return factory


def async_factory(planner: Planner) -> Callable[[Telemetry], Wrapper]:
    """:func:`sync_factory` for coroutine methods; everything happens when the coroutine is awaited
    (``.stream()`` helpers create it early and await it in ``__aenter__``)."""

    def factory(telemetry: Telemetry) -> Wrapper:
        async def run(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            plan = _plan(planner, telemetry, instance, args, kwargs)
            if plan is None:
                return await wrapped(*args, **kwargs)
            return await telemetry.traced_async(
                plan.build,
                plan.sender(wrapped),
                args,
                kwargs,
                plan.on_result,
                plan.on_error,
                instance=instance,
            )

        def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            return run(wrapped, instance, args, kwargs)

        return wrapper

    return factory
