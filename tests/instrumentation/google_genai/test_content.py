"""Opt-in content capture: semconv input, system and output messages; fingerprints."""

from __future__ import annotations

import json
from typing import Any

import pytest
from google import genai
from google.genai import types

from otel_llmcost.simulator import Simulator, UsageRule
from tests.instrumentation.conftest import Otel

from .conftest import only_span

pytestmark = pytest.mark.usefixtures("instrumented")


@pytest.fixture
def instrumentor_kwargs() -> dict[str, Any]:
    return {"capture_content": True}


def test_generate_content_messages(otel: Otel, sim: Simulator, gem: genai.Client) -> None:
    sim.set_rule("gemini-2.5-*", UsageRule(prompt_tokens=10, completion_tokens=3))
    config = types.GenerateContentConfig(system_instruction="Be brief.")
    contents = [
        types.Content(role="user", parts=[types.Part(text="hi")]),
        types.Content(role="model", parts=[types.Part(text="hello")]),
        "how are you?",
    ]
    response = gem.models.generate_content(model="gemini-2.5-flash", contents=contents, config=config)
    attrs = only_span(otel).attributes or {}
    assert json.loads(str(attrs["gen_ai.system_instructions"])) == [{"type": "text", "content": "Be brief."}]
    assert json.loads(str(attrs["gen_ai.input.messages"])) == [
        {"role": "user", "parts": [{"type": "text", "content": "hi"}]},
        {"role": "assistant", "parts": [{"type": "text", "content": "hello"}]},
        {"role": "user", "parts": [{"type": "text", "content": "how are you?"}]},
    ]
    assert json.loads(str(attrs["gen_ai.output.messages"])) == [
        {"role": "assistant", "parts": [{"type": "text", "content": response.text}], "finish_reason": "stop"}
    ]


def test_stream_output_is_joined(otel: Otel, sim: Simulator, gem: genai.Client) -> None:
    config = types.GenerateContentConfig(max_output_tokens=5)
    chunks = list(gem.models.generate_content_stream(model="gemini-2.5-flash", contents="hi", config=config))
    text = "".join(c.text or "" for c in chunks)
    attrs = only_span(otel).attributes or {}
    assert json.loads(str(attrs["gen_ai.output.messages"])) == [
        {"role": "assistant", "parts": [{"type": "text", "content": text}], "finish_reason": "length"}
    ]


def test_fingerprint_ignores_the_contents_spelling(otel: Otel, sim: Simulator, gem: genai.Client) -> None:
    gem.models.generate_content(model="gemini-2.5-flash", contents="same prompt")
    as_dict = [{"role": "user", "parts": [{"text": "same prompt"}]}]
    gem.models.generate_content(model="gemini-2.5-flash", contents=as_dict)
    gem.models.generate_content(model="gemini-2.5-flash", contents="other prompt")
    prints = [(s.attributes or {})["llmcost.prompt.fingerprint"] for s in otel.genai_spans()]
    assert prints[0] == prints[1] != prints[2]
    assert sim.requests[0].body == sim.requests[1].body


def test_binary_parts_are_described_never_copied(otel: Otel, sim: Simulator, gem: genai.Client) -> None:
    for data in (b"\x89PNG one", b"\x89PNG two"):
        image = types.Part.from_bytes(data=data, mime_type="image/png")
        gem.models.generate_content(model="gemini-2.5-flash", contents=[image, "what is this?"])
    first, second = (s.attributes or {} for s in otel.genai_spans())
    assert json.loads(str(first["gen_ai.input.messages"])) == [
        {
            "role": "user",
            "parts": [
                {"type": "blob", "mime_type": "image/png"},
                {"type": "text", "content": "what is this?"},
            ],
        }
    ]
    assert first["llmcost.prompt.fingerprint"] != second["llmcost.prompt.fingerprint"]
