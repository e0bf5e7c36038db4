"""``Pricer.price_nanos`` (integer femto-dollars) is ``cost_nanos(Pricer.price_entry(...))`` to the
nano-dollar, on every price shape: tiers, long context, fees, discounts, dates, free models, and
prices that are not whole femto-dollars or sums too large for ``Decimal`` to hold exactly."""

from __future__ import annotations

import random
from dataclasses import astuple
from datetime import datetime, timezone
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

import pytest

from otel_llmcost.pricing import Pricer, cost_nanos
from otel_llmcost.pricing._catalog import Catalog
from otel_llmcost.pricing._overrides import parse_overrides
from otel_llmcost.usage import MAX_TOKENS_PER_CALL, Usage
from tests.pricing.conftest import model, period

_EXAMPLE_PRICES = Path(__file__).resolve().parents[2] / "collector" / "prices.example.yaml"
_TIERS = [None, "", "default", "auto", "flex", "priority", "batch", "scale", "PRIORITY", "on_demand"]
_MOMENTS = [
    None,
    datetime(1999, 1, 1, tzinfo=timezone.utc),
    datetime(2024, 6, 1, tzinfo=timezone.utc),
    datetime(2025, 9, 4, 23, 59),  # naive: UTC
    datetime(2025, 9, 5, tzinfo=timezone.utc),
    datetime(2026, 12, 1, tzinfo=timezone.utc),
]
_COUNTS = [0, 0, 0, 1, 3, 999, 12_345, 199_999, 200_000, 200_001, 1_000_000, MAX_TOKENS_PER_CALL]


def _usage(rng: random.Random) -> Usage:
    return Usage(*(rng.choice(_COUNTS) for _ in range(9)), rng.choice([0, 0, 1, 7]), rng.random() < 0.5)


def _outcome(price: Any) -> Any:
    try:
        result = price()
    except ArithmeticError as err:  # a figure too large for Decimal's 28 digits
        return type(err)
    return None if result is None else (result[0], result[1], list(result[2]))


def _agree(pricer: Pricer, key: str, usage: Usage, at: datetime | None, tier: str | None) -> None:
    entry = pricer.catalog.get(key)
    assert entry is not None

    def by_cost() -> Any:
        cost = pricer.price_entry(entry, usage, at=at, service_tier=tier)
        return None if cost is None else (cost.model, cost.service_tier, cost_nanos(cost))

    def by_nanos() -> Any:
        return pricer.price_nanos(entry, astuple(usage), at=at, service_tier=tier)  # type: ignore[arg-type]

    assert _outcome(by_nanos) == _outcome(by_cost), (key, usage, at, tier)
    _femtos_agree(pricer, key, usage, at, tier)


def _femtos_agree(pricer: Pricer, key: str, usage: Usage, at: datetime | None, tier: str | None) -> None:
    """Where ``price_femtos`` answers, its figures are ``Cost``'s exactly, and so are the floats
    the span gets from them."""
    entry = pricer.catalog.get(key)
    assert entry is not None
    exact = pricer.price_femtos(entry, astuple(usage), at=at, service_tier=tier)  # type: ignore[arg-type]
    if exact is None:
        return
    cost = pricer.price_entry(entry, usage, at=at, service_tier=tier)
    assert cost is not None
    model, priced_tier, threshold, femtos = exact
    assert (model, priced_tier, threshold) == (cost.model, cost.service_tier, cost.long_context_threshold)
    figures = (
        cost.total,
        cost.input,
        cost.output,
        cost.cache_read,
        cost.cache_write,
        cost.reasoning,
        cost.request_fees,
    )
    assert [Decimal(f).scaleb(-15) for f in femtos] == list(figures), (key, usage, at, tier)
    assert [f / 10**15 for f in femtos] == [float(x) for x in figures], (key, usage, at, tier)


@pytest.fixture
def odd_catalog(catalog: Catalog) -> Catalog:
    catalog.raw.update([
        model("openai", "sub-femto", period(input="0.0000000013", output="3.333333333333333333")),
        model("openai", "huge", period(input="9999999999999999", output="1e20")),
        model("openai", "femto-exact", period(input="1.000000001", output="0.000000001", reasoning="7")),
        model("anthropic", "fee-sub-femto", period(input="3", output="15", per_request={"web_search": "0.0100000000000000001"})),
        model(
            "gcp.gemini", "inclusive-long",
            period(input="1", output="2", long_context=[{"threshold": 1000, "inclusive": True, "usd_per_mtok": {"input": "2"}}]),
        ),
    ])  # fmt: skip
    return catalog


@pytest.mark.parametrize(
    "overrides",
    [None, {"discounts": {"openai": "15%", "anthropic": "33.3333%"}}],
    ids=["list", "discounted"],
)
def test_every_shape_of_price(odd_catalog: Catalog, overrides: dict[str, Any] | None) -> None:
    pricer = Pricer(odd_catalog, parse_overrides(overrides) if overrides else None)
    rng = random.Random(11)
    for key in sorted(pricer.catalog.keys()):
        for _ in range(150):
            _agree(pricer, key, _usage(rng), rng.choice(_MOMENTS), rng.choice(_TIERS))


def test_the_bundled_catalog_and_example_overrides() -> None:
    rng = random.Random(12)
    for pricer in (Pricer(), Pricer(overrides=_EXAMPLE_PRICES)):
        for key in sorted(pricer.catalog.keys()):
            _agree(pricer, key, _usage(rng), rng.choice(_MOMENTS), rng.choice(_TIERS))


def test_an_entry_priced_before_its_first_period_is_unpriced(catalog: Catalog) -> None:
    pricer = Pricer(catalog)
    entry = pricer.resolve("deepseek-chat", "deepseek")
    assert entry is not None
    at = datetime(1969, 6, 1, tzinfo=timezone.utc)
    assert pricer.price_nanos(entry, astuple(Usage(input=5)), at=at) is None  # type: ignore[arg-type]
    assert pricer.price_entry(entry, Usage(input=5), at=at) is None


def test_femtos_defer_to_decimal_for_discounts_and_missing_periods(catalog: Catalog) -> None:
    usage = astuple(Usage(input=1000, output=10))
    discounted = Pricer(catalog, parse_overrides({"discounts": {"openai": "15%"}}))
    entry = discounted.resolve("gpt-4o-mini", "openai")
    assert entry is not None
    assert discounted.price_femtos(entry, usage) is None  # type: ignore[arg-type]
    pricer = Pricer(catalog)
    entry = pricer.resolve("gpt-4o-mini", "openai")
    assert entry is not None
    at = datetime(1969, 6, 1, tzinfo=timezone.utc)
    assert pricer.price_femtos(entry, usage, at=at) is None  # type: ignore[arg-type]
    assert pricer.price_femtos(entry, usage) == (  # type: ignore[arg-type]
        "openai/gpt-4o-mini",
        "standard",
        None,
        (156_000_000_000, 150_000_000_000, 6_000_000_000, 0, 0, 0, 0),
    )


def test_free_models_cost_nothing_at_the_standard_tier(catalog: Catalog) -> None:
    pricer = Pricer(catalog)
    entry = pricer.resolve("llama3", "ollama")
    assert entry is not None
    counts = astuple(Usage(input=5, output=7))
    assert pricer.price_nanos(entry, counts, service_tier="flex") == ("ollama/llama3", "standard", (0,) * 7)  # type: ignore[arg-type]


def test_sums_past_decimal_precision_take_the_decimal_path(odd_catalog: Catalog) -> None:
    # $1e20 per 1M output tokens is 1e29 femto-dollars a token: past 1e28, the integer path
    # hands over to Decimal, which rounds (or fails) as it always did.
    pricer = Pricer(odd_catalog)
    for output in (1, 10, 10**8):
        _agree(pricer, "openai/huge", Usage(input=3, output=output), None, None)
    cost = pricer.price_entry(pricer.require("huge", "openai"), Usage(output=10**8))
    assert cost is not None
    with pytest.raises(ArithmeticError):  # 1e31 nano-dollars: more digits than Decimal holds
        cost_nanos(cost)


def test_a_less_precise_decimal_context_gets_what_decimal_gives_it(catalog: Catalog) -> None:
    pricer = Pricer(catalog)
    usage = Usage(input=23_456_789, cache_read=7, output=98_765_431)
    with localcontext() as context:
        context.prec = 9
        _agree(pricer, "openai/gpt-4o", usage, None, None)
        _agree(pricer, "anthropic/claude-sonnet-4-5", usage, None, "priority")
