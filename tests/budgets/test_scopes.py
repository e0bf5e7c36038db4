"""Thread and run budgets: check, consume, usage, end_scope — and no state left behind."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from otel_llmcost.budgets import BudgetGuard, ThreadBudgets, end_scope, parse_policy
from otel_llmcost.budgets._memory import MemoryStore
from otel_llmcost.budgets._store import BudgetStore
from otel_llmcost.exceptions import BudgetExceededError


def test_new_thread_has_no_usage_and_passes_check(store: BudgetStore) -> None:
    budgets = ThreadBudgets(10_000, store=store)
    assert budgets.usage("t1") is None
    assert budgets.has_budget("t1") is False
    assert budgets.check("t1", estimated_tokens=5000).total_tokens == 0


def test_consume_accumulates(store: BudgetStore) -> None:
    budgets = ThreadBudgets(10_000, store=store)
    budgets.consume("t1", prompt_tokens=500, completion_tokens=200)
    usage = budgets.consume("t1", prompt_tokens=300, completion_tokens=100)
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (800, 300, 1100)
    assert (usage.remaining, usage.request_count, usage.is_exhausted) == (8900, 2, False)


def test_check_raises_when_exhausted_or_the_estimate_would_exceed(store: BudgetStore) -> None:
    budgets = ThreadBudgets(1000, store=store)
    budgets.consume("t1", prompt_tokens=600)
    assert budgets.check("t1", estimated_tokens=400).total_tokens == 600
    with pytest.raises(BudgetExceededError) as err:
        budgets.check("t1", estimated_tokens=401)
    assert (err.value.spent_tokens, err.value.limit_tokens, err.value.scope) == (600, 1000, {"thread": "t1"})
    budgets.consume("t1", prompt_tokens=400)
    with pytest.raises(BudgetExceededError):
        budgets.check("t1")


def test_remaining_never_negative(store: BudgetStore) -> None:
    usage = ThreadBudgets(100, store=store).consume("t1", prompt_tokens=200)
    assert (usage.remaining, usage.total_tokens, usage.is_exhausted) == (0, 200, True)


def test_end_scope_returns_final_usage_and_frees_it(store: BudgetStore) -> None:
    budgets = ThreadBudgets(10_000, store=store)
    budgets.consume("t1", prompt_tokens=500, completion_tokens=200)
    final = budgets.end_scope("t1")
    assert final is not None and final.total_tokens == 700
    assert budgets.has_budget("t1") is False
    assert budgets.end_scope("t1") is None


def test_ended_threads_leave_no_memory() -> None:
    store = MemoryStore()
    budgets = ThreadBudgets(1000, store=store)
    for i in range(1000):
        budgets.consume(f"thread-{i}", prompt_tokens=1)
        budgets.end_scope(f"thread-{i}")
    assert store.stats()["keys"] == 0


def test_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="positive"):
        ThreadBudgets(0)
    with pytest.raises(ValueError, match="negative"):
        ThreadBudgets(10).consume("t", prompt_tokens=-1)


def test_policy_per_thread_budget_end_scope() -> None:
    policy = parse_policy(
        {
            "budgets": [
                {
                    "name": "per-thread",
                    "per": "thread",
                    "window": "total",
                    "limit_tokens": 20_000,
                    "action": "block",
                },
                {
                    "name": "per-run",
                    "per": "run",
                    "window": "total",
                    "limit_tokens": 50_000,
                    "action": "block",
                },
            ]
        }
    )
    guard = BudgetGuard(policy, MemoryStore(), resource={})
    now = datetime.now(timezone.utc)
    thread_key = policy.get("per-thread").instance_key({"thread": "conv-1"}, now)
    assert thread_key is not None
    guard.store.add(thread_key, 0, 1234)
    final = end_scope(thread="conv-1", guard=guard)
    assert final["per-thread"].spent_tokens == 1234
    assert guard.store.state([thread_key])[0].spent_tokens == 0
    assert end_scope(guard=guard) == {}
