"""A small threaded HTTP/1.1 server shared by the OTLP/HTTP receiver and the HTTP API.

``http.server`` from the standard library: the collector's HTTP traffic is a few exports and
scrapes a second, which a thread per connection serves well, and it keeps the collector free of
an async framework. What it adds: keep-alive, optional TLS (handshake in the connection's own
thread, so a slow client never stalls ``accept``), a cap on connections, an idle timeout, a body
read with a size limit, and a graceful stop that lets requests in flight finish.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from otel_llmcost.collector._config_values import Address

__all__ = ["BodyTooLarge", "HttpServer", "LengthRequired", "Request", "Response"]

_logger = logging.getLogger(__name__)
_DISCARD_LIMIT = 64 * 1024  # an unread body up to this size is drained to keep the connection
# A larger unread body (one refused before it was read: too large, unauthenticated …) is drained
# after the answer, up to these bounds, before the connection closes: closing on a client still
# sending makes the kernel reset the connection, and the client sees a broken pipe, not our answer.
_LINGER_BYTES = 64 * 1024 * 1024
_LINGER_SECONDS = 2.0
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
)


#: What each of the collector's servers is, in the error that says it cannot listen.
_SERVER_LABELS = {
    "otlp-grpc": "the OTLP/gRPC receiver",
    "otlp-http": "the OTLP/HTTP receiver",
    "api": "the API and metrics endpoint",
}


class ListenError(OSError):
    """A server cannot listen on its address: which server, which address, and why."""

    def __init__(self, name: str, address: Address, reason: str) -> None:
        super().__init__(f"{_SERVER_LABELS.get(name, name)} cannot listen on {address}: {reason}")
        self.name = name
        self.address = address


def bind_failure(address: Address) -> str | None:
    """Why the OS refuses to bind ``address`` (as a listening server would, with SO_REUSEADDR),
    or None when it would not. For servers whose own error does not say why: grpcio logs a
    line of its own and raises "Failed to bind"."""
    family = socket.AF_INET6 if ":" in address.host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((address.host, address.port))
    except OSError as err:
        return (err.strerror or str(err)).lower()
    return None


#: The longest chunk-size or trailer line of a chunked body.
_MAX_CHUNK_LINE = 4096


class BodyTooLarge(Exception):
    pass


class LengthRequired(Exception):
    pass


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    _handler: _Handler = field(repr=False)
    _consumed: bool = False

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def body_length(self) -> int | None:
        raw = self.headers.get("Content-Length")
        if raw is None or not raw.strip().isdigit():
            return None
        return int(raw)

    def read_body(self, limit: int) -> bytes:
        """The body, sent with a Content-Length or chunked (``Transfer-Encoding: chunked``);
        :class:`BodyTooLarge` beyond ``limit`` bytes (having read nothing of a body with a
        Content-Length), :class:`LengthRequired` with neither, or a malformed chunked body."""
        coding = self.headers.get("Transfer-Encoding")
        if coding is not None:
            if coding.strip().lower() != "chunked":
                raise LengthRequired(
                    f"unsupported Transfer-Encoding {coding!r}; send chunked or a Content-Length"
                )
            return self._read_chunked(limit)
        length = self.body_length()
        if length is None:
            raise LengthRequired("a Content-Length header (or a chunked body) is required")
        if length > limit:
            raise BodyTooLarge(f"the body is {length} bytes; the limit is {limit}")
        self._consumed = True
        return self._handler.rfile.read(length)

    def _read_chunked(self, limit: int) -> bytes:
        """A chunked body (RFC 9112 7.1), its trailers skipped. On any error the connection
        closes after the answer: what is left of the body cannot be told from a next request."""
        self._consumed = True
        rfile = self._handler.rfile
        parts: list[bytes] = []
        total = 0
        try:
            while True:
                line = rfile.readline(_MAX_CHUNK_LINE + 1)
                if not line.endswith(b"\n") or len(line) > _MAX_CHUNK_LINE:
                    raise LengthRequired("malformed chunked body: a chunk size line is cut or too long")
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                    if size < 0:
                        raise ValueError(size)
                except ValueError:
                    raise LengthRequired(f"malformed chunked body: bad chunk size {line[:40]!r}") from None
                if size == 0:
                    break
                total += size
                if total > limit:
                    raise BodyTooLarge(f"the body is over the limit of {limit} bytes")
                data = rfile.read(size)
                if len(data) != size or rfile.read(2) not in (b"\r\n",):
                    raise LengthRequired("malformed chunked body: a chunk does not end where its size says")
                parts.append(data)
            while line not in (b"\r\n", b"\n", b""):  # trailers, up to the blank line
                line = rfile.readline(_MAX_CHUNK_LINE + 1)
        except BaseException:
            self._handler.close_connection = True
            raise
        return b"".join(parts)


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Response]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        self.request.settimeout(self.server.owner.idle_timeout_s)  # idle keep-alive connections end
        self._handshake_failed = False
        if isinstance(self.request, ssl.SSLSocket):
            try:
                self.request.do_handshake()  # here, in the connection's thread, not in accept()
            except (OSError, ssl.SSLError) as err:  # plaintext on a TLS port, a bad client cert…
                _logger.debug("TLS handshake with %s failed: %r", self.client_address, err)
                self._handshake_failed = True
        super().setup()

    def handle(self) -> None:
        if self._handshake_failed:
            return
        try:
            super().handle()
        except (OSError, ssl.SSLError) as err:  # a client that went away, timed out or spoke nonsense
            _logger.debug("http connection from %s ended: %r", self.client_address, err)

    def _serve(self) -> None:
        owner = self.server.owner
        url = urlsplit(self.path)
        request = Request(
            self.command, url.path, parse_qs(url.query, keep_blank_values=True), self.headers, self
        )
        with owner.in_flight():
            try:
                response = owner.handler(request)
            except Exception:
                _logger.exception("http handler failed for %s %s", self.command, url.path)
                response = Response(500, b"internal error\n")
        self._respond(request, response)

    def _respond(self, request: Request, response: Response) -> None:
        unread = 0
        if not request._consumed and request.body_length():
            length = request.body_length() or 0
            if length <= _DISCARD_LIMIT:
                self.rfile.read(length)
            else:  # a large unread body: answer, then close (draining it for a while first)
                self.close_connection = True
                unread = length
        if self.server.owner.closing:
            self.close_connection = True
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)
        if unread:
            self._linger(unread)

    def _linger(self, unread: int) -> None:
        """Read and discard up to ``unread`` bytes of the body (bounded in bytes and time) so that
        a client still sending it gets to read the answer just written (a lingering close)."""
        try:
            self.wfile.flush()
            deadline = time.monotonic() + _LINGER_SECONDS
            remaining = min(unread, _LINGER_BYTES)
            while remaining > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self.connection.settimeout(left)
                chunk = self.rfile.read1(min(remaining, 1 << 16))
                if not chunk:
                    return
                remaining -= len(chunk)
        except (OSError, ssl.SSLError):  # the client went away, or took too long: close anyway
            pass

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve

    def log_message(self, format: str, *args: Any) -> None:
        _logger.debug("%s %s", self.address_string(), format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # HttpServer.stop() drains requests in flight itself

    def __init__(self, owner: HttpServer, address: Address) -> None:
        self.owner = owner
        self.address_family = socket.AF_INET6 if ":" in address.host else socket.AF_INET
        super().__init__((address.host, address.port), _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, peer = self.socket.accept()
        context = self.owner.tls
        if context is not None:
            sock = context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, peer

    def handle_error(self, request: Any, client_address: Any) -> None:
        _logger.debug("http connection from %s failed", client_address, exc_info=True)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.owner.admit(request):
            try:
                if not isinstance(request, ssl.SSLSocket):
                    request.sendall(_BUSY)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        self.owner.forget(request)
        super().shutdown_request(request)


class HttpServer:
    """Serve ``handler`` on ``address`` from a background thread."""

    def __init__(
        self,
        address: Address,
        handler: Handler,
        *,
        name: str,
        tls: ssl.SSLContext | None = None,
        max_connections: int = 256,
        idle_timeout_s: float = 30.0,
    ) -> None:
        self.handler = handler
        self.tls = tls
        self.idle_timeout_s = idle_timeout_s
        self.closing = False
        self._name = name
        self._max_connections = max_connections
        self._connections: set[Any] = set()
        self._busy = 0
        self._cond = threading.Condition()
        try:
            self._server = _Server(self, address)  # binds now: a port in use fails here
        except OSError as err:
            raise ListenError(name, address, (err.strerror or str(err)).lower()) from err
        host, port = self._server.server_address[:2]
        self.address = Address(str(host), int(port))
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.1,), name=f"llmcost-{name}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def admit(self, conn: Any) -> bool:
        with self._cond:
            if len(self._connections) >= self._max_connections:
                return False
            self._connections.add(conn)
            return True

    def forget(self, conn: Any) -> None:
        with self._cond:
            self._connections.discard(conn)

    def in_flight(self) -> _InFlight:
        return _InFlight(self)

    def _enter(self) -> None:
        with self._cond:
            self._busy += 1

    def _exit(self) -> None:
        with self._cond:
            self._busy -= 1
            self._cond.notify_all()

    def drain(self, timeout: float) -> bool:
        """Mark the server closing (handlers see ``closing``) and wait until no request is being
        handled; ``False`` if some still were after ``timeout`` seconds."""
        self.closing = True
        deadline = time.monotonic() + timeout
        with self._cond:
            return self._cond.wait_for(lambda: self._busy == 0, max(0.0, deadline - time.monotonic()))

    def stop(self) -> None:
        """Stop accepting and close every connection (idle keep-alive ones included)."""
        self.closing = True
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()
        with self._cond:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _InFlight:
    __slots__ = ("_server",)

    def __init__(self, server: HttpServer) -> None:
        self._server = server

    def __enter__(self) -> None:
        self._server._enter()

    def __exit__(self, *exc: object) -> None:
        self._server._exit()
