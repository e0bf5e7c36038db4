"""``otel-llmcost synthesize``: fill a ledger with realistic synthetic history.

Forecasts need weeks of history and insights need traffic with waste in it; a new install has
neither. This writes :class:`~otel_llmcost.analytics.SyntheticUsage` (weekday seasonality,
growth, noise, spikes; eight workloads on three providers, each with one kind of waste) into a
ledger so ``forecast``, ``insights``, ``report`` and the dashboards can be tried at once. Records
are deterministic (ids included): running it again (``--append``) with the same settings adds
nothing.

The rows are indistinguishable from real ones, so the ledger must be named (``--ledger``; neither
the default ledger nor ``$OTEL_LLMCOST_LEDGER``) and be empty unless ``--append`` is given.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import click

from otel_llmcost.cli._format import echo_json
from otel_llmcost.cli._report_options import shown, usage_errors

_BATCH = 5000
_EPOCH = dt.date(1970, 1, 1)


@click.command()
@click.option(
    "--ledger",
    "ledger_url",
    metavar="URL",
    help="The ledger to fill: sqlite:///path or postgresql://… (required: never the default "
    "ledger or $OTEL_LLMCOST_LEDGER).",
)
@click.option(
    "--append",
    is_flag=True,
    help="Write into a ledger that already holds rows (by default only an empty or new one).",
)
@click.option("--days", type=click.IntRange(1, 3660), default=120, show_default=True, help="Days of history.")
@click.option(
    "--end",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The UTC day after the last day of history, at the latest tomorrow (so that every row can be "
    "imported again: import refuses times more than a day ahead) [default: today, so history ends "
    "yesterday].",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same records.")
@click.option(
    "--calls-per-day",
    type=click.FloatRange(min=0),
    default=400.0,
    show_default=True,
    help="Calls on an ordinary weekday at the start (growth and weekday shape apply).",
)
@click.option(
    "--monthly-growth",
    type=click.FloatRange(min=-0.99),
    default=0.08,
    show_default=True,
    help="Traffic growth per 30 days (0.08 = +8%).",
)
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
@usage_errors
def synthesize(
    ledger_url: str | None,
    append: bool,
    days: int,
    end: dt.datetime | None,
    seed: int,
    calls_per_day: float,
    monthly_growth: float,
    as_json: bool,
) -> None:
    """Write DAYS of realistic synthetic LLM usage into a ledger (for trying forecast/insights).

    Give a ledger of its own (--ledger sqlite:///try.db): it must be empty or new unless --append.
    Never point this at a production ledger: the rows look exactly like real ones (environment
    prod; teams support, platform, data, engineering, research, sales, search); nothing marks
    them but their services: support-api, triage-worker, summarizer, review-bot, agent-runner,
    email-bot, rag-indexer.
    """
    from otel_llmcost.analytics import SyntheticUsage
    from otel_llmcost.analytics._report import usd
    from otel_llmcost.ledger import open_ledger

    today = dt.datetime.now(dt.timezone.utc).date()
    last = end.date() if end is not None else today
    if last > today + dt.timedelta(days=1):
        raise click.BadParameter(
            f"{last} is after tomorrow (UTC): rows more than a day ahead of the clock could not be "
            "imported again (import refuses them as the collector would)",
            param_hint="--end",
        )
    if last - dt.timedelta(days=days) <= _EPOCH:
        raise click.BadParameter(
            f"{last} with --days {days} starts history on {last - dt.timedelta(days=days)}: it must start "
            "after 1970-01-01, where the ledger's times begin",
            param_hint="--end",
        )
    spec = SyntheticUsage(
        seed=seed, days=days, end=last, calls_per_day=calls_per_day, monthly_growth=monthly_growth
    )
    if not ledger_url:
        raise click.UsageError(
            "give the ledger to fill with --ledger URL (e.g. sqlite:///try.db): synthesize never "
            "writes into the default ledger or $OTEL_LLMCOST_LEDGER"
        )
    url = ledger_url
    written = generated = cost_nanos = 0
    with open_ledger(url) as ledger:
        held = ledger.count()
        if held and not append:
            rows = f"{held:,} row{'' if held == 1 else 's'}"
            raise click.UsageError(
                f"{shown(url)} already holds {rows}, and synthetic rows cannot be told from real ones: "
                "give a new ledger, or --append to add to this one"
            )
        records = iter(spec.records())
        while batch := list(itertools.islice(records, _BATCH)):
            generated += len(batch)
            for record in ledger.insert_new(batch):
                written += 1
                cost_nanos += record.cost_nanos or 0
    summary: dict[str, Any] = {
        "ledger": shown(url),
        "from": spec.start.isoformat(),
        "until": spec.end.isoformat(),
        "generated": generated,
        "written": written,
        "cost_usd_written": usd(cost_nanos),
    }
    if as_json:
        echo_json(summary)
        return
    click.echo(
        f"Wrote {written:,} of {generated:,} synthetic calls ({spec.start} to {spec.end}, exclusive; "
        f"${summary['cost_usd_written']}) into {summary['ledger']}."
    )
    if written < generated:
        click.echo(f"{generated - written:,} were already there (same seed and settings).")
