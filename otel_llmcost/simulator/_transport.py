"""In-process adapter: ``httpx2.MockTransport`` instances that call the core directly.

httpx2 is a development dependency only (the SDKs bring it), so it is imported when a
transport is asked for, never at package import.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING

from ._types import SimRequest, SimResponse

if TYPE_CHECKING:
    import httpx2

Core = Callable[[SimRequest], SimResponse]

_CUT_MESSAGE = "peer closed connection without sending complete message body (incomplete chunked read)"


def _require_httpx2() -> None:
    try:
        import httpx2  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Simulator mock transports need httpx2 (installed with the openai, anthropic and "
            "google-genai SDKs): pip install httpx2"
        ) from exc


def to_sim_request(request: httpx2.Request) -> SimRequest:
    """The ``SimRequest`` for an (already read) httpx2 request, body bytes untouched."""
    raw_path = request.url.raw_path.split(b"?", 1)[0].decode("ascii")
    headers: dict[str, str] = {}
    for name, value in request.headers.multi_items():
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return SimRequest(
        method=request.method,
        path=raw_path,
        query=request.url.query.decode("ascii"),
        headers=headers,
        body=request.content,
    )


def _headers(response: SimResponse) -> list[tuple[str, str]]:
    headers = list(response.headers.items())
    if response.is_stream:
        headers.append(("transfer-encoding", "chunked"))
    return headers


def sync_transport(core: Core) -> httpx2.MockTransport:
    _require_httpx2()
    import httpx2

    def handler(request: httpx2.Request) -> httpx2.Response:
        answer = core(to_sim_request(request))
        if answer.latency_s:
            time.sleep(answer.latency_s)
        if not answer.is_stream:
            return httpx2.Response(answer.status, headers=_headers(answer), content=answer.body)
        return httpx2.Response(answer.status, headers=_headers(answer), content=_iterate(answer, request))

    def _iterate(answer: SimResponse, request: httpx2.Request) -> Iterator[bytes]:
        assert answer.chunks is not None
        for i, chunk in enumerate(answer.chunks):
            if answer.fail_after_chunks is not None and i >= answer.fail_after_chunks:
                raise httpx2.RemoteProtocolError(_CUT_MESSAGE, request=request)
            if i and answer.chunk_delay_s:
                time.sleep(answer.chunk_delay_s)
            yield chunk

    return httpx2.MockTransport(handler)


def async_transport(core: Core) -> httpx2.MockTransport:
    _require_httpx2()
    import httpx2

    async def handler(request: httpx2.Request) -> httpx2.Response:
        answer = core(to_sim_request(request))
        if answer.latency_s:
            await asyncio.sleep(answer.latency_s)
        if not answer.is_stream:
            return httpx2.Response(answer.status, headers=_headers(answer), content=answer.body)
        return httpx2.Response(answer.status, headers=_headers(answer), content=_aiterate(answer, request))

    async def _aiterate(answer: SimResponse, request: httpx2.Request) -> AsyncIterator[bytes]:
        assert answer.chunks is not None
        for i, chunk in enumerate(answer.chunks):
            if answer.fail_after_chunks is not None and i >= answer.fail_after_chunks:
                raise httpx2.RemoteProtocolError(_CUT_MESSAGE, request=request)
            if i and answer.chunk_delay_s:
                await asyncio.sleep(answer.chunk_delay_s)
            yield chunk

    return httpx2.MockTransport(handler)
