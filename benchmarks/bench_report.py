"""Report benchmark: ``otel-llmcost report`` end to end over a large SQLite ledger.

    .venv/bin/python benchmarks/bench_report.py [rows]

The ledger is bench_ledger's realistic mix (90 days ending now, 14 models, 8 teams). Timed, on a
freshly opened ledger, each the best of three runs:

- ``dashboard``: what ``otel-llmcost report --verbose`` does — summary, this month's spend, the
  breakdown by provider with model rows — through the CLI's own functions
  (:func:`build_dashboard` and the rich renderer, writing to memory);
- ``json``: ``report --json`` (= ``/v1/report?group_by=provider``);
- ``chargeback``: ``report --chargeback team --json``.

Target: each under 2 s for 1M rows on a 2-core machine.
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import Figure, best_of
from benchmarks.bench_ledger import _records
from otel_llmcost.analytics import ReportQuery, build_dashboard, build_report, chargeback
from otel_llmcost.ledger import open_ledger

TARGET_S = 2.0


def measure(rows: int = 1_000_000) -> dict[str, float]:
    """Build a ``rows``-row SQLite ledger in a temporary directory; return seconds per report."""
    from rich.console import Console

    from otel_llmcost.cli._report_view import render_dashboard

    results: dict[str, float] = {"rows": float(rows)}
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'ledger.db'}"
        start = time.perf_counter()
        with open_ledger(url) as ledger:
            for batch in _records(rows, time.time_ns()):
                ledger.insert(batch)
        results["build_s"] = time.perf_counter() - start

        with open_ledger(url) as ledger:  # fresh connections: nothing cached in SQLite

            def dashboard() -> None:
                dash = build_dashboard(ledger, ReportQuery(), verbose=True)
                console = Console(file=io.StringIO(), width=120)
                render_dashboard(console, dash, [], source=url, budget_hint="")

            results["dashboard_s"] = best_of(dashboard)
            results["json_s"] = best_of(lambda: build_report(ledger, ReportQuery(group_by=("provider",))))
            results["chargeback_s"] = best_of(lambda: chargeback(ledger, "team").to_dict())
    return results


def run(quick: bool = False) -> list[Figure]:
    """The harness entry point: 1M rows (50k with ``quick``)."""
    rows = 50_000 if quick else 1_000_000
    results = measure(rows)
    labels = {
        "dashboard_s": "report --verbose (summary, month, provider + model)",
        "json_s": "report --json (by provider)",
        "chargeback_s": "report --chargeback team",
    }
    return [
        Figure(f"{label} over {rows:,} rows", results[key], "s", target=TARGET_S, better="lower")
        for key, label in labels.items()
    ]


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    for key, value in measure(count).items():
        print(f"{key:16s} {value:10.3f}")
