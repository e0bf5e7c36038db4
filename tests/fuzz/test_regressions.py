"""The inputs the fuzzers found that broke the collector, pinned: each once failed the whole
ledger write (503 to every export batched with it, retried by the exporter forever) or got a
500. Now each is stored sanely or rejected with a counted reason."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from otel_llmcost import semconv as sc
from otel_llmcost.ledger import Filters
from tests.collector import spans as S
from tests.collector.conftest import http_post
from tests.fuzz.conftest import Fuzzed

_ids = iter(range(7_000_000, 8_000_000))


def export(fuzzed: Fuzzed, resource: dict[str, Any] | None = None, **changes: Any) -> tuple[int, int, str]:
    """One of our OpenAI spans with ``changes``: (HTTP status, rejected spans, span id)."""
    spec = S.ours_openai(S.OpenAICall()).but(**S.ids(next(_ids))).but(**changes)
    answer = http_post(fuzzed.http, S.request([spec], resource=resource or S.RESOURCE).SerializeToString())
    rejected = ExportTraceServiceResponse.FromString(answer.body).partial_success.rejected_spans
    return answer.status, rejected, spec.span_id.hex()


def stored(fuzzed: Fuzzed, span_id: str) -> Any:
    (record,) = [r for r in fuzzed.collector.ledger.records(Filters()) if r.span_id == span_id]
    return record


@pytest.mark.parametrize(
    "end_ns",
    [2**64 - 1, 2**63, S.START_NS - 1, 0],
    ids=["uint64-max", "int64-overflow", "before-start", "zero"],
)
def test_an_impossible_end_time_is_a_counted_bad_timestamp(fuzzed: Fuzzed, end_ns: int) -> None:
    before = fuzzed.metric("llmcost_collector_spans_rejected_total", reason="bad_timestamp")
    assert export(fuzzed, end_ns=end_ns)[:2] == (200, 1)
    assert fuzzed.metric("llmcost_collector_spans_rejected_total", reason="bad_timestamp") == before + 1


@pytest.mark.parametrize("max_tokens", [1e300, 2.0**63, 1e19], ids=["1e300", "2^63", "1e19"])
def test_an_absurd_max_tokens_is_dropped_not_stored(fuzzed: Fuzzed, max_tokens: float) -> None:
    status, rejected, span_id = export(fuzzed, attrs={sc.GEN_AI_REQUEST_MAX_TOKENS: max_tokens})
    assert (status, rejected) == (200, 0)
    record = stored(fuzzed, span_id)
    assert (record.max_tokens, record.cost_nanos) == (None, 6_000_000)  # gpt-4o: 1200 in, 300 out


@pytest.mark.parametrize("reported", [1e12, -1e12, 9.3e9, 1e300, float("inf"), float("nan")])
def test_an_absurd_reported_cost_is_ignored_and_ours_kept(fuzzed: Fuzzed, reported: float) -> None:
    status, rejected, span_id = export(fuzzed, attrs={sc.GEN_AI_USAGE_COST_AMOUNT: reported})
    assert (status, rejected) == (200, 0)
    record = stored(fuzzed, span_id)
    assert (record.reported_cost_nanos, record.cost_nanos) == (None, 6_000_000)


def test_nul_characters_in_text_are_stored(fuzzed: Fuzzed) -> None:
    """PostgreSQL text cannot hold NUL, and import refuses it: on both engines it becomes U+FFFD."""
    attrs = {
        sc.GEN_AI_REQUEST_MODEL: "gpt-4o\x00evil",
        sc.LLMCOST_TEAM: "\x00",
        sc.GEN_AI_RESPONSE_ID: "a\x00b",
    }
    status, rejected, span_id = export(fuzzed, attrs=attrs)
    assert (status, rejected) == (200, 0)
    record = stored(fuzzed, span_id)
    nul = "\ufffd"
    assert (record.request_model, record.team, record.response_id) == (f"gpt-4o{nul}evil", nul, f"a{nul}b")
    assert record.cost_nanos == 6_000_000  # priced by the response model, gpt-4o-2024-08-06


def test_values_too_long_to_index_are_stored_fitted(fuzzed: Fuzzed) -> None:
    """A 300,000-character user (the fuzzer's) failed PostgreSQL's index on it (rows are limited
    to 2,704 bytes) and with it the whole ledger write. Indexed values past 256 characters are
    stored as their opening and a hash; on SQLite the same."""
    long_user = "a" * 300_000
    resource = {**S.RESOURCE, sc.LLMCOST_USER: long_user, sc.LLMCOST_PROJECT: "🤖" * 1_000}
    attrs = {
        sc.LLMCOST_TEAM: "t" * 5_000,
        sc.GEN_AI_RESPONSE_ID: "r" * 100_000,
        sc.GEN_AI_PROVIDER_NAME: "p" * 3_000,
    }
    status, rejected, span_id = export(fuzzed, resource, attrs=attrs)
    assert (status, rejected) == (200, 0)
    record = stored(fuzzed, span_id)
    fitted = (record.user, record.project, record.team, record.response_id, record.provider)
    assert [len(value) for value in fitted] == [256] * 5
    assert record.user == "a" * 239 + "~" + hashlib.sha256(long_user.encode()).hexdigest()[:16]
    assert fuzzed.metric("llmcost_collector_ledger_write_errors_total") == 0


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deeply_nested_json_is_a_400(fuzzed: Fuzzed, depth: int) -> None:
    body = (
        '{"resourceSpans": [{"resource": {"attributes": [{"key": "k", "value": '
        + '{"arrayValue": {"values": [' * depth
    )
    body += "{}" + "]}}" * depth + "}]}}]}"
    answer = http_post(fuzzed.http, body.encode(), content_type="application/json")
    assert (answer.status, answer.body) == (
        400,
        b'{"code": 3, "message": "malformed OTLP JSON: nested too deeply"}',
    )


@pytest.fixture(autouse=True)
def _serving_after_each_test(fuzzed: Fuzzed) -> Any:
    yield
    fuzzed.check_healthy()
