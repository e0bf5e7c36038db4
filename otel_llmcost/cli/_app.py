"""The command group. Subcommands load lazily so ``otel-llmcost prices`` never imports grpc.

Output piped into a program that stops reading (``otel-llmcost export | head -1``) ends the
command as SIGPIPE ends coreutils: quietly, with exit status 141 (128 + SIGPIPE), which
``set -o pipefail`` sees as the failure it is.
"""

from __future__ import annotations

import errno
import importlib
import logging
import os
import sys
from typing import Any

import click

from otel_llmcost import __version__

# command name -> ("module:attribute", one-line help shown by --help without importing it)
_COMMANDS = {
    "collector": (
        "otel_llmcost.cli.collector:collector",
        "Run the OTLP sidecar: price GenAI spans into the ledger, serve metrics and the API.",
    ),
    "budgets": ("otel_llmcost.cli.budgets:budgets", "Show every budget's window: spent, limit, forecast."),
    "export": ("otel_llmcost.cli.ledger_io:export", "Export ledger rows as CSV or JSONL."),
    "forecast": ("otel_llmcost.cli.forecast:forecast", "Project window-end spend with an 80% interval."),
    "import": ("otel_llmcost.cli.ledger_io:import_", "Merge JSONL exports into the ledger (idempotent)."),
    "insights": (
        "otel_llmcost.cli.insights:insights",
        "Find waste: duplicates, truncation, oversized models.",
    ),
    "report": ("otel_llmcost.cli.report:report", "Where the money went: summary, budgets, breakdowns."),
    "reset": ("otel_llmcost.cli.ledger_io:reset", "Delete the ledger (archived first unless --no-archive)."),
    "demo": (
        "otel_llmcost.cli.demo:demo",
        "Run the main job on embedded defaults and print the cost report.",
    ),
    "prices": ("otel_llmcost.cli.prices:prices", "Look up the price catalog and price a call by hand."),
    "synthesize": (
        "otel_llmcost.cli.synthesize:synthesize",
        "Fill a ledger with realistic synthetic history (try forecast/insights).",
    ),
    "simulator": (
        "otel_llmcost.cli.simulator:simulator",
        "Serve the OpenAI/Anthropic/Gemini wire simulator.",
    ),
}


#: The exit status of a process ended by SIGPIPE, as a shell reports it.
EXIT_BROKEN_PIPE = 128 + 13


def _quiet_broken_pipe() -> None:
    """Send what is left of stdout to /dev/null, so that the interpreter's last flush does not
    fail a second time and print a traceback."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real file descriptor (a test's capture)
        pass


class _LazyGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            result = super().invoke(ctx)
            sys.stdout.flush()  # a closed pipe fails here, not in the interpreter's shutdown
            return result
        except OSError as err:
            if err.errno != errno.EPIPE:
                raise
            _quiet_broken_pipe()
            raise click.exceptions.Exit(EXIT_BROKEN_PIPE) from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_COMMANDS})

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, _COMMANDS[name][1]) for name in sorted(_COMMANDS)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module_name, attr = target[0].split(":")
        command = getattr(importlib.import_module(module_name), attr)
        assert isinstance(command, click.Command)
        return command


@click.group(
    cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.version_option(__version__, prog_name="otel-llmcost")
@click.option("-v", "--verbose", "verbosity", count=True, help="More log output (repeat for debug).")
def cli(verbosity: int) -> None:
    """otel-llmcost: exact LLM cost from OpenTelemetry spans.

    Run `otel-llmcost COMMAND --help` for each command's options.
    """
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
