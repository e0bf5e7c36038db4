"""One GenAI call in flight: its span, its metrics, its price.

Provider modules describe the request (:class:`Request`), run the SDK call, then report the
response and usage; everything else — span attributes, cost, flags, metrics, the budget
settlement — happens here, once, the same way for every provider. Nothing in this module raises
into the application: faults are logged at debug level and the span still ends.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opentelemetry import baggage
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from otel_llmcost import semconv as sc
from otel_llmcost.instrumentation._fingerprint import fingerprint
from otel_llmcost.pricing import STANDARD_TIER, Cost, ModelEntry, Pricer
from otel_llmcost.usage import Usage, as_counts

if TYPE_CHECKING:
    from otel_llmcost.instrumentation._telemetry import Telemetry

__all__ = ["LLMCall", "Request", "error_type"]

_logger = logging.getLogger(__name__)
_ATTRIBUTION_KEYS = tuple(sc.ATTRIBUTION_KEYS.values())
_TRUNCATION_REASONS = frozenset({"length", "max_tokens", "max_output_tokens", "MAX_TOKENS"})
_FEMTO_PER_USD = 10**15


def error_type(exc: BaseException) -> str:
    """``error.type``: the exception's class name (``RateLimitError``, ``TimeoutError`` …)."""
    return type(exc).__qualname__


@dataclass(slots=True)
class Request:
    """What a provider module knows about a call before it is made."""

    provider: str
    operation: str
    model: str | None
    max_tokens: int | None = None
    stream: bool = False
    server_address: str | None = None
    server_port: int | None = None
    service_tier: str | None = None
    attributes: dict[str, AttributeValue] = field(default_factory=dict)
    input_messages: Callable[[], list[dict[str, Any]]] | None = None
    """Semconv-shaped input messages; called only when content capture is on."""
    prompt_texts: Callable[[], list[str]] | None = None
    """The prompt's texts, for offline token estimates (budget reservations, usage-less streams)."""
    fingerprint_payload: Callable[[], Any] | None = None
    """The JSON-able prompt (messages, system, tools …) the content-free fingerprint hashes."""
    downgradable: bool = True
    """Whether a budget downgrade can change the model (not for raw HTTP bodies)."""


class LLMCall:
    """Records one call. Create through :meth:`Telemetry.start`; end with :meth:`finish` or :meth:`fail`."""

    # Defaults on the class: an instance stores only what its call has (fewer stores per call).
    model_override: str | None = None
    """Set by the budget guard to downgrade; provider modules send this model instead."""
    response_model: str | None = None
    response_id: str | None = None
    finish_reasons: Sequence[str] = ()
    response_service_tier: str | None = None
    usage: Usage | None = None
    error: BaseException | None = None
    error_type: str | None = None
    reservation: Any = None
    _ended = False
    _first_chunk_at: float | None = None
    _cost: Cost | None = None
    _pricing: tuple[Pricer, ModelEntry, Usage, str | None] | None = None
    _cost_usd = 0.0

    def __init__(self, telemetry: Telemetry, request: Request, parent: Context | None = None) -> None:
        """``parent``: the context the call starts in (read once by the caller; default: current)."""
        self.telemetry = telemetry
        self.request = request
        self.budget_alerts: list[str] = []
        self._started = time.perf_counter()
        attributes: dict[str, AttributeValue] = {
            sc.GEN_AI_OPERATION_NAME: request.operation,
            sc.GEN_AI_PROVIDER_NAME: request.provider,
        }
        model = request.model
        if model:
            attributes[sc.GEN_AI_REQUEST_MODEL] = model
        if request.max_tokens is not None:
            attributes[sc.GEN_AI_REQUEST_MAX_TOKENS] = request.max_tokens
        if request.stream:
            attributes[sc.LLMCOST_STREAMING] = True
        if request.server_address:
            attributes[sc.SERVER_ADDRESS] = request.server_address
        if request.server_port:
            attributes[sc.SERVER_PORT] = request.server_port
        if request.service_tier:
            attributes[sc.GEN_AI_REQUEST_SERVICE_TIER] = request.service_tier
        if request.attributes:
            attributes.update(request.attributes)
        entries = baggage.get_all(parent)  # one context lookup for all six attribution keys
        if entries:
            for key in _ATTRIBUTION_KEYS:
                value = entries.get(key)
                if value is not None:
                    attributes[key] = str(value)
        settings = telemetry.settings
        input_messages = request.input_messages
        if settings.capture_content and input_messages is not None:
            self._safely(lambda: attributes.__setitem__(sc.GEN_AI_INPUT_MESSAGES, _json(input_messages())))
        payload = request.fingerprint_payload
        if payload is not None:
            try:
                attributes[sc.LLMCOST_PROMPT_FINGERPRINT] = fingerprint(
                    model, payload(), settings.fingerprint_key
                )
            except Exception:
                _logger.debug("otel-llmcost: recording failed", exc_info=True)
        name = f"{request.operation} {model}" if model else request.operation
        self.span = telemetry.tracer.start_span(
            name, context=parent, kind=SpanKind.CLIENT, attributes=attributes
        )

    @property
    def cost(self) -> Cost | None:
        """What the call cost, once it ended priced (``None`` before, or unpriced)."""
        if self._cost is None and self._pricing is not None:
            pricer, entry, usage, tier = self._pricing
            self._cost = pricer.price_entry(entry, usage, service_tier=tier)
        return self._cost

    # --- what provider modules call -------------------------------------------------------------

    @property
    def model(self) -> str | None:
        """The model actually requested (the downgrade target when the guard changed it)."""
        return self.model_override or self.request.model

    def set_response(
        self,
        *,
        model: str | None = None,
        response_id: str | None = None,
        finish_reasons: Sequence[str] | None = None,
        service_tier: str | None = None,
    ) -> None:
        if model:
            self.response_model = str(model)
        if response_id:
            self.response_id = str(response_id)
        if finish_reasons:
            self.finish_reasons = [str(r) for r in finish_reasons if r is not None]
        if service_tier:
            self.response_service_tier = str(service_tier)

    def first_chunk(self) -> None:
        if self._first_chunk_at is None:
            self._first_chunk_at = time.perf_counter()

    def finish(
        self, usage: Usage | None, *, output_messages: Callable[[], list[dict[str, Any]]] | None = None
    ) -> None:
        """The call succeeded (``usage`` None when the provider reported none and none could be estimated)."""
        if self._ended:
            return
        self.usage = usage
        if output_messages is not None and self.telemetry.settings.capture_content:
            self._safely(lambda: self.span.set_attribute(sc.GEN_AI_OUTPUT_MESSAGES, _json(output_messages())))
        self._end()

    def fail(self, exc: BaseException) -> None:
        """The call raised ``exc`` (the application gets it unchanged; we only record it)."""
        if self._ended:
            return
        self.error = exc
        self.error_type = error_type(exc)
        self._end()

    def fail_status(self, status_code: int) -> None:
        """The provider answered with an HTTP error status and no exception was raised (raw HTTP)."""
        if self._ended:
            return
        self.error_type = str(status_code)
        self._end()

    def estimate_prompt_tokens(self) -> int | None:
        """Prompt tokens by our offline tokenizer, or ``None`` without prompt texts."""
        if self.request.prompt_texts is None:
            return None
        from otel_llmcost.instrumentation._tokens import count_message_tokens

        return count_message_tokens(self.request.prompt_texts(), self.model)

    # --- internals ----------------------------------------------------------------------------

    @staticmethod
    def _safely(action: Callable[[], object]) -> None:
        try:
            action()
        except Exception:
            _logger.debug("otel-llmcost: recording failed", exc_info=True)

    def _end(self) -> None:
        self._ended = True
        span = self.span
        attributes: dict[str, AttributeValue] = {}
        try:
            if self.model_override:
                span.update_name(f"{self.request.operation} {self.model_override}")
            attributes = self._result_attributes()  # prices the call
        except Exception:
            _logger.debug("otel-llmcost: could not record the GenAI result", exc_info=True)
        # Settle the budget reservation with the actual cost before the span ends, so the
        # thresholds it crosses can still mark this span.
        guard = self.telemetry.guard
        if guard is not None:
            self._safely(lambda: guard.after(self))
        try:
            if self.budget_alerts:
                attributes[sc.LLMCOST_BUDGET_ALERT] = tuple(self.budget_alerts)
            span.set_attributes(attributes)
            if self.error_type is not None:
                span.set_status(Status(StatusCode.ERROR, str(self.error or self.error_type)[:500]))
            self._record_metrics()
        except Exception:
            _logger.debug("otel-llmcost: could not record the GenAI result", exc_info=True)
        try:
            span.end()
        except Exception:
            _logger.debug("otel-llmcost: could not end the span", exc_info=True)

    def _result_attributes(self) -> dict[str, AttributeValue]:
        attrs: dict[str, AttributeValue] = {}
        if self.model_override:
            attrs[sc.LLMCOST_BUDGET_DOWNGRADED_FROM] = self.request.model or ""
            attrs[sc.GEN_AI_REQUEST_MODEL] = self.model_override
        if self.response_model:
            attrs[sc.GEN_AI_RESPONSE_MODEL] = self.response_model
        if self.response_id:
            attrs[sc.GEN_AI_RESPONSE_ID] = self.response_id
        if self.finish_reasons:
            attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] = tuple(self.finish_reasons)
            if not _TRUNCATION_REASONS.isdisjoint(self.finish_reasons):
                attrs[sc.LLMCOST_TRUNCATED] = True
        if self.response_service_tier:
            attrs[_service_tier_attribute(self.request.provider)] = self.response_service_tier
        if self.error_type is not None:
            attrs[sc.ERROR_TYPE] = self.error_type
        usage = self.usage
        if usage is not None:
            attrs.update(usage.to_attributes())
            max_tokens = self.request.max_tokens
            if max_tokens is not None and self._capped_output(usage) > max_tokens:
                attrs[sc.LLMCOST_MAX_TOKENS_EXCEEDED] = True
            attrs.update(self._price(usage))
        return attrs

    def _capped_output(self, usage: Usage) -> int:
        # Gemini's maxOutputTokens bounds the candidates only; thinking has its own budget.
        if self.request.provider in (sc.PROVIDER_GEMINI, sc.PROVIDER_VERTEX_AI):
            return usage.output + usage.output_audio
        return usage.total_output

    def _price(self, usage: Usage) -> dict[str, AttributeValue]:
        pricer = self.telemetry.pricer
        entry = pricer.resolve_first((self.response_model, self.model), self.request.provider)
        if entry is None:
            return {sc.LLMCOST_COST_UNPRICED: True}
        tier = self.response_service_tier or self.request.service_tier
        # Integer femto-dollars when the prices allow (nearly always): the same floats as the
        # Decimal Cost gives, which is built only if someone asks for call.cost (the budget guard).
        exact = pricer.price_femtos(entry, as_counts(usage), service_tier=tier)
        figures: tuple[Any, ...]
        if exact is not None:
            self._pricing = (pricer, entry, usage, tier)
            key, priced_tier, threshold, figures = exact
            # int / int is correctly rounded, as float() of the exact Decimal is: the same floats.
            total = figures[0] / _FEMTO_PER_USD
            cost_input = figures[1] / _FEMTO_PER_USD
            cost_output = figures[2] / _FEMTO_PER_USD
            cache_read = figures[3] / _FEMTO_PER_USD
            cache_write = figures[4] / _FEMTO_PER_USD
            reasoning = figures[5] / _FEMTO_PER_USD
            fees = figures[6] / _FEMTO_PER_USD
        else:
            cost = pricer.price_entry(entry, usage, service_tier=tier)
            if cost is None:
                return {sc.LLMCOST_COST_UNPRICED: True}
            self._cost = cost
            key, priced_tier, threshold = cost.model, cost.service_tier, cost.long_context_threshold
            figures = (cost.total, cost.input, cost.output, cost.cache_read, cost.cache_write, cost.reasoning,
                       cost.request_fees)  # fmt: skip
            total, cost_input, cost_output, cache_read, cache_write, reasoning, fees = map(float, figures)
        if figures[0]:
            self._cost_usd = total
        attrs: dict[str, AttributeValue] = {
            sc.GEN_AI_USAGE_COST_AMOUNT: total,
            sc.GEN_AI_USAGE_COST_CURRENCY: sc.COST_CURRENCY_USD,
            sc.GEN_AI_USAGE_COST_SOURCE: sc.COST_SOURCE_LOCAL,
            sc.LLMCOST_COST_INPUT: cost_input,
            sc.LLMCOST_COST_OUTPUT: cost_output,
            sc.LLMCOST_PRICING_MODEL: key,
            sc.LLMCOST_PRICING_VERSION: pricer.version,
        }
        # Only the parts that cost something: every attribute is paid for on every span.
        if figures[3]:
            attrs[sc.LLMCOST_COST_CACHE_READ] = cache_read
        if figures[4]:
            attrs[sc.LLMCOST_COST_CACHE_WRITE] = cache_write
        if figures[5]:
            attrs[sc.LLMCOST_COST_REASONING] = reasoning
        if figures[6]:
            attrs[sc.LLMCOST_COST_REQUEST_FEES] = fees
        if priced_tier != STANDARD_TIER:
            attrs[sc.LLMCOST_PRICING_TIER] = priced_tier
        if threshold is not None:
            attrs[sc.LLMCOST_PRICING_LONG_CONTEXT] = threshold
        return attrs

    def _record_metrics(self) -> None:
        t = self.telemetry
        request = self.request
        attrs: dict[str, AttributeValue] = {
            sc.GEN_AI_OPERATION_NAME: request.operation,
            sc.GEN_AI_PROVIDER_NAME: request.provider,
        }
        model = self.model_override or request.model
        if model:
            attrs[sc.GEN_AI_REQUEST_MODEL] = model
        if self.response_model:
            attrs[sc.GEN_AI_RESPONSE_MODEL] = self.response_model
        if request.server_address:
            attrs[sc.SERVER_ADDRESS] = request.server_address
        if request.server_port:
            attrs[sc.SERVER_PORT] = request.server_port
        if self.error_type is not None:
            attrs[sc.ERROR_TYPE] = self.error_type
        t.duration.record(time.perf_counter() - self._started, attrs)
        if self._first_chunk_at is not None:
            t.time_to_first_chunk.record(self._first_chunk_at - self._started, attrs)
        usage = self.usage
        if usage is not None:
            t.token_usage.record(usage.total_input, {**attrs, sc.GEN_AI_TOKEN_TYPE: sc.TOKEN_TYPE_INPUT})
            t.token_usage.record(usage.total_output, {**attrs, sc.GEN_AI_TOKEN_TYPE: sc.TOKEN_TYPE_OUTPUT})
        if self._cost_usd:
            t.cost.add(self._cost_usd, attrs)


def _service_tier_attribute(provider: str) -> str:
    if provider == sc.PROVIDER_ANTHROPIC:
        return sc.ANTHROPIC_SERVICE_TIER
    if provider in (sc.PROVIDER_OPENAI, sc.PROVIDER_AZURE_OPENAI):
        return sc.GEN_AI_OPENAI_RESPONSE_SERVICE_TIER
    return sc.LLMCOST_RESPONSE_SERVICE_TIER


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
