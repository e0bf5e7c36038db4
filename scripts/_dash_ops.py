"""The two operations dashboards: Budgets & forecast, and Sidecar health.

Budget gauges come from every collector that loads the policy; replicas sharing one ledger report
the same numbers, so panels take the max per budget, window and key (``key``:
see ``_dash_names.BUDGET_KEY``).
"""

from __future__ import annotations

import _dash_names as n
from _dash_alerts import FAST_BURN, SLOW_BURN, THRESHOLD_RATIO
from _dash_sdk import UTILIZATION_STEPS, Board, bar_panel, query, series_panel, stat_panel, table_panel

USD = "currencyUSD"
RATE = "$__rate_interval"
BUDGET_LABELS = [n.BUDGET, n.WINDOW, n.BUDGET_KEY]
BY_BUDGET = f"max by ({', '.join(BUDGET_LABELS)})"
BUDGET_LEGEND = "{{budget}} · {{window}} {{key}}"
HEALTH = 'job=~"$job", instance=~"$instance"'


def _b(metric: str) -> str:
    """``metric`` of the selected budgets, one series per budget, window and key."""
    return f'{BY_BUDGET} ({metric}{{budget=~"$budget"}})'


def budgets() -> Board:
    board = (
        Board(
            "LLM budgets & forecast", "llmcost-budgets", "Where every budget stands and where it is heading."
        )
        .variable("budget", "Budget", f"label_values({n.BUDGET_UTILIZATION}, budget)")
        .time("now-7d")
    )
    util, spent, limit, forecast = (
        _b(n.BUDGET_UTILIZATION), _b(n.BUDGET_SPENT), _b(n.BUDGET_LIMIT), _b(n.BUDGET_FORECAST)
    )  # fmt: skip
    remaining = f"clamp_min({limit} - {spent}, 0)"
    board.row("Now")
    at_threshold = f"count({util} >= {THRESHOLD_RATIO}) or vector(0)"
    board.add(stat_panel(f"Budgets at {THRESHOLD_RATIO:.0%} or more", at_threshold, "short", ""), 4, 4)
    board.add(stat_panel("Budgets exhausted", f"count({util} >= 1) or vector(0)", "short", ""), 4, 4)
    board.add(
        bar_panel("Utilization", util, BUDGET_LEGEND, "percentunit",
                  "Spent / limit, the larger of the USD and token limits.", steps=UTILIZATION_STEPS, max_value=1),
        16, 8,
    )  # fmt: skip
    columns = [
        ("Spent", spent, USD),
        ("Limit", limit, USD),
        ("Remaining", remaining, USD),
        ("Forecast", forecast, USD),
        ("Utilization", util, "percentunit"),
    ]
    board.add(
        table_panel("Budgets", columns,
                    "The current window of each budget. Forecast: spend at the window's end at the rate so"
                    " far (calendar windows only).", labels=BUDGET_LABELS),
        24, 8,
    )  # fmt: skip
    board.row("Over time")
    board.add(
        series_panel("Spent and limit", [query(spent, f"spent {BUDGET_LEGEND}"), query(limit, f"limit {BUDGET_LEGEND}")],
                     USD, "USD budgets only."),
        12, 8,
    )  # fmt: skip
    board.add(series_panel("Remaining", [query(remaining, BUDGET_LEGEND)], USD, "Limit minus spent."), 12, 8)
    forecast_tokens, limit_tokens = _b(n.BUDGET_FORECAST_TOKENS), _b(n.BUDGET_LIMIT_TOKENS)
    ratio = f"{forecast}\n/\n{limit}\nor\n{forecast_tokens}\n/\n{limit_tokens}"
    board.add(
        series_panel("Forecast / limit", [query(ratio, BUDGET_LEGEND)], "percentunit",
                     "Over 100%: the budget runs out before its window ends at the rate so far (in USD, or"
                     " in tokens for a token budget)."),
        12, 8,
    )  # fmt: skip
    by_unit = f"max by ({', '.join((*BUDGET_LABELS, n.UNIT))})"
    burn = [
        query(f'{by_unit} ({n.burn_rate(w)}{{budget=~"$budget"}})', f"{w} {{{{{n.UNIT}}}}} {BUDGET_LEGEND}")
        for w in ("1h", "6h")
    ]
    board.add(
        series_panel("Burn rate", burn, "short",
                     "Spend rate / the rate that uses exactly the limit over the window, for each limit"
                     " (usd, tokens) of a calendar-window budget (recorded by"
                     f" dashboards/prometheus/recording-rules.yaml). Alerts at {FAST_BURN} (1h) and {SLOW_BURN} (6h)."),
        12, 8,
    )  # fmt: skip
    board.add(series_panel("Utilization", [query(util, BUDGET_LEGEND)], "percentunit", ""), 24, 8)
    return board


def _h(metric: str, extra: str = "") -> str:
    return f"{metric}{{{HEALTH}{', ' + extra if extra else ''}}}"


def sidecar() -> Board:
    board = (
        Board(
            "LLM cost collector health", "llmcost-sidecar", "The otel-llmcost collector sidecars themselves."
        )
        .variable("job", "Job", f"label_values({n.SPANS_RECEIVED}, job)")
        .variable("instance", "Instance", f'label_values({n.SPANS_RECEIVED}{{job=~"$job"}}, instance)')
        .time("now-6h")
    )
    board.row("Intake")
    board.add(
        stat_panel("Collectors up", f"sum(up{{{HEALTH}}})", "short", "Targets Prometheus scrapes now."), 4, 8
    )
    received = f"sum by (instance) (rate({_h(n.SPANS_RECEIVED)}[{RATE}]))"
    board.add(
        series_panel(
            "Spans received per second",
            [query(received, "{{instance}}")],
            "short",
            "All spans, GenAI or not.",
        ),
        10,
        8,
    )
    rejected = f"sum by (reason) (rate({_h(n.SPANS_REJECTED)}[{RATE}]))"
    board.add(
        series_panel("GenAI spans rejected per second by reason", [query(rejected, "{{reason}}")], "short",
                     "duplicate_call is expected when two instrumentations record one call."),
        10, 8,
    )  # fmt: skip
    exports = f"sum by (receiver, outcome) (rate({_h(n.EXPORTS)}[{RATE}]))"
    board.add(series_panel("Export requests per second by outcome", [query(exports, "{{receiver}} {{outcome}}")],
                           "reqps", "busy and unavailable are retried by the exporter."), 12, 8)  # fmt: skip
    overflow = f"sum by (label) (rate({_h(n.LABEL_OVERFLOW)}[{RATE}]))"
    board.add(series_panel("Label values over the series cap", [query(overflow, "{{label}}")], "short",
                           "Calls counted under __overflow__ (metrics.series_cap)."), 12, 8)  # fmt: skip
    board.row("Queue and ledger")
    fill = f"{_h(n.QUEUE_DEPTH)}\n/\n{_h(n.QUEUE_CAPACITY)}"
    board.add(series_panel("Intake queue fill", [query(fill, "{{instance}}")], "percentunit",
                           "Spans waiting for the ledger writer / capacity; full means exports are refused.",
                           max_value=1), 8, 8)  # fmt: skip
    latency = [
        query(f"histogram_quantile({q}, sum by (le, instance) (rate({_h(n.LEDGER_WRITE_BUCKET)}[{RATE}])))",
              f"p{int(q * 100)} {{{{instance}}}}")
        for q in (0.5, 0.99)
    ]  # fmt: skip
    board.add(
        series_panel("Ledger write duration", latency, "s", "One write commits a batch of exports."), 8, 8
    )
    errors = f"sum by (instance) (increase({_h(n.LEDGER_WRITE_ERRORS)}[{RATE}]))"
    board.add(series_panel("Ledger write errors", [query(errors, "{{instance}}")], "short", ""), 8, 8)
    board.row("Forwarding")
    sent = f"sum by (endpoint) (rate({_h(n.FORWARD_SPANS)}[{RATE}]))"
    board.add(series_panel("Spans forwarded per second", [query(sent, "{{endpoint}}")], "short", ""), 8, 8)
    problems = [
        query(
            f"sum by (endpoint, reason) (rate({_h(n.FORWARD_DROPPED)}[{RATE}]))",
            "dropped {{endpoint}} {{reason}}",
        ),
        query(f"sum by (endpoint) (rate({_h(n.FORWARD_RETRIES)}[{RATE}]))", "retried {{endpoint}}"),
    ]
    board.add(series_panel("Forward drops and retries per second", problems, "short", ""), 8, 8)
    queue = f"{_h(n.FORWARD_QUEUE_BYTES)}\n/\n{_h(n.FORWARD_QUEUE_CAPACITY)}"
    board.add(series_panel("Forward queue fill", [query(queue, "{{endpoint}}")], "percentunit",
                           "When full the oldest exports are dropped.", max_value=1), 8, 8)  # fmt: skip
    board.row("Process")
    cpu = f"rate({_h(n.CPU_SECONDS)}[{RATE}])"
    board.add(series_panel("CPU", [query(cpu, "{{instance}}")], "short", "Cores used (user + system)."), 8, 8)
    board.add(
        series_panel("Resident memory", [query(_h(n.RESIDENT_MEMORY), "{{instance}}")], "bytes", ""), 8, 8
    )
    handles = [query(_h(n.THREADS), "threads {{instance}}"), query(_h(n.OPEN_FDS), "open fds {{instance}}")]
    board.add(series_panel("Threads and open file descriptors", handles, "short", ""), 8, 8)
    return board
