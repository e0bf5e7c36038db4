"""What we know about a Messages call before it is sent: the :class:`Request` and its content.

Everything here reads the caller's keyword arguments and never changes them. Only lists and
tuples are read: ``messages``, ``system`` and ``tools`` may be one-shot iterables that the SDK
itself must consume, and reading them here would change the request the provider sees.

The prompt texts (budget reservations, usage-less streams) are the system prompt, each message
and each tool definition (its JSON, plus the tool-use system prompt Anthropic adds) and
``tool_choice``; images and documents count as the allowances of :mod:`.._tokens`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from opentelemetry.util.types import AttributeValue

from otel_llmcost import semconv as sc
from otel_llmcost._sdk_fields import is_mapping
from otel_llmcost.instrumentation._call import Request
from otel_llmcost.instrumentation._providers import provider_for_url, server_of
from otel_llmcost.instrumentation._settings import Settings
from otel_llmcost.instrumentation._tokens import (
    ANTHROPIC_IMAGE_TOKENS,
    ANTHROPIC_PDF_PAGE_TOKENS,
    ANTHROPIC_TOOL_SYSTEM_TOKENS,
    json_text,
    with_allowance,
)

__all__ = ["build_request", "get", "output_messages"]


def get(obj: Any, name: str) -> Any:
    """Field ``name`` of an SDK model or a plain mapping (request params are TypedDicts)."""
    if is_mapping(obj):
        return obj.get(name)
    return getattr(obj, name, None)


def _sequence(value: Any) -> list[Any] | None:
    return list(value) if isinstance(value, (list, tuple)) else None


def _provider(client: Any, settings: Settings) -> tuple[str, str | None, int | None]:
    # Bedrock and Vertex clients name their platform; a custom base URL (a gateway) keeps it.
    default = getattr(client, "_gen_ai_provider_name", None)
    if not isinstance(default, str) or not default:
        default = sc.PROVIDER_ANTHROPIC
    base_url = getattr(client, "base_url", None)
    url = str(base_url) if base_url is not None else None
    host, port = server_of(url)
    return provider_for_url(url, default, settings.provider_map), host, port


def build_request(instance: Any, kwargs: Mapping[str, Any], settings: Settings, *, stream: bool) -> Request:
    """The :class:`Request` for ``messages.create/stream/parse(**kwargs)`` on resource ``instance``."""
    provider, host, port = _provider(getattr(instance, "_client", None), settings)
    model = kwargs.get("model")
    max_tokens = kwargs.get("max_tokens")
    tier = kwargs.get("service_tier")
    system = kwargs.get("system")
    messages = _sequence(kwargs.get("messages"))
    system_blocks = system if isinstance(system, str) else _sequence(system)
    tools = _sequence(kwargs.get("tools"))
    tool_choice = kwargs.get("tool_choice")
    attributes: dict[str, AttributeValue] = {}
    if settings.capture_content and system_blocks:
        attributes[sc.GEN_AI_SYSTEM_INSTRUCTIONS] = _json(_parts(system_blocks))

    def prompt_texts() -> list[str]:
        texts = [_prompt_text(system_blocks)] if system_blocks else []
        texts += [_prompt_text(get(m, "content")) for m in messages or ()]
        return texts + _tool_texts(tools, tool_choice)

    def fingerprint_payload() -> Any:
        return {"system": system_blocks, "messages": messages, "tools": tools}

    def input_messages() -> list[dict[str, Any]]:
        return [{"role": str(get(m, "role")), "parts": _parts(get(m, "content"))} for m in messages or ()]

    return Request(
        provider=provider,
        operation=sc.OP_CHAT,
        model=model if isinstance(model, str) else None,
        max_tokens=max_tokens if isinstance(max_tokens, int) and not isinstance(max_tokens, bool) else None,
        stream=stream,
        server_address=host,
        server_port=port,
        service_tier=tier if isinstance(tier, str) else None,
        attributes=attributes,
        input_messages=input_messages if messages is not None else None,
        prompt_texts=prompt_texts if messages is not None else None,
        fingerprint_payload=fingerprint_payload if messages is not None else None,
    )


def _text_of(content: Any) -> str:
    """The text an offline tokenizer should count for one message's content."""
    texts: list[str] = []
    _walk(content, texts)
    return "\n".join(texts)


def _prompt_text(content: Any) -> str:
    """:func:`_text_of` carrying the allowance of the content's images and documents."""
    texts: list[str] = []
    extra = _walk(content, texts)
    return with_allowance("\n".join(texts), extra)


def _walk(content: Any, texts: list[str]) -> int:
    """Append the texts of ``content`` (a string or content blocks) to ``texts``; return the
    tokens its images and documents are reserved as."""
    if isinstance(content, str):
        texts.append(content)
        return 0
    extra = 0
    for block in _sequence(content) or ():
        kind = get(block, "type")
        if kind == "image":
            extra += ANTHROPIC_IMAGE_TOKENS
            continue
        if kind == "document":
            texts.extend(v for v in (get(block, "title"), get(block, "context")) if isinstance(v, str))
            extra += _document(get(block, "source"), texts)
            continue
        for field in ("text", "thinking", "content"):
            value = get(block, field)
            if isinstance(value, str):
                texts.append(value)
            elif field == "content" and value is not None:
                extra += _walk(value, texts)  # tool_result blocks nest their content
        tool_input = get(block, "input")
        if tool_input is not None:
            texts.append(_json(tool_input))
    return extra


def _document(source: Any, texts: list[str]) -> int:
    """A document block: plain text and custom content are counted; a PDF (base64, URL or
    file id) is reserved as one page, since its page count is not read here."""
    kind = get(source, "type")
    if kind == "text":
        data = get(source, "data")
        if isinstance(data, str):
            texts.append(data)
        return 0
    if kind == "content":
        return _walk(get(source, "content"), texts)
    return ANTHROPIC_PDF_PAGE_TOKENS


def _tool_texts(tools: list[Any] | None, tool_choice: Any) -> list[str]:
    """One text per tool definition (its JSON: name, description, input schema …), the first
    carrying the tool-use system prompt, and one for ``tool_choice`` when the request sets it."""
    texts = [json_text(tool) for tool in tools or ()]
    if texts:
        texts[0] = with_allowance(texts[0], ANTHROPIC_TOOL_SYSTEM_TOKENS)
    if is_mapping(tool_choice):  # not the SDK's NOT_GIVEN / omit sentinels
        texts.append(json_text(tool_choice))
    return texts


def _parts(content: Any) -> list[dict[str, Any]]:
    """GenAI semconv message parts for Anthropic content (a string or content blocks)."""
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    parts: list[dict[str, Any]] = []
    for block in _sequence(content) or ():
        kind = get(block, "type")
        if kind == "text":
            parts.append({"type": "text", "content": get(block, "text")})
        elif kind == "thinking":
            parts.append({"type": "reasoning", "content": get(block, "thinking")})
        elif kind in ("tool_use", "server_tool_use"):
            parts.append(
                {
                    "type": "tool_call",
                    "id": get(block, "id"),
                    "name": get(block, "name"),
                    "arguments": get(block, "input"),
                }
            )
        elif kind == "tool_result":
            response = get(block, "content")
            parts.append(
                {
                    "type": "tool_call_response",
                    "id": get(block, "tool_use_id"),
                    "response": response if isinstance(response, str) else _text_of(response),
                }
            )
        else:
            parts.append({"type": str(kind)})  # images, documents …: their kind, never their bytes
    return parts


def output_messages(content: Any, stop_reason: Any) -> list[dict[str, Any]]:
    """The response as GenAI semconv output messages."""
    message: dict[str, Any] = {"role": "assistant", "parts": _parts(content)}
    if stop_reason:
        message["finish_reason"] = str(stop_reason)
    return [message]


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
