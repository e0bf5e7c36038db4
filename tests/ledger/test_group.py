"""Totals and groups: every dimension against a reference aggregation, plus hand-computed cases."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import pytest

from otel_llmcost.ledger import GROUPABLE, Filters, Group, LedgerBackend, LedgerRecord, Totals
from tests.ledger.support import make_record, ns

# Spans the end of 2024 in UTC: the same minute is in two days, two months and two years.
BEFORE_MIDNIGHT = ns(2024, 12, 31, 23, 59, 59, 999_999_999)
MIDNIGHT = ns(2025, 1, 1)


def _dataset() -> list[LedgerRecord]:
    teams = ["search", "support", None]
    providers = [("openai", "gpt-4o"), ("anthropic", "claude-sonnet-4-5"), ("gcp.gemini", "gemini-2.5-pro")]
    records = []
    for i in range(30):
        provider, model = providers[i % 3]
        records.append(
            make_record(
                i,
                start_ns=BEFORE_MIDNIGHT - 3_600_000_000_000 + i * 300_000_000_000 + (i % 2),
                provider=provider,
                request_model=None if i % 7 == 0 else model,
                response_model=f"{model}-001",
                pricing_model=None if i % 11 == 0 else f"{provider}/{model}",
                priced=i % 11 != 0,
                operation="chat" if i % 4 else "embeddings",
                service=f"svc-{i % 2}",
                environment="prod" if i % 5 else "dev",
                namespace=None if i % 3 else "ns",
                status="error" if i % 6 == 0 else "ok",
                error_type="RateLimitError" if i % 6 == 0 else None,
                finish_reason="stop" if i % 6 else None,
                service_tier=None if i % 2 else "default",
                team=teams[i % 3],
                project=f"p{i % 4}",
                user=f"u{i % 5}",
                feature=f"f{i % 2}",
                thread=f"t{i % 3}",
                run=f"r{i % 6}",
                input_tokens=10 * i,
                cache_read_tokens=i,
                cache_write_5m_tokens=i % 3,
                cache_write_1h_tokens=i % 2,
                input_audio_tokens=i % 4,
                output_tokens=3 * i,
                reasoning_tokens=i % 5,
                output_audio_tokens=i % 2,
                cost_nanos=1_000_000_007 * (i % 9 + 1),  # ties across groups exercise the key order
            )
        )
    return records


DATASET = _dataset()


def _label(record: LedgerRecord, dim: str) -> str | None:
    moment = datetime.fromtimestamp(record.start_ns // 10**9, timezone.utc)
    formats = {"day": "%Y-%m-%d", "hour": "%Y-%m-%dT%H", "month": "%Y-%m"}
    if dim in formats:
        return moment.strftime(formats[dim])
    if dim == "model":
        return record.request_model if record.request_model is not None else record.response_model
    value = getattr(record, dim)
    assert value is None or isinstance(value, str)
    return value


def reference_totals(records: Sequence[LedgerRecord]) -> Totals:
    return Totals(
        requests=len(records),
        errors=sum(r.status == "error" for r in records),
        unpriced=sum(not r.priced for r in records),
        cost_nanos=sum(r.cost_nanos for r in records),
        input_tokens=sum(r.total_input_tokens for r in records),
        output_tokens=sum(r.total_output_tokens for r in records),
        cache_read_tokens=sum(r.cache_read_tokens for r in records),
        cache_write_tokens=sum(r.cache_write_5m_tokens + r.cache_write_1h_tokens for r in records),
        reasoning_tokens=sum(r.reasoning_tokens for r in records),
    )


def reference_groups(records: Sequence[LedgerRecord], by: Sequence[str]) -> list[Group]:
    buckets: dict[tuple[str | None, ...], list[LedgerRecord]] = {}
    for record in records:
        buckets.setdefault(tuple(_label(record, d) for d in by), []).append(record)
    groups = [Group(dict(zip(by, key, strict=True)), reference_totals(rs)) for key, rs in buckets.items()]

    def order(group: Group) -> tuple[Any, ...]:
        return (-group.totals.cost_nanos, tuple((v is not None, v or "") for v in group.key.values()))

    return sorted(groups, key=order)


@pytest.fixture
def loaded(ledger: LedgerBackend) -> LedgerBackend:
    assert ledger.insert(DATASET) == len(DATASET)
    return ledger


def test_totals_match_reference(loaded: LedgerBackend) -> None:
    assert loaded.totals() == reference_totals(DATASET)


def test_group_by_every_dimension(loaded: LedgerBackend) -> None:
    for dim in GROUPABLE:
        assert loaded.group([dim]) == reference_groups(DATASET, [dim]), dim


@pytest.mark.parametrize(
    "by", [["team", "day"], ["provider", "model", "hour"], ["month", "user"], ["day", "month", "hour"]]
)
def test_group_by_several_dimensions(loaded: LedgerBackend, by: list[str]) -> None:
    assert loaded.group(by) == reference_groups(DATASET, by)


def test_time_buckets_across_utc_midnight(ledger: LedgerBackend) -> None:
    ledger.insert(
        [
            make_record(1, start_ns=BEFORE_MIDNIGHT, cost_nanos=1, input_tokens=1),
            make_record(2, start_ns=MIDNIGHT, cost_nanos=10, input_tokens=2),
            make_record(3, start_ns=MIDNIGHT + 3_599_999_999_999, cost_nanos=100, input_tokens=4),
            make_record(4, start_ns=MIDNIGHT + 3_600_000_000_000, cost_nanos=1000, input_tokens=8),
        ]
    )

    def summary(by: str) -> list[tuple[str | None, int, int]]:
        return [(g.key[by], g.totals.requests, g.totals.cost_nanos) for g in ledger.group([by])]

    assert summary("day") == [("2025-01-01", 3, 1110), ("2024-12-31", 1, 1)]
    assert summary("month") == [("2025-01", 3, 1110), ("2024-12", 1, 1)]
    assert summary("hour") == [("2025-01-01T01", 1, 1000), ("2025-01-01T00", 2, 110), ("2024-12-31T23", 1, 1)]
    day = ledger.group(["day"], Filters(equals={"day": "2025-01-01"}))
    assert day == [Group({"day": "2025-01-01"}, Totals(requests=3, cost_nanos=1110, input_tokens=14))]
    assert ledger.totals(Filters(equals={"hour": "2025-01-01T00"})).cost_nanos == 110
    assert ledger.totals(Filters(equals={"month": "2024-12"})).cost_nanos == 1


def test_order_is_cost_then_key_with_none_first(ledger: LedgerBackend) -> None:
    ledger.insert(
        [
            make_record(1, team="b", cost_nanos=5),
            make_record(2, team=None, cost_nanos=5),
            make_record(3, team="a", cost_nanos=5),
            make_record(4, team="B", cost_nanos=5),  # code-point order: "B" < "a" < "b"
            make_record(5, team="z", cost_nanos=6),
        ]
    )
    assert [g.key["team"] for g in ledger.group(["team"])] == ["z", None, "B", "a", "b"]
    assert [g.key["team"] for g in ledger.group(["team"], limit=2)] == ["z", None]
    assert ledger.group(["team"], limit=0) == []


def test_model_is_request_model_else_response_model(ledger: LedgerBackend) -> None:
    ledger.insert(
        [
            make_record(1, request_model="gpt-4o", response_model="gpt-4o-2024-08-06", cost_nanos=1),
            make_record(2, request_model=None, response_model="gpt-4o", cost_nanos=2),
            make_record(3, request_model=None, response_model=None, cost_nanos=4),
        ]
    )
    assert [(g.key, g.totals.cost_nanos) for g in ledger.group(["model"])] == [
        ({"model": None}, 4),
        ({"model": "gpt-4o"}, 3),
    ]
    assert ledger.totals(Filters(equals={"model": "gpt-4o"})).requests == 2


def test_filters(loaded: LedgerBackend) -> None:
    def check(filters: Filters, keep: list[LedgerRecord]) -> None:
        assert loaded.totals(filters) == reference_totals(keep)
        assert loaded.group(["team", "hour"], filters) == reference_groups(keep, ["team", "hour"])
        assert list(loaded.records(filters)) == sorted(
            keep, key=lambda r: (r.start_ns, r.trace_id, r.span_id)
        )

    pivot = DATASET[12].start_ns
    check(Filters(since_ns=pivot), [r for r in DATASET if r.start_ns >= pivot])  # inclusive
    check(Filters(until_ns=pivot), [r for r in DATASET if r.start_ns < pivot])  # exclusive
    check(Filters(since_ns=pivot, until_ns=pivot), [])
    check(Filters(since_ns=pivot, until_ns=pivot + 1), [DATASET[12]])
    check(Filters(equals={"team": "search"}), [r for r in DATASET if r.team == "search"])
    check(Filters(equals={"team": None}), [r for r in DATASET if r.team is None])
    check(Filters(equals={"priced": "false"}), [r for r in DATASET if not r.priced])
    check(Filters(equals={"priced": "true"}), [r for r in DATASET if r.priced])
    check(Filters(equals={"model": "gpt-4o-001"}), [r for r in DATASET if _label(r, "model") == "gpt-4o-001"])
    check(
        Filters(since_ns=pivot, equals={"provider": "openai", "status": "ok", "day": "2025-01-01"}),
        [
            r
            for r in DATASET
            if r.start_ns >= pivot and r.provider == "openai" and r.status == "ok" and r.start_ns >= MIDNIGHT
        ],
    )
    check(Filters(equals={"team": "nobody"}), [])
