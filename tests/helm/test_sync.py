"""scripts/sync_chart_files.py: the chart's copy of dashboards/ is generated and never stale."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest

from tests.helm.support import REPO

if str(REPO / "scripts") not in sys.path:  # scripts/ is not a package
    sys.path.insert(0, str(REPO / "scripts"))
sync_chart_files = importlib.import_module("sync_chart_files")

RULES = "groups:\n  - name: g\n    rules:\n      - {record: r, expr: up}\n"
PROMTOOL_TEST = "rule_files: [alerts.yaml]\ntests:\n  - interval: 1m\n"
DASHBOARD = json.dumps({"uid": "d", "panels": []})


def test_the_committed_copy_matches_dashboards() -> None:
    assert sync_chart_files.differences() == [], "run: python scripts/sync_chart_files.py"


def _repo(tmp_path: Path) -> Path:
    source = tmp_path / "dashboards"
    (source / "prometheus").mkdir(parents=True)
    (source / "grafana").mkdir()
    (source / "prometheus" / "alerts.yaml").write_text(RULES, encoding="utf-8")
    (source / "prometheus" / "recording.yml").write_text(RULES.replace("g\n", "h\n"), encoding="utf-8")
    (source / "prometheus" / "alerts_test.yaml").write_text(PROMTOOL_TEST, encoding="utf-8")
    (source / "prometheus" / "alertmanager.yaml").write_text("route: {receiver: x}\n", encoding="utf-8")
    (source / "grafana" / "overview.json").write_text(DASHBOARD, encoding="utf-8")
    (source / "grafana" / "provider.json").write_text('{"apiVersion": 1}', encoding="utf-8")
    (tmp_path / "helm" / "otel-llmcost" / "files").mkdir(parents=True)
    return tmp_path


def test_sync_copies_rule_files_and_dashboards_only(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    files = repo / "helm" / "otel-llmcost" / "files"
    assert sync_chart_files.main(["--check", "--repo", str(repo)]) == 1
    assert sync_chart_files.sync(repo) == [
        "missing: helm/otel-llmcost/files/grafana/overview.json",
        "missing: helm/otel-llmcost/files/prometheus/alerts.yaml",
        "missing: helm/otel-llmcost/files/prometheus/recording.yaml",
    ]
    assert sorted(p.relative_to(files).as_posix() for p in files.rglob("*") if p.is_file()) == [
        "grafana/overview.json",
        "prometheus/alerts.yaml",
        "prometheus/recording.yaml",  # .yml renamed: the chart globs *.yaml
    ]
    assert (files / "prometheus" / "recording.yaml").read_text(encoding="utf-8") == RULES.replace(
        "g\n", "h\n"
    )
    assert sync_chart_files.main(["--check", "--repo", str(repo)]) == 0


def test_check_names_stale_and_orphaned_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = _repo(tmp_path)
    sync_chart_files.sync(repo)
    (repo / "dashboards" / "prometheus" / "alerts.yaml").write_text(RULES + "# changed\n", encoding="utf-8")
    (repo / "dashboards" / "grafana" / "overview.json").unlink()
    assert sync_chart_files.main(["--check", "--repo", str(repo)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "not in dashboards/ any more: helm/otel-llmcost/files/grafana/overview.json",
        "differs from dashboards/: helm/otel-llmcost/files/prometheus/alerts.yaml",
    ]
    assert sync_chart_files.main(["--repo", str(repo)]) == 0
    assert not (repo / "helm" / "otel-llmcost" / "files" / "grafana" / "overview.json").exists()
    assert sync_chart_files.differences(repo) == []
