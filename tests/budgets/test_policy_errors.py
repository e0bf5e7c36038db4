"""One invalid policy per rule: each error names the file, the key path and the reason, exactly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from otel_llmcost.budgets._policy import load_policy, parse_policy
from otel_llmcost.exceptions import ConfigError

KEYS = "service, environment, namespace, provider, model, team, project, feature, user, run, thread"
BUDGET_KEYS = (
    "name, window, limit_usd, limit_tokens, scope, per, split, downgrade, "
    "thresholds, action, on_store_error, lease_seconds"
)


def budget(**fields: Any) -> dict[str, Any]:
    """A valid budget with ``fields`` changed (a value of ``...`` removes the key)."""
    base: dict[str, Any] = {"name": "b", "window": "daily", "limit_usd": 1}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not ...}


def budgets(*items: Any, **top: Any) -> dict[str, Any]:
    return {"budgets": list(items), **top}


CASES: list[tuple[str, Any, str | None, str]] = [
    # -- top level
    ("root", [1, 2], None, "must be a mapping, got list"),
    (
        "top key",
        {"budget": []},
        "budget",
        "unknown key; expected one of: timezone, defaults, store, tiers, budgets",
    ),
    ("timezone", {"timezone": "Mars/Base"}, "timezone", "unknown IANA time zone 'Mars/Base'"),
    (
        "store",
        {"store": "mysql://x"},
        "store",
        "expected memory or a redis://host:port/db URL, got 'mysql://x'",
    ),
    ("budgets list", {"budgets": {"b": {}}}, "budgets", "must be a list of budgets"),
    # -- defaults
    (
        "defaults key",
        {"defaults": {"window": "daily"}},
        "defaults.window",
        "unknown key; expected one of: thresholds, action, on_store_error, lease_seconds",
    ),
    (
        "defaults action",
        {"defaults": {"action": "stop"}},
        "defaults.action",
        "expected one of alert, block, downgrade, got 'stop'",
    ),
    (
        "defaults threshold",
        {"defaults": {"thresholds": [1.5]}},
        "defaults.thresholds[0]",
        "must be a fraction in (0, 1], got 1.5",
    ),
    (
        "defaults lease",
        {"defaults": {"lease_seconds": 100_000}},
        "defaults.lease_seconds",
        "must be at most 86400 (one day)",
    ),
    (
        "inherited threshold",
        budgets(budget(), defaults={"thresholds": [{"usd": 5}]}),
        "defaults.thresholds[0].usd",
        "5 is above the budget's limit_usd 1 (inherited by budgets[0])",
    ),
    # -- budget basics
    ("budget mapping", budgets("b"), "budgets[0]", "must be a mapping, got str"),
    (
        "budget key",
        budgets(budget(limit=5)),
        "budgets[0].limit",
        f"unknown key; expected one of: {BUDGET_KEYS}",
    ),
    ("name missing", budgets(budget(name=...)), "budgets[0].name", "is required"),
    (
        "name chars",
        budgets(budget(name="a b")),
        "budgets[0].name",
        "must be 1-64 letters, digits, '_', '.' or '-', got 'a b'",
    ),
    (
        "name duplicate",
        budgets(budget(), budget(window="monthly")),
        "budgets[1].name",
        "duplicate budget name 'b'",
    ),
    ("window missing", budgets(budget(window=...)), "budgets[0].window", "is required"),
    (
        "window value",
        budgets(budget(window="3w")),
        "budgets[0].window",
        "expected total, monthly, weekly, daily, hourly, <N>d or <N>h (N ≥ 1, at most 366 days), got '3w'",
    ),
    ("no limit", budgets(budget(limit_usd=...)), "budgets[0]", "needs limit_usd and/or limit_tokens"),
    ("limit zero", budgets(budget(limit_usd=0)), "budgets[0].limit_usd", "must be a positive number, got 0"),
    (
        "limit text",
        budgets(budget(limit_usd="two hundred")),
        "budgets[0].limit_usd",
        "must be a positive number, got 'two hundred'",
    ),
    (
        "tokens fraction",
        budgets(budget(limit_tokens=1.5)),
        "budgets[0].limit_tokens",
        "must be a positive whole number, got 1.5",
    ),
    (
        "tokens negative",
        budgets(budget(limit_tokens=-5)),
        "budgets[0].limit_tokens",
        "must be a positive whole number, got -5",
    ),
    # -- thresholds
    (
        "thresholds list",
        budgets(budget(thresholds=0.8)),
        "budgets[0].thresholds",
        "must be a list of fractions or {usd|tokens|at: …, severity: …}",
    ),
    (
        "threshold zero",
        budgets(budget(thresholds=[0])),
        "budgets[0].thresholds[0]",
        "must be a fraction in (0, 1], got 0",
    ),
    (
        "threshold over 1",
        budgets(budget(thresholds=[{"at": 1.2}])),
        "budgets[0].thresholds[0].at",
        "must be a fraction in (0, 1], got 1.2",
    ),
    (
        "threshold kinds",
        budgets(budget(thresholds=[{"usd": 1, "at": 0.5}])),
        "budgets[0].thresholds[0]",
        "needs exactly one of usd, tokens or at",
    ),
    (
        "threshold key",
        budgets(budget(thresholds=[{"pct": 5}])),
        "budgets[0].thresholds[0].pct",
        "unknown key; expected one of: usd, tokens, at, severity",
    ),
    (
        "threshold above limit",
        budgets(budget(thresholds=[{"usd": 2}])),
        "budgets[0].thresholds[0].usd",
        "2 is above the budget's limit_usd 1",
    ),
    (
        "threshold severity",
        budgets(budget(thresholds=[{"at": 0.5, "severity": "page"}])),
        "budgets[0].thresholds[0].severity",
        "expected one of warning, critical, got 'page'",
    ),
    # -- enforcement settings
    (
        "action",
        budgets(budget(action="throttle")),
        "budgets[0].action",
        "expected one of alert, block, downgrade, got 'throttle'",
    ),
    (
        "on_store_error",
        budgets(budget(on_store_error="maybe")),
        "budgets[0].on_store_error",
        "expected one of open, closed, got 'maybe'",
    ),
    (
        "lease",
        budgets(budget(lease_seconds=0)),
        "budgets[0].lease_seconds",
        "must be a positive number, got 0",
    ),
    # -- scope and per
    (
        "scope key",
        budgets(budget(scope={"tenant": "x"})),
        "budgets[0].scope.tenant",
        f"unknown key; expected one of: {KEYS}",
    ),
    (
        "scope value",
        budgets(budget(scope={"team": True})),
        "budgets[0].scope.team",
        "must be a non-empty string, got True",
    ),
    ("per", budgets(budget(per="tenant")), "budgets[0].per", f"expected one of {KEYS}, got 'tenant'"),
    # -- split
    ("split by missing", budgets(budget(split={"shares": {"a": 0.5}})), "budgets[0].split.by", "is required"),
    (
        "split by",
        budgets(budget(split={"by": "org", "shares": {"a": 0.5}})),
        "budgets[0].split.by",
        f"expected one of {KEYS}, got 'org'",
    ),
    (
        "split by scope",
        budgets(budget(scope={"team": "x"}, split={"by": "team", "shares": {"a": 0.5}})),
        "budgets[0].split.by",
        "cannot split on 'team': the budget's scope or per already uses it",
    ),
    (
        "split sum",
        budgets(budget(split={"by": "team", "shares": {"a": 0.5, "b": 0.6}})),
        "budgets[0].split.shares",
        "shares sum to 1.1, more than 1",
    ),
    (
        "split share",
        budgets(budget(split={"by": "team", "shares": {"a": 0}})),
        "budgets[0].split.shares.a",
        "must be a fraction in (0, 1], got 0",
    ),
    (
        "split tiny share",
        budgets(budget(limit_usd=..., limit_tokens=10, split={"by": "team", "shares": {"a": 0.01}})),
        "budgets[0].split.shares.a",
        "share too small: the child budget's limit would be zero",
    ),
    (
        "split key",
        budgets(budget(split={"by": "team", "shares": {"a": 0.5}, "x": 1})),
        "budgets[0].split.x",
        "unknown key; expected one of: by, shares",
    ),
    # -- downgrade and tiers
    (
        "downgrade action",
        budgets(budget(action="block", downgrade={"gpt-4o": "gpt-4o-mini"})),
        "budgets[0].downgrade",
        "only valid with action: downgrade",
    ),
    (
        "downgrade map",
        budgets(budget(action="downgrade", downgrade=["gpt-4o-mini"])),
        "budgets[0].downgrade",
        "must be a non-empty mapping of model: cheaper model",
    ),
    (
        "tier name",
        {"tiers": {"ultra": ["x"]}},
        "tiers.ultra",
        "unknown key; expected one of: premium, balanced, cheap",
    ),
    ("tier list", {"tiers": {"premium": "gpt-4.1"}}, "tiers.premium", "must be a list of model names"),
    (
        "tier twice",
        {"tiers": {"balanced": ["gpt-4o"], "cheap": ["gpt-4o"]}},
        "tiers.cheap[0]",
        "model 'gpt-4o' is already in tier 'balanced'",
    ),
]


@pytest.mark.parametrize(("data", "key", "reason"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_invalid_policies_name_file_key_and_reason(data: Any, key: str | None, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_policy(data, source="policy.yaml")
    err = caught.value
    assert (err.file, err.key, err.reason) == ("policy.yaml", key, reason)
    assert str(err) == ": ".join(p for p in ("policy.yaml", key, reason) if p)


def test_an_unreadable_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as caught:
        load_policy(missing)
    assert (caught.value.file, caught.value.key) == (str(missing), None)
    assert caught.value.reason == "cannot read: No such file or directory"


def test_invalid_yaml_says_where(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("budgets:\n  - name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_policy(path)
    assert caught.value.file == str(path)
    assert caught.value.reason.startswith("invalid YAML at line 3, column 1:")


def test_errors_in_a_file_name_that_file(tmp_path: Path) -> None:
    path = tmp_path / "budgets.yaml"
    path.write_text("budgets:\n  - name: b\n    window: fortnightly\n    limit_usd: 1\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_policy(path)
    assert (caught.value.file, caught.value.key) == (str(path), "budgets[0].window")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"timezone: 2026-13-01\nbudgets: []\n", "invalid YAML value: month must be in 1..12"),
        (b"budgets: []\n\xff", "not UTF-8 text (byte 0xff at offset 12)"),
        (
            b"budgets:\n  - {name: a, window: monthly, limit_usd: 1e30}\n",
            "budgets[0].limit_usd: 1E+30 USD is more than the ledger can hold ($9,223,372,036.854775807 at most)",
        ),
    ],
)
def test_files_yaml_cannot_build_are_one_line(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "budgets.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        load_policy(path)
    assert str(caught.value) == f"{path}: {message}"
