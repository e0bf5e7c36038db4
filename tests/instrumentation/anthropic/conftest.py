"""Fixtures of the anthropic instrumentation tests: clients on the simulator whose own SDK spans
(if any) land in the same exporter as ours."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import anthropic
import pytest

from otel_llmcost.simulator import Simulator
from tests.instrumentation.anthropic._support import CACHE_RULE, MODEL
from tests.instrumentation.conftest import Otel


@pytest.fixture
def cache_sim(sim: Simulator) -> Simulator:
    sim.set_rule(f"{MODEL}*", CACHE_RULE)
    return sim


@pytest.fixture
def client(cache_sim: Simulator, otel: Otel) -> Iterator[anthropic.Anthropic]:
    """A sync client whose own SDK spans (if any) land in the same exporter as ours."""
    with anthropic.Anthropic(
        base_url=cache_sim.anthropic_base_url,
        api_key="test-key",
        max_retries=0,
        open_telemetry={"tracer_provider": otel.tracer_provider},
    ) as c:
        yield c


@pytest.fixture
def make_async(cache_sim: Simulator, otel: Otel) -> Callable[[], anthropic.AsyncAnthropic]:
    """Build async clients inside the running loop (httpx2 binds them to it)."""

    def make() -> anthropic.AsyncAnthropic:
        return anthropic.AsyncAnthropic(
            base_url=cache_sim.anthropic_base_url,
            api_key="test-key",
            max_retries=0,
            open_telemetry={"tracer_provider": otel.tracer_provider},
        )

    return make
