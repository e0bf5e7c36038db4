"""End to end: an app calls the simulator through the real openai SDK, instrumented, exporting
over real OTLP/HTTP to an in-process collector whose budget policy has a deliberately tiny limit
and whose daily cost threshold is tiny too; a REAL Prometheus scrapes it with our rules loaded and
sends alerts to a REAL Alertmanager running our example configuration, whose webhook receiver is
this test. The ledger starts with three weeks of history (another service's), so the collector's
analytics export a month-end forecast and both anomaly ratios.

``LLMBudgetExhausted`` and the threshold branch of ``LLMDailyCostHigh`` must arrive at the webhook,
and every panel query of every dashboard (variables set to all the values Prometheus has for them,
Grafana's macros expanded as in ``support.MACROS``) must return data. The rules are a copy
generated from the same source with every ``for`` and group interval at one second
(``gen_dashboards.rule_files(fast=True)``): the real ``for`` values are checked by the promtool
unit tests.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from otel_llmcost.collector import Collector, CollectorConfig
from otel_llmcost.collector._config_values import Address, ForwardEndpoint
from otel_llmcost.ledger import Filters, open_ledger
from otel_llmcost.pricing import Pricer
from otel_llmcost.simulator import Simulator, UsageRule
from tests.dashboards.e2e_support import (
    HISTORY_NANOS,
    App,
    Webhook,
    alertmanager_config,
    firing,
    history,
)
from tests.dashboards.support import (
    committed_dashboards,
    expand,
    gen,
    label_values_query,
    queries,
    regex_of,
    variables,
)
from tests.otlp_receiver import otlp_http_receiver
from tests.prometheus import (
    AlertmanagerServer,
    PrometheusServer,
    alertmanager_factory,
    prometheus_factory,
)

__all__ = ["alertmanager_factory", "prometheus_factory"]  # the fixtures, imported for the test below

pytestmark = pytest.mark.services

# The first budget is exhausted by the first priced call (a total window: no reset mid-test;
# scoped to the app, so the ledger's history is not in it); the per-team one has a per-key
# label, a forecast and a burn rate (a calendar window; the history has no team).
POLICY = f"""
budgets:
  - {{name: e2e-total, window: total, limit_usd: 0.000001, scope: {{service: {App.SERVICE}}}}}
  - {{name: per-team, per: team, window: monthly, limit_usd: 1000}}
"""
# By hand from the catalog (USD per million tokens): gpt-4o-mini (input 0.15, cache read 0.075,
# output 0.60), 1200 prompt incl. 1024 cached + 50 out = 26.4 + 76.8 + 30 µ$ = 133,200 n$;
# gpt-4o (2.50, 1.25, 10), 2000 prompt incl. 1024 cached + 100 out = 2440 + 1280 + 1000 µ$ =
# 4,720,000 n$. The test makes three priced gpt-4o-mini calls and two gpt-4o calls; the failed
# and the unpriced calls cost nothing.
TOTAL_NANOS = 3 * 133_200 + 2 * 4_720_000
# Today's spend passes it with the first round of calls (0.005 USD): LLMDailyCostHigh fires.
DAILY_THRESHOLD = Decimal("0.004")
FREE = Address("127.0.0.1", 0)
RUNBOOK = "https://github.com/otel-llmcost/otel-llmcost/blob/main/dashboards/runbook.md#"


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            hook.add(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/alerts"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield hook
    server.shutdown()
    server.server_close()


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator() as simulator:
        simulator.set_rule(
            "gpt-4o-mini*", UsageRule(prompt_tokens=1200, cached_tokens=1024, completion_tokens=50)
        )
        simulator.set_rule("gpt-4o", UsageRule(prompt_tokens=2000, cached_tokens=1024, completion_tokens=100))
        yield simulator


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[Collector]:
    policy = tmp_path / "budgets.yaml"
    policy.write_text(POLICY)
    ledger_url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with open_ledger(ledger_url) as ledger:
        assert len(ledger.insert_new(history(time.time_ns()))) == len(history(0))
    with otlp_http_receiver() as (trace_store, _received):
        config = CollectorConfig(
            otlp_grpc=None, otlp_http=FREE, listen=FREE, ledger_url=ledger_url,
            budgets=str(policy), budgets_refresh_s=0.2,
            analytics_refresh_s=0.5, daily_cost_threshold_usd=DAILY_THRESHOLD,
            series_cap={"team": 2},  # a third team overflows: the label-overflow panel has data
            forward=(ForwardEndpoint(url=f"{trace_store}/v1/traces", name="trace-store", compression="none"),),
            shutdown_timeout_s=5.0,
        )  # fmt: skip
        collector = Collector(config, registry=CollectorRegistry(), pricer=Pricer()).start()
        yield collector
        collector.stop(timeout=5.0)


def resolve_variables(prometheus: PrometheusServer, board: dict[str, Any]) -> dict[str, str]:
    """Each query variable set to every value Prometheus has for it (in order, so a variable's
    query sees the ones before it), as Grafana's multi-value regex."""
    values: dict[str, str] = {}
    for variable in variables(board):
        if variable["type"] != "query":
            continue
        selector, label = label_values_query(expand(variable["query"], values))
        found = prometheus.get_json(f"/api/v1/label/{label}/values", **{"match[]": selector})["data"]
        assert found, f"no values for ${variable['name']} ({variable['query']})"
        values[variable["name"]] = regex_of(found)
    return values


def panel_queries(prometheus: PrometheusServer) -> list[tuple[str, str]]:
    """``(where, PromQL)`` of every panel query, variables and macros expanded."""
    found = []
    for uid, board in committed_dashboards().items():
        values = resolve_variables(prometheus, board)
        found += [(f"{uid} / {title}", expand(expr, values)) for title, expr in queries(board)]
    return found


def wait_until_every_query_has_data(prometheus: PrometheusServer, timeout: float) -> list[str]:
    """The queries still empty at ``timeout`` (recorded series appear an evaluation after their
    inputs, and Prometheus evaluates on its own clock: poll its API)."""
    deadline = time.monotonic() + timeout
    pending = panel_queries(prometheus)
    assert len(pending) == 72  # every target of every panel
    while True:
        pending = [(where, expr) for where, expr in pending if not prometheus.query(expr)]
        if not pending or time.monotonic() > deadline:
            return [f"{where}: {expr}" for where, expr in pending]
        time.sleep(0.5)


def test_budget_alert_reaches_the_webhook_and_every_panel_has_data(
    tmp_path: Path,
    sim: Simulator,
    collector: Collector,
    webhook: Webhook,
    prometheus_factory: Callable[..., PrometheusServer],
    alertmanager_factory: Callable[..., AlertmanagerServer],
) -> None:
    alertmanager = alertmanager_factory(alertmanager_config(webhook.url))
    rules = tmp_path / "rules"
    gen.write(gen.rule_files(fast=True), rules)
    prometheus = prometheus_factory(
        targets=[str(collector.addresses["listen"])],
        rule_files=sorted(rules.rglob("*.yaml")),
        alerting=alertmanager.prometheus_block,
        extra_flags=["--rules.alert.resend-delay=1s"],
    )
    app = App(sim, collector)
    try:
        # Two rounds, each scraped, so counters move between samples and rates are not zero.
        for model, team in [("gpt-4o-mini", "search"), ("gpt-4o", "ads"), ("gpt-4o-mini", "research"),
                            ("gpt-unknown-e2e", "search")]:  # fmt: skip
            app.call(model, team)
        prometheus.wait_for("sum(llmcost_requests_total)", lambda v: v == app.calls)
        app.call("gpt-4o-mini", "search")
        app.call("gpt-4o-mini", "search", fail=True)
        app.call("gpt-unknown-e2e", "search")
        app.call("gpt-4o", "ads")
        prometheus.wait_for("sum(llmcost_requests_total)", lambda v: v == app.calls)
    finally:
        app.close()

    alert = webhook.wait_for_alert(firing("LLMBudgetExhausted"), timeout=30)
    # One alert per budget and job: the replicas' target labels (instance …) are merged away.
    assert alert["labels"] == {
        "alertname": "LLMBudgetExhausted", "severity": "critical", "category": "budget",
        "budget": "e2e-total", "window": "total", "job": "llmcost",
    }  # fmt: skip
    assert alert["annotations"]["summary"] == "An LLM budget is exhausted."
    assert alert["annotations"]["runbook_url"] == RUNBOOK + "llmbudgetexhausted"
    assert alert["annotations"]["description"].startswith("Budget e2e-total (total window) is at ")
    assert "(reported by llmcost);" in alert["annotations"]["description"]
    assert collector.ledger.totals(Filters(equals={"service": App.SERVICE})).cost_nanos == TOTAL_NANOS
    assert collector.ledger.totals().cost_nanos == TOTAL_NANOS + HISTORY_NANOS

    # The collector's day spend (only the app's calls are today) over its configured threshold:
    # one alert for the job, without the instance; the threshold is read back by the template.
    alert = webhook.wait_for_alert(firing("LLMDailyCostHigh"), timeout=30)
    assert alert["labels"] == {
        "alertname": "LLMDailyCostHigh", "severity": "warning", "category": "spend", "scope": "ledger",
        "job": "llmcost",
    }  # fmt: skip
    assert alert["annotations"] == {
        "summary": "LLM spend today is over the configured daily threshold.",
        "description": "Calls in the ledger of llmcost have cost 0.01 USD today (UTC), over the daily"
        " threshold of 0.00 USD set in the collector's configuration (anomalies.daily_cost_threshold_usd).",
        "runbook_url": RUNBOOK + "llmdailycosthigh",
    }
    spent = prometheus.wait_for(
        'llmcost_budget_spent_usd{budget="e2e-total"}', lambda v: v == TOTAL_NANOS / 1e9
    )
    assert spent == 0.0098396
    # The per-key budget label as Prometheus stores it, which the rules and dashboards use.
    keys = {r["metric"].get("key") for r in prometheus.query('llmcost_budget_spent_usd{budget="per-team"}')}
    assert keys == {"search", "ads", "research"}

    assert wait_until_every_query_has_data(prometheus, timeout=15) == []
    check_ledger_analytics(prometheus)


def check_ledger_analytics(prometheus: PrometheusServer) -> None:
    """The collector's analytics gauges as Prometheus has them, and the forecast stat showing the
    collector's forecast (the variables select every series)."""
    today = prometheus.wait_for("max(llmcost_daily_cost_usd)", lambda v: v == TOTAL_NANOS / 1e9)
    assert (today, prometheus.value("max(llmcost_daily_cost_threshold_usd)")) == (0.0098396, 0.004)
    kinds = {r["metric"]["kind"] for r in prometheus.query("llmcost_anomaly_ratio")}
    assert kinds == {"hourly_cost", "hourly_tokens"}
    bounds = {r["metric"]["bound"] for r in prometheus.query('llmcost_forecast_usd{window="month"}')}
    assert bounds == {"point", "low", "high"}
    overview = committed_dashboards()["llmcost-overview"]
    [stat] = [expr for title, expr in queries(overview) if title == "Forecast, end of month"]
    stat = expand(stat, resolve_variables(prometheus, overview))
    # One query, so both sides are the same instant: 1 when the stat is the collector's figure.
    same = f'({stat})\n== bool\nmax(llmcost_forecast_usd{{window="month", bound="point"}})'
    assert prometheus.value(same) == 1
