"""otel-llmcost: exact LLM cost on OpenTelemetry spans.

The core import pulls in only OpenTelemetry and wrapt; the catalog loads on first use and the
provider SDKs are hooked lazily, when the application imports them.
"""

from __future__ import annotations

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
    "estimate_cost",
    "get_pricer",
]
