"""``otel-llmcost export``, ``import`` and ``reset``: move ledger rows in and out, and start over.

Exit codes: ``import`` exits 2, importing nothing, when a FILE does not exist or cannot be read;
it exits 1 when any line (or a file that fails while read) could not be imported — every good
line is still committed, and each bad one is reported on stderr as ``FILE:LINE: reason``. ``reset``
exits 1 when the confirmation is not typed (nothing is deleted).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from otel_llmcost.analytics._import import BadLine, ImportResult, import_file, import_lines
from otel_llmcost.analytics._io import FORMATS, export_records, open_output, write_archive
from otel_llmcost.cli._format import echo_json
from otel_llmcost.cli._report_options import (
    ledger_name,
    ledger_option,
    open_existing,
    resolve,
    selection,
    selection_options,
    shown,
    usage_errors,
)
from otel_llmcost.ledger import LedgerChangedError, open_ledger

__all__ = ["export", "import_", "reset"]

DEFAULT_ARCHIVE_DIR = Path(".otel-llmcost") / "archive"


def _format_of(name: str) -> str:
    base = name[:-3] if name.endswith(".gz") else name
    return "csv" if base.lower().endswith(".csv") else "jsonl"


@click.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    help="jsonl (full records, one per line; lossless) or csv (header of every field) "
    "[default: from the -o name, else jsonl].",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    help="Write to FILE (.gz compresses) instead of stdout; it appears only once complete.",
)
@ledger_option
@selection_options
@usage_errors
def export(fmt: str | None, output: str | None, ledger_url: str | None, **options: Any) -> None:
    r"""Export ledger rows (all, or those the filters select) as JSONL or CSV, oldest first.

    `otel-llmcost import` reads either format back exactly: every field, None, booleans and
    integers of any size.

    CSV is for spreadsheets: a text cell a spreadsheet could run as a formula (starting with = + - @,
    a tab or a carriage return, their full-width forms, or spaces and then one of these) is
    written with a \ in front, as is an empty text (an empty cell means none) or one starting
    with \. Import removes that one \, so the file still round-trips exactly; JSONL is written
    as is.
    """
    filters = selection(options)
    chosen = fmt or (_format_of(output) if output else "jsonl")
    with open_existing(ledger_url) as ledger:
        if output is None:
            count = export_records(ledger, sys.stdout, chosen, filters)
        else:
            try:
                with open_output(output) as out:
                    count = export_records(ledger, out, chosen, filters)
            except OSError as err:
                raise click.ClickException(f"cannot write {output}: {err.strerror or err}") from None
    click.echo(f"exported {count:,} records" + (f" to {output}" if output else ""), err=True)


def _report_bad(line: BadLine) -> None:
    click.echo(f"error: {line}", err=True)


@click.command("import")
# Every FILE must exist before anything is imported: a mistyped name is bad usage (exit 2).
@click.argument(
    "files",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, dir_okay=False, readable=True, allow_dash=True),
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    help="Format of every FILE [default: from each name (.jsonl, .csv, optionally .gz), else its first line].",
)
@ledger_option
@click.option("--json", "as_json", is_flag=True, help="Print the per-file counts as JSON.")
@click.pass_context
@usage_errors
def import_(
    ctx: click.Context, /, files: tuple[str, ...], fmt: str | None, ledger_url: str | None, as_json: bool
) -> None:
    """Merge exports (JSONL or CSV; `-` reads JSONL from stdin) into the ledger.

    Idempotent: a record already in the ledger (same trace and span id) is skipped, so several
    people's or replicas' exports merge into one ledger and importing a file twice changes
    nothing. A FILE that does not exist or cannot be read stops the command before anything is
    imported (exit 2). A bad line is reported on stderr as FILE:LINE: reason and skipped; every
    good line is imported, and the exit code is then 1.

    Lines are held to the rules the collector applies to what it ingests (token counts, times at
    most a day ahead of this machine's clock, a cost consistent with its breakdown). A line whose
    cost would take the ledger's total past $9,223,372,036.85 (the 64-bit nano-dollar sum every
    report adds up in) is refused as bad, so reports can always sum the ledger.
    """
    results: list[ImportResult] = []
    with open_ledger(resolve(ledger_url)) as ledger:
        try:
            for name in files:
                if name == "-":
                    results.append(import_lines(ledger, sys.stdin, "<stdin>", fmt or "jsonl", _report_bad))
                else:
                    results.append(import_file(ledger, name, fmt, _report_bad))
        except Exception as err:  # the ledger failed mid-import (disk full, server gone)
            raise click.ClickException(
                f"import stopped, the ledger failed: {err}. Batches committed before stay; importing "
                "the same files again is safe (records already present are skipped)."
            ) from err
        target = shown(ledger.url)
    failed = sum(r.failed for r in results)
    if as_json:
        echo_json(
            {
                "ledger": target,
                "new": sum(r.new for r in results),
                "already_present": sum(r.already_present for r in results),
                "failed": failed,
                "files": [r.to_dict() for r in results],
            }
        )
    else:
        for r in results:
            click.echo(
                f"{r.source}: {r.new:,} new, {r.already_present:,} already present, {r.failed:,} failed"
            )
        if len(results) > 1:
            click.echo(
                f"total: {sum(r.new for r in results):,} new, "
                f"{sum(r.already_present for r in results):,} already present, {failed:,} failed"
            )
    if failed:
        click.echo(
            f"warning: {failed:,} lines or files were not imported (see above); the rest were", err=True
        )
        ctx.exit(1)


@click.command()
@ledger_option
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--no-archive", is_flag=True, help="Delete without writing an archive first.")
@click.option(
    "--archive-dir",
    type=click.Path(file_okay=False),
    default=str(DEFAULT_ARCHIVE_DIR),
    show_default=True,
    help="Where the archive (ledger-<UTC timestamp>.jsonl.gz) goes.",
)
@click.option("--json", "as_json", is_flag=True, help="Print what was archived and deleted as JSON.")
@click.pass_context
@usage_errors
def reset(
    ctx: click.Context,
    /,
    ledger_url: str | None,
    yes: bool,
    no_archive: bool,
    archive_dir: str,
    as_json: bool,
) -> None:
    """Delete every ledger row, after archiving them all (re-importable with `otel-llmcost import`).

    Asks you to type `reset` (or the ledger's name: its file name, or its PostgreSQL schema or
    database) unless --yes; any other answer deletes nothing and exits 1. Stop collectors
    writing to the ledger first: if one writes while the archive is made, the reset refuses and
    deletes nothing.
    """
    with open_existing(ledger_url) as ledger:
        url, count = ledger.url, ledger.count()
        name = ledger_name(url)
        if count == 0:
            _done(as_json, url, None, 0, "the ledger is already empty")
            return
        if not yes:
            answer = click.prompt(
                f"This deletes all {count:,} records of {shown(url)}.\n"
                f"Type 'reset' or the ledger's name ({name}) to confirm",
                default="",
                show_default=False,
                err=True,
            )
            if answer.strip() not in ("reset", name):
                click.echo("aborted: nothing was deleted", err=True)
                ctx.exit(1)
        archive: Path | None = None
        archived = 0
        if not no_archive:
            try:
                archive, archived = write_archive(ledger, archive_dir)
            except OSError as err:
                raise click.ClickException(
                    f"cannot write the archive in {archive_dir}: {err}; nothing was deleted"
                ) from None
            if not as_json:
                click.echo(f"archived {archived:,} records to {archive}")
        try:
            # Counted and deleted in one transaction that locks writers out: a row written
            # after the archive was made is never deleted unarchived.
            deleted = ledger.delete_all(expected=archived) if archive is not None else ledger.delete_all()
        except LedgerChangedError:
            raise click.ClickException(
                "the ledger changed while it was archived (is a collector writing to it?); nothing was "
                f"deleted. Stop it and retry; the partial archive stays at {archive}"
            ) from None
        except Exception as err:  # a read-only file, a revoked grant, a server gone
            kept = f"; the archive was written and stays at {archive}" if archive is not None else ""
            reason = " ".join(str(err).split()) or type(err).__name__
            raise click.ClickException(
                f"cannot delete the rows of {shown(url)}: {reason}. Nothing was deleted{kept}"
            ) from None
    _done(as_json, url, archive, deleted, f"deleted {deleted:,} records from {shown(url)}")


def _done(as_json: bool, url: str, archive: Path | None, deleted: int, message: str) -> None:
    if as_json:
        echo_json({"ledger": shown(url), "archive": str(archive) if archive else None, "deleted": deleted})
    else:
        click.echo(message)
