"""SimConfig / UsageRule: validation, rule precedence, loading from YAML and JSON files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from otel_llmcost.simulator import SimConfig, UsageRule
from otel_llmcost.simulator._usage import plan_usage


def test_rule_validation_names_the_problem() -> None:
    with pytest.raises(ValueError, match="exceed prompt_tokens"):
        UsageRule(prompt_tokens=10, cached_tokens=8, cache_write_5m=3)
    with pytest.raises(ValueError, match="reasoning_tokens"):
        UsageRule(completion_tokens=5, reasoning_tokens=6)
    with pytest.raises(ValueError, match="prompt_tokens"):
        UsageRule(prompt_tokens=-1)
    with pytest.raises(ValueError, match="reply_tokens"):
        SimConfig(reply_tokens=-2)


def test_newest_matching_pattern_wins_and_can_be_replaced() -> None:
    config = SimConfig()
    config.set_rule("gpt-*", UsageRule(prompt_tokens=1))
    config.set_rule("gpt-4o*", UsageRule(prompt_tokens=2))
    assert config.rule_for("gpt-4o-mini").prompt_tokens == 2
    assert config.rule_for("gpt-5").prompt_tokens == 1
    config.set_rule("gpt-*", UsageRule(prompt_tokens=3))  # re-set: now the newest
    assert config.rule_for("gpt-4o").prompt_tokens == 3
    config.remove_rule("gpt-*")
    assert config.rule_for("gpt-4o").prompt_tokens == 2
    assert config.rule_for("claude-x") == UsageRule()


def test_plan_derives_and_raises_prompt_to_hold_cached_part() -> None:
    config = SimConfig(reply_tokens=7, rules={"m": UsageRule(cached_tokens=100, reasoning_tokens=3)})
    plan = plan_usage(config, "m", derived_prompt=12, max_tokens=None)
    assert (plan.prompt, plan.cached, plan.output, plan.reasoning, plan.visible) == (100, 100, 10, 3, 7)
    capped = plan_usage(config, "m", derived_prompt=500, max_tokens=2)
    assert (capped.prompt, capped.output, capped.reasoning, capped.visible, capped.capped) == (
        500,
        2,
        2,
        0,
        True,
    )


def test_from_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "sim.yaml"
    path.write_text(
        "reply_tokens: 5\nlatency_s: 0.1\nrules:\n"
        "  - model: 'gpt-4o*'\n    prompt_tokens: 1200\n    cached_tokens: 1024\n"
        "  - model: 'claude-*'\n    ignore_max_tokens: true\n"
    )
    config = SimConfig.from_file(path)
    assert (config.reply_tokens, config.latency_s) == (5, 0.1)
    assert config.rule_for("gpt-4o-mini") == UsageRule(prompt_tokens=1200, cached_tokens=1024)
    assert config.rule_for("claude-x").ignore_max_tokens is True


def test_from_json_file_and_empty_yaml(tmp_path: Path) -> None:
    path = tmp_path / "sim.json"
    path.write_text(json.dumps({"embedding_dims": 16, "rules": [{"model": "*", "completion_tokens": 3}]}))
    config = SimConfig.from_file(path)
    assert config.embedding_dims == 16 and config.rule_for("x").completion_tokens == 3
    empty = tmp_path / "empty.yml"
    empty.write_text("")
    assert SimConfig.from_file(empty).reply_tokens == 20


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour: red\n", "unknown key 'colour'"),
        ("rules:\n  - prompt_tokens: 3\n", r"rules\[0\]\.model is required"),
        ("rules:\n  - model: x\n    bogus: 1\n", r"rules\[0\]: unknown key 'bogus'"),
        ("rules:\n  - model: x\n    prompt_tokens: -4\n", r"rules\[0\]: UsageRule.prompt_tokens"),
        ("latency_s: soon\n", "latency_s"),
        ("- 1\n", "top level must be a mapping"),
        ("a: [1\n", "not valid YAML"),
    ],
)
def test_bad_files_name_file_key_and_reason(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as info:
        SimConfig.from_file(path)
    assert str(path) in str(info.value)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read"):
        SimConfig.from_file(tmp_path / "absent.json")
