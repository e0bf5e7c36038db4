"""OTLP trace requests: parsing (protobuf, JSON), cheap attribute reads, GenAI span recognition
and cost enrichment.

Decoding with the upb backend is fast; what costs is Python touching each ``KeyValue`` (every
access builds a wrapper object, ~5,000 instructions per attribute). So a span is read in one pass
that fetches every key but decodes only the values in ``SPAN_KEYS`` — prompt and completion
text, which can be megabytes, is never copied — and whether the span is a GenAI call is decided
from that small dict. A separate prefix scan (:func:`has_genai_keys`) would fetch the keys twice.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final

from google.protobuf import json_format  # type: ignore[import-untyped]
from google.protobuf.message import DecodeError  # type: ignore[import-untyped]
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from otel_llmcost import semconv as sc
from otel_llmcost.pricing import STANDARD_TIER, Cost
from otel_llmcost.usage import has_usage_attributes

__all__ = [
    "GENAI_KEY_PREFIXES",
    "RESOURCE_KEYS",
    "SPAN_KEYS",
    "any_value",
    "attributes_dict",
    "enrich_span",
    "has_genai_keys",
    "is_genai_call",
    "iter_spans",
    "operation_name",
    "parse_json_request",
    "parse_protobuf_request",
    "read_attributes",
    "set_any_value",
]

#: Attribute-key prefixes of every GenAI emitter we read (semconv, OpenLLMetry, OpenInference).
GENAI_KEY_PREFIXES = ("gen_ai.", "llm.", "openinference.")

# OTLP/JSON writes these bytes fields as hex (not proto3-JSON base64). Both spellings are accepted
# because ParseDict accepts both (the spec mandates lowerCamelCase).
_SPAN_ID_FIELDS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")
_LINK_ID_FIELDS = ("traceId", "spanId", "trace_id", "span_id")
_SCALAR_KINDS = frozenset({"bool_value", "int_value", "double_value"})


def any_value(value: AnyValue) -> Any:
    """The Python value of an ``AnyValue``: str, bool, int, float, bytes, tuple, dict or None."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return tuple(any_value(v) for v in value.array_value.values)
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, kind)


def read_attributes(attributes: Iterable[KeyValue], wanted: Mapping[str, str]) -> dict[str, Any]:
    """The attributes whose keys are in ``wanted``, as Python values; all others stay undecoded.

    ``wanted`` maps a key to the ``AnyValue`` field it is expected in (``"int_value"`` …) or ``""``.
    The hint saves a ``WhichOneof`` call; a falsy read falls back to the full decode, so a token
    count sent as a double or a string still reads. A ``"string_value"`` key always yields a
    ``str``: scalars of another type are converted, arrays and maps dropped. Empty values are
    left out, as if the attribute were absent.
    """
    out: dict[str, Any] = {}
    for kv in attributes:
        key = kv.key
        hint = wanted.get(key)
        if hint is None:
            continue
        value = kv.value
        if hint:
            if hint == "array_value":
                # The usual one finish reason without the recursive any_value(): a non-empty
                # string_value means that is the element's kind. Other arrays, and a value that
                # is no array (so has no elements here), take the full decode.
                items = value.array_value.values
                if len(items) == 1:
                    first = items[0].string_value
                    if first:
                        out[key] = (first,)
                        continue
            else:
                fast = getattr(value, hint)
                if fast:
                    out[key] = fast
                    continue
        kind = value.WhichOneof("value")
        if kind is None:
            continue
        if hint == "string_value":
            if kind in _SCALAR_KINDS:
                out[key] = str(getattr(value, kind))
        elif kind == "array_value" or kind == "kvlist_value":
            out[key] = any_value(value)
        else:
            out[key] = getattr(value, kind)
    return out


def attributes_dict(attributes: Iterable[KeyValue]) -> dict[str, Any]:
    """Every attribute as a Python value (the slow, complete read; for tests and debugging)."""
    return {kv.key: any_value(kv.value) for kv in attributes}


def has_genai_keys(attributes: Iterable[KeyValue]) -> bool:
    """Whether any attribute key has a GenAI emitter's prefix: a key-only scan, no values."""
    prefixes = GENAI_KEY_PREFIXES
    return any(kv.key.startswith(prefixes) for kv in attributes)


def set_any_value(target: AnyValue, value: str | bool | int | float) -> None:
    """Overwrite ``target`` with a scalar (bool before int: ``True`` is an ``int`` in Python)."""
    if isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, int):
        target.int_value = value
    elif isinstance(value, float):
        target.double_value = value
    else:
        target.string_value = value


_COST_KEYS = frozenset({
    sc.GEN_AI_USAGE_COST_AMOUNT, sc.GEN_AI_USAGE_COST_CURRENCY, sc.GEN_AI_USAGE_COST_SOURCE,
    sc.LLMCOST_COST_INPUT, sc.LLMCOST_COST_OUTPUT, sc.LLMCOST_COST_CACHE_READ, sc.LLMCOST_COST_CACHE_WRITE,
    sc.LLMCOST_COST_REASONING, sc.LLMCOST_COST_REQUEST_FEES, sc.LLMCOST_PRICING_MODEL, sc.LLMCOST_PRICING_VERSION,
    sc.LLMCOST_PRICING_TIER, sc.LLMCOST_PRICING_LONG_CONTEXT,
})  # fmt: skip
_UNPRICED_KEYS = frozenset({sc.LLMCOST_COST_UNPRICED})


def enrich_span(span: Span, cost: Cost | None) -> None:
    """Write our cost onto ``span`` (``llmcost.cost.unpriced`` when ``cost`` is ``None``).

    The collector's price is authoritative: cost attributes the span already had (from an
    in-process agent with another catalog) are replaced or removed, never duplicated — OTLP
    attribute keys must be unique.
    """
    values: dict[str, str | bool | int | float]
    if cost is None:
        values, stale = {sc.LLMCOST_COST_UNPRICED: True}, _COST_KEYS
    else:
        # The attribute set our in-process agent writes (LLMCall._price): nonzero parts only.
        values = {
            sc.GEN_AI_USAGE_COST_AMOUNT: float(cost.total),
            sc.GEN_AI_USAGE_COST_CURRENCY: sc.COST_CURRENCY_USD,
            sc.GEN_AI_USAGE_COST_SOURCE: sc.COST_SOURCE_LOCAL,
            sc.LLMCOST_COST_INPUT: float(cost.input),
            sc.LLMCOST_COST_OUTPUT: float(cost.output),
            sc.LLMCOST_PRICING_MODEL: cost.model,
            sc.LLMCOST_PRICING_VERSION: cost.price_version,
        }
        for key, amount in (
            (sc.LLMCOST_COST_CACHE_READ, cost.cache_read),
            (sc.LLMCOST_COST_CACHE_WRITE, cost.cache_write),
            (sc.LLMCOST_COST_REASONING, cost.reasoning),
            (sc.LLMCOST_COST_REQUEST_FEES, cost.request_fees),
        ):
            if amount:
                values[key] = float(amount)
        if cost.service_tier != STANDARD_TIER:
            values[sc.LLMCOST_PRICING_TIER] = cost.service_tier
        if cost.long_context_threshold is not None:
            values[sc.LLMCOST_PRICING_LONG_CONTEXT] = cost.long_context_threshold
        stale = _UNPRICED_KEYS | (_COST_KEYS - values.keys())
    attributes = span.attributes
    for index in range(len(attributes) - 1, -1, -1):  # backwards: deleting keeps earlier indexes
        kv = attributes[index]
        key = kv.key
        if key in values:
            kv.value.Clear()
            set_any_value(kv.value, values.pop(key))
        elif key in stale:
            del attributes[index]
    for key, value in values.items():
        kv = attributes.add()
        kv.key = key
        set_any_value(kv.value, value)


def iter_spans(request: ExportTraceServiceRequest) -> Iterator[tuple[ResourceSpans, ScopeSpans, Span]]:
    """Every span of ``request`` with its resource and scope groups."""
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                yield resource_spans, scope_spans, span


def parse_protobuf_request(body: bytes) -> ExportTraceServiceRequest:
    """An OTLP/protobuf body; ``ValueError`` when it is not a valid ``ExportTraceServiceRequest``."""
    try:
        request: ExportTraceServiceRequest = ExportTraceServiceRequest.FromString(body)
    except DecodeError as err:
        raise ValueError(f"malformed OTLP protobuf: {err}") from None
    return request


def _hex_to_base64(container: dict[str, Any], fields: tuple[str, ...], where: str) -> None:
    for field in fields:
        value = container.get(field)
        if value is None:
            continue
        if not isinstance(value, str):
            raise ValueError(f"malformed OTLP JSON: {where}.{field} must be a hex string, got {value!r}")
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raise ValueError(f"malformed OTLP JSON: {where}.{field} is not hex: {value!r}") from None
        container[field] = base64.b64encode(raw).decode("ascii")


def _objects(container: dict[str, Any], *names: str) -> list[Any]:
    for name in names:
        value = container.get(name)
        if value is not None:
            if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
                raise ValueError(f"malformed OTLP JSON: {name} must be a list of objects")
            return value
    return []


def parse_json_request(body: bytes) -> ExportTraceServiceRequest:
    """An OTLP/JSON body (ids in hex, per the OTLP JSON encoding); ``ValueError`` when malformed.

    Unknown fields are ignored, as the OTLP specification requires of receivers.
    """
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"malformed OTLP JSON: {err}") from None
    except RecursionError:  # a few kilobytes of brackets; the protobuf decoder has its own limit
        raise ValueError("malformed OTLP JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise ValueError("malformed OTLP JSON: the body must be a JSON object")
    for r, resource_spans in enumerate(_objects(data, "resourceSpans", "resource_spans")):
        for s, scope_spans in enumerate(_objects(resource_spans, "scopeSpans", "scope_spans")):
            for i, span in enumerate(_objects(scope_spans, "spans")):
                where = f"resourceSpans[{r}].scopeSpans[{s}].spans[{i}]"
                _hex_to_base64(span, _SPAN_ID_FIELDS, where)
                for j, link in enumerate(_objects(span, "links")):
                    _hex_to_base64(link, _LINK_ID_FIELDS, f"{where}.links[{j}]")
    request: ExportTraceServiceRequest = ExportTraceServiceRequest()
    try:
        json_format.ParseDict(data, request, ignore_unknown_fields=True)
    except (json_format.ParseError, binascii.Error, TypeError, ValueError) as err:
        raise ValueError(f"malformed OTLP JSON: {err}") from None
    except RecursionError:
        raise ValueError("malformed OTLP JSON: nested too deeply") from None
    return request


# --- GenAI span recognition ---------------------------------------------------------------------
# Only these keys are ever decoded: prompt and completion text, and whatever else a span carries,
# stay bytes. _USAGE_KEYS are the names usage.from_attributes reads (a test keeps them in step).
_USAGE_KEYS = (
    sc.GEN_AI_USAGE_INPUT_TOKENS, sc.OPENLLMETRY_PROMPT_TOKENS, sc.LLM_USAGE_PROMPT_TOKENS, sc.OPENINFERENCE_PROMPT,
    sc.GEN_AI_USAGE_OUTPUT_TOKENS, sc.OPENLLMETRY_COMPLETION_TOKENS, sc.LLM_USAGE_COMPLETION_TOKENS,
    sc.OPENINFERENCE_COMPLETION, sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, sc.OPENLLMETRY_CACHE_READ_INPUT_TOKENS,
    sc.LLM_USAGE_CACHE_READ_INPUT_TOKENS, sc.OPENINFERENCE_CACHE_READ, sc.OPENLIT_CACHE_READ,
    sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS, sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
    sc.OPENLLMETRY_CACHE_CREATION_INPUT_TOKENS, sc.LLM_USAGE_CACHE_CREATION_INPUT_TOKENS, sc.OPENINFERENCE_CACHE_WRITE,
    sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, sc.OPENLLMETRY_REASONING_TOKENS, sc.OPENINFERENCE_REASONING,
    sc.OPENLIT_REASONING_TOKENS, sc.LLM_USAGE_REASONING_TOKENS, sc.LLMCOST_USAGE_CACHE_WRITE_1H,
    sc.ANTHROPIC_CACHE_WRITE_1H, sc.ANTHROPIC_CACHE_WRITE_5M, sc.LLMCOST_USAGE_INPUT_AUDIO,
    sc.OPENINFERENCE_PROMPT_AUDIO, sc.LLMCOST_USAGE_OUTPUT_AUDIO, sc.OPENINFERENCE_COMPLETION_AUDIO,
    sc.LLMCOST_USAGE_WEB_SEARCH, sc.GEN_AI_REQUEST_MAX_TOKENS,
)  # fmt: skip
# Flags, and costs as the emitters write them: the hint is only a first guess (see read_attributes).
_BOOL_KEYS = (
    sc.LLMCOST_USAGE_ESTIMATED, sc.LLMCOST_STREAMING, sc.GEN_AI_REQUEST_STREAM, sc.OPENLLMETRY_IS_STREAMING,
    sc.LLM_IS_STREAMING,
)  # fmt: skip
_DOUBLE_KEYS = (sc.GEN_AI_USAGE_COST_AMOUNT, sc.OPENLIT_COST, sc.OPENINFERENCE_COST_TOTAL)
_ARRAY_KEYS = (sc.GEN_AI_RESPONSE_FINISH_REASONS,)
_RESOURCE_KEYS = (
    sc.SERVICE_NAME, sc.DEPLOYMENT_ENVIRONMENT_NAME, sc.DEPLOYMENT_ENVIRONMENT, sc.K8S_NAMESPACE_NAME,
    sc.K8S_POD_NAME, *sc.ATTRIBUTION_KEYS.values(),
)  # fmt: skip
_STRING_KEYS = (
    sc.GEN_AI_OPERATION_NAME, sc.GEN_AI_PROVIDER_NAME, sc.GEN_AI_SYSTEM, sc.GEN_AI_REQUEST_MODEL,
    sc.GEN_AI_RESPONSE_MODEL, sc.GEN_AI_RESPONSE_ID, sc.OPENINFERENCE_SPAN_KIND, sc.OPENINFERENCE_MODEL_NAME,
    sc.OPENINFERENCE_PROVIDER, sc.OPENINFERENCE_SYSTEM, sc.LLM_REQUEST_TYPE, sc.ERROR_TYPE,
    sc.LLMCOST_PROMPT_FINGERPRINT, sc.GEN_AI_OPENAI_RESPONSE_SERVICE_TIER, sc.ANTHROPIC_SERVICE_TIER,
    sc.GEN_AI_OPENAI_RESPONSE_SERVICE_TIER_DEPRECATED, sc.GEN_AI_REQUEST_SERVICE_TIER, sc.ANTHROPIC_STOP_REASON,
    sc.GEN_AI_OPENAI_REQUEST_SERVICE_TIER, *_RESOURCE_KEYS,
)  # fmt: skip
#: Span attribute -> AnyValue field hint, for :func:`read_attributes`: every key normalization reads.
SPAN_KEYS: Final = {
    **dict.fromkeys(_USAGE_KEYS, "int_value"),
    **dict.fromkeys(_BOOL_KEYS, "bool_value"),
    **dict.fromkeys(_DOUBLE_KEYS, "double_value"),
    **dict.fromkeys(_ARRAY_KEYS, "array_value"),
    **dict.fromkeys(_STRING_KEYS, "string_value"),
}
#: The resource attributes normalization reads (service, environment, Kubernetes, attribution).
RESOURCE_KEYS: Final = dict.fromkeys(_RESOURCE_KEYS, "string_value")

_AGGREGATE_OPERATIONS = frozenset(
    {sc.OP_INVOKE_AGENT, sc.OP_CREATE_AGENT, sc.OP_INVOKE_WORKFLOW, sc.OP_EXECUTE_TOOL, sc.OP_EXECUTE_TASK}
)
_OPENINFERENCE_CALLS = {
    sc.OPENINFERENCE_KIND_LLM: sc.OP_CHAT,
    sc.OPENINFERENCE_KIND_EMBEDDING: sc.OP_EMBEDDINGS,
}
# OpenLLMetry's llm.request.type values, and the singular some emitters use.
_OPERATION_ALIASES = {"completion": sc.OP_TEXT_COMPLETION, "embedding": sc.OP_EMBEDDINGS}


def is_genai_call(attrs: Mapping[str, Any]) -> bool:
    """Whether decoded span attributes (``SPAN_KEYS``) describe one model call, by any emitter."""
    operation = attrs.get(sc.GEN_AI_OPERATION_NAME)
    if operation.__class__ is str and operation in _AGGREGATE_OPERATIONS:
        return False  # agent/workflow spans may sum their children's usage: never bill them
    kind = attrs.get(sc.OPENINFERENCE_SPAN_KIND)
    if kind is not None:
        return kind in _OPENINFERENCE_CALLS  # CHAIN, AGENT … spans are not model calls
    return (
        operation is not None
        or sc.GEN_AI_PROVIDER_NAME in attrs
        or sc.GEN_AI_SYSTEM in attrs
        or sc.LLM_REQUEST_TYPE in attrs
        or has_usage_attributes(attrs)
    )


def operation_name(attrs: Mapping[str, Any]) -> str | None:
    """``gen_ai.operation.name`` in semconv terms, from whichever emitter's attribute is present."""
    operation = attrs.get(sc.GEN_AI_OPERATION_NAME) or attrs.get(sc.LLM_REQUEST_TYPE)
    if operation is None:
        return _OPENINFERENCE_CALLS.get(attrs.get(sc.OPENINFERENCE_SPAN_KIND))  # type: ignore[arg-type]
    return _OPERATION_ALIASES.get(operation, operation)  # type: ignore[no-any-return]
