"""``otel-llmcost prices``: look up the catalog and price a call by hand."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import click

from otel_llmcost.cli._format import decimal_str, echo_json, new_console
from otel_llmcost.environment_variables import OTEL_LLMCOST_PRICES
from otel_llmcost.exceptions import ConfigError, InvalidUsageError
from otel_llmcost.pricing import BUCKETS, SERVICE_TIERS, ModelEntry, Pricer, to_nanos
from otel_llmcost.usage import Usage

#: Audio and image buckets, and the text bucket each is priced like unless it says otherwise.
_MEDIA_OF = {"input_audio": "input", "output_audio": "output", "input_image": "input"}
_UNBOUNDED = 10_000

_PRICES_OPTION = click.option(
    "--prices",
    "prices_file",
    type=click.Path(dir_okay=False),
    envvar=OTEL_LLMCOST_PRICES,
    help=f"Price override YAML (default: ${OTEL_LLMCOST_PRICES}).",
)


def _pricer(prices_file: str | None) -> Pricer:
    try:
        return Pricer(overrides=prices_file)
    except ConfigError as err:
        raise click.UsageError(str(err)) from None


def _require(pricer: Pricer, model: str, provider: str | None) -> ModelEntry:
    entry = pricer.resolve(model, provider)
    if entry is None:
        hint = pricer.suggestions(model)
        where = f" at provider {provider}" if provider else ""
        message = f"unknown model {model!r}{where}: it would be unpriced (never $0)."
        if hint:
            message += " Closest known: " + ", ".join(hint)
        raise click.UsageError(message)
    return entry


def _period_dict(entry: ModelEntry) -> list[dict[str, Any]]:
    periods = []
    for period in entry.periods:
        periods.append(
            {
                "effective_from": period.effective_from,
                "usd_per_mtok": period.table.per_million(),
                "tiers": {name: table.per_million() for name, table in period.tiers.items()},
                "long_context": [
                    {
                        "threshold": rule.threshold,
                        "inclusive": rule.inclusive,
                        "usd_per_mtok": rule.table.per_million(),
                    }
                    for rule in period.long_context
                ],
                "per_request": dict(period.per_request),
            }
        )
    return periods


@click.group()
def prices() -> None:
    """Look up the bundled price catalog (plus your overrides) and price a call."""


@prices.command("list")
@click.option("--provider", help="Only this provider (e.g. openai, anthropic, gcp.gemini).")
@click.option(
    "--model",
    "pattern",
    metavar="TEXT",
    help="Only models whose catalog key or an alias contains TEXT (any case), e.g. sonnet-4-5.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_PRICES_OPTION
def list_prices(provider: str | None, pattern: str | None, as_json: bool, prices_file: str | None) -> None:
    """List priced models with their current standard prices (USD per million tokens).

    Piped into another program, the table is as wide as its longest line, so that no model name
    is cut or folded (grep finds them whole); set COLUMNS to choose a width."""
    pricer = _pricer(prices_file)
    today = datetime.now(timezone.utc).date()
    rows: list[dict[str, Any]] = []
    wanted = pattern.lower() if pattern else None
    for entry in pricer.entries(provider):
        if wanted is not None and not any(wanted in name for name in (entry.key.lower(), *entry.aliases)):
            continue
        period = entry.period_at(today)
        per_m = period.table.per_million() if period else {}
        rows.append(
            {
                "key": entry.key,
                "provider": entry.provider,
                "model": entry.model,
                "mode": entry.mode,
                "free": entry.free,
                "usd_per_mtok": per_m,
            }
        )
    if as_json:
        echo_json({"price_version": pricer.version, "models": rows})
        return
    from rich.table import Table

    console = new_console()
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = new_console(width=_UNBOUNDED)  # the table's own width: nothing cut for grep
    table = Table(title=f"Prices (USD per 1M tokens), catalog {pricer.version}")
    for col in ("model", "mode", "input", "output", "cache read", "cache write"):
        # A name folds onto a second line on a narrow terminal, never cut to "…".
        table.add_column(col, justify="left" if col in ("model", "mode") else "right", overflow="fold")
    for row in rows:
        p = row["usd_per_mtok"]
        cells = (
            ["free"] * 4
            if row["free"]
            else [
                decimal_str(p[b]) if b in p else "-"
                for b in ("input", "output", "cache_read", "cache_write_5m")
            ]
        )
        table.add_row(row["key"], row["mode"], *cells)
    console.print(table)
    click.echo(f"{len(rows)} models")


@prices.command("show")
@click.argument("model")
@click.option("--provider", help="The provider the model is called at.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_PRICES_OPTION
def show(model: str, provider: str | None, as_json: bool, prices_file: str | None) -> None:
    """Show how MODEL resolves and every price period, tier and long-context table it has."""
    pricer = _pricer(prices_file)
    entry = _require(pricer, model, provider)
    data: dict[str, Any] = {
        "query": model,
        "model": entry.model,
        "provider": entry.provider,
        "catalog_key": entry.key,
        "mode": entry.mode,
        "aliases": list(entry.aliases),
        "free": entry.free,
        "max_input_tokens": entry.max_input_tokens,
        "max_output_tokens": entry.max_output_tokens,
        "origin": entry.origin,
        "price_version": pricer.version,
        "prices": _period_dict(entry),
    }
    if as_json:
        echo_json(data)
        return
    click.echo(f"{model} -> {entry.key} ({entry.mode}{', free' if entry.free else ''}), USD per 1M tokens")
    for period in data["prices"]:
        click.echo(f"  from {period['effective_from']}: " + _fmt_table(period["usd_per_mtok"]))
        for tier, table in period["tiers"].items():
            click.echo(f"    {tier}: " + _fmt_table(table))
        for rule in period["long_context"]:
            op = ">=" if rule["inclusive"] else ">"
            click.echo(f"    input {op} {rule['threshold']:,}: " + _fmt_table(rule["usd_per_mtok"]))
        for fee, amount in period["per_request"].items():
            click.echo(f"    per {fee} request: ${decimal_str(amount)}")


def _usd(amount: Decimal) -> str:
    """``amount`` rounded to nano-dollars, as the ledger stores it: ``"0.003805175"``."""
    return decimal_str(Decimal(to_nanos(amount)).scaleb(-9))


def _fmt_table(per_m: dict[str, Decimal]) -> str:
    """Every text and cache bucket; audio and image only where they differ from the text price
    they would otherwise be (``input_audio`` from ``input`` …), as in ``--json``."""
    return ", ".join(
        f"{b} ${decimal_str(v)}"
        for b, v in per_m.items()
        if b not in _MEDIA_OF or v != per_m.get(_MEDIA_OF[b])
    )


@prices.command("cost")
@click.argument("model")
@click.option(
    "--input",
    "input_tokens",
    type=click.IntRange(min=0),
    required=True,
    help="All input tokens, cache reads and writes included (as gen_ai.usage.input_tokens).",
)
@click.option(
    "--output",
    "output_tokens",
    type=click.IntRange(min=0),
    required=True,
    help="All output tokens, reasoning included (as gen_ai.usage.output_tokens).",
)
@click.option("--cache-read", type=click.IntRange(min=0), default=0, help="Input tokens read from the cache.")
@click.option(
    "--cache-write",
    type=click.IntRange(min=0),
    default=0,
    help="Input tokens written to the cache with the default (5-minute) TTL.",
)
@click.option(
    "--cache-write-1h",
    type=click.IntRange(min=0),
    default=0,
    help="Input tokens written to the cache with the 1-hour TTL.",
)
@click.option("--reasoning", type=click.IntRange(min=0), default=0, help="Output tokens spent reasoning.")
@click.option("--provider", help="The provider the model is called at (e.g. azure.ai.openai).")
@click.option("--service-tier", type=click.Choice(SERVICE_TIERS), help="Price at this service tier.")
@click.option(
    "--at",
    "at_day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Price in force on this day (UTC); default today.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_PRICES_OPTION
def cost(
    model: str,
    input_tokens: int,
    output_tokens: int,
    cache_read: int,
    cache_write: int,
    cache_write_1h: int,
    reasoning: int,
    provider: str | None,
    service_tier: str | None,
    at_day: datetime | None,
    as_json: bool,
    prices_file: str | None,
) -> None:
    """Price one call of MODEL, whatever the provider's own token convention.

    Amounts are exact to the nano-dollar (rounded half to even), as the ledger stores them.
    """
    pricer = _pricer(prices_file)
    entry = _require(pricer, model, provider)
    try:
        usage = Usage.from_totals(
            input_tokens,
            output_tokens,
            cache_read=cache_read,
            cache_write_5m=cache_write,
            cache_write_1h=cache_write_1h,
            reasoning=reasoning,
        )
    except InvalidUsageError as err:
        raise click.UsageError(str(err)) from None
    at = at_day.replace(tzinfo=timezone.utc) if at_day else None
    result = pricer.price_entry(entry, usage, at=at, service_tier=service_tier)
    if result is None:
        raise click.UsageError(
            f"{entry.key} has no price in force on {at_day:%Y-%m-%d}" if at_day else "no price"
        )
    data: dict[str, Any] = {
        "model": entry.model,
        "provider": entry.provider,
        "catalog_key": entry.key,
        "total_usd": _usd(result.total),
        "breakdown": {b: _usd(result.bucket(b)) for b in (*BUCKETS, "request_fees") if b in result.breakdown},
        "tokens": {b: getattr(usage, b) for b in BUCKETS if getattr(usage, b)},
        "service_tier": result.service_tier,
        "tier_fallback": result.tier_fallback,
        "long_context_threshold": result.long_context_threshold,
        "effective_from": result.effective_from,
        "price_version": result.price_version,
    }
    if as_json:
        echo_json(data)
        return
    click.echo(f"{model} -> {entry.key}: ${data['total_usd']}")
    for bucket, amount in data["breakdown"].items():
        click.echo(f"  {bucket:<15} {data['tokens'].get(bucket, ''):>10}  ${amount}")
    notes = []
    if result.long_context_threshold is not None:
        notes.append(f"long-context price (input above {result.long_context_threshold:,} tokens)")
    if result.tier_fallback:
        notes.append(f"{service_tier} tier not offered for this model: priced at standard")
    elif result.service_tier != "standard":
        notes.append(f"{result.service_tier} tier")
    for note in notes:
        click.echo(f"  note: {note}")
    click.echo(f"  prices from {result.effective_from}, catalog {result.price_version}")
