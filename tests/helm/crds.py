"""JSON Schemas for the operator CRDs the chart can render, which kubernetes-validate does not know.

Written from the CRDs' published openAPIV3Schema (prometheus-operator monitoring.coreos.com/v1
ServiceMonitor, PodMonitor, PrometheusRule; opentelemetry-operator opentelemetry.io/v1alpha1
Instrumentation), restricted to the fields this chart writes: apiVersion, kind and the required
fields are checked, field types and enums match the CRDs, and every object the chart fills rejects
fields the CRD does not define (so a typo in a template fails here rather than in the cluster).
"""

from __future__ import annotations

from typing import Any

import jsonschema

_S: dict[str, Any] = {"type": "string"}
_B: dict[str, Any] = {"type": "boolean"}
_I: dict[str, Any] = {"type": "integer"}
_STRING_MAP: dict[str, Any] = {"type": "object", "additionalProperties": {"type": "string"}}
# monitoring.coreos.com Duration.
_DURATION: dict[str, Any] = {
    "type": "string",
    "pattern": r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$",
}
_DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_RELABEL_ACTIONS = [
    "replace", "Replace", "keep", "Keep", "drop", "Drop", "hashmod", "HashMod", "labelmap", "LabelMap",
    "labeldrop", "LabelDrop", "labelkeep", "LabelKeep", "lowercase", "Lowercase", "uppercase",
    "Uppercase", "keepequal", "KeepEqual", "dropequal", "DropEqual",
]  # fmt: skip


def _object(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


_METADATA = {
    "type": "object",
    "required": ["name", "namespace"],
    "properties": {
        "name": {"type": "string", "maxLength": 253, "pattern": _DNS_SUBDOMAIN},
        "namespace": {"type": "string", "maxLength": 63},
        "labels": _STRING_MAP,
        "annotations": _STRING_MAP,
    },
}
_LABEL_SELECTOR = _object(
    {
        "matchLabels": _STRING_MAP,
        "matchExpressions": {
            "type": "array",
            "items": _object(
                {"key": _S, "operator": _S, "values": {"type": "array", "items": _S}}, ("key", "operator")
            ),
        },
    }
)
_NAMESPACE_SELECTOR = _object({"any": _B, "matchNames": {"type": "array", "items": _S}})
_RELABELING = _object(
    {
        "action": {"enum": _RELABEL_ACTIONS},
        "modulus": _I,
        "regex": _S,
        "replacement": _S,
        "separator": _S,
        "sourceLabels": {"type": "array", "items": {"type": "string", "pattern": "^[a-zA-Z_][a-zA-Z0-9_]*$"}},
        "targetLabel": _S,
    }
)
_ENDPOINT = {
    "port": _S,
    "path": _S,
    "scheme": {"enum": ["http", "https"]},
    "interval": _DURATION,
    "scrapeTimeout": _DURATION,
    "honorLabels": _B,
    "relabelings": {"type": "array", "items": _RELABELING},
    "metricRelabelings": {"type": "array", "items": _RELABELING},
}


def _resource(api_version: str, kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": api_version},
            "kind": {"const": kind},
            "metadata": _METADATA,
            "spec": spec,
        },
    }


_MONITORING = "monitoring.coreos.com/v1"
_RULE = _object(
    {
        "alert": _S,
        "record": _S,
        "expr": {"type": ["string", "integer"]},
        "for": _DURATION,
        "keep_firing_for": _DURATION,
        "labels": _STRING_MAP,
        "annotations": _STRING_MAP,
    },
    ("expr",),
)
_ENV_VAR = _object(
    {"name": {"type": "string", "minLength": 1}, "value": _S, "valueFrom": {"type": "object"}}, ("name",)
)

SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {
    (_MONITORING, "ServiceMonitor"): _resource(
        _MONITORING,
        "ServiceMonitor",
        _object(
            {
                "selector": _LABEL_SELECTOR,
                "namespaceSelector": _NAMESPACE_SELECTOR,
                "jobLabel": _S,
                "endpoints": {"type": "array", "items": _object(_ENDPOINT)},
            },
            ("selector",),
        ),
    ),
    (_MONITORING, "PodMonitor"): _resource(
        _MONITORING,
        "PodMonitor",
        _object(
            {
                "selector": _LABEL_SELECTOR,
                "namespaceSelector": _NAMESPACE_SELECTOR,
                "jobLabel": _S,
                "podMetricsEndpoints": {"type": "array", "items": _object(_ENDPOINT)},
            },
            ("selector",),
        ),
    ),
    (_MONITORING, "PrometheusRule"): _resource(
        _MONITORING,
        "PrometheusRule",
        _object(
            {
                "groups": {
                    "type": "array",
                    "items": _object(
                        {
                            "name": {"type": "string", "minLength": 1},
                            "interval": _DURATION,
                            "query_offset": _DURATION,
                            "limit": _I,
                            "labels": _STRING_MAP,
                            "partial_response_strategy": {"type": "string", "pattern": "(?i)^(abort|warn)?$"},
                            "rules": {"type": "array", "items": _RULE},
                        },
                        ("name",),
                    ),
                }
            }
        ),
    ),
    ("opentelemetry.io/v1alpha1", "Instrumentation"): _resource(
        "opentelemetry.io/v1alpha1",
        "Instrumentation",
        _object(
            {
                "exporter": _object({"endpoint": _S}),
                "propagators": {
                    "type": "array",
                    "items": {
                        "enum": [
                            "tracecontext",
                            "baggage",
                            "b3",
                            "b3multi",
                            "jaeger",
                            "xray",
                            "ottrace",
                            "none",
                        ]
                    },
                },
                "sampler": _object(
                    {
                        "type": {
                            "enum": [
                                *("always_on", "always_off", "traceidratio", "parentbased_always_on"),
                                *(
                                    "parentbased_always_off",
                                    "parentbased_traceidratio",
                                    "jaeger_remote",
                                    "xray",
                                ),
                            ]
                        },
                        "argument": _S,
                    }
                ),
                "env": {"type": "array", "items": _ENV_VAR},
                "python": _object(
                    {
                        "image": _S,
                        "env": {"type": "array", "items": _ENV_VAR},
                        "resourceRequirements": {"type": "object"},
                    }
                ),
            }
        ),
    ),
}
CRD_KINDS = frozenset(SCHEMAS)


def validate_crd(manifest: dict[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` when ``manifest`` breaks its CRD's schema."""
    jsonschema.Draft202012Validator(SCHEMAS[manifest["apiVersion"], manifest["kind"]]).validate(manifest)
