"""Gemini contents, read without touching them: semconv messages, prompt texts, fingerprints.

google-genai accepts a string, a ``Part``, a ``Content``, their dict forms, or a list mixing them
(consecutive parts form one user turn, as ``t_contents`` groups them). We read these shapes
ourselves rather than call the SDK's transformers, which may convert (and so copy or validate)
the application's objects.

Prompt texts (budget reservations, usage-less streams) hold the system instruction, each turn,
and each tool declaration and the tool config as JSON; a part that is not text (an image, a PDF,
audio or video, inline or by URI) carries the allowance of :mod:`..._tokens` for its MIME type.
A ``cached_content`` reference is not counted: its size is unknown before the call.
"""

from __future__ import annotations

import base64
import hashlib
import inspect
import json
from collections.abc import Mapping
from typing import Any

from otel_llmcost._sdk_fields import is_mapping
from otel_llmcost.instrumentation._tokens import (
    AUDIO_MINUTE_TOKENS,
    GEMINI_IMAGE_TOKENS,
    GEMINI_PDF_PAGE_TOKENS,
    GEMINI_VIDEO_MINUTE_TOKENS,
    count_tokens,
    json_text,
    with_allowance,
)

__all__ = [
    "config_get",
    "content_texts",
    "enum_value",
    "field",
    "input_messages",
    "output_message",
    "part_texts",
    "prompt_texts",
    "semconv_parts",
    "system_texts",
    "tool_names",
]

_ROLES = {"model": "assistant", "user": "user", "system": "system", "function": "tool", "tool": "tool"}
# Gemini finish reasons -> the semconv output-message finish_reason values.
_FINISH = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "IMAGE_PROHIBITED_CONTENT": "content_filter",
    "MALFORMED_FUNCTION_CALL": "error",
    "UNEXPECTED_TOOL_CALL": "error",
}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.title() for word in rest)


def field(obj: Any, name: str) -> Any:
    """``obj.name`` of an SDK object, or ``obj[name]`` / ``obj[camelName]`` of a mapping."""
    if obj is None:
        return None
    if is_mapping(obj):
        value = obj.get(name)
        return obj.get(_camel(name)) if value is None else value
    return getattr(obj, name, None)


def config_get(config: Any, name: str) -> Any:
    """A ``GenerateContentConfig`` / ``EmbedContentConfig`` field; configs may be dicts."""
    return field(config, name)


def enum_value(value: Any) -> str | None:
    """An SDK enum's wire string (``FinishReason.STOP`` -> ``STOP``); strings pass through."""
    if value is None:
        return None
    raw = getattr(value, "value", value)
    return str(raw)


def _is_content(item: Any) -> bool:
    if isinstance(item, Mapping):
        return "parts" in item or "role" in item
    return hasattr(item, "parts") and hasattr(item, "role")


def _parts_of(content: Any) -> list[Any]:
    if isinstance(content, (str, bytes)) or not _is_content(content):
        return [content]
    parts = field(content, "parts")
    if parts is None:
        return []
    return list(parts) if isinstance(parts, (list, tuple)) else [parts]


def _turns(contents: Any) -> list[tuple[str, list[Any]]]:
    """(role, parts) per turn, grouping consecutive bare parts into one user turn."""
    if contents is None:
        return []
    items = list(contents) if isinstance(contents, (list, tuple)) else [contents]
    turns: list[tuple[str, list[Any]]] = []
    loose: list[Any] = []
    for item in items:
        if _is_content(item):
            if loose:
                turns.append(("user", loose))
                loose = []
            turns.append((str(field(item, "role") or "user"), _parts_of(item)))
        else:
            loose.append(item)
    if loose:
        turns.append(("user", loose))
    return turns


def _dump(value: Any) -> Any:
    """A JSON-able view of an SDK value (pydantic models dump, bytes become base64)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Mapping):
        return {str(k): _dump(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_dump(v) for v in value]
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json", exclude_none=True)
    return str(value)


def _semconv_part(part: Any, digests: bool = False) -> dict[str, Any]:
    """One part in the GenAI semconv message-part shape.

    Inline bytes are never copied; with ``digests`` (fingerprints) a blob carries a hash of them,
    so two prompts that differ only in an image do not look alike.
    """
    if isinstance(part, str):
        return {"type": "text", "content": part}
    text = field(part, "text")
    if text is not None:
        kind = "reasoning" if field(part, "thought") else "text"
        return {"type": kind, "content": text}
    call = field(part, "function_call")
    if call is not None:
        tool_call: dict[str, Any] = {
            "type": "tool_call",
            "name": field(call, "name"),
            "arguments": _dump(field(call, "args")),
        }
        if field(call, "id"):
            tool_call["id"] = field(call, "id")
        return tool_call
    answer = field(part, "function_response")
    if answer is not None:
        result: dict[str, Any] = {"type": "tool_call_response", "response": _dump(field(answer, "response"))}
        if field(answer, "id"):
            result["id"] = field(answer, "id")
        return result
    blob = field(part, "inline_data")
    if blob is not None:
        described = {"type": "blob", "mime_type": field(blob, "mime_type")}
        data = field(blob, "data")
        if digests and isinstance(data, (bytes, str)):
            raw = data.encode() if isinstance(data, str) else data
            described["sha256"] = hashlib.sha256(raw).hexdigest()
        return described
    file = field(part, "file_data")
    if file is not None:
        return {"type": "uri", "mime_type": field(file, "mime_type"), "uri": field(file, "file_uri")}
    return {"type": type(part).__name__}


def semconv_parts(parts: Any) -> list[dict[str, Any]]:
    """Parts in the GenAI semconv message-part shape."""
    return [_semconv_part(p) for p in parts or ()]


def part_texts(parts: Any) -> list[str]:
    """The text a list of parts carries (text, tool-call arguments, tool results) for token estimates."""
    texts: list[str] = []
    for part in parts or ():
        piece = _semconv_part(part)
        if piece["type"] in ("text", "reasoning"):
            texts.append(str(piece["content"]))
        elif piece["type"] == "tool_call":
            texts.append(f"{piece.get('name') or ''}{_as_json(piece.get('arguments'))}")
        elif piece["type"] == "tool_call_response":
            texts.append(_as_json(piece.get("response")))
    return texts


def _as_json(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def input_messages(contents: Any, *, digests: bool = False) -> list[dict[str, Any]]:
    """Semconv ``gen_ai.input.messages`` for Gemini ``contents``."""
    return [
        {"role": _ROLES.get(role, role), "parts": [_semconv_part(p, digests) for p in parts]}
        for role, parts in _turns(contents)
    ]


def system_texts(config: Any) -> list[str]:
    """The texts of ``config.system_instruction`` (a string, part, content or a list of them)."""
    instruction = config_get(config, "system_instruction")
    if instruction is None:
        return []
    texts: list[str] = []
    for _, parts in _turns(instruction):
        texts.extend(part_texts(parts))
    return texts


def prompt_texts(contents: Any, config: Any) -> list[str]:
    """One text per message (the system instruction first), then one per tool declaration and
    the tool config, for offline token estimates. Parts that are not text carry an allowance."""
    texts: list[str] = []
    instruction = config_get(config, "system_instruction")
    if instruction is not None:
        system_parts = [part for _, parts in _turns(instruction) for part in parts]
        texts.append(_prompt_text(system_parts))
    texts.extend(_prompt_text(parts) for _, parts in _turns(contents))
    tools = config_get(config, "tools")
    if isinstance(tools, (list, tuple)):  # never a one-shot iterable the SDK must consume
        texts.extend(_tool_text(tool) for tool in tools)
    tool_config = config_get(config, "tool_config")
    if tool_config is not None:
        texts.append(json_text(tool_config))
    return texts


def _prompt_text(parts: list[Any]) -> str:
    return with_allowance("\n".join(part_texts(parts)), sum(_allowance(part) for part in parts))


def _allowance(part: Any) -> int:
    """Tokens reserved for a part that is not text (0 for text, tool calls and results)."""
    if isinstance(part, str) or field(part, "text") is not None:
        return 0
    blob = field(part, "inline_data")
    if blob is not None:
        return _media_tokens(enum_value(field(blob, "mime_type")), field(blob, "data"))
    file = field(part, "file_data")
    if file is not None:
        return _media_tokens(enum_value(field(file, "mime_type")), None)
    if type(part).__module__.startswith("PIL."):  # google-genai sends PIL images inline
        return GEMINI_IMAGE_TOKENS
    mime = field(part, "mime_type")  # an uploaded types.File passed as a part
    if isinstance(mime, str) and field(part, "uri") is not None:
        return _media_tokens(mime, None)
    return 0


def _media_tokens(mime: str | None, data: Any) -> int:
    kind = (mime or "").lower()
    if kind.startswith("image/"):
        return GEMINI_IMAGE_TOKENS
    if kind.startswith("audio/"):
        return AUDIO_MINUTE_TOKENS
    if kind.startswith("text/") and isinstance(data, (bytes, str)):  # inline text: count it
        return count_tokens(_decoded(data))
    if kind.startswith("video/") or not kind:  # unknown: the largest allowance
        return GEMINI_VIDEO_MINUTE_TOKENS
    return GEMINI_PDF_PAGE_TOKENS  # a PDF (one page) or another document


def _decoded(data: bytes | str) -> str:
    """Inline text data: bytes, or the base64 string of a dict-form blob."""
    raw = data
    if isinstance(data, str):
        try:
            raw = base64.b64decode(data)
        except ValueError:
            return data
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw


def _tool_text(tool: Any) -> str:
    """A tool as the model reads it: its declarations' JSON. A Python function (automatic
    function calling) is declared the way the SDK declares it (falling back to its name,
    signature and docstring)."""
    if callable(tool) and not hasattr(tool, "model_dump"):
        try:
            from google.genai import types

            declared = types.FunctionDeclaration.from_callable_with_api_option(
                callable=tool, use_json_schema=True
            )
            return json_text({"function_declarations": [declared]})
        except Exception:
            try:
                signature = str(inspect.signature(tool))
            except (TypeError, ValueError):
                signature = ""
            name = getattr(tool, "__qualname__", type(tool).__name__)
            return json_text(
                {"name": name, "parameters": signature, "description": inspect.getdoc(tool) or ""}
            )
    return json_text(tool)


def content_texts(contents: Any) -> list[str]:
    """One text per embedded content: each list item of ``embed_content(contents=...)`` is embedded apart."""
    items = list(contents) if isinstance(contents, (list, tuple)) else [contents]
    return ["\n".join(part_texts(_parts_of(item))) for item in items if item is not None]


def tool_names(config: Any) -> list[Any]:
    """A stable, JSON-able description of the tools (Python callables by name, not address)."""
    described: list[Any] = []
    for tool in config_get(config, "tools") or ():
        if callable(tool) and not hasattr(tool, "model_dump"):
            described.append(getattr(tool, "__qualname__", type(tool).__name__))
        else:
            described.append(_dump(tool))
    return described


def output_message(candidate: Any) -> dict[str, Any]:
    """Semconv ``gen_ai.output.messages`` entry for one candidate."""
    content = field(candidate, "content")
    reason = enum_value(field(candidate, "finish_reason"))
    return {
        "role": "assistant",
        "parts": [_semconv_part(p) for p in _parts_of(content)] if content is not None else [],
        "finish_reason": _FINISH.get(reason or "", (reason or "stop").lower()),
    }
