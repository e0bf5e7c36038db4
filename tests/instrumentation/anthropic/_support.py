"""Shared values and assertions of the anthropic instrumentation tests: the hand-computed cache
scenario and span helpers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan

from otel_llmcost.exceptions import BudgetExceededError
from otel_llmcost.instrumentation._call import LLMCall
from otel_llmcost.instrumentation._telemetry import Guard
from otel_llmcost.simulator import UsageRule
from tests.instrumentation.conftest import Otel

MODEL = "claude-sonnet-4-5"
MESSAGES = [{"role": "user", "content": "Say hello."}]
KWARGS: dict[str, Any] = {"model": MODEL, "max_tokens": 100, "messages": MESSAGES}

# The cache scenario: 2000 prompt tokens of which 1024 cache reads, 500 5-minute and 300 1-hour
# cache writes; Anthropic reports input_tokens = 2000 - 1024 - 500 - 300 = 176.
CACHE_RULE = UsageRule(
    prompt_tokens=2000, cached_tokens=1024, cache_write_5m=500, cache_write_1h=300, completion_tokens=50
)
# claude-sonnet-4-5 list prices per 1M tokens: input $3, cache read $0.30, 5m write $3.75
# (1.25x), 1h write $6 (2x), output $15.
COST_INPUT = Decimal(176) * 3 / 1_000_000  # 0.000528
COST_CACHE_READ = Decimal(1024) * Decimal("0.3") / 1_000_000  # 0.0003072
COST_CACHE_WRITE = (Decimal(500) * Decimal("3.75") + Decimal(300) * 6) / 1_000_000  # 0.003675
COST_OUTPUT = Decimal(50) * 15 / 1_000_000  # 0.00075
COST_TOTAL = Decimal("0.0052602")
DEPRECATED_MODEL = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")
assert COST_TOTAL == COST_INPUT + COST_CACHE_READ + COST_CACHE_WRITE + COST_OUTPUT


def only_span(otel: Otel) -> ReadableSpan:
    """The one GenAI span of the test (fails if the SDK's span is there too)."""
    spans = otel.genai_spans()
    assert [s.instrumentation_scope.name for s in spans if s.instrumentation_scope] == [
        "otel_llmcost.instrumentation"
    ], [(s.name, dict(s.attributes or {})) for s in spans]
    return spans[0]


def assert_cache_scenario(span: ReadableSpan, *, streaming: bool = False) -> None:
    """The exact attributes of one call in the cache scenario."""
    a = dict(span.attributes or {})
    assert span.name == f"chat {MODEL}"
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.provider.name"] == "anthropic"
    assert a["gen_ai.request.model"] == MODEL
    assert a["gen_ai.response.model"] == MODEL
    assert a["gen_ai.request.max_tokens"] == 100
    assert isinstance(a["gen_ai.response.id"], str) and a["gen_ai.response.id"].startswith("msg_sim")
    assert a["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert a["gen_ai.usage.input_tokens"] == 2000  # inclusive of cache reads and writes
    assert type(a["gen_ai.usage.input_tokens"]) is int
    assert a["gen_ai.usage.output_tokens"] == 50
    assert a["gen_ai.usage.cache_read.input_tokens"] == 1024
    assert a["gen_ai.usage.cache_write.input_tokens"] == 800
    assert a["llmcost.usage.cache_write_1h.input_tokens"] == 300
    assert a["gen_ai.usage.cost.amount"] == float(COST_TOTAL)
    assert type(a["gen_ai.usage.cost.amount"]) is float
    assert a["gen_ai.usage.cost.currency"] == "USD"
    assert a["gen_ai.usage.cost.source"] == "local"
    assert a["llmcost.cost.input"] == float(COST_INPUT)
    assert a["llmcost.cost.cache_read"] == float(COST_CACHE_READ)
    assert a["llmcost.cost.cache_write"] == float(COST_CACHE_WRITE)
    assert a["llmcost.cost.output"] == float(COST_OUTPUT)
    assert a["llmcost.pricing.model"] == "anthropic/claude-sonnet-4-5"
    assert a["anthropic.response.service_tier"] == "standard"
    assert "llmcost.usage.estimated" not in a
    assert "llmcost.response.truncated" not in a
    assert "error.type" not in a
    assert a.get("llmcost.request.streaming", False) is streaming
    assert "gen_ai.input.messages" not in a and "gen_ai.output.messages" not in a


class Downgrade(Guard):
    """A budget guard that downgrades every call to ``to``, or blocks it (``block``)."""

    def __init__(self, to: str | None = None, block: bool = False) -> None:
        self.to, self.block = to, block
        self.settled: list[LLMCall] = []

    def before(self, call: LLMCall) -> None:
        if self.block:
            raise BudgetExceededError("team", scope={"team": "a"}, spent_usd=Decimal(5), limit_usd=Decimal(5))
        call.model_override = self.to

    def after(self, call: LLMCall) -> None:
        self.settled.append(call)
