"""Budgets that hold: windows, scopes, alert / block / downgrade, shared across replicas.

Set ``OTEL_LLMCOST_BUDGETS=budgets.yaml`` (format: ``docs/budgets.md``) and the instrumentation
enforces it on every LLM call: it reserves each call's worst-case cost before the SDK sends it,
blocks (``BudgetExceededError``) or downgrades when a budget says so, and settles to the actual
cost after. ``store: redis://…`` shares budgets across processes and replicas.

Apps can also ask before calling::

    decision = otel_llmcost.budgets.check(team="search")
    model = {"premium": "gpt-4.1", "balanced": "gpt-4o", "cheap": "gpt-4o-mini"}[decision.suggested_tier]
"""

from __future__ import annotations

import threading
from decimal import Decimal

from otel_llmcost.budgets._decision import BudgetStatus, Decision, decide
from otel_llmcost.budgets._guard import BudgetGuard
from otel_llmcost.budgets._policy import Budget, Policy, load_policy, parse_policy
from otel_llmcost.budgets._scopes import ThreadBudgets, ThreadUsage
from otel_llmcost.budgets._store import BudgetState, BudgetStore, StoreUnavailableError, open_store
from otel_llmcost.environment_variables import OTEL_LLMCOST_BUDGET_STORE, OTEL_LLMCOST_BUDGETS, env_str

__all__ = [
    "Budget",
    "BudgetGuard",
    "BudgetState",
    "BudgetStatus",
    "BudgetStore",
    "Decision",
    "Policy",
    "StoreUnavailableError",
    "ThreadBudgets",
    "ThreadUsage",
    "check",
    "end_scope",
    "get_guard",
    "guard_from_env",
    "load_policy",
    "open_store",
    "parse_policy",
    "set_guard",
]

_guard: BudgetGuard | None = None
_lock = threading.Lock()


def guard_from_env() -> BudgetGuard | None:
    """The guard ``OTEL_LLMCOST_BUDGETS`` describes (store from the policy, or
    ``OTEL_LLMCOST_BUDGET_STORE``), made the process-wide guard; ``None`` when unset.

    Raises :class:`~otel_llmcost.exceptions.ConfigError` for a bad policy file."""
    path = env_str(OTEL_LLMCOST_BUDGETS)
    if path is None:
        return None
    policy = load_policy(path)
    guard = BudgetGuard(policy, open_store(env_str(OTEL_LLMCOST_BUDGET_STORE) or policy.store))
    set_guard(guard)
    return guard


def get_guard() -> BudgetGuard | None:
    """The process-wide guard (the one the instrumentation enforces), if any."""
    return _guard


def set_guard(guard: BudgetGuard | None) -> None:
    global _guard
    with _lock:
        _guard = guard


def check(
    *,
    provider: str | None = None,
    model: str | None = None,
    estimated_tokens: int = 0,
    estimated_usd: Decimal | int | str = 0,
    guard: BudgetGuard | None = None,
    **attribution: str,
) -> Decision:
    """Whether a call with this attribution (current baggage plus ``attribution``) may go ahead,
    what is left, when it resets and which model tier to use. Reserves nothing.

    With no budgets configured every call is allowed with the ``premium`` tier."""
    active = guard or _guard
    if active is None:
        return Decision(True, None, None, None, "premium", None, ())
    return decide(
        active,
        provider=provider,
        model=model,
        estimated_tokens=estimated_tokens,
        estimated_usd=Decimal(str(estimated_usd)),
        attribution=attribution,
    )


def end_scope(
    *, thread: str | None = None, run: str | None = None, guard: BudgetGuard | None = None
) -> dict[str, BudgetState]:
    """A thread or run has ended: the final state of its ``per: thread`` / ``per: run`` budget
    keys, which are then freed."""
    active = guard or _guard
    if active is None or (thread is None and run is None):
        return {}
    return active.end_scope(thread=thread, run=run)
