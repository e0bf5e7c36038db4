"""From OTLP spans of any GenAI emitter to priced :class:`LedgerRecord` rows.

Recognised emitters: ours, GenAI semconv (latest and ``gen_ai.system``-era), OpenLLMetry,
OpenLIT, OpenInference and the anthropic SDK's own spans. Token conventions are read only through
:func:`otel_llmcost.usage.from_attributes` (or ``usage_counts``, its exact fast path); the cost is
always ours, from the catalog — an emitter's own figure is kept as ``reported_cost_nanos`` and
only compared. Rows are priced in integers (``Pricer.price_nanos``), to the same nano-dollar.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation, getcontext
from typing import Any, Final

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from otel_llmcost import semconv as sc
from otel_llmcost.collector._counts import usage_counts
from otel_llmcost.collector._otlp import (
    RESOURCE_KEYS,
    SPAN_KEYS,
    enrich_span,
    is_genai_call,
    operation_name,
    read_attributes,
)
from otel_llmcost.exceptions import InvalidUsageError
from otel_llmcost.ledger._model import MAX_KEY_CHARS, LedgerRecord, fit_key
from otel_llmcost.pricing import Cost, ModelEntry, Pricer, normalize_provider, to_nanos
from otel_llmcost.pricing import cost_nanos as _cost_nanos
from otel_llmcost.usage import Usage, UsageCounts

__all__ = [
    "MAX_KEY_CHARS", "REJECTION_REASONS", "REJECT_BAD_SPAN_ID", "REJECT_BAD_TIMESTAMP", "REJECT_DUPLICATE_CALL",
    "REJECT_MALFORMED_SPAN", "REJECT_MISSING_MODEL", "STATUS_ERROR", "STATUS_OK", "UNKNOWN", "BatchResult",
    "Normalizer", "fit_key", "is_discrepant",
]  # fmt: skip

_logger = logging.getLogger(__name__)

# Rejection reasons (the `reason` label of llmcost_collector_spans_rejected_total). Usage errors
# add InvalidUsageError.reason: negative_tokens, absurd_tokens, not_integer, inconsistent_tokens.
REJECT_BAD_SPAN_ID: Final = "bad_span_id"  # trace or span id empty, all zero or of the wrong length
REJECT_BAD_TIMESTAMP: Final = "bad_timestamp"  # no start, one over a day after ingestion, or end < start
REJECT_MISSING_MODEL: Final = "missing_model"  # a call with neither a request nor a response model
REJECT_DUPLICATE_CALL: Final = "duplicate_call"  # a second emitter's span of a call already kept
REJECT_MALFORMED_SPAN: Final = "malformed_span"  # anything else that made the span unreadable
REJECTION_REASONS: Final = (
    REJECT_BAD_SPAN_ID, REJECT_BAD_TIMESTAMP, REJECT_MISSING_MODEL, REJECT_DUPLICATE_CALL, REJECT_MALFORMED_SPAN,
    "negative_tokens", "absurd_tokens", "not_integer", "inconsistent_tokens",
)  # fmt: skip
STATUS_OK: Final = "ok"
STATUS_ERROR: Final = "error"
UNKNOWN: Final = "unknown"  # the provider or operation when no attribute names one

_NS_PER_DAY = 86_400 * 1_000_000_000
_INT64_MAX = 2**63 - 1  # both ledger engines store integers as signed 64-bit: anything larger fails the write
_ZERO_TRACE_ID = bytes(16)
_ZERO_SPAN_ID = bytes(8)
_NO_USAGE = Usage()
_NO_COUNTS: UsageCounts = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, False)  # Usage()'s fields
_NO_NANOS = (0, 0, 0, 0, 0, 0, 0)
_STATUS_ERROR = Status.STATUS_CODE_ERROR
_DISCREPANCY_FLOOR_NANOS = 1_000  # $0.000001
_POW10: tuple[int, ...] = tuple(10**n for n in range(10))
_DECIMAL_DIGITS = 28  # Decimal's default precision: exact for any float's repr (17 digits) times 1e9

# Span-level overrides of what the resource says, and other attributes most spans lack: one
# C-level isdisjoint() instead of a dict lookup per key.
_SPAN_LEVEL = frozenset({
    sc.SERVICE_NAME, sc.DEPLOYMENT_ENVIRONMENT_NAME, sc.DEPLOYMENT_ENVIRONMENT, sc.K8S_NAMESPACE_NAME,
    sc.K8S_POD_NAME, *sc.ATTRIBUTION_KEYS.values(),
})  # fmt: skip
_STREAM_KEYS = frozenset(
    {sc.LLMCOST_STREAMING, sc.GEN_AI_REQUEST_STREAM, sc.OPENLLMETRY_IS_STREAMING, sc.LLM_IS_STREAMING}
)

# The values Normalizer._call supplies, in the order it passes them.
_RECORD_FIELDS = (
    "trace_id", "span_id", "start_ns", "end_ns", "provider", "operation", "request_model", "response_model",
    "response_id", "pricing_model", "price_version", "priced", "service_tier", "input_tokens", "cache_read_tokens",
    "cache_write_5m_tokens", "cache_write_1h_tokens", "output_tokens", "reasoning_tokens", "input_audio_tokens",
    "output_audio_tokens", "web_search_requests", "usage_estimated", "cost_nanos", "cost_input_nanos",
    "cost_output_nanos", "cost_cache_read_nanos", "cost_cache_write_nanos", "cost_reasoning_nanos",
    "cost_fees_nanos", "reported_cost_nanos", "status", "error_type", "finish_reason", "max_tokens", "streaming",
    "service", "environment", "namespace", "pod", "team", "project", "user", "feature", "thread", "run",
    "prompt_fingerprint", "ingested_ns",
)  # fmt: skip


def _record_factory(names: tuple[str, ...]) -> Callable[..., LedgerRecord]:
    """``f(*values)`` = ``LedgerRecord(**dict(zip(names, values)))``, at the price of a positional call.

    Matching 48 keywords costs ~2.5 µs a span, more than all our own logic; so, as dataclasses
    do, generate the call once: our values in ``names`` order, LedgerRecord's fields by position
    up to the first one we do not supply (it keeps its default), by keyword after it. A field
    the ledger renames or drops fails here, at import, never as a value in the wrong column.
    """
    order = LedgerRecord.field_names()
    unknown = sorted(set(names) - set(order))
    if unknown:  # pragma: no cover - guards a future ledger change
        raise ImportError(f"LedgerRecord has no field(s) {unknown}: update otel_llmcost.collector._normalize")
    arguments: list[str] = []
    positional = True
    for name in order:
        positional = positional and name in names
        if positional:
            arguments.append(name)
        elif name in names:
            arguments.append(f"{name}={name}")
    source = f"def make({', '.join(names)}):\n    return LedgerRecord({', '.join(arguments)})\n"
    namespace: dict[str, Any] = {"LedgerRecord": LedgerRecord}
    exec(source, namespace)  # trusted source: field names of our own dataclass
    make: Callable[..., LedgerRecord] = namespace["make"]
    return make


_new_record = _record_factory(_RECORD_FIELDS)


@dataclass(slots=True)
class BatchResult:
    """What one export request yielded. ``records`` are in span order, duplicates removed."""

    records: list[LedgerRecord] = field(default_factory=list)
    total_spans: int = 0
    genai_spans: int = 0
    """Spans recognised as GenAI calls (recorded, rejected, or carrying neither usage nor error)."""
    rejected: Counter[str] = field(default_factory=Counter)
    discrepancies: int = 0
    unpriced: int = 0


def is_discrepant(cost_nanos: int, reported_nanos: int) -> bool:
    """Whether an emitter's reported cost differs from ours by more than max($0.000001, 1%)."""
    diff = abs(reported_nanos - cost_nanos)
    return diff > _DISCREPANCY_FLOOR_NANOS and diff * 100 > abs(cost_nanos)


def _float_nanos(value: float) -> int | None:
    """``to_nanos(Decimal(repr(value)))`` in integers (``None`` for inf and nan, as Decimal's
    is_finite() says): the digits of the shortest repr, scaled, banker's-rounded. Both are
    exact (a repr has at most 17 digits, 27 once scaled: within the default 28-digit decimal
    context), so they agree; a test holds them equal."""
    text = repr(value)
    whole, dot, fraction = text.partition(".")
    if dot and len(fraction) <= 9 and "e" not in fraction:  # 0.00075: whole nano-dollars
        return int(whole + fraction) * _POW10[9 - len(fraction)]
    mantissa, _, exponent = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    try:
        digits = int(whole + fraction)
    except ValueError:  # inf, nan
        return None
    shift = 9 - len(fraction) + (int(exponent) if exponent else 0)
    scale: int = 10 ** abs(shift)
    if shift >= 0:
        return digits * scale
    nanos, rest = divmod(abs(digits), scale)
    if rest * 2 > scale or (rest * 2 == scale and nanos & 1):
        nanos += 1
    return -nanos if digits < 0 else nanos


def _money_nanos(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if value.__class__ is float and getcontext().prec >= _DECIMAL_DIGITS:  # the usual reported cost
        nanos = _float_nanos(value)
        return nanos if nanos is not None and -_INT64_MAX <= nanos <= _INT64_MAX else None
    try:
        # repr() of a float is its shortest round-trip decimal: 0.00045 stays 0.00045.
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
        nanos = to_nanos(amount) if amount.is_finite() else None
    except (InvalidOperation, ValueError):
        return None
    # An absurd figure would fail the whole ledger write (and every export batched with it).
    return nanos if nanos is not None and -_INT64_MAX <= nanos <= _INT64_MAX else None


def _resource_defaults(resource: Mapping[str, str]) -> tuple[str | None, ...]:
    """service, environment, namespace, pod and the attribution fields a resource gives its spans."""
    get = resource.get
    environment = get(sc.DEPLOYMENT_ENVIRONMENT_NAME) or get(sc.DEPLOYMENT_ENVIRONMENT)
    values = (
        get(sc.SERVICE_NAME), environment, get(sc.K8S_NAMESPACE_NAME), get(sc.K8S_POD_NAME),
        *(get(key) for key in sc.ATTRIBUTION_KEYS.values()),
    )  # fmt: skip
    return tuple(map(fit_key, values))  # once a resource, not a span


# A kept call: its record, span and Cost (for enrich), the (trace, response id) that identifies
# it across emitters, and its rank among them. A tuple: a class instance cost ~0.4 µs a span.
_Call = tuple[LedgerRecord, Span, Cost | None, tuple[str, str] | None, int]
_KEY: Final = 3
_RANK: Final = 4


class Normalizer:
    """Turns OTLP trace requests into ledger rows. Never raises on span content; one instance per
    pipeline thread (the small caches inside are not locked)."""

    def __init__(self, pricer: Pricer, *, now_ns: Callable[[], int] = time.time_ns) -> None:
        self.pricer = pricer
        self._now_ns = now_ns
        self._providers: dict[str, str | None] = {}
        self._days: dict[int, datetime] = {}
        self._entries: dict[tuple[str | None, str | None, str | None], ModelEntry | None] = {}
        self._entries_pricer = pricer

    def process(self, request: ExportTraceServiceRequest, *, enrich: bool = False) -> BatchResult:
        """One :class:`LedgerRecord` per GenAI call span with usage or an error.

        With ``enrich`` the kept spans of ``request`` get our cost attributes, in place, for
        forwarding downstream.
        """
        result = BatchResult()
        rejected = result.rejected
        ingested_ns = self._now_ns()
        if self._entries_pricer is not self.pricer:  # resolved entries are the old pricer's
            self._entries.clear()
            self._entries_pricer = self.pricer
        kept: list[_Call] = []
        by_call: dict[tuple[str, str], int] = {}
        for resource_spans in request.resource_spans:
            resource = _resource_defaults(read_attributes(resource_spans.resource.attributes, RESOURCE_KEYS))
            for scope_spans in resource_spans.scope_spans:
                scope = scope_spans.scope.name
                spans = scope_spans.spans
                result.total_spans += len(spans)
                for span in spans:
                    try:
                        attrs = read_attributes(span.attributes, SPAN_KEYS)
                        if not is_genai_call(attrs):
                            continue
                        result.genai_spans += 1
                        call = self._call(span, attrs, scope, resource, ingested_ns, enrich)
                    except InvalidUsageError as err:
                        rejected[err.reason] += 1
                        continue
                    except Exception:
                        _logger.debug("otel-llmcost: unreadable span", exc_info=True)
                        rejected[REJECT_MALFORMED_SPAN] += 1
                        continue
                    if call is None:
                        continue
                    if isinstance(call, str):
                        rejected[call] += 1
                        continue
                    key = call[_KEY]
                    if key is not None:
                        prior = by_call.get(key)
                        if prior is not None:
                            # One call seen by two emitters: keep ours, then the attributed one.
                            rejected[REJECT_DUPLICATE_CALL] += 1
                            if call[_RANK] > kept[prior][_RANK]:
                                kept[prior] = call
                            continue
                        by_call[key] = len(kept)
                    kept.append(call)
        records = result.records
        for record, span, cost, _, _ in kept:
            records.append(record)
            if not record.priced:
                result.unpriced += 1
            elif record.reported_cost_nanos is not None and is_discrepant(
                record.cost_nanos, record.reported_cost_nanos
            ):
                result.discrepancies += 1
            if enrich:
                enrich_span(span, cost)
        return result

    def _provider(self, raw: Any) -> str | None:
        if raw is None:
            return None
        if raw.__class__ is not str:
            raw = str(raw)
        try:
            return self._providers[raw]
        except KeyError:
            if len(self._providers) > 1024:  # bounded: the names come from untrusted spans
                self._providers.clear()
            provider = self._providers[raw] = fit_key(normalize_provider(raw))
            return provider

    def _resolve(self, models: tuple[str | None, str | None, str | None]) -> ModelEntry | None:
        # The entry of (response model, request model, provider): one lookup a span, not a
        # resolve per name. Bounded: the names come from untrusted spans.
        if len(self._entries) > 4096:
            self._entries.clear()
        response_model, request_model, provider = models
        entry = self._entries[models] = self.pricer.resolve_first((response_model, request_model), provider)
        return entry

    def _day(self, start_ns: int) -> datetime | None:
        # Prices change by the day (UTC): one datetime per day, not one per span.
        day = start_ns // _NS_PER_DAY
        at = self._days.get(day)
        if at is None:
            try:
                at = datetime.fromtimestamp(day * 86_400, tz=timezone.utc)
            except (OverflowError, ValueError, OSError):
                return None
            if len(self._days) > 64:
                self._days.clear()
            self._days[day] = at
        return at

    def _call(
        self,
        span: Span,
        attrs: dict[str, Any],
        scope: str,
        resource: tuple[str | None, ...],
        ingested_ns: int,
        enrich: bool,
    ) -> _Call | str | None:
        """The span's call, a rejection reason, or ``None`` when it has neither usage nor error.

        Every string-valued key of ``attrs`` holds a non-empty ``str`` (see ``read_attributes``).
        The ``Cost`` is only priced for ``enrich``; the row's figures come from
        ``Pricer.price_nanos``, which gives the same nano-dollars at a fraction of the work.
        """
        get = attrs.get
        trace_id, span_id = span.trace_id, span.span_id
        if len(trace_id) != 16 or len(span_id) != 8 or trace_id == _ZERO_TRACE_ID or span_id == _ZERO_SPAN_ID:
            return REJECT_BAD_SPAN_ID
        start_ns = span.start_time_unix_nano
        # A start over a day ahead of our clock is a broken clock: its price day and budget
        # window would be fiction.
        at = self._day(start_ns) if 0 < start_ns <= ingested_ns + _NS_PER_DAY else None
        end_ns = span.end_time_unix_nano
        # An end before the start is a negative duration (a histogram must never observe one);
        # past int64 (a fixed64 goes to 2**64 - 1) it would fail the ledger write.
        if at is None or not start_ns <= end_ns <= _INT64_MAX:
            return REJECT_BAD_TIMESTAMP
        provider = self._provider(
            get(sc.GEN_AI_PROVIDER_NAME)
            or get(sc.GEN_AI_SYSTEM)
            or get(sc.OPENINFERENCE_PROVIDER)
            or get(sc.OPENINFERENCE_SYSTEM)
        )
        counts = usage_counts(attrs, provider, scope)  # the fields of usage.from_attributes()
        # HasField first: most spans carry no status, and reading one builds a message wrapper.
        error = (span.HasField("status") and span.status.code == _STATUS_ERROR) or sc.ERROR_TYPE in attrs
        operation = operation_name(attrs)
        if counts is None and not (error and operation):
            return None  # nothing billed and nothing failed: not a row
        request_model = get(sc.GEN_AI_REQUEST_MODEL)
        response_model = get(sc.GEN_AI_RESPONSE_MODEL) or get(sc.OPENINFERENCE_MODEL_NAME)
        if request_model is None and response_model is None:
            return REJECT_MISSING_MODEL
        pricer = self.pricer
        models = (response_model, request_model, provider)
        try:
            entry = self._entries[models]
        except KeyError:
            entry = self._resolve(models)
        # The tier the response says was used; the requested one only when none is reported.
        tier = (
            get(sc.GEN_AI_OPENAI_RESPONSE_SERVICE_TIER)
            or get(sc.ANTHROPIC_SERVICE_TIER)
            or get(sc.GEN_AI_OPENAI_RESPONSE_SERVICE_TIER_DEPRECATED)
            or get(sc.GEN_AI_REQUEST_SERVICE_TIER)
            or get(sc.GEN_AI_OPENAI_REQUEST_SERVICE_TIER)
        )
        cost = None
        priced: tuple[str, str, Sequence[int]] | None = None
        if entry is not None:
            if enrich:
                usage = Usage(*counts) if counts is not None else _NO_USAGE
                cost = pricer.price_entry(entry, usage, at=at, service_tier=tier)
                priced = (cost.model, cost.service_tier, _cost_nanos(cost)) if cost is not None else None
            else:
                priced = pricer.price_nanos(entry, counts or _NO_COUNTS, at=at, service_tier=tier)
        if priced is not None:
            pricing_model, tier, nanos = priced
        else:
            pricing_model, nanos = None, _NO_NANOS
        finish = get(sc.GEN_AI_RESPONSE_FINISH_REASONS)
        if finish is not None:
            if finish.__class__ is tuple:
                finish = finish[0] if finish else None
            if finish is not None and finish.__class__ is not str:
                finish = str(finish)
        max_tokens = get(sc.GEN_AI_REQUEST_MAX_TOKENS)
        if max_tokens.__class__ is float and max_tokens.is_integer():
            max_tokens = int(max_tokens)
        reported = get(sc.GEN_AI_USAGE_COST_AMOUNT)  # attrs hold no None: absent is None
        if reported is None:
            reported = get(sc.OPENLIT_COST)
            if reported is None:
                reported = get(sc.OPENINFERENCE_COST_TOTAL)
        if reported is not None:
            reported = _money_nanos(reported)
        streaming = not _STREAM_KEYS.isdisjoint(attrs) and (
            get(sc.LLMCOST_STREAMING) is True
            or get(sc.GEN_AI_REQUEST_STREAM) is True
            or get(sc.OPENLLMETRY_IS_STREAMING) is True
            or get(sc.LLM_IS_STREAMING) is True
        )
        service, environment, namespace, pod, team, project, user, feature, thread, run = resource
        attributed = False
        if not _SPAN_LEVEL.isdisjoint(attrs):
            # Resource first for where the call ran (some emitters copy it onto spans); the span
            # first for attribution (it carries this request's baggage).
            service = service or get(sc.SERVICE_NAME)
            environment = environment or get(sc.DEPLOYMENT_ENVIRONMENT_NAME) or get(sc.DEPLOYMENT_ENVIRONMENT)
            namespace = namespace or get(sc.K8S_NAMESPACE_NAME)
            pod = pod or get(sc.K8S_POD_NAME)
            span_team = get(sc.LLMCOST_TEAM)
            span_project = get(sc.LLMCOST_PROJECT)
            span_user = get(sc.LLMCOST_USER)
            span_feature = get(sc.LLMCOST_FEATURE)
            span_thread = get(sc.LLMCOST_THREAD)
            span_run = get(sc.LLMCOST_RUN)
            attributed = (
                span_team or span_project or span_user or span_feature or span_thread or span_run
            ) is not None
            team, project, user = span_team or team, span_project or project, span_user or user
            feature, thread, run = span_feature or feature, span_thread or thread, span_run or run
            # The span's own values (the resource's are fitted already); no call in the usual case.
            if attributed and len(team or "") + len(project or "") + len(user or "") > MAX_KEY_CHARS:
                team, project, user = fit_key(team), fit_key(project), fit_key(user)
        inp, cache_read, write_5m, write_1h, out, reasoning, in_audio, out_audio, _, web, estimated = (
            counts or _NO_COUNTS
        )
        trace_hex = trace_id.hex()
        response_id = get(sc.GEN_AI_RESPONSE_ID)
        if response_id is not None and len(response_id) > MAX_KEY_CHARS:
            response_id = fit_key(response_id)
        # _RECORD_FIELDS order, one line per group of LedgerRecord columns.
        record = _new_record(
            trace_hex, span_id.hex(), start_ns, end_ns,
            provider or (entry.provider if entry is not None else UNKNOWN), operation or UNKNOWN,
            request_model, response_model, response_id,
            pricing_model, pricer.version, priced is not None, tier,
            inp, cache_read, write_5m, write_1h, out, reasoning, in_audio, out_audio, web, estimated,
            *nanos, reported,
            STATUS_ERROR if error else STATUS_OK, get(sc.ERROR_TYPE), finish or get(sc.ANTHROPIC_STOP_REASON),
            max_tokens if max_tokens.__class__ is int and 0 < max_tokens <= _INT64_MAX else None, streaming,
            service, environment, namespace, pod, team, project, user, feature, thread, run,
            get(sc.LLMCOST_PROMPT_FINGERPRINT), ingested_ns,
        )  # fmt: skip
        key = (trace_hex, response_id) if response_id is not None else None
        rank = (2 if scope == sc.INSTRUMENTATION_SCOPE else 0) + attributed
        return record, span, cost, key, rank
