"""Prompt and completion content of chat and Responses calls.

Two uses: the prompt's texts feed offline token estimates (always), and semconv-shaped
``gen_ai.input.messages`` / ``gen_ai.output.messages`` (only when content capture is on — the
core calls these lazily). Only list/tuple prompts are read; see :func:`._common.listed`.

The prompt texts hold each message, then each tool (or legacy function) definition as JSON and
``tool_choice`` / ``function_call``; images, files and audio carry the allowances of
:mod:`.._tokens` (which depend on the model for images).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from otel_llmcost._sdk_fields import is_mapping
from otel_llmcost.instrumentation._tokens import (
    AUDIO_MINUTE_TOKENS,
    OPENAI_IMAGE_TOKENS,
    OPENAI_MINI_IMAGE_TOKENS,
    PAGE_TEXT_TOKENS,
    json_text,
    with_allowance,
)
from otel_llmcost.instrumentation.openai._common import get, listed

__all__ = [
    "TOOL_CALL_ITEMS",
    "chat_input_messages",
    "chat_output_messages",
    "chat_prompt_texts",
    "completion_text",
    "responses_input_messages",
    "responses_output_messages",
    "responses_output_text",
    "responses_prompt_texts",
    "text_of",
    "tool_texts",
]

#: Responses output items that hand control back to the application (it must run a tool).
TOOL_CALL_ITEMS = frozenset(
    {
        "function_call",
        "custom_tool_call",
        "computer_call",
        "local_shell_call",
        "shell_call",
        "apply_patch_call",
    }
)
_TEXT_PARTS = frozenset({"text", "input_text", "output_text", "refusal"})


def text_of(content: Any) -> str:
    """The text of a message's content: a string, or the text parts of a list of parts."""
    if isinstance(content, str):
        return content
    parts = listed(content)
    if parts is None:
        return ""
    texts = []
    for part in parts:
        if isinstance(part, str):
            texts.append(part)
        elif get(part, "type") in _TEXT_PARTS:
            texts.append(get(part, "text") or get(part, "refusal") or "")
    return "\n".join(t for t in texts if t)


def _image_tokens(model: str | None) -> int:
    """The allowance of one image: gpt-4o-mini bills images at 33 times the tokens."""
    name = (model or "").lower().rsplit("/", 1)[-1]
    return OPENAI_MINI_IMAGE_TOKENS if name.startswith("gpt-4o-mini") else OPENAI_IMAGE_TOKENS


def _allowance(content: Any, model: str | None) -> int:
    """Tokens reserved for the images, files and audio among the content's parts."""
    extra = 0
    for part in listed(content) or ():
        kind = get(part, "type")
        if kind in ("image_url", "input_image"):
            extra += _image_tokens(model)
        elif kind in ("file", "input_file"):  # a PDF: one page, its text and its image
            extra += PAGE_TEXT_TOKENS + _image_tokens(model)
        elif kind == "input_audio":
            extra += AUDIO_MINUTE_TOKENS
    return extra


def _prompt_text(content: Any, model: str | None) -> str:
    """:func:`text_of` carrying the allowance of the content's images, files and audio."""
    return with_allowance(text_of(content), _allowance(content, model))


def tool_texts(tools: Sequence[Any] | None, *choices: Any) -> list[str]:
    """One text per tool (or legacy function) definition — its JSON — and one per choice
    (``tool_choice``, ``function_call``) the request sets."""
    texts = [json_text(tool) for tool in tools or ()]
    texts += [json_text(c) for c in choices if isinstance(c, str) or (c is not None and is_mapping(c))]
    return texts


def _text_parts(text: str) -> list[dict[str, Any]]:
    return [{"type": "text", "content": text}] if text else []


def _tool_call_part(call_id: Any, name: Any, arguments: Any) -> dict[str, Any]:
    return {"type": "tool_call", "id": call_id, "name": name, "arguments": arguments}


# --- chat completions -------------------------------------------------------------------------


def chat_prompt_texts(messages: Sequence[Any], model: str | None = None) -> list[str]:
    texts = []
    for message in messages:
        content = get(message, "content")
        text = text_of(content)
        for tool_call in listed(get(message, "tool_calls")) or ():
            function = get(tool_call, "function")
            text += f"\n{get(function, 'name') or ''}{get(function, 'arguments') or ''}"
        texts.append(with_allowance(text, _allowance(content, model)))
    return texts


def chat_input_messages(messages: Sequence[Any]) -> list[dict[str, Any]]:
    result = []
    for message in messages:
        role = get(message, "role")
        text = text_of(get(message, "content"))
        if role == "tool":
            parts = [{"type": "tool_call_response", "id": get(message, "tool_call_id"), "response": text}]
        else:
            parts = _text_parts(text)
            for tool_call in listed(get(message, "tool_calls")) or ():
                function = get(tool_call, "function")
                parts.append(
                    _tool_call_part(get(tool_call, "id"), get(function, "name"), get(function, "arguments"))
                )
        result.append({"role": role, "parts": parts})
    return result


def completion_text(choices: Sequence[Any]) -> str:
    """All generated text of a chat (``message``) or legacy (``text``) answer, for estimates."""
    texts = []
    for choice in choices:
        message = get(choice, "message")
        if message is None:
            texts.append(get(choice, "text") or "")
            continue
        texts.append(text_of(get(message, "content")) + (get(message, "refusal") or ""))
        for tool_call in get(message, "tool_calls") or ():
            function = get(tool_call, "function")
            texts.append((get(function, "name") or "") + (get(function, "arguments") or ""))
    return "".join(texts)


def chat_output_messages(choices: Sequence[Any]) -> list[dict[str, Any]]:
    result = []
    for choice in choices:
        message = get(choice, "message")
        text = text_of(get(message, "content")) if message is not None else get(choice, "text") or ""
        parts = _text_parts(text)
        for tool_call in get(message, "tool_calls") or ():
            function = get(tool_call, "function")
            parts.append(
                _tool_call_part(get(tool_call, "id"), get(function, "name"), get(function, "arguments"))
            )
        result.append({"role": "assistant", "parts": parts, "finish_reason": get(choice, "finish_reason")})
    return result


# --- responses ----------------------------------------------------------------------------------


def _input_items(value: Any) -> Sequence[Any]:
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    return listed(value) or ()


def responses_prompt_texts(instructions: Any, input_value: Any, model: str | None = None) -> list[str]:
    texts = [instructions] if isinstance(instructions, str) and instructions else []
    for item in _input_items(input_value):
        if get(item, "role") is not None:
            texts.append(_prompt_text(get(item, "content"), model))
        elif isinstance(get(item, "output"), (list, tuple)):  # a tool output of content parts
            texts.append(_prompt_text(get(item, "output"), model))
        else:  # tool calls and their outputs carry their payload in other fields
            texts.append(str(get(item, "arguments") or get(item, "output") or get(item, "input") or ""))
    return texts


def responses_input_messages(instructions: Any, input_value: Any) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    if isinstance(instructions, str) and instructions:
        result.append({"role": "system", "parts": _text_parts(instructions)})
    for item in _input_items(input_value):
        kind = get(item, "type")
        if get(item, "role") is not None:
            result.append({"role": get(item, "role"), "parts": _text_parts(text_of(get(item, "content")))})
        elif kind in TOOL_CALL_ITEMS:
            part = _tool_call_part(get(item, "call_id"), get(item, "name"), get(item, "arguments"))
            result.append({"role": "assistant", "parts": [part]})
        elif get(item, "call_id") is not None:
            part = {"type": "tool_call_response", "id": get(item, "call_id"), "response": get(item, "output")}
            result.append({"role": "tool", "parts": [part]})
    return result


def responses_output_text(body: Any) -> str:
    texts = []
    for item in get(body, "output") or ():
        if get(item, "type") == "message":
            texts.append(text_of(get(item, "content")))
        elif get(item, "type") in TOOL_CALL_ITEMS:
            texts.append(str(get(item, "arguments") or get(item, "input") or ""))
    return "".join(texts)


def responses_output_messages(body: Any, finish_reason: str | None) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for item in get(body, "output") or ():
        if get(item, "type") == "message":
            parts.extend(_text_parts(text_of(get(item, "content"))))
        elif get(item, "type") in TOOL_CALL_ITEMS:
            parts.append(_tool_call_part(get(item, "call_id"), get(item, "name"), get(item, "arguments")))
    return [{"role": "assistant", "parts": parts, "finish_reason": finish_reason}]
