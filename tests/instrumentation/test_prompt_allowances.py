"""What the budget guard reserves for prompt content that is not message text — images,
documents, audio, video, system blocks, tool definitions — through the real SDKs on the simulator.

Each value is the prompt part of the recorded reservation (its output part, the request's cap of
10, taken off). Anthropic and Gemini estimates carry the guard's margin: ceil(n x 1.1) + 8.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest
from google import genai
from google.genai import types

from otel_llmcost.budgets import BudgetGuard
from otel_llmcost.pricing import Pricer
from otel_llmcost.simulator import Simulator
from tests.budgets._recording import guarded, recording_guard, store_of
from tests.conftest import Otel

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n not really an image").decode()
PDF = base64.b64encode(b"%PDF-1.7 not really a document").decode()
HI_TEXT = {"type": "text", "text": "hi"}


@pytest.fixture
def guard(otel: Otel, pricer: Pricer) -> Iterator[BudgetGuard]:
    with guarded(otel, pricer, recording_guard(pricer)) as active:
        yield active


def prompt_reserved(guard: BudgetGuard) -> list[int]:
    return [charge.tokens - 10 for charge in store_of(guard).reserved]


# --- Anthropic ----------------------------------------------------------------------------------


def claude_prompts(sim: Simulator, *requests: dict[str, Any]) -> list[int]:
    with anthropic.Anthropic(base_url=sim.anthropic_base_url, api_key="test", max_retries=0) as client:
        return [
            client.messages.create(model="claude-haiku-4-5", max_tokens=10, **request).usage.input_tokens
            for request in requests
        ]


def test_anthropic_images_and_documents(guard: BudgetGuard, sim: Simulator) -> None:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}
    pdf = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": PDF}}
    url_pdf = {"type": "document", "source": {"type": "url", "url": "https://example.com/a.pdf"}}
    text_doc = {
        "type": "document",
        "title": "Notes",
        "source": {"type": "text", "media_type": "text/plain", "data": "hello world"},
    }
    billed = claude_prompts(
        sim,
        {"messages": [{"role": "user", "content": [HI_TEXT]}]},
        {"messages": [{"role": "user", "content": [image, HI_TEXT]}]},
        {"messages": [{"role": "user", "content": [image, image, HI_TEXT]}]},
        {"messages": [{"role": "user", "content": [pdf, HI_TEXT]}]},
        {"messages": [{"role": "user", "content": [url_pdf, HI_TEXT]}]},
        {"messages": [{"role": "user", "content": [text_doc, HI_TEXT]}]},
    )
    assert prompt_reserved(guard) == [
        17,  # "hi": 3 + 4 + 1 = 8 -> 17
        5280,  # + one image, 4,784: 4,792 -> 5,280
        10_542,  # + two images: 9,576 -> 10,542
        8580,  # + a PDF as one page, 3,000 text + 4,784 image: 7,792 -> 8,580
        8580,  # a PDF by URL: the same page
        23,  # a text document is counted: "Notes\nhello world\nhi" = 6 tokens: 13 -> 23
    ]
    assert billed == [8] * 6  # the simulator bills message text only


def test_anthropic_system_blocks_tool_results_and_tool_choice(guard: BudgetGuard, sim: Simulator) -> None:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}
    turns = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "shot", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": [image]}]},
    ]
    tool = {"name": "shot", "description": "Take a screenshot.", "input_schema": {"type": "object"}}
    billed = claude_prompts(
        sim,
        {"system": [{"type": "text", "text": "Be brief."}], "messages": [{"role": "user", "content": "hi"}]},
        {"messages": turns},
        {"messages": [{"role": "user", "content": "hi"}], "tools": [tool]},
        {"messages": [{"role": "user", "content": "hi"}], "tools": [tool], "tool_choice": {"type": "any"}},
    )
    assert prompt_reserved(guard) == [
        25,  # system block "Be brief." (3) + "hi": 3 + 4 + 3 + 4 + 1 = 15 -> 25
        5290,  # 3 + (4+1) + (4+1 for "{}") + 4 + the image nested in the tool result: 4,801 -> 5,290
        423,  # "hi" + the tool's JSON (19) + 4 + the tool-use system prompt (346): 377 -> 423
        433,  # + tool_choice {"type":"any"} (5) + 4: 386 -> 433
    ]
    # The simulator bills text and the tools' JSON (no images, no tool-use system prompt).
    assert billed == [15, 17, 29, 29]


# --- OpenAI -------------------------------------------------------------------------------------


def test_openai_chat_images_files_and_audio(guard: BudgetGuard, sim: Simulator) -> None:
    image = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}
    file = {"type": "file", "file": {"filename": "a.pdf", "file_data": f"data:application/pdf;base64,{PDF}"}}
    audio = {"type": "input_audio", "input_audio": {"data": PNG, "format": "wav"}}
    with openai.OpenAI(base_url=sim.openai_base_url, api_key="test", max_retries=0) as client:
        for model, part in (("gpt-4o", image), ("gpt-4o-mini", image), ("gpt-4o", file), ("gpt-4o", audio)):
            content: Any = [HI_TEXT, part]
            client.chat.completions.create(
                model=model, max_tokens=10, messages=[{"role": "user", "content": content}]
            )
    # Exact tokenizer, no margin: "hi" is 8.
    assert prompt_reserved(guard) == [
        3787,  # + an image: 1,536 patches x 2.46
        48_177,  # + a gpt-4o-mini image: 2,833 + 8 x 5,667
        6787,  # + a file as one PDF page: 3,000 text + 3,779 image
        1928,  # + a minute of audio at 32 tokens a second
    ]


def test_openai_responses_images_and_files(guard: BudgetGuard, sim: Simulator) -> None:
    image = {"type": "input_image", "image_url": f"data:image/png;base64,{PNG}", "detail": "high"}
    file = {"type": "input_file", "filename": "a.pdf", "file_data": f"data:application/pdf;base64,{PDF}"}
    with openai.OpenAI(base_url=sim.openai_base_url, api_key="test", max_retries=0) as client:
        for part in (image, file):
            text: Any = {"type": "input_text", "text": "hi"}
            client.responses.create(
                model="gpt-4.1", max_output_tokens=10, input=[{"role": "user", "content": [text, part]}]
            )
    assert prompt_reserved(guard) == [3787, 6787]


# --- Gemini -------------------------------------------------------------------------------------


def lookup(query: str) -> str:
    """Look a word up."""
    return query


@pytest.fixture
def gem(sim: Simulator) -> Iterator[genai.Client]:
    client = genai.Client(api_key="test", http_options=types.HttpOptions(base_url=sim.url))
    yield client
    client.close()


def gemini_prompts(gem: genai.Client, *calls: tuple[Any, dict[str, Any]]) -> list[int | None]:
    billed = []
    for contents, extra in calls:
        config = types.GenerateContentConfig(max_output_tokens=10, **extra)
        response = gem.models.generate_content(model="gemini-2.5-flash", contents=contents, config=config)
        billed.append(response.usage_metadata.prompt_token_count if response.usage_metadata else None)
    return billed


def test_gemini_media_parts(guard: BudgetGuard, gem: genai.Client) -> None:
    def blob(data: bytes, mime: str) -> types.Part:
        return types.Part.from_bytes(data=data, mime_type=mime)

    video = types.Part.from_uri(file_uri="https://example.com/clip.mp4", mime_type="video/mp4")
    gemini_prompts(
        gem,
        (["hi"], {}),
        ([blob(b"png", "image/png"), "hi"], {}),
        ([blob(b"%PDF", "application/pdf"), "hi"], {}),
        ([blob(b"mp3", "audio/mpeg"), "hi"], {}),
        ([video, "hi"], {}),
        ([blob(b"hello world", "text/plain"), "hi"], {}),
    )
    assert prompt_reserved(guard) == [
        17,  # "hi": 8 -> 17
        4558,  # + an image, at most 16 tiles of 258: 4,136 -> 4,558
        7858,  # + a PDF as one page, 3,000 text + 4,128 image: 7,136 -> 7,858
        2129,  # + a minute of audio, 32 a second: 1,928 -> 2,129
        17_375,  # + a minute of video, 263 a second: 15,788 -> 17,375
        19,  # inline text is counted: "hello world" = 2: 10 -> 19
    ]


def test_gemini_system_tools_and_cached_content(guard: BudgetGuard, gem: genai.Client) -> None:
    declared = types.Tool(
        function_declarations=[types.FunctionDeclaration(name="lookup", description="Look up.")]
    )
    mode = types.ToolConfig(
        function_calling_config=types.FunctionCallingConfig(mode=types.FunctionCallingConfigMode.ANY)
    )
    no_afc = types.AutomaticFunctionCallingConfig(disable=True)
    billed = gemini_prompts(
        gem,
        ("hi", {"system_instruction": "Be brief."}),
        ("hi", {"tools": [declared], "automatic_function_calling": no_afc}),
        ("hi", {"tools": [declared], "tool_config": mode, "automatic_function_calling": no_afc}),
        ("hi", {"tools": [lookup], "automatic_function_calling": no_afc}),
        ("hi", {"cached_content": "cachedContents/abc"}),
    )
    assert prompt_reserved(guard) == [
        25,  # "Be brief." (3) + "hi": 15 -> 25
        39,  # "hi" + the declaration's JSON (16) + 4: 28 -> 39
        55,  # + the tool config's JSON (10) + 4: 42 -> 55
        76,  # "hi" + a Python function, declared as the SDK declares it (49) + 4: 61 -> 76
        17,  # a cached_content reference is not counted (its size is unknown before the call)
    ]
    # What the simulator bills (it counts text and the wire JSON of the tools) is never more.
    assert billed == [15, 25, 25, 58, 8]
