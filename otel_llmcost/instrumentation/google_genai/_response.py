"""Reading a ``GenerateContentResponse``: model, id, finish reasons, usage, output messages."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from otel_llmcost.instrumentation._call import LLMCall
from otel_llmcost.instrumentation._tokens import count_tokens
from otel_llmcost.instrumentation.google_genai import _content as content
from otel_llmcost.usage import Usage, from_gemini

__all__ = ["estimate", "report_response", "usage_of"]


def usage_of(usage_metadata: Any) -> Usage:
    """Gemini ``usage_metadata`` (SDK object or wire dict) in our exclusive buckets."""
    # usage.from_gemini owns the conventions: prompt includes cached, thoughts sit outside
    # candidates but are billed as output, tool-use prompt tokens are billed as input.
    return from_gemini(usage_metadata)


def estimate(call: LLMCall, output_text: str) -> Usage:
    """Our offline count when the provider reported none (``llmcost.usage.estimated``)."""
    prompt = call.estimate_prompt_tokens() or 0
    return Usage(input=prompt, output=count_tokens(output_text, call.model), estimated=True)


def _view(response: Any) -> Any:
    """The response to read; for ``should_return_http_response`` calls, its raw JSON body.

    With that config the SDK returns a response holding only ``sdk_http_response`` (headers and
    the raw body): the counts are still there, in the wire's camelCase, which we read as is.
    """
    if (
        content.field(response, "usage_metadata") is not None
        or content.field(response, "candidates") is not None
    ):
        return response
    body = content.field(content.field(response, "sdk_http_response"), "body")
    if isinstance(body, str) and body:
        try:
            parsed = json.loads(body)
        except ValueError:
            return response
        if isinstance(parsed, Mapping):
            return parsed
    return response


def _finish_reasons(candidates: Any) -> list[str]:
    reasons = (content.enum_value(content.field(c, "finish_reason")) for c in candidates or ())
    return [r for r in reasons if r]


def report_response(call: LLMCall, response: Any) -> Any:
    """``on_result`` for ``_generate_content``: report the response, hand the app its own object."""
    view = _view(response)
    candidates = content.field(view, "candidates") or ()
    call.set_response(
        model=content.field(view, "model_version"),
        response_id=content.field(view, "response_id"),
        finish_reasons=_finish_reasons(candidates),
    )
    usage_metadata = content.field(view, "usage_metadata")
    if usage_metadata is not None:
        usage = usage_of(usage_metadata)
    else:
        texts = [
            t
            for c in candidates
            for t in content.part_texts(content.field(content.field(c, "content"), "parts"))
        ]
        usage = estimate(call, "".join(texts))
    call.finish(usage, output_messages=lambda: [content.output_message(c) for c in candidates])
    return response
