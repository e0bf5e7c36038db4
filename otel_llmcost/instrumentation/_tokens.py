"""Offline token counts for estimates (streams that end without usage, budget reservations).

quicktok bundles the OpenAI encodings; other providers' tokenizers are not available offline, so
their text is counted with o200k — an estimate, and spans say so (``llmcost.usage.estimated``).

Parts that are not text (images, documents, audio, video) cannot be tokenized offline: a
message's text carries an *allowance* for them (:func:`with_allowance`), a documented number of
tokens per part, added by :func:`count_message_tokens`. The numbers below are the providers'
documented maxima per image where one exists, and one page or one minute of a document or of
audio/video otherwise (a longer one can exceed it); docs/budgets.md lists them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "ANTHROPIC_IMAGE_TOKENS",
    "ANTHROPIC_PDF_PAGE_TOKENS",
    "ANTHROPIC_TOOL_SYSTEM_TOKENS",
    "AUDIO_MINUTE_TOKENS",
    "GEMINI_IMAGE_TOKENS",
    "GEMINI_PDF_PAGE_TOKENS",
    "GEMINI_VIDEO_MINUTE_TOKENS",
    "OPENAI_IMAGE_TOKENS",
    "OPENAI_MINI_IMAGE_TOKENS",
    "PAGE_TEXT_TOKENS",
    "count_message_tokens",
    "count_tokens",
    "json_text",
    "with_allowance",
]

# OpenAI's documented chat framing: 3 tokens per message plus the role (one token for every
# chat role), and 3 to prime the reply.
_PER_MESSAGE = 3 + 1
_REPLY_PRIMING = 3

# --- allowances for parts that are not text (tokens per part, before the guard's margin) --------
#: Anthropic, an image: Claude counts ceil(w/28) x ceil(h/28) visual tokens and resizes larger
#: images to its native resolution, at most 2576 px on the long edge and about 3.75 megapixels
#: (Claude Opus 4.7 and later; earlier models stop at 1568 px, ~1,600 tokens) — 3.75 MP / 784
#: px per token = 4,784 (platform.claude.com/docs/en/build-with-claude/vision).
ANTHROPIC_IMAGE_TOKENS = 4_784
#: Text of one document page: "1,500-3,000 tokens per page depending on content density"
#: (platform.claude.com/docs/en/build-with-claude/pdf-support); used for every provider's PDFs.
PAGE_TEXT_TOKENS = 3_000
#: Anthropic, one PDF page: its text plus the page as an image (same PDF-support page).
ANTHROPIC_PDF_PAGE_TOKENS = PAGE_TEXT_TOKENS + ANTHROPIC_IMAGE_TOKENS
#: Anthropic, the tool-use system prompt added to every request with tools: 346 tokens for Claude
#: 4 models with tool_choice auto/none, 313 for any/tool (docs: tool use, "Pricing").
ANTHROPIC_TOOL_SYSTEM_TOKENS = 346
#: OpenAI, an image (detail high/auto): patch-based models cap an image at 1,536 32-px patches
#: times a model multiplier of at most 2.46 (gpt-4.1-nano) = 3,779; tile-based models at 8
#: 512-px tiles, 85 + 8 x 170 = 1,445 (platform.openai.com/docs/guides/images-vision,
#: "Calculating costs").
OPENAI_IMAGE_TOKENS = 3_779
#: OpenAI, an image for gpt-4o-mini, which bills 2,833 + 5,667 per tile: 2,833 + 8 x 5,667.
OPENAI_MINI_IMAGE_TOKENS = 48_169
#: Gemini, an image: images are scaled to fit 3072 x 3072 (Vertex AI, "Image understanding") and
#: counted as 258 tokens per 768 x 768 tile (ai.google.dev/gemini-api/docs/tokens), so at most
#: 16 x 258; Gemini 3's largest media resolution (ULTRA_HIGH) is 2,240 per image.
GEMINI_IMAGE_TOKENS = 16 * 258
#: Gemini, one PDF page: the text of a page plus the page as an image.
GEMINI_PDF_PAGE_TOKENS = PAGE_TEXT_TOKENS + GEMINI_IMAGE_TOKENS
#: Audio, one minute at Gemini's documented 32 tokens per second (ai.google.dev/gemini-api/docs/
#: tokens); OpenAI documents no rate for audio input, so its audio parts get the same.
AUDIO_MINUTE_TOKENS = 60 * 32
#: Gemini, one minute of video at the documented 263 tokens per second (frames and audio).
GEMINI_VIDEO_MINUTE_TOKENS = 60 * 263


@functools.lru_cache(maxsize=8)
def _encoding(name: str) -> Any:
    import quicktok  # lazy: the tokenizer data loads only when an estimate is needed

    return quicktok.get_encoding(name)


def _encoding_name(model: str | None) -> str:
    m = (model or "").lower().rsplit("/", 1)[-1]
    if m.startswith(("gpt-4-", "gpt-3.5")) or m == "gpt-4" or m.startswith("text-embedding"):
        return "cl100k_base"
    return "o200k_base"


def count_tokens(text: str, model: str | None = None) -> int:
    """Tokens in ``text`` with the model's encoding (o200k when unknown)."""
    if not text:
        return 0
    return len(_encoding(_encoding_name(model)).encode(text))


class _PromptText(str):
    """A message's text that also stands for ``extra_tokens`` of parts that are not text."""

    extra_tokens = 0


def with_allowance(text: str, extra_tokens: int) -> str:
    """``text`` carrying ``extra_tokens`` for its non-text parts (counted by
    :func:`count_message_tokens`); ``text`` itself when there are none."""
    if extra_tokens <= 0:
        return text
    marked = _PromptText(text)
    marked.extra_tokens = extra_tokens
    return marked


def count_message_tokens(texts: Iterable[str], model: str | None = None) -> int:
    """Prompt tokens of a chat request whose messages have these texts (OpenAI framing), plus
    the allowances the texts carry (:func:`with_allowance`)."""
    total = _REPLY_PRIMING
    for text in texts:
        total += _PER_MESSAGE + count_tokens(text, model)
        if type(text) is _PromptText:
            total += text.extra_tokens
    return total


def _plain(value: Any) -> Any:
    """A JSON-able view of a request value: SDK models dump, mappings and sequences recurse."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json", exclude_none=True)
    return str(value)


def json_text(value: Any) -> str:
    """Compact JSON of a request value (a tool definition, ``tool_choice`` …) as the model reads
    it, for token estimates."""
    return json.dumps(_plain(value), ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=str)
