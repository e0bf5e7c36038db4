"""helm/examples/llm-app: an application chart that depends on otel-llmcost (file://) and puts the
collector in its pods as a native sidecar."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest

from otel_llmcost import budgets
from otel_llmcost.collector._config import Address
from otel_llmcost.pricing import Pricer
from otel_llmcost.usage import Usage
from tests.helm.collector_files import load_rendered, write_config_map
from tests.helm.support import (
    KUBE_VERSION,
    Rendered,
    chart_copy,
    check_golden,
    container,
    env_of,
    render,
    validate_manifest,
)


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example chart with its dependency fetched (`helm dependency update`) in a copy of helm/."""
    chart = chart_copy(tmp_path_factory.mktemp("example"))
    app = chart.parent / "examples" / "llm-app"
    helm.dependency_update(app)
    return app


def _pod(rendered: Rendered) -> dict[str, Any]:
    spec: dict[str, Any] = rendered.one("Deployment", "demo-llm-app")["spec"]["template"]
    return spec


def test_the_dependency_is_the_local_chart(example: Path) -> None:
    assert helm.dependency_list(example) == [
        {
            "name": "otel-llmcost",
            "version": "0.1.0",
            "repository": "file://../../otel-llmcost",
            "status": "ok",
        }
    ]


def test_lint_is_clean(example: Path) -> None:
    report = helm.lint(example, strict=True, with_subcharts=True, kube_version=f"v{KUBE_VERSION}")
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


def test_renders_the_app_with_the_sidecar_and_validates(example: Path) -> None:
    rendered = render(chart=example)
    assert rendered.kinds() == ["ConfigMap/demo-otel-llmcost-config", "Deployment/demo-llm-app"]
    for manifest in rendered.manifests:
        validate_manifest(manifest)
    check_golden("example-llm-app", rendered.golden_text())

    pod = _pod(rendered)
    assert [c["name"] for c in pod["spec"]["initContainers"]] == ["otel-llmcost"]
    assert [c["name"] for c in pod["spec"]["containers"]] == ["app"]
    sidecar = container(pod["spec"])
    assert sidecar["restartPolicy"] == "Always"  # a native sidecar: up before the app, down after it
    assert sidecar["image"] == "ghcr.io/otel-llmcost/otel-llmcost:0.1.0"
    assert sidecar["securityContext"]["readOnlyRootFilesystem"] is True
    assert sidecar["securityContext"]["runAsNonRoot"] is True
    assert sidecar["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "llmcost-metrics"}
    assert sidecar["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "llmcost-metrics"}
    assert "resources" not in sidecar
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["otel-llmcost-config"]["configMap"] == {"name": "demo-otel-llmcost-config"}
    assert volumes["otel-llmcost-ledger"] == {"name": "otel-llmcost-ledger", "emptyDir": {}}


def test_the_app_exports_to_the_sidecar(example: Path) -> None:
    app = container(_pod(render(chart=example))["spec"], "app")
    env = env_of(app)
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://localhost:4318"
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    assert env["OTEL_SERVICE_NAME"] == "llm-app"
    assert env["OTEL_METRICS_EXPORTER"] == "none"
    assert env["K8S_POD_NAME"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env["OTEL_RESOURCE_ATTRIBUTES"] == (
        "k8s.pod.name=$(K8S_POD_NAME),k8s.namespace.name=$(K8S_NAMESPACE_NAME),"
        "deployment.environment.name=production"
    )


def test_with_auth_the_app_sends_the_token_the_sidecar_expects(example: Path) -> None:
    secret = {"name": "llmcost-token", "key": "token"}
    pod = _pod(render({"llmcost": {"auth": {"existingSecret": secret}}}, chart=example))["spec"]
    app, collector = env_of(container(pod, "app")), env_of(container(pod))
    assert app["OTEL_LLMCOST_API_TOKEN"] == collector["OTEL_LLMCOST_API_TOKEN"] == {"secretKeyRef": secret}
    # Kubernetes expands $(VAR) of an earlier entry; the exporters URL-decode the value.
    names = [item["name"] for item in container(pod, "app")["env"]]
    assert names.index("OTEL_LLMCOST_API_TOKEN") < names.index("OTEL_EXPORTER_OTLP_HEADERS")
    assert app["OTEL_EXPORTER_OTLP_HEADERS"] == "authorization=Bearer $(OTEL_LLMCOST_API_TOKEN)"
    without = env_of(container(_pod(render(chart=example))["spec"], "app"))
    assert "OTEL_EXPORTER_OTLP_HEADERS" not in without and "OTEL_LLMCOST_API_TOKEN" not in without


def test_the_sidecar_loads_its_config_listening_on_loopback(example: Path, tmp_path: Path) -> None:
    rendered = render(chart=example)
    loaded = load_rendered(rendered.one("ConfigMap"), container(_pod(rendered)["spec"]), tmp_path)
    # Only the pod's own containers can export; probes and Prometheus reach the metrics port.
    assert loaded.otlp_grpc == Address("127.0.0.1", 4317)
    assert loaded.otlp_http == Address("127.0.0.1", 4318)
    assert loaded.listen == Address("0.0.0.0", 9464)
    assert loaded.ledger_url == "sqlite:////var/lib/otel-llmcost/ledger.db"
    assert loaded.budgets == f"{tmp_path}/budgets.yaml"


def test_pods_roll_when_the_collector_files_change(example: Path) -> None:
    def checksum(values: dict[str, Any]) -> str:
        annotations = _pod(render(values, chart=example))["metadata"]["annotations"]
        value: str = annotations["checksum/otel-llmcost-config"]
        return value

    base = checksum({})
    assert len(base) == 64
    assert checksum({"replicas": 5}) == base
    assert checksum({"llmcost": {"prices": {"discounts": {"openai": "20%"}}}}) != base
    assert checksum({"llmcost": {"config": {"pipeline": {"retry_after_seconds": 2}}}}) != base


def test_without_native_sidecars_the_collector_is_a_container(example: Path) -> None:
    pod = _pod(render({"llmcost": {"sidecar": {"native": False}}}, chart=example))["spec"]
    assert "initContainers" not in pod
    assert [c["name"] for c in pod["containers"]] == ["app", "otel-llmcost"]
    assert "restartPolicy" not in pod["containers"][1]


def test_the_sidecar_templates_refuse_gateway_mode(example: Path) -> None:
    with pytest.raises(helm.HelmRenderError, match="the otel-llmcost sidecar templates need mode: sidecar"):
        render({"llmcost": {"mode": "gateway"}}, chart=example)


def test_the_dependency_values_are_schema_checked(example: Path) -> None:
    with pytest.raises(helm.HelmValuesError) as refused:
        render({"llmcost": {"sidecar": {"nativ": False}}}, chart=example)
    assert "llmcost:\n- at '/sidecar': additional properties 'nativ' not allowed" in str(refused.value)


def test_the_app_enforces_the_charts_budgets_with_its_prices(
    example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = {"name": "llmcost-redis", "key": "url"}
    values = {
        "llmcost": {
            "budgets": {
                "budgets": [{"name": "hard-cap", "window": "daily", "limit_usd": 2, "action": "block"}]
            },
            "prices": {"discounts": {"openai": "20%"}},
            "budgetStore": {"existingSecret": store},
        }
    }
    rendered = render(values, chart=example)
    pod = _pod(rendered)["spec"]
    app = container(pod, "app")
    env = env_of(app)
    assert env["OTEL_LLMCOST_BUDGETS"] == "/etc/otel-llmcost/budgets.yaml"
    assert env["OTEL_LLMCOST_PRICES"] == "/etc/otel-llmcost/prices.yaml"
    assert env["OTEL_LLMCOST_BUDGET_STORE"] == env_of(container(pod))["OTEL_LLMCOST_BUDGET_STORE"]
    assert env["OTEL_LLMCOST_BUDGET_STORE"] == {"secretKeyRef": store}
    assert {"name": "otel-llmcost-config", "mountPath": "/etc/otel-llmcost", "readOnly": True} in app[
        "volumeMounts"
    ]
    assert "otel-llmcost-config" in {v["name"] for v in pod["volumes"]}

    # What the instrumentation loads in that container: the collector's own files.
    write_config_map(rendered.one("ConfigMap"), tmp_path)
    monkeypatch.setenv("OTEL_LLMCOST_BUDGETS", str(tmp_path / "budgets.yaml"))
    monkeypatch.setenv("OTEL_LLMCOST_BUDGET_STORE", "memory")
    guard = budgets.guard_from_env()
    try:
        assert guard is not None
        assert [(b.name, b.action, b.limit_usd) for b in guard.policy.budgets] == [
            ("hard-cap", "block", Decimal(2))
        ]
    finally:
        budgets.set_guard(None)
    discounted = Pricer(overrides=str(tmp_path / "prices.yaml")).price("gpt-4o", Usage(input=1_000_000))
    listed = Pricer().price("gpt-4o", Usage(input=1_000_000))
    assert discounted is not None and listed is not None
    assert discounted.total == listed.total * Decimal("0.8")


def test_without_budgets_or_prices_the_app_gets_neither_variable(example: Path) -> None:
    values = {"llmcost": {"budgets": None, "prices": None}}  # null drops the example's own
    env = env_of(container(_pod(render(values, chart=example))["spec"], "app"))
    assert not {"OTEL_LLMCOST_BUDGETS", "OTEL_LLMCOST_PRICES", "OTEL_LLMCOST_BUDGET_STORE"} & set(env)
