"""Shared output helpers: exact decimal strings, money, JSON with Decimals, console width."""

from __future__ import annotations

import errno
import json
import os
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

#: A width no table reaches: measuring in it gives each table its natural, unwrapped width.
_UNBOUNDED = 10_000


def decimal_str(value: Decimal) -> str:
    """A plain decimal string, never in exponent form: Decimal('4.5E-4') -> '0.00045'."""
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def money(value: Decimal, places: int = 4) -> str:
    """``$1,234.5678`` for people; JSON output uses :func:`decimal_str` instead."""
    quantum = Decimal(1).scaleb(-places)
    return f"${value.quantize(quantum, rounding=ROUND_HALF_EVEN):,}"


#: Nano-dollars in $0.0001, the precision tables show money to.
UNIT_NANOS = 100_000


def units_of(nanos: int) -> int:
    """``nanos`` in whole $0.0001, rounded half to even as :func:`money` rounds."""
    units, rest = divmod(nanos, UNIT_NANOS)
    return units + (1 if rest * 2 > UNIT_NANOS or (rest * 2 == UNIT_NANOS and units % 2) else 0)


def shown_money(units: int, nanos: int) -> str:
    """``units`` of $0.0001 (``nanos`` rounded for display) as money; a cost too small to show
    is ``<$0.0001``, never ``$0``."""
    if units == 0 and nanos > 0:
        return "<$0.0001"
    return money(Decimal(units).scaleb(-4))


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return decimal_str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=_default))


def new_console(**settings: Any) -> Console:
    """A rich console whose writes into a closed pipe raise :class:`BrokenPipeError`, which the
    command group turns into the SIGPIPE exit status (rich's own default exits 1)."""
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True
            raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))

    return _Console(**settings)


def fitted_console(*tables: RenderableType) -> Console:
    """A console for printing ``tables`` (and prose around them).

    On a terminal, or with ``COLUMNS`` set, its width as usual. Piped into another program, at
    least as wide as the widest of ``tables`` wants to be, so no cell is cut to "…" or folded
    and ``grep`` finds every name whole; prose still wraps at the usual 80 columns or the
    tables' width, whichever is more."""
    from rich.measure import Measurement

    console = new_console()
    if console.is_terminal or "COLUMNS" in os.environ:
        return console
    probe = new_console(width=_UNBOUNDED)
    widest = max((Measurement.get(probe, probe.options, t).maximum for t in tables), default=0)
    return console if widest <= console.width else new_console(width=widest)
