"""Shared output helpers: exact decimal strings, money, JSON with Decimals."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import click


def decimal_str(value: Decimal) -> str:
    """A plain decimal string, never in exponent form: Decimal('4.5E-4') -> '0.00045'."""
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def money(value: Decimal, places: int = 4) -> str:
    """``$1,234.5678`` for people; JSON output uses :func:`decimal_str` instead."""
    quantum = Decimal(1).scaleb(-places)
    return f"${value.quantize(quantum, rounding=ROUND_HALF_EVEN):,}"


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return decimal_str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=_default))
