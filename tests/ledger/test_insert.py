"""Inserting: exact totals, exactly-once on re-send, every field round-trips (both engines)."""

from __future__ import annotations

import dataclasses
import sqlite3

import psycopg
import pytest

from otel_llmcost.ledger import (
    Filters,
    LedgerBackend,
    LedgerChangedError,
    LedgerClosedError,
    LedgerRecord,
    Totals,
)
from tests.ledger.support import make_record, ns

INT64_MAX = 2**63 - 1

# Every field set, none to its default: ids, big nano amounts, booleans flipped, awkward text.
FULL = LedgerRecord(
    trace_id="0af7651916cd43dd8448eb211c80319c",
    span_id="b7ad6b7169203331",
    start_ns=ns(2025, 3, 10, 12, 0, 0, 123_456_789),
    end_ns=ns(2025, 3, 10, 12, 0, 3, 987_654_321),
    provider="anthropic",
    operation="chat",
    request_model="claude-sonnet-4-5",
    response_model="claude-sonnet-4-5-20250929",
    response_id="msg_01XFDUDYJgAACzvnptvVoYEL",
    pricing_model="anthropic/claude-sonnet-4-5",
    price_version="2025.10",
    priced=False,
    service_tier="priority",
    input_tokens=1,
    cache_read_tokens=2,
    cache_write_5m_tokens=3,
    cache_write_1h_tokens=4,
    output_tokens=5,
    reasoning_tokens=6,
    input_audio_tokens=7,
    output_audio_tokens=8,
    web_search_requests=9,
    usage_estimated=True,
    cost_nanos=10**15,
    cost_input_nanos=10**15 - 1,
    cost_output_nanos=2**53 + 1,  # not representable as a float
    cost_cache_read_nanos=11,
    cost_cache_write_nanos=12,
    cost_reasoning_nanos=13,
    cost_fees_nanos=14,
    reported_cost_nanos=INT64_MAX,
    status="error",
    error_type="overloaded_error",
    finish_reason="max_tokens",
    max_tokens=4096,
    streaming=True,
    service="chat-api",
    environment="prod",
    namespace="payments",
    pod="chat-api-7d9f-x2",
    team="équipe ☃",
    project="p'; DROP TABLE llm_usage; --",
    user="alice@example.com",
    feature="summarize",
    thread="thread-1",
    run="run-1",
    prompt_fingerprint="sha256:9f86d081884c7d65",
    ingested_ns=ns(2025, 3, 10, 12, 0, 5),
)
# The other extreme: every optional field None, every flag False, every count 0.
SPARSE = LedgerRecord(
    trace_id="f" * 32, span_id="0" * 16, start_ns=0, end_ns=0, provider="openai", operation="embeddings"
)


def test_full_record_sets_every_field() -> None:
    defaults = LedgerRecord(trace_id="", span_id="", start_ns=0, end_ns=0, provider="", operation="")
    same = [f.name for f in dataclasses.fields(FULL) if getattr(FULL, f.name) == getattr(defaults, f.name)]
    assert same == []


@pytest.mark.parametrize("record", [FULL, SPARSE], ids=["full", "sparse"])
def test_dict_round_trip(record: LedgerRecord) -> None:
    assert LedgerRecord.from_dict(record.to_dict()) == record
    with pytest.raises(ValueError, match="unknown ledger field"):
        LedgerRecord.from_dict({**record.to_dict(), "prompt": "no"})


def test_every_field_round_trips_through_the_database(ledger: LedgerBackend) -> None:
    assert ledger.insert([FULL, SPARSE]) == 2
    got = list(ledger.records())
    assert got == [SPARSE, FULL]
    for stored, original in zip(got, [SPARSE, FULL], strict=True):
        for f in dataclasses.fields(LedgerRecord):
            value, expected = getattr(stored, f.name), getattr(original, f.name)
            assert type(value) is type(expected), f.name  # True must come back as True, not 1


def test_insert_and_exact_totals(ledger: LedgerBackend) -> None:
    records = [
        make_record(
            1,
            input_tokens=100,
            cache_read_tokens=1000,
            cache_write_5m_tokens=10,
            cache_write_1h_tokens=20,
            input_audio_tokens=3,
            output_tokens=50,
            reasoning_tokens=200,
            output_audio_tokens=7,
            cost_nanos=1_234_567,
        ),
        make_record(2, input_tokens=5, output_tokens=6, cost_nanos=10**15, status="error"),
        make_record(3, priced=False, pricing_model=None, input_tokens=42),
    ]
    assert ledger.insert(records) == 3
    assert ledger.count() == 3
    assert ledger.totals() == Totals(
        requests=3,
        errors=1,
        unpriced=1,
        cost_nanos=1_000_000_001_234_567,
        input_tokens=1180,  # 100 + 1000 + 10 + 20 + 3, + 5, + 42
        output_tokens=263,  # 50 + 200 + 7, + 6
        cache_read_tokens=1000,
        cache_write_tokens=30,
        reasoning_tokens=200,
    )


def test_resending_counts_nothing_twice(ledger: LedgerBackend) -> None:
    first = [make_record(i, cost_nanos=i) for i in range(10)]
    assert ledger.insert(first) == 10
    assert ledger.insert(first) == 0
    # old rows, new rows, a key repeated inside the batch, and a new span of a known trace
    sibling = dataclasses.replace(make_record(3, cost_nanos=1000), span_id="a" * 16)
    mixed = [*first[3:8], *(make_record(i, cost_nanos=i) for i in range(10, 13))]
    mixed += [make_record(11, cost_nanos=999), sibling]
    assert ledger.insert(mixed) == 4
    assert ledger.count() == 14
    totals = ledger.totals()
    assert totals.requests == 14
    assert totals.cost_nanos == sum(range(13)) + 1000  # the repeat within the batch kept its first copy


def test_a_failing_batch_stores_nothing(ledger: LedgerBackend) -> None:
    ledger.insert([make_record(0)])
    bad = make_record(2, provider=None)  # NOT NULL column
    with pytest.raises((sqlite3.IntegrityError, psycopg.IntegrityError), match=r"(?i)not null|not-null"):
        ledger.insert([make_record(1), bad, make_record(3)])
    assert ledger.count() == 1
    assert ledger.insert([make_record(1), make_record(3)]) == 2  # the ledger is still usable


def test_empty_ledger(ledger: LedgerBackend) -> None:
    assert ledger.insert([]) == 0
    assert ledger.count() == 0
    assert ledger.totals() == Totals()
    assert ledger.totals(Filters(since_ns=0, equals={"team": "x"})) == Totals()
    assert ledger.group(["provider"]) == []
    assert list(ledger.records()) == []
    assert ledger.delete_all() == 0


def test_delete_all(ledger: LedgerBackend) -> None:
    records = [make_record(i) for i in range(7)]
    ledger.insert(records)
    assert ledger.delete_all() == 7
    assert ledger.count() == 0
    assert ledger.totals() == Totals()
    assert ledger.insert(records) == 7  # the keys are free again


def test_delete_all_expecting_a_count_deletes_only_that_many(ledger: LedgerBackend) -> None:
    ledger.insert([make_record(i) for i in range(7)])
    with pytest.raises(LedgerChangedError, match="expected 6 rows, found 7: nothing was deleted") as caught:
        ledger.delete_all(expected=6)
    assert (caught.value.expected, caught.value.found) == (6, 7)
    assert ledger.count() == 7  # rolled back
    ledger.insert([make_record(8)])  # the writer is free again after the refusal
    assert ledger.delete_all(expected=8) == 8
    assert ledger.count() == 0


def test_closed_ledger_refuses_work(ledger: LedgerBackend) -> None:
    ledger.insert([make_record(1)])
    ledger.close()
    ledger.close()  # idempotent
    with pytest.raises(LedgerClosedError):
        ledger.insert([make_record(2)])
    with pytest.raises(LedgerClosedError):
        ledger.totals()


def test_context_manager_closes(url: str) -> None:
    from otel_llmcost.ledger import open_ledger

    with open_ledger(url) as ledger:
        assert isinstance(ledger, LedgerBackend)
        assert ledger.insert([make_record(1)]) == 1
    with pytest.raises(LedgerClosedError):
        ledger.count()
    with open_ledger(url) as again:
        assert again.count() == 1


def test_insert_new_returns_exactly_the_new_records(ledger: LedgerBackend) -> None:
    first = [make_record(0, trace_id="a" * 32, span_id=f"{i:016x}") for i in range(3)]
    assert ledger.insert_new(first) == first
    again = [first[1], make_record(0, trace_id="a" * 32, span_id="f" * 16), first[1]]
    assert ledger.insert_new(again) == [again[1]]
    assert ledger.count() == 4


def test_one_call_from_two_emitters_is_counted_once(ledger: LedgerBackend) -> None:
    """Same trace, provider and response id: the anthropic SDK's span beside another emitter's."""
    ours = make_record(0, trace_id="b" * 32, span_id="1" * 16, provider="anthropic", response_id="msg_1")
    sdk = make_record(0, trace_id="b" * 32, span_id="2" * 16, provider="anthropic", response_id="msg_1")
    other_trace = make_record(
        0, trace_id="c" * 32, span_id="3" * 16, provider="anthropic", response_id="msg_1"
    )
    no_id = make_record(0, trace_id="b" * 32, span_id="4" * 16, provider="anthropic", response_id=None)
    assert ledger.insert_new([ours, sdk]) == [ours]
    assert ledger.insert_new([sdk, other_trace, no_id]) == [other_trace, no_id]
    assert ledger.count() == 3


def test_nul_is_replaced_in_every_text_column_and_a_changed_key_is_not_reported_new(
    ledger: LedgerBackend,
) -> None:
    """NUL becomes U+FFFD wherever it is; a record whose key it changed is stored under the new
    key, so it is not among the records reported written (its key was not)."""
    clean = make_record(1, team="t")
    dirty = make_record(2, team="a\x00b", request_model="\x00")
    renamed = make_record(3, span_id="\x00" + "3" * 15)
    assert ledger.insert_new([clean, dirty, renamed]) == [clean, dirty]
    stored = {(r.span_id, r.team, r.request_model) for r in ledger.records()}
    assert stored == {
        (clean.span_id, "t", "gpt-4o"),
        (dirty.span_id, "a\ufffdb", "\ufffd"),
        ("\ufffd" + "3" * 15, None, "gpt-4o"),
    }


def test_a_value_of_the_wrong_type_in_a_text_column_still_fails_the_batch(ledger: LedgerBackend) -> None:
    with pytest.raises(TypeError):
        ledger.insert([make_record(1), make_record(2, team=5)])
    assert ledger.count() == 0
