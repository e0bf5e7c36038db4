"""What we know about a google-genai call before it is made: provider, endpoint, model, caps."""

from __future__ import annotations

import json
import logging
from typing import Any

from opentelemetry.util.types import AttributeValue

from otel_llmcost import semconv as sc
from otel_llmcost.instrumentation._call import Request
from otel_llmcost.instrumentation._providers import server_of
from otel_llmcost.instrumentation._telemetry import Telemetry
from otel_llmcost.instrumentation.google_genai import _content as content

__all__ = ["describe_embed", "describe_generate"]

_logger = logging.getLogger(__name__)


def _endpoint(instance: Any, config: Any) -> tuple[str, str | None, int | None]:
    """(provider, server address, server port) of the module's API client.

    The client, not the URL, says which API this is: a Vertex client behind a custom gateway is
    still Vertex AI, and a Developer-API client on a loopback port is still Gemini.
    """
    api_client = getattr(instance, "_api_client", None)
    provider = sc.PROVIDER_VERTEX_AI if getattr(api_client, "vertexai", None) else sc.PROVIDER_GEMINI
    # A per-request http_options.base_url overrides the client's.
    base_url = content.field(content.config_get(config, "http_options"), "base_url")
    if not base_url:
        base_url = getattr(getattr(api_client, "_http_options", None), "base_url", None)
    host, port = server_of(base_url)
    return provider, host, port


def _optional_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _service_tier(config: Any) -> str | None:
    tier = content.enum_value(content.config_get(config, "service_tier"))
    # UNSPECIFIED is the API's way of saying "standard"; flex and priority are priced apart.
    return None if tier is None or tier.lower() == "unspecified" else tier.lower()


def describe_generate(
    telemetry: Telemetry, instance: Any, kwargs: dict[str, Any], *, stream: bool
) -> Request:
    model = kwargs.get("model")
    contents = kwargs.get("contents")
    config = kwargs.get("config")
    provider, host, port = _endpoint(instance, config)
    attributes: dict[str, AttributeValue] = {}
    if telemetry.settings.capture_content:
        try:
            system = content.system_texts(config)
            if system:
                parts = [{"type": "text", "content": text} for text in system]
                attributes[sc.GEN_AI_SYSTEM_INSTRUCTIONS] = json.dumps(
                    parts, ensure_ascii=False, separators=(",", ":")
                )
        except Exception:
            _logger.debug("otel-llmcost: could not read the system instruction", exc_info=True)
    return Request(
        provider=provider,
        operation=sc.OP_GENERATE_CONTENT,
        model=str(model) if model else None,
        max_tokens=_optional_int(content.config_get(config, "max_output_tokens")),
        stream=stream,
        server_address=host,
        server_port=port,
        service_tier=_service_tier(config),
        attributes=attributes,
        input_messages=lambda: content.input_messages(contents),
        prompt_texts=lambda: content.prompt_texts(contents, config),
        fingerprint_payload=lambda: {
            "messages": content.input_messages(contents, digests=True),
            "system": content.system_texts(config),
            "tools": content.tool_names(config),
        },
    )


def describe_embed(telemetry: Telemetry, instance: Any, kwargs: dict[str, Any]) -> Request:
    model = kwargs.get("model")
    contents = kwargs.get("contents")
    provider, host, port = _endpoint(instance, kwargs.get("config"))
    return Request(
        provider=provider,
        operation=sc.OP_EMBEDDINGS,
        model=str(model) if model else None,
        server_address=host,
        server_port=port,
        prompt_texts=lambda: content.content_texts(contents),
        fingerprint_payload=lambda: {"embed": content.content_texts(contents)},
    )
