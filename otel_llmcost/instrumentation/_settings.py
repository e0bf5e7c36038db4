"""Instrumentation settings: explicit argument, then environment variable, then default."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

from otel_llmcost.environment_variables import (
    OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT,
    OTEL_LLMCOST_FINGERPRINT_KEY,
    OTEL_LLMCOST_INCLUDE_USAGE,
    OTEL_LLMCOST_PROVIDER_MAP,
    env_bool,
    env_str,
)

_logger = logging.getLogger(__name__)


def _parse_provider_map(raw: str | None) -> dict[str, str]:
    """``host[:port]=provider`` pairs, comma-separated; malformed pairs are logged and skipped."""
    result: dict[str, str] = {}
    for item in (raw or "").split(","):
        item = item.strip()
        if not item:
            continue
        host, sep, provider = item.partition("=")
        if not sep or not host.strip() or not provider.strip():
            _logger.warning(
                "ignoring %s entry %r: expected host[:port]=provider", OTEL_LLMCOST_PROVIDER_MAP, item
            )
            continue
        result[host.strip().lower()] = provider.strip().lower()
    return result


@dataclass(frozen=True)
class Settings:
    capture_content: bool = False
    """Record prompt and completion text on spans (off unless the user opts in)."""
    include_usage: bool = True
    """Inject ``stream_options.include_usage`` into OpenAI streams (the caller never sees the chunk)."""
    fingerprint_key: bytes | None = None
    """HMAC key for content-free prompt fingerprints; share it across replicas to match duplicates."""
    provider_map: dict[str, str] = field(default_factory=dict)
    """``host[:port]`` -> ``gen_ai.provider.name`` for OpenAI-compatible endpoints we cannot recognise."""

    @classmethod
    def from_env(
        cls,
        *,
        capture_content: bool | None = None,
        include_usage: bool | None = None,
        fingerprint_key: str | bytes | None = None,
        provider_map: dict[str, str] | None = None,
    ) -> Settings:
        key = fingerprint_key if fingerprint_key is not None else env_str(OTEL_LLMCOST_FINGERPRINT_KEY)
        return cls(
            capture_content=capture_content
            if capture_content is not None
            else env_bool(OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT, False),
            include_usage=include_usage
            if include_usage is not None
            else env_bool(OTEL_LLMCOST_INCLUDE_USAGE, True),
            fingerprint_key=key.encode() if isinstance(key, str) else key,
            provider_map={k.lower(): v.lower() for k, v in provider_map.items()}
            if provider_map is not None
            else _parse_provider_map(os.environ.get(OTEL_LLMCOST_PROVIDER_MAP)),
        )
