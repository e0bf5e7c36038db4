"""``otel-llmcost demo``: the main job on embedded defaults, end to end.

Starts the provider simulator and the collector (SQLite ledger), runs a sample app under
``opentelemetry-instrument`` that makes a realistic mix of calls (OpenAI, Anthropic and Gemini;
streaming, embeddings, reasoning and cached tokens, a failing call, an unknown model; three
teams and users), stops everything, and prints the cost report and the chargeback by team
from the ledger.
"""

from __future__ import annotations

from pathlib import Path

import click

from otel_llmcost.demo import DEMO_DIR


@click.command()
@click.option(
    "--dir",
    "workdir",
    type=click.Path(file_okay=False),
    default=DEMO_DIR,
    show_default=True,
    help="Where the demo's ledger and budget file go (its ledger is replaced each run).",
)
def demo(workdir: str) -> None:
    """Run the main job on embedded defaults and print the cost report."""
    from otel_llmcost.cli.report import report
    from otel_llmcost.demo._run import run_demo

    click.echo("otel-llmcost demo: starting the provider simulator and the collector (SQLite ledger),")
    click.echo("then a sample app under opentelemetry-instrument (no instrumentation code in the app)…")
    try:
        run = run_demo(Path(workdir).resolve())
    except RuntimeError as err:
        raise click.ClickException(str(err)) from None
    click.echo("All spans committed; the simulator and the collector are stopped.\n")
    history = f"sqlite:///{Path(workdir).resolve() / 'history.db'}"
    args = ["--ledger", run.ledger_url, "--policy", str(run.budgets_file)]
    report.main([*args, "--verbose"], standalone_mode=False)
    click.echo()
    report.main(["--ledger", run.ledger_url, "--chargeback", "team"], standalone_mode=False)
    click.echo(
        "\nWhile it ran, the collector served Prometheus metrics at "
        f"{run.metrics_url} and its API at {run.api_url}/v1/report."
        "\nExplore the same ledger:"
        f"\n  otel-llmcost report --ledger {run.ledger_url} --by model"
        f"\n  otel-llmcost report --ledger {run.ledger_url} --by team,user"
        f"\n  otel-llmcost budgets --policy {run.budgets_file} --ledger {run.ledger_url}"
        f"\n  otel-llmcost collector --ledger {run.ledger_url}   # serve /metrics and the API again"
        "\nForecasts and insights want weeks of history; try them on synthetic history:"
        f"\n  otel-llmcost synthesize --ledger {history} && otel-llmcost forecast --ledger {history}"
        f"\n  otel-llmcost insights --ledger {history}"
    )
