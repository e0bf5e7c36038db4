"""The collector's configuration: YAML file, then environment variables, then flags.

Every key has a default (``CollectorConfig()`` is the documented ``collector/config.yaml``).
Precedence, lowest first: defaults, the file, ``OTEL_LLMCOST_*`` variables, command-line flags.
Anything unusable — an unknown key, a bad type, an impossible value, a certificate that does not
load — raises :class:`~otel_llmcost.exceptions.ConfigError` naming where the value came from (the
file, ``environment`` or ``command line``), the key and the reason: the collector refuses to
start rather than guess.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from otel_llmcost import environment_variables as ev
from otel_llmcost._yaml import read_yaml
from otel_llmcost.collector._config_values import (
    Address,
    ForwardEndpoint,
    SubkeyError,
    as_address,
    as_bool,
    as_endpoints,
    as_labels,
    as_number,
    as_optional_str,
    as_series_cap,
    endpoints_from_env,
    expand_header_env,
)
from otel_llmcost.collector._labels import DEFAULT_LABELS, LabelSet
from otel_llmcost.exceptions import ConfigError
from otel_llmcost.ledger._url import parse as parse_ledger_url
from otel_llmcost.pricing import positive_usd

__all__ = ["Address", "CollectorConfig", "ForwardEndpoint", "TLSFiles", "load_config"]

MIB = 1024 * 1024
_GRPC_DEFAULT = Address("127.0.0.1", 4317)
_HTTP_DEFAULT = Address("127.0.0.1", 4318)
_LISTEN_DEFAULT = Address("127.0.0.1", 9464)
ENVIRONMENT = "environment"
COMMAND_LINE = "command line"


@dataclass(frozen=True)
class TLSFiles:
    cert_file: str
    key_file: str

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


@dataclass(frozen=True)
class CollectorConfig:
    """Everything the collector process needs; see ``collector/config.yaml`` for each key."""

    otlp_grpc: Address | None = _GRPC_DEFAULT
    otlp_http: Address | None = _HTTP_DEFAULT
    listen: Address = _LISTEN_DEFAULT
    max_request_bytes: int = 16 * MIB
    max_concurrency: int = 16
    bearer_token: str | None = None
    tls: TLSFiles | None = None
    ledger_url: str | None = None  # None: otel_llmcost.ledger.default_ledger_url()
    prices: str | None = None
    intake_capacity: int = 16_384  # spans
    commit_timeout_s: float = 10.0
    retry_after_s: int = 1
    metric_labels: tuple[str, ...] = DEFAULT_LABELS
    extra_labels: tuple[str, ...] = ()
    series_cap: int | Mapping[str, int] | None = None
    forward: tuple[ForwardEndpoint, ...] = ()
    forward_queue_bytes: int = 64 * MIB
    forward_initial_backoff_s: float = 1.0
    forward_max_backoff_s: float = 30.0
    forward_max_elapsed_s: float = 300.0
    shutdown_timeout_s: float = 20.0
    budgets: str | None = None  # policy file (docs/budgets.md)
    budgets_refresh_s: float = 15.0
    analytics_refresh_s: float = 60.0  # anomaly and forecast gauges
    daily_cost_threshold_usd: Decimal | None = None  # llmcost_daily_cost_threshold_usd; None: not exported
    source: str | None = field(default=None, compare=False)  # the file it was read from


_Parser = Callable[[Any], Any]


def _as_usd(value: Any) -> Decimal | None:
    """A positive amount of USD (a YAML number or a decimal string), exactly; empty: none."""
    return None if value is None else positive_usd(value)


_POSITIVE_INT = as_number(int, minimum=1)
_SECONDS = as_number(float, minimum=0.001)


def _ledger_url(value: Any) -> str | None:
    """A ledger URL that parses (scheme, path, schema, parameters); whether it opens is checked at start."""
    url: str | None = as_optional_str(value)
    if url is not None:
        try:
            parse_ledger_url(url)
        except ConfigError as err:
            raise ValueError(err.reason) from None
    return url


# YAML key (dotted) -> (CollectorConfig field, parser). Sections are the prefixes.
_SCHEMA: dict[str, tuple[str, _Parser]] = {
    "receivers.otlp_grpc.enabled": ("_grpc_enabled", as_bool),
    "receivers.otlp_grpc.endpoint": ("otlp_grpc", as_address),
    "receivers.otlp_http.enabled": ("_http_enabled", as_bool),
    "receivers.otlp_http.endpoint": ("otlp_http", as_address),
    "receivers.max_request_bytes": ("max_request_bytes", as_number(int, minimum=1024, maximum=1024 * MIB)),
    "receivers.max_concurrency": ("max_concurrency", as_number(int, minimum=1, maximum=4096)),
    "receivers.auth.bearer_token": ("bearer_token", as_optional_str),
    "receivers.auth.bearer_token_file": ("_token_file", as_optional_str),
    "receivers.tls.cert_file": ("_cert_file", as_optional_str),
    "receivers.tls.key_file": ("_key_file", as_optional_str),
    "api.listen": ("listen", as_address),
    "ledger.url": ("ledger_url", _ledger_url),
    "pricing.overrides": ("prices", as_optional_str),
    "pipeline.intake_capacity_spans": ("intake_capacity", _POSITIVE_INT),
    "pipeline.commit_timeout_seconds": ("commit_timeout_s", _SECONDS),
    "pipeline.retry_after_seconds": ("retry_after_s", as_number(int, minimum=1, maximum=3600)),
    "metrics.labels": ("metric_labels", as_labels),
    "metrics.extra_labels": ("extra_labels", as_labels),
    "metrics.series_cap": ("series_cap", as_series_cap),
    "forward.endpoints": ("forward", as_endpoints),
    "forward.queue_max_bytes": ("forward_queue_bytes", as_number(int, minimum=1024)),
    "forward.initial_backoff_seconds": ("forward_initial_backoff_s", _SECONDS),
    "forward.max_backoff_seconds": ("forward_max_backoff_s", _SECONDS),
    "forward.max_elapsed_seconds": ("forward_max_elapsed_s", _SECONDS),
    "shutdown.timeout_seconds": ("shutdown_timeout_s", _SECONDS),
    "budgets.policy": ("budgets", as_optional_str),
    "budgets.refresh_seconds": ("budgets_refresh_s", _SECONDS),
    "analytics.refresh_seconds": ("analytics_refresh_s", _SECONDS),
    "anomalies.daily_cost_threshold_usd": ("daily_cost_threshold_usd", _as_usd),
}
_SECTIONS = {key.rsplit(".", i)[0] for key in _SCHEMA for i in range(1, key.count(".") + 1)}

#: Environment variable -> YAML key it overrides.
ENV_KEYS: dict[str, str] = {
    ev.OTEL_LLMCOST_OTLP_GRPC_ENDPOINT: "receivers.otlp_grpc.endpoint",
    ev.OTEL_LLMCOST_OTLP_HTTP_ENDPOINT: "receivers.otlp_http.endpoint",
    ev.OTEL_LLMCOST_LISTEN: "api.listen",
    ev.OTEL_LLMCOST_LEDGER: "ledger.url",
    ev.OTEL_LLMCOST_PRICES: "pricing.overrides",
    ev.OTEL_LLMCOST_API_TOKEN: "receivers.auth.bearer_token",
    ev.OTEL_LLMCOST_TLS_CERT_FILE: "receivers.tls.cert_file",
    ev.OTEL_LLMCOST_TLS_KEY_FILE: "receivers.tls.key_file",
    ev.OTEL_LLMCOST_MAX_REQUEST_BYTES: "receivers.max_request_bytes",
    ev.OTEL_LLMCOST_INTAKE_CAPACITY: "pipeline.intake_capacity_spans",
    ev.OTEL_LLMCOST_FORWARD_ENDPOINTS: "forward.endpoints",
    ev.OTEL_LLMCOST_SHUTDOWN_TIMEOUT: "shutdown.timeout_seconds",
    ev.OTEL_LLMCOST_BUDGETS: "budgets.policy",
}
#: Command-line flag -> YAML key it overrides.
FLAG_KEYS: dict[str, str] = {
    "--otlp-grpc": "receivers.otlp_grpc.endpoint",
    "--otlp-http": "receivers.otlp_http.endpoint",
    "--listen": "api.listen",
    "--ledger": "ledger.url",
    "--prices": "pricing.overrides",
    "--budgets": "budgets.policy",
}


def _flatten(data: Any, file: str, prefix: str = "") -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise ConfigError("must be a mapping", file=file, key=prefix.rstrip(".") or None)
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if path in _SCHEMA:
            out[path] = value
        elif f"{path}" in _SECTIONS:
            if value is not None:
                out.update(_flatten(value, file, f"{path}."))
        else:
            known = sorted({k[len(prefix) :].split(".")[0] for k in _SCHEMA if k.startswith(prefix)})
            raise ConfigError(f"unknown key; expected one of {', '.join(known)}", file=file, key=path)
    return out


def _read_file(path: str) -> dict[str, Any]:
    data, _ = read_yaml(path)
    return {} if data is None else _flatten(data, path)


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
) -> CollectorConfig:
    """The configuration from ``path`` (default: ``$OTEL_LLMCOST_CONFIG``, else none), the
    ``OTEL_LLMCOST_*`` variables of ``env`` (default ``os.environ``) and ``flags`` (keys of
    :data:`FLAG_KEYS`; ``None`` values are ignored). Raises :class:`ConfigError` when unusable."""
    env = os.environ if env is None else env
    if path is None:
        path = (env.get(ev.OTEL_LLMCOST_CONFIG) or "").strip() or None
    file = os.fspath(path) if path is not None else None
    raw: dict[str, tuple[Any, str]] = {}  # YAML key -> (value, where it came from)
    if file is not None:
        raw.update((key, (value, file)) for key, value in _read_file(file).items())
    for name, key in ENV_KEYS.items():
        value = (env.get(name) or "").strip()
        if value:
            parsed = endpoints_from_env(value, env) if key == "forward.endpoints" else value
            raw[key] = (parsed, ENVIRONMENT)
    for flag, value in (flags or {}).items():
        if value is not None:
            raw[FLAG_KEYS[flag]] = (value, COMMAND_LINE)
    values: dict[str, Any] = {}
    where: dict[str, tuple[str, str]] = {}  # field -> (source, key), for errors found later
    for key, (value, source) in raw.items():
        name, parse = _SCHEMA[key]
        try:
            values[name] = parse(value)
            if name == "forward":
                values[name] = expand_header_env(values[name], env)
        except ValueError as err:
            subkey = err.subkey if isinstance(err, SubkeyError) else ""
            raise ConfigError(str(err), file=source, key=_shown_key(key, source) + subkey) from None
        where[name] = (source, _shown_key(key, source))
    return _assemble(values, where, file)


def _shown_key(key: str, source: str) -> str:
    if source == ENVIRONMENT:
        return next(name for name, k in ENV_KEYS.items() if k == key)
    if source == COMMAND_LINE:
        return next(flag for flag, k in FLAG_KEYS.items() if k == key)
    return key


def _assemble(values: dict[str, Any], where: dict[str, tuple[str, str]], file: str | None) -> CollectorConfig:
    def fail(name: str, reason: str) -> ConfigError:
        source, key = where.get(name, (file or "defaults", name))
        return ConfigError(reason, file=source, key=key)

    if values.pop("_grpc_enabled", True) is False:
        values["otlp_grpc"] = None
    if values.pop("_http_enabled", True) is False:
        values["otlp_http"] = None
    token_file = values.pop("_token_file", None)
    if token_file is not None and values.get("bearer_token") is None:
        try:
            with open(token_file, encoding="utf-8") as handle:
                values["bearer_token"] = handle.read().strip() or None
        except OSError as err:
            raise fail("_token_file", _unreadable(token_file, err)) from None
        if values["bearer_token"] is None:
            raise fail("_token_file", f"{token_file} is empty")
    # Files read later (the price overrides, the budget policy): one that cannot be opened is
    # refused here, where the setting that names it is known (its contents are checked on load).
    for name in ("prices", "budgets"):
        path = values.get(name)
        if path:
            try:
                open(path, "rb").close()
            except OSError as err:
                raise fail(name, _unreadable(path, err)) from None
    cert, key = values.pop("_cert_file", None), values.pop("_key_file", None)
    if (cert is None) != (key is None):
        missing = "_key_file" if key is None else "_cert_file"
        present = "_cert_file" if key is None else "_key_file"
        raise fail(present, f"TLS needs both cert_file and key_file; {missing[1:]} is not set")
    if cert is not None and key is not None:
        values["tls"] = TLSFiles(cert, key)
        try:
            values["tls"].server_context()
        except (OSError, ssl.SSLError) as err:
            raise fail("_cert_file", f"cannot load the certificate {cert} with key {key}: {err}") from None
    if values.get("otlp_grpc", True) is None and values.get("otlp_http", True) is None:
        raise fail("_grpc_enabled", "both OTLP receivers are disabled: nothing would be received")
    if values.get("forward_max_backoff_s", 30.0) < values.get("forward_initial_backoff_s", 1.0):
        raise fail("forward_max_backoff_s", "must be at least forward.initial_backoff_seconds")
    base = values.get("metric_labels", DEFAULT_LABELS)
    try:
        LabelSet(base)
    except ValueError as err:  # unknown or repeated labels in metrics.labels itself
        raise fail("metric_labels", str(err)) from None
    try:
        LabelSet((*base, *values.get("extra_labels", ())), values.get("series_cap"))
    except ValueError as err:  # extra labels unknown or already exposed, caps of labels not exposed
        name = "series_cap" if str(err).startswith("series_cap") else "extra_labels"
        raise fail(name if name in where else "metric_labels", str(err)) from None
    return CollectorConfig(**values, source=file)


def _unreadable(path: str, err: OSError) -> str:
    """Why ``path`` cannot be read; a relative path also says what it was taken relative to."""
    reason = f"cannot read {path}: {err.strerror or err}"
    if not os.path.isabs(path):
        reason += f" (relative to the working directory {os.getcwd()})"
    return reason
