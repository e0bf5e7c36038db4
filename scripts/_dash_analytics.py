"""The Cost overview's row on the collector's analytics gauges: the month-end forecast with its
interval, today's spend against the configured threshold, and the hourly anomaly ratios.

The collector computes them from its whole ledger (``collector/_analytics.py``), so they carry no
provider, model, team or service label and the dashboard's filters do not apply; every collector
sharing one PostgreSQL ledger exports the same figures, so panels take the ``max`` (a ``sum``
would count the ledger once per replica). They belong with spend, not on the Efficiency
dashboard: they say whether the amount spent is unusual or over plan, not how well it was spent.
"""

from __future__ import annotations

import _dash_names as n
from _dash_alerts import ANOMALY_FACTOR, ANOMALY_MIN_TOKENS, THRESHOLD_FOR
from _dash_sdk import Board, query, series_panel, style_series

USD = "currencyUSD"


def ledger_analytics(board: Board) -> None:
    """The row of three panels that follows the spend stats."""
    board.row("Forecast, daily threshold and anomalies (whole ledger)")
    bounds = f'max by ({n.BOUND}) ({n.FORECAST}{{{n.WINDOW}="month"}})'
    interval = series_panel(
        "Month-end forecast and its 80% interval", [query(bounds, f"{{{{{n.BOUND}}}}}")], USD,
        "The collector's forecast of this UTC month's spend (point) and the range 80% of its"
        " simulated outcomes fall in (low to high), as it was at each moment. Whole ledger: the"
        " filters do not apply. Absent until the ledger has two weeks of history."
        " `otel-llmcost forecast` explains the model.",
    )  # fmt: skip
    interval = style_series(interval, "high", {"custom.fillBelowTo": "low", "custom.fillOpacity": 20})
    for bound in ("point", "low"):
        interval = style_series(interval, bound, {"custom.fillOpacity": 0})
    board.add(interval, 8, 8)
    today = f"max({n.DAILY_COST})"
    threshold = f"max({n.DAILY_COST_THRESHOLD})"
    daily = series_panel(
        "Today's spend vs threshold", [query(today, "today (UTC)"), query(threshold, "threshold")], USD,
        "Spend of the current UTC day so far, exact from the ledger (whole ledger: the filters do not"
        " apply), against the collector's anomalies.daily_cost_threshold_usd (absent when not set)."
        f" Over it for {THRESHOLD_FOR}: LLMDailyCostHigh.",
    )  # fmt: skip
    board.add(style_series(daily, "threshold", {"custom.lineStyle": {"fill": "dash", "dash": [10, 10]},
                                                "color": {"mode": "fixed", "fixedColor": "red"}}), 8, 8)  # fmt: skip
    ratio = f"max by ({n.KIND}) ({n.ANOMALY_RATIO})"
    board.add(
        series_panel(
            "Anomalies", [query(ratio, f"{{{{{n.KIND}}}}}")], "none",
            "The last hour's spend (hourly_cost) and tokens (hourly_tokens) over their usual level:"
            " the median of the same hour of the week in up to four earlier weeks, from the ledger"
            f" (whole ledger: the filters do not apply). 1 is usual; from {ANOMALY_FACTOR} (the dashed"
            f" line) the hour is anomalous, and over {ANOMALY_MIN_TOKENS:,} tokens LLMTokenUsageAnomaly"
            " fires after 15 minutes. Absent until the ledger has a week of history. Past anomalous hours:"
            " `otel-llmcost insights`.",
            threshold_line=ANOMALY_FACTOR,
        ), 8, 8,
    )  # fmt: skip
