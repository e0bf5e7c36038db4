"""``otel-llmcost report``: where the money went — summary, budgets, breakdowns, chargeback."""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any, cast

import click

from otel_llmcost.analytics._chargeback import CHARGEBACK_DIMENSIONS, chargeback
from otel_llmcost.analytics._dashboard import DEFAULT_GROUP_BY, build_dashboard
from otel_llmcost.analytics._report import ReportError, ReportQuery, build_report, parse_group_by
from otel_llmcost.cli._format import echo_json
from otel_llmcost.cli._report_api import ApiReader, api_option, pick_source
from otel_llmcost.cli._report_options import (
    ledger_option,
    open_existing,
    resolve,
    selection,
    selection_options,
    shown,
    usage_errors,
    usd_option,
)
from otel_llmcost.environment_variables import OTEL_LLMCOST_API_TOKEN, OTEL_LLMCOST_BUDGETS
from otel_llmcost.ledger import GROUPABLE, LedgerBackend

__all__ = ["report"]

_BUDGET_HINT = (
    f"No budgets: give --policy FILE (or ${OTEL_LLMCOST_BUDGETS}), or --monthly-budget / --total-budget USD "
    "for this run."
)


def _budgets(
    reader: ApiReader | LedgerBackend,
    policy_path: str | None,
    monthly: Decimal | None,
    total: Decimal | None,
) -> list[dict[str, Any]]:
    """Budget windows as ``/v1/budgets`` lists them: the policy's (or, reading a collector without
    a policy file, the collector's own), then this run's --monthly-budget / --total-budget."""
    from otel_llmcost.budgets import load_policy, parse_policy
    from otel_llmcost.budgets._status import budget_status

    # budget_status reads only totals() and group(), which an ApiReader answers as a ledger would
    ledger = cast(LedgerBackend, reader)
    rows: list[dict[str, Any]] = []
    zone = "UTC"
    if policy_path:
        policy = load_policy(policy_path)
        zone = str(policy.timezone)
        rows += [s.to_dict() for s in budget_status(policy, ledger)]
    elif isinstance(reader, ApiReader):
        data = reader.get("/v1/budgets")
        if data is not None:
            rows += data["budgets"]
            zone = str(data.get("timezone") or zone)
    session = [
        {"name": name, "window": window, "limit_usd": str(limit), "thresholds": [0.8, 1.0]}
        for name, window, limit in (
            ("session-monthly", "monthly", monthly),
            ("session-total", "total", total),
        )
        if limit is not None
    ]
    if session:
        adhoc = parse_policy({"timezone": zone, "budgets": session}, source="--monthly-budget/--total-budget")
        rows += [s.to_dict() for s in budget_status(adhoc, ledger)]
    return rows


@click.command()
@ledger_option
@api_option("/v1/report")
@click.option(
    "--policy",
    "policy_path",
    type=click.Path(dir_okay=False),
    envvar=OTEL_LLMCOST_BUDGETS,
    help=f"Budget policy YAML whose status to show (default: ${OTEL_LLMCOST_BUDGETS}).",
)
@click.option(
    "--monthly-budget",
    metavar="USD",
    callback=usd_option,
    help="Also show a monthly budget of USD, for this run only.",
)
@click.option(
    "--total-budget",
    metavar="USD",
    callback=usd_option,
    help="Also show an all-time budget of USD, for this run only.",
)
@click.option(
    "--by",
    "by_text",
    metavar="DIMS",
    help=f"Break down by these dimensions, comma-separated (default: provider); any of {', '.join(GROUPABLE)}.",
)
@click.option("--limit", type=click.IntRange(min=0), help="Show only the top N groups by cost.")
@click.option(
    "--verbose",
    is_flag=True,
    help="Split every group of the table by model (unless --by names model already). The table only: "
    "for JSON, add model to --by.",
)
@click.option(
    "--chargeback",
    "chargeback_by",
    type=click.Choice(CHARGEBACK_DIMENSIONS),
    help="Bill each team or project, with unattributed spend spread in proportion to attributed spend "
    "(every team or project: not with --by, --limit or --verbose).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print JSON: exactly the collector's /v1/report answer for the same query (or the chargeback); "
    "budgets are not in it.",
)
@selection_options
@usage_errors
def report(
    ledger_url: str | None,
    api_url: str | None,
    policy_path: str | None,
    monthly_budget: Decimal | None,
    total_budget: Decimal | None,
    by_text: str | None,
    limit: int | None,
    verbose: bool,
    chargeback_by: str | None,
    as_json: bool,
    **options: Any,
) -> None:
    """Where the money went: calls, total and this month's cost, budget status with progress
    bars, and the cost per provider (or --by any dimension), from the ledger or a collector.

    Times are UTC; --month YYYY-MM selects one calendar month. Every figure is an exact sum of
    the ledger's integer nano-dollars; --json prints decimal strings, never floats. Amounts shown
    to $0.0001 are rounded so that the parts shown add up to the total shown.

    Piped into another program, the tables are as wide as their longest line, so that no name is
    cut or folded (grep finds them whole); set COLUMNS to choose a width.
    """
    filters = selection(options)
    api = pick_source(ledger_url, api_url)
    if chargeback_by:
        for given, flag in ((by_text, "--by"), (limit is not None, "--limit"), (verbose, "--verbose")):
            if given:
                raise click.UsageError(
                    f"--chargeback bills every {chargeback_by} and groups by it itself; leave out {flag}"
                )
    if verbose and as_json:
        raise click.UsageError(
            "--verbose splits the table's groups by model; for JSON, add model to --by instead"
        )
    try:
        by = parse_group_by(by_text, "--by") if by_text else DEFAULT_GROUP_BY
    except ReportError as err:
        raise click.BadParameter(str(err), param_hint="--by") from None
    if not by:
        raise click.BadParameter("name at least one dimension", param_hint="--by")
    query = ReportQuery(by, filters, limit)
    reader: ApiReader | LedgerBackend = (
        ApiReader(api, os.environ.get(OTEL_LLMCOST_API_TOKEN)) if api else open_existing(ledger_url)
    )
    with reader:
        try:
            _run(reader, query, policy_path, monthly_budget, total_budget, verbose, chargeback_by, as_json)
        except ReportError as err:
            raise click.BadParameter(
                str(err), param_hint=f"--{err.parameter}" if err.parameter else None
            ) from None


def _run(
    reader: ApiReader | LedgerBackend,
    query: ReportQuery,
    policy_path: str | None,
    monthly: Decimal | None,
    total: Decimal | None,
    verbose: bool,
    chargeback_by: str | None,
    as_json: bool,
) -> None:
    source = f"{reader.url}/v1/report" if isinstance(reader, ApiReader) else shown(resolve(reader.url))
    if chargeback_by:
        result = chargeback(reader, chargeback_by, query.filters)
        if as_json:
            echo_json(result.to_dict())
            return
        from otel_llmcost.cli._chargeback_view import render_chargeback

        render_chargeback(result)
        return
    if as_json:
        echo_json(build_report(reader, query))
        return
    from otel_llmcost.cli._report_view import render_dashboard

    dash = build_dashboard(reader, query, verbose=verbose)
    budgets = _budgets(reader, policy_path, monthly, total)
    render_dashboard(None, dash, budgets, source=source, budget_hint=_BUDGET_HINT)
