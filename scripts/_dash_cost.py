"""The two spend dashboards: Cost overview and Efficiency.

Both filter on the provider, model, team and service variables. "Today" and "month to date" are
Grafana relative ranges (``now/d``, ``now/M``) in UTC, the days and months the ledger reports.
``increase()`` cannot see the first sample of a new series (a counter that appears at 1 has no
earlier 0), so a label set's very first call is missing from range totals; the ledger's reports
(``/v1/report``) are exact.
"""

from __future__ import annotations

import _dash_names as n
from _dash_analytics import ledger_analytics
from _dash_sdk import Board, bar_panel, query, series_panel, stat_panel, table_panel, text_panel

FILTER = 'provider=~"$provider", model=~"$model", team=~"$team", service=~"$service"'
RATE = "$__rate_interval"
RANGE = "$__range"
INPUT_TYPES = 'type=~"input|cache_read|cache_write"'  # every input token, as the provider counts it
OUTPUT_TYPES = 'type=~"output|reasoning"'
REASONING = 'type="reasoning"'
FAILED = 'status="error"'
USD = "currencyUSD"


def m(metric: str, extra: str = "") -> str:
    """``metric`` filtered by the dashboard's variables (and ``extra`` matchers)."""
    return f"{metric}{{{FILTER}{', ' + extra if extra else ''}}}"


def _named_team(expr: str) -> str:
    """Calls without a team get the legend ``(none)`` instead of an empty one."""
    return f'label_replace({expr}, "team", "(none)", "team", "")'


def _variables(board: Board) -> Board:
    return (
        board.variable("provider", "Provider", f"label_values({n.COST}, provider)")
        .variable("model", "Model", f'label_values({n.COST}{{provider=~"$provider"}}, model)')
        .variable("team", "Team", f'label_values({n.COST}{{provider=~"$provider", model=~"$model"}}, team)')
        .variable(
            "service",
            "Service",
            f'label_values({n.COST}{{provider=~"$provider", model=~"$model", team=~"$team"}}, service)',
        )
    )


def _spend_stats(board: Board) -> None:
    spent = f"sum(increase({m(n.COST)}[{RANGE}]))"
    # Seconds left in this UTC month: whole days after today, plus the rest of today.
    left = "((days_in_month() - day_of_month()) * 86400 + 86400 - time() % 86400)"
    run_rate = f"{spent}\n+\nsum(rate({m(n.COST)}[1d])) * {left}"
    # The collector's forecast covers its whole ledger: it answers only while the filters select
    # every cost series (all "All", or every value picked); otherwise the filtered run-rate does.
    point = f'max({n.FORECAST}{{{n.WINDOW}="month", {n.BOUND}="point"}})'
    forecast = f"{point}\nand on ()\n(count({m(n.COST)}) == count({n.COST}))\nor\n{run_rate}"
    board.row("Spend")
    board.add(stat_panel("Spend today", spent, USD, "Since 00:00 UTC.", time_from="now/d"), 6, 4)
    board.add(stat_panel("Month to date", spent, USD, "Since the 1st, 00:00 UTC.", time_from="now/M"), 6, 4)
    board.add(
        stat_panel(
            "Forecast, end of month", forecast, USD,
            "Unfiltered: the collector's forecast of the whole ledger (its weekday and trend model,"
            f" {n.FORECAST}); collectors that share a ledger report the same figure, so the highest"
            " is shown (max, never sum). With a filter set, or before the ledger has two weeks of"
            " history: month to date plus the rest of the month at the last 24 hours' rate. Budgets"
            " have their own forecast on the Budgets dashboard.",
            time_from="now/M",
        ), 6, 4,
    )  # fmt: skip
    board.add(stat_panel("Spend in range", spent, USD, "Over the dashboard's time range."), 6, 4)


def _by_dimension(board: Board) -> None:
    def rate_by(label: str) -> str:
        return f"sum by ({label}) (rate({m(n.COST)}[{RATE}])) * 3600"

    board.row("Spend by provider, model and team")
    for label, title in (("provider", "provider"), ("model", "model")):
        board.add(
            series_panel(f"Spend rate by {title}", [query(rate_by(label), f"{{{{{label}}}}}")], USD,
                         "USD per hour.", stacked=True),
            8, 8,
        )  # fmt: skip
    board.add(
        series_panel("Spend rate by team", [query(_named_team(rate_by("team")), "{{team}}")], USD,
                     "USD per hour; (none) is calls without a team.", stacked=True),
        8, 8,
    )  # fmt: skip
    top_models = f"topk(10, sum by (provider, model) (increase({m(n.COST)}[{RANGE}])))"
    board.add(
        bar_panel("Top models in range", top_models, "{{model}} ({{provider}})", USD, "The ten costliest."),
        8,
        8,
    )
    by_team = _named_team(f"sum by (team) (increase({m(n.COST)}[{RANGE}]))")
    board.add(
        bar_panel("Spend by team in range", by_team, "{{team}}", USD, "(none) is calls without a team."), 8, 8
    )
    daily = f'sum by (team) ({n.COST_1D}{{provider=~"$provider", model=~"$model", team=~"$team"}})'
    board.add(
        series_panel("Spend over the last 24 hours, by team", [query(_named_team(daily), "{{team}}")], USD,
                     f"Rolling 24-hour spend from the recording rule {n.COST_1D} (the service filter"
                     " does not apply)."),
        8, 8,
    )  # fmt: skip
    columns = [
        ("Spend", f"sum by (team, model) (increase({m(n.COST)}[{RANGE}]))", USD),
        ("Calls", f"sum by (team, model) (increase({m(n.REQUESTS)}[{RANGE}]))", "short"),
        ("Tokens", f"sum by (team, model) (increase({m(n.TOKENS)}[{RANGE}]))", "short"),
    ]
    board.add(table_panel("Spend by team and model in range", columns, "Calls of every status.",
                          labels=["team", "model"]), 24, 8)  # fmt: skip


def _tokens_and_requests(board: Board) -> None:
    board.row("Tokens")
    by_type = f"sum by (type) (rate({m(n.TOKENS)}[{RATE}]))"
    board.add(
        series_panel("Tokens per second by type", [query(by_type, "{{type}}")], "short",
                     "Exclusive types: input is uncached input, output excludes reasoning; together"
                     " they are every token billed.", stacked=True),
        12, 8,
    )  # fmt: skip
    in_range = f"sum by (type) (increase({m(n.TOKENS)}[{RANGE}]))"
    board.add(bar_panel("Tokens in range by type", in_range, "{{type}}", "short", "Exclusive types."), 6, 8)
    per_model = f"sum by (model) (rate({m(n.TOKENS)}[{RATE}]))"
    board.add(
        series_panel("Tokens per second by model", [query(per_model, "{{model}}")], "short", "All types."),
        6,
        8,
    )
    board.row("Requests")
    board.add(
        stat_panel("Calls in range", f"sum(increase({m(n.REQUESTS)}[{RANGE}]))", "short", "Every status."),
        4,
        8,
    )
    errors = f"sum(increase({m(n.REQUESTS, FAILED)}[{RANGE}]))"
    board.add(stat_panel("Failed calls in range", errors, "short", "Calls that ended in an error."), 4, 8)
    by_status = f"sum by (status) (rate({m(n.REQUESTS)}[{RATE}]))"
    board.add(
        series_panel(
            "Calls per second by status", [query(by_status, "{{status}}")], "reqps", "", stacked=True
        ),
        8,
        8,
    )
    ratio = (
        f"sum by (provider) (rate({m(n.REQUESTS, FAILED)}[{RATE}]))\n/\n"
        f"sum by (provider) (rate({m(n.REQUESTS)}[{RATE}]))"
    )
    board.add(
        series_panel(
            "Error ratio by provider",
            [query(ratio, "{{provider}}")],
            "percentunit",
            "Failed calls / all calls.",
        ),
        8,
        8,
    )
    latency = [
        query(f"histogram_quantile({q}, sum by (le, model) (rate({m(n.DURATION_BUCKET)}[{RATE}])))",
              f"p{int(q * 100)} {{{{model}}}}")
        for q in (0.5, 0.95)
    ]  # fmt: skip
    board.add(series_panel("Call duration by model", latency, "s", "Median and 95th percentile."), 24, 8)


def cost_overview() -> Board:
    board = _variables(
        Board("LLM cost overview", "llmcost-overview", "What LLM calls cost, by provider, model and team.")
    ).time("now-7d")
    _spend_stats(board)
    ledger_analytics(board)
    _by_dimension(board)
    _tokens_and_requests(board)
    return board


def efficiency() -> Board:
    board = _variables(
        Board(
            "LLM cost efficiency",
            "llmcost-efficiency",
            "Caching, cost per call, failures and unpriced calls.",
        )
    ).time("now-7d")
    cache_read = m(n.TOKENS, 'type="cache_read"')
    all_input = m(n.TOKENS, INPUT_TYPES)
    board.row("Prompt caching")
    hit = f"sum(increase({cache_read}[{RANGE}]))\n/\nsum(increase({all_input}[{RANGE}]))"
    board.add(
        stat_panel("Cache hit ratio in range", hit, "percentunit", "Cached input tokens / all input tokens."),
        6,
        8,
    )
    hit_by_model = (
        f"sum by (model) (rate({cache_read}[{RATE}]))\n/\nsum by (model) (rate({all_input}[{RATE}]))"
    )
    board.add(series_panel("Cache hit ratio by model", [query(hit_by_model, "{{model}}")], "percentunit",
                           "Cached input tokens / all input tokens.", max_value=1), 9, 8)  # fmt: skip
    states = f"sum by (type) (rate({all_input}[{RATE}]))"
    board.add(series_panel("Input tokens per second: uncached, cache reads, cache writes",
                           [query(states, "{{type}}")], "short", "", stacked=True), 9, 8)  # fmt: skip
    board.row("Cost per call")
    per_call = (
        f"sum by (model) (rate({m(n.COST)}[{RATE}]))\n/\nsum by (model) (rate({m(n.REQUESTS)}[{RATE}]))"
    )
    board.add(series_panel("Average cost per call by model", [query(per_call, "{{model}}")], USD, ""), 12, 8)
    reasoning = (
        f"sum by (model) (rate({m(n.TOKENS, REASONING)}[{RATE}]))\n/\n"
        f"sum by (model) (rate({m(n.TOKENS, OUTPUT_TYPES)}[{RATE}]))"
    )
    board.add(series_panel("Reasoning share of output by model", [query(reasoning, "{{model}}")], "percentunit",
                           "Reasoning tokens / all output tokens (billed as output).", max_value=1), 12, 8)  # fmt: skip
    by = "provider, model"
    columns = [
        ("Spend", f"sum by ({by}) (increase({m(n.COST)}[{RANGE}]))", USD),
        ("Calls", f"sum by ({by}) (increase({m(n.REQUESTS)}[{RANGE}]))", "short"),
        ("Cost per call", f"sum by ({by}) (increase({m(n.COST)}[{RANGE}])) / sum by ({by}) (increase({m(n.REQUESTS)}[{RANGE}]))", USD),
        ("Cache hit ratio", f"sum by ({by}) (increase({cache_read}[{RANGE}])) / sum by ({by}) (increase({all_input}[{RANGE}]))", "percentunit"),
    ]  # fmt: skip
    board.add(table_panel("Models in range", columns, "", labels=["provider", "model"]), 24, 8)
    _failures(board)
    return board


def _failures(board: Board) -> None:
    errors = m(n.REQUESTS, 'status="error"')
    board.row("Failures, truncation and unpriced calls")
    ratio = f"sum by (model) (rate({errors}[{RATE}]))\n/\nsum by (model) (rate({m(n.REQUESTS)}[{RATE}]))"
    board.add(
        series_panel(
            "Error ratio by model", [query(ratio, "{{model}}")], "percentunit", "Failed calls / all calls."
        ),
        8,
        8,
    )
    # Cost series have no status label (labels stay bounded), so each series' cost is spread over
    # its calls: cost x failed share. Failed calls are often not billed, so this is an upper bound.
    share = f"(rate({errors}[{RATE}]) > 0)\n  / ignoring (status)\n  sum without (status) (rate({m(n.REQUESTS)}[{RATE}]))"
    estimate = f"sum by (model) (\n  rate({m(n.COST)}[{RATE}])\n  * ignoring (status)\n  ({share})\n) * 3600"
    board.add(
        series_panel("Estimated spend on failed calls", [query(estimate, "{{model}}")], USD,
                     "USD per hour: each series' cost times its share of failed calls (an upper bound:"
                     " providers rarely bill failed calls). The exact figure is in the ledger:"
                     " /v1/report?group_by=status."),
        8, 8,
    )  # fmt: skip
    board.add(
        text_panel(
            "Truncated calls",
            "Calls cut off by `max_tokens` (finish reason `length`) are not a Prometheus series: the"
            " collector keeps labels bounded and the finish reason is per call. Their count and cost"
            " are in the ledger: `/v1/report?group_by=finish_reason` on the collector's API, or"
            " `otel-llmcost insights`.",
        ),
        8, 8,
    )  # fmt: skip
    board.add(stat_panel("Unpriced calls in range", f"sum(increase({m(n.UNPRICED)}[{RANGE}]))", "short",
                         "Calls to models without a price: their cost is not counted."), 6, 8)  # fmt: skip
    unpriced = f"sum by (provider, model) (rate({m(n.UNPRICED)}[{RATE}])) > 0"
    board.add(series_panel("Unpriced calls per second by model", [query(unpriced, "{{model}} ({{provider}})")],
                           "reqps", "Add the model to a price override file (docs/pricing-catalog.md)."), 9, 8)  # fmt: skip
    discrepant = f"sum by (provider, model) (increase({m(n.DISCREPANCIES)}[{RANGE}]))"
    board.add(bar_panel("Reported cost differs from ours, in range", discrepant, "{{model}} ({{provider}})", "short",
                        "Calls whose emitter reported a cost more than 1% (and $0.000001) from the catalog's."), 9, 8)  # fmt: skip
