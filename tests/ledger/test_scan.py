"""``LedgerBackend.scan``: named columns of matching rows, in time order, one time slice per query."""

from __future__ import annotations

import pytest

from otel_llmcost.ledger import SCANNABLE, Filters, LedgerBackend
from tests.ledger.support import make_record, ns

HOUR = 3_600_000_000_000


@pytest.fixture
def loaded(ledger: LedgerBackend) -> LedgerBackend:
    ledger.insert(
        [
            make_record(1, start_ns=ns(2025, 3, 10, 9), team="search", cost_nanos=10, streaming=True),
            make_record(2, start_ns=ns(2025, 3, 10, 9, 30), team=None, cost_nanos=20, request_model=None),
            make_record(3, start_ns=ns(2025, 3, 10, 12), team="ads", cost_nanos=30, status="error"),
            make_record(4, start_ns=ns(2025, 3, 11, 0), team="search", cost_nanos=40),
            make_record(5, start_ns=ns(2025, 3, 12, 23, 59), team="search", cost_nanos=50),
        ]
    )
    return ledger


def test_rows_come_in_time_order_with_the_named_columns(loaded: LedgerBackend) -> None:
    rows = list(loaded.scan(["cost_nanos", "team", "status", "model", "streaming"]))
    assert rows == [
        (10, "search", "ok", "gpt-4o", True),
        (20, None, "ok", "gpt-4o-2024-08-06", False),  # model: the response model without a request model
        (30, "ads", "error", "gpt-4o", False),
        (40, "search", "ok", "gpt-4o", False),
        (50, "search", "ok", "gpt-4o", False),
    ]
    assert all(type(row) is tuple for row in rows)


@pytest.mark.parametrize("slice_ns", [HOUR // 7, HOUR, 7 * HOUR, 30 * 24 * HOUR])
def test_any_slice_length_gives_the_same_rows(loaded: LedgerBackend, slice_ns: int) -> None:
    filters = Filters(since_ns=ns(2025, 3, 10, 9, 30), until_ns=ns(2025, 3, 12, 23, 59))
    rows = list(loaded.scan(["cost_nanos"], filters, slice_ns=slice_ns))
    assert rows == [(20,), (30,), (40,)]  # since inclusive, until exclusive


def test_filters_and_time_keys_narrow_the_scan(loaded: LedgerBackend) -> None:
    assert list(loaded.scan(["cost_nanos"], Filters(equals={"team": "search"}))) == [(10,), (40,), (50,)]
    assert list(loaded.scan(["cost_nanos"], Filters(equals={"team": None}))) == [(20,)]
    assert list(loaded.scan(["cost_nanos"], Filters(equals={"day": "2025-03-10", "status": "ok"}))) == [
        (10,),
        (20,),
    ]
    assert list(loaded.scan(["span_id"], Filters(since_ns=ns(2025, 3, 12)))) == [(f"{5:016x}",)]


def test_an_empty_ledger_or_range_scans_nothing(ledger: LedgerBackend) -> None:
    assert list(ledger.scan(["cost_nanos"])) == []
    assert list(ledger.scan(["cost_nanos"], Filters(since_ns=10, until_ns=10))) == []


def test_bad_arguments_raise_before_iterating(loaded: LedgerBackend) -> None:
    with pytest.raises(ValueError, match="cannot scan"):
        loaded.scan(["cost_nanos", "prompt"])
    with pytest.raises(ValueError, match="non-empty sequence"):
        loaded.scan("cost_nanos")
    with pytest.raises(ValueError, match="non-empty sequence"):
        loaded.scan([])
    with pytest.raises(ValueError, match="slice_ns"):
        loaded.scan(["cost_nanos"], slice_ns=0)
    with pytest.raises(ValueError, match="cannot filter"):
        loaded.scan(["cost_nanos"], Filters(equals={"colour": "red"}))
    assert "model" in SCANNABLE and "prompt_fingerprint" in SCANNABLE
