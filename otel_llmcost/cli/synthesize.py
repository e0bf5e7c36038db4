"""``otel-llmcost synthesize``: fill a ledger with realistic synthetic history.

Forecasts need weeks of history and insights need traffic with waste in it; a new install has
neither. This writes :class:`~otel_llmcost.analytics.SyntheticUsage` (weekday seasonality,
growth, noise, spikes; eight workloads on three providers, each with one kind of waste) into a
ledger so ``forecast``, ``insights``, ``report`` and the dashboards can be tried at once. Records
are deterministic (ids included): running it twice with the same settings adds nothing.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import click

from otel_llmcost.cli._format import echo_json
from otel_llmcost.cli._report_options import ledger_option, resolve, shown, usage_errors

_BATCH = 5000


@click.command()
@ledger_option
@click.option("--days", type=click.IntRange(1, 3660), default=120, show_default=True, help="Days of history.")
@click.option(
    "--end",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The UTC day after the last day of history [default: today, so history ends yesterday].",
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
    days: int,
    end: dt.datetime | None,
    seed: int,
    calls_per_day: float,
    monthly_growth: float,
    as_json: bool,
) -> None:
    """Write DAYS of realistic synthetic LLM usage into the ledger (for trying forecast/insights).

    Never point this at a production ledger: the rows look exactly like real ones (teams support,
    platform, data, engineering, research, sales, search).
    """
    from otel_llmcost.analytics import SyntheticUsage
    from otel_llmcost.analytics._report import usd
    from otel_llmcost.ledger import open_ledger

    last = end.date() if end is not None else dt.datetime.now(dt.timezone.utc).date()
    spec = SyntheticUsage(
        seed=seed, days=days, end=last, calls_per_day=calls_per_day, monthly_growth=monthly_growth
    )
    url = resolve(ledger_url)
    written = generated = cost_nanos = 0
    with open_ledger(url) as ledger:
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
