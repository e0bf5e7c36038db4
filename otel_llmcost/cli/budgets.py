"""``otel-llmcost budgets``: where every budget stands, with progress bars."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import click

from otel_llmcost.cli._format import echo_json
from otel_llmcost.cli._report_options import ledger_option, open_existing, usage_errors
from otel_llmcost.environment_variables import (
    OTEL_LLMCOST_API_TOKEN,
    OTEL_LLMCOST_API_URL,
    OTEL_LLMCOST_BUDGETS,
)


def _from_api(url: str) -> dict[str, Any]:
    from otel_llmcost.cli._report_api import fetch_scoped

    return fetch_scoped(url, "/v1/budgets", [], {})


@usage_errors
def _from_ledger(policy_path: str, ledger_url: str | None) -> dict[str, Any]:
    from otel_llmcost.budgets import load_policy
    from otel_llmcost.budgets._status import budget_status

    policy = load_policy(policy_path)
    with open_existing(ledger_url) as ledger:  # only read: a mistyped URL must not create one
        statuses = budget_status(policy, ledger)
    return {"timezone": str(policy.timezone), "budgets": [s.to_dict() for s in statuses]}


def _bar(ratio: float, width: int = 30) -> str:
    filled = min(width, round(min(ratio, 1.0) * width))
    return "█" * filled + "░" * (width - filled)


def _zone(name: object) -> ZoneInfo:
    """The zone the budgets' windows align to; UTC when the answer names none we know."""
    try:
        return ZoneInfo(str(name or "UTC"))
    except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        return ZoneInfo("UTC")


def _forecast(item: dict[str, Any]) -> str:
    """The forecast in the unit the table shows the budget in: USD, or tokens for a token budget."""
    if item["limit_usd"]:
        return f"${item['forecast_usd']}" if item["forecast_usd"] else "-"
    tokens = item.get("forecast_tokens")  # absent from an older collector's answer
    return "-" if tokens is None else f"{tokens:,} tok"


def _resets(stamp: str | None, zone: ZoneInfo) -> str:
    """A reset time in the table's zone, to the minute, with its offset (``2026-12-01T00:00+01:00``)."""
    if not stamp:
        return "never"
    return datetime.fromisoformat(stamp).astimezone(zone).isoformat(timespec="minutes")


@click.command()
@click.option(
    "--policy",
    "policy_path",
    type=click.Path(dir_okay=False),
    envvar=OTEL_LLMCOST_BUDGETS,
    help=f"Budget policy YAML (default: ${OTEL_LLMCOST_BUDGETS}).",
)
@ledger_option
@click.option(
    "--api",
    "api_url",
    envvar=OTEL_LLMCOST_API_URL,
    metavar="URL",
    help="Read a running collector's /v1/budgets instead (e.g. http://127.0.0.1:9464;"
    f" token: ${OTEL_LLMCOST_API_TOKEN}).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def budgets(policy_path: str | None, ledger_url: str | None, api_url: str | None, as_json: bool) -> None:
    """Show every budget's current window: spent, limit, utilization, forecast (in the budget's unit)
    and reset time (in the policy's time zone)."""
    if api_url:
        data = _from_api(api_url)
    elif policy_path:
        data = _from_ledger(policy_path, ledger_url)
    else:
        raise click.UsageError(f"no budgets: give --policy FILE (or ${OTEL_LLMCOST_BUDGETS}) or --api URL")
    if as_json:
        echo_json(data)
        return
    if data.get("configured") is False:  # a collector started without --budgets
        click.echo(f"The collector at {api_url} watches no budgets (start it with --budgets FILE).")
        return
    from rich.console import Console
    from rich.table import Table

    zone = _zone(data.get("timezone"))
    table = Table(title=f"Budgets ({zone})")
    for col in ("budget", "window", "spent", "limit", "used", "", "forecast", "resets"):
        table.add_column(col, justify="right" if col in ("spent", "limit", "used", "forecast") else "left")
    for item in data["budgets"]:
        name = item["budget"] + (f" [{item['key']}]" if item["key"] else "")
        limit = f"${item['limit_usd']}" if item["limit_usd"] else f"{item['limit_tokens']:,} tok"
        spent = f"${item['spent_usd']}" if item["limit_usd"] else f"{item['spent_tokens']:,} tok"
        ratio = float(item["utilization"])
        color = "red" if ratio >= 1 else "yellow" if item["thresholds_reached"] else "green"
        table.add_row(
            name,
            item["window"],
            spent,
            limit,
            f"{ratio * 100:.1f}%",
            f"[{color}]{_bar(ratio)}[/{color}]",
            _forecast(item),
            _resets(item["resets_at"], zone),
        )
    Console().print(table)
