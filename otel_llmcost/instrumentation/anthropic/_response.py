"""What a Messages response tells us: usage (with compactions), model, id, stop reason, tier."""

from __future__ import annotations

from typing import Any

from otel_llmcost.instrumentation._call import LLMCall
from otel_llmcost.instrumentation.anthropic._request import get, output_messages
from otel_llmcost.usage import Usage, from_anthropic

__all__ = ["billed_usage", "report_message"]


def billed_usage(usage: Any) -> Usage:
    """A Message's billed usage (compactions included: ``usage.from_anthropic`` adds them)."""
    return from_anthropic(usage)


def describe_message(call: LLMCall, message: Any) -> tuple[Any, Any]:
    """Set what a ``Message`` (an SDK model or the decoded body) says of the response on ``call``;
    its ``usage`` and ``stop_reason``."""
    usage = get(message, "usage")
    stop_reason = get(message, "stop_reason")
    call.set_response(
        model=get(message, "model"),
        response_id=get(message, "id"),
        finish_reasons=[stop_reason] if stop_reason else None,
        service_tier=get(usage, "service_tier"),
    )
    return usage, stop_reason


def report_message(call: LLMCall, message: Any) -> None:
    """Finish ``call`` with a (non-streamed) ``Message``, as an SDK model or the decoded body."""
    usage, stop_reason = describe_message(call, message)
    content = get(message, "content")
    call.finish(
        billed_usage(usage) if usage is not None else None,
        output_messages=lambda: output_messages(content, stop_reason),
    )
