"""The Cost overview's "Forecast, end of month" stat, evaluated by promtool on made-up series: the
collector's ledger-wide forecast (the highest of the replicas sharing a ledger) while the filters
select every cost series, else the filtered month-to-date run-rate.

promtool evaluates from the Unix epoch, so the calendar is fixed: at 01:00 on 1 January 1970, the
month has 31 days and the rest of it lasts (31 - 1) * 86400 + 86400 - 3600 = 2,674,800 s.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.dashboards.support import PROMTOOL, committed_dashboards, expand, queries

pytestmark = pytest.mark.services  # the promtool binary

TARGET = 'job="llmcost", instance="a:9464", provider="openai", model="gpt-4o", service="chat"'
# 0.01 USD a minute for search, 0.02 for ads, from 0: at 1h, 0.60 and 1.20 USD.
COST = [
    {"series": f'llmcost_cost_usd_total{{{TARGET}, team="search"}}', "values": "0+0.01x60"},
    {"series": f'llmcost_cost_usd_total{{{TARGET}, team="ads"}}', "values": "0+0.02x60"},
]
# Two replicas sharing one ledger, one a refresh behind: the stat shows 100, not their sum.
FORECAST = [
    {
        "series": f'llmcost_forecast_usd{{job="llmcost", instance="{i}", window="month", bound="point"}}',
        "values": v,
    }
    for i, v in (("a:9464", "100x60"), ("b:9464", "99x60"))
]


def forecast_expr(**selected: str) -> str:
    board = committed_dashboards()["llmcost-overview"]
    [expr] = [expr for title, expr in queries(board) if title == "Forecast, end of month"]
    values = {"provider": ".*", "model": ".*", "team": ".*", "service": ".*", **selected}
    return expand(expr, values)  # $__range is 1h (support.MACROS): the stat's month so far


def evaluate(tmp_path: Path, series: list[dict[str, Any]], expr: str, micro_usd: int) -> None:
    """``expr`` at 1h is ``micro_usd`` millionths of a dollar (rounded: promtool compares floats
    exactly, and the run-rate's division leaves a last-digit error)."""
    rounded = f"round((\n{expr}\n) * 1e6)"
    spec = {
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": series,
                "promql_expr_test": [
                    {
                        "expr": rounded,
                        "eval_time": "1h",
                        "exp_samples": [{"labels": "{}", "value": micro_usd}],
                    }
                ],
            }
        ],
    }
    path = tmp_path / "forecast-stat.yaml"
    path.write_text(yaml.safe_dump(spec))
    result = subprocess.run([PROMTOOL, "test", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_unfiltered_it_is_the_collectors_forecast_max_over_replicas(tmp_path: Path) -> None:
    evaluate(tmp_path, COST + FORECAST, forecast_expr(), 100_000_000)


def test_every_value_picked_is_unfiltered_too(tmp_path: Path) -> None:
    evaluate(tmp_path, COST + FORECAST, forecast_expr(team="ads|search"), 100_000_000)


def test_filtered_it_is_the_run_rate_of_the_filtered_series(tmp_path: Path) -> None:
    # Month to date 0.60 USD, plus 0.60 USD a day for the rest of the month:
    # 0.6 * 31.958333… = 19.175 USD.
    evaluate(tmp_path, COST + FORECAST, forecast_expr(team="search"), 19_175_000)


def test_without_the_collectors_forecast_it_is_the_run_rate(tmp_path: Path) -> None:
    # Under two weeks of ledger history the collector exports no forecast: 1.80 USD so far and a
    # day, 1.8 * 31.958333… = 57.525 USD.
    evaluate(tmp_path, COST, forecast_expr(), 57_525_000)
