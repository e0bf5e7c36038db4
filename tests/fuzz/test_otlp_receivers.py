"""Malformed and adversarial OTLP bodies against the collector's HTTP and gRPC receivers.

Whatever arrives, the answer is a protocol error (400 / INVALID_ARGUMENT, 413 when too large)
or a success whose rejected spans are counted — never a 5xx, never a failed ledger write — and
the same collector serves good exports afterwards (checked at the end of every test).
"""

from __future__ import annotations

import gzip
import json

import grpc
import pytest
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.collector.conftest import genai_request, http_post
from tests.fuzz.conftest import FUZZ, Fuzzed
from tests.fuzz.strategies import JSON_VALUES, OTLP_JSON_SHAPED, deep_request, genai_requests, to_otlp_json

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
VALID = genai_request(6, 900_000, http_spans=2).SerializeToString()
VALID_JSON = to_otlp_json(genai_request(3, 910_000))
PROTOCOL_ERRORS = {400, 413}
REJECTED = "llmcost_collector_spans_rejected_total"


def post(fuzzed: Fuzzed, body: bytes, content_type: str = PROTOBUF, gzipped: bool = False) -> int:
    headers = {"Content-Encoding": "gzip"} if gzipped else {}
    answer = http_post(
        fuzzed.http, gzip.compress(body) if gzipped else body, content_type=content_type, headers=headers
    )
    assert answer.status == 200 or answer.status in PROTOCOL_ERRORS, (answer.status, answer.body[:300])
    return answer.status


def assert_grpc(fuzzed: Fuzzed, body: bytes) -> grpc.StatusCode:
    code, _ = fuzzed.grpc.call(body)
    assert code in (grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT), code
    return code


@FUZZ
@given(body=st.binary(max_size=4096), gzipped=st.booleans())
def test_random_bytes(fuzzed: Fuzzed, body: bytes, gzipped: bool) -> None:
    post(fuzzed, body, gzipped=gzipped)
    post(fuzzed, body, content_type=JSON)
    assert_grpc(fuzzed, body)


@FUZZ
@given(cut=st.integers(0, len(VALID) - 1), json_cut=st.integers(0, len(VALID_JSON) - 1))
def test_truncated_valid_bodies(fuzzed: Fuzzed, cut: int, json_cut: int) -> None:
    post(fuzzed, VALID[:cut])
    post(fuzzed, VALID[:cut], gzipped=True)
    assert_grpc(fuzzed, VALID[:cut])
    assert post(fuzzed, VALID_JSON[:json_cut], content_type=JSON) == 400  # cut JSON never parses


@FUZZ
@given(flips=st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), min_size=1, max_size=8))
def test_corrupted_bytes_of_a_valid_body(fuzzed: Fuzzed, flips: list[tuple[int, int]]) -> None:
    body = bytearray(VALID)
    for position, value in flips:
        body[position] = value
    post(fuzzed, bytes(body))
    assert_grpc(fuzzed, bytes(body))


@FUZZ
@given(document=st.one_of(JSON_VALUES, OTLP_JSON_SHAPED))
def test_json_of_any_shape(fuzzed: Fuzzed, document: object) -> None:
    post(fuzzed, json.dumps(document).encode(), content_type=JSON)


@FUZZ
@given(request=genai_requests(), receiver=st.sampled_from(["grpc", "http", "http-json"]))
def test_adversarial_genai_spans_are_stored_or_counted_as_rejected(
    fuzzed: Fuzzed, request: ExportTraceServiceRequest, receiver: str
) -> None:
    rejected_before = fuzzed.metric(REJECTED)
    body = request.SerializeToString()
    if receiver == "grpc":
        code, answer = fuzzed.grpc.call(body)
        # RESOURCE_EXHAUSTED / 413: an example can outgrow the 4 MB request limit (JSON most
        # easily: an emoji is 4 bytes in protobuf, 12 escaped in JSON).
        assert code in (
            grpc.StatusCode.OK,
            grpc.StatusCode.INVALID_ARGUMENT,
            grpc.StatusCode.RESOURCE_EXHAUSTED,
        ), code
        ok = code == grpc.StatusCode.OK
        rejected = ExportTraceServiceResponse.FromString(answer).partial_success.rejected_spans if ok else 0
    elif receiver == "http":
        raw = http_post(fuzzed.http, body)
        assert raw.status in (200, 400, 413), (raw.status, raw.body[:300])
        ok = raw.status == 200
        rejected = ExportTraceServiceResponse.FromString(raw.body).partial_success.rejected_spans if ok else 0
    else:
        raw = http_post(fuzzed.http, to_otlp_json(request), content_type=JSON)
        assert raw.status in (200, 400, 413), (raw.status, raw.body[:300])
        ok = raw.status == 200
        rejected = int(json.loads(raw.body).get("partialSuccess", {}).get("rejectedSpans", 0)) if ok else 0
    # Every span kept out of the ledger is in the answer and in the rejection counter.
    assert fuzzed.metric(REJECTED) - rejected_before == rejected


@pytest.mark.parametrize(("depth", "status"), [(10, 200), (200, 400), (5_000, 400)])
def test_deeply_nested_attribute_values(fuzzed: Fuzzed, depth: int, status: int) -> None:
    """Past the protobuf decoder's nesting limit (100 messages) the body is malformed."""
    body = deep_request(depth)
    assert post(fuzzed, body) == status
    code = grpc.StatusCode.OK if status == 200 else grpc.StatusCode.INVALID_ARGUMENT
    assert assert_grpc(fuzzed, body) == code
    nested_json = '{"resourceSpans": [' * depth + "]}" * depth
    assert post(fuzzed, nested_json.encode(), content_type=JSON) in (200, 400)


@pytest.fixture(autouse=True)
def _serving_after_each_test(request: pytest.FixtureRequest) -> object:
    yield
    if "fuzzed" in request.fixturenames:
        request.getfixturevalue("fuzzed").check_healthy()
