"""Normalizer: spans kept out of the ledger are counted by reason, never raised; one call, one row."""

from __future__ import annotations

import inspect
import re
from collections import Counter
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otel_llmcost import semconv as sc
from otel_llmcost import usage as usage_module
from otel_llmcost.collector._normalize import (
    _RECORD_FIELDS,
    REJECTION_REASONS,
    Normalizer,
    _cost_nanos,
    _record_factory,
)
from otel_llmcost.collector._otlp import SPAN_KEYS
from otel_llmcost.ledger._model import LedgerRecord
from otel_llmcost.pricing import Cost, Pricer, to_nanos
from tests.collector import spans as S
from tests.collector.spans import AnthropicCall, OpenAICall, SpanSpec

CALL = OpenAICall()
ANTHROPIC_CALL = AnthropicCall()


def rejected(pricer: Pricer, *specs: SpanSpec) -> Counter[str]:
    result = Normalizer(pricer).process(S.request(specs))
    assert result.records == []
    assert result.genai_spans == len(specs)
    return result.rejected


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"trace_id": bytes(16)}, "bad_span_id"),
        ({"span_id": bytes(8)}, "bad_span_id"),
        ({"span_id": b""}, "bad_span_id"),
        ({"trace_id": b"\x01" * 8}, "bad_span_id"),
        ({"start_ns": 0}, "bad_timestamp"),
        ({"start_ns": 2**64 - 1, "end_ns": 2**64 - 1}, "bad_timestamp"),  # year 2554: a broken clock
        ({"attrs": {sc.GEN_AI_REQUEST_MODEL: None, sc.GEN_AI_RESPONSE_MODEL: None}}, "missing_model"),
        ({"attrs": {sc.GEN_AI_USAGE_INPUT_TOKENS: -5}}, "negative_tokens"),
        ({"attrs": {sc.GEN_AI_USAGE_OUTPUT_TOKENS: 10**9}}, "absurd_tokens"),
        ({"attrs": {sc.GEN_AI_USAGE_INPUT_TOKENS: 12.5}}, "not_integer"),
        ({"attrs": {sc.GEN_AI_USAGE_INPUT_TOKENS: "lots"}}, "not_integer"),
        ({"attrs": {sc.GEN_AI_USAGE_OUTPUT_TOKENS: True}}, "not_integer"),
        ({"attrs": {sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: 301}}, "inconsistent_tokens"),
    ],
)
def test_each_rejection_reason(pricer: Pricer, changes: dict[str, Any], reason: str) -> None:
    assert reason in REJECTION_REASONS
    assert rejected(pricer, S.openai_v2(CALL).but(**changes)) == Counter({reason: 1})


def test_token_counts_sent_as_other_types_still_read(pricer: Pricer) -> None:
    """JavaScript SDKs send numbers as doubles; some emitters send strings."""
    spec = S.openai_v2(CALL).but(
        attrs={sc.GEN_AI_USAGE_INPUT_TOKENS: 1200.0, sc.GEN_AI_USAGE_OUTPUT_TOKENS: "300"}
    )
    (record,) = Normalizer(pricer).process(S.request([spec])).records
    assert (record.input_tokens, record.output_tokens, record.cost_nanos) == (1200, 300, 6_000_000)


def test_string_attributes_of_other_types_become_strings(pricer: Pricer) -> None:
    spec = S.ours_openai(CALL).but(
        attrs={sc.LLMCOST_TEAM: 42, sc.LLMCOST_PROJECT: ("a", "b"), sc.ERROR_TYPE: 503}
    )
    (record,) = Normalizer(pricer).process(S.request([spec])).records
    assert (record.team, record.project, record.error_type, record.status) == ("42", None, "503", "error")


def test_an_unexpected_fault_is_counted_not_raised(pricer: Pricer, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = Pricer()

    def explode(*_: object, **__: object) -> None:
        raise RuntimeError("catalog bug")

    monkeypatch.setattr(broken, "resolve_first", explode)
    result = Normalizer(broken).process(S.request([S.ours_openai(CALL).but(**S.ids(1)), S.http_span()]))
    assert (result.records, result.rejected, result.total_spans) == ([], Counter({"malformed_span": 1}), 2)


def test_rejections_do_not_stop_the_batch(pricer: Pricer) -> None:
    specs = [
        S.openai_v2(CALL).but(**S.ids(1)),
        S.openai_v2(CALL).but(**S.ids(2), attrs={sc.GEN_AI_USAGE_INPUT_TOKENS: -1}),
        S.openai_v2(CALL).but(trace_id=bytes(16)),
        S.openai_v2(CALL).but(**S.ids(4)),
    ]
    result = Normalizer(pricer).process(S.request(specs))
    assert [r.span_id for r in result.records] == ["0000000000def001", "0000000000def004"]
    assert result.rejected == Counter({"negative_tokens": 1, "bad_span_id": 1})


def test_two_emitters_of_one_call_make_one_row_preferring_ours(pricer: Pricer) -> None:
    """The anthropic SDK's span and ours share the trace and gen_ai.response.id."""
    same_call = {"trace_id": b"\x07" * 16}
    sdk = S.anthropic_sdk(ANTHROPIC_CALL).but(span_id=b"\x01" * 8, **same_call)
    ours = S.ours_anthropic(ANTHROPIC_CALL).but(span_id=b"\x02" * 8, **same_call)
    for order in ([sdk, ours], [ours, sdk]):
        result = Normalizer(pricer).process(S.request(order))
        (record,) = result.records
        assert record.span_id == "0202020202020202"
        assert result.rejected == Counter({"duplicate_call": 1})
        assert (result.genai_spans, result.unpriced) == (2, 0)


def test_then_the_span_with_attribution(pricer: Pricer) -> None:
    same_call = {"trace_id": b"\x07" * 16}
    sdk = S.anthropic_sdk(ANTHROPIC_CALL).but(span_id=b"\x01" * 8, **same_call)
    attributed = S.openllmetry_anthropic(ANTHROPIC_CALL).but(
        span_id=b"\x02" * 8, attrs={sc.LLMCOST_TEAM: "search"}, **same_call
    )
    plain = S.openllmetry_anthropic(ANTHROPIC_CALL).but(span_id=b"\x03" * 8, **same_call)
    result = Normalizer(pricer).process(S.request([sdk, attributed, plain]))
    (record,) = result.records
    assert (record.span_id, record.team) == ("0202020202020202", "search")
    assert result.rejected == Counter({"duplicate_call": 2})
    # equal standing: the first seen stays
    first = Normalizer(pricer).process(S.request([plain, sdk])).records
    assert [r.span_id for r in first] == ["0303030303030303"]


def test_same_response_id_in_other_traces_or_without_one_are_distinct_calls(pricer: Pricer) -> None:
    a = S.anthropic_sdk(ANTHROPIC_CALL).but(**S.ids(1))
    b = S.ours_anthropic(ANTHROPIC_CALL).but(**S.ids(2))
    no_id = S.openinference_anthropic(ANTHROPIC_CALL).but(trace_id=a.trace_id, span_id=b"\x09" * 8)
    result = Normalizer(pricer).process(S.request([a, b, no_id, no_id.but(span_id=b"\x0a" * 8)]))
    assert len(result.records) == 4
    assert result.rejected == Counter()


def test_usage_keys_cover_everything_usage_reads() -> None:
    """The normalizer decodes only the keys it lists; usage.from_attributes must find all of its."""
    source = inspect.getsource(usage_module)
    section = source[source.index("# --- span attributes from any emitter") :]
    names = {getattr(sc, name) for name in re.findall(r"\bsc\.([A-Z][A-Z0-9_]+)", section)}
    names |= set(re.findall(r'"((?:gen_ai|llm|llmcost|anthropic|openinference)\.[a-z0-9_.]+)"', section))
    names -= {sc.PROVIDER_ANTHROPIC, sc.OPENLIT_SCOPE}  # values compared against, not keys read
    assert names <= set(SPAN_KEYS), sorted(names - set(SPAN_KEYS))


_ATTRIBUTE_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.lists(st.one_of(st.text(max_size=5), st.integers(min_value=0, max_value=10)), max_size=3).map(tuple),
)
_KEYS = st.sampled_from(sorted(SPAN_KEYS))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    attrs=st.dictionaries(_KEYS, _ATTRIBUTE_VALUES, max_size=8),
    trace_id=st.sampled_from([bytes(16), b"\x01" * 16, b"", b"\x01" * 3]),
    start_ns=st.sampled_from([0, S.START_NS, 2**64 - 1]),
    error=st.booleans(),
)
def test_any_span_is_accounted_for_and_never_raises(
    pricer: Pricer, attrs: dict[str, Any], trace_id: bytes, start_ns: int, error: bool
) -> None:
    base = S.openai_v2(CALL).but(attrs=attrs, trace_id=trace_id, start_ns=start_ns, error=error)
    result = Normalizer(pricer).process(S.request([base, S.http_span()]))
    assert result.total_spans == 2
    assert len(result.records) + sum(result.rejected.values()) <= result.genai_spans <= 1
    assert set(result.rejected) <= set(REJECTION_REASONS)
    for record in result.records:
        assert record.cost_nanos >= 0 and (record.priced or record.cost_nanos == 0)
        assert isinstance(record.request_model or record.response_model, str)


def test_clock_skew_up_to_a_day_is_tolerated(pricer: Pricer) -> None:
    day = 86_400 * 10**9
    ahead = S.openai_v2(CALL).but(start_ns=S.NOW_NS + day, end_ns=S.NOW_NS + day + 10**9)
    result = S.normalize(pricer, ahead, ahead.but(start_ns=S.NOW_NS + day + 1))
    assert [r.start_ns for r in result.records] == [S.NOW_NS + day]
    assert result.rejected == Counter({"bad_timestamp": 1})


def test_the_record_factory_fills_fields_by_name() -> None:
    make = _record_factory(
        ("trace_id", "span_id", "start_ns", "end_ns", "provider", "operation", "team", "priced")
    )
    record = make("a" * 32, "b" * 16, 1, 2, "openai", "chat", "search", False)
    assert record == LedgerRecord("a" * 32, "b" * 16, 1, 2, "openai", "chat", team="search", priced=False)
    assert set(_RECORD_FIELDS) == set(LedgerRecord.field_names())


def test_inlined_nano_rounding_is_to_nanos() -> None:
    """Normalizer rounds cost columns with to_nanos' own operations; the two must never drift."""
    amounts = [Decimal(f"0.{i:03d}0000005") for i in range(200)] + [
        Decimal("0.0000000025"),
        Decimal("0.0000000035"),
    ]
    amounts += [Decimal(10000) / (Decimal(2500) * Decimal(2_628_000)) * n for n in (1, 7, 6_570_000)]
    for amount in amounts:
        cost = Cost(total=amount, breakdown={"input": amount}, model="m", provider="p", price_version="v",
                    effective_from=date(2025, 1, 1))  # fmt: skip
        assert _cost_nanos(cost)[:2] == [to_nanos(amount)] * 2, amount
