"""The chargeback table of ``otel-llmcost report --chargeback`` (rich).

Amounts are shown to $0.0001, rounded by largest remainder within each column so that the rows
add up to the total shown beneath them, as the allocations add up to the total to the nano-dollar;
the shares, to 0.1%, add up to 100% the same way. A bill that includes calls of models without a
price is marked (``*``, or ``unpriced`` where there is nothing else), never shown as a silent $0.
"""

from __future__ import annotations

from decimal import Decimal

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from otel_llmcost.analytics._chargeback import Allocation, Chargeback, allocate, rounded_parts
from otel_llmcost.analytics._report import format_time
from otel_llmcost.cli._format import UNIT_NANOS, fitted_console, shown_money, units_of

__all__ = ["chargeback_view", "render_chargeback"]

_PERMILLE = 1000  # shares in tenths of a percent


def _amount(units: int, nanos: int, mark: bool = False) -> str:
    """``units`` of $0.0001 (``nanos`` as shown), marked * when calls of unknown cost are in it."""
    return shown_money(units, nanos) + ("*" if mark else "")


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _range(result: Chargeback) -> str:
    since, until = format_time(result.filters.since_ns), format_time(result.filters.until_ns)
    span = (
        "all time" if since is None and until is None else f"{since or 'the beginning'} to {until or 'now'}"
    )
    equals = result.filters.equals
    if equals:
        span += "; " + ", ".join(f"{k}={v}" for k, v in sorted(equals.items()))
    return span


def _notes(result: Chargeback, rows_calls: int) -> list[Text]:
    notes = [Text(f"Range: {_range(result)}"), Text(f"Method ({result.method}): {result.description}.")]
    others = result.unattributed_requests
    if result.spread and others:
        carry, are = ("carries", "is") if others == 1 else ("carry", "are")
        notes.append(
            Text(
                f"Calls counts each {result.by}'s own calls: {rows_calls:,} of {result.requests:,}; the "
                f"other {others:,} {carry} no {result.by} and {are} billed through the unattributed share."
            )
        )
    if result.unpriced:
        note = (
            f"{_plural(result.unpriced, 'call')} used models without a price (marked * or 'unpriced' "
            "above): their cost is unknown, not $0 (see `otel-llmcost prices`)."
        )
        if result.spread and result.unattributed_unpriced:
            have = "has" if result.unattributed_unpriced == 1 else "have"
            note += (
                f" {result.unattributed_unpriced:,} of them {have} no {result.by}, so every unattributed "
                "share is incomplete too."
            )
        notes.append(Text(note, style="yellow"))
    if result.total_nanos:
        notes.append(
            Text(
                "Amounts are rounded to $0.0001 (shares to 0.1%) by largest remainder, so each column "
                "adds up to its total; --json has them to the nano-dollar.",
                style="dim",
            )
        )
    return notes


def _direct_cell(allocation: Allocation, units: int) -> str:
    if allocation.unpriced and allocation.unpriced == allocation.requests and allocation.direct_nanos == 0:
        return "unpriced"
    return _amount(units, allocation.direct_nanos, bool(allocation.unpriced))


def chargeback_view(result: Chargeback) -> tuple[Table, list[Text]]:
    """The table and the notes under it (see the module docs)."""
    rows = result.allocations
    pool_unknown = result.spread and result.unattributed_unpriced > 0
    direct_total = sum(a.direct_nanos for a in rows)
    total_units = units_of(result.total_nanos)
    direct_units = min(units_of(direct_total), total_units)
    direct = rounded_parts([a.direct_nanos for a in rows], UNIT_NANOS, direct_units)
    shared = rounded_parts([a.allocated_nanos for a in rows], UNIT_NANOS, total_units - direct_units)
    if result.total_nanos:
        parts = allocate(_PERMILLE, {str(i): a.total_nanos for i, a in enumerate(rows)})
        permille = [parts[str(i)] for i in range(len(rows))]
    calls = sum(a.requests for a in rows)
    table = Table(
        title=f"Chargeback by {result.by}", header_style="bold", show_footer=True, box=box.SIMPLE_HEAD
    )
    table.add_column(result.by.capitalize(), footer="Total", overflow="fold")
    table.add_column("Calls", justify="right", footer=f"{calls:,}")
    table.add_column(
        "Direct", justify="right", footer=_amount(direct_units, direct_total, any(a.unpriced for a in rows))
    )
    table.add_column(
        "Unattributed share",
        justify="right",
        footer=_amount(total_units - direct_units, result.total_nanos - direct_total, pool_unknown),
    )
    table.add_column(
        "Total", justify="right", footer=_amount(total_units, result.total_nanos, result.unpriced > 0)
    )
    table.add_column("Share", justify="right", footer="100%" if result.total_nanos else "-")
    for i, allocation in enumerate(rows):
        label = Text("unattributed", style="yellow") if allocation.key is None else Text(allocation.key)
        share = f"{Decimal(permille[i]).scaleb(-1)}%" if result.total_nanos else "-"
        table.add_row(
            label, f"{allocation.requests:,}", _direct_cell(allocation, direct[i]),
            _amount(shared[i], allocation.allocated_nanos, pool_unknown),
            _amount(direct[i] + shared[i], allocation.total_nanos, bool(allocation.unpriced) or pool_unknown),
            share,
        )  # fmt: skip
    return table, _notes(result, calls)


def render_chargeback(result: Chargeback) -> None:
    """Print :func:`chargeback_view`; piped, as wide as the table needs (no name cut or folded)."""
    table, notes = chargeback_view(result)
    fitted_console(table).print(Group(table, *notes))
