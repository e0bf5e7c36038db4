"""Pricing and usage normalization under absurd input: token counts of every type and size,
nested provider payloads of the wrong shape, unknown and hostile model names.

Usage readers return a :class:`Usage` or ``None``, or raise :class:`InvalidUsageError` — nothing
else. Prices are ``None`` (unpriced) or a finite, non-negative, exact :class:`Cost`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from otel_llmcost import usage as u
from otel_llmcost.collector._otlp import SPAN_KEYS
from otel_llmcost.exceptions import InvalidUsageError
from otel_llmcost.pricing import Pricer, to_nanos
from otel_llmcost.usage import MAX_TOKENS_PER_CALL, Usage
from tests.fuzz.conftest import FUZZ
from tests.fuzz.strategies import NUMBERS, TEXT, VALUES

PRICER = Pricer()
CATALOG = sorted(PRICER.catalog.keys())
MODELS = st.one_of(
    st.sampled_from(CATALOG),
    st.sampled_from(CATALOG).map(lambda key: key.split("/", 1)[-1]),  # without the provider prefix
    st.sampled_from(CATALOG).map(lambda key: key.upper() + "-2024-01-01"),
    TEXT,
)
PROVIDERS = st.one_of(
    st.none(), st.sampled_from(["openai", "anthropic", "gcp.gemini", "aws.bedrock", "azure.ai.openai"]), TEXT
)
COUNTS = st.integers(0, MAX_TOKENS_PER_CALL)
USAGES = st.builds(
    Usage,
    input=COUNTS, cache_read=COUNTS, cache_write_5m=COUNTS, cache_write_1h=COUNTS, output=COUNTS,
    reasoning=COUNTS, input_audio=COUNTS, output_audio=COUNTS, input_image=COUNTS,
    web_search_requests=st.integers(0, 10_000), estimated=st.booleans(),
)  # fmt: skip
MOMENTS = st.one_of(
    st.none(),
    st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9999, 12, 30)),
    st.datetimes(
        min_value=datetime(1970, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(timezone.utc)
    ),
)
TIERS = st.one_of(st.none(), st.sampled_from(["default", "flex", "priority", "batch", "scale", "auto"]), TEXT)
# Any value where a count, a details object or a list of details is expected.
ANYTHING = st.one_of(VALUES, NUMBERS, st.lists(VALUES, max_size=3))


def check_cost(cost: Any) -> None:
    if cost is None:
        return
    assert cost.total.is_finite() and cost.total >= 0, cost
    assert all(amount.is_finite() and amount >= 0 for amount in cost.breakdown.values()), cost
    assert sum(cost.breakdown.values(), Decimal(0)) == cost.total  # exact: no rounding anywhere
    assert to_nanos(cost.total) >= 0


@FUZZ
@given(model=MODELS, usage=USAGES, provider=PROVIDERS, at=MOMENTS, tier=TIERS)
def test_any_price_is_unpriced_or_finite_and_non_negative(
    model: str, usage: Usage, provider: str | None, at: datetime | None, tier: str | None
) -> None:
    check_cost(PRICER.price(model, usage, provider=provider, at=at, service_tier=tier))


@FUZZ
@given(
    model=st.sampled_from(CATALOG),
    usage=USAGES,
    bucket=st.sampled_from(["input", "cache_read", "output", "reasoning"]),
)
def test_more_tokens_never_cost_less(model: str, usage: Usage, bucket: str) -> None:
    counts = {field: getattr(usage, field) for field in Usage.__dataclass_fields__}
    counts[bucket] = min(counts[bucket] + 1000, MAX_TOKENS_PER_CALL)
    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    cheaper, dearer = PRICER.price(model, usage, at=at), PRICER.price(model, Usage(**counts), at=at)
    check_cost(cheaper)
    check_cost(dearer)
    if cheaper is not None and dearer is not None:
        assert dearer.total >= cheaper.total, (model, bucket)


@pytest.mark.parametrize("count", [-1, MAX_TOKENS_PER_CALL + 1, 1.5, "12", True, float("nan"), None])
def test_usage_refuses_what_cannot_be_a_bill(count: Any) -> None:
    with pytest.raises(InvalidUsageError):
        Usage(input=count)


def reads(reader: Any, payload: Any, **kwargs: Any) -> None:
    """``reader(payload)`` is a Usage, None, or an InvalidUsageError — and a Usage prices sanely."""
    try:
        result = reader(payload, **kwargs)
    except InvalidUsageError:
        return
    assert result is None or isinstance(result, Usage)
    if result is not None:
        assert 0 <= result.total <= 10 * MAX_TOKENS_PER_CALL
        check_cost(PRICER.price("gpt-4o", result))


USAGE_KEYS = [
    *sorted(key for key, hint in SPAN_KEYS.items() if hint == "int_value"),
    "llmcost.usage.estimated",
]


@FUZZ
@given(
    attrs=st.dictionaries(st.one_of(st.sampled_from(USAGE_KEYS), st.text(max_size=10)), ANYTHING, max_size=8),
    provider=PROVIDERS,
    scope=st.one_of(
        st.none(), st.sampled_from(["openlit", "otel_llmcost.instrumentation"]), st.text(max_size=10)
    ),
)
def test_from_attributes(attrs: dict[str, Any], provider: str | None, scope: str | None) -> None:
    reads(u.from_attributes, attrs, provider=provider, scope_name=scope)


def payloads(keys: list[str], details: dict[str, list[str]]) -> st.SearchStrategy[dict[str, Any]]:
    """Provider usage payloads: known keys with values of any type, details nested or not."""
    nested = {
        name: st.one_of(ANYTHING, st.dictionaries(st.sampled_from([*inner, "x"]), ANYTHING, max_size=4), st.lists(
            st.dictionaries(st.sampled_from([*inner, "modality", "token_count", "tokenCount", "type"]), ANYTHING, max_size=4),
            max_size=3,
        ))
        for name, inner in details.items()
    }  # fmt: skip
    flat = st.dictionaries(st.sampled_from(keys), st.one_of(COUNTS, ANYTHING), max_size=len(keys))
    return st.tuples(flat, st.fixed_dictionaries({}, optional=nested)).map(
        lambda pair: {**pair[0], **pair[1]}
    )


OPENAI = payloads(
    ["prompt_tokens", "completion_tokens", "input_tokens", "output_tokens", "total_tokens"],
    {
        "prompt_tokens_details": ["cached_tokens", "audio_tokens", "image_tokens", "cache_write_tokens", "cache_write_tokens_details"],
        "input_tokens_details": ["cached_tokens", "cache_write_tokens"],
        "completion_tokens_details": ["reasoning_tokens", "audio_tokens"],
        "output_tokens_details": ["reasoning_tokens"],
    },
)  # fmt: skip
ANTHROPIC = payloads(
    ["input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"],
    {
        "cache_creation": ["ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens"],
        "server_tool_use": ["web_search_requests"],
        "output_tokens_details": ["thinking_tokens"],
        "iterations": ["input_tokens", "output_tokens", "cache_read_input_tokens"],
    },
)  # fmt: skip
GEMINI = payloads(
    ["prompt_token_count", "candidates_token_count", "cached_content_token_count", "thoughts_token_count",
     "tool_use_prompt_token_count", "promptTokenCount", "candidatesTokenCount", "thoughtsTokenCount"],
    {"prompt_tokens_details": [], "cache_tokens_details": [], "candidates_tokens_details": [], "promptTokensDetails": []},
)  # fmt: skip


@FUZZ
@given(payload=OPENAI)
def test_from_openai(payload: dict[str, Any]) -> None:
    reads(u.from_openai, payload)


@FUZZ
@given(payload=ANTHROPIC)
def test_from_anthropic(payload: dict[str, Any]) -> None:
    reads(u.from_anthropic, payload)


@FUZZ
@given(payload=GEMINI)
def test_from_gemini(payload: dict[str, Any]) -> None:
    reads(u.from_gemini, payload)


@FUZZ
@given(payload=ANYTHING)
def test_any_value_at_all(payload: Any) -> None:
    for reader in (u.from_openai, u.from_anthropic, u.from_gemini):
        reads(reader, payload)


@pytest.mark.parametrize(
    ("reader", "payload"),
    [
        (u.from_anthropic, {"input_tokens": 5, "iterations": 1}),
        (u.from_gemini, {"prompt_token_count": 5, "prompt_tokens_details": 5}),
        (u.from_gemini, {"promptTokenCount": 5, "candidatesTokensDetails": "AUDIO"}),
    ],
    ids=["anthropic-iterations", "gemini-details-number", "gemini-details-string"],
)
def test_a_list_field_of_another_type_is_invalid_usage(reader: Any, payload: dict[str, Any]) -> None:
    """Found by the fuzzer: these raised TypeError (iterating a number)."""
    with pytest.raises(InvalidUsageError, match="must be a list") as caught:
        reader(payload)
    assert caught.value.reason == "not_integer"
