"""The OTLP receivers: the exact gRPC code and HTTP status of every bad input, and a good export
accepted right after each one."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Callable

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from otel_llmcost.collector import Collector
from otel_llmcost.collector._config_values import Address
from otel_llmcost.collector._http import ListenError
from otel_llmcost.ledger import Filters
from tests.collector.conftest import Answer, genai_request, grpc_export, gzipped, http_post, metric_sum

GOOD = genai_request(3).SerializeToString()
SMALL_LIMIT = 64 * 1024
_next = iter(range(1_000, 1_000_000, 10))


def good_export() -> bytes:
    return genai_request(3, next(_next)).SerializeToString()


def still_serving(collector: Collector) -> None:
    assert grpc_export(collector.addresses["otlp_grpc"], good_export()).code == grpc.StatusCode.OK
    assert http_post(collector.addresses["otlp_http"], good_export()).status == 200


@pytest.fixture
def small(start_collector: Callable[..., Collector]) -> Collector:
    return start_collector(max_request_bytes=SMALL_LIMIT)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        pytest.param(b"\xff\xff\xff\xff", grpc.StatusCode.INVALID_ARGUMENT, id="malformed-protobuf"),
        pytest.param(b"\x0a" * 10, grpc.StatusCode.INVALID_ARGUMENT, id="truncated-protobuf"),
        pytest.param(b"\x00" * (SMALL_LIMIT + 1), grpc.StatusCode.RESOURCE_EXHAUSTED, id="oversize"),
    ],
)
def test_grpc_bad_input_gets_its_code_and_the_collector_keeps_serving(
    small: Collector, body: bytes, code: grpc.StatusCode
) -> None:
    assert grpc_export(small.addresses["otlp_grpc"], body).code == code
    still_serving(small)


def test_grpc_unknown_method_is_unimplemented(collector: Collector) -> None:
    with (
        grpc.insecure_channel(str(collector.addresses["otlp_grpc"])) as channel,
        pytest.raises(grpc.RpcError) as caught,
    ):
        channel.unary_unary("/opentelemetry.proto.collector.metrics.v1.MetricsService/Export")(
            b"", timeout=10
        )
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED  # type: ignore[attr-defined]
    still_serving(collector)


def _post(collector: Collector, body: bytes, **kwargs: object) -> Answer:
    return http_post(collector.addresses["otlp_http"], body, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        pytest.param({"body": b"\xff\xff\xff\xff"}, 400, id="malformed-protobuf"),
        pytest.param({"body": b"{not json", "content_type": "application/json"}, 400, id="malformed-json"),
        pytest.param(
            {"body": b'{"resourceSpans": 3}', "content_type": "application/json"}, 400, id="wrong-json-shape"
        ),
        pytest.param({"body": b"not gzip", "headers": {"Content-Encoding": "gzip"}}, 400, id="bad-gzip"),
        pytest.param({"body": GOOD, "headers": {"Content-Encoding": "br"}}, 400, id="unknown-encoding"),
        pytest.param({"body": b"\x00" * (SMALL_LIMIT + 1)}, 413, id="oversize"),
        pytest.param(
            {"body": gzipped(b"\x00" * (4 * SMALL_LIMIT)), "headers": {"Content-Encoding": "gzip"}},
            413,
            id="gzip-bomb",
        ),
        pytest.param({"body": GOOD, "path": "/v1/metrics"}, 404, id="unknown-path"),
        pytest.param({"body": b"", "method": "GET"}, 405, id="get"),
        pytest.param({"body": GOOD, "content_type": "text/plain"}, 415, id="media-type"),
    ],
)
def test_http_bad_input_gets_its_status_and_the_collector_keeps_serving(
    small: Collector, kwargs: dict[str, object], status: int
) -> None:
    answer = _post(small, **kwargs)  # type: ignore[arg-type]
    assert answer.status == status, answer
    still_serving(small)


@pytest.mark.parametrize("content_type", ["application/x-protobuf", "application/json"])
def test_a_body_far_over_the_limit_gets_its_413_not_a_broken_pipe(
    small: Collector, content_type: str
) -> None:
    # Far more than the socket buffers hold: the collector answers before reading it, then drains
    # it, so the client (still sending) reads the answer instead of a reset connection.
    answer = _post(small, b"\x00" * (16 * 1024 * 1024), content_type=content_type)
    assert answer.status == 413, answer
    assert "limit is 65536" in answer.body.decode("utf-8", "replace")
    still_serving(small)


def _post_raw(collector: Collector, head: bytes, body: bytes) -> tuple[int, bytes]:
    """``head`` (request line and headers, CRLF-separated) and ``body`` as they are, on a fresh
    connection; the answer's status and body."""
    address = collector.addresses["otlp_http"]
    with socket.create_connection((address.host, address.port), timeout=30) as sock:
        sock.sendall(head + b"\r\n\r\n" + body)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, response.read()


def _chunked(data: bytes, size: int) -> bytes:
    pieces = [data[i : i + size] for i in range(0, len(data), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


CHUNKED_HEAD = (
    b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
    b"Transfer-Encoding: chunked"
)


def test_http_takes_a_chunked_body_as_exporters_may_send_one(collector: Collector) -> None:
    address = collector.addresses["otlp_http"]
    body = genai_request(2, 900_000).SerializeToString()
    conn = http.client.HTTPConnection(address.host, address.port, timeout=30)
    try:  # http.client's own chunked encoding, gzipped, in 100-byte chunks
        zipped = gzipped(body)
        pieces = iter([zipped[i : i + 100] for i in range(0, len(zipped), 100)])
        headers = {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"}
        conn.request("POST", "/v1/traces", body=pieces, headers=headers, encode_chunked=True)
        assert conn.getresponse().status == 200
    finally:
        conn.close()
    # Chunk extensions and a trailer are read past; the connection stays usable.
    other = genai_request(1, 900_100).SerializeToString()
    framed = _chunked(other, 7).replace(b"\r\n", b";ext=1\r\n", 1)[:-2] + b"X-Trailer: 1\r\n\r\n"
    assert _post_raw(collector, CHUNKED_HEAD, framed)[0] == 200
    assert collector.ledger.count() == 3


@pytest.mark.parametrize(
    ("framed", "status", "message"),
    [
        pytest.param(
            _chunked(b"\x00" * (SMALL_LIMIT + 10), 4096), 413, "over the limit of 65536", id="oversize"
        ),
        pytest.param(b"zz\r\nabc\r\n0\r\n\r\n", 400, "bad chunk size", id="bad-size"),
        pytest.param(b"-3\r\nabc\r\n0\r\n\r\n", 400, "bad chunk size", id="negative-size"),
        pytest.param(b"3\r\nabcXY0\r\n\r\n", 400, "does not end where its size says", id="size-mismatch"),
    ],
)
def test_a_bad_or_oversized_chunked_body_is_refused_and_the_collector_keeps_serving(
    small: Collector, framed: bytes, status: int, message: str
) -> None:
    got, body = _post_raw(small, CHUNKED_HEAD, framed)
    assert got == status and message in body.decode("utf-8", "replace"), (got, body)
    still_serving(small)


def test_another_transfer_encoding_is_refused(collector: Collector) -> None:
    head = CHUNKED_HEAD.replace(b"chunked", b"gzip, chunked")
    got, body = _post_raw(collector, head, _chunked(good_export(), 100))
    assert got == 400 and "unsupported Transfer-Encoding 'gzip, chunked'" in body.decode(), body


def test_http_errors_carry_a_status_message_in_the_request_encoding(collector: Collector) -> None:
    answer = _post(collector, b"{oops", content_type="application/json")
    body = json.loads(answer.body)
    assert (
        body["code"] == grpc.StatusCode.INVALID_ARGUMENT.value[0] and "malformed OTLP JSON" in body["message"]
    )


def test_http_accepts_protobuf_gzip_and_json(collector: Collector) -> None:
    plain = _post(collector, genai_request(2, 10).SerializeToString())
    assert (plain.status, plain.headers["content-type"]) == (200, "application/x-protobuf")
    assert ExportTraceServiceResponse.FromString(plain.body) == ExportTraceServiceResponse()
    zipped = _post(
        collector, gzipped(genai_request(2, 20).SerializeToString()), headers={"Content-Encoding": "gzip"}
    )
    assert zipped.status == 200
    span = {
        "traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331", "name": "chat gpt-4o",
        "startTimeUnixNano": str(1_762_171_200_000_000_000), "endTimeUnixNano": str(1_762_171_201_000_000_000),
        "attributes": [
            {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
            {"key": "gen_ai.provider.name", "value": {"stringValue": "openai"}},
            {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o-mini"}},
            {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "1200"}},
            {"key": "gen_ai.usage.cache_read.input_tokens", "value": {"intValue": "1024"}},
            {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "50"}},
        ],
    }  # fmt: skip
    payload = {"resourceSpans": [{"scopeSpans": [{"scope": {"name": "x"}, "spans": [span]}]}]}
    answer = _post(collector, json.dumps(payload).encode(), content_type="application/json")
    assert (answer.status, answer.headers["content-type"], json.loads(answer.body)) == (
        200,
        "application/json",
        {},
    )
    assert collector.ledger.count() == 5
    assert collector.ledger.totals(Filters(equals={"model": "gpt-4o-mini"})).cost_nanos == 133_200
    assert metric_sum(collector, "llmcost_collector_exports_total", receiver="http", outcome="ok") == 3


def test_bearer_token_auth_on_both_receivers(start_collector: Callable[..., Collector]) -> None:
    collector = start_collector(bearer_token="s3cret")
    grpc_address, http_address = collector.addresses["otlp_grpc"], collector.addresses["otlp_http"]
    assert grpc_export(grpc_address, good_export()).code == grpc.StatusCode.UNAUTHENTICATED
    wrong = grpc_export(grpc_address, good_export(), metadata=[("authorization", "Bearer nope")])
    assert wrong.code == grpc.StatusCode.UNAUTHENTICATED
    right = grpc_export(grpc_address, good_export(), metadata=[("authorization", "Bearer s3cret")])
    assert right.code == grpc.StatusCode.OK
    refused = http_post(http_address, good_export())
    assert (refused.status, refused.headers["www-authenticate"]) == (401, 'Bearer realm="otel-llmcost"')
    assert http_post(http_address, good_export(), headers={"Authorization": "Basic czNjcmV0"}).status == 401
    assert http_post(http_address, good_export(), headers={"Authorization": "bearer s3cret"}).status == 200
    assert collector.ledger.count() == 6


def test_without_a_token_no_auth_is_asked(collector: Collector) -> None:
    assert (
        http_post(
            collector.addresses["otlp_http"], good_export(), headers={"Authorization": "Bearer x"}
        ).status
        == 200
    )


def test_tls_on_both_receivers(start_collector: Callable[..., Collector], tls_files: tuple[str, str]) -> None:
    import ssl

    from otel_llmcost.collector._config import TLSFiles

    cert, key = tls_files
    collector = start_collector(tls=TLSFiles(cert, key))
    with open(cert, "rb") as handle:
        root = handle.read()
    assert (
        grpc_export(collector.addresses["otlp_grpc"], good_export(), root_cert=root).code
        == grpc.StatusCode.OK
    )
    context = ssl.create_default_context(cafile=cert)
    assert http_post(collector.addresses["otlp_http"], good_export(), tls=context).status == 200
    # plaintext is not spoken on a TLS port
    assert (
        grpc_export(collector.addresses["otlp_grpc"], good_export(), timeout=5).code
        == grpc.StatusCode.UNAVAILABLE
    )
    assert collector.ledger.count() == 6


@pytest.mark.parametrize(
    ("server", "setting", "label"),
    [
        ("otlp_grpc", "otlp_grpc", "the OTLP/gRPC receiver"),
        ("otlp_http", "otlp_http", "the OTLP/HTTP receiver"),
        ("listen", "listen", "the API and metrics endpoint"),
    ],
)
def test_a_port_in_use_fails_start_saying_which_server_and_address(
    start_collector: Callable[..., Collector], collector: Collector, server: str, setting: str, label: str
) -> None:
    taken: Address = collector.addresses[server]
    with pytest.raises(ListenError) as failed:
        start_collector(**{setting: taken})
    assert str(failed.value) == f"{label} cannot listen on {taken}: address already in use"
    assert failed.value.address == taken
    still_serving(collector)  # the one holding the port is untouched
