"""otel-llmcost: exact LLM cost on OpenTelemetry spans.

The core import pulls in only OpenTelemetry and wrapt; the catalog loads on first use and the
provider SDKs are hooked lazily, when the application imports them.
"""

from __future__ import annotations

from typing import Any

from otel_llmcost._attribution import attribute, current_attribution
from otel_llmcost.exceptions import (
    BudgetExceededError,
    ConfigError,
    InvalidUsageError,
    LLMCostError,
    UnknownModelError,
)
from otel_llmcost.pricing import Cost, Pricer, estimate_cost, get_pricer
from otel_llmcost.usage import Usage

__version__ = "0.1.0"


def instrument(**kwargs: Any) -> None:
    """Instrument every supported provider SDK (when the app imports it) and carry the
    OpenTelemetry context into new threads. Keyword arguments go to
    :meth:`LLMCostInstrumentor.instrument`."""
    from otel_llmcost.instrumentation import LLMCostInstrumentor

    LLMCostInstrumentor().instrument(**kwargs)


def uninstrument() -> None:
    """Restore every original SDK method."""
    from otel_llmcost.instrumentation import LLMCostInstrumentor

    LLMCostInstrumentor().uninstrument()


__all__ = [
    "BudgetExceededError",
    "ConfigError",
    "Cost",
    "InvalidUsageError",
    "LLMCostError",
    "Pricer",
    "UnknownModelError",
    "Usage",
    "__version__",
    "attribute",
    "current_attribution",
    "estimate_cost",
    "get_pricer",
    "instrument",
    "uninstrument",
]
