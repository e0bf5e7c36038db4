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

# The collector's own settings (``otel-llmcost collector``): each overrides one key of its YAML
# file and is overridden by the matching flag. A value the collector cannot use stops it at
# startup with the variable's name (a server must not run on a guessed configuration).

OTEL_LLMCOST_OTLP_GRPC_ENDPOINT: Final = "OTEL_LLMCOST_OTLP_GRPC_ENDPOINT"
"""``HOST:PORT`` of the OTLP/gRPC receiver (``receivers.otlp_grpc.endpoint``; default
``127.0.0.1:4317``; port 0 picks a free one)."""

OTEL_LLMCOST_OTLP_HTTP_ENDPOINT: Final = "OTEL_LLMCOST_OTLP_HTTP_ENDPOINT"
"""``HOST:PORT`` of the OTLP/HTTP receiver (``receivers.otlp_http.endpoint``; default
``127.0.0.1:4318``)."""

OTEL_LLMCOST_LISTEN: Final = "OTEL_LLMCOST_LISTEN"
"""``HOST:PORT`` of the collector's ``/metrics`` and HTTP API (``api.listen``; default
``127.0.0.1:9464``)."""

OTEL_LLMCOST_TLS_CERT_FILE: Final = "OTEL_LLMCOST_TLS_CERT_FILE"
"""PEM certificate (chain) of the OTLP receivers; with ``OTEL_LLMCOST_TLS_KEY_FILE`` turns TLS on
(``receivers.tls.cert_file``)."""

OTEL_LLMCOST_TLS_KEY_FILE: Final = "OTEL_LLMCOST_TLS_KEY_FILE"
"""PEM private key of the OTLP receivers' certificate (``receivers.tls.key_file``)."""

OTEL_LLMCOST_MAX_REQUEST_BYTES: Final = "OTEL_LLMCOST_MAX_REQUEST_BYTES"
"""Largest OTLP export accepted, in bytes after decompression (``receivers.max_request_bytes``;
default 16 MiB)."""

OTEL_LLMCOST_INTAKE_CAPACITY: Final = "OTEL_LLMCOST_INTAKE_CAPACITY"
"""GenAI spans that may wait for the ledger writer before exports are refused with a retryable
status (``pipeline.intake_capacity_spans``; default 16384)."""

OTEL_LLMCOST_FORWARD_ENDPOINTS: Final = "OTEL_LLMCOST_FORWARD_ENDPOINTS"
"""Comma-separated downstream OTLP URLs that receive every span, GenAI ones with our cost
(``forward.endpoints``); the protocol is ``OTEL_LLMCOST_FORWARD_PROTOCOL``."""

OTEL_LLMCOST_FORWARD_PROTOCOL: Final = "OTEL_LLMCOST_FORWARD_PROTOCOL"
"""``http/protobuf`` (default) or ``grpc``: the protocol of ``OTEL_LLMCOST_FORWARD_ENDPOINTS``."""

OTEL_LLMCOST_SHUTDOWN_TIMEOUT: Final = "OTEL_LLMCOST_SHUTDOWN_TIMEOUT"
"""Seconds the collector may take on SIGTERM to finish exports in flight, commit and close
(``shutdown.timeout_seconds``; default 20)."""

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
