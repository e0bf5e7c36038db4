"""Send one serialized OTLP trace export to a downstream endpoint, over HTTP or gRPC.

A sender says only whether to retry: :class:`RetryableError` (connection failures, 429 and 5xx
gateway statuses, the gRPC codes the OTLP specification calls retryable), optionally with the
delay the server asked for, or :class:`PermanentError` (the endpoint refuses the data itself).
"""

from __future__ import annotations

import gzip
import http.client
import ssl
from typing import Final, Protocol
from urllib.parse import urlsplit

import grpc
from google.rpc.error_details_pb2 import RetryInfo  # type: ignore[import-untyped]

from otel_llmcost.collector._config_values import ForwardEndpoint

__all__ = ["EXPORT_METHOD", "GrpcSender", "HttpSender", "PermanentError", "RetryableError", "Sender"]

EXPORT_METHOD: Final = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
_RETRYABLE_HTTP = frozenset({429, 502, 503, 504})
_RETRYABLE_GRPC = frozenset({
    grpc.StatusCode.CANCELLED, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.ABORTED, grpc.StatusCode.OUT_OF_RANGE, grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DATA_LOSS,
})  # fmt: skip


class RetryableError(Exception):
    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class PermanentError(Exception):
    pass


class Sender(Protocol):
    def send(self, body: bytes) -> None: ...

    def close(self) -> None: ...


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


class HttpSender:
    """OTLP/HTTP protobuf over one kept-alive connection (re-opened after any failure)."""

    def __init__(self, endpoint: ForwardEndpoint) -> None:
        self._endpoint = endpoint
        parts = urlsplit(endpoint.url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port
        self._path = parts.path + (f"?{parts.query}" if parts.query else "")
        self._headers = {"Content-Type": "application/x-protobuf", **dict(endpoint.headers)}
        if endpoint.compression == "gzip":
            self._headers["Content-Encoding"] = "gzip"
        self._context = ssl.create_default_context(cafile=endpoint.ca_file) if self._https else None
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            timeout = self._endpoint.timeout_s
            if self._https:
                self._conn = http.client.HTTPSConnection(
                    self._host, self._port, timeout=timeout, context=self._context
                )
            else:
                self._conn = http.client.HTTPConnection(self._host, self._port, timeout=timeout)
        return self._conn

    def send(self, body: bytes) -> None:
        payload = gzip.compress(body, compresslevel=5) if self._endpoint.compression == "gzip" else body
        try:
            conn = self._connection()
            conn.request("POST", self._path, body=payload, headers=self._headers)
            response = conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException) as err:
            self.close()
            raise RetryableError(f"{type(err).__name__}: {err}") from None
        status = response.status
        if 200 <= status < 300:
            return
        if response.will_close:
            self.close()
        if status in _RETRYABLE_HTTP:
            raise RetryableError(f"HTTP {status}", _retry_after(response.getheader("Retry-After")))
        raise PermanentError(f"HTTP {status}")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class GrpcSender:
    """OTLP/gRPC on one channel; the request is sent as the bytes we already have."""

    def __init__(self, endpoint: ForwardEndpoint) -> None:
        self._endpoint = endpoint
        parts = urlsplit(endpoint.url)
        target = f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
        if parts.scheme == "https":
            root = None
            if endpoint.ca_file is not None:
                with open(endpoint.ca_file, "rb") as handle:
                    root = handle.read()
            self._channel = grpc.secure_channel(target, grpc.ssl_channel_credentials(root_certificates=root))
        else:
            self._channel = grpc.insecure_channel(target)
        self._export = self._channel.unary_unary(EXPORT_METHOD)  # no (de)serializers: raw bytes
        self._metadata = endpoint.headers
        self._compression = (
            grpc.Compression.Gzip if endpoint.compression == "gzip" else grpc.Compression.NoCompression
        )

    def send(self, body: bytes) -> None:
        try:
            self._export(
                body, timeout=self._endpoint.timeout_s, metadata=self._metadata, compression=self._compression
            )
        except grpc.RpcError as err:
            code = err.code()
            if code in _RETRYABLE_GRPC:
                delay = None
                for key, value in err.trailing_metadata() or ():
                    if key == "google.rpc.retryinfo-bin":
                        info = RetryInfo.FromString(value)
                        delay = info.retry_delay.seconds + info.retry_delay.nanos / 1e9
                raise RetryableError(f"gRPC {code.name}: {err.details()}", delay) from None
            raise PermanentError(f"gRPC {code.name}: {err.details()}") from None

    def close(self) -> None:
        self._channel.close()
