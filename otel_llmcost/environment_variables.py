"""Every environment variable otel-llmcost reads, one documented constant each.

Configuration is resolved as explicit argument → environment variable → default. A malformed value
is logged and the default used; an impossible combination raises ``ValueError`` naming it.
"""

from __future__ import annotations

import logging
import os
from typing import Final

_logger = logging.getLogger(__name__)

OTEL_LLMCOST_PRICES: Final = "OTEL_LLMCOST_PRICES"
"""Path of a price override YAML file (extra models, discounts, deployment-name mapping)."""

OTEL_LLMCOST_BUDGETS: Final = "OTEL_LLMCOST_BUDGETS"
"""Path of the budget policy YAML file used by the in-process guard and the collector."""

OTEL_LLMCOST_BUDGET_STORE: Final = "OTEL_LLMCOST_BUDGET_STORE"
"""Budget store for the in-process guard: ``memory`` (default) or a ``redis://`` URL."""

OTEL_LLMCOST_INCLUDE_USAGE: Final = "OTEL_LLMCOST_INCLUDE_USAGE"
"""``true`` (default) injects ``stream_options.include_usage`` into OpenAI streams so their cost
is exact; ``false`` leaves requests untouched and estimates stream usage with a tokenizer."""

OTEL_LLMCOST_PROVIDER_MAP: Final = "OTEL_LLMCOST_PROVIDER_MAP"
"""``host[:port]=provider,…``: the ``gen_ai.provider.name`` of OpenAI-compatible endpoints that
the base URL alone does not identify (e.g. ``gpu-box:8000=vllm``)."""

OTEL_LLMCOST_FINGERPRINT_KEY: Final = "OTEL_LLMCOST_FINGERPRINT_KEY"
"""Secret for the content-free prompt fingerprint (HMAC-SHA256). Share it across replicas so the
same prompt fingerprints alike; without it the fingerprint is a plain SHA-256."""

OTEL_LLMCOST_LEDGER: Final = "OTEL_LLMCOST_LEDGER"
"""Ledger URL for the collector and the CLI: ``sqlite:///path`` or ``postgresql://…``."""

OTEL_LLMCOST_CONFIG: Final = "OTEL_LLMCOST_CONFIG"
"""Path of the collector's YAML configuration file."""

OTEL_LLMCOST_API_URL: Final = "OTEL_LLMCOST_API_URL"
"""Base URL of a running collector's HTTP API, for CLI commands that can read from it."""

OTEL_LLMCOST_API_TOKEN: Final = "OTEL_LLMCOST_API_TOKEN"
"""Bearer token for the collector's receivers and API when auth is configured."""

OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: Final = (
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
)
"""The OpenTelemetry-wide opt-in for recording prompt and completion text. Off by default."""

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def env_bool(name: str, default: bool) -> bool:
    """The boolean value of ``name``; a malformed value is logged and ``default`` used."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    _logger.warning("ignoring %s=%r: expected true or false; using %s", name, raw, default)
    return default


def env_str(name: str) -> str | None:
    """The stripped value of ``name``, or ``None`` when unset or empty."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return None
    return raw.strip()
