"""Hypothesis strategies for adversarial OTLP: attribute values of every type and size, broken
ids and clocks, and GenAI spans whose usage, cost and names are mutated away from sanity."""

from __future__ import annotations

import base64
import json
from typing import Any

from google.protobuf import json_format
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from otel_llmcost.collector._otlp import RESOURCE_KEYS, SPAN_KEYS
from tests.collector import spans as S

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
UINT64 = st.integers(min_value=0, max_value=2**64 - 1)
# Values a token count or cost may be sent as: absurd, negative, fractional, NaN, infinite.
NUMBERS = st.one_of(
    INT64,
    st.integers(min_value=-1000, max_value=10**9),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 2**31, 2**53 + 1, 10**8, 10**8 + 1, 2**63 - 1, -(2**63), 1e300, -0.0]),
)
TEXT = st.one_of(
    st.text(max_size=40),  # any unicode: NUL, RTL marks, emoji, combining characters
    st.sampled_from(["", "\x00", "gpt-4o", "claude-sonnet-4-5", "openai", "chat", "ＧＰＴ", "🤖" * 50]),
    st.builds(lambda c, n: c * n, st.sampled_from(["a", "é", "\x00", "🤖"]), st.integers(0, 300_000)),
)
SCALARS = st.one_of(TEXT, NUMBERS, st.booleans(), st.binary(max_size=32), st.none())
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(tuple), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
# Mostly the keys normalization reads (where a bad value can do harm), some it ignores.
KEYS = st.one_of(
    st.sampled_from(sorted(SPAN_KEYS)),
    st.sampled_from(sorted(SPAN_KEYS)),
    st.sampled_from(sorted(RESOURCE_KEYS)),
    st.text(max_size=20),
)
IDS = st.one_of(st.binary(max_size=20), st.just(b""), st.just(bytes(16)), st.just(bytes(8)))


def _set(target: AnyValue, value: Any) -> None:
    """``value`` into an AnyValue; ``None`` leaves it empty (no oneof set)."""
    if value is None:
        target.SetInParent()
    elif isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, int):
        target.int_value = value
    elif isinstance(value, float):
        target.double_value = value
    elif isinstance(value, str):
        target.string_value = value
    elif isinstance(value, bytes):
        target.bytes_value = value
    elif isinstance(value, tuple):
        target.array_value.SetInParent()
        for item in value:
            _set(target.array_value.values.add(), item)
    else:
        target.kvlist_value.SetInParent()
        for key, item in value.items():
            kv = target.kvlist_value.values.add()
            kv.key = key
            _set(kv.value, item)


def nested(depth: int) -> AnyValue:
    """An array nested ``depth`` deep; each level is two messages, and upb stops at 100."""
    return AnyValue.FromString(_nested_bytes(depth))


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (wire type 2)."""
    size, length = b"", len(payload)
    while True:
        byte, length = length & 0x7F, length >> 7
        size += bytes([byte | (0x80 if length else 0)])
        if not length:
            break
    return bytes([number << 3 | 2]) + size + payload


def _nested_bytes(depth: int) -> bytes:
    value = _field(1, b"bottom")  # AnyValue.string_value
    for _ in range(depth):
        value = _field(5, _field(1, value))  # AnyValue.array_value -> ArrayValue.values
    return value


def deep_request(depth: int) -> bytes:
    """An export whose one span attribute is an array nested ``depth`` deep, encoded by hand:
    the protobuf runtime refuses to build what a hostile client can simply send."""
    value = _nested_bytes(depth)
    span = S.to_span(S.ours_openai(S.OpenAICall()).but(**S.ids(depth))).SerializeToString()
    span += _field(9, _field(1, b"deep") + _field(2, value))  # Span.attributes: KeyValue{key, value}
    return _field(1, _field(2, _field(2, span)))  # request.resource_spans.scope_spans.spans


def _mutate(draw: st.DrawFn, attributes: Any, keys: st.SearchStrategy[str]) -> None:
    """Delete some attributes, overwrite or add others with values of any type and size, and
    sometimes add a key twice (OTLP forbids it; senders do it anyway)."""
    for key in draw(st.lists(st.sampled_from(sorted({kv.key for kv in attributes} or {""})), max_size=3)):
        for index in range(len(attributes) - 1, -1, -1):
            if attributes[index].key == key:
                del attributes[index]
    for key, value in draw(
        st.dictionaries(keys, st.one_of(VALUES, st.integers(1, 45).map(nested)), max_size=4)
    ).items():
        found = [kv for kv in attributes if kv.key == key]
        kv = found[0] if found and not draw(st.booleans()) else attributes.add()
        kv.key = key
        kv.value.Clear()
        if isinstance(value, AnyValue):
            kv.value.CopyFrom(value)
        else:
            _set(kv.value, value)


@st.composite
def genai_requests(draw: st.DrawFn) -> ExportTraceServiceRequest:
    """One export: GenAI spans of our own and other emitters, each mutated at random."""
    bases = [
        S.ours_openai(S.OpenAICall()),
        S.ours_anthropic(S.AnthropicCall()),
        S.openllmetry_openai(S.OpenAICall(), legacy=True),
        S.openinference_openai(S.OpenAICall(), cost=0.004),
        S.openlit_anthropic(S.AnthropicCall(), cost=0.0034602),
        S.http_span(),
    ]
    specs = []
    for _ in range(draw(st.integers(1, 4))):
        changes: dict[str, Any] = {
            "trace_id": draw(st.binary(min_size=16, max_size=16)),
            "span_id": draw(st.binary(min_size=8, max_size=8)),
        }
        if draw(st.integers(0, 3)) == 0:
            changes.update(trace_id=draw(IDS), span_id=draw(IDS))
        clock = draw(st.sampled_from(["sane", "sane", "broken end", "broken"]))
        if clock == "broken end":  # a good start keeps the span alive until the end is read
            changes.update(end_ns=draw(st.one_of(UINT64, st.just(2**64 - 1), st.just(0))))
        elif clock == "broken":
            changes.update(start_ns=draw(UINT64), end_ns=draw(UINT64))
        specs.append(draw(st.sampled_from(bases)).but(**changes))
    request = S.request(specs)
    for resource_spans in request.resource_spans:
        _mutate(draw, resource_spans.resource.attributes, st.sampled_from(sorted(RESOURCE_KEYS)))
        for span in (s for ss in resource_spans.scope_spans for s in ss.spans):
            _mutate(draw, span.attributes, KEYS)
            if draw(st.integers(0, 3)) == 0:
                span.status.code = draw(st.integers(0, 2**31 - 1))  # type: ignore[assignment]  # open enums
                span.kind = draw(st.integers(0, 2**31 - 1))  # type: ignore[assignment]
    return request


def to_otlp_json(request: ExportTraceServiceRequest) -> bytes:
    """The OTLP/JSON encoding: proto3 JSON with trace and span ids in hex."""
    data = json_format.MessageToDict(request)
    for rs in data.get("resourceSpans", []):
        for ss in rs.get("scopeSpans", []):
            for span in ss.get("spans", []):
                for field in ("traceId", "spanId", "parentSpanId"):
                    if field in span:
                        span[field] = base64.b64decode(span[field]).hex()
    return json.dumps(data).encode()


# Arbitrary JSON documents, and OTLP-shaped ones with values of the wrong type in every slot.
JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
SLOT_NAMES = [
    "resourceSpans", "scopeSpans", "spans", "traceId", "spanId", "attributes", "key", "value",
    "stringValue", "intValue", "doubleValue", "arrayValue", "values", "startTimeUnixNano", "name",
    "endTimeUnixNano", "status", "code", "resource", "scope", "kvlistValue", "links", "events",
]  # fmt: skip
OTLP_JSON_SHAPED = st.recursive(
    JSON_VALUES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(SLOT_NAMES), inner, max_size=5)
    ),
    max_leaves=30,
).map(lambda doc: {"resourceSpans": doc if isinstance(doc, list) else [doc]})
