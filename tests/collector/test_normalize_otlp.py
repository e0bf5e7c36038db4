"""OTLP parsing (protobuf, JSON with hex ids) and the cheap attribute reads normalization relies on."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from otel_llmcost import semconv as sc
from otel_llmcost.collector._normalize import Normalizer
from otel_llmcost.collector._otlp import (
    SPAN_KEYS,
    any_value,
    attributes_dict,
    has_genai_keys,
    parse_json_request,
    parse_protobuf_request,
    read_attributes,
)
from otel_llmcost.pricing import Pricer
from tests.collector import spans as S

# An OTLP/JSON export as the OTLP JSON encoding spells it: lowerCamelCase, hex ids, enums as
# integers, 64-bit integers as strings.
JSON_EXPORT: dict[str, Any] = {
    "resourceSpans": [
        {
            "resource": {
                "attributes": [
                    {"key": "service.name", "value": {"stringValue": "checkout"}},
                    {"key": "llmcost.team", "value": {"stringValue": "search"}},
                ]
            },
            "scopeSpans": [
                {
                    "scope": {"name": "opentelemetry.instrumentation.openai_v2", "version": "2.1b0"},
                    "spans": [
                        {
                            "traceId": "5B8EFFF798038103D269B633813FC60C",
                            "spanId": "EEE19B7EC3C1B174",
                            "parentSpanId": "EEE19B7EC3C1B173",
                            "name": "chat gpt-4o",
                            "kind": 3,
                            "startTimeUnixNano": str(S.START_NS),
                            "endTimeUnixNano": str(S.START_NS + 2_000_000_000),
                            "attributes": [
                                {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                                {"key": "gen_ai.system", "value": {"stringValue": "openai"}},
                                {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}},
                                {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "1200"}},
                                {"key": "gen_ai.usage.output_tokens", "value": {"intValue": 300}},
                                {
                                    "key": "gen_ai.response.finish_reasons",
                                    "value": {"arrayValue": {"values": [{"stringValue": "stop"}]}},
                                },
                            ],
                            "links": [
                                {"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331"}
                            ],
                            "status": {"code": 1},
                            "someFutureField": {"ignored": True},
                        }
                    ],
                }
            ],
        }
    ]
}


def test_json_request_with_hex_ids_parses_and_prices(pricer: Pricer) -> None:
    request = parse_json_request(json.dumps(JSON_EXPORT).encode())

    span = request.resource_spans[0].scope_spans[0].spans[0]
    assert span.trace_id.hex() == "5b8efff798038103d269b633813fc60c"
    assert span.span_id.hex() == "eee19b7ec3c1b174"
    assert span.parent_span_id.hex() == "eee19b7ec3c1b173"
    assert span.links[0].trace_id.hex() == "0af7651916cd43dd8448eb211c80319c"
    assert (span.kind, span.start_time_unix_nano) == (3, S.START_NS)
    (record,) = Normalizer(pricer).process(request).records
    assert (record.trace_id, record.span_id, record.cost_nanos) == (
        "5b8efff798038103d269b633813fc60c",
        "eee19b7ec3c1b174",
        6_000_000,
    )
    assert (record.team, record.service, record.finish_reason) == ("search", "checkout", "stop")
    assert (record.end_ns - record.start_ns, record.pricing_model) == (2_000_000_000, "openai/gpt-4o")


def test_json_and_protobuf_of_one_export_are_the_same_request() -> None:
    request = S.request([S.ours_openai(S.OpenAICall())])
    body = json.dumps(JSON_EXPORT).encode()
    assert parse_protobuf_request(request.SerializeToString()) == request
    assert parse_json_request(body) == parse_json_request(
        body.decode().replace('"kind": 3', '"kind": "SPAN_KIND_CLIENT"').encode()
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "malformed OTLP JSON"),
        (b"\xff\xfe", "malformed OTLP JSON"),
        (b"[]", "must be a JSON object"),
        (b'{"resourceSpans": {}}', "resourceSpans must be a list of objects"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "xyz"}]}]}]}', "traceId is not hex"),
        (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": 12}]}]}]}',
            "spanId must be a hex string",
        ),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": 5}]}]}]}', "malformed OTLP JSON"),
        (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"startTimeUnixNano": "soon"}]}]}]}',
            "malformed OTLP JSON",
        ),
    ],
)
def test_malformed_json_is_a_value_error(body: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_json_request(body)


def test_malformed_protobuf_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="malformed OTLP protobuf"):
        parse_protobuf_request(b"\x0a\xff\xff\xff")


def test_any_value_converts_every_kind() -> None:
    value = AnyValue()
    for item, field in ((1, "int_value"), (2.5, "double_value"), (True, "bool_value"), ("x", "string_value")):
        setattr(value.array_value.values.add(), field, item)
    kv = value.array_value.values.add().kvlist_value.values.add()
    kv.key, kv.value.bytes_value = "k", b"\x00"
    assert any_value(value) == (1, 2.5, True, "x", {"k": b"\x00"})
    assert any_value(AnyValue()) is None


def test_read_attributes_decodes_only_what_is_wanted() -> None:
    @dataclass
    class Spy:
        key: str
        _value: AnyValue
        touched: bool = False

        @property
        def value(self) -> AnyValue:
            self.touched = True
            return self._value

    span = S.to_span(S.http_span())
    prompt = S.to_span(S.openai_v2(S.OpenAICall()).but(attrs={sc.GEN_AI_INPUT_MESSAGES: "x" * 100_000}))
    spies = [Spy(kv.key, kv.value) for kv in [*span.attributes, *prompt.attributes]]
    attrs = read_attributes(spies, SPAN_KEYS)

    touched = {spy.key for spy in spies if spy.touched}
    assert (
        touched
        == set(attrs)
        == {
            sc.GEN_AI_OPERATION_NAME,
            sc.GEN_AI_SYSTEM,
            sc.GEN_AI_REQUEST_MODEL,
            sc.GEN_AI_RESPONSE_MODEL,
            sc.GEN_AI_RESPONSE_FINISH_REASONS,
            sc.GEN_AI_RESPONSE_ID,
            sc.GEN_AI_OPENAI_RESPONSE_SERVICE_TIER_DEPRECATED,
            sc.GEN_AI_USAGE_INPUT_TOKENS,
            sc.GEN_AI_USAGE_OUTPUT_TOKENS,
            sc.GEN_AI_REQUEST_MAX_TOKENS,
        }
    )
    assert sc.GEN_AI_INPUT_MESSAGES not in touched  # 100 kB of prompt never copied


def test_read_attributes_hints_fall_back_to_the_real_type() -> None:
    span = S.to_span(
        S.http_span().but(
            attrs={
                sc.GEN_AI_USAGE_INPUT_TOKENS: 0,  # falsy int: still present
                sc.GEN_AI_USAGE_OUTPUT_TOKENS: 7.0,  # a double where an int is expected
                sc.GEN_AI_REQUEST_MODEL: 4,  # an int where a string is expected
                sc.GEN_AI_RESPONSE_MODEL: "",  # empty: absent
                sc.GEN_AI_RESPONSE_ID: ("a",),  # an array where a string is expected: dropped
                sc.GEN_AI_RESPONSE_FINISH_REASONS: ("stop",),
            }
        )
    )
    assert read_attributes(span.attributes, SPAN_KEYS) == {
        sc.GEN_AI_USAGE_INPUT_TOKENS: 0,
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: 7.0,
        sc.GEN_AI_REQUEST_MODEL: "4",
        sc.GEN_AI_RESPONSE_FINISH_REASONS: ("stop",),
    }


def test_genai_key_scan() -> None:
    assert not has_genai_keys(S.to_span(S.http_span()).attributes)
    for spec in (S.openai_v2(S.OpenAICall()), S.openinference_openai(S.OpenAICall())):
        assert has_genai_keys(S.to_span(spec).attributes)
    assert attributes_dict(S.to_span(S.http_span()).attributes)["http.response.status_code"] == 200
