"""Exact costs from the engine on a crafted catalog (hand-computed)."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from otel_llmcost.pricing import Pricer
from otel_llmcost.pricing._catalog import Catalog
from otel_llmcost.pricing._engine import AmountTooLargeError, positive_usd, to_nanos
from otel_llmcost.usage import Usage
from tests.pricing.conftest import model, period

D = Decimal


@pytest.fixture
def pricer(catalog: Catalog) -> Pricer:
    return Pricer(catalog)


def test_openai_cached_prompt(pricer: Pricer) -> None:
    # prompt 1200 of which 1024 cached, completion 50: 176*2.5 + 1024*1.25 + 50*10 per 1M
    cost = pricer.price("gpt-4o", Usage.from_totals(1200, 50, cache_read=1024), provider="openai")
    assert cost is not None
    assert cost.total == D("0.00222")
    assert cost.input == D("0.00044")
    assert cost.cache_read == D("0.00128")
    assert cost.output == D("0.0005")
    assert cost.model == "openai/gpt-4o"
    assert cost.price_version == "test.1"
    assert cost.total_nanos == 2_220_000


def test_anthropic_cache_writes_5m_and_1h(pricer: Pricer) -> None:
    usage = Usage(input=176, cache_read=1024, cache_write_5m=500, cache_write_1h=300, output=50)
    cost = pricer.price("claude-sonnet-4-5", usage, provider="anthropic")
    assert cost is not None
    # 176*3 + 1024*0.3 + 500*3.75 + 300*6 + 50*15 = 528 + 307.2 + 1875 + 1800 + 750 = 5260.2 per 1M
    assert cost.total == D("0.0052602")
    assert cost.cache_write == D("0.003675")
    assert dict(cost.breakdown) == {
        "input": D("0.000528"),
        "cache_read": D("0.0003072"),
        "cache_write_5m": D("0.001875"),
        "cache_write_1h": D("0.0018"),
        "output": D("0.00075"),
    }


def test_reasoning_falls_back_to_output_price(pricer: Pricer) -> None:
    cost = pricer.price("gemini-2.5-pro", Usage(input=100, output=20, reasoning=30), provider="gcp.gemini")
    assert cost is not None
    assert cost.reasoning == D("0.0003")
    assert cost.total == D("0.000125") + D("0.0002") + D("0.0003")


def test_long_context_reprices_whole_request(pricer: Pricer) -> None:
    below = pricer.price("gemini-2.5-pro", Usage(input=200_000, output=1000), provider="gcp.gemini")
    above = pricer.price("gemini-2.5-pro", Usage(input=200_001, output=1000), provider="gcp.gemini")
    assert below is not None and above is not None
    assert below.long_context_threshold is None
    assert below.total == D("0.25") + D("0.01")
    assert above.long_context_threshold == 200_000
    # every token at the long-context rate, not only those past the threshold
    assert above.total == D("200001") * D("0.0000025") + D("1000") * D("0.000015")


def test_long_context_counts_cached_tokens_toward_threshold(pricer: Pricer) -> None:
    usage = Usage(input=100_000, cache_read=150_000, output=10)
    cost = pricer.price("claude-sonnet-4-5", usage, provider="anthropic")
    assert cost is not None
    assert cost.long_context_threshold == 200_000
    assert cost.cache_read == D("150000") * D("0.0000006")


def test_inclusive_threshold() -> None:
    from tests.pricing.conftest import model, period

    raw = dict(
        [
            model(
                "p",
                "m",
                period(
                    input="1",
                    output="1",
                    long_context=[{"threshold": 100, "inclusive": True, "usd_per_mtok": {"input": "2"}}],
                ),
            )
        ]
    )
    pricer = Pricer(Catalog(version="v", raw=raw))
    at_threshold = pricer.price("m", Usage(input=100), provider="p")
    assert at_threshold is not None and at_threshold.long_context_threshold == 100
    assert at_threshold.total == D("0.0002")


def _long_context_pricer(base: dict[str, str], above: dict[str, str]) -> Pricer:
    raw = dict(
        [
            model(
                "p",
                "m",
                period(**base, long_context=[{"threshold": 100, "inclusive": False, "usd_per_mtok": above}]),
            )
        ]
    )
    return Pricer(Catalog(version="v", raw=raw))


def test_long_context_buckets_it_does_not_name_scale_with_its_input_and_output() -> None:
    # As Gemini 2.5 Pro / Claude past 200k: input and output named, the rest derived from them.
    pricer = _long_context_pricer(
        {"input": "1.25", "output": "10", "cache_read": "0.125", "cache_write_1h": "2.5"},
        {"input": "2.5", "output": "15"},
    )
    usage = Usage(input=1000, cache_read=1000, cache_write_1h=1000, output=1000, reasoning=1000)
    cost = pricer.price("m", usage, provider="p")
    assert cost is not None and cost.long_context_threshold == 100
    # reasoning at the long-context output price (15), not the base one (10); the cache prices
    # doubled with input: 0.25 read, 5 for the 1-hour write
    assert (cost.input, cost.cache_read, cost.cache_write, cost.output, cost.reasoning) == (
        D("0.0025"), D("0.00025"), D("0.005"), D("0.015"), D("0.015"),
    )  # fmt: skip
    entry = pricer.catalog.get("p/m")
    assert entry is not None
    table = entry.periods[0].long_context[0].table
    assert table.per_million() == {
        "input": D("2.5"), "cache_read": D("0.25"), "cache_write_5m": D("2.5"), "cache_write_1h": D("5"),
        "output": D("15"), "reasoning": D("15"), "input_audio": D("2.5"), "output_audio": D("15"),
        "input_image": D("2.5"),
    }  # fmt: skip


def test_long_context_keeps_what_it_names_and_inherits_what_has_no_scale() -> None:
    # Named buckets stand as given; with only output named, input-side buckets stay the base's.
    pricer = _long_context_pricer(
        {"input": "1", "output": "2", "reasoning": "4", "cache_read": "0.5"},
        {"output": "3", "reasoning": "12"},
    )
    cost = pricer.price("m", Usage(input=1000, cache_read=1000, output=1000, reasoning=1000), provider="p")
    assert cost is not None
    assert (cost.input, cost.cache_read, cost.output, cost.reasoning) == (
        D("0.001"), D("0.0005"), D("0.003"), D("0.012"),
    )  # fmt: skip


def test_batch_and_priority_tiers(pricer: Pricer) -> None:
    usage = Usage(input=1_000_000, output=1_000_000)
    batch = pricer.price("gpt-4o", usage, provider="openai", service_tier="batch")
    priority = pricer.price("gpt-4o", usage, provider="openai", service_tier="priority")
    assert batch is not None and priority is not None
    assert (batch.total, batch.service_tier, batch.tier_fallback) == (D("6.25"), "batch", False)
    assert priority.total == D("21.25")


def test_tier_not_offered_prices_standard_and_says_so(pricer: Pricer) -> None:
    cost = pricer.price("gpt-4o-mini", Usage(input=1_000_000), provider="openai", service_tier="flex")
    assert cost is not None
    assert (cost.total, cost.service_tier, cost.tier_fallback) == (D("0.15"), "standard", True)


def test_openai_default_service_tier_is_standard(pricer: Pricer) -> None:
    cost = pricer.price("gpt-4o", Usage(input=1), provider="openai", service_tier="default")
    assert cost is not None and cost.service_tier == "standard" and not cost.tier_fallback


def test_long_context_with_tier_uses_base_tier_when_no_long_context_tier(pricer: Pricer) -> None:
    cost = pricer.price("gemini-2.5-pro", Usage(input=300_000), provider="gcp.gemini", service_tier="batch")
    assert cost is not None
    assert cost.total == D("300000") * D("0.000000625")


def test_embeddings(pricer: Pricer) -> None:
    cost = pricer.price("text-embedding-3-small", Usage(input=1000), provider="openai")
    assert cost is not None and cost.total == D("0.00002")


def test_web_search_fee(pricer: Pricer) -> None:
    cost = pricer.price("claude-sonnet-4-5", Usage(input=10, web_search_requests=3), provider="anthropic")
    assert cost is not None
    assert cost.request_fees == D("0.03")
    assert cost.total == D("0.03003")


def test_free_is_explicit_zero_and_unknown_is_none(pricer: Pricer) -> None:
    free = pricer.price("llama3", Usage(input=10, output=10), provider="ollama")
    assert free is not None and free.free and free.total == 0
    assert pricer.price("no-such-model", Usage(input=10)) is None


def test_effective_dating_uses_price_in_force(pricer: Pricer) -> None:
    usage = Usage(input=1_000_000, output=1_000_000, cache_read=1_000_000)
    before = pricer.price("deepseek-chat", usage, at=datetime(2025, 9, 4, 23, 59, tzinfo=timezone.utc))
    after = pricer.price("deepseek-chat", usage, at=datetime(2025, 9, 5, 0, 0, tzinfo=timezone.utc))
    assert before is not None and after is not None
    assert before.total == D("1.44")  # 0.27 + 1.10 + 0.07
    assert after.total == D("0.728")  # 0.28 + 0.42 + 0.028
    assert str(after.effective_from) == "2025-09-05"


def test_no_price_before_first_period() -> None:
    from tests.pricing.conftest import model, period

    pricer = Pricer(Catalog(version="v", raw=dict([model("p", "m", period("2025-01-01", input="1"))])))
    assert (
        pricer.price("m", Usage(input=1), provider="p", at=datetime(2024, 12, 31, tzinfo=timezone.utc))
        is None
    )


def test_to_nanos_rounds_half_even() -> None:
    assert to_nanos(D("0.0000000375")) == 38
    assert to_nanos(D("0.0000000385")) == 38
    assert to_nanos(D("12.345678901")) == 12_345_678_901


def test_usd_amounts_beyond_what_the_ledger_holds_are_refused() -> None:
    assert positive_usd("9223372036.854775807") * 10**9 == 2**63 - 1
    message = "more than the ledger can hold ($9,223,372,036.854775807 at most)"
    for amount in ("9223372036.854775808", "1e20", "1e400"):
        with pytest.raises(AmountTooLargeError, match=re.escape(f"{D(amount)} USD is {message}")):
            positive_usd(amount)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12.5", Decimal("12.5")),
        (" 0.000000001 ", Decimal("1E-9")),
        (300, Decimal(300)),
        (0.1, Decimal("0.1")),
    ],
)
def test_positive_usd_is_exact(value: object, expected: Decimal) -> None:
    assert positive_usd(value) == expected
    assert str(positive_usd(0.1)) == "0.1"  # a float by its shortest repr, not 0.1000000000000000055…


@pytest.mark.parametrize("value", ["0", "-1", "lots", "NaN", "Infinity", "", True, None, [5], 0.0])
def test_positive_usd_refuses_what_is_not_a_positive_amount(value: object) -> None:
    with pytest.raises(ValueError, match=r"expected a positive amount of USD, got "):
        positive_usd(value)
