"""A loopback provider speaking the OpenAI, Anthropic and Gemini wire formats.

The demo's default provider and the one every test uses with the real SDKs. The core,
``handle(SimRequest) -> SimResponse``, has no sockets; two adapters sit on it: an HTTP
server (``Simulator`` as a context manager, or the blocking ``serve()``) and
``httpx2.MockTransport`` instances (``Simulator.mock_transport()`` /
``async_mock_transport()``).

Endpoints
---------
OpenAI (base URL ``Simulator.openai_base_url`` = ``URL/v1``):
``POST /v1/chat/completions`` (JSON; ``stream`` → ``data:`` chunks and ``data: [DONE]``; a
final ``"choices": []`` chunk with ``usage`` only when ``stream_options.include_usage`` is
true), ``POST /v1/completions`` (legacy; JSON and stream; ``max_tokens`` defaults to 16 as on
the real API), ``POST /v1/embeddings`` (``usage.prompt_tokens`` = ``total_tokens``; the
openai SDK sends ``encoding_format: "base64"`` unless told otherwise and decodes
little-endian float32 — the simulator honours both ``float`` and ``base64``),
``POST /v1/responses`` (JSON and typed SSE events, ``response.completed`` — or
``response.incomplete`` when cut by ``max_output_tokens``), ``GET /v1/responses/{id}``
(``?stream=true[&starting_after=N]`` replays the stored events). ``prompt_tokens`` /
``input_tokens`` include cached (and audio) tokens; ``completion_tokens`` /
``output_tokens`` include reasoning tokens. ``service_tier`` echoes the requested tier
(``auto`` or absent reports ``default``, as the real API does).

Anthropic (base URL ``Simulator.anthropic_base_url`` = ``URL``): ``POST /v1/messages``
(JSON; ``stream`` → ``message_start``, ``content_block_start``, ``ping``,
``content_block_delta``…, ``content_block_stop``, ``message_delta``, ``message_stop``) and
``POST /v1/messages/count_tokens``; beta calls use the same paths (``?beta=true`` is
accepted and ignored; anthropic 2.x sends none). ``input_tokens`` EXCLUDES cache reads and
writes; ``cache_creation_input_tokens`` = 5m + 1h writes.

Gemini Developer API (base URL ``Simulator.gemini_base_url`` = ``URL``; google-genai 3.x
uses ``/v1`` by default, ``/v1beta`` and ``/v1alpha`` are served too):
``models/{m}:generateContent``, ``:streamGenerateContent?alt=sse``, ``:embedContent``,
``:batchEmbedContents``, ``:countTokens``. ``promptTokenCount`` includes
``cachedContentTokenCount``; ``thoughtsTokenCount`` is outside ``candidatesTokenCount``;
``totalTokenCount`` = prompt + candidates + thoughts. Every stream chunk carries
``usageMetadata``; the last one is complete.

Gemini embeddings and token counts: on the Developer API, google-genai 3.x sends EVERY
``models.embed_content`` call (one content or many) to ``:batchEmbedContents`` and copies
a top-level ``usageMetadata`` from the answer into ``EmbedContentResponse.usage_metadata``
(``prompt_token_count``). The current Gemini API reference defines that field for
``embedContent`` and ``batchEmbedContents`` answers as ``EmbeddingUsageMetadata``
(``promptTokenCount``, ``promptTokenDetails``), so the simulator sends it, summed over the
batch. Older Developer-API answers carried NO token counts (only ``embeddings[].values``);
``SimConfig(gemini_embedding_usage=False)`` reproduces that, for instrumentation that must
then count tokens itself. Per-embedding ``statistics.token_count`` exists only on Vertex AI
and is not sent.

Usage
-----
Counts come from ``UsageRule``s matched by model glob (``Simulator.set_rule``), else are
derived: prompt tokens by the formula in ``_tokens`` (o200k_base over the message texts,
plus 3 per message and 3 to prime the reply), completion tokens = ``SimConfig.reply_tokens``
(default 20) visible tokens + reasoning tokens, capped by the request's
``max_tokens``/``max_completion_tokens``/``max_output_tokens``/``maxOutputTokens`` (finish
reason ``length`` / ``max_tokens`` / ``MAX_TOKENS``) unless the rule says
``ignore_max_tokens``. The reply text is exactly that many o200k tokens of deterministic
words. Ids are ``<prefix><counter>``, unique per simulator; ``created`` comes from the
simulator's ``clock``.

Errors: ``Simulator.inject_error`` answers with each provider's real error JSON
(``retry-after`` on 429); bad JSON, a missing model and similar get the provider's 400,
unknown paths its 404 — never a crash.
"""

from ._config import SimConfig, UsageRule
from ._simulator import Simulator, handle, serve
from ._types import Provider, RecordedRequest, SimRequest, SimResponse

__all__ = [
    "Provider",
    "RecordedRequest",
    "SimConfig",
    "SimRequest",
    "SimResponse",
    "Simulator",
    "UsageRule",
    "handle",
    "serve",
]
