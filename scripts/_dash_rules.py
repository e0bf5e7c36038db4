"""Recording rules: daily and monthly spend by provider, model and team; hourly tokens by service
and team (the anomaly baseline); budget burn rates.

Spend is recorded over rolling windows (the last 24 hours, the last 30 days), the form PromQL
answers exactly; calendar "today" and "month to date" are dashboard queries over Grafana's
``now/d`` and ``now/M`` ranges. The 30-day group runs every 5 minutes: each evaluation reads a
month of samples, and monthly spend moves slowly.
"""

from __future__ import annotations

from typing import Any

import _dash_names as n

Rule = dict[str, Any]
Group = dict[str, Any]

SPEND_INTERVAL = "1m"
MONTHLY_INTERVAL = "5m"
BUDGET_INTERVAL = "30s"

#: seconds of each burn-rate lookback (increase() / seconds is the per-second spend)
_LOOKBACK_SECONDS = {"5m": 300, "30m": 1800, "1h": 3600, "6h": 21600}
_CALENDAR = "|".join(n.CALENDAR_WINDOWS)


def _record(name: str, expr: str, **labels: str) -> Rule:
    rule: Rule = {"record": name, "expr": expr}
    if labels:
        rule["labels"] = labels
    return rule


def _spend(window: str, by_all: str, by_team: str, by_model: str, by_provider: str) -> list[Rule]:
    """``by_all`` from the raw counter, the three single-label views from ``by_all``."""
    return [
        _record(by_all, f"sum by ({n.PROVIDER}, {n.MODEL}, {n.TEAM}) (increase({n.COST}[{window}]))"),
        _record(by_team, f"sum by ({n.TEAM}) ({by_all})"),
        _record(by_model, f"sum by ({n.MODEL}) ({by_all})"),
        _record(by_provider, f"sum by ({n.PROVIDER}) ({by_all})"),
    ]


def _window_seconds() -> list[Rule]:
    """One constant series per calendar window: its length, the denominator of a burn rate."""
    fixed = {"hourly": 3600, "daily": 86400, "weekly": 604800}
    rules = [_record(n.WINDOW_SECONDS, f"vector({seconds})", window=w) for w, seconds in fixed.items()]
    # Calendar months differ in length; PromQL's calendar functions are UTC, close enough for a rate.
    rules.append(_record(n.WINDOW_SECONDS, "days_in_month() * 86400", window="monthly"))
    return rules


def _burn_rates(lookback: str) -> list[Rule]:
    """Spend per second over ``lookback`` divided by the spend per second that would use exactly
    the limit over the window: 1 is on course, 14.4 spends a 30-day budget in about two days.
    One series per limit a budget has, labelled ``unit``: ``usd``, ``tokens``.

    Every replica sharing a ledger exports the same spent and limit gauges: each replica's
    increase is merged with ``max`` (``n.per_budget``), as is the limit, so a budget has one burn
    rate per job, never one per replica nor their sum. A replica started within the lookback has
    the shorter (smaller) increase, which ``max`` passes over."""
    seconds = _LOOKBACK_SECONDS[lookback]
    rules = []
    for unit, spent, limit in (("usd", n.BUDGET_SPENT, n.BUDGET_LIMIT),
                               ("tokens", n.BUDGET_SPENT_TOKENS, n.BUDGET_LIMIT_TOKENS)):  # fmt: skip
        increase = f'increase({spent}{{{n.WINDOW}=~"{_CALENDAR}"}}[{lookback}])'
        expr = (
            f"{n.per_budget(increase)} / {seconds}\n"
            f"/\n"
            f"({n.per_budget(limit)} / on ({n.WINDOW}) group_left () {n.WINDOW_SECONDS})"
        )
        rules.append(_record(n.burn_rate(lookback), expr, **{n.UNIT: unit}))
    return rules


def recording_groups(*, fast: bool = False) -> list[Group]:
    """The recording rule groups; ``fast`` evaluates every second (the end-to-end test's copy)."""
    tokens = _record(n.TOKENS_1H, f"sum by ({n.SERVICE}, {n.TEAM}) (increase({n.TOKENS}[1h]))")
    groups: list[Group] = [
        {
            "name": "llmcost-spend.rules",
            "interval": SPEND_INTERVAL,
            "rules": [
                *_spend("1d", n.COST_1D, n.TEAM_COST_1D, n.MODEL_COST_1D, n.PROVIDER_COST_1D),
                tokens,
            ],
        },
        {
            "name": "llmcost-spend-monthly.rules",
            "interval": MONTHLY_INTERVAL,
            "rules": _spend("30d", n.COST_30D, n.TEAM_COST_30D, n.MODEL_COST_30D, n.PROVIDER_COST_30D),
        },
        {
            "name": "llmcost-budget.rules",
            "interval": BUDGET_INTERVAL,
            "rules": [*_window_seconds(), *(rule for w in n.BURN_WINDOWS for rule in _burn_rates(w))],
        },
    ]
    if fast:
        for group in groups:
            group["interval"] = "1s"
    return groups
