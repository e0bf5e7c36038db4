"""The terminal dashboard of ``otel-llmcost report`` (rich): summary, budgets, breakdowns, chargeback."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from rich import box
from rich.console import Console, Group
from rich.progress_bar import ProgressBar
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from otel_llmcost.analytics._chargeback import Chargeback
from otel_llmcost.analytics._dashboard import Dashboard
from otel_llmcost.analytics._report import format_time
from otel_llmcost.cli._format import money
from otel_llmcost.ledger import Totals

__all__ = ["render_chargeback", "render_dashboard"]

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


def _section(console: Console, title: str) -> None:
    console.print()
    console.print(Rule(f"[bold]{title}[/bold]", align="left"))


def _range(query_filters: Mapping[str, Any], since: str | None, until: str | None) -> str:
    if since is None and until is None:
        span = "all time"
    else:
        span = f"{since or 'the beginning'} to {until or 'now'}"
    if query_filters:
        span += "; " + ", ".join(f"{k}={v}" for k, v in sorted(query_filters.items()))
    return span


def render_dashboard(
    console: Console, dash: Dashboard, budgets: Sequence[Mapping[str, Any]], *, source: str, budget_hint: str
) -> None:
    """The whole dashboard: summary, budget status, then the breakdown (model rows when verbose)."""
    report = dash.report
    total_nanos = int(Decimal(report["total_usd"]).scaleb(9))
    console.print(Rule("[bold]otel-llmcost report[/bold]"))
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
    _section(console, "Summary")
    console.print(summary)
    if report["unpriced"]:
        console.print(
            f"[yellow]{_plural(report['unpriced'], 'call')} used models without a price (marked * or 'unpriced' below): their cost is unknown, "
            "not $0 (see `otel-llmcost prices`).[/yellow]"
        )
    _section(console, "Budget status")
    if budgets:
        console.print(_budget_table(budgets))
    else:
        console.print(Text(budget_hint, style="dim"))
    by = dash.query.group_by
    _section(console, f"Breakdown by {', '.join(by)}" + (" and model" if dash.detail_by else ""))
    console.print(_breakdown(dash, total_nanos))


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
        if item["limit_usd"] is not None:
            spent, limit = Decimal(item["spent_usd"]), Decimal(item["limit_usd"])
            left = (
                f"Remaining: {_usd(limit - spent)}" if spent <= limit else f"Over by: {_usd(spent - limit)}"
            )
            line = f"  Spent: {_usd(spent)} of {_usd(limit)} | {left}"
        else:
            used, cap = int(item["spent_tokens"]), int(item["limit_tokens"])
            line = f"  Spent: {used:,} of {cap:,} tokens | Remaining: {max(cap - used, 0):,} tokens"
        if item["limit_usd"] is not None and item["forecast_usd"]:
            line += f" | Forecast: {_usd(item['forecast_usd'])}"
        elif item["limit_usd"] is None and item.get("forecast_tokens") is not None:
            line += f" | Forecast: {int(item['forecast_tokens']):,} tokens"  # in the budget's unit
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


def _totals_cells(totals: Totals, whole: int) -> list[str]:
    return [
        f"{totals.requests:,}",
        _count(totals.input_tokens),
        _count(totals.output_tokens),
        _cost_cell(totals),
        _percent(totals.cost_nanos, whole),
    ]


def _cost_cell(totals: Totals) -> str:
    """Never a silent $0: a group of unpriced calls says so; a group with some is marked *."""
    if totals.unpriced and totals.unpriced == totals.requests:
        return "unpriced"
    return _usd(totals.cost_nanos) + ("*" if totals.unpriced else "")


def _breakdown(dash: Dashboard, total_nanos: int) -> Table:
    by = dash.query.group_by
    table = Table(box=None, pad_edge=False, header_style="bold", show_footer=False)
    for dim in by:
        table.add_column(dim.replace("_", " ").capitalize())
    if dash.detail_by:
        table.add_column("Model")
    for name in ("Calls", "Tokens in", "Tokens out", "Cost", "% of total"):
        table.add_column(name, justify="right")
    groups = dash.report["groups"]
    if not groups:
        note = "no calls recorded" if not dash.report["requests"] else "no groups shown (--limit 0)"
        table.add_row(*([Text(note, style="dim")] + [""] * (len(table.columns) - 1)))
        return table
    for group in groups:
        key = group["key"]
        totals = Totals(
            requests=group["requests"], errors=group["errors"], unpriced=group["unpriced"],
            cost_nanos=int(Decimal(group["total_usd"]).scaleb(9)), input_tokens=group["input_tokens"],
            output_tokens=group["output_tokens"],
        )  # fmt: skip
        cells: list[Any] = [_key(key[d]) for d in by]
        if dash.detail_by:
            cells.append("")
        table.add_row(*cells, *_totals_cells(totals, total_nanos), style="bold" if dash.detail_by else None)
        for row in dash.detail:
            if all(row.key[d] == key[d] for d in by):
                blank: list[Any] = [""] * len(by)
                table.add_row(*blank, _key(row.key["model"]), *_totals_cells(row.totals, total_nanos))
    shown = len(groups)
    if dash.query.limit is not None and shown == dash.query.limit:
        table.caption = f"top {shown} by cost (--limit); totals above cover every row"
    return table


def render_chargeback(console: Console, result: Chargeback) -> None:
    data = result.to_dict()
    table = Table(
        title=f"Chargeback by {result.by}", header_style="bold", show_footer=True, box=box.SIMPLE_HEAD
    )
    table.add_column(result.by.capitalize(), footer="Total")
    calls = sum(a.requests for a in result.allocations)
    if result.method == "proportional":  # the unattributed calls are spread, not listed
        calls += result.unattributed_requests
    table.add_column("Calls", justify="right", footer=f"{calls:,}")
    direct = sum(a.direct_nanos for a in result.allocations)
    table.add_column("Direct", justify="right", footer=_usd(direct))
    table.add_column("Unattributed share", justify="right", footer=_usd(result.total_nanos - direct))
    table.add_column("Total", justify="right", footer=_usd(result.total_nanos))
    table.add_column("Share", justify="right", footer="100%" if result.total_nanos else "-")
    for allocation in result.allocations:
        label = Text("unattributed", style="yellow") if allocation.key is None else Text(allocation.key)
        table.add_row(
            label, f"{allocation.requests:,}", _usd(allocation.direct_nanos), _usd(allocation.allocated_nanos),
            _usd(allocation.total_nanos), _percent(allocation.total_nanos, result.total_nanos),
        )  # fmt: skip
    since, until = format_time(result.filters.since_ns), format_time(result.filters.until_ns)
    console.print(
        Group(
            table,
            Text(f"Range: {_range(data['filters'], since, until)}"),
            Text(f"Method ({result.method}): {result.description}."),
        )
    )
