"""What the dashboards tests share: the generator (imported from scripts/), the committed files,
every panel query of a dashboard, and Grafana's macros replaced the way Grafana would."""

from __future__ import annotations

import importlib
import json
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DASHBOARDS = REPO / "dashboards"
GRAFANA = DASHBOARDS / "grafana"
RULES = DASHBOARDS / "prometheus"
RULE_TESTS = RULES / "tests"
ALERTMANAGER_CONFIG = DASHBOARDS / "alertmanager" / "alertmanager.yml"
RUNBOOK = DASHBOARDS / "runbook.md"
PROMTOOL = "/usr/bin/promtool"
AMTOOL = "/usr/bin/amtool"

# scripts/ is not a package: the generator imports its _dash_* modules as top-level modules.
if str(REPO / "scripts") not in sys.path:
    sys.path.insert(0, str(REPO / "scripts"))
gen = importlib.import_module("gen_dashboards")
alerts_source = importlib.import_module("_dash_alerts")
names_source = importlib.import_module("_dash_names")

#: Grafana's range macros, as a dashboard showing the last hour at a 1 s scrape interval would
#: expand them (``$__rate_interval`` is at least four scrape intervals).
MACROS = {
    "$__rate_interval": "1m",
    "$__interval": "15s",
    "$__range_s": "3600",
    "$__range": "1h",
}


def committed_dashboards() -> dict[str, dict[str, Any]]:
    """uid -> the committed dashboard JSON."""
    boards = {}
    for path in sorted(GRAFANA.glob("*.json")):
        board = json.loads(path.read_text())
        boards[board["uid"]] = board
    return boards


def panels(board: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, rows included, in order."""
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])


def queries(board: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """``(panel title, PromQL)`` of every target of every panel."""
    for panel in panels(board):
        for target in panel.get("targets", []):
            yield panel["title"], target["expr"]


def variables(board: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list(board["templating"]["list"])


def expand(expr: str, values: Mapping[str, str]) -> str:
    """``expr`` with the macros and ``$name`` variables replaced (longest names first, so
    ``$__range_s`` is not read as ``$__range`` + ``_s``)."""
    for name in sorted({**MACROS, **{f"${k}": v for k, v in values.items()}}, key=len, reverse=True):
        expr = expr.replace(name, MACROS.get(name) or values[name[1:]])
    leftover = re.search(r"\$\w+", expr)
    assert leftover is None, f"unexpanded {leftover.group()} in {expr}"
    return expr


def label_values_query(query: str) -> tuple[str, str]:
    """``label_values(metric{...}, label)`` -> (series selector, label)."""
    match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", query.strip())
    assert match is not None, query
    return match[1], match[2]


def regex_of(values: list[str]) -> str:
    """A multi-value selection as Grafana puts it in a ``=~`` matcher: ``a|b``, regex-escaped."""
    return "|".join(re.sub(r"([\\.+*?()\[\]{}|^$])", r"\\\\\1", value) for value in values)
