"""The terminal dashboard of ``otel-llmcost report`` (rich): summary, budgets, breakdowns.

Piped into another program it is as wide as its widest table, so no name or URL is cut or
folded (``report --by model | grep claude-sonnet-4-6`` finds it); set COLUMNS to choose a width.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from otel_llmcost.analytics._chargeback import rounded_parts
from otel_llmcost.analytics._dashboard import Dashboard
from otel_llmcost.cli._format import UNIT_NANOS, fitted_console, money, shown_money, units_of
from otel_llmcost.ledger import Totals

__all__ = ["render_dashboard"]

_NANO = Decimal("1e-9")
_TENTH = Decimal("0.1")
_SMALLEST = Decimal("0.0001")


def _usd(value: Decimal | int | str) -> str:
    """``$1,234.5678``; a cost too small for four places shows as ``<$0.0001``, never ``$0``."""
    amount = Decimal(value) * _NANO if isinstance(value, int) else Decimal(value)
    if 0 < amount < _SMALLEST / 2:
        return "<$0.0001"
    return money(amount)


def _percent(part: int, whole: int) -> str:
    if whole == 0:
        return "-"
    return f"{(Decimal(part) * 100 / Decimal(whole)).quantize(_TENTH, ROUND_HALF_EVEN)}%"


def _key(value: str | None) -> Text:
    return Text("(none)", style="dim") if value is None else Text(value)


def _section(title: str) -> Rule:
    return Rule(f"[bold]{title}[/bold]", align="left")


def _range(query_filters: Mapping[str, Any], since: str | None, until: str | None) -> str:
    if since is None and until is None:
        span = "all time"
    else:
        span = f"{since or 'the beginning'} to {until or 'now'}"
    if query_filters:
        span += "; " + ", ".join(f"{k}={v}" for k, v in sorted(query_filters.items()))
    return span


def _summary(dash: Dashboard, source: str) -> Table:
    report = dash.report
    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="bold")
    summary.add_column()
    summary.add_row("Source", source)
    summary.add_row("Range", _range(report["filters"], report["since"], report["until"]))
    summary.add_row(
        "Total API calls",
        f"{report['requests']:,}" + (f" ({_plural(report['errors'], 'error')})" if report["errors"] else ""),
    )
    summary.add_row("Total cost", _usd(report["total_usd"]))
    month = dash.month_totals
    summary.add_row(
        f"This month ({dash.month}, UTC)", f"{_usd(month.cost_nanos)} over {month.requests:,} calls"
    )
    summary.add_row(
        "Tokens",
        f"{report['input_tokens']:,} in ({report['cache_read_tokens']:,} cache read) · "
        f"{report['output_tokens']:,} out ({report['reasoning_tokens']:,} reasoning)",
    )
    return summary


def render_dashboard(
    console: Console | None,
    dash: Dashboard,
    budgets: Sequence[Mapping[str, Any]],
    *,
    source: str,
    budget_hint: str,
) -> None:
    """The whole dashboard: summary, budget status, then the breakdown (model rows when verbose),
    on ``console`` (``None``: stdout, piped as wide as the widest table)."""
    report = dash.report
    total_nanos = int(Decimal(report["total_usd"]).scaleb(9))
    summary = _summary(dash, source)
    budget_view = _budget_table(budgets) if budgets else None
    breakdown = _breakdown(dash, total_nanos)
    if console is None:
        console = fitted_console(*(t for t in (summary, budget_view, breakdown) if t is not None))
    parts: list[RenderableType] = [
        Rule("[bold]otel-llmcost report[/bold]"),
        Text(),
        _section("Summary"),
        summary,
    ]
    if report["unpriced"]:
        parts.append(
            Text(
                f"{_plural(report['unpriced'], 'call')} used models without a price (marked * or 'unpriced' "
                "below): their cost is unknown, not $0 (see `otel-llmcost prices`).",
                style="yellow",
            )
        )
    parts += [Text(), _section("Budget status")]
    parts.append(budget_view if budget_view is not None else Text(budget_hint, style="dim"))
    by = dash.query.group_by
    parts += [Text(), _section(f"Breakdown by {', '.join(by)}" + (" and model" if dash.detail_by else ""))]
    parts.append(breakdown)
    console.print(Group(*parts))


def _utc_minute(stamp: str) -> str:
    """An ISO-8601 time (any offset) as UTC to the minute, saying so: ``2026-11-30 23:00 UTC``."""
    return datetime.fromisoformat(stamp).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _budget_table(budgets: Sequence[Mapping[str, Any]]) -> Table:
    """One block per budget window, as the cost-tracker dashboard had it: name and window, then
    spent / limit / remaining / forecast, then the bar."""
    table = Table.grid(padding=(0, 1))
    table.add_column()
    for item in budgets:
        ratio = float(item["utilization"])
        color = "red" if ratio >= 1 else "yellow" if item["thresholds_reached"] else "green"
        name = item["budget"] + (f" [{item['key']}]" if item["key"] else "")
        resets = f", resets {_utc_minute(item['resets_at'])}" if item["resets_at"] else ""
        head = Text(f"{name} ({item['window']}{resets})", style="bold")
        if item["thresholds_reached"]:
            head.append("  reached: " + ", ".join(item["thresholds_reached"]), style=color)
        unpriced = 0
        if item["limit_usd"] is not None:
            spent, limit = Decimal(item["spent_usd"]), Decimal(item["limit_usd"])
            left = (
                f"Remaining: {_usd(limit - spent)}" if spent <= limit else f"Over by: {_usd(spent - limit)}"
            )
            unpriced = int(item.get("unpriced") or 0)  # absent from older answers
            line = f"  Spent: {_usd(spent)}{'*' if unpriced else ''} of {_usd(limit)} | {left}"
        else:
            used, cap = int(item["spent_tokens"]), int(item["limit_tokens"])
            line = f"  Spent: {used:,} of {cap:,} tokens | Remaining: {max(cap - used, 0):,} tokens"
        if item["limit_usd"] is not None and item["forecast_usd"]:
            line += f" | Forecast: {_usd(item['forecast_usd'])}"
        elif item["limit_usd"] is None and item.get("forecast_tokens") is not None:
            line += f" | Forecast: {int(item['forecast_tokens']):,} tokens"  # in the budget's unit
        if unpriced:  # never a silent $0
            line += f" | * {_plural(unpriced, 'call')} of models without a price: cost unknown, not $0"
        bar = Table.grid(padding=(0, 1))
        bar.add_row(
            Text(" "),
            ProgressBar(
                total=100.0,
                completed=min(ratio, 1.0) * 100,
                width=40,
                complete_style=color,
                finished_style=color,
            ),
            Text(f"{ratio * 100:.1f}%", style=color),
        )
        table.add_row(head)
        table.add_row(Text(line))
        table.add_row(bar)
    return table


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _count(n: int) -> str:
    """Token counts compactly: 1,234 · 56.8k · 315.7M (exact figures are in --json)."""
    for threshold, divisor, unit in (
        (1_000_000_000, 1_000_000_000, "G"),
        (1_000_000, 1_000_000, "M"),
        (10_000, 1_000, "k"),
    ):
        if n >= threshold:
            return f"{n / divisor:.1f}{unit}"
    return f"{n:,}"


def _totals_cells(totals: Totals, units: int, whole: int) -> list[str]:
    return [
        f"{totals.requests:,}",
        _count(totals.input_tokens),
        _count(totals.output_tokens),
        _cost_cell(totals, units),
        _percent(totals.cost_nanos, whole),
    ]


def _cost_cell(totals: Totals, units: int) -> str:
    """Never a silent $0: a group of unpriced calls says so; a group with some is marked *.
    ``units``: the cost as shown, in $0.0001 (see :func:`_shown_units`)."""
    if totals.unpriced and totals.unpriced == totals.requests:
        return "unpriced"
    return shown_money(units, totals.cost_nanos) + ("*" if totals.unpriced else "")


def _shown_units(parts: Sequence[Totals], whole: int) -> list[int]:
    """The costs of ``parts`` as shown, in $0.0001: when they make up all of ``whole`` (nano-dollars),
    rounded by largest remainder so the amounts shown add up to ``whole`` as shown; else (the
    top groups of a --limit) each rounded on its own."""
    nanos = [t.cost_nanos for t in parts]
    if sum(nanos) != whole:
        return [units_of(n) for n in nanos]
    return rounded_parts(nanos, UNIT_NANOS, units_of(whole))


def _group_totals(group: Mapping[str, Any]) -> Totals:
    return Totals(
        requests=group["requests"], errors=group["errors"], unpriced=group["unpriced"],
        cost_nanos=int(Decimal(group["total_usd"]).scaleb(9)), input_tokens=group["input_tokens"],
        output_tokens=group["output_tokens"],
    )  # fmt: skip


def _breakdown(dash: Dashboard, total_nanos: int) -> Table:
    """One row per group; verbose, each followed by its model rows. Shown costs add up: the groups'
    to the total cost (unless --limit leaves some out), each group's model rows to the group's."""
    by = dash.query.group_by
    table = Table(box=None, pad_edge=False, header_style="bold", show_footer=False)
    for dim in by:
        # a name folds on a narrow terminal, never cut to "…" (and piped, nothing folds)
        table.add_column(dim.replace("_", " ").capitalize(), overflow="fold")
    if dash.detail_by:
        table.add_column("Model", overflow="fold")
    for name in ("Calls", "Tokens in", "Tokens out", "Cost", "% of total"):
        table.add_column(name, justify="right")
    groups = dash.report["groups"]
    if not groups:
        note = "no calls recorded" if not dash.report["requests"] else "no groups shown (--limit 0)"
        table.add_row(*([Text(note, style="dim")] + [""] * (len(table.columns) - 1)))
        return table
    totals = [_group_totals(group) for group in groups]
    for group, group_totals, units in zip(groups, totals, _shown_units(totals, total_nanos), strict=True):
        key = group["key"]
        cells: list[Any] = [_key(key[d]) for d in by]
        if dash.detail_by:
            cells.append("")
        table.add_row(
            *cells, *_totals_cells(group_totals, units, total_nanos), style="bold" if dash.detail_by else None
        )
        rows = [row for row in dash.detail if all(row.key[d] == key[d] for d in by)]
        row_units = rounded_parts([r.totals.cost_nanos for r in rows], UNIT_NANOS, units)
        for row, shown_units in zip(rows, row_units, strict=True):
            blank: list[Any] = [""] * len(by)
            table.add_row(
                *blank, _key(row.key["model"]), *_totals_cells(row.totals, shown_units, total_nanos)
            )
    shown = len(groups)
    if dash.query.limit is not None and shown == dash.query.limit:
        table.caption = f"top {shown} by cost (--limit); totals above cover every row"
    return table
