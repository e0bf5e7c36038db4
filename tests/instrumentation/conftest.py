"""Fixtures for instrumentation tests: in-memory exporters, the instrumentor, the simulator.

def test_x(otel, instrumented, sim):
    client = openai.OpenAI(base_url=sim.openai_base_url, api_key="test", max_retries=0)
    ...
    (span,) = otel.genai_spans()
    assert span.attributes["gen_ai.usage.cost.amount"] == ...
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from otel_llmcost.instrumentation import LLMCostInstrumentor
from otel_llmcost.pricing import Pricer
from otel_llmcost.simulator import Simulator
from tests.conftest import Otel

__all__ = ["Otel"]  # re-exported for type hints in instrumentation tests


@pytest.fixture
def instrumentor_kwargs() -> dict[str, Any]:
    """Override in a test module to pass extra instrument() arguments."""
    return {}


@pytest.fixture
def instrumented(
    otel: Otel, pricer: Pricer, instrumentor_kwargs: dict[str, Any]
) -> Iterator[LLMCostInstrumentor]:
    instrumentor = LLMCostInstrumentor()
    kwargs: dict[str, Any] = {
        "tracer_provider": otel.tracer_provider,
        "meter_provider": otel.meter_provider,
        "pricer": pricer,
        "guard": None,
    }
    kwargs.update(instrumentor_kwargs)
    instrumentor.instrument(**kwargs)
    try:
        yield instrumentor
    finally:
        instrumentor.uninstrument()


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator() as simulator:
        yield simulator
