"""records(): order, keyset paging, laziness; and the input checks every query shares."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import pytest

from otel_llmcost.ledger import Filters, LedgerBackend, LedgerRecord
from tests.ledger.support import make_record, ns

T0 = ns(2025, 6, 1)


def _shuffled_with_ties() -> list[LedgerRecord]:
    records = [make_record(i, start_ns=T0 + (i // 4) * 1000) for i in range(23)]  # 4 per timestamp
    records += [dataclasses.replace(records[5], span_id=f"{s:016x}", cost_nanos=s) for s in (99, 7, 3)]
    random.Random(4).shuffle(records)
    return records


def _key(record: LedgerRecord) -> tuple[int, str, str]:
    return (record.start_ns, record.trace_id, record.span_id)


@pytest.fixture
def queries(ledger: LedgerBackend, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The SQL statements the ledger runs from here on."""
    seen: list[str] = []
    fetch = ledger._fetch  # type: ignore[attr-defined]

    def spy(sql: str, params: Any) -> Any:
        seen.append(sql)
        return fetch(sql, params)

    monkeypatch.setattr(ledger, "_fetch", spy)
    return seen


@pytest.mark.parametrize("batch_size", [1, 3, 4, 26, 5000])
def test_records_in_order_whatever_the_batch(ledger: LedgerBackend, batch_size: int) -> None:
    records = _shuffled_with_ties()
    assert ledger.insert(records) == 26
    assert list(ledger.records(batch_size=batch_size)) == sorted(records, key=_key)


def test_records_stream_one_query_per_batch(ledger: LedgerBackend, queries: list[str]) -> None:
    ledger.insert(_shuffled_with_ties())
    queries.clear()
    pages = ledger.records(batch_size=10)
    assert queries == []  # nothing runs before the first next()
    first = next(pages)
    assert first.start_ns == T0
    assert len(queries) == 1
    rest = list(pages)
    assert len(rest) == 25
    assert len(queries) == 3  # 10 + 10 + 6 rows: the short page ends it
    assert all("LIMIT" in sql for sql in queries)


def test_records_exact_multiple_of_batch(ledger: LedgerBackend, queries: list[str]) -> None:
    ledger.insert([make_record(i) for i in range(9)])
    queries.clear()
    assert len(list(ledger.records(batch_size=3))) == 9
    assert len(queries) == 4  # the fourth, empty page proves the end


def test_records_with_filters(ledger: LedgerBackend) -> None:
    records = _shuffled_with_ties()
    ledger.insert(records)
    since, until = T0 + 1000, T0 + 4000
    keep = sorted((r for r in records if since <= r.start_ns < until), key=_key)
    assert list(ledger.records(Filters(since_ns=since, until_ns=until), batch_size=2)) == keep


BAD_FILTERS = [
    Filters(equals={"trace_id": "x"}),  # a column, but not a dimension
    Filters(equals={"team = team OR 1": "x"}),
    Filters(equals={'team"; DROP TABLE llm_usage; --': "x"}),
    Filters(equals={"team": 5}),  # type: ignore[dict-item]
    Filters(equals={"day": "2025-1-1"}),
    Filters(equals={"day": "2025-02-30"}),
    Filters(equals={"hour": "2025-01-01 00"}),
    Filters(equals={"month": "2025-13"}),
    Filters(equals={"day": None}),
    Filters(equals={"priced": "maybe"}),
    Filters(since_ns="0"),  # type: ignore[arg-type]
    Filters(until_ns=1.5),  # type: ignore[arg-type]
    Filters(equals=[("team", "x")]),  # type: ignore[arg-type]
]


@pytest.mark.parametrize("filters", BAD_FILTERS)
def test_bad_filters_are_rejected_before_any_query(
    ledger: LedgerBackend, queries: list[str], filters: Filters
) -> None:
    with pytest.raises(ValueError):
        ledger.totals(filters)
    with pytest.raises(ValueError):
        ledger.group(["team"], filters)
    with pytest.raises(ValueError):
        ledger.records(filters)  # eagerly, not at the first next()
    assert queries == []


@pytest.mark.parametrize(
    "by",
    [[], ["cost_nanos"], ["team", "team"], ["team; DROP TABLE llm_usage"], "team", [""], ["Team"]],
)
def test_bad_group_by_is_rejected(ledger: LedgerBackend, queries: list[str], by: Any) -> None:
    with pytest.raises(ValueError):
        ledger.group(by)
    assert queries == []


def test_bad_limits_and_batch_sizes(ledger: LedgerBackend) -> None:
    for limit in (-1, 1.5, "3", True):
        with pytest.raises(ValueError, match="limit"):
            ledger.group(["team"], limit=limit)  # type: ignore[arg-type]
    for size in (0, -5, 2.0, None):
        with pytest.raises(ValueError, match="batch_size"):
            ledger.records(batch_size=size)  # type: ignore[arg-type]
    ledger.insert([make_record(1)])
    assert ledger.count() == 1  # and the table survived all of the above
