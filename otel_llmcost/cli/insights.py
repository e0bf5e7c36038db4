"""``otel-llmcost insights``: where money is wasted, what to change, and the anomalies of the week."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import click
from click.core import ParameterSource

from otel_llmcost.analytics._insights import parse_duration
from otel_llmcost.analytics._report import ReportError, parse_time
from otel_llmcost.cli._format import echo_json, money, new_console
from otel_llmcost.cli._report_api import api_option, pick_source
from otel_llmcost.cli._report_options import (
    ledger_option,
    open_existing,
    scope_from,
    scope_options,
    usage_errors,
    usd_option,
)
from otel_llmcost.environment_variables import OTEL_LLMCOST_BUDGETS
from otel_llmcost.pricing import to_nanos

__all__ = ["insights"]


def _duration(ctx: click.Context, param: click.Parameter, value: str) -> int:
    try:
        return parse_duration(value)
    except ValueError as err:
        raise click.BadParameter(str(err)) from None


def _usd_nanos(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    amount = usd_option(ctx, param, value)
    return None if amount is None else to_nanos(amount)


def _time(value: str | None, option: str) -> int | None:
    if value is None:
        return None
    try:
        return parse_time(value, option)
    except ReportError as err:
        raise click.BadParameter(str(err), param_hint=option) from None


@click.command()
@click.option(
    "--days",
    type=click.IntRange(min=1, max=3660),
    default=30,
    show_default=True,
    help="Analyse the N days up to --until (default: now).",
)
@click.option(
    "--since",
    metavar="TIME",
    help="From this time on instead of --days (epoch seconds, ISO date or datetime; UTC).",
)
@click.option("--until", metavar="TIME", help="Up to this time (exclusive; default now).")
@click.option(
    "--duplicate-window", default="24h", show_default=True, callback=_duration, metavar="DURATION",
    help="A repeated prompt within this long (a response cache's TTL) is a duplicate.",
)  # fmt: skip
@click.option(
    "--daily-threshold", metavar="USD", callback=_usd_nanos, help="List the days whose spend exceeded USD."
)
@click.option(
    "--policy", "policy_path", type=click.Path(dir_okay=False), envvar=OTEL_LLMCOST_BUDGETS,
    help=f"Budget policy whose model tiers rank models (default: ${OTEL_LLMCOST_BUDGETS}, else the "
    "built-in tiers; a collector read with --api ranks by its own).",
)  # fmt: skip
@click.option(
    "--limit", type=click.IntRange(min=0), default=20, show_default=True, help="Show the top N insights."
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print JSON (the collector's /v1/insights answer), every insight."
)
@ledger_option
@api_option("/v1/insights")
@scope_options
@usage_errors
def insights(
    days: int,
    since: str | None,
    until: str | None,
    duplicate_window: int,
    daily_threshold: int | None,
    policy_path: str | None,
    limit: int,
    as_json: bool,
    ledger_url: str | None,
    api_url: str | None,
    **options: Any,
) -> None:
    """Find waste in the last 30 days (or --days N, or --since/--until): repeated prompts a cache
    would answer, truncated answers, failed calls, oversized max_tokens, low prompt-cache hit
    ratios, cache writes never read, premium models on short-answer work. Each comes with its
    evidence, the spend involved, the estimated saving per month and what to change.

    Also lists the hours of the last 7 days whose spend or tokens were at least twice the same
    hour's median over the previous 4 weeks, and, with --daily-threshold, the days above it.
    """
    scope = scope_from(options)
    since_ns, until_ns = _time(since, "--since"), _time(until, "--until")
    given = click.get_current_context().get_parameter_source
    if since_ns is not None and given("days") == ParameterSource.COMMANDLINE:
        raise click.UsageError("give --days or --since, not both (--days counts back from --until)")
    if since_ns is not None and until_ns is not None and until_ns <= since_ns:
        raise click.BadParameter("must be later than --since", param_hint="--until")
    api = pick_source(ledger_url, api_url)
    if api:
        # $OTEL_LLMCOST_BUDGETS is the collector's setting too: only a --policy given here is refused
        if policy_path and given("policy_path") == ParameterSource.COMMANDLINE:
            raise click.UsageError(
                "--policy applies to the ledger; the collector ranks models by its own policy"
            )
        data = _from_api(api, days, since_ns, until_ns, duplicate_window, daily_threshold, scope)
    else:
        from otel_llmcost.analytics._insights import find_insights
        from otel_llmcost.budgets import load_policy
        from otel_llmcost.budgets._policy import DEFAULT_TIERS

        tiers = load_policy(policy_path).tiers if policy_path else DEFAULT_TIERS
        with open_existing(ledger_url) as ledger:
            try:
                report = find_insights(
                    ledger, since_ns=since_ns, until_ns=until_ns, days=days, scope=scope, tiers=tiers,
                    duplicate_window_ns=duplicate_window, daily_threshold_nanos=daily_threshold,
                )  # fmt: skip
            except ValueError as err:
                raise click.UsageError(str(err)) from None
        data = report.to_dict()
    if as_json:
        echo_json(data)
    else:
        _show(data, limit)


def _from_api(
    api_url: str,
    days: int,
    since_ns: int | None,
    until_ns: int | None,
    duplicate_window: int,
    daily_threshold: int | None,
    scope: dict[str, str | None],
) -> dict[str, Any]:
    from otel_llmcost.cli._report_api import fetch_scoped

    params = [("days", str(days)), ("duplicate_window", f"{duplicate_window // 10**9}s")]
    for name, ns in (("since", since_ns), ("until", until_ns)):
        if ns is not None:
            params.append((name, format(Decimal(ns).scaleb(-9), "f")))
    if daily_threshold is not None:
        params.append(("daily_threshold_usd", format(Decimal(daily_threshold).scaleb(-9), "f")))
    return fetch_scoped(api_url, "/v1/insights", params, scope)


def _money(text: str, places: int = 2) -> str:
    return money(Decimal(text), places)


def _show(data: dict[str, Any], limit: int) -> None:
    from rich.padding import Padding

    console = new_console()
    ratio = data["cache_hit_ratio"]
    console.print(
        f"[bold]Insights[/bold] {data['since'][:16].replace('T', ' ')} - {data['until'][:16].replace('T', ' ')} UTC: "
        f"{data['requests']:,} calls, {_money(data['spend_usd'])} spent, prompt-cache hit ratio "
        f"{'-' if ratio is None else f'{ratio:.1%}'}"
    )
    shown = data["insights"][:limit]
    if not shown:
        console.print("No waste found.")
    else:
        console.print(f"Estimated saving: [bold]{_money(data['monthly_saving_usd'])}[/bold] a month")
        # One block per insight, not a table: the evidence and suggestions are sentences, and a
        # six-column table in an 80-column terminal wraps them a word per line.
        for number, item in enumerate(shown, 1):
            where = " / ".join(str(v) for v in (item["scope"]["model"], item["scope"]["feature"]) if v)
            evidence = ", ".join(f"{k}={v}" for k, v in item["evidence"].items())
            console.print(
                f"\n[bold]{number}. {item['kind'].replace('_', ' ')}[/bold]"
                f"{f' ({where})' if where else ''}: spend {_money(item['spend_usd'])}, "
                f"saving {_money(item['monthly_saving_usd'])}/month",
                highlight=False,
            )
            console.print(Padding(item["suggestion"], (0, 0, 0, 3)), highlight=False)
            console.print(Padding(f"[dim]{evidence}[/dim]", (0, 0, 0, 3)), highlight=False)
        if len(data["insights"]) > limit:
            console.print(f"\n… and {len(data['insights']) - limit} more (--limit, or --json for all)")
    anomalies = data["anomalies"]
    console.print(f"\n[bold]Anomalies[/bold]: {len(anomalies) or 'none'}")
    for item in anomalies:
        value, baseline = item["value"], item["baseline"]
        if item["kind"] == "hourly_tokens":
            value, baseline = f"{float(value):,.0f} tokens", f"{float(baseline):,.0f}"
        else:
            value, baseline = _money(value, 4), _money(baseline, 4)
        what = "day above threshold" if item["kind"] == "daily_cost" else item["kind"].replace("_", " ")
        console.print(
            f"  {item['start'][:16].replace('T', ' ')}  {what}: {value} vs {baseline} ({item['ratio']:.1f}x)"
        )
