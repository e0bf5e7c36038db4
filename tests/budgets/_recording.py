"""A memory store that remembers every charge the guard asks it to reserve, and an instrumentor
wired to a guard on it: tests read the exact worst case the guard computed for each call."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from otel_llmcost.budgets import BudgetGuard, parse_policy
from otel_llmcost.budgets._memory import MemoryStore
from otel_llmcost.budgets._store import Charge, ReserveResult
from otel_llmcost.instrumentation import LLMCostInstrumentor
from otel_llmcost.pricing import Pricer
from tests.conftest import Otel

#: A budget no call reaches: every call is reserved (and recorded), none refused.
UNLIMITED = {"budgets": [{"name": "all", "window": "total", "limit_tokens": 10**12, "action": "block"}]}


class RecordingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.reserved: list[Charge] = []

    def reserve(
        self, charges: Sequence[Charge], *, lease_seconds: float, now: float | None = None
    ) -> ReserveResult:
        self.reserved.extend(charges)
        return super().reserve(charges, lease_seconds=lease_seconds, now=now)

    @property
    def last(self) -> Charge:
        return self.reserved[-1]


def recording_guard(pricer: Pricer, policy: dict[str, Any] | None = None) -> BudgetGuard:
    return BudgetGuard(parse_policy(policy or UNLIMITED), RecordingStore(), pricer=pricer, resource={})


def store_of(guard: BudgetGuard) -> RecordingStore:
    assert isinstance(guard.store, RecordingStore)
    return guard.store


@contextmanager
def guarded(otel: Otel, pricer: Pricer, guard: BudgetGuard) -> Iterator[BudgetGuard]:
    instrumentor = LLMCostInstrumentor()
    instrumentor.instrument(
        tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider, pricer=pricer, guard=guard
    )
    try:
        yield guard
    finally:
        instrumentor.uninstrument()
