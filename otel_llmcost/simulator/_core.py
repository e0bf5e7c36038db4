"""The socket-free core: route a ``SimRequest`` to a provider endpoint, answer a ``SimResponse``."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from ._config import SimConfig
from ._errors import ErrorInjection, SimBadRequest, error_response
from ._types import Provider, SimRequest, SimResponse

logger = logging.getLogger("otel_llmcost.simulator")

#: Stored Responses-API answers kept for ``GET /v1/responses/{id}`` (oldest dropped first).
MAX_STORED_RESPONSES = 1000
#: Requests a ``Simulator`` records before dropping the oldest.
MAX_RECORDED = 100_000
#: Requests the process-wide state of module-level ``handle()`` keeps.
MAX_RECORDED_DEFAULT = 1000


@dataclass(frozen=True)
class StoredResponse:
    body: dict[str, Any]
    events: list[dict[str, Any]]


class SimState:
    """Mutable, thread-safe state behind one simulator: ids, recordings, errors, storage."""

    def __init__(self, clock: Callable[[], float] = time.time, max_recorded: int = MAX_RECORDED) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._counter = 0
        self._requests: deque[SimRequest] = deque(maxlen=max_recorded)
        self._errors: list[ErrorInjection] = []
        self._stored: OrderedDict[str, StoredResponse] = OrderedDict()

    def next_number(self) -> int:
        with self._lock:
            self._counter += 1
            return self._counter

    def record(self, request: SimRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def requests(self) -> list[SimRequest]:
        with self._lock:
            return list(self._requests)

    def clear(self) -> None:
        """Forget recorded requests, pending injected errors and stored responses."""
        with self._lock:
            self._requests.clear()
            self._errors.clear()
            self._stored.clear()

    def add_error(self, injection: ErrorInjection) -> None:
        with self._lock:
            self._errors.append(injection)

    def take_error(self, provider: Provider, path: str) -> ErrorInjection | None:
        with self._lock:
            for injection in self._errors:
                if injection.matches(provider, path):
                    injection.times -= 1
                    if injection.times <= 0:
                        self._errors.remove(injection)
                    return injection
        return None

    def store(self, response_id: str, stored: StoredResponse) -> None:
        with self._lock:
            self._stored[response_id] = stored
            while len(self._stored) > MAX_STORED_RESPONSES:
                self._stored.popitem(last=False)

    def stored(self, response_id: str) -> StoredResponse | None:
        with self._lock:
            return self._stored.get(response_id)


@dataclass(frozen=True)
class Context:
    """What an endpoint handler may use besides the request."""

    config: SimConfig
    state: SimState

    def created(self) -> int:
        return int(self.state.clock())

    def new_id(self, prefix: str) -> str:
        """Deterministic, unique within the simulator: ``prefix`` + zero-padded counter."""
        return f"{prefix}{self.state.next_number():012d}"


Handler = Callable[[SimRequest, dict[str, Any], Context, "re.Match[str]"], SimResponse]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    provider: Provider
    handler: Handler
    json_body: bool = True


def _routes() -> list[Route]:
    from . import _anthropic, _gemini, _openai, _openai_responses

    gemini = r"^/v1(?:beta|alpha)?\d*/models/(?P<model>[^:]+):"
    return [
        Route("POST", re.compile(gemini + "generateContent$"), "gemini", _gemini.generate),
        Route("POST", re.compile(gemini + "streamGenerateContent$"), "gemini", _gemini.stream_generate),
        Route("POST", re.compile(gemini + "embedContent$"), "gemini", _gemini.embed),
        Route("POST", re.compile(gemini + "batchEmbedContents$"), "gemini", _gemini.batch_embed),
        Route("POST", re.compile(gemini + "countTokens$"), "gemini", _gemini.count_tokens),
        Route("POST", re.compile(r"^/v1/messages$"), "anthropic", _anthropic.messages),
        Route("POST", re.compile(r"^/v1/messages/count_tokens$"), "anthropic", _anthropic.count_tokens),
        Route("POST", re.compile(r"^/v1/chat/completions$"), "openai", _openai.chat_completions),
        Route("POST", re.compile(r"^/v1/completions$"), "openai", _openai.completions),
        Route("POST", re.compile(r"^/v1/embeddings$"), "openai", _openai.embeddings),
        Route("POST", re.compile(r"^/v1/responses$"), "openai", _openai_responses.create),
        Route(
            "GET",
            re.compile(r"^/v1/responses/(?P<id>[^/]+)$"),
            "openai",
            _openai_responses.retrieve,
            json_body=False,
        ),
    ]


_ROUTES: list[Route] | None = None


def guess_provider(request: SimRequest, path: str) -> Provider:
    """Whose error shape to use for a request no route matched."""
    if request.header("anthropic-version") or request.header("x-api-key") or path.startswith("/v1/messages"):
        return "anthropic"
    if request.header("x-goog-api-key") or path.startswith("/v1beta") or ":" in path.rsplit("/", 1)[-1]:
        return "gemini"
    return "openai"


def handle(request: SimRequest, config: SimConfig, state: SimState) -> SimResponse:
    """Record ``request`` and answer it; never raises for bad input (answers 400/404)."""
    global _ROUTES
    if _ROUTES is None:
        _ROUTES = _routes()
    state.record(request)
    path = unquote(request.path)
    route, match = None, None
    for candidate in _ROUTES:
        match = candidate.pattern.match(path)
        if match and candidate.method == request.method.upper():
            route = candidate
            break
    if route is None or match is None:
        provider = guess_provider(request, path)
        message = f"Invalid URL ({request.method.upper()} {request.path})"
        return _finish(error_response(provider, 404, message), config, stream_ok=False)
    injection = state.take_error(route.provider, path)
    if injection is not None:
        response = error_response(
            route.provider,
            injection.status,
            injection.message,
            body=injection.body,
            retry_after_s=injection.retry_after_s,
        )
        return _finish(response, config, stream_ok=False)
    try:
        payload = _parse_body(request) if route.json_body else {}
        response = route.handler(request, payload, Context(config, state), match)
    except SimBadRequest as exc:
        response = error_response(route.provider, exc.status, exc.message, param=exc.param)
    except Exception as exc:  # a simulator bug must still answer, in the provider's shape
        logger.exception("simulator failed on %s %s", request.method, request.path)
        response = error_response(route.provider, 500, f"simulator internal error: {exc!r}")
    return _finish(response, config, stream_ok=True)


def _parse_body(request: SimRequest) -> dict[str, Any]:
    try:
        payload = request.json()
    except (ValueError, UnicodeDecodeError):
        raise SimBadRequest(
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
            "using your HTTP library correctly.)"
        ) from None
    if not isinstance(payload, dict):
        raise SimBadRequest("The request body must be a JSON object.")
    return payload


def _finish(response: SimResponse, config: SimConfig, *, stream_ok: bool) -> SimResponse:
    response.latency_s = config.latency_s
    if response.is_stream and stream_ok:
        response.chunk_delay_s = config.chunk_delay_s
        if config.fail_mid_stream:
            response.fail_after_chunks = config.fail_after_chunks
    return response


def require_model(payload: dict[str, Any]) -> str:
    model = payload.get("model")
    if not isinstance(model, str) or not model:
        raise SimBadRequest("you must provide a model parameter", param="model")
    return model


def optional_int(payload: dict[str, Any], *names: str, maximum: int | None = None) -> int | None:
    """The first present of ``names`` as an int (None if absent); 400 if not an int in range."""
    for name in names:
        value = payload.get(name)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise SimBadRequest(f"Invalid '{name}': expected a non-negative integer.", param=name)
        if maximum is not None and value > maximum:
            raise SimBadRequest(f"Invalid '{name}': must be at most {maximum}.", param=name)
        return value
    return None
