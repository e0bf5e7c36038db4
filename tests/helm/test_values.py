"""values.yaml and values.schema.json: documented, strict, and in step with the collector's own keys."""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

import helm_python as helm
import pytest
import yaml

from otel_llmcost.budgets import _policy
from otel_llmcost.collector import _config
from otel_llmcost.pricing import _overrides
from tests.helm.support import CHART, KUBE_VERSION, REPO, load_values, render

SCHEMA = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
# Collector config keys the chart sets itself (listen addresses and ledger as environment
# variables, files it writes, secrets it mounts): values.config must not accept them.
CHART_OWNED = {
    "receivers.otlp_grpc.endpoint",
    "receivers.otlp_http.endpoint",
    "receivers.auth.bearer_token",
    "receivers.auth.bearer_token_file",
    "receivers.tls.cert_file",
    "receivers.tls.key_file",
    "api.listen",
    "ledger.url",
    "pricing.overrides",
    "budgets.policy",
}


def _leaves(schema: dict[str, Any], prefix: str = "") -> set[str]:
    props = schema.get("properties")
    if not props:
        return {prefix.rstrip(".")}
    return {leaf for key, sub in props.items() for leaf in _leaves(sub, f"{prefix}{key}.")}


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return SCHEMA["definitions"][ref.rsplit("/", 1)[1]] if ref else schema


@pytest.mark.parametrize(
    ("values_file", "named"),
    [
        ("bad-unknown-key", "at '/gateway': additional properties 'replica' not allowed"),
        ("bad-wrong-type", "at '/ports/metrics': got string, want integer"),
    ],
)
def test_a_bad_values_file_is_refused_naming_the_key(values_file: str, named: str) -> None:
    with pytest.raises(helm.HelmValuesError) as refused:
        render(load_values(values_file))
    assert named in str(refused.value)
    report = helm.lint(CHART, load_values(values_file), strict=True, kube_version=f"v{KUBE_VERSION}")
    assert any(named in message["error"] for message in report["messages"] if message["severity"] == 3)


@pytest.mark.parametrize(
    ("values", "named"),
    [
        (
            {"config": {"api": {"listen": "0.0.0.0:1"}}},
            "at '/config': additional properties 'api' not allowed",
        ),
        ({"config": {"receivers": {"otlp_grpc": {"endpoint": "x:1"}}}}, "additional properties 'endpoint'"),
        (
            {"budgets": {"budgets": [{"name": "b", "window": "daily", "limitusd": 1}]}},
            "'limitusd' not allowed",
        ),
        (
            {"budgets": {"budgets": [{"name": "b", "window": "daily", "action": "stop"}]}},
            "/budgets/budgets/0/action",
        ),
        (
            {"prices": {"models": {"m": {"inputs": 1}}}},
            "at '/prices/models/m': additional properties 'inputs'",
        ),
        ({"mode": "daemonset"}, "at '/mode'"),
        ({"autoscaling": {"maxReplicas": 2.5}}, "at '/autoscaling/maxReplicas': got number, want integer"),
        ({"image": {"digest": "latest"}}, "at '/image/digest'"),
        ({"serviceMonitor": {"interval": "30 seconds"}}, "at '/serviceMonitor/interval'"),
    ],
)
def test_schema_refuses_unknown_keys_and_wrong_types(values: dict[str, Any], named: str) -> None:
    with pytest.raises(helm.HelmValuesError, match=re.escape(named)):
        render(values)


def test_chart_defaults_satisfy_the_schema() -> None:
    with helm.Chart.load(CHART) as chart:
        chart.validate_schema(chart.values)


def test_every_object_in_the_schema_is_closed() -> None:
    """additionalProperties is false (or a typed schema) everywhere, except the Kubernetes objects
    passed through unchanged, which say so in a $comment."""
    open_objects: list[str] = []

    def walk(schema: Any, path: str) -> None:
        if isinstance(schema, dict):
            closed = "additionalProperties" in schema or "$comment" in schema or path == "properties.global"
            if schema.get("type") == "object" and not closed:
                open_objects.append(path)
            for key, sub in schema.items():
                walk(sub, f"{path}.{key}" if path else key)
        elif isinstance(schema, list):
            for index, sub in enumerate(schema):
                walk(sub, f"{path}[{index}]")

    walk(SCHEMA, "")
    assert open_objects == []
    assert SCHEMA["additionalProperties"] is False


def test_every_values_key_has_a_comment_above_it() -> None:
    lines = (CHART / "values.yaml").read_text(encoding="utf-8").splitlines()
    key = re.compile(r"^\s*[A-Za-z_][\w.-]*:")
    undocumented = [
        line.strip()
        for before, line in itertools.pairwise(lines)
        if key.match(line) and not before.strip().startswith("#")
    ]
    assert undocumented == []
    assert not key.match(lines[0])


def test_values_and_schema_have_the_same_keys() -> None:
    defaults = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    # Leaves of the defaults that are maps the user fills (budgets, labels ...) have no properties.
    assert set(defaults) == set(SCHEMA["properties"]) - {"global"}

    def check(values: dict[str, Any], schema: dict[str, Any], path: str) -> None:
        schema = _resolve(schema)
        if "properties" not in schema:
            return
        assert set(values) <= set(schema["properties"]), path
        for key, value in values.items():
            if isinstance(value, dict) and value:
                check(value, schema["properties"][key], f"{path}.{key}")

    check(defaults, SCHEMA, "")


def test_config_keys_are_the_collectors_less_the_chart_owned_ones() -> None:
    accepted = _leaves(SCHEMA["properties"]["config"])
    assert accepted | CHART_OWNED == set(_config._SCHEMA)
    assert accepted & CHART_OWNED == set()


def test_budget_and_price_keys_are_the_parsers_keys() -> None:
    budgets = SCHEMA["properties"]["budgets"]["properties"]
    assert set(budgets) == set(_policy._TOP_KEYS)
    assert set(budgets["defaults"]["properties"]) == set(_policy._DEFAULT_KEYS)
    budget = SCHEMA["definitions"]["budget"]["properties"]
    assert set(budget) == set(_policy._BUDGET_KEYS) | set(_policy._DEFAULT_KEYS)
    prices = SCHEMA["properties"]["prices"]["properties"]
    assert set(prices) == set(_overrides._TOP_KEYS)
    assert set(prices["models"]["additionalProperties"]["properties"]) == set(_overrides._MODEL_KEYS)


def test_app_version_is_the_project_version() -> None:
    """appVersion is the default image tag: it must name the collector release this chart ships."""
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text(encoding="utf-8"))
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    version = re.search(r'^version = "([^"]+)"$', pyproject, re.MULTILINE)
    assert version is not None
    assert chart["appVersion"] == version.group(1)


def test_the_readme_values_table_lists_every_key() -> None:
    def leaves(values: dict[str, Any], prefix: str = "") -> set[str]:
        found = set()
        for key, value in values.items():
            if isinstance(value, dict) and value:
                found |= leaves(value, f"{prefix}{key}.")
            else:
                found.add(f"{prefix}{key}")
        return found

    defaults = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    readme = (CHART / "README.md").read_text(encoding="utf-8").split("\n## Values\n", 1)[1]
    table = set(re.findall(r"^\| `([^`]+)` \| `", readme, re.MULTILINE))
    assert table == leaves(defaults)
