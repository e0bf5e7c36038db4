"""The policy file: every docs/budgets.md example, matching order, keys, thresholds, tiers."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from otel_llmcost.budgets._policy import (
    DEFAULT_TIERS,
    SCOPE_IDLE_SECONDS,
    Policy,
    Threshold,
    load_policy,
    parse_policy,
)
from otel_llmcost.budgets._store import Charge, RollingSpec
from otel_llmcost.pricing import Pricer
from otel_llmcost.usage import Usage

DOCS = Path(__file__).resolve().parents[2] / "docs" / "budgets.md"
NOW = datetime(2026, 11, 22, 13, 15, tzinfo=timezone.utc)


def docs_example() -> str:
    match = re.search(r"```yaml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    assert match, "docs/budgets.md lost its policy example"
    return match.group(1)


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> Policy:
    path = tmp_path_factory.mktemp("policy") / "budgets.yaml"
    path.write_text(docs_example(), encoding="utf-8")
    return load_policy(path)


def test_the_docs_example_loads_with_its_settings(policy: Policy) -> None:
    assert str(policy.timezone) == "Europe/Berlin"
    assert policy.store == "memory"
    assert policy.tiers["premium"] == ("claude-opus-4-5", "gpt-4.1", "o3", "gemini-2.5-pro")
    assert policy.source.endswith("budgets.yaml")
    assert [b.name for b in policy.budgets] == [
        "monthly",
        "project-total",
        "org-tokens",
        "org-tokens/team=a",
        "org-tokens/team=b",
        "support-daily",
        "per-run",
        "per-thread",
    ]


def test_monthly_200_with_an_80_percent_alert(policy: Policy) -> None:
    monthly = policy.get("monthly")
    assert (monthly.window.kind, monthly.limit_usd, monthly.limit_tokens) == ("monthly", Decimal(200), None)
    assert monthly.thresholds == (Threshold("warning", fraction=Decimal("0.8")),)
    assert (monthly.action, monthly.on_store_error, monthly.lease_seconds) == ("alert", "open", 600.0)
    assert monthly.thresholds_reached(159_999_999_999, 0) == ()
    assert monthly.thresholds_reached(160_000_000_000, 0) == monthly.thresholds


def test_total_1000_with_a_critical_threshold_at_800(policy: Policy) -> None:
    total = policy.get("project-total")
    assert total.window.kind == "total"
    assert total.thresholds == (
        Threshold("critical", usd=Decimal(800)),
        Threshold("critical", fraction=Decimal("1.0")),
    )
    assert total.thresholds_reached(800_000_000_000, 0) == total.thresholds[:1]
    assert total.ttl_seconds(NOW) is None


def test_org_tokens_split_40_60_between_two_teams(policy: Policy) -> None:
    parent, team_a, team_b = (policy.get(n) for n in ("org-tokens", "org-tokens/team=a", "org-tokens/team=b"))
    assert (parent.limit_tokens, team_a.limit_tokens, team_b.limit_tokens) == (1_000_000, 400_000, 600_000)
    assert (team_a.parent, dict(team_a.scope), team_a.action) == ("org-tokens", {"team": "a"}, "block")
    assert [b.name for b in policy.matching({"team": "a"})] == [
        "monthly",
        "project-total",
        "org-tokens",
        "org-tokens/team=a",
    ]
    assert team_a.instance_key({"team": "a"}, NOW) == "org-tokens/team=a:2026-11"


def test_split_children_scale_absolute_thresholds_with_their_share() -> None:
    data = {
        "budgets": [
            {
                "name": "org",
                "window": "monthly",
                "limit_usd": 1000,
                "limit_tokens": 10_000,
                "thresholds": [{"usd": 800, "severity": "critical"}, {"tokens": 5000}, 0.5],
                "split": {"by": "team", "shares": {"a": 0.4}},
            }
        ]
    }
    child = parse_policy(data).get("org/team=a")
    assert (child.limit_usd, child.limit_tokens) == (Decimal("400.000000000"), 4000)
    assert child.thresholds == (
        Threshold("critical", usd=Decimal("320.000000000")),
        Threshold("warning", tokens=2000),
        Threshold("warning", fraction=Decimal("0.5")),
    )


def test_per_run_and_per_thread_token_limits(policy: Policy) -> None:
    run, thread = policy.get("per-run"), policy.get("per-thread")
    assert (run.per, run.limit_tokens, thread.per, thread.limit_tokens) == ("run", 50_000, "thread", 20_000)
    assert run.instance_key({"run": "r-1"}, NOW) == "per-run:run=r-1:total"
    assert run.instance_key({"thread": "t"}, NOW) is None  # no run: not counted
    assert run.ttl_seconds(NOW) == SCOPE_IDLE_SECONDS  # ended runs do not pile up
    charge = thread.charge({"thread": "t-9"}, NOW, 0, 1200)
    assert charge == Charge(
        "per-thread:thread=t-9:total", 0, 1200, None, 20_000, True, SCOPE_IDLE_SECONDS, None
    )


def test_per_user_rolling_24h_with_downgrade(policy: Policy) -> None:
    support = policy.get("support-daily")
    assert (support.window.spec, support.per, dict(support.scope)) == ("24h", "user", {"team": "support"})
    assert support.action == "downgrade" and support.enforces
    attrs = {"team": "support", "user": "ana"}
    assert support.instance_key(attrs, NOW) == "support-daily:user=ana:rolling-24h"
    charge = support.charge(attrs, NOW, 10, 1)
    assert charge is not None
    assert (charge.limit_usd_nanos, charge.rolling) == (5_000_000_000, RollingSpec(1440, 60))
    assert policy.downgrade_candidates(support, "gpt-4o") == ("gpt-4o-mini",)  # explicit map
    assert policy.downgrade_candidates(support, "gpt-4.1") == (  # the file's tier map
        "claude-sonnet-4-5",
        "gpt-4o",
        "gemini-2.5-flash",
        "claude-haiku-4-5",
        "gpt-4o-mini",
        "gemini-2.5-flash-lite",
    )
    assert policy.downgrade_candidates(support, "gpt-4o-mini") == ()  # already the cheapest
    assert policy.downgrade_candidates(support, "unknown-model") == ()
    assert support.matches({"team": "support"}) and not support.matches({"team": "sales", "user": "ana"})


def test_matching_is_in_hierarchy_order(policy: Policy) -> None:
    attrs = {"team": "support", "user": "ana", "run": "r", "thread": "t", "project": "p"}
    assert [b.name for b in policy.matching(attrs)] == [
        "monthly",
        "project-total",
        "org-tokens",
        "support-daily",
        "per-run",
        "per-thread",
    ]
    data: dict[str, Any] = {
        "budgets": [
            {"name": "thread", "per": "thread", "window": "total", "limit_tokens": 10},
            {"name": "user", "scope": {"user": "u"}, "window": "daily", "limit_usd": 1},
            {"name": "project", "scope": {"project": "p"}, "window": "daily", "limit_usd": 1},
            {"name": "team", "scope": {"team": "t"}, "window": "daily", "limit_usd": 1},
            {"name": "env", "scope": {"environment": "prod"}, "window": "daily", "limit_usd": 1},
            {"name": "org", "window": "daily", "limit_usd": 1},
        ]
    }
    attrs = {"thread": "x", "user": "u", "project": "p", "team": "t", "environment": "prod"}
    assert [b.name for b in parse_policy(data).matching(attrs)] == [
        "org",
        "env",
        "team",
        "project",
        "user",
        "thread",
    ]


def test_instance_keys_escape_and_bound_user_values() -> None:
    budget = parse_policy({"budgets": [{"name": "u", "per": "user", "window": "daily", "limit_usd": 1}]}).get(
        "u"
    )
    assert budget.instance_key({"user": "ana:*{x} ü"}, NOW) == "u:user=ana%3A%2A%7Bx%7D%20%C3%BC:2026-11-22"
    long_key = budget.instance_key({"user": "x" * 10_000}, NOW)
    assert long_key is not None and len(long_key) < 100 and long_key.startswith("u:user=#")
    assert budget.instance_key({"user": "x" * 10_000}, NOW) == long_key  # stable
    assert budget.instance_key({"user": "y" * 10_000}, NOW) != long_key
    assert budget.instance_key({"user": ""}, NOW) is None


def test_hourly_keys_use_the_policy_zone() -> None:
    data = {"timezone": "Asia/Kolkata", "budgets": [{"name": "h", "window": "hourly", "limit_tokens": 5}]}
    assert parse_policy(data).get("h").instance_key({}, NOW) == "h:2026-11-22T18"


def test_thresholds_in_tokens_and_both_limits() -> None:
    data = {
        "budgets": [
            {
                "name": "b",
                "window": "monthly",
                "limit_usd": 10,
                "limit_tokens": 1000,
                "thresholds": [0.5, {"tokens": 900, "severity": "critical"}, {"at": 1}],
            }
        ]
    }
    budget = parse_policy(data).get("b")
    assert budget.thresholds == (
        Threshold("warning", fraction=Decimal("0.5")),
        Threshold("critical", tokens=900),
        Threshold("critical", fraction=Decimal(1)),
    )
    assert budget.thresholds_reached(0, 500) == budget.thresholds[:1]  # a fraction counts on either limit
    assert budget.thresholds_reached(5_000_000_000, 0) == budget.thresholds[:1]
    assert budget.thresholds_reached(0, 1000) == budget.thresholds


def test_defaults_apply_unless_a_budget_says_otherwise() -> None:
    data = {
        "defaults": {"action": "block", "on_store_error": "closed", "lease_seconds": 30, "thresholds": [0.9]},
        "budgets": [
            {"name": "a", "window": "daily", "limit_usd": 1},
            {"name": "b", "window": "daily", "limit_usd": 1, "action": "alert", "lease_seconds": 5},
        ],
    }
    a, b = parse_policy(data).budgets
    assert (a.action, a.on_store_error, a.lease_seconds, a.thresholds) == (
        "block",
        "closed",
        30.0,
        (Threshold("warning", fraction=Decimal("0.9")),),
    )
    assert (b.action, b.lease_seconds) == ("alert", 5.0)


def test_an_empty_policy_is_valid() -> None:
    policy = parse_policy(None)
    assert policy.budgets == () and policy.store == "memory" and str(policy.timezone) == "UTC"
    assert policy.matching({"team": "a"}) == []


def test_without_tiers_the_default_tier_map_applies() -> None:
    policy = parse_policy(
        {"budgets": [{"name": "d", "window": "daily", "limit_usd": 1, "action": "downgrade"}]}
    )
    assert policy.tiers is DEFAULT_TIERS
    budget = policy.get("d")
    assert policy.tier_of("claude-opus-4-5") == "premium"
    assert policy.downgrade_candidates(budget, "claude-opus-4-5")[:3] == (
        "claude-sonnet-5",
        "claude-sonnet-4-6",
        "claude-sonnet-4-5",
    )
    assert policy.downgrade_candidates(budget, "gpt-4o")[:2] == ("claude-haiku-5-5", "claude-haiku-4-5")
    with pytest.raises(KeyError):
        policy.get("nope")


def test_every_default_tier_model_is_in_the_catalog() -> None:
    pricer = Pricer()
    for tier, models in DEFAULT_TIERS.items():
        for model in models:
            assert pricer.resolve(model) is not None, f"{tier} model {model} is not in the catalog"


def test_default_tiers_are_cheaper_as_they_go_down() -> None:
    pricer = Pricer()

    def rate(model: str) -> Decimal:
        cost = pricer.price(model, Usage(input=1000, output=1000))
        assert cost is not None
        return cost.total

    premium_min = min(rate(m) for m in DEFAULT_TIERS["premium"])
    cheap_max = max(rate(m) for m in DEFAULT_TIERS["cheap"])
    assert cheap_max < premium_min


def test_yaml_round_trip_of_the_docs_example_matches_parse_policy(policy: Policy) -> None:
    again = parse_policy(yaml.safe_load(docs_example()), source="inline")
    assert [b.name for b in again.budgets] == [b.name for b in policy.budgets]


def test_quoted_decimal_limits_are_exact() -> None:
    from decimal import Decimal

    from otel_llmcost.budgets import parse_policy

    policy = parse_policy({"budgets": [{"name": "b", "window": "daily", "limit_usd": "0.1"}]})
    assert policy.budgets[0].limit_usd == Decimal("0.1")
    assert policy.budgets[0].limit_usd_nanos == 100_000_000
