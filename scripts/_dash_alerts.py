"""Alerting rules, kube-mixin style: every alert has ``for``, ``severity``, a fixed ``summary``, a
``description`` naming its labels and a ``runbook_url`` into ``dashboards/runbook.md``.

``category`` (budget | spend | collector) lets Alertmanager route by subject without listing
alert names (``dashboards/alertmanager/alertmanager.yml`` mails every budget alert).
Thresholds that depend on volume (the anomaly floor, the daily-cost factor) are the constants
below; the runbook says when to change them.

Two alerts have a second rule on the collector's ledger-wide gauges (``collector/_analytics.py``):
LLMTokenUsageAnomaly on ``llmcost_anomaly_*{kind="hourly_tokens"}`` and LLMDailyCostHigh on
``llmcost_daily_cost_usd`` over the configured ``llmcost_daily_cost_threshold_usd``. Those carry
``scope="ledger"`` and ``job`` instead of ``service``/``team``, and their own description; collectors
that share a ledger export the same figures and are merged with ``max`` (one alert per job).

The budget alerts are on gauges computed from the ledger too (``collector/_budgets.py``): every
replica sharing it exports the same values, so each gauge (and each burn rate, recorded from the
merged gauges) is merged with ``max`` over the target labels first (``_dash_names.per_budget``).
A budget alerts once per budget, window, key and job, whatever the number of replicas, and its
description names the job that reported it, not an instance.
"""

from __future__ import annotations

from typing import Any

import _dash_names as n

Rule = dict[str, Any]
Group = dict[str, Any]

#: Where ``dashboards/runbook.md`` is published; every alert links to its section there.
RUNBOOK_BASE = "https://github.com/otel-llmcost/otel-llmcost/blob/main/dashboards/runbook.md"

THRESHOLD_RATIO = 0.8  # LLMBudgetThresholdReached
FORECAST_MIN_UTILIZATION = 0.25  # a run-rate forecast from the first hours of a window is noise
FAST_BURN, SLOW_BURN = 14.4, 6  # the SRE workbook's page / ticket burn rates
ANOMALY_FACTOR = 2  # LLMTokenUsageAnomaly: tokens in the last hour vs the same hour earlier
ANOMALY_MIN_TOKENS = 10000  # per hour: below this, doubling is not worth anyone's attention
DAILY_FACTOR = 1.5  # LLMDailyCostHigh: last 24 hours vs the average day of the week before
DAILY_MIN_USD = 1
# LLMDailyCostHigh against the collector's configured threshold: the day's spend only grows, so
# ``for`` has no flapping to smooth; it only keeps one odd refresh from alerting.
THRESHOLD_FOR = "5m"
QUEUE_RATIO = 0.8
COLLECTOR_JOB = ".*llmcost.*"  # job names of collector scrape targets (LLMCostCollectorDown)

# Describes the budget series an alert fired for: "monthly (monthly window, search)".
_BUDGET = "{{ $labels.budget }} ({{ $labels.window }} window{{ with $labels.key }}, {{ . }}{{ end }})"
_TARGET = "{{ $labels.job }}/{{ $labels.instance }}"
#: Who reported a budget alert: the job, its replicas merged (``_dash_names.per_budget``).
_REPORTER = "{{ $labels.job }}"
#: A burn rate's limit: the recording rules' ``unit`` label, as the alert text names it.
_UNIT = '{{ if eq $labels.unit "tokens" }}token{{ else }}USD{{ end }}'


def _alert(
    name: str,
    expr: str,
    *,
    for_: str,
    severity: str,
    category: str,
    summary: str,
    description: str,
    scope: str = "",
) -> Rule:
    """``scope`` labels a rule that shares its name with another (``ledger``: from the collector's
    ledger-wide gauges), so the two differ in their labels, as Prometheus expects of rules."""
    labels = {"severity": severity, "category": category}
    if scope:
        labels["scope"] = scope
    return {
        "alert": name,
        "expr": expr,
        "for": for_,
        "labels": labels,
        "annotations": {
            "summary": summary,
            "description": description,
            "runbook_url": f"{RUNBOOK_BASE}#{name.lower()}",
        },
    }


def _budget_alerts() -> list[Rule]:
    # The budget gauges with the replicas that export them merged (the burn rates already are).
    util, burn = n.per_budget(n.BUDGET_UTILIZATION), n.burn_rate
    forecast, limit = n.per_budget(n.BUDGET_FORECAST), n.per_budget(n.BUDGET_LIMIT)
    forecast_tokens, limit_tokens = (
        n.per_budget(n.BUDGET_FORECAST_TOKENS),
        n.per_budget(n.BUDGET_LIMIT_TOKENS),
    )
    return [
        _alert(
            "LLMBudgetThresholdReached", f"{util} >= {THRESHOLD_RATIO} < 1",
            for_="5m", severity="warning", category="budget",
            summary=f"An LLM budget has reached {THRESHOLD_RATIO:.0%} of its limit.",
            description=f"Budget {_BUDGET} is at {{{{ $value | humanizePercentage }}}} of its limit"
            f" (reported by {_REPORTER}).",
        ),
        _alert(
            "LLMBudgetExhausted", f"{util} >= 1",
            for_="1m", severity="critical", category="budget",
            summary="An LLM budget is exhausted.",
            description=f"Budget {_BUDGET} is at {{{{ $value | humanizePercentage }}}} of its limit"
            f" (reported by {_REPORTER}); block budgets now refuse calls, downgrade budgets switch models.",
        ),
        _alert(
            # A budget is forecast in the unit of each limit it has: USD, tokens, or both.
            "LLMBudgetForecastOverrun",
            f"(\n  {forecast} / {limit} > 1\n  or\n"
            f"  {forecast_tokens} / {limit_tokens} > 1\n)"
            f"\nand\n{util} >= {FORECAST_MIN_UTILIZATION} < 1",
            for_="30m", severity="warning", category="budget",
            summary="An LLM budget is forecast to overrun its limit by the end of its window.",
            description=f"Budget {_BUDGET} is forecast to reach {{{{ $value | humanizePercentage }}}} of its"
            f" limit by the end of its window (reported by {_REPORTER}).",
        ),
        _alert(
            "LLMSpendBurnRateHigh", f"{burn('1h')} > {FAST_BURN}\nand\n{burn('5m')} > {FAST_BURN}",
            for_="2m", severity="critical", category="budget",
            summary="An LLM budget is being spent fast enough to run out within days.",
            description=f"Budget {_BUDGET} is being spent at {{{{ $value | printf \"%.1f\" }}}} times the"
            f" rate that would use exactly its {_UNIT} limit over its window, over the last hour and the"
            f" last 5 minutes (reported by {_REPORTER}).",
        ),
        _alert(
            "LLMSpendBurnRateHigh", f"{burn('6h')} > {SLOW_BURN}\nand\n{burn('30m')} > {SLOW_BURN}",
            for_="15m", severity="warning", category="budget",
            summary="An LLM budget is being spent fast enough to run out within days.",
            description=f"Budget {_BUDGET} is being spent at {{{{ $value | printf \"%.1f\" }}}} times the"
            f" rate that would use exactly its {_UNIT} limit over its window, over the last 6 hours and"
            f" the last 30 minutes (reported by {_REPORTER}).",
        ),
    ]  # fmt: skip


LEDGER_SCOPE = "ledger"  # the ``scope`` label of the rules on the collector's ledger-wide gauges
_ANOMALY_SUMMARY = f"LLM token usage is over {ANOMALY_FACTOR} times its usual level."


def _ledger_token_anomaly() -> Rule:
    """LLMTokenUsageAnomaly from the collector's gauge: the whole ledger's last hour against the
    median of the same hour of the week in up to four earlier weeks. It needs no Prometheus history
    (the ledger has it) and catches a surge spread over many services, each under the per-service
    rule's floor; it has ``job`` and ``kind`` labels where the per-service rule has ``service`` and
    ``team``, hence a rule (and description) of its own under the same name."""
    tokens = f'{{{n.KIND}="{n.HOURLY_TOKENS}"}}'
    expr = n.per_ledger(
        f"{n.ANOMALY_VALUE}{tokens} > {ANOMALY_MIN_TOKENS}\nand\n{n.ANOMALY_RATIO}{tokens} >= {ANOMALY_FACTOR}"
    )
    return _alert(
        "LLMTokenUsageAnomaly", expr,
        for_="15m", severity="warning", category="spend", scope=LEDGER_SCOPE,
        summary=_ANOMALY_SUMMARY,
        description="Calls in the ledger of {{ $labels.job }}, all services together, used"
        " {{ $value | humanize }} tokens in the last hour, at least"
        f" {ANOMALY_FACTOR} times the usual for that hour of the week (anomaly {{{{ $labels.kind }}}}:"
        " the median of the same hour in up to four earlier weeks).",
    )  # fmt: skip


def _daily_threshold() -> Rule:
    """LLMDailyCostHigh against ``anomalies.daily_cost_threshold_usd``: the UTC day's spend so far,
    from the ledger, over the threshold each collector exports (no threshold, no series)."""
    threshold = (
        # The alerting ledger's threshold, for the description (Go template; the job is the one
        # label per_ledger keeps that every collector has).
        f'{{{{ with printf "max({n.DAILY_COST_THRESHOLD}{{job=%q}})" $labels.job | query }}}}'
        '{{ . | first | value | printf "%.2f" }}{{ end }}'
    )
    return _alert(
        "LLMDailyCostHigh", n.per_ledger(f"{n.DAILY_COST}\n> {n.DAILY_COST_THRESHOLD}"),
        for_=THRESHOLD_FOR, severity="warning", category="spend", scope=LEDGER_SCOPE,
        summary="LLM spend today is over the configured daily threshold.",
        description="Calls in the ledger of {{ $labels.job }} have cost {{ $value | printf \"%.2f\" }}"
        f" USD today (UTC), over the daily threshold of {threshold} USD set in the collector's"
        " configuration (anomalies.daily_cost_threshold_usd).",
    )  # fmt: skip


def _spend_alerts() -> list[Rule]:
    tokens, daily = n.TOKENS_1H, n.TEAM_COST_1D
    # The larger of the same hour a day and a week earlier, whichever of them exists: a daily
    # peak is compared with yesterday's, a Monday with last Monday's (not with Sunday's).
    baseline = (
        f"  ({tokens} offset 1d >= {tokens} offset 1w)\n  or {tokens} offset 1w\n  or {tokens} offset 1d"
    )
    unpriced = (
        # A series whose first sample is already non-zero (the model's first call was unpriced)
        # has no increase() yet: the second term catches it.
        f"sum by ({n.PROVIDER}, {n.MODEL}, {n.SERVICE}) (\n"
        f"  (increase({n.UNPRICED}[1h]) > 0)\n"
        f"  or\n"
        f"  ({n.UNPRICED} > 0 unless {n.UNPRICED} offset 1h)\n"
        f")"
    )
    return [
        _alert(
            "LLMTokenUsageAnomaly",
            f"{tokens} > {ANOMALY_MIN_TOKENS}\nand\n{tokens} > {ANOMALY_FACTOR} * (\n{baseline}\n)",
            for_="15m", severity="warning", category="spend",
            summary=_ANOMALY_SUMMARY,
            description="Service {{ $labels.service }} (team {{ $labels.team }}) used"
            f" {{{{ $value | humanize }}}} tokens in the last hour, over {ANOMALY_FACTOR} times as many as"
            " in the same hour a day and a week earlier.",
        ),
        _ledger_token_anomaly(),
        _alert(
            "LLMDailyCostHigh",
            f"{daily} > {DAILY_MIN_USD}\nand\n{daily} > {DAILY_FACTOR} * avg_over_time({daily}[7d] offset 1d)",
            for_="1h", severity="warning", category="spend",
            summary="LLM spend over the last 24 hours is well above the daily average.",
            description="Team {{ $labels.team }} spent {{ $value | printf \"%.2f\" }} USD in the last"
            f" 24 hours, over {DAILY_FACTOR} times its average day of the week before.",
        ),
        _daily_threshold(),
        _alert(
            "LLMUnpricedModelCalls", unpriced,
            for_="5m", severity="warning", category="spend",
            summary="LLM calls to a model without a price are not counted in spend.",
            description="Service {{ $labels.service }} called {{ $labels.provider }} model"
            " {{ $labels.model }}, which has no price in the catalog, {{ $value | printf \"%.0f\" }} time(s)"
            " in the last hour; that cost is missing from every report and budget.",
        ),
    ]  # fmt: skip


def _collector_alerts() -> list[Rule]:
    down = (
        f'up{{job=~"{COLLECTOR_JOB}"}} == 0\n'
        f"or\n"
        # Whatever the job is called: a target that exported collector metrics in the last day.
        f"(up == 0 and on (job, instance) present_over_time({n.QUEUE_CAPACITY}[1d]))"
    )
    return [
        _alert(
            "LLMCostCollectorDown", down,
            for_="5m", severity="critical", category="collector",
            summary="An otel-llmcost collector cannot be scraped.",
            description=f"Prometheus cannot scrape the otel-llmcost collector {_TARGET}: its spans"
            " are not being priced or written to the ledger, and its metrics are missing.",
        ),
        _alert(
            "LLMCostCollectorRejectingSpans",
            # duplicate_call is expected: a second instrumentation's span of a call already kept.
            f'rate({n.SPANS_REJECTED}{{{n.REASON}!="duplicate_call"}}[5m]) > 0',
            for_="15m", severity="warning", category="collector",
            summary="An otel-llmcost collector is rejecting GenAI spans.",
            description=f"The collector {_TARGET} rejects {{{{ $value | printf \"%.3g\" }}}} GenAI spans"
            " per second for reason {{ $labels.reason }}; their cost is not in the ledger.",
        ),
        _alert(
            "LLMCostLedgerWriteErrors", f"increase({n.LEDGER_WRITE_ERRORS}[5m]) > 0",
            for_="5m", severity="critical", category="collector",
            summary="An otel-llmcost collector fails to write its ledger.",
            description=f"The collector {_TARGET} had {{{{ $value | humanize }}}} failed ledger writes"
            " in 5 minutes; exports are refused and retried by the apps until their queues drop spans.",
        ),
        _alert(
            "LLMCostCollectorQueueSaturated",
            f"avg_over_time({n.QUEUE_DEPTH}[5m])\n/\n{n.QUEUE_CAPACITY} > {QUEUE_RATIO}",
            for_="10m", severity="warning", category="collector",
            summary="An otel-llmcost collector's intake queue is nearly full.",
            description=f"The intake queue of the collector {_TARGET} has been"
            " {{ $value | humanizePercentage }} full on average over 5 minutes; when full, exports"
            " are refused with a retry delay.",
        ),
    ]  # fmt: skip


def alert_groups(*, fast: bool = False) -> list[Group]:
    """The alert groups; ``fast`` (the end-to-end test's copy) makes every ``for`` one second and
    evaluates every second."""
    groups: list[Group] = [
        {"name": "llmcost-budget.alerts", "rules": _budget_alerts()},
        {"name": "llmcost-spend.alerts", "rules": _spend_alerts()},
        {"name": "llmcost-collector.alerts", "rules": _collector_alerts()},
    ]
    if fast:
        for group in groups:
            group["interval"] = "1s"
            for rule in group["rules"]:
                rule["for"] = "1s"
    return groups


def alert_names() -> list[str]:
    """Every alert name, once, in file order."""
    names = [rule["alert"] for group in alert_groups() for rule in group["rules"]]
    return list(dict.fromkeys(names))
