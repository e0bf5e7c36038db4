"""OpenAI SDK (``openai >= 3``, on httpx2): chat completions, Responses, embeddings and legacy
completions — and every OpenAI-compatible endpoint reached through the SDK (Azure OpenAI, Groq,
xAI, DeepSeek, Together, Mistral, vLLM, Ollama …, told apart by the client's base URL).

One span per SDK call, named ``{operation} {model}``: ``chat`` (chat completions and Responses),
``text_completion`` (legacy completions), ``embeddings``. Streams, the ``.stream()`` helpers and
``with_raw_response`` / ``with_streaming_response`` keep working unchanged and are priced once.

Streamed chat and legacy completions get ``stream_options.include_usage`` added (the one change
to a request we ever make; ``OTEL_LLMCOST_INCLUDE_USAGE=false`` turns it off) unless the caller
set ``include_usage`` themselves — an explicit ``False`` is respected — and the usage-only chunk it
brings is hidden from the caller. Streams that end without usage are estimated and say so
(``llmcost.usage.estimated``). A ``parse`` call whose parse step raises for an answer that was
billed (content not valid for the ``response_format``) keeps that answer's usage and cost on its
failed span. See :mod:`._chat`, :mod:`._responses`, :mod:`._raw` and :mod:`._raw_sse` for the
details and limits.

Importing this package does not import the SDK; its modules are hooked when the app imports them.
"""

from __future__ import annotations

from collections.abc import Iterator

from otel_llmcost.instrumentation._wrap import WrapSpec
from otel_llmcost.instrumentation.openai import _raw, _streams
from otel_llmcost.instrumentation.openai._chat import plan_chat, plan_legacy
from otel_llmcost.instrumentation.openai._common import async_factory, parsing, sync_factory
from otel_llmcost.instrumentation.openai._embeddings import plan_embeddings
from otel_llmcost.instrumentation.openai._responses import plan_responses, plan_retrieve

__all__ = ["wrap_specs"]

_CHAT = "openai.resources.chat.completions.completions"
_LEGACY = "openai.resources.completions"
_EMBEDDINGS = "openai.resources.embeddings"
_RESPONSES = ("openai.resources.responses.responses", "openai.resources.beta.responses.responses")
_CHAT_HELPER = "openai.lib.streaming.chat._completions"
_RESPONSES_HELPER = "openai.lib.streaming.responses._responses"


def wrap_specs() -> Iterator[WrapSpec]:
    for method, chat in (("create", plan_chat), ("parse", parsing(plan_chat))):
        yield WrapSpec(_CHAT, f"Completions.{method}", sync_factory(chat))
        yield WrapSpec(_CHAT, f"AsyncCompletions.{method}", async_factory(chat))
    yield WrapSpec(_LEGACY, "Completions.create", sync_factory(plan_legacy))
    yield WrapSpec(_LEGACY, "AsyncCompletions.create", async_factory(plan_legacy))
    yield WrapSpec(_EMBEDDINGS, "Embeddings.create", sync_factory(plan_embeddings))
    yield WrapSpec(_EMBEDDINGS, "AsyncEmbeddings.create", async_factory(plan_embeddings))
    for module in _RESPONSES:  # the beta resource has no parse(); a missing method is skipped
        for method, responses in (("create", plan_responses), ("parse", parsing(plan_responses))):
            yield WrapSpec(module, f"Responses.{method}", sync_factory(responses))
            yield WrapSpec(module, f"AsyncResponses.{method}", async_factory(responses))
        yield WrapSpec(module, "Responses.retrieve", sync_factory(plan_retrieve))
        yield WrapSpec(module, "AsyncResponses.retrieve", async_factory(plan_retrieve))
    # The .stream() helpers close the HTTP response behind our proxy's back: end its span then.
    yield WrapSpec(_CHAT_HELPER, "ChatCompletionStream.close", _streams.sync_helper_close)
    yield WrapSpec(_CHAT_HELPER, "AsyncChatCompletionStream.close", _streams.async_helper_close)
    yield WrapSpec(_RESPONSES_HELPER, "ResponseStream.close", _streams.sync_helper_close)
    yield WrapSpec(_RESPONSES_HELPER, "AsyncResponseStream.close", _streams.async_helper_close)
    # Raw responses: priced when the app reads them.
    yield WrapSpec("openai._legacy_response", "LegacyAPIResponse.parse", _raw.sync_parse)
    yield WrapSpec("openai._response", "APIResponse.parse", _raw.sync_parse)
    yield WrapSpec("openai._response", "APIResponse.read", _raw.sync_read)
    yield WrapSpec("openai._response", "APIResponse.close", _raw.sync_close)
    yield WrapSpec("openai._response", "AsyncAPIResponse.parse", _raw.async_parse)
    yield WrapSpec("openai._response", "AsyncAPIResponse.read", _raw.async_read)
    yield WrapSpec("openai._response", "AsyncAPIResponse.close", _raw.async_close)
