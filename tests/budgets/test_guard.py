"""The in-process guard through real SDK calls: block before I/O, downgrade, alert, settle."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal

import openai
import pytest

from otel_llmcost import attribute
from otel_llmcost.budgets import BudgetGuard, parse_policy
from otel_llmcost.budgets._memory import MemoryStore
from otel_llmcost.exceptions import BudgetExceededError
from otel_llmcost.instrumentation import LLMCostInstrumentor
from otel_llmcost.pricing import Pricer
from otel_llmcost.simulator import Simulator, UsageRule
from tests.conftest import Otel

HI = [{"role": "user", "content": "hi"}]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def make_guard(policy: dict[str, object], pricer: Pricer) -> BudgetGuard:
    return BudgetGuard(parse_policy(policy), MemoryStore(), pricer=pricer, resource={"service": "chat-api"})


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator() as simulator:
        # Exact, known usage: prompt 100, completion 20 (no cache) for every model.
        simulator.set_rule("*", UsageRule(prompt_tokens=100, completion_tokens=20))
        yield simulator


def instrument(otel: Otel, pricer: Pricer, guard: BudgetGuard) -> LLMCostInstrumentor:
    instrumentor = LLMCostInstrumentor()
    instrumentor.instrument(
        tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider, pricer=pricer, guard=guard
    )
    return instrumentor


def client(sim: Simulator) -> openai.OpenAI:
    return openai.OpenAI(base_url=sim.openai_base_url, api_key="test", max_retries=0)


def test_block_happens_before_any_request(otel: Otel, pricer: Pricer, sim: Simulator) -> None:
    guard = make_guard(
        {"budgets": [{"name": "tiny", "window": "total", "limit_tokens": 150, "action": "block"}]}, pricer
    )
    instrumentor = instrument(otel, pricer, guard)
    try:
        llm = client(sim)
        # worst case 100-ish prompt + 40 max tokens fits; actual 100 + 20 = 120 settles
        llm.chat.completions.create(model="gpt-4o-mini", messages=HI, max_tokens=40)
        with pytest.raises(BudgetExceededError) as err:
            llm.chat.completions.create(model="gpt-4o-mini", messages=HI, max_tokens=40)
    finally:
        instrumentor.uninstrument()
    assert len(sim.requests) == 1  # the blocked call never reached the provider
    assert err.value.budget == "tiny"
    assert err.value.limit_tokens == 150
    assert err.value.spent_tokens == 120
    assert err.value.resets_at is None
    blocked = otel.genai_spans()[-1]
    assert blocked.attributes["error.type"] == "BudgetExceededError"
    (state,) = guard.store.state(["tiny:total"])
    assert (state.spent_tokens, state.reserved_tokens) == (120, 0)


def test_settles_to_actual_cost(otel: Otel, pricer: Pricer, sim: Simulator) -> None:
    guard = make_guard({"budgets": [{"name": "m", "window": "monthly", "limit_usd": 1}]}, pricer)
    instrumentor = instrument(otel, pricer, guard)
    try:
        client(sim).chat.completions.create(model="gpt-4o-mini", messages=HI, max_tokens=500)
    finally:
        instrumentor.uninstrument()
    (span,) = otel.genai_spans()
    states = guard.store.state([b.instance_key({}, _now()) or "" for b in guard.policy.budgets])
    # 100 × 0.15 + 20 × 0.60 per 1M = 27 µ$ = 27,000 nano-dollars; nothing left reserved
    assert (states[0].spent_usd_nanos, states[0].reserved_usd_nanos) == (27_000, 0)
    assert span.attributes["gen_ai.usage.cost.amount"] == 0.000027


def test_downgrade_really_calls_the_cheaper_model(otel: Otel, pricer: Pricer, sim: Simulator) -> None:
    policy = {
        "budgets": [
            {
                "name": "support",
                "scope": {"team": "support"},
                "window": "daily",
                "limit_usd": 0.001,
                "action": "downgrade",
                "downgrade": {"gpt-4o": "gpt-4o-mini"},
            }
        ]
    }
    guard = make_guard(policy, pricer)
    instrumentor = instrument(otel, pricer, guard)
    try:
        with attribute(team="support"):
            # gpt-4o worst case: ~100 × 2.5 + 500 × 10 per 1M ≈ $0.00525 > $0.001; gpt-4o-mini fits
            client(sim).chat.completions.create(model="gpt-4o", messages=HI, max_tokens=500)
    finally:
        instrumentor.uninstrument()
    assert sim.requests[0].json()["model"] == "gpt-4o-mini"
    (span,) = otel.genai_spans()
    assert span.attributes["gen_ai.request.model"] == "gpt-4o-mini"
    assert span.attributes["llmcost.budget.downgraded_from"] == "gpt-4o"
    assert span.name == "chat gpt-4o-mini"


def test_downgrade_with_nothing_cheap_enough_blocks(otel: Otel, pricer: Pricer, sim: Simulator) -> None:
    policy = {
        "budgets": [
            {
                "name": "d",
                "window": "daily",
                "limit_usd": 0.0000001,
                "action": "downgrade",
                "downgrade": {"gpt-4o": "gpt-4o-mini"},
            }
        ]
    }
    instrumentor = instrument(otel, pricer, make_guard(policy, pricer))
    try:
        with pytest.raises(BudgetExceededError):
            client(sim).chat.completions.create(model="gpt-4o", messages=HI, max_tokens=500)
    finally:
        instrumentor.uninstrument()
    assert sim.requests == []


def test_alert_proceeds_and_marks_the_span(otel: Otel, pricer: Pricer, sim: Simulator) -> None:
    policy = {"budgets": [{"name": "m", "window": "monthly", "limit_tokens": 200, "thresholds": [0.5, 0.8]}]}
    guard = make_guard(policy, pricer)
    instrumentor = instrument(otel, pricer, guard)
    try:
        for _ in range(3):
            client(sim).chat.completions.create(model="gpt-4o-mini", messages=HI)
    finally:
        instrumentor.uninstrument()
    alerts = [s.attributes.get("llmcost.budget.alert") for s in otel.genai_spans()]
    # 120 tokens (60%) → warning at 0.5; 240 (120%) → 0.5 and 0.8; alert budgets never block
    assert alerts == [("m:warning",), ("m:warning",), ("m:warning",)]
    assert len(sim.requests) == 3


def test_error_releases_the_reservation(otel: Otel, pricer: Pricer, sim: Simulator) -> None:
    guard = make_guard(
        {"budgets": [{"name": "t", "window": "total", "limit_tokens": 1000, "action": "block"}]}, pricer
    )
    instrumentor = instrument(otel, pricer, guard)
    sim.inject_error(status=500, times=1)
    try:
        with pytest.raises(openai.InternalServerError):
            client(sim).chat.completions.create(model="gpt-4o-mini", messages=HI, max_tokens=40)
    finally:
        instrumentor.uninstrument()
    (state,) = guard.store.state(["t:total"])
    assert (state.spent_tokens, state.reserved_tokens) == (0, 0)


def test_hierarchy_every_matching_budget_applies(otel: Otel, pricer: Pricer, sim: Simulator) -> None:
    policy = {
        "budgets": [
            {"name": "org", "window": "monthly", "limit_tokens": 10_000, "action": "block"},
            {
                "name": "team-a",
                "scope": {"team": "a"},
                "window": "monthly",
                "limit_tokens": 140,
                "action": "block",
            },
            {"name": "per-user", "per": "user", "window": "daily", "limit_tokens": 10_000, "action": "block"},
        ]
    }
    guard = make_guard(policy, pricer)
    instrumentor = instrument(otel, pricer, guard)
    try:
        with attribute(team="a", user="u1"):
            client(sim).chat.completions.create(model="gpt-4o-mini", messages=HI, max_tokens=20)
            with pytest.raises(BudgetExceededError) as err:
                client(sim).chat.completions.create(model="gpt-4o-mini", messages=HI, max_tokens=20)
        with attribute(team="b", user="u1"):
            client(sim).chat.completions.create(model="gpt-4o-mini", messages=HI, max_tokens=20)
    finally:
        instrumentor.uninstrument()
    assert err.value.budget == "team-a"
    assert err.value.scope == {"team": "a"}
    assert len(sim.requests) == 2


def test_decision_api_suggests_tiers(pricer: Pricer) -> None:
    from otel_llmcost.budgets import check

    guard = make_guard(
        {"budgets": [{"name": "m", "window": "monthly", "limit_usd": 10, "action": "block"}]}, pricer
    )
    key = guard.policy.budgets[0].instance_key({}, _now())
    assert key is not None
    decision = check(guard=guard)
    assert (decision.allowed, decision.suggested_tier, decision.remaining_usd) == (
        True,
        "premium",
        Decimal(10),
    )
    guard.store.add(key, 6_000_000_000, 0)  # $6 spent: 40% left
    assert check(guard=guard).suggested_tier == "balanced"
    guard.store.add(key, 3_000_000_000, 0)  # $9 spent: 10% left
    decision = check(guard=guard)
    assert (decision.suggested_tier, decision.remaining_usd, decision.budget) == ("cheap", Decimal(1), "m")
    assert decision.resets_at is not None
    assert check(guard=guard, estimated_usd="2").allowed is False
    guard.store.add(key, 1_000_000_000, 0)
    assert check(guard=guard).allowed is False


def test_no_budgets_means_allowed_premium() -> None:
    from otel_llmcost.budgets import check, set_guard

    set_guard(None)
    decision = check(team="x")
    assert (decision.allowed, decision.suggested_tier, decision.budgets) == (True, "premium", ())
