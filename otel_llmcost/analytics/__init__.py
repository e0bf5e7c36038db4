"""Analytics over the ledger: reports, chargeback, export/import; forecasts, anomalies, insights.

Report, chargeback and export/import (``otel-llmcost report``, ``export``, ``import``, ``reset``)::

    build_report(ledger, ReportQuery(group_by=("team",)))  # the /v1/report JSON shape
    chargeback(ledger, "team").to_dict()  # unattributed spend spread, sums exact to the nano
    import_file(ledger, "alice.jsonl")  # idempotent merge; bad lines reported and skipped

Forecasts, anomalies and insights (``otel-llmcost forecast``, ``insights``; ``/v1/forecast``,
``/v1/insights``)::

    forecast(ledger, window="month").to_dict()  # month-end spend, 80% interval, or insufficient_history
    backtest(ledger).mape()  # month-end forecasts made at days 7, 14, 21 of past months, scored
    find_insights(ledger).insights  # waste in the last 30 days, largest saving first
    hourly_anomalies(ledger, since_ns, until_ns)  # hours at least twice their usual level
    ledger.insert(list(SyntheticUsage(seed=1, days=120).records()))  # realistic synthetic usage
"""

from __future__ import annotations

from otel_llmcost.analytics._anomalies import (
    Anomaly,
    HourlyLevel,
    current_levels,
    daily_anomalies,
    hourly_anomalies,
)
from otel_llmcost.analytics._backtest import Backtest, BacktestPoint, backtest
from otel_llmcost.analytics._budget_forecast import LedgerForecaster
from otel_llmcost.analytics._chargeback import Allocation, Chargeback, allocate, chargeback
from otel_llmcost.analytics._dashboard import Dashboard, build_dashboard
from otel_llmcost.analytics._forecast import Forecast, forecast
from otel_llmcost.analytics._import import BadLine, ImportResult, import_file, import_lines
from otel_llmcost.analytics._insights import Insight, InsightsReport, find_insights
from otel_llmcost.analytics._io import export_records, record_from_mapping, write_archive
from otel_llmcost.analytics._report import (
    LedgerReader,
    ReportError,
    ReportQuery,
    build_report,
    parse_report_query,
)
from otel_llmcost.analytics._synthetic import SyntheticUsage

__all__ = [
    "Allocation",
    "Anomaly",
    "Backtest",
    "BacktestPoint",
    "BadLine",
    "Chargeback",
    "Dashboard",
    "Forecast",
    "HourlyLevel",
    "ImportResult",
    "Insight",
    "InsightsReport",
    "LedgerForecaster",
    "LedgerReader",
    "ReportError",
    "ReportQuery",
    "SyntheticUsage",
    "allocate",
    "backtest",
    "build_dashboard",
    "build_report",
    "chargeback",
    "current_levels",
    "daily_anomalies",
    "export_records",
    "find_insights",
    "forecast",
    "hourly_anomalies",
    "import_file",
    "import_lines",
    "parse_report_query",
    "record_from_mapping",
    "write_archive",
]
