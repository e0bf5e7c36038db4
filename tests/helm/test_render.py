"""Lint and render the chart with each values file; validate every manifest; compare golden renders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

from tests.helm.support import (
    CHART,
    KUBE_VERSION,
    REPO,
    check_golden,
    load_values,
    render,
    validate_manifest,
)

CASES = ["default", "sidecar", "gateway", "gateway-sqlite", "everything"]
GATEWAY = ["ConfigMap/demo-otel-llmcost-config", "Deployment/demo-otel-llmcost", "Service/demo-otel-llmcost"]
EXPECTED_KINDS = {
    "default": ["ConfigMap/demo-otel-llmcost-config"],
    "sidecar": ["ConfigMap/demo-otel-llmcost-config", "PodMonitor/demo-otel-llmcost"],
    "gateway": sorted(
        [
            *GATEWAY,
            "PodDisruptionBudget/demo-otel-llmcost",
            "ServiceAccount/demo-otel-llmcost",
            "ServiceMonitor/demo-otel-llmcost",
        ]
    ),
    "gateway-sqlite": sorted(
        [*GATEWAY, "PersistentVolumeClaim/demo-otel-llmcost-ledger", "ServiceAccount/demo-otel-llmcost"]
    ),
    "everything": [
        "ConfigMap/llmcost-config",
        "ConfigMap/llmcost-dashboard-llmcost-fixture",
        "Deployment/llmcost",
        "HorizontalPodAutoscaler/llmcost",
        "Instrumentation/llmcost",
        "PodDisruptionBudget/llmcost",
        "PodMonitor/llmcost",
        "PrometheusRule/llmcost-alerts",
        "Service/llmcost",
        "ServiceAccount/llmcost",
        "ServiceMonitor/llmcost",
    ],
}


def _values(case: str) -> dict[str, Any]:
    return {} if case == "default" else load_values(case)


@pytest.mark.parametrize("case", CASES)
def test_lint_is_clean(case: str) -> None:
    report = helm.lint(CHART, _values(case), strict=True, kube_version=f"v{KUBE_VERSION}")
    assert report["errors"] == []
    # Severity 1 is information ("icon is recommended"); warnings and errors fail strict lint.
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


@pytest.mark.parametrize("case", CASES)
def test_renders_the_expected_resources(case: str, fixture_chart: Path) -> None:
    assert render(_values(case), chart=fixture_chart).kinds() == EXPECTED_KINDS[case]


@pytest.mark.parametrize("case", CASES)
def test_every_manifest_validates_against_kubernetes(case: str, fixture_chart: Path) -> None:
    validated = [validate_manifest(m) for m in render(_values(case), chart=fixture_chart).manifests]
    assert len(validated) == len(EXPECTED_KINDS[case])
    assert all(f"(Kubernetes {KUBE_VERSION.rsplit('.', 1)[0]})" in v or "crds.py" in v for v in validated)


@pytest.mark.parametrize("case", CASES)
def test_golden_render(case: str, fixture_chart: Path) -> None:
    check_golden(case, render(_values(case), chart=fixture_chart).golden_text())


def test_strict_validation_rejects_an_unknown_field() -> None:
    """The validator used above is strict: a misspelt field is an error, not ignored."""
    deployment = render(load_values("gateway")).one("Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    with pytest.raises(Exception, match="imagePullPolicyy"):
        validate_manifest(deployment)


def _rule_files() -> list[Path]:
    return sorted(p for p in (CHART / "files" / "prometheus").glob("*.yaml"))


def test_prometheus_rules_are_the_dashboards_rule_files() -> None:
    """Each synced rule file becomes one PrometheusRule with exactly its groups."""
    files = _rule_files()
    assert files, "no rule files in helm/otel-llmcost/files/prometheus: run scripts/sync_chart_files.py"
    rendered = render({"prometheusRule": {"enabled": True}})
    for path in files:
        rule = rendered.one("PrometheusRule", f"demo-otel-llmcost-{path.stem}")
        source = yaml.safe_load((REPO / "dashboards" / "prometheus" / path.name).read_text(encoding="utf-8"))
        assert rule["spec"]["groups"] == source["groups"]
        validate_manifest(rule)
    assert len([m for m in rendered.manifests if m["kind"] == "PrometheusRule"]) == len(files)


def test_grafana_dashboards_are_the_dashboards_json() -> None:
    files = sorted((CHART / "files" / "grafana").glob("*.json"))
    assert files, "no dashboards in helm/otel-llmcost/files/grafana: run scripts/sync_chart_files.py"
    rendered = render({"grafanaDashboards": {"enabled": True}})
    for path in files:
        config_map = rendered.one("ConfigMap", f"demo-otel-llmcost-dashboard-{path.stem}")
        assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
        source = json.loads((REPO / "dashboards" / "grafana" / path.name).read_text(encoding="utf-8"))
        assert json.loads(config_map["data"][path.name]) == source
        validate_manifest(config_map)
