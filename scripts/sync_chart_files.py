#!/usr/bin/env python3
"""Copy the Prometheus rules and Grafana dashboards of dashboards/ into the Helm chart.

A chart can read only files inside its own directory, so helm/otel-llmcost/files/ keeps a copy of
the rule files in dashboards/prometheus/ (those with ``groups:``; promtool tests and other YAML are
left out) and of the dashboards in dashboards/grafana/ (JSON objects with ``panels``). The copy is
generated, never edited: tests/helm fail when it differs from dashboards/.

    python scripts/sync_chart_files.py          # write the copy (and remove files gone from dashboards/)
    python scripts/sync_chart_files.py --check  # exit 1, listing the differences, when it is stale
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
SOURCE = Path("dashboards")
TARGET = Path("helm") / "otel-llmcost" / "files"
RULES, GRAFANA = "prometheus", "grafana"


def _is_rule_file(text: str) -> bool:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return False
    return isinstance(data, dict) and isinstance(data.get("groups"), list) and "tests" not in data


def _is_dashboard(text: str) -> bool:
    try:
        data = json.loads(text)
    except ValueError:
        return False
    return isinstance(data, dict) and "panels" in data


def expected(repo: Path = REPO) -> dict[Path, bytes]:
    """The chart's copy as it should be: path relative to the chart's files/ -> content."""
    wanted: dict[Path, bytes] = {}
    rules = repo / SOURCE / RULES
    for path in sorted([*rules.glob("*.yaml"), *rules.glob("*.yml")]):
        data = path.read_bytes()
        if _is_rule_file(data.decode("utf-8")):
            # The chart globs *.yaml: a .yml source keeps its content under a .yaml name.
            wanted[Path(RULES) / f"{path.stem}.yaml"] = data
    for path in sorted((repo / SOURCE / GRAFANA).glob("*.json")):
        data = path.read_bytes()
        if _is_dashboard(data.decode("utf-8")):
            wanted[Path(GRAFANA) / path.name] = data
    return wanted


def present(repo: Path = REPO) -> dict[Path, bytes]:
    """The chart's copy as it is (files in files/prometheus/ and files/grafana/)."""
    target = repo / TARGET
    found: dict[Path, bytes] = {}
    for kind in (RULES, GRAFANA):
        for path in sorted((target / kind).glob("*")):
            if path.is_file():
                found[path.relative_to(target)] = path.read_bytes()
    return found


def differences(repo: Path = REPO) -> list[str]:
    """What differs between dashboards/ and the chart's copy, one line per file; empty when in sync."""
    want, have = expected(repo), present(repo)
    lines = []
    for name in sorted(set(want) | set(have)):
        shown = (TARGET / name).as_posix()
        if name not in have:
            lines.append(f"missing: {shown}")
        elif name not in want:
            lines.append(f"not in {SOURCE}/ any more: {shown}")
        elif want[name] != have[name]:
            lines.append(f"differs from {SOURCE}/: {shown}")
    return lines


def sync(repo: Path = REPO) -> list[str]:
    """Make the chart's copy equal to dashboards/; returns what was changed."""
    changed = differences(repo)
    want, target = expected(repo), repo / TARGET
    for name in present(repo):
        if name not in want:
            (target / name).unlink()
    for name, data in want.items():
        path = target / name
        if not path.is_file() or path.read_bytes() != data:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the chart's copy is stale")
    parser.add_argument("--repo", type=Path, default=REPO, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.check:
        stale = differences(args.repo)
        for line in stale:
            print(line)
        if stale:
            print("run: python scripts/sync_chart_files.py", file=sys.stderr)
        return 1 if stale else 0
    for line in sync(args.repo):
        print(f"synced ({line})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
