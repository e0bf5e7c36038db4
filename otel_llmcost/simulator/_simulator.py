"""``Simulator`` (the object tests hold), module-level ``handle`` and the blocking ``serve``."""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any

from . import _core
from ._config import SimConfig, UsageRule
from ._errors import ErrorInjection
from ._server import SimHTTPServer
from ._types import Provider, RecordedRequest, SimRequest, SimResponse

if TYPE_CHECKING:
    import httpx2

_PROVIDERS = ("openai", "anthropic", "gemini")


class Simulator:
    """A loopback OpenAI + Anthropic + Gemini provider with exact, configurable usage.

    As a context manager it serves HTTP on ``host`` (default 127.0.0.1) and ``port`` (default
    0: a free port) from a background thread; ``url`` and the ``*_base_url`` properties tell
    clients where. ``mock_transport()`` / ``async_mock_transport()`` reach the same core with
    no socket and need no ``start()``. Requests from both paths are recorded in ``requests``.

    ``config`` is used as given (not copied): changing its fields (validated only when it is
    built), or calling ``set_rule``, affects the next request. ``clock`` supplies ``created``
    timestamps (seconds). ``requests`` keeps the last 100,000 requests.
    """

    def __init__(
        self,
        config: SimConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config if config is not None else SimConfig()
        self._state = _core.SimState(clock)
        self._host = host
        self._port = port
        self._server: SimHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- core ---------------------------------------------------------------------------

    def handle(self, request: SimRequest) -> SimResponse:
        """Answer one request with this simulator's config and state (records it)."""
        return _core.handle(request, self.config, self._state)

    @property
    def clock(self) -> Callable[[], float]:
        return self._state.clock

    @clock.setter
    def clock(self, value: Callable[[], float]) -> None:
        self._state.clock = value

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, oldest first, byte-exact."""
        return self._state.requests()

    def clear(self) -> None:
        """Forget recorded requests, pending injected errors and stored responses."""
        self._state.clear()

    def set_rule(self, pattern: str, rule: UsageRule) -> None:
        """Use ``rule`` for requested models matching the glob ``pattern`` (newest wins)."""
        self.config.set_rule(pattern, rule)

    def remove_rule(self, pattern: str) -> None:
        self.config.remove_rule(pattern)

    def inject_error(
        self,
        status: int = 429,
        *,
        times: int = 1,
        provider: Provider | None = None,
        path_glob: str | None = None,
        body: object = None,
        message: str | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        """Fail the next ``times`` matching requests with ``status``.

        The answer is the provider's real error JSON (``body`` replaces it: a JSON-able value
        or raw bytes); 429 answers carry ``retry-after`` (``retry_after_s``, default 1).
        ``provider`` (openai | anthropic | gemini) and ``path_glob`` (e.g. ``"*/embeddings"``)
        narrow which requests match; injections are consumed in the order they were added.
        """
        if not 400 <= status <= 599:
            raise ValueError(f"inject_error: status must be an HTTP error status (400-599), got {status}")
        if times < 1:
            raise ValueError(f"inject_error: times must be at least 1, got {times}")
        if provider is not None and provider not in _PROVIDERS:
            raise ValueError(f"inject_error: provider must be one of {_PROVIDERS}, got {provider!r}")
        self._state.add_error(
            ErrorInjection(status, times, provider, path_glob, body, message, retry_after_s)
        )

    # -- in-process transports --------------------------------------------------------

    def mock_transport(self) -> httpx2.MockTransport:
        """A transport for ``httpx2.Client(transport=...)`` that calls the core directly."""
        from ._transport import sync_transport

        return sync_transport(self.handle)

    def async_mock_transport(self) -> httpx2.MockTransport:
        """A transport for ``httpx2.AsyncClient(transport=...)``; delays use ``asyncio.sleep``."""
        from ._transport import async_transport

        return async_transport(self.handle)

    # -- HTTP server ----------------------------------------------------------------------

    def start(self) -> Simulator:
        """Bind and serve in a daemon thread; returns once the socket accepts connections."""
        if self._server is not None:
            raise RuntimeError("Simulator already started")
        self._server = SimHTTPServer(self._host, self._port, self.handle)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            # A short poll keeps stop() fast (tests start one simulator each); it costs ~100
            # idle select() calls a second.
            kwargs={"poll_interval": 0.01},
            name=f"otel-llmcost-simulator:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, drop open connections and join the server thread (idempotent)."""
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join()
        self._server = self._thread = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("Simulator is not started: use it as a context manager or call start()")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` of the running server."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """For ``openai.OpenAI(base_url=...)``: the URL plus ``/v1``."""
        return self.url + "/v1"

    @property
    def anthropic_base_url(self) -> str:
        """For ``anthropic.Anthropic(base_url=...)`` (the SDK adds ``/v1/messages``)."""
        return self.url

    @property
    def gemini_base_url(self) -> str:
        """For ``genai.Client(http_options={"base_url": ...})`` (the SDK adds ``/v1/models/...``)."""
        return self.url


_default_state: _core.SimState | None = None
_default_lock = threading.Lock()


def handle(request: SimRequest, config: SimConfig | None = None) -> SimResponse:
    """Answer one request without any socket, using a process-wide state.

    Ids are unique within the process; the shared state keeps only the last 1000 recorded
    requests and cannot be inspected. Use a ``Simulator`` for isolation and recordings.
    """
    global _default_state
    with _default_lock:
        if _default_state is None:
            _default_state = _core.SimState(max_recorded=_core.MAX_RECORDED_DEFAULT)
        state = _default_state
    return _core.handle(request, config if config is not None else SimConfig(), state)


def _print_ready(url: str) -> None:
    print(f"otel-llmcost simulator listening on {url}", flush=True)


def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    config: SimConfig | None = None,
    *,
    ready: Callable[[str], None] = _print_ready,
) -> None:
    """Serve the simulator on ``host:port`` in the foreground until SIGINT or SIGTERM.

    ``port`` 0 picks a free port. Once the socket accepts connections, ``ready(url)`` is
    called (by default it prints ``otel-llmcost simulator listening on URL`` to stdout).
    Returns after a clean shutdown; previous signal handlers are restored. Signal handlers
    are only installed from the main thread; elsewhere, stop the process another way.
    """
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous: dict[signal.Signals, Callable[[int, FrameType | None], Any] | int | None] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, on_signal)
    try:
        with Simulator(config, host=host, port=port) as sim:
            ready(sim.url)
            while not stop.wait(1.0):
                pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        sys.stdout.flush()
