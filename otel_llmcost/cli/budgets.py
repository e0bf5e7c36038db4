"""``otel-llmcost budgets``: where every budget stands, with progress bars."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import click
from click.core import ParameterSource

from otel_llmcost.cli._format import echo_json, fitted_console, money, new_console
from otel_llmcost.cli._report_api import api_option, pick_source
from otel_llmcost.cli._report_options import ledger_option, open_existing, usage_errors
from otel_llmcost.environment_variables import OTEL_LLMCOST_BUDGETS

_NUMBERS = frozenset({"spent", "limit", "used", "forecast"})
#: Console columns from which the table has a progress bar.
_BAR_MIN_WIDTH = 100


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


def _bar(ratio: float, width: int = 10) -> str:
    filled = min(width, round(min(ratio, 1.0) * width))
    return "█" * filled + "░" * (width - filled)


def _zone(name: object) -> ZoneInfo:
    """The zone the budgets' windows align to; UTC when the answer names none we know."""
    try:
        return ZoneInfo(str(name or "UTC"))
    except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        return ZoneInfo("UTC")


def _usd(text: str) -> str:
    """An amount for people: to the cent, or to 4 places when it has more (``$200.00``,
    ``$1,000.00``, ``$0.7582``), as ``report`` shows money."""
    amount = Decimal(text)
    return money(amount, 2) if amount == amount.quantize(Decimal("0.01")) else money(amount)


def _forecast(item: dict[str, Any]) -> str:
    """The forecast in the unit the table shows the budget in: USD, or tokens for a token budget."""
    if item["limit_usd"]:
        return _usd(item["forecast_usd"]) if item["forecast_usd"] else "-"
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
@api_option("/v1/budgets (and its policy)")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def budgets(policy_path: str | None, ledger_url: str | None, api_url: str | None, as_json: bool) -> None:
    """Show every budget's current window: spent, limit, utilization, forecast (in the budget's unit)
    and reset time (in the policy's time zone).

    Piped into another program, the table is as wide as its longest line, so that no budget name
    or reset time is folded; set COLUMNS to choose a width."""
    api = pick_source(ledger_url, api_url)
    if api:
        # $OTEL_LLMCOST_BUDGETS is the collector's setting too: only a --policy given here is refused
        if policy_path and click.get_current_context().get_parameter_source("policy_path") == (
            ParameterSource.COMMANDLINE
        ):
            raise click.UsageError(
                "--policy applies to the ledger; the collector at --api shows its own policy's budgets"
            )
        data = _from_api(api)
    elif policy_path:
        data = _from_ledger(policy_path, ledger_url)
    else:
        raise click.UsageError(f"no budgets: give --policy FILE (or ${OTEL_LLMCOST_BUDGETS}) or --api URL")
    if as_json:
        echo_json(data)
        return
    if data.get("configured") is False:  # a collector started without --budgets
        click.echo(f"The collector at {api} watches no budgets (start it with --budgets FILE).")
        return
    from rich.markup import escape
    from rich.table import Table

    zone = _zone(data.get("timezone"))
    # The progress bar only where there is room for it: every other column is worth more.
    columns = ["budget", "window", "spent", "limit", "used", *([""] if new_console().width >= _BAR_MIN_WIDTH else []),
               "forecast", "resets"]  # fmt: skip
    names = [item["budget"] + (f" [{item['key']}]" if item["key"] else "") for item in data["budgets"]]
    table = Table(title=f"Budgets ({zone})")
    for col in columns:
        # Folded onto a second line on a narrow screen, never cut to "…": a budget name or a reset
        # time is no use half shown.
        table.add_column(col, justify="right" if col in _NUMBERS else "left", overflow="fold")
    for name, item in zip(names, data["budgets"], strict=True):
        limit = _usd(item["limit_usd"]) if item["limit_usd"] else f"{item['limit_tokens']:,} tok"
        spent = _usd(item["spent_usd"]) if item["limit_usd"] else f"{item['spent_tokens']:,} tok"
        if item["limit_usd"] and item.get("unpriced"):  # never a silent $0 (absent from older answers)
            spent += "*"
        ratio = float(item["utilization"])
        color = "red" if ratio >= 1 else "yellow" if item["thresholds_reached"] else "green"
        cells = {
            "budget": escape(name),
            "window": item["window"],
            "spent": spent,
            "limit": limit,
            "used": f"{ratio * 100:.1f}%",
            "": f"[{color}]{_bar(ratio)}[/{color}]",
            "forecast": _forecast(item),
            "resets": _resets(item["resets_at"], zone),
        }
        table.add_row(*(cells[col] for col in columns))
    console = fitted_console(table)
    console.print(table)
    # A call counts in every budget it matches: say how many the most affected window holds.
    unpriced = max(
        (int(item.get("unpriced") or 0) for item in data["budgets"] if item["limit_usd"]), default=0
    )
    if unpriced:
        calls = "1 call" if unpriced == 1 else f"up to {unpriced:,} calls"
        console.print(
            f"[yellow]* spent leaves out calls of models without a price ({calls} in a window): their cost "
            "is unknown, not $0 (see `otel-llmcost prices`).[/yellow]"
        )
