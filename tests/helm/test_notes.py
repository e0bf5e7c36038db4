"""NOTES.txt: the next step for each mode, and a failed render for every impossible combination."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest

from tests.helm.support import CHART, EXAMPLES, load_values, render

PG = {"existingSecret": {"name": "pg", "key": "url"}}
CPU = {"requests": {"cpu": "100m"}}


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        (
            {"mode": "gateway", "gateway": {"replicas": 3}},
            "gateway.replicas is 3 but the ledger is SQLite, which one pod at a time can write",
        ),
        (
            {
                "mode": "gateway",
                "ledger": {"url": "sqlite:////var/lib/otel-llmcost/l.db"},
                "gateway": {"replicas": 2},
            },
            "gateway.replicas is 2 but the ledger is SQLite",
        ),
        (
            {"mode": "gateway", "autoscaling": {"enabled": True}, "resources": CPU},
            "autoscaling.enabled with an SQLite ledger",
        ),
        ({"autoscaling": {"enabled": True}}, "autoscaling.enabled needs mode: gateway"),
        (
            {"mode": "gateway", "ledger": PG, "autoscaling": {"enabled": True}},
            "autoscaling.targetCPUUtilizationPercentage is a percentage of resources.requests.cpu, which is not set",
        ),
        (
            {
                "mode": "gateway",
                "ledger": PG,
                "resources": CPU,
                "autoscaling": {"enabled": True, "maxReplicas": 1},
            },
            "autoscaling.maxReplicas (1) is below autoscaling.minReplicas (2)",
        ),
        (
            {
                "mode": "gateway",
                "ledger": PG,
                "autoscaling": {"enabled": True, "targetCPUUtilizationPercentage": None},
            },
            "neither targetCPUUtilizationPercentage nor targetMemoryUtilizationPercentage",
        ),
        (
            {"ledger": {"url": "postgresql://db/x", **PG}},
            "ledger.url and ledger.existingSecret.name are both set",
        ),
        ({"serviceMonitor": {"enabled": True}}, "serviceMonitor.enabled needs mode: gateway"),
        (
            {"config": {"receivers": {"otlp_grpc": {"enabled": False}, "otlp_http": {"enabled": False}}}},
            "the collector would receive nothing",
        ),
        (
            {
                "instrumentation": {"enabled": True},
                "config": {"receivers": {"otlp_http": {"enabled": False}}},
            },
            "instrumentation.enabled exports OTLP/HTTP (the OpenTelemetry Operator's Python injection speaks "
            "http/protobuf only), but config.receivers.otlp_http.enabled is false",
        ),
        ({"ports": {"otlpHttp": 9464}}, "ports.otlpGrpc, ports.otlpHttp and ports.metrics must differ"),
        (
            {"mode": "gateway", "config": {"shutdown": {"timeout_seconds": 30}}},
            "gateway.terminationGracePeriodSeconds (30) must exceed config.shutdown.timeout_seconds (30)",
        ),
    ],
)
def test_impossible_values_fail_the_render(values: dict[str, Any], reason: str) -> None:
    with pytest.raises(helm.HelmRenderError, match=re.escape(reason)) as failed:
        render(values)
    assert "NOTES.txt" in str(failed.value)


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"prometheusRule": {"enabled": True}}, "prometheusRule.enabled but the chart has no rule files"),
        (
            {"grafanaDashboards": {"enabled": True}},
            "grafanaDashboards.enabled but the chart has no dashboards",
        ),
    ],
)
def test_monitoring_without_files_fails(values: dict[str, Any], reason: str, bare_chart: Path) -> None:
    with pytest.raises(helm.HelmRenderError, match=re.escape(reason)):
        render(values, chart=bare_chart)
    render({}, chart=bare_chart)  # nothing asked for: fine without files


def test_sidecar_notes_name_the_next_step() -> None:
    notes = render(load_values("sidecar")).notes
    assert notes.startswith("otel-llmcost 0.1.0 (sidecar mode), release demo in llm.\n")
    assert 'initContainers: {{- include "otel-llmcost.sidecar" .Subcharts.<name> | nindent 8 }}' in notes
    assert (
        "  OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318\n  OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf\n"
        in notes
    )


def test_sidecar_notes_say_budget_status_is_per_pod_with_sqlite() -> None:
    per_pod = (
        "\nEach pod keeps its own SQLite ledger on an emptyDir, lost with the pod, so each pod's collector\n"
        "reports budgets (the llmcost_budget_* gauges, /v1/budgets) and the forecast over that pod's own\n"
        "spend since it started. For a durable ledger shared by all pods, and budget status over all of\n"
        "their spend, set ledger.existingSecret to a Secret holding a postgresql:// URL.\n"
    )
    assert per_pod in render(load_values("sidecar")).notes
    assert "Each pod keeps its own SQLite ledger" not in render({"ledger": PG}).notes


@pytest.mark.parametrize(
    ("mode", "names"),
    [("sidecar", "localhost"), ("gateway", "demo-otel-llmcost.llm.svc")],
)
def test_notes_say_the_applications_must_trust_the_tls_certificate(mode: str, names: str) -> None:
    notes = render({"mode": mode, "tls": {"existingSecret": "llmcost-tls"}}).notes
    assert (
        "\nTLS is on: the applications' exporters must trust the certificate in Secret llmcost-tls, and its\n"
        f"names must cover {names}. The chart does not distribute a CA: give it to the\n"
        "applications (e.g. OTEL_EXPORTER_OTLP_CERTIFICATE naming a mounted CA file).\n"
    ) in notes
    assert "TLS is on" not in render({"mode": mode}).notes


def _flat(text: str) -> str:
    return " ".join(text.split())


def _section(readme: str, title: str) -> str:
    return _flat(readme.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0])


def test_the_docs_explain_per_pod_budgets_and_tls_trust() -> None:
    readme = (CHART / "README.md").read_text(encoding="utf-8")
    sidecar = _section(readme, "Sidecar mode")
    assert (
        "With the default per-pod SQLite ledger, each pod's collector reports over its own ledger: its budgets "
        "(`llmcost_budget_*` gauges, `/v1/budgets`), forecast and `/v1/report` cover that pod's own spend since "
        "it started (the emptyDir), not the application's."
    ) in sidecar
    assert (
        "budget status over the whole ledger needs the shared PostgreSQL ledger (`ledger.existingSecret`)"
        in sidecar
    )
    assert (
        "the application's exporter must trust the certificate, and the certificate's names must cover "
        "`localhost`. The chart does not distribute a CA"
    ) in sidecar
    gateway = _section(readme, "Gateway mode")
    assert (
        "the applications' exporters must trust the certificate, whose names must cover the Service name "
        "(`<release>-otel-llmcost.<namespace>.svc`); the chart does not distribute a CA"
    ) in gateway
    example = _flat((EXAMPLES / "llm-app" / "values.yaml").read_text(encoding="utf-8").replace("#", ""))
    assert (
        "With the default per-pod SQLite ledger (an emptyDir), each pod's collector reports budgets, "
        "llmcost_budget_* gauges and the forecast over that pod's own spend since it started; for status over "
        "the whole application's spend, give it a shared PostgreSQL ledger"
    ) in example
    values = (CHART / "values.yaml").read_text(encoding="utf-8")
    assert (
        "# TLS for the OTLP receivers. The applications' exporters must trust the certificate, whose names\n"
        "# must cover localhost (sidecar) or the Service name (gateway); the chart does not distribute a CA.\n"
    ) in values


def test_gateway_notes_give_the_endpoint_and_the_commands() -> None:
    notes = render(load_values("gateway")).notes
    assert "  OTEL_EXPORTER_OTLP_ENDPOINT=http://demo-otel-llmcost.llm.svc:4318\n" in notes
    assert "  kubectl -n llm port-forward service/demo-otel-llmcost 9464\n" in notes
    assert "  otel-llmcost report --api http://127.0.0.1:9464   # with OTEL_LLMCOST_API_TOKEN set\n" in notes
    assert "SQLite" not in notes  # a PostgreSQL ledger from the Secret
    sqlite = render(load_values("gateway-sqlite")).notes
    assert (
        "The ledger is SQLite on a PersistentVolumeClaim: one replica at a time (strategy Recreate)."
        in sqlite
    )


def test_instrumentation_notes_give_the_annotation() -> None:
    notes = render({"instrumentation": {"enabled": True}}).notes
    assert '  instrumentation.opentelemetry.io/inject-python: "llm/demo-otel-llmcost"\n' in notes
