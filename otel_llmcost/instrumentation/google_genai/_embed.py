"""``Models.embed_content`` / ``AsyncModels.embed_content``: one ``embeddings`` span per call.

Where the token count comes from, best first:

1. ``response.usage_metadata.prompt_token_count`` — the Developer API's ``batchEmbedContents``
   answer carries a top-level ``usageMetadata`` that the SDK copies there (Vertex's
   ``embedContent`` too).
2. Vertex AI's per-embedding ``statistics.token_count`` (the ``:predict`` answer), summed.
3. Our own count of the input texts, marked estimated — older Developer-API answers carry no
   counts at all.

There is no further count to be had from the API-client layer: ``BaseApiClient.request``
returns ``SdkHttpResponse(headers, body)``, the SDK's converters copy every count field of that
body (``usageMetadata``, ``metadata``, ``predictions[].embeddings.statistics``) into the response
object, and the ``sdk_http_response`` it keeps holds only headers, none of which carry counts.
"""

from __future__ import annotations

from typing import Any

from otel_llmcost.instrumentation._call import LLMCall
from otel_llmcost.instrumentation._telemetry import Telemetry
from otel_llmcost.instrumentation._tokens import count_tokens
from otel_llmcost.instrumentation._wrap import Wrapper
from otel_llmcost.instrumentation.google_genai import _content as content
from otel_llmcost.instrumentation.google_genai._request import describe_embed
from otel_llmcost.usage import Usage, from_gemini

__all__ = ["embed_content", "embed_content_async", "embedding_usage"]


def _statistics_tokens(response: Any) -> int | None:
    counts: list[Any] = [
        content.field(content.field(e, "statistics"), "token_count")
        for e in content.field(response, "embeddings") or ()
    ]
    if not counts or any(not isinstance(c, (int, float)) or isinstance(c, bool) for c in counts):
        return None
    # Typed float by the SDK; the counts are whole numbers on the wire.
    total: float = sum(counts)
    return round(total)


def embedding_usage(response: Any, texts: list[str]) -> Usage:
    """The tokens an embedding call was billed for (see the module docstring for the order)."""
    usage_metadata = content.field(response, "usage_metadata")
    if content.field(usage_metadata, "prompt_token_count") is not None:
        return from_gemini(usage_metadata)
    tokens = _statistics_tokens(response)
    if tokens is not None:
        return Usage(input=tokens)
    # Gemini's tokenizer is not available offline: o200k, as for every non-OpenAI estimate.
    return Usage(input=sum(count_tokens(text) for text in texts), estimated=True)


def _reporter(kwargs: dict[str, Any]) -> Any:
    def on_result(call: LLMCall, response: Any) -> Any:
        call.finish(embedding_usage(response, content.content_texts(kwargs.get("contents"))))
        return response

    return on_result


def embed_content(telemetry: Telemetry) -> Wrapper:
    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return telemetry.traced(
            lambda: describe_embed(telemetry, instance, kwargs),
            wrapped,
            args,
            kwargs,
            _reporter(kwargs),
            instance=instance,
        )

    return wrapper


def embed_content_async(telemetry: Telemetry) -> Wrapper:
    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return telemetry.traced_async(
            lambda: describe_embed(telemetry, instance, kwargs),
            wrapped,
            args,
            kwargs,
            _reporter(kwargs),
            instance=instance,
        )

    return wrapper
