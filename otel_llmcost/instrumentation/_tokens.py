"""Offline token counts for estimates (streams that end without usage, budget reservations).

quicktok bundles the OpenAI encodings; other providers' tokenizers are not available offline, so
their text is counted with o200k — an estimate, and spans say so (``llmcost.usage.estimated``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

__all__ = ["count_message_tokens", "count_tokens"]

# OpenAI's documented chat framing: 3 tokens per message plus the role (one token for every
# chat role), and 3 to prime the reply.
_PER_MESSAGE = 3 + 1
_REPLY_PRIMING = 3


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


def count_message_tokens(texts: Iterable[str], model: str | None = None) -> int:
    """Prompt tokens of a chat request whose messages have these texts (OpenAI framing)."""
    total = _REPLY_PRIMING
    for text in texts:
        total += _PER_MESSAGE + count_tokens(text, model)
    return total
