"""Tracer, meter instruments, settings and pricing shared by every wrapper of one instrumentor."""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry import context, trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation, get_meter
from opentelemetry.trace import TracerProvider

from otel_llmcost import __version__
from otel_llmcost import semconv as sc
from otel_llmcost.exceptions import BudgetExceededError
from otel_llmcost.instrumentation._call import LLMCall
from otel_llmcost.instrumentation._settings import Settings
from otel_llmcost.pricing import Pricer, get_pricer

if TYPE_CHECKING:
    from otel_llmcost.instrumentation._call import Request

__all__ = ["DURATION_BUCKETS", "TOKEN_BUCKETS", "Telemetry"]

_logger = logging.getLogger(__name__)

# GenAI semconv advisory bucket boundaries.
TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]
DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]

#: Set while one of our wrappers runs the SDK call, to the SDK client it runs on (``True`` when
#: not known): SDK helpers that call other wrapped methods of the same client (``.stream()`` ->
#: ``create``, ``parse`` -> ``create``) must not produce a second span. A call on another client
#: made inside — by the app's SDK middleware, say — is recorded: it is a call of its own.
_IN_CALL: contextvars.ContextVar[object] = contextvars.ContextVar("otel_llmcost_in_call", default=None)


def client_of(instance: Any) -> object:
    """The SDK client a resource (``Messages``, ``Completions``, ``Models`` …) sends through."""
    client = getattr(instance, "_client", None)
    if client is None:
        client = getattr(instance, "_api_client", None)  # google-genai
    return instance if client is None else client


def _nested(owner: object) -> bool:
    current = _IN_CALL.get()
    return current is not None and (owner is None or current is True or current is owner)


def _apply_override(call: LLMCall, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The SDK call's keyword arguments with a budget downgrade applied (SDKs take ``model=``)."""
    if not call.model_override:
        return kwargs
    if not call.request.downgradable:
        _logger.warning(
            "otel-llmcost: cannot downgrade a raw HTTP call; sending %s as requested", call.request.model
        )
        call.model_override = None
        return kwargs
    return {**kwargs, "model": call.model_override}


class CostTotals:
    """USD per metric attribute set, bounded (an overflow series beyond :data:`MAX_SERIES`)."""

    MAX_SERIES = 2000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._totals: dict[frozenset[tuple[str, Any]], float] = {}

    def add(self, amount: float, attributes: Mapping[str, Any]) -> None:
        key = frozenset(attributes.items())
        with self._lock:
            if key not in self._totals and len(self._totals) >= self.MAX_SERIES:
                key = frozenset({(sc.GEN_AI_PROVIDER_NAME, sc.OVERFLOW_LABEL_VALUE)})
            self._totals[key] = self._totals.get(key, 0.0) + amount

    def observe(self, options: CallbackOptions) -> Iterable[Observation]:
        with self._lock:
            items = list(self._totals.items())
        return [Observation(total, dict(key)) for key, total in items]


class Guard:
    """Budget hook (``otel_llmcost.budgets``): runs before the SDK call, may block or downgrade."""

    def before(self, call: LLMCall) -> None:  # pragma: no cover - interface
        """Reserve the call's worst case. Raise BudgetExceededError to block; set
        ``call.model_override`` to downgrade."""

    def after(self, call: LLMCall) -> None:  # pragma: no cover - interface
        """Settle the reservation to the call's actual cost (or release it on error)."""


class Telemetry:
    def __init__(
        self,
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        settings: Settings | None = None,
        pricer: Pricer | None = None,
        guard: Guard | None = None,
    ) -> None:
        self.settings = settings or Settings.from_env()
        self._pricer = pricer
        self.guard = guard
        self.tracer = trace.get_tracer(
            sc.INSTRUMENTATION_SCOPE,
            __version__,
            tracer_provider=tracer_provider,
            schema_url="https://opentelemetry.io/schemas/1.37.0",
        )
        meter = get_meter(sc.INSTRUMENTATION_SCOPE, __version__, meter_provider=meter_provider)
        self.token_usage = meter.create_histogram(
            sc.METRIC_GEN_AI_TOKEN_USAGE,
            unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=TOKEN_BUCKETS,
        )
        self.duration = meter.create_histogram(
            sc.METRIC_GEN_AI_OPERATION_DURATION,
            unit="s",
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self.time_to_first_chunk = meter.create_histogram(
            sc.METRIC_GEN_AI_TIME_TO_FIRST_CHUNK,
            unit="s",
            description="Time to receive the first chunk of a streamed response.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        # The USD counter is summed here and observed at collection time: one dict update per
        # call instead of a synchronous recording (each costs ~10 µs in the OTel SDK).
        self.cost = CostTotals()
        meter.create_observable_counter(
            sc.METRIC_LLMCOST_COST,
            callbacks=[self.cost.observe],
            unit="USD",
            description="Cost of GenAI operations at catalog prices.",
        )

    @property
    def pricer(self) -> Pricer:
        return self._pricer if self._pricer is not None else get_pricer()

    def start(self, build: Callable[[], Request], owner: object = None) -> LLMCall | None:
        """Begin recording a call, or ``None`` when we must stay out of the way (instrumentation
        suppressed, a call of ours already running on the same client ``owner`` — on any client
        when ``owner`` is None — or a fault of our own).

        The one exception that escapes is :class:`BudgetExceededError`, by design.
        """
        if _nested(owner) or not is_instrumentation_enabled():
            return None
        try:
            call = LLMCall(self, build(), context.get_current())
        except Exception:
            _logger.debug("otel-llmcost: could not start a GenAI span", exc_info=True)
            return None
        if self.guard is not None:
            try:
                self.guard.before(call)
            except BudgetExceededError as err:
                call.fail(err)
                raise
            except Exception:
                _logger.debug("otel-llmcost: budget guard failed; the call proceeds", exc_info=True)
        return call

    def traced(
        self,
        build: Callable[[], Request],
        wrapped: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        on_result: Callable[[LLMCall, Any], Any],
        on_error: Callable[[LLMCall, BaseException], None] | None = None,
        *,
        instance: Any = None,
    ) -> Any:
        """The whole life of one synchronous SDK call; provider wrappers delegate here.

        ``on_result(call, result)`` reports the response (``call.set_response``/``finish``) and
        returns what the application gets: ``result`` itself or a stream proxy around it. If it
        fails, that is our fault: logged, the span ends, and the app still gets ``result``.
        ``instance``: the SDK resource whose method this is (its client tells nested helper calls
        from calls of their own); None: any call of ours running makes this one nested.
        """
        owner = None if instance is None else client_of(instance)
        call = self.start(build, owner)
        if call is None:
            return wrapped(*args, **kwargs)
        if call.model_override:
            kwargs = _apply_override(call, kwargs)
        token = _IN_CALL.set(True if owner is None else owner)
        try:
            # Current while the SDK runs: HTTP spans nest under it and traceparent names it. (What
            # trace.use_span does without recording exceptions, minus its generator.)
            current = context.attach(trace.set_span_in_context(call.span))
            try:
                result = wrapped(*args, **kwargs)
            finally:
                context.detach(current)
        except BaseException as exc:
            self._failed(call, exc, on_error)
            raise
        finally:
            _IN_CALL.reset(token)
        return self._deliver(call, result, on_result)

    async def traced_async(
        self,
        build: Callable[[], Request],
        wrapped: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        on_result: Callable[[LLMCall, Any], Any],
        on_error: Callable[[LLMCall, BaseException], None] | None = None,
        *,
        instance: Any = None,
    ) -> Any:
        """:meth:`traced` for coroutine methods."""
        owner = None if instance is None else client_of(instance)
        call = self.start(build, owner)
        if call is None:
            return await wrapped(*args, **kwargs)
        if call.model_override:
            kwargs = _apply_override(call, kwargs)
        token = _IN_CALL.set(True if owner is None else owner)
        try:
            current = context.attach(trace.set_span_in_context(call.span))
            try:
                result = await wrapped(*args, **kwargs)
            finally:
                context.detach(current)
        except BaseException as exc:
            self._failed(call, exc, on_error)
            raise
        finally:
            _IN_CALL.reset(token)
        return self._deliver(call, result, on_result)

    @staticmethod
    def _failed(
        call: LLMCall, exc: BaseException, on_error: Callable[[LLMCall, BaseException], None] | None
    ) -> None:
        if on_error is not None:
            try:
                on_error(call, exc)
            except Exception:
                _logger.debug("otel-llmcost: could not read the failed call", exc_info=True)
        call.fail(exc)

    @staticmethod
    def _deliver(call: LLMCall, result: Any, on_result: Callable[[LLMCall, Any], Any]) -> Any:
        try:
            return on_result(call, result)
        except Exception:
            _logger.debug("otel-llmcost: could not read the response", exc_info=True)
            call.finish(None)
            return result

    @staticmethod
    def in_call() -> bool:
        """Whether one of our wrappers is running an SDK call in this context."""
        return _IN_CALL.get() is not None

    @staticmethod
    def nested(instance: Any) -> bool:
        """Whether a call of ``instance`` (an SDK resource) here would be a helper's nested call
        of one we are recording (same client), which must not be recorded again."""
        return _nested(client_of(instance))

    @staticmethod
    def mark_in_call() -> contextvars.Token[object]:
        """Mark this context as inside a call (for SDK helpers that send the request later,
        e.g. a stream manager's ``__enter__``). Reset with :meth:`unmark`."""
        return _IN_CALL.set(True)

    @staticmethod
    def unmark(token: contextvars.Token[object]) -> None:
        _IN_CALL.reset(token)
