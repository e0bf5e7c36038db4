"""Insights benchmark: ``otel-llmcost insights`` (and forecasts, anomalies) on a 1M-row SQLite ledger.

    .venv/bin/python benchmarks/bench_insights.py [rows]

The ledger is realistic synthetic usage (:class:`~otel_llmcost.analytics._synthetic.SyntheticUsage`:
eight features of seven teams on OpenAI, Anthropic and Gemini; weekday seasonality, growth,
spikes, repeated prompts, cache writes, truncations and failures), sized to ``rows`` calls over
the 120 days before today and inserted in time order in 2,000-row batches. Each figure is the
best of three runs on a freshly opened ledger (one for the slow ones). ``insights`` reads its
default window, the last 30 days (over a quarter of the rows, given the growth); the
whole-ledger run reads every row and has no target.
Target: insights under 2 s for a 1M-row ledger on a 2-core machine.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from benchmarks import Figure, best_of
from otel_llmcost.analytics._anomalies import current_levels
from otel_llmcost.analytics._backtest import backtest
from otel_llmcost.analytics._forecast import forecast
from otel_llmcost.analytics._insights import DAY_NS, find_insights
from otel_llmcost.analytics._synthetic import SyntheticUsage
from otel_llmcost.ledger import Filters, chunked, open_ledger

DAYS = 120
# Calls per weekday-factor-1 day at the start, per row wanted: the generator's mean weekday
# factor (5.8 / 7), 8% monthly growth averaged over 120 days (1.171) and its spikes (+0.5%).
_ROWS_PER_BASE_CALL = DAYS * (5.8 / 7) * 1.171 * 1.005


def measure(rows: int = 1_000_000) -> dict[str, float]:
    """Build a ``rows``-row synthetic ledger in a temporary directory; time the analyses."""
    now = datetime.now(timezone.utc)
    spec = SyntheticUsage(seed=7, days=DAYS, end=now.date(), calls_per_day=rows / _ROWS_PER_BASE_CALL)
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-insights-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'ledger.db'}"
        with open_ledger(url) as ledger:
            for batch in chunked(spec.records(), 2000):
                ledger.insert(batch)
            results["rows"] = float(ledger.count())
        now_ns = time.time_ns()
        with open_ledger(url) as ledger:  # fresh connections: nothing cached in SQLite
            window = Filters(since_ns=now_ns - 30 * DAY_NS, until_ns=now_ns)
            results["window_rows"] = float(ledger.totals(window).requests)
            results["insights_s"] = best_of(lambda: find_insights(ledger, until_ns=now_ns))
            results["insights_all_s"] = best_of(
                lambda: find_insights(ledger, until_ns=now_ns, days=DAYS + 1), repeat=1
            )
            results["forecast_s"] = best_of(lambda: forecast(ledger, as_of=now))
            results["backtest_s"] = best_of(lambda: backtest(ledger, as_of=now), repeat=1)
            results["anomaly_levels_s"] = best_of(lambda: current_levels(ledger, now_ns))
    return results


def run(quick: bool = False) -> list[Figure]:
    """The harness entry point: 1M rows (50k with ``quick``); insights target < 2 s."""
    rows = 50_000 if quick else 1_000_000
    r = measure(rows)
    total, window = f"{r['rows']:,.0f} rows", f"{r['window_rows']:,.0f} of {r['rows']:,.0f} rows"
    return [
        Figure("insights, last 30 days (the default)", r["insights_s"], "s", 2.0, "lower", window),
        Figure("insights, whole ledger (120 days)", r["insights_all_s"], "s", better="lower", note=total),
        Figure("month-end forecast with 80% interval", r["forecast_s"], "s", 1.0, "lower", total),
        Figure("forecast backtest (every complete month)", r["backtest_s"], "s", better="lower", note=total),
        Figure("anomaly gauges refresh", r["anomaly_levels_s"], "s", 1.0, "lower", total),
    ]


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    for key, value in measure(count).items():
        print(f"{key:24s} {value:14.3f}")
