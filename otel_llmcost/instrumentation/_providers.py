"""Which provider an endpoint is, from the client's base URL.

OpenAI-compatible endpoints (Azure OpenAI, Groq, xAI, DeepSeek, Together, Mistral, a local vLLM or
Ollama) all use the openai SDK; the host tells them apart. Unknown hosts keep the SDK's own
provider unless ``OTEL_LLMCOST_PROVIDER_MAP`` says otherwise.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from urllib.parse import urlsplit

from otel_llmcost import semconv as sc

__all__ = ["provider_for_url", "server_of"]

# Host suffix -> provider, checked in order.
_HOST_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("api.openai.com", sc.PROVIDER_OPENAI),
    (".openai.azure.com", sc.PROVIDER_AZURE_OPENAI),
    (".cognitiveservices.azure.com", sc.PROVIDER_AZURE_OPENAI),
    (".services.ai.azure.com", sc.PROVIDER_AZURE_INFERENCE),
    (".models.ai.azure.com", sc.PROVIDER_AZURE_INFERENCE),
    ("api.groq.com", sc.PROVIDER_GROQ),
    ("api.x.ai", sc.PROVIDER_XAI),
    ("api.deepseek.com", sc.PROVIDER_DEEPSEEK),
    ("api.together.xyz", sc.PROVIDER_TOGETHER),
    ("api.together.ai", sc.PROVIDER_TOGETHER),
    ("api.mistral.ai", sc.PROVIDER_MISTRAL),
    ("api.anthropic.com", sc.PROVIDER_ANTHROPIC),
    ("generativelanguage.googleapis.com", sc.PROVIDER_GEMINI),
    ("aiplatform.googleapis.com", sc.PROVIDER_VERTEX_AI),
    (".amazonaws.com", sc.PROVIDER_BEDROCK),
)
# Default ports of local OpenAI-compatible servers.
_LOCAL_PORTS = {8000: "vllm", 11434: "ollama", 1234: "lm_studio"}


def server_of(url: str | None) -> tuple[str | None, int | None]:
    """(host, port) of a base URL; the port is the URL's or the scheme default."""
    if not url:
        return None, None
    try:
        parts = urlsplit(str(url))
        port = parts.port
    except ValueError:
        return None, None
    if port is None:
        port = 443 if parts.scheme == "https" else 80 if parts.scheme == "http" else None
    return parts.hostname, port


def _is_local(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def provider_for_url(url: str | None, default: str, mapping: Mapping[str, str] | None = None) -> str:
    """The ``gen_ai.provider.name`` for a call to ``url`` made with an SDK whose provider is ``default``."""
    host, port = server_of(url)
    if not host:
        return default
    host = host.lower()
    if mapping:
        for key in (f"{host}:{port}", host):
            if key in mapping:
                return mapping[key]
    for suffix, provider in _HOST_SUFFIXES:
        if host == suffix.lstrip(".") or host.endswith(suffix):
            return provider
    if port in _LOCAL_PORTS and _is_local(host):
        return _LOCAL_PORTS[port]
    return default
