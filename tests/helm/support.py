"""Render the chart offline with helm-python-sdk (Helm's own Go library), validate what it renders.

Golden renders live in tests/helm/golden/; regenerate them after an intended change with

    OTEL_LLMCOST_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/helm -p no:cacheprovider

and review the diff.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import yaml

from tests.helm.crds import CRD_KINDS, validate_crd

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "otel-llmcost"
EXAMPLES = REPO / "helm" / "examples"
HERE = Path(__file__).resolve().parent
VALUES = HERE / "values"
GOLDEN = HERE / "golden"
FIXTURE_FILES = HERE / "fixtures" / "files"
RELEASE, NAMESPACE = "demo", "llm"
#: The newest Kubernetes kubernetes-validate knows: "a current Kubernetes version".
KUBE_VERSION = kubernetes_validate.utils.latest_version()
UPDATE_GOLDEN = os.environ.get("OTEL_LLMCOST_UPDATE_GOLDEN", "") not in ("", "0", "false")
NOTES_SUFFIX = "/templates/NOTES.txt"


def load_values(name: str) -> dict[str, Any]:
    """A values file of tests/helm/values/, parsed the way Helm parses ``-f``."""
    return helm.values_from_yaml((VALUES / f"{name}.yaml").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Rendered:
    """One render: template path -> text, and the manifests in template order."""

    templates: Mapping[str, str]

    @property
    def notes(self) -> str:
        return next((text for path, text in self.templates.items() if path.endswith(NOTES_SUFFIX)), "")

    def sources(self) -> list[tuple[str, dict[str, Any]]]:
        """(template path, manifest) for every non-empty YAML document, sorted by template path."""
        found = []
        for path in sorted(self.templates):
            if path.endswith(NOTES_SUFFIX):
                continue
            for doc in yaml.safe_load_all(self.templates[path]):
                if doc:
                    found.append((path, doc))
        return found

    @property
    def manifests(self) -> list[dict[str, Any]]:
        return [doc for _, doc in self.sources()]

    def one(self, kind: str, name: str | None = None) -> dict[str, Any]:
        matches = [m for m in self.manifests if m["kind"] == kind and name in (None, m["metadata"]["name"])]
        assert len(matches) == 1, f"{len(matches)} {kind} named {name!r}: {[m['metadata'] for m in matches]}"
        return matches[0]

    def kinds(self) -> list[str]:
        return sorted(f"{m['kind']}/{m['metadata']['name']}" for m in self.manifests)

    def golden_text(self) -> str:
        """The manifests as `helm template` prints them: a `# Source:` line, then the document."""
        parts = []
        for path in sorted(self.templates):
            if path.endswith(NOTES_SUFFIX):
                continue
            for doc in self.templates[path].split("\n---\n"):
                body = doc.strip("\n")
                if body.startswith("---"):
                    body = body[3:].strip("\n")
                if body.strip():
                    parts.append(f"---\n# Source: {path}\n{body}\n")
        return "".join(parts)


def render(
    values: Mapping[str, Any] | None = None, *, chart: Path = CHART, release: str = RELEASE
) -> Rendered:
    with helm.Chart.load(chart) as loaded:
        return Rendered(loaded.render(dict(values or {}), name=release, namespace=NAMESPACE))


def render_error(values: Mapping[str, Any], *, chart: Path = CHART) -> str:
    """The message of the ``fail`` that stops the render (without Helm's "execution error at" prefix)."""
    try:
        render(values, chart=chart)
    except helm.HelmRenderError as failed:
        return str(failed).split("): ", 1)[1]
    raise AssertionError(f"rendered: {dict(values)}")


class StrictLoader(yaml.SafeLoader):
    """A YAML loader that refuses a mapping with a key written twice, as Flux and kustomize do."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_strict(text: str) -> list[Any]:
    """Every document of ``text``, refusing duplicate mapping keys."""
    return list(yaml.load_all(text, Loader=StrictLoader))


def chart_copy(destination: Path, *, files: Path | None = FIXTURE_FILES) -> Path:
    """A copy of helm/ (the chart and the examples) under ``destination``; with ``files``, the
    chart's files/ (the synced rules and dashboards) replaced by those, so renders do not change
    whenever dashboards/ does."""
    shutil.copytree(
        REPO / "helm", destination / "helm", ignore=shutil.ignore_patterns("charts", "Chart.lock")
    )
    chart = destination / "helm" / "otel-llmcost"
    if files is not None:
        shutil.rmtree(chart / "files")
        shutil.copytree(files, chart / "files")
    return chart


def validate_manifest(manifest: dict[str, Any]) -> str:
    """Validate against the Kubernetes OpenAPI schemas (strict: unknown fields fail), or, for the
    operator CRDs, against tests/helm/crds.py. Returns what it was validated against."""
    kind = manifest["kind"]
    if (manifest["apiVersion"], kind) in CRD_KINDS:
        validate_crd(manifest)
        return f"{kind} (tests/helm/crds.py)"
    version = kubernetes_validate.validate(manifest, KUBE_VERSION, strict=True)
    return f"{kind} (Kubernetes {version})"


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / f"{name}.yaml"
    if UPDATE_GOLDEN:
        path.write_text(text, encoding="utf-8")
        return
    assert path.is_file(), f"no golden render {path}; create it with OTEL_LLMCOST_UPDATE_GOLDEN=1"
    expected = path.read_text(encoding="utf-8")
    assert text == expected, (
        f"the render differs from {path.relative_to(REPO)}; if the change is intended, regenerate with "
        "OTEL_LLMCOST_UPDATE_GOLDEN=1 and review the diff"
    )


def container(pod_spec: Mapping[str, Any], name: str = "otel-llmcost") -> dict[str, Any]:
    """The named container of a pod spec, among its init containers and containers."""
    found: list[dict[str, Any]] = [
        c for c in (*pod_spec.get("initContainers", []), *pod_spec["containers"]) if c["name"] == name
    ]
    assert len(found) == 1, found
    return found[0]


def env_of(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A container's env as name -> value (a string) or valueFrom (a mapping)."""
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in spec.get("env", [])}
