"""``otel-llmcost budgets``: where every budget stands, with progress bars."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import click

from otel_llmcost.cli._format import echo_json
from otel_llmcost.environment_variables import (
    OTEL_LLMCOST_API_TOKEN,
    OTEL_LLMCOST_API_URL,
    OTEL_LLMCOST_BUDGETS,
    OTEL_LLMCOST_LEDGER,
)
from otel_llmcost.exceptions import ConfigError


def _from_api(url: str, token: str | None) -> dict[str, Any]:
    request = urllib.request.Request(url.rstrip("/") + "/v1/budgets")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            data: dict[str, Any] = json.load(response)
            return data
    except OSError as err:
        raise click.ClickException(f"cannot read {url}/v1/budgets: {err}") from None


def _from_ledger(policy_path: str, ledger_url: str | None) -> dict[str, Any]:
    from otel_llmcost.budgets import load_policy
    from otel_llmcost.budgets._status import budget_status
    from otel_llmcost.ledger import default_ledger_url, open_ledger

    try:
        policy = load_policy(policy_path)
        with open_ledger(ledger_url or default_ledger_url()) as ledger:
            statuses = budget_status(policy, ledger)
    except ConfigError as err:
        raise click.UsageError(str(err)) from None
    return {"timezone": str(policy.timezone), "budgets": [s.to_dict() for s in statuses]}


def _bar(ratio: float, width: int = 30) -> str:
    filled = min(width, round(min(ratio, 1.0) * width))
    return "█" * filled + "░" * (width - filled)


@click.command()
@click.option(
    "--policy",
    "policy_path",
    type=click.Path(dir_okay=False),
    envvar=OTEL_LLMCOST_BUDGETS,
    help=f"Budget policy YAML (default: ${OTEL_LLMCOST_BUDGETS}).",
)
@click.option(
    "--ledger",
    "ledger_url",
    envvar=OTEL_LLMCOST_LEDGER,
    metavar="URL",
    help="Ledger to read (default: ./.otel-llmcost/ledger.db).",
)
@click.option(
    "--api",
    "api_url",
    envvar=OTEL_LLMCOST_API_URL,
    metavar="URL",
    help="Read a running collector's /v1/budgets instead (e.g. http://127.0.0.1:9464).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def budgets(policy_path: str | None, ledger_url: str | None, api_url: str | None, as_json: bool) -> None:
    """Show every budget's current window: spent, limit, utilization, forecast and reset time."""
    import os

    if api_url:
        data = _from_api(api_url, os.environ.get(OTEL_LLMCOST_API_TOKEN))
    elif policy_path:
        data = _from_ledger(policy_path, ledger_url)
    else:
        raise click.UsageError(f"no budgets: give --policy FILE (or ${OTEL_LLMCOST_BUDGETS}) or --api URL")
    if as_json:
        echo_json(data)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Budgets ({data.get('timezone', 'UTC')})")
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
            f"${item['forecast_usd']}" if item["forecast_usd"] else "-",
            (item["resets_at"] or "never")[:16],
        )
    Console().print(table)
