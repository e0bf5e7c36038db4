"""The OTLP receivers: gRPC (grpcio) and HTTP (protobuf and JSON), each answering with its
protocol's status for every outcome of the pipeline.

============================  ====================  =================================
case                          gRPC                  HTTP
============================  ====================  =================================
committed (some spans may be  OK + partial_success  200 + partial_success
rejected from the ledger)
malformed protobuf / JSON     INVALID_ARGUMENT      400
body over the size limit      RESOURCE_EXHAUSTED    413
intake full                   RESOURCE_EXHAUSTED    429 + Retry-After
                              + RetryInfo
ledger write failed, slow,    UNAVAILABLE           503 + Retry-After
or shutting down              + RetryInfo
missing or wrong token        UNAUTHENTICATED       401 + WWW-Authenticate
unknown path / method / type  UNIMPLEMENTED         404 / 405 / 415
============================  ====================  =================================
"""

from __future__ import annotations

import hmac
import json
import threading
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final, NoReturn

import grpc
from google.protobuf.duration_pb2 import Duration  # type: ignore[import-untyped]
from google.rpc.error_details_pb2 import RetryInfo  # type: ignore[import-untyped]
from google.rpc.status_pb2 import Status  # type: ignore[import-untyped]
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from otel_llmcost.collector._config import TLSFiles
from otel_llmcost.collector._config_values import Address
from otel_llmcost.collector._http import (
    BodyTooLarge,
    LengthRequired,
    ListenError,
    Request,
    Response,
    bind_failure,
)
from otel_llmcost.collector._otlp import parse_json_request, parse_protobuf_request
from otel_llmcost.collector._pipeline import ExportResult, Outcome, Pipeline

__all__ = ["GrpcReceiver", "OtlpHttpHandler", "bearer_ok"]

TRACES_PATH: Final = "/v1/traces"
_SERVICE = "opentelemetry.proto.collector.trace.v1.TraceService"
_PROTOBUF = "application/x-protobuf"
_JSON = "application/json"
_GRPC_CODES = {
    Outcome.INVALID: grpc.StatusCode.INVALID_ARGUMENT,
    Outcome.TOO_LARGE: grpc.StatusCode.RESOURCE_EXHAUSTED,
    Outcome.BUSY: grpc.StatusCode.RESOURCE_EXHAUSTED,
    Outcome.UNAVAILABLE: grpc.StatusCode.UNAVAILABLE,
    Outcome.UNAUTHENTICATED: grpc.StatusCode.UNAUTHENTICATED,
    Outcome.UNSUPPORTED: grpc.StatusCode.UNIMPLEMENTED,
}
_HTTP_STATUSES = {
    Outcome.INVALID: 400,
    Outcome.TOO_LARGE: 413,
    Outcome.BUSY: 429,
    Outcome.UNAVAILABLE: 503,
    Outcome.UNAUTHENTICATED: 401,
}


def bearer_ok(expected: str | None, header: str | None) -> bool:
    """Whether ``header`` is ``Bearer <expected>`` (always, when no token is configured)."""
    if expected is None:
        return True
    scheme, _, token = (header or "").strip().partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected.encode())


def _success(result: ExportResult) -> ExportTraceServiceResponse:
    response = ExportTraceServiceResponse()
    if result.rejected_spans:
        response.partial_success.rejected_spans = result.rejected_spans
        response.partial_success.error_message = result.message
    return response


_REPLY_FLUSH_SECONDS = 2.0


class GrpcReceiver:
    """``TraceService/Export`` on a grpcio server; the request arrives as bytes so that parsing
    errors are ours to answer (INVALID_ARGUMENT) and oversize messages grpc's (RESOURCE_EXHAUSTED)."""

    def __init__(
        self,
        pipeline: Pipeline,
        address: Address,
        *,
        max_request_bytes: int,
        max_concurrency: int,
        bearer_token: str | None = None,
        tls: TLSFiles | None = None,
    ) -> None:
        self._pipeline = pipeline
        self._token = bearer_token
        self._cond = threading.Condition()
        self._in_flight = 0
        self._closing = False
        self._server = grpc.server(
            ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="llmcost-grpc"),
            handlers=[
                grpc.method_handlers_generic_handler(
                    _SERVICE, {"Export": grpc.unary_unary_rpc_method_handler(self._export)}
                )
            ],
            options=[
                ("grpc.max_receive_message_length", max_request_bytes),
                ("grpc.so_reuseport", 0),  # a port in use must fail, not be shared
            ],
            # RPCs beyond this are refused (RESOURCE_EXHAUSTED) instead of queueing unbounded bodies.
            maximum_concurrent_rpcs=max_concurrency * 2,
        )
        target = str(address)
        refused = bind_failure(address) if address.port else None
        if refused is not None:  # said before grpcio tries (it would log an error line of its own)
            raise ListenError("otlp-grpc", address, refused)
        try:
            if tls is not None:
                with open(tls.key_file, "rb") as key, open(tls.cert_file, "rb") as cert:
                    credentials = grpc.ssl_server_credentials([(key.read(), cert.read())])
                port = self._server.add_secure_port(target, credentials)
            else:
                port = self._server.add_insecure_port(target)
        except RuntimeError:  # grpcio: "Failed to bind to address …" (it does not say why)
            port = 0
        if not port:  # older grpcio returns 0 instead of raising
            raise ListenError("otlp-grpc", address, bind_failure(address) or "the address is not available")
        self.address = Address(address.host, port)

    def start(self) -> None:
        self._server.start()

    def stop(self, grace: float) -> bool:
        """Answer new RPCs UNAVAILABLE, give those in flight ``grace`` seconds, then stop the
        server. (grpcio itself would answer CANCELLED during its grace period, which not every
        exporter retries.) ``False`` if some were still in flight."""
        deadline = time.monotonic() + grace
        with self._cond:
            self._closing = True
            drained = self._cond.wait_for(lambda: self._in_flight == 0, grace)
        # A handler that has returned may not have sent its reply yet: stop(0) would cancel it, and
        # the exporter would see UNAVAILABLE for an export we committed. The grace only waits for
        # those replies (new calls are already refused above), so it ends as soon as they are out;
        # it never runs past the caller's deadline.
        flush = min(_REPLY_FLUSH_SECONDS, max(0.0, deadline - time.monotonic()))
        self._server.stop(flush).wait(flush + 1.0)
        return drained

    def _export(self, body: bytes, context: grpc.ServicerContext) -> bytes:
        with self._cond:
            closing = self._closing
            if not closing:
                self._in_flight += 1
        if closing:
            result = ExportResult(Outcome.UNAVAILABLE, "the collector is shutting down", retry_after_s=1)
            self._abort(context, self._pipeline.count("grpc", result))
        try:
            return self._handle(body, context)
        finally:
            with self._cond:
                self._in_flight -= 1
                self._cond.notify_all()

    def _handle(self, body: bytes, context: grpc.ServicerContext) -> bytes:
        pipeline = self._pipeline
        if not bearer_ok(self._token, dict(context.invocation_metadata()).get("authorization")):
            self._abort(
                context,
                pipeline.count("grpc", ExportResult(Outcome.UNAUTHENTICATED, "bad or missing bearer token")),
            )
        result = pipeline.busy()
        if result is None:
            try:
                request = parse_protobuf_request(body)
            except ValueError as err:
                result = ExportResult(Outcome.INVALID, str(err))
            else:
                result = pipeline.export(request, timeout=context.time_remaining())
        pipeline.count("grpc", result)
        if result.outcome is not Outcome.OK:
            self._abort(context, result)
        return bytes(_success(result).SerializeToString())

    @staticmethod
    def _abort(context: grpc.ServicerContext, result: ExportResult) -> NoReturn:
        if result.retry_after_s is not None:
            # RetryInfo in this trailer is what OTLP exporters read to time their retry.
            info = RetryInfo(retry_delay=Duration(seconds=result.retry_after_s))
            context.set_trailing_metadata((("google.rpc.retryinfo-bin", info.SerializeToString()),))
        context.abort(_GRPC_CODES[result.outcome], result.message)
        raise AssertionError("unreachable: abort raises")


class OtlpHttpHandler:
    """``POST /v1/traces`` with ``application/x-protobuf`` or ``application/json`` bodies,
    optionally ``Content-Encoding: gzip``."""

    def __init__(
        self, pipeline: Pipeline, *, max_request_bytes: int, bearer_token: str | None = None
    ) -> None:
        self._pipeline = pipeline
        self._max = max_request_bytes
        self._token = bearer_token
        self.closing = False  # set when the collector stops: new exports get 503

    def __call__(self, request: Request) -> Response:
        if request.path != TRACES_PATH:
            return self._status(
                Outcome.UNSUPPORTED, f"no such path: {request.path}; OTLP traces go to {TRACES_PATH}", 404
            )
        if request.method != "POST":
            return self._status(
                Outcome.UNSUPPORTED, f"{request.method} is not allowed; use POST", 405, {"Allow": "POST"}
            )
        media = (request.header("Content-Type") or "").split(";")[0].strip().lower()
        parse: Callable[[bytes], Any] | None = {
            _PROTOBUF: parse_protobuf_request,
            _JSON: parse_json_request,
        }.get(media)
        if parse is None:
            return self._status(
                Outcome.UNSUPPORTED, f"unsupported Content-Type {media!r}; use {_PROTOBUF} or {_JSON}", 415
            )
        as_json = media == _JSON
        if not bearer_ok(self._token, request.header("Authorization")):
            result = ExportResult(Outcome.UNAUTHENTICATED, "bad or missing bearer token")
            return self._answer(result, as_json, {"WWW-Authenticate": 'Bearer realm="otel-llmcost"'})
        if self.closing:
            result = ExportResult(Outcome.UNAVAILABLE, "the collector is shutting down", retry_after_s=1)
        else:
            result = self._pipeline.busy() or self._receive(request, parse)
        return self._answer(result, as_json)

    def _receive(self, request: Request, parse: Callable[[bytes], Any]) -> ExportResult:
        encoding = (request.header("Content-Encoding") or "identity").strip().lower()
        if encoding not in ("identity", "gzip"):
            return ExportResult(
                Outcome.INVALID, f"unsupported Content-Encoding {encoding!r}; use gzip or none"
            )
        try:
            body = request.read_body(self._max)
            if encoding == "gzip":
                body = _gunzip(body, self._max)
        except (BodyTooLarge, LengthRequired) as err:
            outcome = Outcome.TOO_LARGE if isinstance(err, BodyTooLarge) else Outcome.INVALID
            return ExportResult(outcome, str(err))
        except (zlib.error, EOFError) as err:
            return ExportResult(Outcome.INVALID, f"bad gzip body: {err}")
        try:
            export = parse(body)
        except ValueError as err:
            return ExportResult(Outcome.INVALID, str(err))
        return self._pipeline.export(export)

    def _answer(self, result: ExportResult, as_json: bool, headers: dict[str, str] | None = None) -> Response:
        self._pipeline.count("http", result)
        if result.outcome is Outcome.OK:
            message = _success(result)
            if as_json:
                payload = {}
                if result.rejected_spans:
                    payload["partialSuccess"] = {
                        "rejectedSpans": str(result.rejected_spans),
                        "errorMessage": result.message,
                    }
                return Response(200, json.dumps(payload).encode(), _JSON)
            return Response(200, message.SerializeToString(), _PROTOBUF)
        extra = dict(headers or {})
        if result.retry_after_s is not None:
            extra["Retry-After"] = str(result.retry_after_s)
        return _status_body(
            _HTTP_STATUSES[result.outcome], _GRPC_CODES[result.outcome], result.message, as_json, extra
        )

    def _status(
        self, outcome: Outcome, message: str, status: int, headers: dict[str, str] | None = None
    ) -> Response:
        self._pipeline.count("http", ExportResult(outcome, message))
        return _status_body(status, _GRPC_CODES[outcome], message, False, headers or {})


def _status_body(
    status: int, code: grpc.StatusCode, message: str, as_json: bool, headers: dict[str, str]
) -> Response:
    """An OTLP/HTTP error: the body is a ``google.rpc.Status`` in the request's encoding."""
    number = code.value[0]
    if as_json:
        return Response(status, json.dumps({"code": number, "message": message}).encode(), _JSON, headers)
    return Response(status, Status(code=number, message=message).SerializeToString(), _PROTOBUF, headers)


def _gunzip(data: bytes, limit: int) -> bytes:
    """Decompress at most ``limit`` bytes: a small gzip bomb must not expand into gigabytes."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = inflater.decompress(data, limit + 1)
    if len(out) > limit or inflater.unconsumed_tail:
        raise BodyTooLarge(f"the decompressed body is over the limit of {limit} bytes")
    if not inflater.eof:
        raise EOFError("truncated gzip stream")
    return out
