"""How applications export to the collector: the endpoint and protocol of appEnv, NOTES and the
Instrumentation follow the receivers that are on, and the bearer token reaches every exporter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python as helm
import pytest

from tests.helm.support import (
    CHART,
    Rendered,
    chart_copy,
    container,
    env_of,
    render,
    render_error,
    validate_manifest,
)

SECRET = {"name": "llmcost-api", "key": "token"}
AUTH = {"auth": {"existingSecret": SECRET}}
NO_HTTP = {"config": {"receivers": {"otlp_http": {"enabled": False}}}}
#: What appEnv and the Instrumentation give the application with auth.existingSecret, in this order.
TOKEN_ENV: list[dict[str, Any]] = [
    {"name": "OTEL_LLMCOST_API_TOKEN", "valueFrom": {"secretKeyRef": SECRET}},
    {"name": "OTEL_EXPORTER_OTLP_HEADERS", "value": "authorization=Bearer $(OTEL_LLMCOST_API_TOKEN)"},
]
APP_CHART = """\
apiVersion: v2
name: gateway-app
version: 0.1.0
dependencies:
  - {name: otel-llmcost, version: 0.1.0, repository: "file://../otel-llmcost", alias: llmcost}
"""
APP_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: app
  namespace: {{ .Release.Namespace }}
spec:
  containers:
    - name: app
      image: app:1
      env:
        {{- include "otel-llmcost.sidecar.appEnv" (dict "context" .Subcharts.llmcost "serviceName" "app") | nindent 8 }}
"""


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """helm/examples/llm-app (sidecar mode) with its dependency fetched."""
    app = chart_copy(tmp_path_factory.mktemp("example")).parent / "examples" / "llm-app"
    helm.dependency_update(app)
    return app


@pytest.fixture(scope="module")
def gateway_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An application chart that points its pod at the gateway with appEnv (mode: gateway)."""
    app = chart_copy(tmp_path_factory.mktemp("gateway-app")).parent / "gateway-app"
    (app / "templates").mkdir(parents=True)
    (app / "Chart.yaml").write_text(APP_CHART, encoding="utf-8")
    (app / "values.yaml").write_text("llmcost:\n  mode: gateway\n", encoding="utf-8")
    (app / "templates" / "pod.yaml").write_text(APP_POD, encoding="utf-8")
    helm.dependency_update(app)
    return app


def _app_env(rendered: Rendered, kind: str, name: str) -> list[dict[str, Any]]:
    manifest = rendered.one(kind, name)
    validate_manifest(manifest)
    spec = manifest["spec"]["template"]["spec"] if kind == "Deployment" else manifest["spec"]
    env: list[dict[str, Any]] = container(spec, "app")["env"]
    return env


def _instrumentation_env(values: dict[str, Any]) -> list[dict[str, Any]]:
    instrumentation = render({"instrumentation": {"enabled": True}, **values}).one("Instrumentation")
    validate_manifest(instrumentation)
    env: list[dict[str, Any]] = instrumentation["spec"]["python"]["env"]
    return env


@pytest.mark.parametrize("mode", ["sidecar", "gateway"])
def test_the_instrumentation_sends_the_token_as_app_env_does(mode: str) -> None:
    env = _instrumentation_env({"mode": mode, **AUTH})
    # The token first: Kubernetes expands $(OTEL_LLMCOST_API_TOKEN) only from an earlier entry.
    assert env[:2] == TOKEN_ENV
    assert [item["name"] for item in env].count("OTEL_EXPORTER_OTLP_HEADERS") == 1
    assert not {"OTEL_LLMCOST_API_TOKEN", "OTEL_EXPORTER_OTLP_HEADERS"} & {
        item["name"] for item in _instrumentation_env({"mode": mode})
    }


def test_the_instrumentation_and_the_sidecar_app_env_agree_on_the_token(example: Path) -> None:
    app_env = _app_env(render({"llmcost": AUTH}, chart=example), "Deployment", "demo-llm-app")
    token_names = {item["name"] for item in TOKEN_ENV}
    assert [item for item in app_env if item["name"] in token_names] == TOKEN_ENV
    assert _instrumentation_env(AUTH)[:2] == TOKEN_ENV


def test_the_gateway_app_env_sends_the_token(gateway_app: Path) -> None:
    env = _app_env(render({"llmcost": AUTH}, chart=gateway_app), "Pod", "app")
    names = [item["name"] for item in env]
    assert env[names.index("OTEL_LLMCOST_API_TOKEN")] == TOKEN_ENV[0]
    assert env[names.index("OTEL_LLMCOST_API_TOKEN") + 1] == TOKEN_ENV[1]


@pytest.mark.parametrize(
    ("values", "endpoint", "protocol"),
    [
        ({}, "http://localhost:4318", "http/protobuf"),
        (NO_HTTP, "http://localhost:4317", "grpc"),
        ({**NO_HTTP, "tls": {"existingSecret": "llmcost-tls"}}, "https://localhost:4317", "grpc"),
        ({**NO_HTTP, "ports": {"otlpGrpc": 14317}}, "http://localhost:14317", "grpc"),
    ],
)
def test_the_sidecar_app_env_uses_a_receiver_that_is_on(
    example: Path, values: dict[str, Any], endpoint: str, protocol: str
) -> None:
    rendered = render({"llmcost": values}, chart=example)
    env = env_of({"env": _app_env(rendered, "Deployment", "demo-llm-app")})
    assert (env["OTEL_EXPORTER_OTLP_ENDPOINT"], env["OTEL_EXPORTER_OTLP_PROTOCOL"]) == (endpoint, protocol)
    notes = render(values).notes
    assert f"  OTEL_EXPORTER_OTLP_ENDPOINT={endpoint}\n  OTEL_EXPORTER_OTLP_PROTOCOL={protocol}\n" in notes


@pytest.mark.parametrize(
    ("values", "endpoint", "protocol"),
    [
        ({}, "http://demo-otel-llmcost.llm.svc:4318", "http/protobuf"),
        (NO_HTTP, "http://demo-otel-llmcost.llm.svc:4317", "grpc"),
        (
            {**NO_HTTP, "tls": {"existingSecret": "llmcost-tls"}},
            "https://demo-otel-llmcost.llm.svc:4317",
            "grpc",
        ),
    ],
)
def test_the_gateway_app_env_uses_a_receiver_that_is_on(
    gateway_app: Path, values: dict[str, Any], endpoint: str, protocol: str
) -> None:
    env = env_of({"env": _app_env(render({"llmcost": values}, chart=gateway_app), "Pod", "app")})
    assert (env["OTEL_EXPORTER_OTLP_ENDPOINT"], env["OTEL_EXPORTER_OTLP_PROTOCOL"]) == (endpoint, protocol)
    notes = render({"mode": "gateway", **values}).notes
    assert f"  OTEL_EXPORTER_OTLP_ENDPOINT={endpoint}\n  OTEL_EXPORTER_OTLP_PROTOCOL={protocol}\n" in notes


@pytest.mark.parametrize("mode", ["sidecar", "gateway"])
def test_notes_say_a_grpc_exporter_is_needed_without_the_http_receiver(mode: str) -> None:
    grpc = render({"mode": mode, **NO_HTTP}).notes
    assert (
        "\nThe OTLP/HTTP receiver is off, so applications export OTLP/gRPC: they need the OTLP gRPC exporter\n"
        "(opentelemetry-exporter-otlp-proto-grpc).\n"
    ) in grpc
    assert "OTLP gRPC exporter" not in render({"mode": mode}).notes


def test_the_instrumentation_still_needs_the_http_receiver() -> None:
    values = {"instrumentation": {"enabled": True}, **NO_HTTP}
    assert render_error(values) == (
        "instrumentation.enabled exports OTLP/HTTP (the OpenTelemetry Operator's Python injection speaks "
        "http/protobuf only), but config.receivers.otlp_http.enabled is false, so nothing would receive its "
        "spans: enable the OTLP/HTTP receiver, or set instrumentation.endpoint to another OTLP/HTTP endpoint"
    )
    other = {**values, "instrumentation": {"enabled": True, "endpoint": "http://otel-gateway.obs.svc:4318"}}
    env = env_of({"env": _instrumentation_env(other)})
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-gateway.obs.svc:4318"
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"


def test_gateway_notes_give_the_header_when_auth_is_on() -> None:
    notes = render({"mode": "gateway", **AUTH}).notes
    assert (
        "  OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf\n"
        "  OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer <the token: key token of Secret llmcost-api>\n"
    ) in notes
    assert (
        "\nAuth is on: an export without that header is refused (401) and its spans are dropped. The Secret\n"
        "must exist in each application's namespace (appEnv and the Instrumentation read it there).\n"
    ) in notes
    assert "OTEL_EXPORTER_OTLP_HEADERS" not in render({"mode": "gateway"}).notes


def test_the_readme_says_the_secret_must_be_in_the_applications_namespace() -> None:
    readme = " ".join((CHART / "README.md").read_text(encoding="utf-8").split())
    zero_code = readme.split("## Zero-code Python with the OpenTelemetry Operator", 1)[1].split(" ## ", 1)[0]
    assert (
        "With `auth.existingSecret` the injected environment reads the token from that Secret "
        "(`OTEL_LLMCOST_API_TOKEN`, a `secretKeyRef`) into `OTEL_EXPORTER_OTLP_HEADERS`, as `appEnv` does: a "
        "`secretKeyRef` resolves in the pod's own namespace, so the Secret must exist in each instrumented "
        "application's namespace."
    ) in zero_code
