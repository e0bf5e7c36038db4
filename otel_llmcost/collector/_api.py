"""The collector's HTTP API: ``/metrics``, ``/healthz``, ``/readyz`` and ``/v1/report``.

:class:`Api` is a router: ``routes`` maps a path to a handler ``(Request) -> Response``, and
later features (``/v1/budgets``, ``/v1/forecast``, ``/v1/insights``) add theirs with
:meth:`Api.route`. ``/v1/*`` paths need the bearer token when one is configured; ``/metrics``
and the probes stay open for Prometheus and the kubelet. Money is an exact decimal string made
from integer nano-dollars, never a float.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Final

from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import CollectorRegistry

from otel_llmcost.analytics._report import (
    ReportError,
    build_report,
    format_time,
    parse_report_query,
    totals_json,
    usd,
)
from otel_llmcost.analytics._report import parse_time as _parse_time
from otel_llmcost.collector._http import Handler, Request, Response
from otel_llmcost.collector._receivers import bearer_ok
from otel_llmcost.ledger import LedgerBackend

__all__ = ["Api", "ApiError", "format_time", "json_response", "parse_time", "totals_json", "usd"]

PROTECTED_PREFIX: Final = "/v1/"
_JSON = "application/json"


class ApiError(Exception):
    """A bad request: answered 400 with ``{"error": message, "parameter": parameter}``."""

    def __init__(self, message: str, parameter: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.status = status


def json_response(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(status, (json.dumps(data, indent=None) + "\n").encode(), _JSON, headers or {})


def parse_time(text: str, parameter: str) -> int:
    """Nanoseconds since the epoch from epoch seconds, an ISO date (midnight UTC) or an ISO
    datetime (UTC unless it names an offset); :class:`ApiError` naming ``parameter`` otherwise."""
    try:
        return _parse_time(text, parameter)
    except ReportError as err:
        raise ApiError(str(err), err.parameter) from None


class Api:
    """Routes of the collector's HTTP API. ``ready()`` returns (ready, {check: ok})."""

    def __init__(
        self,
        *,
        registry: CollectorRegistry,
        ledger: LedgerBackend,
        ready: Callable[[], tuple[bool, dict[str, bool]]],
        bearer_token: str | None = None,
    ) -> None:
        self._registry = registry
        self._ledger = ledger
        self._ready = ready
        self._token = bearer_token
        self.routes: dict[str, Handler] = {
            "/metrics": self.metrics,
            "/healthz": self.healthz,
            "/readyz": self.readyz,
            "/v1/report": self.report,
        }

    def route(self, path: str, handler: Handler) -> None:
        """Serve ``handler`` at ``path`` (``/v1/…`` paths are behind the bearer token)."""
        self.routes[path] = handler

    def __call__(self, request: Request) -> Response:
        handler = self.routes.get(request.path)
        if handler is None:
            body: dict[str, Any] = {"error": f"no such path: {request.path}"}
            if bearer_ok(self._token, request.header("Authorization")):  # no map for strangers
                body["paths"] = sorted(self.routes)
            return json_response(body, 404)
        if request.path.startswith(PROTECTED_PREFIX) and not bearer_ok(
            self._token, request.header("Authorization")
        ):
            return json_response(
                {"error": "bad or missing bearer token"},
                401,
                {"WWW-Authenticate": 'Bearer realm="otel-llmcost"'},
            )
        try:
            return handler(request)
        except ApiError as err:
            return json_response({"error": str(err), "parameter": err.parameter}, err.status)

    @staticmethod
    def _only(request: Request, *methods: str) -> None:
        if request.method not in methods:
            raise ApiError(f"{request.method} is not allowed here; use {' or '.join(methods)}", status=405)

    def metrics(self, request: Request) -> Response:
        self._only(request, "GET", "HEAD")
        encoder, content_type = choose_encoder(request.header("Accept") or "")
        return Response(200, encoder(self._registry), content_type)

    def healthz(self, request: Request) -> Response:
        self._only(request, "GET", "HEAD")
        return json_response({"status": "ok"})

    def readyz(self, request: Request) -> Response:
        self._only(request, "GET", "HEAD")
        ready, checks = self._ready()
        return json_response(
            {"status": "ready" if ready else "not ready", "checks": checks}, 200 if ready else 503
        )

    def report(self, request: Request) -> Response:
        """Cost and usage from the ledger, optionally grouped and filtered: the shape and the
        parameters of :func:`otel_llmcost.analytics._report.build_report`."""
        self._only(request, "GET", "HEAD")
        try:
            return json_response(build_report(self._ledger, parse_report_query(request.query)))
        except ReportError as err:
            raise ApiError(str(err), err.parameter) from None
