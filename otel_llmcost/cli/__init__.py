"""The ``otel-llmcost`` command. Exit codes: 0 ok, 1 runtime failure, 2 bad usage or bad input."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``otel-llmcost`` console script."""
    from otel_llmcost.cli._app import cli

    cli.main(args=list(argv) if argv is not None else None, prog_name="otel-llmcost")
