"""Keep the anthropic SDK's own span out of the calls we record.

anthropic 2.x starts a CLIENT span per API call (scope ``com.anthropic.sdk.python``, name
``anthropic.messages.create``, GenAI attributes) whenever OpenTelemetry gives it a tracer. Left
alone, every call we record would be two GenAI spans, and a collector would count its tokens
twice. ``BaseClient.request`` skips its span when ``start_api_call_span`` returns ``None``; our
wrapper of that function does so only while one of our wrappers runs the call
(:meth:`Telemetry.in_call`) — raw responses of Messages calls included. Every other call
(``models.list``, ``count_tokens``, batches …) keeps the SDK's span.

Trace propagation: with its own span the SDK writes that span's context into the request
(``traceparent``, plus whatever the registered propagators add). In a call of ours we hand the
SDK a non-recording span carrying the *current* span context — our GenAI span, which the core
makes current while the SDK runs — so the request carries our span's context and the header
set stays the same; only the span id in ``traceparent`` differs.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan

from otel_llmcost.instrumentation._telemetry import Telemetry
from otel_llmcost.instrumentation._wrap import Wrapper, WrapSpec

__all__ = ["BASE_CLIENT", "sdk_span_specs", "suppression_active"]

BASE_CLIENT = "anthropic._base_client"
_HOOK = "start_api_call_span"


def suppression_active() -> bool:
    """Whether recording a call is safe: the SDK's span hook is ours, or the SDK has none.

    Platform clients copy ``Messages.create`` into their own classes at import; a copy made
    while instrumented outlives ``uninstrument()``. Checking the hook makes such a copy pass
    the call through untouched instead of recording it beside the SDK's restored span.
    """
    module = sys.modules.get(BASE_CLIENT)
    hook = getattr(module, _HOOK, None) if module is not None else None
    return hook is None or bool(getattr(hook, "_self_llmcost", False))


def _factory(telemetry: Telemetry) -> Wrapper:
    def start_api_call_span(
        wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        if not Telemetry.in_call():
            return wrapped(*args, **kwargs)
        try:
            context = trace.get_current_span().get_span_context()
            return NonRecordingSpan(context) if context.is_valid else None
        except Exception:
            return None

    return start_api_call_span


def sdk_span_specs() -> Iterator[WrapSpec]:
    yield WrapSpec(BASE_CLIENT, _HOOK, _factory)
