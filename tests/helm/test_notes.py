"""NOTES.txt: the next step for each mode, and a failed render for every impossible combination."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest

from tests.helm.support import load_values, render

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
            {"mode": "gateway", "ledger": {"url": "sqlite:////data/l.db"}, "gateway": {"replicas": 2}},
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
            "instrumentation.enabled exports OTLP/HTTP, but config.receivers.otlp_http.enabled is false",
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
    assert "OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318\n" in notes
    assert "Each pod keeps its own SQLite ledger on an emptyDir" in notes


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
