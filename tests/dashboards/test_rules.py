"""The Prometheus rules: promtool accepts them, every alert has the kube-mixin annotations and a
runbook section, and a promtool unit test checks each alert one evaluation before its ``for``
ends (no alert) and at it (firing)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.dashboards.support import PROMTOOL, RULE_TESTS, RULES, RUNBOOK, alerts_source, gen, names_source

pytestmark = pytest.mark.services  # the promtool binary (scripts/services.sh installs it)

ALERTS = [
    "LLMBudgetThresholdReached",
    "LLMBudgetExhausted",
    "LLMBudgetForecastOverrun",
    "LLMSpendBurnRateHigh",
    "LLMTokenUsageAnomaly",
    "LLMDailyCostHigh",
    "LLMUnpricedModelCalls",
    "LLMCostCollectorDown",
    "LLMCostCollectorRejectingSpans",
    "LLMCostLedgerWriteErrors",
    "LLMCostCollectorQueueSaturated",
]
RUNBOOK_BASE = "https://github.com/otel-llmcost/otel-llmcost/blob/main/dashboards/runbook.md#"


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load((RULES / "alerts.yaml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, check=False)


def test_promtool_accepts_the_rule_files() -> None:
    result = promtool("check", "rules", str(RULES / "recording-rules.yaml"), str(RULES / "alerts.yaml"))
    assert result.returncode == 0, result.stdout + result.stderr
    # 13 spend and window rules, a burn rate per lookback (4) and unit (usd, tokens)
    assert "SUCCESS: 21 rules found" in result.stdout and "SUCCESS: 14 rules found" in result.stdout


@pytest.mark.parametrize("test_file", sorted(p.name for p in RULE_TESTS.glob("*.yaml")))
def test_promtool_unit_tests_pass(test_file: str) -> None:
    result = promtool("test", "rules", str(RULE_TESTS / test_file))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_there_with_for_severity_summary_description_and_runbook() -> None:
    rules = alert_rules()
    assert list(dict.fromkeys(rule["alert"] for rule in rules)) == ALERTS == alerts_source.alert_names()
    for rule in rules:
        name = rule["alert"]
        assert re.fullmatch(r"\d+[smh]", rule["for"]), name
        assert rule["labels"]["severity"] in ("warning", "critical"), name
        assert rule["labels"]["category"] in ("budget", "spend", "collector"), name
        notes = rule["annotations"]
        assert set(notes) == {"summary", "description", "runbook_url"}, name
        assert "{{" not in notes["summary"] and notes["summary"].endswith("."), name  # fixed text
        assert "$labels." in notes["description"], name
        assert notes["runbook_url"] == RUNBOOK_BASE + name.lower()
    severities = {rule["labels"]["severity"] for rule in rules if rule["alert"] == "LLMSpendBurnRateHigh"}
    assert severities == {"critical", "warning"}  # fast burn pages, slow burn warns


#: A budget gauge the collector exports (the same from every replica sharing a ledger).
BUDGET_GAUGE = re.compile(r"(?<![\w:])llmcost_budget_\w+")
MERGED = "max without (instance, pod, container, endpoint) ("


def test_budget_rules_merge_the_replicas_of_a_collector_with_max() -> None:
    """Replicas sharing a ledger export the same budget gauges: each is merged over the target
    labels (as the ledger-wide analytics rules are) before a budget alert or burn rate uses it, so
    a budget alerts once per job, not once per replica (the unit tests in budget-replicas.yaml)."""
    # the labels the ledger-wide analytics rules merge over (per_ledger), the same for budgets
    assert names_source.TARGET_LABELS == ("instance", "pod", "container", "endpoint")
    found = 0
    for name in ("recording-rules.yaml", "alerts.yaml"):
        for group in yaml.safe_load((RULES / name).read_text())["groups"]:
            for rule in group["rules"]:
                expr = rule["expr"]
                for match in BUDGET_GAUGE.finditer(expr):
                    found += 1
                    before = expr[: match.start()]
                    # the gauge itself, or increase() of it, is the argument of the merge
                    assert before.endswith((MERGED, MERGED + "increase(")), (rule.get("alert"), expr)
                if rule.get("labels", {}).get("category") == "budget":
                    assert "$labels.instance" not in rule["annotations"]["description"], rule["alert"]
                    assert "$labels.job" in rule["annotations"]["description"], rule["alert"]
    # 8 burn rates x (spent, limit); utilization in 3 alerts, 4 forecast and limit gauges in one
    assert found == 16 + 3 + 4


def github_anchor(heading: str) -> str:
    """GitHub's anchor for a markdown heading: lower case, punctuation dropped, spaces to dashes."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_the_runbook_has_one_section_per_alert_with_meaning_impact_diagnosis_and_fix() -> None:
    text = RUNBOOK.read_text()
    sections = re.split(r"^## ", text, flags=re.MULTILINE)[1:]
    assert [github_anchor(s.splitlines()[0]) for s in sections] == [a.lower() for a in ALERTS]
    for section in sections:
        for part in ("**Meaning.**", "**Impact.**", "**Diagnosis.**", "**Fix.**"):
            assert part in section, (section.splitlines()[0], part)
    for rule in alert_rules():
        assert rule["annotations"]["runbook_url"].split("#")[1] in {
            github_anchor(s.splitlines()[0]) for s in sections
        }


def description_pattern(template: str) -> re.Pattern[str]:
    """A regex matching what ``template`` renders to: each ``{{ … }}`` action, and each block from
    ``{{ with|if|range … }}`` to its ``{{ end }}`` (not nested in ours), may become anything."""
    literals = re.split(r"\{\{-? *(?:with|if|range)\b.*?\{\{-? *end *-?\}\}|\{\{.*?\}\}", template)
    return re.compile(".*?".join(re.escape(literal) for literal in literals), re.DOTALL)


def rules_described(alertname: str, description: str) -> set[int]:
    """Indexes (in alerts.yaml) of the ``alertname`` rules whose description renders as ``description``:
    rules sharing a name (the branches of one alert) are told apart by their descriptions."""
    return {
        i
        for i, rule in enumerate(alert_rules())
        if rule["alert"] == alertname
        and description_pattern(rule["annotations"]["description"]).fullmatch(description)
    }


def just_before_and_at(test: dict[str, Any], interval: str) -> set[int]:
    """Indexes of the rules that ``test`` checks with no alert one ``interval`` before an eval
    time at which the rule's alert fires."""
    step = parse_duration(interval)
    cases = test.get("alert_rule_test", [])
    quiet = {(c["alertname"], parse_duration(c["eval_time"])) for c in cases if not c["exp_alerts"]}
    covered: set[int] = set()
    for case in cases:
        name, at = case["alertname"], parse_duration(case["eval_time"])
        for alert in case["exp_alerts"]:
            found = rules_described(name, alert["exp_annotations"]["description"])
            assert len(found) == 1, (name, alert["exp_annotations"]["description"], found)
            if (name, at - step) in quiet:
                covered |= found
    return covered


def parse_duration(text: str) -> int:
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    parts = re.findall(r"(\d+)([dhms])", text)
    assert "".join(n + u for n, u in parts) == text, text
    return sum(int(n) * units[u] for n, u in parts)


def test_each_alert_rule_is_unit_tested_just_before_and_at_its_for() -> None:
    """Every rule, including each branch of an alert with several (told apart by description)."""
    covered: set[int] = set()
    for path in sorted(RULE_TESTS.glob("*.yaml")):
        spec = yaml.safe_load(path.read_text())
        assert spec["rule_files"] == ["../recording-rules.yaml", "../alerts.yaml"], path.name
        for test in spec["tests"]:
            covered |= just_before_and_at(test, spec["evaluation_interval"])
    missing = [rule["alert"] for i, rule in enumerate(alert_rules()) if i not in covered]
    assert missing == []


def test_fast_rules_for_the_end_to_end_test(tmp_path: Path) -> None:
    files = gen.rule_files(fast=True)
    for name, content in files.items():
        groups = yaml.safe_load(content)["groups"]
        assert {group["interval"] for group in groups} == {"1s"}, name
        assert {rule["for"] for group in groups for rule in group["rules"] if "alert" in rule} <= {"1s"}
        path = tmp_path / Path(name).name
        path.write_text(content)
        assert promtool("check", "rules", str(path)).returncode == 0
    real = yaml.safe_load(gen.rule_files()["prometheus/alerts.yaml"])["groups"]
    fast = yaml.safe_load(files["prometheus/alerts.yaml"])["groups"]
    assert [[r["expr"] for r in g["rules"]] for g in real] == [[r["expr"] for r in g["rules"]] for g in fast]
