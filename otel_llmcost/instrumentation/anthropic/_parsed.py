"""``messages.parse(output_format=...)`` whose reply fails validation keeps its usage and cost.

``parse`` validates the reply in a post-parser (``parse_response``, beta ``parse_beta_response``)
after the HTTP 200: a reply that does not match ``output_format`` raises pydantic's
``ValidationError`` out of ``parse()``, and the ``Message`` — with the usage that was billed —
never reaches us. While one of our ``parse`` calls with an ``output_format`` runs, the
post-parser's input is noted in a slot of that call (a context variable: nothing is shared
between threads or tasks); if the call then fails, its span still reports that Message's usage,
cost, model and id, and the app gets the same exception.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from otel_llmcost.instrumentation._call import LLMCall
from otel_llmcost.instrumentation._telemetry import Telemetry
from otel_llmcost.instrumentation._wrap import Wrapper, WrapSpec
from otel_llmcost.instrumentation.anthropic._response import billed_usage, describe_message

__all__ = ["SLOT", "parser_specs", "report_unparsed"]

#: The Messages the SDK's post-parser received in the current ``parse`` call of ours, if any.
SLOT: ContextVar[list[Any] | None] = ContextVar("otel_llmcost_anthropic_parsed", default=None)


def report_unparsed(call: LLMCall, slot: list[Any]) -> None:
    """A ``parse`` call failed: if the reply had arrived, keep what it says was billed."""
    if not slot:
        return
    usage, _ = describe_message(call, slot[-1])
    if usage is not None:
        call.usage = billed_usage(usage)


def _factory(telemetry: Telemetry) -> Wrapper:
    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        slot = SLOT.get()
        if slot is not None:
            slot.append(kwargs.get("response"))
        return wrapped(*args, **kwargs)

    return wrapper


def parser_specs() -> Iterator[WrapSpec]:
    """The post-parsers, where ``parse`` looks them up (Bedrock's and Vertex's beta copies of
    ``parse`` keep the beta module's globals)."""
    yield WrapSpec("anthropic.resources.messages.messages", "parse_response", _factory)
    yield WrapSpec("anthropic.resources.beta.messages.messages", "parse_beta_response", _factory)
