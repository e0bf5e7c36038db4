"""Priced GenAI spans for apps that call provider REST APIs with httpx / httpx2 directly (no SDK).

We wrap ``Client.send`` / ``AsyncClient.send``: for a non-streaming send the response body has
been read when ``send`` returns, so usage can be parsed without consuming anything the app
reads. (The opentelemetry-instrumentation-httpx response hook runs before the body is read and
ends its span right after, so it cannot see usage.) Only known provider hosts — or hosts mapped
with ``OTEL_LLMCOST_PROVIDER_MAP`` — and their GenAI endpoints are recorded; calls made by an
instrumented SDK are skipped (the SDK wrapper already records them). Streaming sends pass
through unrecorded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from otel_llmcost import semconv as sc
from otel_llmcost.instrumentation._call import LLMCall, Request
from otel_llmcost.instrumentation._providers import provider_for_url, server_of
from otel_llmcost.instrumentation._telemetry import Telemetry
from otel_llmcost.instrumentation._wrap import Wrapper, WrapSpec
from otel_llmcost.usage import Usage, from_anthropic, from_gemini, from_openai

__all__ = ["wrap_specs"]

_GEMINI_METHOD = re.compile(
    r"/models/(?P<model>[^/:]+):(?P<method>generateContent|embedContent|batchEmbedContents)$"
)
_AZURE_DEPLOYMENT = re.compile(r"/openai/deployments/(?P<deployment>[^/]+)/")
_OPENAI_COMPATIBLE = frozenset(
    {
        sc.PROVIDER_OPENAI,
        sc.PROVIDER_AZURE_OPENAI,
        sc.PROVIDER_AZURE_INFERENCE,
        sc.PROVIDER_GROQ,
        sc.PROVIDER_XAI,
        sc.PROVIDER_DEEPSEEK,
        sc.PROVIDER_TOGETHER,
        sc.PROVIDER_MISTRAL,
        "vllm",
        "ollama",
        "lm_studio",
    }
)


@dataclass(frozen=True)
class _Endpoint:
    provider: str
    operation: str
    api: str  # openai | anthropic | gemini
    model: str | None
    body: dict[str, Any]


def _classify(request: Any, provider_map: dict[str, str]) -> _Endpoint | None:
    """The GenAI endpoint a raw request targets, or None (not ours to record)."""
    if getattr(request, "method", "") != "POST":
        return None
    url = str(request.url)
    provider = provider_for_url(url, "", provider_map)
    if not provider:
        return None
    path = request.url.path
    try:
        body = json.loads(request.content or b"{}")
    except (ValueError, RuntimeError):  # RuntimeError: a streaming request body not yet read
        return None
    if not isinstance(body, dict) or body.get("stream") is True:
        return None
    model = body.get("model") if isinstance(body.get("model"), str) else None
    gemini = _GEMINI_METHOD.search(path)
    if gemini and provider in (sc.PROVIDER_GEMINI, sc.PROVIDER_VERTEX_AI):
        operation = sc.OP_GENERATE_CONTENT if gemini["method"] == "generateContent" else sc.OP_EMBEDDINGS
        return _Endpoint(provider, operation, "gemini", gemini["model"], body)
    if provider == sc.PROVIDER_ANTHROPIC and path.endswith("/messages"):
        return _Endpoint(provider, sc.OP_CHAT, "anthropic", model, body)
    if provider in _OPENAI_COMPATIBLE:
        if model is None and (deployment := _AZURE_DEPLOYMENT.search(path)):
            model = deployment["deployment"]
        for suffix, operation in (
            ("/chat/completions", sc.OP_CHAT),
            ("/responses", sc.OP_CHAT),
            ("/embeddings", sc.OP_EMBEDDINGS),
            ("/completions", sc.OP_TEXT_COMPLETION),
        ):
            if path.endswith(suffix):
                return _Endpoint(provider, operation, "openai", model, body)
    return None


def _max_tokens(body: dict[str, Any]) -> int | None:
    for key in ("max_completion_tokens", "max_tokens", "max_output_tokens"):
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    config = body.get("generationConfig")
    value = config.get("maxOutputTokens") if isinstance(config, dict) else None
    return value if isinstance(value, int) else None


def _build(endpoint: _Endpoint, request: Any) -> Request:
    host, port = server_of(str(request.url))
    return Request(
        provider=endpoint.provider,
        operation=endpoint.operation,
        model=endpoint.model,
        max_tokens=_max_tokens(endpoint.body),
        server_address=host,
        server_port=port,
        service_tier=endpoint.body.get("service_tier")
        if isinstance(endpoint.body.get("service_tier"), str)
        else None,
        downgradable=False,
    )


def _record(call: LLMCall, endpoint: _Endpoint, response: Any) -> Any:
    status = getattr(response, "status_code", 0)
    if status >= 400:
        call.fail_status(status)
        return response
    data = json.loads(response.content)
    usage: Usage | None = None
    if endpoint.api == "openai":
        choices = data.get("choices") or []
        call.set_response(
            model=data.get("model"),
            response_id=data.get("id"),
            finish_reasons=[
                str(c.get("finish_reason")) for c in choices if isinstance(c, dict) and c.get("finish_reason")
            ],
            service_tier=data.get("service_tier"),
        )
        usage = from_openai(data["usage"]) if data.get("usage") else None
    elif endpoint.api == "anthropic":
        stop = data.get("stop_reason")
        call.set_response(
            model=data.get("model"),
            response_id=data.get("id"),
            finish_reasons=[stop] if stop else None,
            service_tier=(data.get("usage") or {}).get("service_tier"),
        )
        usage = from_anthropic(data["usage"]) if data.get("usage") else None
    else:
        candidates = data.get("candidates") or []
        call.set_response(
            model=data.get("modelVersion"),
            response_id=data.get("responseId"),
            finish_reasons=[
                str(c["finishReason"]) for c in candidates if isinstance(c, dict) and c.get("finishReason")
            ],
        )
        usage = from_gemini(data["usageMetadata"]) if data.get("usageMetadata") else None
    call.finish(usage)
    return response


def _send(telemetry: Telemetry, is_async: bool) -> Wrapper:
    def traced(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if Telemetry.in_call() or kwargs.get("stream"):
            return wrapped(*args, **kwargs)
        request = args[0] if args else kwargs.get("request")
        try:
            endpoint = _classify(request, telemetry.settings.provider_map) if request is not None else None
        except Exception:
            endpoint = None
        if endpoint is None:
            return wrapped(*args, **kwargs)
        method = telemetry.traced_async if is_async else telemetry.traced
        return method(
            lambda: _build(endpoint, request),
            wrapped,
            args,
            kwargs,
            lambda call, response: _record(call, endpoint, response),
        )

    return traced


def wrap_specs() -> Iterator[WrapSpec]:
    for module in ("httpx2._client", "httpx._client"):
        yield WrapSpec(module, "Client.send", lambda t: _send(t, is_async=False))
        yield WrapSpec(module, "AsyncClient.send", lambda t: _send(t, is_async=True))
