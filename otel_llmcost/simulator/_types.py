"""Socket-free request and response values shared by the core and its adapters."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl

Provider = Literal["openai", "anthropic", "gemini"]

SSE_CONTENT_TYPE = "text/event-stream; charset=utf-8"
JSON_CONTENT_TYPE = "application/json"


@dataclass(frozen=True)
class SimRequest:
    """One HTTP request as the simulator sees it, byte-exact.

    ``headers`` keys are lower-case; ``query`` is the raw query string without ``?``;
    ``body`` holds the bytes exactly as received. The simulator records these values
    unchanged, so ``Simulator.requests`` compares byte for byte with what a client sent.
    """

    method: str
    path: str
    query: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def params(self) -> dict[str, str]:
        """The query string as a dict (last value wins for repeated names)."""
        return dict(parse_qsl(self.query, keep_blank_values=True))

    def header(self, name: str) -> str | None:
        """A header value by case-insensitive name, or None."""
        return self.headers.get(name.lower())

    def json(self) -> Any:
        """The body parsed as JSON (raises ``ValueError`` if it is not JSON)."""
        return json.loads(self.body)


#: What ``Simulator.requests`` holds: the request itself, recorded byte-exactly.
RecordedRequest = SimRequest


@dataclass
class SimResponse:
    """What the core answers: either a whole ``body`` or a stream of ``chunks``.

    ``chunks`` (SSE frames, already encoded) marks a streamed answer; adapters send it with
    chunked transfer encoding, waiting ``chunk_delay_s`` between chunks, and cut the
    connection after ``fail_after_chunks`` chunks when that is set. ``latency_s`` is
    waited before the first byte.
    """

    status: int
    headers: dict[str, str]
    body: bytes = b""
    chunks: Iterable[bytes] | None = None
    latency_s: float = 0.0
    chunk_delay_s: float = 0.0
    fail_after_chunks: int | None = None

    @property
    def is_stream(self) -> bool:
        return self.chunks is not None


def dumps(obj: object) -> bytes:
    """Compact JSON, the way the providers send it."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def json_response(status: int, obj: object, headers: Mapping[str, str] | None = None) -> SimResponse:
    all_headers = {"content-type": JSON_CONTENT_TYPE}
    all_headers.update(headers or {})
    return SimResponse(status=status, headers=all_headers, body=dumps(obj))


def sse_response(chunks: list[bytes], headers: Mapping[str, str] | None = None) -> SimResponse:
    all_headers = {"content-type": SSE_CONTENT_TYPE, "cache-control": "no-cache"}
    all_headers.update(headers or {})
    return SimResponse(status=200, headers=all_headers, chunks=chunks)


def sse_data(obj: object, *, event: str | None = None, crlf: bool = False) -> bytes:
    """One SSE frame: optional ``event:`` line, one ``data:`` line, blank line."""
    nl = b"\r\n" if crlf else b"\n"
    head = b"event: " + event.encode() + nl if event else b""
    payload = obj if isinstance(obj, bytes) else dumps(obj)
    return head + b"data: " + payload + nl + nl
