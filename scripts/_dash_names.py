"""Series and label names the dashboards and rules query, spelled from ``otel_llmcost.semconv``.

Everything under ``dashboards/`` is generated from these names, so a metric renamed in
``semconv.py`` changes the generated files and ``gen_dashboards.py --check`` fails until they are
regenerated: the dashboards cannot silently drift from what the collector exports.
"""

from __future__ import annotations

from typing import Final

from otel_llmcost import semconv as sc

# --- What the collector exports (counters get ``_total``, histograms ``_bucket``) ----------------
COST: Final = f"{sc.PROM_COST_USD}_total"
TOKENS: Final = f"{sc.PROM_TOKENS}_total"
REQUESTS: Final = f"{sc.PROM_REQUESTS}_total"
DURATION_BUCKET: Final = f"{sc.PROM_REQUEST_DURATION}_bucket"
UNPRICED: Final = f"{sc.PROM_UNPRICED_REQUESTS}_total"
DISCREPANCIES: Final = f"{sc.PROM_COST_DISCREPANCY}_total"
BUDGET_SPENT: Final = sc.PROM_BUDGET_SPENT
BUDGET_LIMIT: Final = sc.PROM_BUDGET_LIMIT
BUDGET_UTILIZATION: Final = sc.PROM_BUDGET_UTILIZATION
BUDGET_FORECAST: Final = sc.PROM_BUDGET_FORECAST
BUDGET_SPENT_TOKENS: Final = sc.PROM_BUDGET_SPENT_TOKENS  # token budgets only
BUDGET_LIMIT_TOKENS: Final = sc.PROM_BUDGET_LIMIT_TOKENS  # token budgets only
BUDGET_FORECAST_TOKENS: Final = sc.PROM_BUDGET_FORECAST_TOKENS
SPANS_RECEIVED: Final = f"{sc.PROM_SPANS_RECEIVED}_total"
SPANS_REJECTED: Final = f"{sc.PROM_SPANS_REJECTED}_total"
QUEUE_DEPTH: Final = sc.PROM_QUEUE_DEPTH
QUEUE_CAPACITY: Final = sc.PROM_QUEUE_CAPACITY
LEDGER_WRITE_BUCKET: Final = f"{sc.PROM_LEDGER_WRITE_SECONDS}_bucket"
LEDGER_WRITE_ERRORS: Final = f"{sc.PROM_LEDGER_WRITE_ERRORS}_total"
LABEL_OVERFLOW: Final = f"{sc.PROM_LABEL_OVERFLOW}_total"
CPU_SECONDS: Final = f"{sc.PROM_PROCESS_CPU_SECONDS}_total"
RESIDENT_MEMORY: Final = sc.PROM_PROCESS_RESIDENT_MEMORY
THREADS: Final = sc.PROM_PROCESS_THREADS
OPEN_FDS: Final = sc.PROM_PROCESS_OPEN_FDS
EXPORTS: Final = f"{sc.PROM_EXPORTS}_total"
FORWARD_SPANS: Final = f"{sc.PROM_FORWARD_SPANS}_total"
FORWARD_DROPPED: Final = f"{sc.PROM_FORWARD_DROPPED}_total"
FORWARD_RETRIES: Final = f"{sc.PROM_FORWARD_RETRIES}_total"
FORWARD_QUEUE_BYTES: Final = sc.PROM_FORWARD_QUEUE_BYTES
FORWARD_QUEUE_CAPACITY: Final = sc.PROM_FORWARD_QUEUE_CAPACITY
# The collector's analytics gauges (collector/_analytics.py), computed from the whole ledger: no
# provider, model, team or service labels, and the same figures from every collector that shares
# one ledger (aggregate them with max, never sum).
ANOMALY_RATIO: Final = sc.PROM_ANOMALY_RATIO
ANOMALY_VALUE: Final = sc.PROM_ANOMALY_VALUE
DAILY_COST: Final = sc.PROM_DAILY_COST
DAILY_COST_THRESHOLD: Final = sc.PROM_DAILY_COST_THRESHOLD
FORECAST: Final = sc.PROM_FORECAST
HOURLY_TOKENS: Final = sc.ANOMALY_HOURLY_TOKENS  # a value of KIND

# --- Labels ------------------------------------------------------------------------------------
PROVIDER: Final = sc.LABEL_PROVIDER
MODEL: Final = sc.LABEL_MODEL
TEAM: Final = sc.LABEL_TEAM
SERVICE: Final = sc.LABEL_SERVICE
TYPE: Final = sc.LABEL_TYPE
STATUS: Final = sc.LABEL_STATUS
REASON: Final = sc.LABEL_REASON
BUDGET: Final = sc.LABEL_BUDGET
KIND: Final = sc.LABEL_KIND  # of the anomaly gauges: hourly_cost | hourly_tokens
BOUND: Final = sc.LABEL_BOUND  # of the forecast gauge: point | low | high
WINDOW: Final = sc.LABEL_WINDOW  # of the budget gauges (collector/_budgets.py) and the forecast gauge
UNIT: Final = "unit"  # of the burn-rate recording rules: usd | tokens (the limit the rate is of)
# The budget gauges' per-key label (a per-user budget's user …); named ``key`` so it never
# collides with the ``instance`` label Prometheus attaches to every scraped series.
BUDGET_KEY: Final = sc.LABEL_BUDGET_KEY
# Target labels a scrape (or a Kubernetes ServiceMonitor) adds: dropped when replicas of one
# collector report the same budget or the same ledger's analytics, so it shows once.
TARGET_LABELS: Final = ("instance", "pod", "container", "endpoint")
#: Merges what replicas sharing one ledger export: the same figure under different target labels.
MERGE_REPLICAS: Final = f"max without ({', '.join(TARGET_LABELS)})"


def per_ledger(expr: str) -> str:
    """``expr`` (over the analytics gauges) once per job instead of once per collector: replicas
    that share a PostgreSQL ledger export the same figures, so they are merged with ``max`` (a
    ``sum`` would count that ledger once per replica)."""
    inner = "\n".join(f"  {line}" for line in expr.splitlines())
    return f"{MERGE_REPLICAS} (\n{inner}\n)"


def per_budget(expr: str) -> str:
    """``expr`` (a budget gauge, or a function of one such as ``increase()``) once per budget,
    window and key (and job) instead of once per collector: the budget gauges are computed from
    the ledger, so every replica sharing it exports the same values, merged with ``max`` like the
    analytics gauges. The budget's own labels stay; a rule compares or divides the merged series
    (``max`` is also the freshest of replicas a refresh apart: a window's spend only grows)."""
    return f"{MERGE_REPLICAS} ({expr})"


# Calendar budget windows (docs/budgets.md): their spend only grows until the window resets, so
# increase() over the spent gauge is the spend rate (a reset looks like a counter reset). Rolling
# windows (``24h``, ``7d``) lose old spend continuously and are left out of burn rates.
CALENDAR_WINDOWS: Final = ("hourly", "daily", "weekly", "monthly")

# --- Recorded series (dashboards/prometheus/recording-rules.yaml) ------------------------------
COST_1D: Final = "provider_model_team:llmcost_cost_usd:increase1d"
COST_30D: Final = "provider_model_team:llmcost_cost_usd:increase30d"
TEAM_COST_1D: Final = "team:llmcost_cost_usd:increase1d"
TEAM_COST_30D: Final = "team:llmcost_cost_usd:increase30d"
MODEL_COST_1D: Final = "model:llmcost_cost_usd:increase1d"
MODEL_COST_30D: Final = "model:llmcost_cost_usd:increase30d"
PROVIDER_COST_1D: Final = "provider:llmcost_cost_usd:increase1d"
PROVIDER_COST_30D: Final = "provider:llmcost_cost_usd:increase30d"
TOKENS_1H: Final = "service_team:llmcost_tokens:increase1h"
WINDOW_SECONDS: Final = "llmcost:budget_window_seconds"
BURN_WINDOWS: Final = ("5m", "30m", "1h", "6h")


def burn_rate(window: str) -> str:
    """The recorded burn rate of a budget over ``window`` (1 = on course to spend exactly the limit)."""
    return f"budget:llmcost_budget_burn_rate:{window}"
