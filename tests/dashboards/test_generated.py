"""The committed dashboards and rules are exactly what scripts/gen_dashboards.py makes, and the
dashboards keep the promises others build on: stable uids, the ``${datasource}`` variable, the
template variables, unique ids and a grid without overlaps."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.dashboards.support import (
    DASHBOARDS,
    MACROS,
    PROMTOOL,
    REPO,
    committed_dashboards,
    expand,
    gen,
    panels,
    queries,
    variables,
)

pytest.importorskip("grafana_foundation_sdk", reason="the dev dependency group builds the dashboards")

UIDS = {"llmcost-overview", "llmcost-budgets", "llmcost-efficiency", "llmcost-sidecar"}
COST_VARIABLES = ["datasource", "provider", "model", "team", "service"]


def test_regenerating_reproduces_every_committed_file(tmp_path: Path) -> None:
    gen.write(gen.generate(), tmp_path)
    made = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert made == [
        "grafana/llmcost-budgets.json",
        "grafana/llmcost-efficiency.json",
        "grafana/llmcost-overview.json",
        "grafana/llmcost-sidecar.json",
        "prometheus/alerts.yaml",
        "prometheus/recording-rules.yaml",
    ]
    for name in made:
        assert (tmp_path / name).read_text() == (DASHBOARDS / name).read_text(), f"{name} is stale"


def run_check(out: Path) -> subprocess.CompletedProcess[str]:
    script = REPO / "scripts" / "gen_dashboards.py"
    return subprocess.run(
        [sys.executable, str(script), "--check", "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_check_passes_on_the_committed_files() -> None:
    result = run_check(DASHBOARDS)
    assert (result.returncode, result.stderr) == (0, "")


def test_check_fails_naming_a_stale_missing_or_orphaned_file(tmp_path: Path) -> None:
    gen.write(gen.generate(), tmp_path)
    assert run_check(tmp_path).returncode == 0
    budgets = tmp_path / "grafana" / "llmcost-budgets.json"
    budgets.write_text(budgets.read_text().replace('"Budgets"', '"Budgetz"'))
    (tmp_path / "prometheus" / "alerts.yaml").unlink()
    (tmp_path / "grafana" / "old.json").write_text("{}")
    result = run_check(tmp_path)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last == (
        "gen_dashboards: stale: prometheus/alerts.yaml, grafana/llmcost-budgets.json, grafana/old.json;"
        " run python scripts/gen_dashboards.py"
    )
    assert '-      "title": "Budgetz",' in result.stderr and '+      "title": "Budgets",' in result.stderr


def test_fast_rules_are_refused_by_check() -> None:
    script = REPO / "scripts" / "gen_dashboards.py"
    result = subprocess.run(
        [sys.executable, str(script), "--check", "--fast"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "--fast rules are never committed" in result.stderr


def test_dashboards_have_stable_uids_and_the_datasource_variable() -> None:
    boards = committed_dashboards()
    assert set(boards) == UIDS
    for uid, board in boards.items():
        first = variables(board)[0]
        assert (first["name"], first["type"], first["query"]) == ("datasource", "datasource", "prometheus"), (
            uid
        )
        for panel in panels(board):
            if panel["type"] not in ("row", "text"):
                assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
                for target in panel["targets"]:
                    assert target["datasource"]["uid"] == "${datasource}"
        for variable in variables(board)[1:]:
            assert variable["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert (variable["multi"], variable["includeAll"], variable["allValue"]) == (True, True, ".*")


def test_cost_dashboards_filter_on_provider_model_team_and_service() -> None:
    boards = committed_dashboards()
    for uid in ("llmcost-overview", "llmcost-efficiency"):
        assert [v["name"] for v in variables(boards[uid])] == COST_VARIABLES
    assert [v["name"] for v in variables(boards["llmcost-budgets"])] == ["datasource", "budget"]
    assert [v["name"] for v in variables(boards["llmcost-sidecar"])] == ["datasource", "job", "instance"]
    filtered = '{provider=~"$provider", model=~"$model", team=~"$team", service=~"$service"}'
    for title, expr in queries(boards["llmcost-overview"]):
        selectors = re.findall(r"llmcost_cost_usd_total(\{[^}]*\})?", expr)
        # The forecast stat counts ALL cost series once: it tells whether the filters select them all.
        unfiltered = 1 if title == "Forecast, end of month" else 0
        assert selectors.count("") == unfiltered, title
        assert all(s == filtered for s in selectors if s), title
    assert (
        "count(llmcost_cost_usd_total)" in dict(queries(boards["llmcost-overview"]))["Forecast, end of month"]
    )


def test_the_collectors_ledger_wide_gauges_are_merged_with_max_never_summed() -> None:
    """Replicas sharing a ledger export the same figures: a sum would count it once per replica."""
    gauges = re.compile(r"llmcost_(anomaly_\w+|daily_cost_\w+|forecast_usd)\b")
    found = 0
    for board in committed_dashboards().values():
        for title, expr in queries(board):
            for match in gauges.finditer(expr):
                found += 1
                assert re.search(r"\bmax(?: by \(\w+\) )?\($", expr[: match.start()]), (title, expr)
    assert found == 5  # forecast stat, forecast interval, today, threshold, anomaly ratio


def test_budget_gauges_and_burn_rates_are_merged_with_max_per_budget_never_summed() -> None:
    """Every replica sharing a ledger exports the same budget gauges (and so records the same burn
    rates): panels take the max per budget, window and key, so a budget shows (and is counted) once."""
    budget = re.compile(r"\b(?:llmcost_budget_\w+|budget:llmcost_budget_burn_rate:\w+)")
    found = 0
    for board in committed_dashboards().values():
        for title, expr in queries(board):
            for match in budget.finditer(expr):
                found += 1
                assert re.search(r"\bmax by \(budget, window, key(?:, unit)?\) \($", expr[: match.start()]), (
                    title,
                    expr,
                )
    assert found == 20  # every budget panel query (the $budget variable is not a panel)


def test_panel_ids_are_unique_and_the_grid_has_no_overlaps() -> None:
    for uid, board in committed_dashboards().items():
        ids = [panel["id"] for panel in panels(board)]
        assert len(ids) == len(set(ids)), uid
        cells: set[tuple[int, int]] = set()
        for panel in panels(board):
            pos = panel["gridPos"]
            assert pos["x"] + pos["w"] <= 24, (uid, panel["title"])
            area = {
                (x, y)
                for x in range(pos["x"], pos["x"] + pos["w"])
                for y in range(pos["y"], pos["y"] + pos["h"])
            }
            assert not area & cells, (uid, panel["title"])
            cells |= area


def test_every_panel_query_is_valid_promql(tmp_path: Path) -> None:
    """promtool parses each query (macros and variables expanded) as a recording rule."""
    rules = []
    for board in committed_dashboards().values():
        values = {v["name"]: ".*" for v in variables(board)}
        for i, (_, expr) in enumerate(queries(board)):
            rules.append(
                {"record": f"panel:{board['uid'].replace('-', '_')}:{i}", "expr": expand(expr, values)}
            )
    assert len(rules) > 60
    path = tmp_path / "panels.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "panels", "rules": rules}]}))
    result = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_macros_expand_longest_first() -> None:
    assert expand("x[$__range] $__range_s $__rate_interval", {}) == "x[1h] 3600 1m"
    assert MACROS["$__rate_interval"] == "1m"


def test_regenerating_removes_a_dashboard_the_source_no_longer_makes(tmp_path: Path) -> None:
    files = gen.generate()
    (tmp_path / "grafana").mkdir()
    (tmp_path / "grafana" / "llmcost-retired.json").write_text("{}")
    (tmp_path / "README.md").write_text("kept")  # not a generated dashboard: left alone
    gen.write(files, tmp_path)
    assert not (tmp_path / "grafana" / "llmcost-retired.json").exists()
    assert (tmp_path / "README.md").read_text() == "kept"
    assert gen.stale(files, tmp_path) == []
