"""The end-to-end test's parts: the webhook Alertmanager notifies, Alertmanager's configuration for
the test, an instrumented app, and the ledger history the collector's analytics need."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import openai
import yaml
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

import otel_llmcost
from otel_llmcost import semconv as sc
from otel_llmcost.collector import Collector
from otel_llmcost.instrumentation import LLMCostInstrumentor
from otel_llmcost.ledger import LedgerRecord
from otel_llmcost.simulator import Simulator
from tests.dashboards.support import ALERTMANAGER_CONFIG
from tests.ledger.support import make_record
from tests.prometheus import free_port

DAY_NS = 86_400 * 1_000_000_000
HISTORY_DAYS = 20  # over the 14 complete days the forecast needs, under the 4 weeks anomalies look back
HISTORY_SERVICE = "e2e-history"  # not the app's service: the budgets (scoped to the app) ignore it
HISTORY_NANOS = HISTORY_DAYS * 1_000_000  # 0.001 USD a day


def history(now_ns: int) -> list[LedgerRecord]:
    """One call a day for :data:`HISTORY_DAYS` days, each a minute short of a whole number of days
    before ``now_ns``. The collector then exports a month-end forecast (two weeks of history or
    more) and both anomaly ratios: the calls 7 and 14 days back fall in the same hour of the week
    as the hour before any moment in the next 59 minutes, so the baseline is known and not zero."""
    fields = {"service": HISTORY_SERVICE, "input_tokens": 1000, "output_tokens": 100}
    cost = {"cost_nanos": 1_000_000, "cost_input_nanos": 1_000_000}
    return [
        make_record(day, start_ns=now_ns - day * DAY_NS - 60_000_000_000, **fields, **cost)
        for day in range(1, HISTORY_DAYS + 1)
    ]


@dataclass
class Webhook:
    """Alertmanager's webhook receiver: keeps every notification it is sent."""

    url: str = ""
    notifications: list[dict[str, Any]] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def add(self, payload: dict[str, Any]) -> None:
        with self.changed:
            self.notifications.append(payload)
            self.changed.notify_all()

    def wait_for_alert(self, predicate: Callable[[dict[str, Any]], bool], timeout: float) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            alerts = (a for n in self.notifications for a in n["alerts"])
            return next((a for a in alerts if predicate(a)), None)

        with self.changed:
            self.changed.wait_for(lambda: found() is not None, timeout)
            alert = found()
        assert alert is not None, f"no matching alert in {json.dumps(self.notifications, indent=1)}"
        return alert


def firing(name: str) -> Callable[[dict[str, Any]], bool]:
    return lambda alert: alert["labels"]["alertname"] == name and alert["status"] == "firing"


def alertmanager_config(webhook_url: str) -> dict[str, Any]:
    """The example configuration, with the webhook pointed at the test, mail sent to a closed
    loopback port (delivery fails and is retried; nothing leaves the host) and every wait 1 s."""
    config: dict[str, Any] = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    config["global"] = {
        "smtp_smarthost": f"127.0.0.1:{free_port()}",
        "smtp_from": "e2e@localhost",
        "smtp_require_tls": False,
    }
    for receiver in config["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            hook["url"] = webhook_url

    def quicken(route: dict[str, Any]) -> None:
        route.update(group_wait="1s", group_interval="1s")
        for child in route.get("routes", []):
            quicken(child)

    quicken(config["route"])
    return config


class App:
    """An instrumented app: the real openai SDK, our instrumentor, a real OTLP/HTTP exporter."""

    SERVICE = "e2e-app"

    def __init__(self, sim: Simulator, collector: Collector) -> None:
        self.sim = sim
        exporter = OTLPSpanExporter(endpoint=f"http://{collector.addresses['otlp_http']}/v1/traces")
        self.provider = TracerProvider(resource=Resource.create({sc.SERVICE_NAME: self.SERVICE}))
        self.provider.add_span_processor(SimpleSpanProcessor(exporter))  # each span acknowledged as it ends
        self.instrumentor = LLMCostInstrumentor()
        self.instrumentor.instrument(tracer_provider=self.provider, pricer=collector.pricer, guard=None)
        self.client = openai.OpenAI(base_url=sim.openai_base_url, api_key="k", max_retries=0)
        self.calls = 0

    def call(self, model: str, team: str, *, fail: bool = False) -> None:
        if fail:
            self.sim.inject_error(500)
        with otel_llmcost.attribute(team=team):
            try:
                self.client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
            except openai.InternalServerError:
                assert fail
        self.calls += 1

    def close(self) -> None:
        self.client.close()
        self.instrumentor.uninstrument()
        self.provider.shutdown()
