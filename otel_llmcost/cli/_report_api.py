"""A running collector's ``/v1/report`` as a ledger reader, so ``report --api URL`` runs the very
same report, dashboard, chargeback and budget code as ``report --ledger URL``."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from types import TracebackType
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from otel_llmcost.environment_variables import (
    OTEL_LLMCOST_API_TOKEN,
    OTEL_LLMCOST_API_URL,
    OTEL_LLMCOST_LEDGER,
)
from otel_llmcost.ledger import Filters, Group, Totals

__all__ = ["ApiReader", "api_option", "check_api_url", "pick_source"]

F = TypeVar("F", bound=Callable[..., Any])

_NO_FILTERS = Filters()


def api_option(path: str) -> Callable[[F], F]:
    """``--api URL`` (default ``$OTEL_LLMCOST_API_URL``) of a command that reads ``path`` of a
    collector instead of a ledger; resolve it against ``--ledger`` with :func:`pick_source`."""
    return click.option(
        "--api",
        "api_url",
        envvar=OTEL_LLMCOST_API_URL,
        metavar="URL",
        help=f"Read a running collector's {path} instead of a ledger (e.g. http://127.0.0.1:9464; "
        f"default: ${OTEL_LLMCOST_API_URL}, which wins over ${OTEL_LLMCOST_LEDGER} but not over "
        f"--ledger; token: ${OTEL_LLMCOST_API_TOKEN}).",
    )


def check_api_url(url: str, where: str = "--api") -> str:
    """``url`` if it can be a collector's base URL (http or https, a host, a valid port, no query or
    fragment); else a usage error (exit 2) naming ``where``."""
    problem = None
    try:
        parts = urllib.parse.urlsplit(url.strip())
        parts.port  # noqa: B018 -- raises ValueError on a bad port
    except ValueError as err:
        problem = str(err)
    else:
        if parts.scheme not in ("http", "https"):
            problem = "expected an http:// or https:// URL"
        elif not parts.hostname:
            problem = "the URL names no host"
        elif parts.query or parts.fragment:
            problem = "a collector's base URL has no query or fragment"
    if problem is not None:
        raise click.BadParameter(f"{url!r}: {problem} (e.g. http://127.0.0.1:9464)", param_hint=where)
    return url.strip()


def pick_source(ledger_url: str | None, api_url: str | None) -> str | None:
    """The collector URL to read (checked by :func:`check_api_url`), or ``None`` for the ledger.

    A flag beats the other's environment variable (``--ledger`` over ``$OTEL_LLMCOST_API_URL``,
    ``--api`` over ``$OTEL_LLMCOST_LEDGER``); with only the two variables set the collector is read:
    ``$OTEL_LLMCOST_LEDGER`` is also the collector's own setting and may be shared with it, where
    ``$OTEL_LLMCOST_API_URL`` is set for no other purpose than pointing the CLI at a collector.
    Both flags together are a usage error, and so is an empty ``--api`` (an empty variable is unset).
    """
    ctx = click.get_current_context()
    env = ParameterSource.ENVIRONMENT
    api_env = ctx.get_parameter_source("api_url") == env
    if api_url is None or (api_env and not api_url.strip()):
        return None
    if ledger_url:
        ledger_env = ctx.get_parameter_source("ledger_url") == env
        if not ledger_env and not api_env:
            raise click.UsageError("give --ledger or --api, not both")
        if api_env and not ledger_env:
            return None
    return check_api_url(api_url, f"${OTEL_LLMCOST_API_URL}" if api_env else "--api")


def _seconds(ns: int) -> str:
    """Nanoseconds as exact epoch seconds, which the API parses back to the same nanosecond."""
    return format(Decimal(ns).scaleb(-9), "f")


def _totals(data: dict[str, Any]) -> Totals:
    return Totals(
        requests=int(data["requests"]),
        errors=int(data["errors"]),
        unpriced=int(data["unpriced"]),
        cost_nanos=int(Decimal(data["total_usd"]).scaleb(9)),
        input_tokens=int(data["input_tokens"]),
        output_tokens=int(data["output_tokens"]),
        cache_read_tokens=int(data["cache_read_tokens"]),
        cache_write_tokens=int(data["cache_write_tokens"]),
        reasoning_tokens=int(data["reasoning_tokens"]),
    )


class ApiReader:
    """``totals``/``group`` answered by a collector's ``/v1/report`` (bearer ``token`` if set).
    Errors are click exceptions: the API refusing the query is a usage error (exit 2), an
    unreachable or failing collector a runtime one (exit 1)."""

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 30.0) -> None:
        self.url = base_url.rstrip("/")
        self._token = token
        self._timeout = timeout

    def get(self, path: str, params: Sequence[tuple[str, str]] = ()) -> dict[str, Any] | None:
        """The JSON answer to ``GET path?params``; ``None`` when the collector has no such path."""
        query = ("?" + urllib.parse.urlencode(params)) if params else ""
        request = urllib.request.Request(self.url + path + query, headers={"Accept": "application/json"})
        if self._token:
            request.add_header("Authorization", f"Bearer {self._token}")
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                data: dict[str, Any] = json.load(response)
                return data
        except urllib.error.HTTPError as err:
            if err.code == 404:
                return None
            message = _error_message(err)
            if err.code == 400:
                raise click.UsageError(f"{self.url}{path}: {message}") from None
            if err.code == 401:
                message += " (set OTEL_LLMCOST_API_TOKEN)"
            raise click.ClickException(f"{self.url}{path} answered {err.code}: {message}") from None
        except (OSError, ValueError) as err:
            raise click.ClickException(f"cannot read {self.url}{path}: {err}") from None

    def report(self, params: Sequence[tuple[str, str]]) -> dict[str, Any]:
        data = self.get("/v1/report", params)
        if data is None:
            raise click.ClickException(f"{self.url} serves no /v1/report: is it an otel-llmcost collector?")
        return data

    @staticmethod
    def params(filters: Filters) -> list[tuple[str, str]]:
        found = []
        if filters.since_ns is not None:
            found.append(("since", _seconds(filters.since_ns)))
        if filters.until_ns is not None:
            found.append(("until", _seconds(filters.until_ns)))
        for key, value in sorted(filters.equals.items()):
            if value is None:
                raise click.UsageError(f"the collector API cannot select rows without a {key}")
            found.append((key, value))
        return found

    def totals(self, filters: Filters = _NO_FILTERS) -> Totals:
        return _totals(self.report(self.params(filters)))

    def group(
        self, by: Sequence[str], filters: Filters = _NO_FILTERS, limit: int | None = None
    ) -> list[Group]:
        params = [("group_by", ",".join(by)), *self.params(filters)]
        if limit is not None:
            params.append(("limit", str(limit)))
        return [Group(dict(g["key"]), _totals(g)) for g in self.report(params)["groups"]]

    def close(self) -> None:
        """Nothing to close: each request has its own connection."""

    def __enter__(self) -> ApiReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def fetch_scoped(
    api_url: str, path: str, params: list[tuple[str, str]], scope: Mapping[str, str | None]
) -> dict[str, Any]:
    """GET ``path`` of the collector at ``api_url`` (token: ``$OTEL_LLMCOST_API_TOKEN``) with
    ``params`` and the equality filters of ``scope``; exit 1 if it is not one of ours."""
    for key, value in sorted(scope.items()):
        if value is None:
            raise click.UsageError(f"the collector API cannot select rows without a {key}")
        params.append((key, value))
    reader = ApiReader(api_url, os.environ.get(OTEL_LLMCOST_API_TOKEN))
    data = reader.get(path, params)
    if data is None:
        raise click.ClickException(f"{reader.url} serves no {path}: is it an otel-llmcost collector?")
    return data


def _error_message(err: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(err.read())
        return str(body.get("error") or body)
    except (OSError, ValueError, AttributeError):
        return str(err.reason)
