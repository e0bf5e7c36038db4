"""``otel-llmcost forecast``: month-end (or week-end) spend with an 80% interval, and its backtest."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from otel_llmcost.analytics._report import ReportError, parse_time
from otel_llmcost.cli._format import echo_json, fitted_console, money, new_console
from otel_llmcost.cli._report_api import api_option, pick_source
from otel_llmcost.cli._report_options import (
    ledger_option,
    open_existing,
    scope_from,
    scope_options,
    usage_errors,
)

__all__ = ["forecast"]


def _zone(ctx: click.Context, param: click.Parameter, value: str) -> ZoneInfo:
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(f"{value!r} is not an IANA time zone (e.g. UTC, Europe/Paris)") from None


def _moment(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        ns = parse_time(value, "--as-of")
    except ReportError as err:
        raise click.BadParameter(str(err)) from None
    moment = datetime.fromtimestamp(ns // 1_000_000_000, timezone.utc).replace(
        microsecond=ns % 1_000_000_000 // 1000
    )
    if moment > datetime.now(timezone.utc):
        # The days between now and then would count as days without spend: a made-up history.
        raise click.BadParameter(
            f"{value!r} is in the future: the ledger has no spend after now to forecast from; "
            "leave out --as-of to forecast as of now"
        )
    return moment


@click.command()
@click.option(
    "--window",
    type=click.Choice(["month", "week"]),
    default="month",
    show_default=True,
    help="Calendar window.",
)
@click.option(
    "--timezone",
    "zone",
    default="UTC",
    show_default=True,
    callback=_zone,
    help="Zone the window and days align to.",
)
@click.option(
    "--as-of",
    "as_of",
    metavar="TIME",
    callback=_moment,
    help="Forecast as of this past time (default: now; epoch seconds, ISO date or datetime; UTC unless "
    "it names an offset).",
)
@click.option(
    "--backtest",
    is_flag=True,
    help="Score month-end forecasts made at days 7, 14 and 21 of every complete month in the ledger.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the collector's /v1/forecast answer).")
@ledger_option
@api_option("/v1/forecast")
@scope_options
@usage_errors
def forecast(
    window: str,
    zone: ZoneInfo,
    as_of: datetime | None,
    backtest: bool,
    as_json: bool,
    ledger_url: str | None,
    api_url: str | None,
    **options: Any,
) -> None:
    """Project this month's (or week's) spend at its end, with an 80% interval.

    The model learns the weekday pattern and the growth trend of the last 8 weeks of daily spend;
    with under 14 days of history it says so and shows only the run-rate. The forecast is never
    below the run-rate (spend so far scaled to the whole window). --backtest reports how far off
    month-end forecasts made on days 7, 14 and 21 were, on every complete month of the ledger.
    """
    scope = scope_from(options)
    if backtest and window != "month":
        raise click.UsageError("--backtest scores month-end forecasts; leave out --window week")
    api = pick_source(ledger_url, api_url)
    if api:
        data = _from_api(api, window, zone, as_of, backtest, scope)
    else:
        data = _from_ledger(ledger_url, window, zone, as_of, backtest, scope)
    if as_json:
        echo_json(data)
    elif backtest:
        _show_backtest(data)
    else:
        _show(data)


def _from_ledger(
    ledger_url: str | None,
    window: str,
    zone: ZoneInfo,
    as_of: datetime | None,
    backtest: bool,
    scope: dict[str, str | None],
) -> dict[str, Any]:
    from otel_llmcost.analytics._backtest import backtest as run_backtest
    from otel_llmcost.analytics._forecast import forecast as run_forecast

    with open_existing(ledger_url) as ledger:
        if backtest:
            return {
                "timezone": str(zone),
                "scope": scope,
                **run_backtest(ledger, tz=zone, as_of=as_of, scope=scope).to_dict(),
            }
        return run_forecast(ledger, window=window, tz=zone, as_of=as_of, scope=scope).to_dict()


def _from_api(
    api_url: str,
    window: str,
    zone: ZoneInfo,
    as_of: datetime | None,
    backtest: bool,
    scope: dict[str, str | None],
) -> dict[str, Any]:
    from otel_llmcost.cli._report_api import fetch_scoped

    params = [("window", window), ("timezone", str(zone))]
    if as_of is not None:
        params.append(("as_of", as_of.isoformat()))
    if backtest:
        params.append(("backtest", "true"))
    return fetch_scoped(api_url, "/v1/forecast", params, scope)


def _usd(text: str | None) -> str:
    from decimal import Decimal

    return "-" if text is None else money(Decimal(text), 2)


def _local(stamp: str, zone: str) -> datetime:
    """An ISO-8601 UTC time of the forecast's JSON in the forecast's own zone."""
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    try:
        return moment.astimezone(ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError):  # a collector's zone this machine does not know
        return moment


def _show(data: dict[str, Any]) -> None:

    console = new_console()
    label = "Month-end" if data["window"] == "monthly" else "Week-end"
    scope = ", ".join(f"{k}={v}" for k, v in data["scope"].items())
    zone = data["timezone"]
    start, end = (_local(data[key], zone).strftime("%Y-%m-%d") for key in ("window_start", "window_end"))
    as_of = _local(data["as_of"], zone).isoformat(sep=" ", timespec="minutes")  # with its offset
    console.print(
        f"[bold]{label} forecast[/bold] ({start} - {end}, {zone}{', ' + scope if scope else ''}) as of {as_of}",
        soft_wrap=True,  # one line, however narrow the terminal
    )
    console.print(f"  Spent so far   {_usd(data['spent_usd'])}")
    if data["status"] != "ok":
        console.print(
            f"  [yellow]Not enough history to forecast:[/yellow] {data['history_days']} complete days "
            f"(needs {data['min_history_days']})."
        )
        console.print(f"  Run-rate       {_usd(data['run_rate_usd'])}  (spend so far scaled to the window)")
        return
    interval = data["interval"]
    console.print(
        f"  Forecast       [bold]{_usd(data['forecast_usd'])}[/bold]   "
        f"80% interval {_usd(interval['low_usd'])} - {_usd(interval['high_usd'])}"
    )
    floored = " (the forecast keeps to it: the model projected less)" if data["model"]["floored"] else ""
    console.print(f"  Run-rate       {_usd(data['run_rate_usd'])}{floored}")
    model = data["model"]
    factors = " ".join(f"{day.title()} {factor:.2f}" for day, factor in model["weekday_factors"].items())
    console.print(
        f"  Model          {data['history_days']} days of history, growth {model['daily_growth'] * 100:+.2f}%/day"
    )
    console.print(f"  Weekdays       {factors}")


def _show_backtest(data: dict[str, Any]) -> None:
    from rich.table import Table

    if not data["forecasts"]:
        new_console().print("No complete month with spend in the ledger: nothing to backtest.")
        return
    table = Table(title=f"Month-end forecast backtest ({data['timezone']})")
    for column in ("month", "made on day", "actual", "forecast", "80% interval", "error", "in interval"):
        table.add_column(column, justify="left" if column in ("month", "in interval") else "right")
    for point in data["forecasts"]:
        if point["status"] != "ok":
            table.add_row(
                point["month"], str(point["day"]), _usd(point["actual_usd"]), "not enough history", "", "", ""
            )
            continue
        table.add_row(
            point["month"], str(point["day"]), _usd(point["actual_usd"]), _usd(point["forecast_usd"]),
            f"{_usd(point['low_usd'])} - {_usd(point['high_usd'])}", f"{point['error_pct']:.2f}%",
            "yes" if point["covered"] else "no",
        )  # fmt: skip
    console = fitted_console(table)
    console.print(table)
    mape = data["mape_pct"]
    per_day = ", ".join(
        f"day {day}: {value:.2f}%" for day, value in mape.items() if day != "all" and value is not None
    )
    if mape["all"] is None:
        console.print("No month had enough history before day 21 to score a forecast.")
        return
    console.print(f"MAPE {mape['all']:.2f}% ({per_day}) over {data['scored']} forecasts")
    console.print(f"80% interval held the actual total in {data['interval_coverage'] * 100:.0f}% of them")
