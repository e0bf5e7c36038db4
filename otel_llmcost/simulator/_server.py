"""HTTP adapter: a stdlib ``ThreadingHTTPServer`` (HTTP/1.1, chunked streams) over the core.

Stdlib only, by design: the simulator must run wherever the agent does, and it needs
nothing an HTTP framework would add.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ._types import SimRequest, SimResponse

logger = logging.getLogger("otel_llmcost.simulator")

Core = Callable[[SimRequest], SimResponse]

#: Largest request body accepted (bytes); larger ones get 413 without being read.
MAX_BODY_BYTES = 64 * 1024 * 1024


class SimHTTPServer(ThreadingHTTPServer):
    """Threaded server that knows its core and can drop every open connection on close."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str, port: int, core: Core) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.core = core
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__((host, port), _Handler)

    def track(self, conn: socket.socket, alive: bool) -> None:
        with self._connections_lock:
            if alive:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def handle_error(self, request: object, client_address: object) -> None:
        # socketserver prints tracebacks to stderr; clients hanging up are routine here.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)) or self.stopping.is_set():
            logger.debug("connection from %s ended: %r", client_address, exc)
        else:
            logger.exception("error while serving %s", client_address)

    def server_close(self) -> None:
        self.stopping.set()
        super().server_close()
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:  # wake handler threads blocked on idle keep-alive reads
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "otel-llmcost-simulator"
    sys_version = ""
    timeout = 300  # idle keep-alive connections are closed after this many seconds
    # Headers and body go out in separate writes; with Nagle on, the body waits for the client's
    # delayed ACK of the headers: 40 ms added to every keep-alive call.
    disable_nagle_algorithm = True
    server: SimHTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("%s - %s", self.address_string(), format % args)

    def _handle(self) -> None:
        try:
            body = self._read_body()
        except ValueError as exc:
            self.send_error(400, str(exc))
            self.close_connection = True
            return
        if body is None:
            self.send_error(413, "request body too large")
            self.close_connection = True
            return
        path, _, query = self.path.partition("?")
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        answer = self.server.core(SimRequest(self.command, path, query, headers, body))
        if answer.latency_s and self.server.stopping.wait(answer.latency_s):
            self.close_connection = True
            return
        try:
            self._send(answer)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away; nothing more to do

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            parts: list[bytes] = []
            size = 0
            while True:
                line = self.rfile.readline(1024).split(b";", 1)[0].strip()
                try:
                    length = int(line, 16)
                except ValueError:
                    raise ValueError("malformed chunked request body") from None
                if length == 0:
                    while self.rfile.readline(1024).strip():  # trailers
                        pass
                    return b"".join(parts)
                size += length
                if size > MAX_BODY_BYTES:
                    return None
                parts.append(self.rfile.read(length))
                self.rfile.readline(1024)
        raw_length = self.headers.get("content-length")
        length = int(raw_length) if raw_length and raw_length.isdigit() else 0
        if length > MAX_BODY_BYTES:
            return None
        return self.rfile.read(length) if length else b""

    def _send(self, answer: SimResponse) -> None:
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if answer.chunks is None:
            self.send_header("content-length", str(len(answer.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(answer.body)
            return
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for i, chunk in enumerate(answer.chunks):
            if answer.fail_after_chunks is not None and i >= answer.fail_after_chunks:
                # Drop the connection without the terminating chunk: an incomplete body.
                self.wfile.flush()
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            if i and answer.chunk_delay_s and self.server.stopping.wait(answer.chunk_delay_s):
                self.close_connection = True
                return
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
