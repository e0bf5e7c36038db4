"""Parsers of single configuration values: each returns the value or raises ``ValueError``.

Values arrive from YAML (typed) or from environment variables and flags (strings), so numbers
and lists accept both spellings. A :class:`SubkeyError` names the part of a structured value
that is wrong (``[0].protocol``), so the error can point at ``forward.endpoints[0].protocol``.
"""

from __future__ import annotations

import math
import re
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Final
from urllib.parse import urlsplit

from otel_llmcost import environment_variables as ev

__all__ = [
    "PROTOCOL_GRPC",
    "PROTOCOL_HTTP",
    "Address",
    "ForwardEndpoint",
    "SubkeyError",
    "as_address",
    "as_bool",
    "as_endpoints",
    "as_labels",
    "as_number",
    "as_optional_str",
    "as_series_cap",
    "endpoints_from_env",
]

PROTOCOL_GRPC: Final = "grpc"
PROTOCOL_HTTP: Final = "http/protobuf"
_ENDPOINT_KEYS = {"endpoint", "protocol", "name", "headers", "compression", "timeout_seconds", "ca_file"}


class SubkeyError(ValueError):
    """A ``ValueError`` about one part (``subkey``) of a structured value."""

    def __init__(self, subkey: str, reason: str) -> None:
        super().__init__(reason)
        self.subkey = subkey


@dataclass(frozen=True)
class Address:
    """A listen address; port 0 asks the OS for a free port."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @classmethod
    def parse(cls, text: str) -> Address:
        """``HOST:PORT`` or ``[IPv6]:PORT``."""
        host, sep, port = text.strip().rpartition(":")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        if not sep or not host or not port.isdigit() or int(port) > 65535:
            raise ValueError(f"expected HOST:PORT (port 0-65535; 0 picks a free one), got {text!r}")
        return cls(host, int(port))


@dataclass(frozen=True)
class ForwardEndpoint:
    """A downstream OTLP endpoint that receives every span, GenAI ones with our cost."""

    url: str  # http/protobuf: the full URL of the traces path; grpc: http(s)://host:port
    protocol: str = PROTOCOL_HTTP
    name: str = ""  # the `endpoint` label of the forward metrics (default host:port)
    headers: tuple[tuple[str, str], ...] = ()
    compression: str = "gzip"
    timeout_s: float = 10.0
    ca_file: str | None = None


def as_address(value: Any) -> Address:
    if not isinstance(value, str):
        raise ValueError(f"expected a HOST:PORT string, got {value!r}")
    return Address.parse(value)


def as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def as_optional_str(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a non-empty string, got {value!r}")
    return value.strip()


def as_number(
    kind: type[int] | type[float], *, minimum: float | None = None, maximum: float | None = None
) -> Callable[[Any], Any]:
    def parse(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError(f"expected a number, got {value!r}")
        try:
            number = float(value) if isinstance(value, str) else value
        except ValueError:
            raise ValueError(f"expected a number, got {value!r}") from None
        if not math.isfinite(number):  # 1e400 reads as infinity
            raise ValueError(f"expected a finite number, got {value!r}")
        if kind is int:
            if number != int(number):
                raise ValueError(f"expected a whole number, got {value!r}")
            number = int(number)
        if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
            bounds = f"at least {minimum:g}" if maximum is None else f"between {minimum:g} and {maximum:g}"
            raise ValueError(f"must be {bounds}, got {value!r}")
        return kind(number)

    return parse


def as_labels(value: Any) -> tuple[str, ...]:
    items = [part.strip() for part in value.split(",")] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(item, str) and item for item in items):
        raise ValueError(f"expected a list of label names, got {value!r}")
    return tuple(items)


def as_series_cap(value: Any) -> int | dict[str, int] | None:
    if value is None:
        return None
    positive = as_number(int, minimum=1)
    if isinstance(value, Mapping):
        caps: dict[str, int] = {}
        for label, cap in value.items():
            try:
                caps[str(label)] = positive(cap)
            except ValueError as err:
                raise SubkeyError(f".{label}", str(err)) from None
        return caps
    return int(positive(value))


def _endpoint(index: int, item: Any) -> ForwardEndpoint:
    def fail(subkey: str, reason: str) -> SubkeyError:
        return SubkeyError(f"[{index}]{subkey}", reason)

    if isinstance(item, str):
        item = {"endpoint": item}
    if not isinstance(item, Mapping):
        raise fail("", f"expected a mapping with an endpoint URL, got {item!r}")
    unknown = set(item) - _ENDPOINT_KEYS
    if unknown:
        raise fail(
            f".{sorted(unknown)[0]}", f"unknown key; expected one of {', '.join(sorted(_ENDPOINT_KEYS))}"
        )
    protocol = item.get("protocol", PROTOCOL_HTTP)
    if protocol not in (PROTOCOL_HTTP, PROTOCOL_GRPC):
        raise fail(".protocol", f"expected {PROTOCOL_HTTP} or {PROTOCOL_GRPC}, got {protocol!r}")
    url = item.get("endpoint")
    if isinstance(url, str) and "://" not in url and protocol == PROTOCOL_GRPC:
        url = f"http://{url}"  # grpc endpoints are often written host:port (insecure)
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise fail(".endpoint", f"expected an http:// or https:// URL, got {url!r}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise fail(".endpoint", f"bad port in {url!r}") from None
    assert isinstance(url, str)
    if protocol == PROTOCOL_HTTP and parts.path in ("", "/"):
        url = url.rstrip("/") + "/v1/traces"  # a base URL, as OTEL_EXPORTER_OTLP_ENDPOINT is
    headers = item.get("headers") or {}
    if not isinstance(headers, Mapping) or not all(isinstance(v, str) for v in headers.values()):
        raise fail(".headers", "expected a mapping of header name to string value")
    compression = item.get("compression", "gzip")
    if compression not in ("gzip", "none"):
        raise fail(".compression", f"expected gzip or none, got {compression!r}")
    try:
        timeout = as_number(float, minimum=0.001)(item.get("timeout_seconds", 10.0))
    except ValueError as err:
        raise fail(".timeout_seconds", str(err)) from None
    name = item.get("name") or f"{parts.hostname}:{port}"
    ca_file = item.get("ca_file")
    if ca_file is not None:
        if not isinstance(ca_file, str):
            raise fail(".ca_file", f"expected a path, got {ca_file!r}")
        if parts.scheme != "https":
            raise fail(".ca_file", f"only used with an https:// endpoint, got {item.get('endpoint')!r}")
        try:
            ssl.create_default_context(cafile=ca_file)
        except (OSError, ssl.SSLError) as err:
            reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
            raise fail(".ca_file", f"cannot load {ca_file}: {reason}") from None
    pairs = tuple((str(k).lower(), v) for k, v in headers.items())
    return ForwardEndpoint(url, protocol, str(name), pairs, compression, timeout, ca_file)


def as_endpoints(value: Any) -> tuple[ForwardEndpoint, ...]:
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"expected a list of endpoints, got {value!r}")
    endpoints = tuple(_endpoint(index, item) for index, item in enumerate(value))
    names = [endpoint.name for endpoint in endpoints]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise SubkeyError(f"[{index}].name", f"two endpoints are named {name!r}; give each a name")
    return endpoints


_ENV_REFERENCE = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_header_env(
    endpoints: tuple[ForwardEndpoint, ...], env: Mapping[str, str]
) -> tuple[ForwardEndpoint, ...]:
    """``${env:NAME}`` in header values replaced by that environment variable (a credential kept
    in a Secret, not in the config file); SubkeyError naming the header when it is not set."""
    expanded = []
    for index, endpoint in enumerate(endpoints):
        pairs = []
        for name, value in endpoint.headers:
            for variable in _ENV_REFERENCE.findall(value):
                if variable not in env:
                    raise SubkeyError(
                        f"[{index}].headers.{name}", f"environment variable {variable} is not set"
                    )
            pairs.append((name, _ENV_REFERENCE.sub(lambda match: env[match.group(1)], value)))
        expanded.append(replace(endpoint, headers=tuple(pairs)))
    return tuple(expanded)


def endpoints_from_env(value: str, env: Mapping[str, str]) -> list[dict[str, str]]:
    """``OTEL_LLMCOST_FORWARD_ENDPOINTS`` (comma-separated URLs) in the YAML shape."""
    protocol = (env.get(ev.OTEL_LLMCOST_FORWARD_PROTOCOL) or "").strip() or PROTOCOL_HTTP
    return [{"endpoint": url.strip(), "protocol": protocol} for url in value.split(",") if url.strip()]
