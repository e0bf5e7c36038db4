"""Options shared by ``report``, ``export``, ``import`` and ``reset``: which ledger, which rows."""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click

from otel_llmcost.analytics._report import ReportError, month_range, parse_time
from otel_llmcost.demo import DEMO_DIR
from otel_llmcost.environment_variables import OTEL_LLMCOST_LEDGER
from otel_llmcost.exceptions import ConfigError, LedgerNotFoundError, LedgerUnavailableError
from otel_llmcost.ledger import (
    FILTERABLE,
    Filters,
    LedgerBackend,
    LedgerOverflowError,
    check_filter,
    default_ledger_url,
    open_ledger,
)
from otel_llmcost.ledger._url import PostgresTarget, parse, redact
from otel_llmcost.pricing import positive_usd

F = TypeVar("F", bound=Callable[..., Any])

#: Shorthand filter options: --team X is --where team=X.
SHORTHANDS = ("team", "project", "user", "feature", "service", "environment", "provider", "model")

ledger_option = click.option(
    "--ledger",
    "ledger_url",
    envvar=OTEL_LLMCOST_LEDGER,
    metavar="URL",
    help=f"sqlite:///path or postgresql://… (default: ${OTEL_LLMCOST_LEDGER}, else ./.otel-llmcost/ledger.db).",
)


#: ``--where`` keys that select a UTC time bucket: for commands that take a time range.
TIME_KEYS = frozenset({"day", "hour", "month"})


def _where_keys(time_keys: bool) -> frozenset[str]:
    return FILTERABLE if time_keys else FILTERABLE - TIME_KEYS


def _scope_options(command: F, time_keys: bool) -> F:
    for name in reversed(SHORTHANDS):
        command = click.option(f"--{name}", metavar="NAME", help=f"Only rows whose {name} is NAME.")(command)
    keys = ", ".join(sorted(_where_keys(time_keys)))
    return click.option(
        "--where",
        "where",
        multiple=True,
        metavar="KEY=VALUE",
        help=f"Only rows where KEY equals VALUE (repeatable); KEY one of {keys}.",
    )(command)


def scope_options(command: F) -> F:
    """``--team X``… shorthands and ``--where KEY=VALUE``: the rows a command covers (no time
    bucket keys: the command has its own time options). Read them with :func:`scope_from`."""
    return _scope_options(command, time_keys=False)


def scope_from(options: dict[str, Any], *, time_keys: bool = False) -> dict[str, str | None]:
    """The equality filters of :func:`scope_options` (popped from ``options``); a bad one is a
    usage error (exit 2). ``time_keys``: ``day``, ``hour`` and ``month`` are allowed as KEY."""
    equals: dict[str, str | None] = {}
    for name in SHORTHANDS:
        value = options.pop(name)
        if value is not None:
            equals[name] = value
    allowed = _where_keys(time_keys)
    for item in options.pop("where"):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in allowed:
            raise click.BadParameter(
                f"{item!r}: expected KEY=VALUE with KEY one of {', '.join(sorted(allowed))}",
                param_hint="--where",
            )
        if key in equals and equals[key] != value:
            raise click.BadParameter(f"{key} is given two different values", param_hint="--where")
        try:
            check_filter(key, value)
        except ValueError as err:
            raise click.BadParameter(str(err), param_hint="--where") from None
        equals[key] = value
    return equals


def selection_options(command: F) -> F:
    """``--since/--until/--month``, then :func:`scope_options` with the time bucket keys too."""
    command = _scope_options(command, time_keys=True)
    for option in (
        click.option(
            "--month", metavar="YYYY-MM", help="One calendar month in UTC (instead of --since/--until)."
        ),
        click.option("--until", metavar="TIME", help="Before this time (exclusive)."),
        click.option(
            "--since", metavar="TIME", help="From this time on (epoch seconds, ISO date or datetime; UTC)."
        ),
    ):
        command = option(command)
    return command


def usd_option(ctx: click.Context, param: click.Parameter, value: str | None) -> Decimal | None:
    """A click callback: a positive amount of USD, exactly; a bad one is a usage error."""
    if value is None:
        return None
    try:
        return positive_usd(value)
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected a positive amount of USD") from None


def selection(options: dict[str, Any]) -> Filters:
    """The :class:`Filters` that :func:`selection_options` describe (popped from ``options``);
    a bad value is a usage error (exit 2) naming its option."""
    since_text, until_text, month = options.pop("since"), options.pop("until"), options.pop("month")
    equals = scope_from(options, time_keys=True)
    since: int | None
    until: int | None
    try:
        if month is not None:
            if since_text is not None or until_text is not None:
                raise click.UsageError("give --month or --since/--until, not both")
            since, until = month_range(month, "--month")
        else:
            since = parse_time(since_text, "--since") if since_text is not None else None
            until = parse_time(until_text, "--until") if until_text is not None else None
    except ReportError as err:
        raise click.BadParameter(str(err), param_hint=err.parameter) from None
    if since is not None and until is not None and until <= since:
        raise click.BadParameter("must be later than --since", param_hint="--until")
    return Filters(since_ns=since, until_ns=until, equals=equals)


def usage_errors(function: F) -> F:
    """Run ``function`` with a bad ledger URL or policy (:class:`ConfigError`) as exit 2, and a
    ledger that cannot be opened now (:class:`LedgerUnavailableError`) or whose sums overflow
    (:class:`LedgerOverflowError`) as exit 1."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except LedgerUnavailableError as err:
            raise click.ClickException(err.reason) from None
        except LedgerOverflowError as err:
            raise click.ClickException(f"{err} (`otel-llmcost export` lists the rows)") from None
        except ConfigError as err:
            raise click.UsageError(str(err)) from None

    return wrapper  # type: ignore[return-value]


def resolve(url: str | None) -> str:
    return url or default_ledger_url()


def open_existing(url: str | None) -> LedgerBackend:
    """The ledger at ``url`` (default: the working directory's), for a command that only reads
    it (or deletes its rows): where there is none (no file, no schema, another application's
    database) that is an error (exit 1), and nothing is created or changed."""
    try:
        return open_ledger(resolve(url), create=False)
    except LedgerNotFoundError as err:
        if err.foreign:
            hint = "nothing was changed; give --ledger the URL of an otel-llmcost ledger"
        elif url is None and (demo := Path(DEMO_DIR, "ledger.db").resolve()).is_file():
            # `otel-llmcost demo` keeps its ledger apart from the collector's default one.
            hint = f"the demo's ledger is another file: give --ledger sqlite:///{demo.as_posix()}"
        else:
            hint = "run the collector first, or give --ledger URL"
        raise click.ClickException(f"{err.reason}: {hint}") from None


def ledger_name(url: str) -> str:
    """What ``reset`` accepts as confirmation besides ``reset``: the SQLite file's name, or the
    PostgreSQL schema (else database) name."""
    target = parse(url)
    if isinstance(target, PostgresTarget):
        if target.schema:
            return target.schema
        return parse_db_name(target.conninfo)
    return Path(target.path).name


def parse_db_name(conninfo: str) -> str:
    return urlsplit(conninfo).path.lstrip("/") or "postgres"


def shown(url: str) -> str:
    """The URL as printed: without its password."""
    return redact(url)
