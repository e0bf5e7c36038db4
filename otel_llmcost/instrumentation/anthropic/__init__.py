"""Anthropic SDK (anthropic >= 2): one GenAI span with exact usage and cost per Messages call.

Wrapped, sync and async (``Messages`` / ``AsyncMessages``), stable and beta:

* ``messages.create`` — a ``Message``, or with ``stream=True`` the SDK's ``Stream`` behind a
  proxy that keeps every behaviour of the stream;
* ``messages.stream`` — the SDK's ``MessageStreamManager``; the request is sent, and the span
  starts, when its ``with`` block is entered; iteration, ``text_stream``, ``until_done()`` and
  ``get_final_message()`` all keep working and share one span;
* ``messages.parse`` — a ``ParsedMessage``; a reply that fails ``output_format`` validation
  still reports its billed usage and cost on the failed span (``_parsed``);
* ``with_raw_response.create`` / ``with_streaming_response.create`` — the SDK's ``APIResponse``,
  priced once: from the body the SDK read, or from the unread body as the app reads it (``_raw``).

The same resource classes serve ``AnthropicBedrock``, ``AnthropicVertex``, ``AnthropicFoundry``,
``AnthropicAWS`` and ``AnthropicGoogleCloud`` clients; the beta ``Messages`` of Bedrock and
Vertex are copies, wrapped in their own modules. ``gen_ai.provider.name`` comes from the client's base URL (``aws.bedrock``,
``gcp.vertex_ai`` …), else from the platform the client names, else ``anthropic``.

Token accounting (``otel_llmcost.usage.from_anthropic``): Anthropic's ``input_tokens`` excludes
cache reads and writes; the span's ``gen_ai.usage.input_tokens`` is the inclusive total, cache
writes are priced by TTL (5 minutes / 1 hour), web-search requests per request, and beta
compaction iterations (billed, yet outside the top-level usage) are added.

The SDK's own spans: anthropic 2.x emits its own CLIENT span for every API call when a tracer
provider exists (scope ``com.anthropic.sdk.python``, ``anthropic.messages.create``). For the
calls recorded here that span is suppressed (see ``_sdk_spans``), so one call is one GenAI span
and its tokens are counted once; every other call keeps the SDK's span. Should the suppression
hook ever be unavailable (a different SDK layout), turn the SDK's spans off instead:
``ANTHROPIC_OPEN_TELEMETRY=false`` in the environment, or ``Anthropic(open_telemetry=False)``.

Importing this module does not import the SDK; wraps are installed when the app imports it.
"""

from __future__ import annotations

from collections.abc import Iterator

from otel_llmcost.instrumentation._wrap import WrapSpec
from otel_llmcost.instrumentation.anthropic._messages import message_specs
from otel_llmcost.instrumentation.anthropic._parsed import parser_specs
from otel_llmcost.instrumentation.anthropic._sdk_spans import sdk_span_specs
from otel_llmcost.instrumentation.anthropic._streams import stream_specs

__all__ = ["MESSAGES_MODULES", "wrap_specs"]

#: Modules that define ``Messages``/``AsyncMessages`` with create, parse and stream.
MESSAGES_MODULES = (
    "anthropic.resources.messages.messages",
    "anthropic.resources.beta.messages.messages",
    # Bedrock and Vertex copy the beta methods into classes of their own at import.
    "anthropic.lib.bedrock._beta_messages",
    "anthropic.lib.vertex._beta_messages",
)


def wrap_specs() -> Iterator[WrapSpec]:
    # The suppression hook first: a recorded call must never find the SDK's span still on.
    yield from sdk_span_specs()
    yield from message_specs(MESSAGES_MODULES)
    yield from parser_specs()
    yield from stream_specs(MESSAGES_MODULES)
