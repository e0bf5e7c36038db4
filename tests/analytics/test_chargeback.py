"""Chargeback: unattributed spend spread in proportion, allocations summing exactly to the total."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from otel_llmcost.analytics import Allocation, allocate, chargeback
from otel_llmcost.analytics._chargeback import rounded_parts
from otel_llmcost.ledger import Filters, LedgerBackend, open_ledger
from tests.analytics.report_data import ENGINES, fixed_records, ledger_url
from tests.ledger.support import make_record, ns


@pytest.fixture(params=ENGINES)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from ledger_url(request.param, tmp_path)


@pytest.fixture
def ledger(url: str) -> Iterator[LedgerBackend]:
    with open_ledger(url) as backend:
        yield backend


def test_awkward_total_over_three_equal_teams_sums_to_the_nano(ledger: LedgerBackend) -> None:
    # 1,000,000,001 nanos: 1 nano each on a, b, c and 999,999,998 without a team. Exact shares are
    # 333,333,332.67 each; the floors leave 2 nanos, which go to the (tied) largest remainders in
    # name order.
    ledger.insert(
        [make_record(1, team="a", cost_nanos=1), make_record(2, team="b", cost_nanos=1),
         make_record(3, team="c", cost_nanos=1), make_record(4, team=None, cost_nanos=999_999_998)]
    )  # fmt: skip
    result = chargeback(ledger, "team")
    assert result.method == "proportional"
    assert result.allocations == [
        Allocation("a", 1, 1, 333_333_333),
        Allocation("b", 1, 1, 333_333_333),
        Allocation("c", 1, 1, 333_333_332),
    ]
    assert sum(a.total_nanos for a in result.allocations) == result.total_nanos == 1_000_000_001
    assert allocate(1_000_000_001, {"a": 1, "b": 1, "c": 1}) == {
        "a": 333_333_334,
        "b": 333_333_334,
        "c": 333_333_333,
    }


def test_fixed_ledger_by_team_and_project(ledger: LedgerBackend) -> None:
    ledger.insert(fixed_records())
    by_team = chargeback(ledger, "team")
    # pool: calls 4 and 6 = 999,999,999 over attributed 1,253,000,000 (search) + 9,500,000,001 (ads):
    # search's exact share is 116,525,620.63, ads' 883,474,378.37; the one nano left goes to search.
    assert by_team.allocations == [
        Allocation("ads", 2, 9_500_000_001, 883_474_378),
        Allocation("search", 2, 1_253_000_000, 116_525_621),
    ]
    assert (by_team.unattributed_nanos, by_team.unattributed_requests, by_team.total_nanos) == (
        999_999_999, 2, 11_753_000_000,
    )  # fmt: skip
    assert by_team.to_dict() == {
        "by": "team",
        "method": "proportional",
        "description": by_team.description,
        "total_usd": "11.753",
        "attributed_usd": "10.753000001",
        "unattributed_usd": "0.999999999",
        "requests": 6,
        "unpriced": 1,
        "unattributed_requests": 2,
        "unattributed_unpriced": 1,
        "since": None,
        "until": None,
        "filters": {},
        "allocations": [
            {"team": "ads", "requests": 2, "unpriced": 0, "direct_usd": "9.500000001",
             "allocated_usd": "0.883474378", "total_usd": "10.383474379", "share": "0.883474"},
            {"team": "search", "requests": 2, "unpriced": 0, "direct_usd": "1.253", "allocated_usd": "0.116525621",
             "total_usd": "1.369525621", "share": "0.116526"},
        ],
    }  # fmt: skip
    # call 6 (o3) has no team and no price: the spread spend is a lower bound, and says so
    assert by_team.description == (
        "unattributed spend ($0.999999999 over 2 requests without a team, 1 of them unpriced (cost unknown, "
        "not $0)) is spread over each team in proportion to its attributed spend; shares are rounded to the "
        "nano-dollar by largest remainder, so allocations sum exactly to the total"
    )
    by_project = chargeback(ledger, "project")
    # pool: calls 4, 5, 6 = 2,999,999,999; beta's share 1,028,218.89 beats alpha's .10 remainder
    assert [(a.key, a.allocated_nanos, a.total_nanos) for a in by_project.allocations] == [
        ("alpha", 2_998_971_780, 11_748_971_781),
        ("beta", 1_028_219, 4_028_219),
    ]
    march = chargeback(ledger, "team", Filters(since_ns=ns(2025, 3, 1), until_ns=ns(2025, 4, 1)))
    assert sum(a.total_nanos for a in march.allocations) == march.total_nanos == 9_753_000_000
    assert march.to_dict()["since"] == "2025-03-01T00:00:00Z"


def test_nothing_attributed_shows_all_spend_as_unattributed(ledger: LedgerBackend) -> None:
    ledger.insert(
        [
            make_record(1, cost_nanos=7),
            make_record(2, team="", cost_nanos=5),
            make_record(3, team="z", cost_nanos=0),
        ]
    )
    result = chargeback(ledger, "team")
    assert result.method == "unattributed"
    assert result.allocations == [Allocation(None, 2, 12, 0), Allocation("z", 1, 0, 0)]
    assert "all $0.000000012 is shown as unattributed" in result.description
    assert result.to_dict()["allocations"][0] == {
        "team": None, "requests": 2, "unpriced": 0, "direct_usd": "0.000000012", "allocated_usd": "0",
        "total_usd": "0.000000012", "share": "1.000000",
    }  # fmt: skip
    with open_ledger("sqlite:///:memory:") as nothing:
        empty = chargeback(nothing, "project")
    assert (empty.method, empty.allocations, empty.to_dict()["total_usd"]) == ("unattributed", [], "0")


def test_chargeback_dimension_and_allocate_arguments_are_checked() -> None:
    with open_ledger("sqlite:///:memory:") as ledger, pytest.raises(ValueError, match="team or project"):
        chargeback(ledger, "user")
    for amount, weights in ((-1, {"a": 1}), (5, {"a": 0}), (5, {"a": -1, "b": 3}), (5, {})):
        with pytest.raises(ValueError, match="allocate needs"):
            allocate(amount, weights)


@given(
    amount=st.integers(min_value=0, max_value=2**63 - 1),
    weights=st.dictionaries(
        st.text(max_size=3), st.integers(min_value=0, max_value=2**62), min_size=1, max_size=12
    ).filter(lambda w: sum(w.values()) > 0),
)
def test_allocate_is_exact_and_within_one_nano_of_the_true_share(
    amount: int, weights: dict[str, int]
) -> None:
    parts = allocate(amount, weights)
    assert sum(parts.values()) == amount
    total = sum(weights.values())
    for key, part in parts.items():
        assert abs(Fraction(part) - Fraction(amount * weights[key], total)) < 1


def test_shares_sum_to_exactly_one() -> None:
    with open_ledger("sqlite:///:memory:") as ledger:
        ledger.insert([make_record(i, team=team, cost_nanos=1) for i, team in enumerate("abc", 1)])
        result = chargeback(ledger, "team")
    assert [a["share"] for a in result.to_dict()["allocations"]] == ["0.333334", "0.333333", "0.333333"]
    assert sum(result.shares()) == 1


@given(
    values=st.lists(st.integers(min_value=0, max_value=10**15), max_size=12),
    unit=st.integers(min_value=1, max_value=10**6),
    data=st.data(),
)
def test_rounded_parts_round_each_value_down_or_up_to_the_sum_asked(
    values: list[int], unit: int, data: st.DataObject
) -> None:
    floors = sum(v // unit for v in values)
    ceilings = sum(-(-v // unit) for v in values)
    target = data.draw(st.integers(min_value=floors, max_value=ceilings))
    parts = rounded_parts(values, unit, target)
    assert sum(parts) == target
    assert all(v // unit <= p <= -(-v // unit) for v, p in zip(values, parts, strict=True))


def test_rounded_parts_go_to_the_largest_remainders() -> None:
    # 1.23456789, 0.5, 0.5 and 0.00000001 units of 1e-4 over a total shown as 1237 units
    assert rounded_parts([123_456_789, 50_000, 50_000, 1], 100_000, 1236) == [1235, 1, 0, 0]
    assert rounded_parts([150_000] * 3, 100_000, 4) == [2, 1, 1]
    assert rounded_parts([149_999, 149_999], 100_000, 2) == [1, 1]
    assert rounded_parts([], 100_000, 0) == []
