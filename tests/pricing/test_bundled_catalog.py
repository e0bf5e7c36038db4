"""The bundled catalog: user-named models resolve, and each provider convention prices exactly.

Expected figures are computed by hand from the providers' list prices (USD per 1M tokens).
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from otel_llmcost import estimate_cost
from otel_llmcost.pricing import Pricer
from otel_llmcost.usage import Usage, from_anthropic, from_gemini, from_openai

D = Decimal


@pytest.fixture(scope="module")
def pricer() -> Pricer:
    return Pricer()


# ≥ 40 aliases → expected catalog entries, including the near-miss pairs.
RESOLUTION = [
    ("gpt-4o", None, "openai/gpt-4o"),
    ("GPT-4o", "openai", "openai/gpt-4o"),
    ("openai/gpt-4o", None, "openai/gpt-4o"),
    ("gpt-4o-2024-08-06", None, "openai/gpt-4o-2024-08-06"),
    ("gpt-4o-2024-05-13", None, "openai/gpt-4o-2024-05-13"),
    ("gpt-4o-mini", None, "openai/gpt-4o-mini"),
    ("gpt-4o-mini-2024-07-18", None, "openai/gpt-4o-mini-2024-07-18"),
    ("gpt-4.1", None, "openai/gpt-4.1"),
    ("gpt-4.1-mini", None, "openai/gpt-4.1-mini"),
    ("gpt-4", None, "openai/gpt-4"),
    ("gpt-4-0613", None, "openai/gpt-4-0613"),
    ("gpt-5.1", None, "openai/gpt-5.1"),
    ("o3", None, "openai/o3"),
    ("o3-mini", None, "openai/o3-mini"),
    ("o4-mini", None, "openai/o4-mini"),
    ("text-embedding-3-small", None, "openai/text-embedding-3-small"),
    ("text-embedding-3-large", "openai", "openai/text-embedding-3-large"),
    ("claude-opus-4.5", None, "anthropic/claude-opus-4-5"),
    ("claude-opus-4-5-20251101", "anthropic", "anthropic/claude-opus-4-5-20251101"),
    ("claude-sonnet-4.5", None, "anthropic/claude-sonnet-4-5"),
    ("claude-sonnet-4-5-20250929", "anthropic", "anthropic/claude-sonnet-4-5-20250929"),
    ("anthropic/claude-sonnet-4-5", None, "anthropic/claude-sonnet-4-5"),
    ("claude-haiku-4.5", None, "anthropic/claude-haiku-4-5"),
    ("claude-haiku-4-5-20251001", "anthropic", "anthropic/claude-haiku-4-5-20251001"),
    ("claude-opus-4", None, "anthropic/claude-opus-4-20250514"),
    ("claude-opus-4-20250514", None, "anthropic/claude-opus-4-20250514"),
    ("claude-opus-4-1", None, "anthropic/claude-opus-4-1-20250805"),
    ("claude-sonnet-4", None, "anthropic/claude-sonnet-4-20250514"),
    ("claude-sonnet-4-0", None, "anthropic/claude-sonnet-4-20250514"),
    ("claude-3-haiku-20240307", None, "anthropic/claude-3-haiku-20240307"),
    ("claude-3-sonnet", None, "anthropic/claude-3-sonnet-20240229"),
    ("claude-3-opus-latest", None, "anthropic/claude-3-opus-20240229"),
    ("claude-3-5-sonnet-latest", None, "anthropic/claude-3-5-sonnet-20241022"),
    (
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "aws.bedrock",
        "aws.bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0",
    ),
    (
        "anthropic.claude-sonnet-4-5-20250929-v1:0",
        None,
        "aws.bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0",
    ),
    ("gemini-3-pro", None, "gcp.gemini/gemini-3-pro-preview"),
    ("gemini-3-pro-preview", "gcp.gemini", "gcp.gemini/gemini-3-pro-preview"),
    ("gemini-2.5-pro", None, "gcp.gemini/gemini-2.5-pro"),
    ("models/gemini-2.5-pro", "gcp.gemini", "gcp.gemini/gemini-2.5-pro"),
    ("gemini/gemini-2.5-pro", None, "gcp.gemini/gemini-2.5-pro"),
    ("gemini-2.5-pro", "gcp.vertex_ai", "gcp.vertex_ai/gemini-2.5-pro"),
    ("gemini-2.5-flash", None, "gcp.gemini/gemini-2.5-flash"),
    ("gemini-2.5-flash-lite", None, "gcp.gemini/gemini-2.5-flash-lite"),
    ("gemini-embedding-001", "gcp.gemini", "gcp.gemini/gemini-embedding-001"),
    ("grok-4.1", None, "x_ai/grok-4.1"),
    ("grok-4-1", "x_ai", "x_ai/grok-4.1"),
    ("grok-4", "x_ai", "x_ai/grok-4"),
    ("llama-3.1-70b-versatile", "groq", "groq/llama-3.1-70b-versatile"),
    ("llama-3.1-8b-instant", None, "groq/llama-3.1-8b-instant"),
    ("deepseek-chat", None, "deepseek/deepseek-chat"),
    ("deepseek-reasoner", "deepseek", "deepseek/deepseek-reasoner"),
    ("mistral-large-latest", None, "mistral_ai/mistral-large-latest"),
    ("gpt-4o", "azure.ai.openai", "azure.ai.openai/gpt-4o"),
]


@pytest.mark.parametrize(("model", "provider", "expected"), RESOLUTION)
def test_resolution_table(pricer: Pricer, model: str, provider: str | None, expected: str) -> None:
    entry = pricer.resolve(model, provider)
    assert entry is not None, f"{model} did not resolve"
    assert entry.key == expected


def test_table_is_large_enough() -> None:
    assert len(RESOLUTION) >= 40


@pytest.mark.parametrize(
    ("near_miss", "must_not_be"),
    [
        ("gpt-4o-mini-2024-07-18", "openai/gpt-4o"),
        ("gpt-4o-mini", "openai/gpt-4o"),
        ("gpt-4.1-mini", "openai/gpt-4.1"),
        ("o3-mini", "openai/o3"),
        ("claude-3-5-haiku-20241022", "anthropic/claude-3-haiku-20240307"),
        ("gemini-2.5-flash-lite", "gcp.gemini/gemini-2.5-flash"),
    ],
)
def test_near_misses_never_collapse(pricer: Pricer, near_miss: str, must_not_be: str) -> None:
    entry = pricer.resolve(near_miss)
    assert entry is not None
    assert entry.key != must_not_be


@pytest.mark.parametrize(
    "unknown", ["gpt-4o-turbo-ultra", "claude-7", "my-private-model", "gemini-9-pro", "llama-99"]
)
def test_unknown_is_unpriced_not_zero(pricer: Pricer, unknown: str) -> None:
    assert pricer.resolve(unknown) is None
    assert pricer.price(unknown, Usage(input=100, output=100)) is None
    assert estimate_cost(unknown, 100, 100) is None


def test_openai_cached_inclusive_prompt(pricer: Pricer) -> None:
    usage = from_openai(
        {"prompt_tokens": 1200, "completion_tokens": 50, "prompt_tokens_details": {"cached_tokens": 1024}}
    )
    cost = pricer.price("gpt-4o", usage, provider="openai")
    assert cost is not None
    # 176 × 2.50 + 1024 × 1.25 + 50 × 10.00 = 440 + 1280 + 500 = 2220 per 1M
    assert cost.total == D("0.00222")
    assert cost.total_nanos == 2_220_000


def test_anthropic_exclusive_input_with_5m_and_1h_writes(pricer: Pricer) -> None:
    usage = from_anthropic(
        {
            "input_tokens": 176,
            "cache_read_input_tokens": 1024,
            "cache_creation_input_tokens": 800,
            "cache_creation": {"ephemeral_5m_input_tokens": 500, "ephemeral_1h_input_tokens": 300},
            "output_tokens": 50,
        }
    )
    cost = pricer.price("claude-sonnet-4-5-20250929", usage, provider="anthropic")
    assert cost is not None
    # 176×3 + 1024×0.30 + 500×3.75 + 300×6.00 + 50×15 = 528 + 307.2 + 1875 + 1800 + 750 = 5260.2
    assert cost.total == D("0.0052602")
    assert cost.cache_write == D("0.003675")


def test_gemini_thoughts_billed_as_output(pricer: Pricer) -> None:
    usage = from_gemini(
        {
            "promptTokenCount": 1200,
            "cachedContentTokenCount": 1024,
            "candidatesTokenCount": 20,
            "thoughtsTokenCount": 30,
        }
    )
    cost = pricer.price("gemini-2.5-flash", usage, provider="gcp.gemini")
    assert cost is not None
    # 176×0.30 + 1024×0.03 + (20+30)×2.50 = 52.8 + 30.72 + 125 = 208.52 per 1M
    assert cost.total == D("0.00020852")
    assert cost.reasoning == D("0.000075")


def test_long_context_request_crosses_its_tier(pricer: Pricer) -> None:
    usage = from_gemini({"promptTokenCount": 250_000, "candidatesTokenCount": 1000})
    cost = pricer.price("gemini-2.5-pro", usage, provider="gcp.gemini")
    assert cost is not None
    # the whole request at the >200k rate: 250,000×2.50 + 1,000×15 = 625,000 + 15,000 per 1M
    assert cost.total == D("0.64")
    assert cost.long_context_threshold == 200_000


def test_batch_tier(pricer: Pricer) -> None:
    cost = pricer.price(
        "gpt-4o", Usage(input=1_000_000, output=1_000_000), provider="openai", service_tier="batch"
    )
    assert cost is not None
    assert cost.total == D("6.25")  # 1.25 + 5.00
    assert cost.service_tier == "batch"


def test_embeddings_call(pricer: Pricer) -> None:
    cost = pricer.price("text-embedding-3-small", from_openai({"prompt_tokens": 8000, "total_tokens": 8000}))
    assert cost is not None
    assert cost.total == D("0.00016")  # 8000 × 0.02 per 1M


def test_deepseek_price_change_is_effective_dated(pricer: Pricer) -> None:
    usage = Usage(input=1_000_000, output=1_000_000)
    old = pricer.price("deepseek-chat", usage, at=datetime(2025, 6, 1, tzinfo=timezone.utc))
    new = pricer.price("deepseek-chat", usage, at=datetime(2025, 10, 1, tzinfo=timezone.utc))
    assert old is not None and new is not None
    assert old.total == D("1.37")  # 0.27 + 1.10
    assert new.total == D("0.70")  # 0.28 + 0.42


@pytest.mark.parametrize(
    ("model", "prompt", "completion", "expected"),
    [
        ("grok-4.1", 1_000_000, 1_000_000, 18.0),
        ("claude-opus-4", 1_000_000, 1_000_000, 90.0),
        ("gpt-4o", 1_000_000, 1_000_000, 12.5),
        ("gpt-4o-mini", 1000, 500, 0.00045),
        ("llama-3.1-70b-versatile", 1_000_000, 1_000_000, 1.38),
    ],
)
def test_estimate_cost_compatibility_helper(
    model: str, prompt: int, completion: int, expected: float
) -> None:
    assert estimate_cost(model, prompt, completion) == pytest.approx(expected, rel=1e-12)
