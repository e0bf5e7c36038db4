"""Deterministic token counts, reply text and embedding vectors.

Prompt-token formula (every chat-like endpoint of every provider)::

    prompt = 3 + sum(3 + tokens(role) + tokens(text of the message))   over messages
           + tokens(canonical JSON of the tools), when tools are given

where ``tokens`` is ``len(o200k_base.encode(s))`` (quicktok, offline) and a system
prompt / instructions count as a message with role ``system``. It follows OpenAI's
published estimate (3 tokens per message, 3 to prime the reply); it is deterministic, not
a claim about any provider's real tokenizer. Plain-text endpoints (legacy completions,
embeddings, Gemini embeddings) count ``tokens(text)`` with no overhead.

The reply is words cycled from ``REPLY_WORDS``, starting at an offset seeded by the
model name. Each word is exactly one o200k token with or without a leading space, so a
reply of *n* words is exactly *n* tokens and each stream delta of one word is one token.
"""

from __future__ import annotations

import json
import math
import random
import struct
import threading
import zlib
from collections.abc import Iterable
from typing import Any, Protocol

ENCODING = "o200k_base"
MESSAGE_OVERHEAD = 3
REPLY_PRIMING = 3

#: One o200k token each, with and without a leading space (checked by the tests).
REPLY_WORDS = ("sit", "amet", "elit", "sed", "do", "tempor", "ut", "et", "ad", "quis", "ex", "ea")


class _Encoding(Protocol):
    def count(self, text: str) -> int: ...


_encoding: _Encoding | None = None
_encoding_lock = threading.Lock()


def _get_encoding() -> _Encoding:
    global _encoding
    if _encoding is None:
        with _encoding_lock:
            if _encoding is None:
                import quicktok  # lazy: loading the vocabulary takes a moment

                _encoding = quicktok.get_encoding(ENCODING)
    return _encoding


def count(text: str) -> int:
    """Number of o200k_base tokens in ``text`` (0 for the empty string)."""
    return _get_encoding().count(text) if text else 0


def chat_prompt_tokens(messages: Iterable[tuple[str, str]], tools: object = None) -> int:
    """The documented prompt formula over ``(role, text)`` pairs plus optional tools."""
    total = REPLY_PRIMING
    for role, text in messages:
        total += MESSAGE_OVERHEAD + count(role) + count(text)
    if tools:
        total += count(_canonical(tools))
    return total


def text_of(value: Any) -> str:
    """All human text inside a message content value, joined by newlines.

    Handles the shapes the three providers use: a plain string, a list of parts, or a
    part/mapping with ``text`` (text parts), ``content`` (nested content / tool results),
    ``parts`` (Gemini), ``output`` (Responses tool output), or ``arguments`` / ``args`` /
    ``input`` of tool calls (serialised as JSON when not a string). Binary parts (images,
    audio) carry no text and count as nothing.
    """
    pieces: list[str] = []
    _collect(value, pieces)
    return "\n".join(p for p in pieces if p)


def _collect(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, list):
        for item in value:
            _collect(item, out)
    elif isinstance(value, dict):
        for key in ("text", "content", "parts", "output", "arguments", "tool_calls", "function"):
            if key in value:
                _collect(value[key], out)
        for key in ("args", "input", "functionCall", "functionResponse"):
            if key in value:
                item = value[key]
                out.append(item if isinstance(item, str) else _canonical(item))


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def reply_words(model: str, n: int) -> list[str]:
    """``n`` reply words for ``model``; the first without, the others with, a leading space."""
    start = zlib.crc32(model.encode()) % len(REPLY_WORDS)
    words = [REPLY_WORDS[(start + i) % len(REPLY_WORDS)] for i in range(n)]
    return [w if i == 0 else " " + w for i, w in enumerate(words)]


def chunk_words(words: list[str], per_chunk: int) -> list[str]:
    """Group reply words into stream deltas of ``per_chunk`` tokens each."""
    return ["".join(words[i : i + per_chunk]) for i in range(0, len(words), per_chunk)]


def embedding(text: str, dims: int, model: str = "") -> list[float]:
    """A deterministic unit vector of ``dims`` float32-representable values for ``text``."""
    rng = random.Random(zlib.crc32(f"{model}\x00{text}".encode()))
    raw = [rng.uniform(-1.0, 1.0) for _ in range(dims)]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    # Round through float32 so the JSON floats and the base64 form hold the same numbers.
    return [struct.unpack("<f", struct.pack("<f", x / norm))[0] for x in raw]


def embedding_base64(values: list[float]) -> str:
    """OpenAI's ``encoding_format: base64``: little-endian float32 bytes, base64-encoded."""
    import base64

    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()
