"""The normalizer's fast paths give exactly what the general code they stand in for gives.

``usage_counts`` stands in for ``usage.from_attributes``, ``_money_nanos`` of a float for
``to_nanos(Decimal(repr(value)))``, and ``read_attributes``' array hint for ``any_value``.
"""

from __future__ import annotations

import random
from dataclasses import astuple
from decimal import Decimal, localcontext
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.proto.common.v1.common_pb2 import KeyValue

from otel_llmcost import semconv as sc
from otel_llmcost.collector._counts import _NAMES, usage_counts
from otel_llmcost.collector._normalize import _money_nanos
from otel_llmcost.collector._otlp import SPAN_KEYS, any_value, read_attributes
from otel_llmcost.exceptions import InvalidUsageError
from otel_llmcost.pricing import to_nanos
from otel_llmcost.usage import MAX_TOKENS_PER_CALL, from_attributes
from tests.fuzz.conftest import FUZZ

_COUNT_NAMES = sorted({name for names in _NAMES for name in names})
_COUNTS = st.one_of(
    st.integers(0, 3000),
    st.sampled_from([0, 1, MAX_TOKENS_PER_CALL, MAX_TOKENS_PER_CALL + 1, 2**63 - 1, -1]),
    st.integers(-(2**64), 2**64),
)
_VALUES = st.one_of(
    _COUNTS,
    _COUNTS,  # twice as likely as the odd values below
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(0, 3000).map(float),
    st.booleans(),
    st.sampled_from(["12", "-3", "1.5", "x", ""]),
    st.tuples(st.integers(0, 5)),
)
_SCOPES = st.sampled_from([None, sc.OPENLIT_SCOPE, sc.INSTRUMENTATION_SCOPE, "other"])
_PROVIDERS = st.sampled_from([None, sc.PROVIDER_ANTHROPIC, "openai"])


def _outcome(read: Any) -> Any:
    try:
        return read()
    except InvalidUsageError as err:
        return ("error", err.reason, str(err))


def _same_counts(attrs: dict[str, Any], provider: str | None, scope: str | None) -> None:
    general = _outcome(lambda: from_attributes(attrs, provider=provider, scope_name=scope))
    if general is not None and not isinstance(general, tuple):
        general = astuple(general)
    assert _outcome(lambda: usage_counts(attrs, provider, scope)) == general, attrs


@FUZZ
@given(
    attrs=st.dictionaries(
        st.sampled_from([*_COUNT_NAMES, sc.LLMCOST_USAGE_ESTIMATED, sc.GEN_AI_REQUEST_MODEL]),
        _VALUES,
        max_size=8,
    ),
    provider=_PROVIDERS,
    scope=_SCOPES,
)
def test_usage_counts_are_from_attributes(
    attrs: dict[str, Any], provider: str | None, scope: str | None
) -> None:
    _same_counts(attrs, provider, scope)


@FUZZ
@given(
    # The shape most spans have: only the first name of each count, small plain counts.
    attrs=st.fixed_dictionaries(
        {},
        optional={
            **{names[0]: st.integers(0, 2000) for names in _NAMES},
            sc.LLMCOST_USAGE_ESTIMATED: st.booleans(),
        },
    ),
    provider=_PROVIDERS,
    scope=_SCOPES,
)
def test_usage_counts_of_semconv_spans(
    attrs: dict[str, Any], provider: str | None, scope: str | None
) -> None:
    _same_counts(attrs, provider, scope)


@pytest.mark.parametrize("scope", [None, sc.OPENLIT_SCOPE, sc.INSTRUMENTATION_SCOPE])
@pytest.mark.parametrize("provider", [None, sc.PROVIDER_ANTHROPIC, "openai"])
def test_usage_counts_on_a_grid(provider: str | None, scope: str | None) -> None:
    rng = random.Random(f"{provider}-{scope}")
    firsts = [names[0] for names in _NAMES]
    for _ in range(3000):
        attrs: dict[str, Any] = {
            name: rng.choice([0, 1, 10, 100, 1000, rng.randrange(5000)])
            for name in rng.sample(firsts, rng.randrange(len(firsts) + 1))
        }
        if rng.random() < 0.3:
            attrs[rng.choice(_COUNT_NAMES)] = rng.choice(
                [5, 500, -1, 2.0, "7", True, MAX_TOKENS_PER_CALL + 1]
            )
        if rng.random() < 0.3:
            attrs[sc.LLMCOST_USAGE_ESTIMATED] = rng.choice([True, False, 1])
        _same_counts(attrs, provider, scope)


def _reference_nanos(value: float) -> int | None:
    amount = Decimal(repr(value))
    if not amount.is_finite():
        return None
    try:
        nanos = to_nanos(amount)
    except ArithmeticError:
        return None
    return nanos if -(2**63 - 1) <= nanos <= 2**63 - 1 else None


@pytest.mark.parametrize(
    "value",
    [0.0, -0.0, 0.00075, 1e-05, 2.5e-09, 3.5e-09, -2.5e-09, 4.5e-10, 5e-10, 1.5e16, 9.3e9, 1e300, 5e-324,
     float("inf"), float("-inf"), float("nan"), 1 / 3, 123.456789123456],
)  # fmt: skip
def test_float_costs_round_as_decimal_does(value: float) -> None:
    assert _money_nanos(value) == _reference_nanos(value)


def test_float_costs_round_as_decimal_does_at_random() -> None:
    rng = random.Random(20)
    values = [rng.uniform(0, 0.01) for _ in range(20_000)] + [rng.uniform(-1e-8, 1e-8) for _ in range(20_000)]
    values += [round(rng.uniform(0, 1), rng.randrange(3, 16)) for _ in range(20_000)]
    values += [k * 5e-10 for k in range(-3000, 3000)]
    assert [_money_nanos(v) for v in values] == [_reference_nanos(v) for v in values]


@FUZZ
@given(value=st.floats(allow_nan=True, allow_infinity=True))
def test_any_float_cost_rounds_as_decimal_does(value: float) -> None:
    assert _money_nanos(value) == _reference_nanos(value)


def _key_value(value: Any) -> KeyValue:
    kv = KeyValue(key=sc.GEN_AI_RESPONSE_FINISH_REASONS)
    if isinstance(value, tuple):
        kv.value.array_value.SetInParent()
        for item in value:
            element = kv.value.array_value.values.add()
            if isinstance(item, str):
                element.string_value = item
            elif item is not None:
                element.int_value = item
    elif isinstance(value, str):
        kv.value.string_value = value
    elif value is not None:
        kv.value.int_value = value
    return kv


@pytest.mark.parametrize(
    "value", [("stop",), ("stop", "length"), ("",), (3,), (None,), (), "stop", "", 7, None], ids=repr
)
def test_the_array_hint_reads_what_any_value_reads(value: Any) -> None:
    assert SPAN_KEYS[sc.GEN_AI_RESPONSE_FINISH_REASONS] == "array_value"
    kv = _key_value(value)
    expected = {} if kv.value.WhichOneof("value") is None else {kv.key: any_value(kv.value)}
    assert read_attributes([kv], SPAN_KEYS) == expected


def test_a_less_precise_decimal_context_rounds_float_costs_as_decimal_does() -> None:
    with localcontext() as context:
        context.prec = 9
        for value in (0.123456789123, 1.5e-09, 12345.678901234):
            assert _money_nanos(value) == _reference_nanos(value)
