"""The collector's HTTP API: ``/metrics``, ``/healthz``, ``/readyz`` and ``/v1/report``.

:class:`Api` is a router: ``routes`` maps a path to a handler ``(Request) -> Response``, and
later features (``/v1/budgets``, ``/v1/forecast``, ``/v1/insights``) add theirs with
:meth:`Api.route`. ``/v1/*`` paths need the bearer token when one is configured; ``/metrics``
and the probes stay open for Prometheus and the kubelet. Money is an exact decimal string made
from integer nano-dollars, never a float.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Final

from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import CollectorRegistry

from otel_llmcost.collector._http import Handler, Request, Response
from otel_llmcost.collector._receivers import bearer_ok
from otel_llmcost.ledger import FILTERABLE, GROUPABLE, Filters, LedgerBackend, Totals

__all__ = ["Api", "ApiError", "json_response", "parse_time", "usd"]

PROTECTED_PREFIX: Final = "/v1/"
_JSON = "application/json"
_EPOCH_SECONDS = re.compile(r"-?\d+(\.\d+)?")
_FRACTION = re.compile(r"(T\d\d:\d\d:\d\d)\.(\d+)")  # up to nanoseconds, which fromisoformat drops
_REPORT_PARAMS = frozenset({"group_by", "since", "until", "limit"})


class ApiError(Exception):
    """A bad request: answered 400 with ``{"error": message, "parameter": parameter}``."""

    def __init__(self, message: str, parameter: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.status = status


def json_response(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(status, (json.dumps(data, indent=None) + "\n").encode(), _JSON, headers or {})


def usd(nanos: int) -> str:
    """Integer nano-dollars as an exact decimal string: 133200 -> ``"0.0001332"``."""
    if nanos == 0:
        return "0"
    return format(Decimal(nanos).scaleb(-9).normalize(), "f")


def parse_time(text: str, parameter: str) -> int:
    """Nanoseconds since the epoch from epoch seconds, an ISO date (midnight UTC) or an ISO
    datetime (UTC unless it names an offset)."""
    value = text.strip()
    try:
        if _EPOCH_SECONDS.fullmatch(value):
            return int(Decimal(value) * 1_000_000_000)
        if len(value) == 10:
            day = date.fromisoformat(value)
            moment = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
        else:
            fraction = _FRACTION.search(value)
            nanos = int(fraction.group(2)[:9].ljust(9, "0")) if fraction else 0
            if fraction:
                value = value[: fraction.start()] + fraction.group(1) + value[fraction.end() :]
            moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)
            return _ns(moment) + nanos
    except ValueError:
        raise ApiError(
            f"{parameter}={text!r}: expected epoch seconds, an ISO date or an ISO datetime", parameter
        ) from None
    return _ns(moment)


def _ns(moment: datetime) -> int:
    delta = moment - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def format_time(ns: int | None) -> str | None:
    """ISO 8601 UTC with a ``Z``; the fraction only when there is one, to the nanosecond."""
    if ns is None:
        return None
    seconds, rest = divmod(ns, 1_000_000_000)
    text = datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{rest:09d}".rstrip("0") + "Z" if rest else f"{text}Z"


def totals_json(totals: Totals) -> dict[str, Any]:
    return {
        "total_usd": usd(totals.cost_nanos),
        "requests": totals.requests,
        "errors": totals.errors,
        "unpriced": totals.unpriced,
        "input_tokens": totals.input_tokens,
        "output_tokens": totals.output_tokens,
        "cache_read_tokens": totals.cache_read_tokens,
        "cache_write_tokens": totals.cache_write_tokens,
        "reasoning_tokens": totals.reasoning_tokens,
    }


def _single(request: Request, name: str) -> str | None:
    values = request.query.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise ApiError(f"{name} is given {len(values)} times; give it once", name)
    return values[0]


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
            return json_response(
                {"error": f"no such path: {request.path}", "paths": sorted(self.routes)}, 404
            )
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
        """Cost and usage from the ledger, optionally grouped and filtered (see the module docs)."""
        self._only(request, "GET", "HEAD")
        unknown = sorted(set(request.query) - _REPORT_PARAMS - FILTERABLE)
        if unknown:
            raise ApiError(
                f"unknown parameter {unknown[0]!r}; expected group_by, since, until, limit or a filter on "
                f"{', '.join(sorted(FILTERABLE))}",
                unknown[0],
            )
        group_by = [d.strip() for d in (_single(request, "group_by") or "").split(",") if d.strip()]
        bad = [d for d in group_by if d not in GROUPABLE]
        if bad or len(set(group_by)) != len(group_by):
            reason = f"cannot group by {bad[0]!r}" if bad else "a dimension is named twice"
            raise ApiError(f"group_by: {reason}; groupable: {', '.join(GROUPABLE)}", "group_by")
        since_text, until_text = _single(request, "since"), _single(request, "until")
        since = parse_time(since_text, "since") if since_text is not None else None
        until = parse_time(until_text, "until") if until_text is not None else None
        if since is not None and until is not None and until <= since:
            raise ApiError("until must be later than since", "until")
        limit_text = _single(request, "limit")
        if limit_text is not None and not limit_text.isdigit():
            raise ApiError(f"limit={limit_text!r}: expected a non-negative integer", "limit")
        limit = int(limit_text) if limit_text is not None else None
        equals: dict[str, str | None] = {}
        for name in sorted(set(request.query) & FILTERABLE):
            equals[name] = _single(request, name)
        filters = Filters(since_ns=since, until_ns=until, equals=equals)
        try:
            totals = self._ledger.totals(filters)
            groups = self._ledger.group(group_by, filters, limit) if group_by else []
        except ValueError as err:  # a filter value the ledger cannot use (e.g. priced=maybe)
            raise ApiError(str(err), next((name for name in equals if name in str(err)), None)) from None
        return json_response(
            {
                **totals_json(totals),
                "since": format_time(since),
                "until": format_time(until),
                "group_by": group_by,
                "filters": equals,
                "groups": [{"key": dict(group.key), **totals_json(group.totals)} for group in groups],
            }
        )
