"""Resource names stay unique, valid and within 63 characters; labels are one mapping per resource."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helm.support import (
    FIXTURE_FILES,
    NOTES_SUFFIX,
    chart_copy,
    load_strict,
    render,
    render_error,
    validate_manifest,
)

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DASHBOARDS = ["llmcost-budgets", "llmcost-efficiency", "llmcost-overview", "llmcost-sidecar"]
RULE_FILES = ["alerts", "recording-rules"]
PG = {"existingSecret": {"name": "llmcost-postgres", "key": "url"}}


@pytest.fixture(scope="module")
def many_files_chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The chart with four dashboards and two rule files whose names differ only at the end."""
    files = tmp_path_factory.mktemp("files")
    (files / "grafana").mkdir()
    (files / "prometheus").mkdir()
    dashboard = json.loads((FIXTURE_FILES / "grafana" / "llmcost-fixture.json").read_text(encoding="utf-8"))
    for name in DASHBOARDS:
        (files / "grafana" / f"{name}.json").write_text(
            json.dumps({**dashboard, "uid": name}), encoding="utf-8"
        )
    for name in RULE_FILES:
        shutil.copy(FIXTURE_FILES / "prometheus" / "alerts.yaml", files / "prometheus" / f"{name}.yaml")
    return chart_copy(tmp_path_factory.mktemp("many-files-chart"), files=files)


def _names(kind: str, manifests: list[dict[str, Any]]) -> list[str]:
    return sorted(m["metadata"]["name"] for m in manifests if m["kind"] == kind)


def test_a_long_release_name_keeps_every_dashboard_name_apart(many_files_chart: Path) -> None:
    values = {"grafanaDashboards": {"enabled": True}, "prometheusRule": {"enabled": True}}
    rendered = render(values, chart=many_files_chart, release="customer-support-assistant-prod")
    # "customer-support-assistant-prod-otel-llmcost" is cut, never the suffix that tells them apart.
    assert _names("ConfigMap", rendered.manifests) == [
        "customer-support-assistant-prod-ot-dashboard-llmcost-efficiency",
        "customer-support-assistant-prod-otel-dashboard-llmcost-budgets",
        "customer-support-assistant-prod-otel-dashboard-llmcost-overview",
        "customer-support-assistant-prod-otel-dashboard-llmcost-sidecar",
        "customer-support-assistant-prod-otel-llmcost-config",
    ]
    assert _names("PrometheusRule", rendered.manifests) == [
        "customer-support-assistant-prod-otel-llmcost-alerts",
        "customer-support-assistant-prod-otel-llmcost-recording-rules",
    ]
    for manifest in rendered.manifests:
        validate_manifest(manifest)


@pytest.mark.parametrize(
    ("values", "release"),
    [
        ({"fullnameOverride": "x" * 63}, "demo"),
        ({"fullnameOverride": "a" * 40 + "-" + "b" * 22}, "demo"),  # a cut that would end in "-"
        ({}, "r" * 53),  # Helm's longest release name
        ({"nameOverride": "n" * 63}, "demo"),
    ],
)
def test_every_suffixed_name_is_unique_valid_and_ends_with_its_suffix(
    many_files_chart: Path, values: dict[str, Any], release: str
) -> None:
    values = {
        **values,
        "mode": "gateway",
        "ledger": {"persistence": {"enabled": True}},
        "grafanaDashboards": {"enabled": True},
        "prometheusRule": {"enabled": True},
    }
    manifests = render(values, chart=many_files_chart, release=release).manifests
    suffixes = {
        ("ConfigMap", "-config"),
        ("PersistentVolumeClaim", "-ledger"),
        *(("ConfigMap", f"-dashboard-{name}") for name in DASHBOARDS),
        *(("PrometheusRule", f"-{name}") for name in RULE_FILES),
    }
    found = {(kind, suffix) for kind, suffix in suffixes for m in manifests
             if m["kind"] == kind and m["metadata"]["name"].endswith(suffix)}  # fmt: skip
    assert found == suffixes
    keys = [(m["kind"], m["metadata"]["name"]) for m in manifests]
    assert len(keys) == len(set(keys))
    for _, name in keys:
        assert len(name) <= 63 and DNS_LABEL.match(name), name


def _labels(manifests: list[dict[str, Any]], kind: str) -> dict[str, str]:
    found = [m for m in manifests if m["kind"] == kind]
    assert found, kind
    labels: dict[str, str] = found[0]["metadata"]["labels"]
    return labels


CHART_LABELS = {
    "helm.sh/chart": "otel-llmcost-0.1.0",
    "app.kubernetes.io/name": "otel-llmcost",
    "app.kubernetes.io/instance": "demo",
    "app.kubernetes.io/version": "0.1.0",
    "app.kubernetes.io/managed-by": "Helm",
    "app.kubernetes.io/component": "gateway",
}


def test_labels_given_twice_are_written_once_with_the_more_specific_value(fixture_chart: Path) -> None:
    common = {"team": "platform", "release": "common", "tier": "common", "grafana_dashboard": "0"}
    values = {
        "mode": "gateway",
        "ledger": PG,
        "commonLabels": {
            **common,
            "app.kubernetes.io/component": "llm-cost",
            "app.kubernetes.io/name": "otel-llmcost",
        },
        "gateway": {"podLabels": {"tier": "observability"}},
        "serviceMonitor": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}},
        "podMonitor": {"enabled": True, "labels": {"release": "pods"}},
        "prometheusRule": {"enabled": True, "labels": {"release": "rules"}},
        "grafanaDashboards": {"enabled": True, "labels": {"grafana_dashboard": "1"}},
        "instrumentation": {"enabled": True},
    }
    rendered = render(values, chart=fixture_chart)
    # Every template's text parses with a loader that refuses a key written twice.
    for path, text in rendered.templates.items():
        if not path.endswith(NOTES_SUFFIX):
            load_strict(text)
    manifests = rendered.manifests
    base = {**CHART_LABELS, **common, "app.kubernetes.io/component": "llm-cost"}
    assert _labels(manifests, "Service") == base
    assert _labels(manifests, "Instrumentation") == base
    pod = next(m for m in manifests if m["kind"] == "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert pod == {**base, "tier": "observability"}
    assert _labels(manifests, "ServiceMonitor") == {**base, "release": "kube-prometheus-stack"}
    assert _labels(manifests, "PodMonitor") == {**base, "release": "pods"}
    assert _labels(manifests, "PrometheusRule") == {**base, "release": "rules"}
    dashboard = next(
        m for m in manifests if m["kind"] == "ConfigMap" and "dashboard" in m["metadata"]["name"]
    )
    assert dashboard["metadata"]["labels"] == {**base, "grafana_dashboard": "1"}
    for manifest in manifests:
        validate_manifest(manifest)


def test_the_strict_loader_refuses_a_duplicate_key() -> None:
    with pytest.raises(yaml.constructor.ConstructorError, match="duplicate key 'team'"):
        load_strict("metadata:\n  labels:\n    team: a\n    team: b\n")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"mode": "gateway", "commonLabels": {"app.kubernetes.io/name": "llm"}},
            "commonLabels or gateway.podLabels set app.kubernetes.io/name: llm, but the gateway's Deployment, "
            "Service and monitors select its pods by app.kubernetes.io/name: otel-llmcost: drop that label "
            "(nameOverride sets it)",
        ),
        (
            {"mode": "gateway", "gateway": {"podLabels": {"app.kubernetes.io/instance": "other"}}},
            "commonLabels or gateway.podLabels set app.kubernetes.io/instance: other, but the gateway's "
            "Deployment, Service and monitors select its pods by app.kubernetes.io/instance: demo: drop that "
            "label (it is the release name)",
        ),
    ],
)
def test_labels_that_would_unselect_the_gateway_pods_are_refused(
    values: dict[str, Any], message: str
) -> None:
    assert render_error(values) == message
    # Not in sidecar mode: the chart has no pods there.
    render({**values, "mode": "sidecar", "gateway": {}})
