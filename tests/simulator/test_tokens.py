"""Deterministic token counting, reply text and embedding vectors."""

from __future__ import annotations

import base64
import math
import struct

import pytest
import quicktok

from otel_llmcost.simulator._tokens import (
    REPLY_WORDS,
    chat_prompt_tokens,
    count,
    embedding,
    embedding_base64,
    reply_words,
    text_of,
)

ENC = quicktok.get_encoding("o200k_base")


def test_every_reply_word_is_one_token_with_or_without_space() -> None:
    for word in REPLY_WORDS:
        assert len(ENC.encode(word)) == 1 and len(ENC.encode(" " + word)) == 1


@pytest.mark.parametrize("model", ["gpt-4o", "claude-opus-4-1", "gemini-2.5-flash", ""])
def test_reply_of_n_words_is_exactly_n_tokens(model: str) -> None:
    for n in (0, 1, 2, 13, 50, 257):
        words = reply_words(model, n)
        assert len(words) == n and count("".join(words)) == n
    assert reply_words(model, 5) == reply_words(model, 5)


def test_reply_depends_on_model() -> None:
    assert reply_words("gpt-4o", 1) != reply_words("claude-x", 1)


def test_chat_formula_and_tools() -> None:
    assert chat_prompt_tokens([]) == 3
    assert chat_prompt_tokens([("user", "hello")]) == 3 + 3 + count("user") + count("hello")
    tools = [{"type": "function", "function": {"name": "f"}}]
    assert chat_prompt_tokens([("user", "")], tools) == 3 + 3 + count("user") + count(
        '[{"function":{"name":"f"},"type":"function"}]'
    )


def test_text_of_handles_provider_shapes() -> None:
    assert text_of("plain") == "plain"
    assert text_of([{"type": "text", "text": "a"}, {"type": "image_url", "image_url": {"url": "x"}}]) == "a"
    assert (
        text_of([{"text": "g1"}, {"functionCall": {"name": "f", "args": {"x": 1}}}])
        == 'g1\n{"args":{"x":1},"name":"f"}'
    )
    assert text_of({"type": "tool_result", "content": [{"type": "text", "text": "r"}]}) == "r"
    assert text_of(None) == ""


def test_embedding_is_deterministic_unit_float32() -> None:
    vector = embedding("hello", 16, "m")
    assert vector == embedding("hello", 16, "m") != embedding("hello!", 16, "m")
    assert math.isclose(math.sqrt(sum(x * x for x in vector)), 1.0, rel_tol=1e-6)
    decoded = list(struct.unpack("<16f", base64.b64decode(embedding_base64(vector))))
    assert decoded == vector
