"""The synthetic usage generator: deterministic, priced exactly by the catalog, realistic in shape."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone

import pytest

from otel_llmcost.analytics._synthetic import SyntheticUsage, cost_columns
from otel_llmcost.ledger import LedgerRecord
from otel_llmcost.pricing import Pricer, get_pricer
from otel_llmcost.usage import Usage

NS_PER_DAY = 86_400_000_000_000
SPEC = SyntheticUsage(seed=11, days=120, end=date(2026, 1, 1), calls_per_day=60)


@pytest.fixture(scope="module")
def records() -> list[LedgerRecord]:
    return list(SPEC.records())


def _day(record: LedgerRecord) -> date:
    return date(1970, 1, 1) + timedelta(days=record.start_ns // NS_PER_DAY)


def test_the_same_seed_gives_the_same_records_and_another_seed_others(records: list[LedgerRecord]) -> None:
    assert list(SPEC.records()) == records
    assert (
        list(SyntheticUsage(seed=12, days=120, end=date(2026, 1, 1), calls_per_day=60).records()) != records
    )
    assert len({(r.trace_id, r.span_id) for r in records}) == len(records)


def test_records_cover_the_days_before_end_in_start_order(records: list[LedgerRecord]) -> None:
    starts = [r.start_ns for r in records]
    assert starts == sorted(starts)
    assert _day(records[0]) == date(2025, 9, 3) == SPEC.start
    assert _day(records[-1]) == date(2025, 12, 31)
    assert len({_day(r) for r in records}) == 120
    assert all(r.end_ns > r.start_ns and r.ingested_ns > r.end_ns for r in records)


def test_every_cost_is_the_catalog_price_of_the_usage(records: list[LedgerRecord]) -> None:
    pricer = get_pricer()
    for record in records:
        usage = Usage(
            input=record.input_tokens, cache_read=record.cache_read_tokens,
            cache_write_5m=record.cache_write_5m_tokens, cache_write_1h=record.cache_write_1h_tokens,
            output=record.output_tokens, reasoning=record.reasoning_tokens,
        )  # fmt: skip
        at = datetime.fromtimestamp(record.start_ns // 10**9, timezone.utc)
        cost = pricer.price(record.request_model or "", usage, provider=record.provider, at=at)
        assert cost is not None and record.pricing_model == cost.model and record.priced
        columns = cost_columns(cost)
        assert {name: getattr(record, name) for name in columns} == columns
        assert record.cost_nanos == cost.total_nanos


def test_cost_columns_group_buckets_as_the_collector_stores_them() -> None:
    pricer = Pricer()
    entry = pricer.require("claude-sonnet-4-6", "anthropic")
    cost = pricer.price_entry(
        entry, Usage(input=3, cache_write_5m=1, cache_write_1h=1, output=2, reasoning=1)
    )
    assert cost is not None
    # $3/M input, $3.75/M and $6/M cache writes (one column), $15/M output and reasoning
    assert cost_columns(cost) == {
        "cost_nanos": 63_750,
        "cost_input_nanos": 9_000,
        "cost_cache_write_nanos": 9_750,
        "cost_output_nanos": 30_000,
        "cost_reasoning_nanos": 15_000,
    }


def test_the_organisation_is_varied(records: list[LedgerRecord]) -> None:
    assert {r.provider for r in records} == {"anthropic", "openai", "gcp.gemini"}
    assert len({r.request_model for r in records}) >= 7
    assert len({r.team for r in records}) >= 7
    assert len({r.feature for r in records}) == 8
    assert len({r.user for r in records}) >= 60
    assert {r.operation for r in records} == {"chat", "embeddings"}


def test_weekdays_are_busier_than_weekends_and_traffic_grows(records: list[LedgerRecord]) -> None:
    calls = Counter(_day(r) for r in records)
    weekday = statistics.mean(n for d, n in calls.items() if d.weekday() < 4)
    weekend = statistics.mean(n for d, n in calls.items() if d.weekday() >= 5)
    assert weekday > 2.5 * weekend
    days = sorted(calls)
    first, last = sum(calls[d] for d in days[:28]), sum(calls[d] for d in days[-28:])
    assert last > 1.15 * first  # 8% a month over three months: about 1.26


def test_the_habits_insights_look_for_are_there(records: list[LedgerRecord]) -> None:
    by_feature: dict[str | None, list[LedgerRecord]] = defaultdict(list)
    for record in records:
        by_feature[record.feature].append(record)
    faq = Counter(r.prompt_fingerprint for r in by_feature["faq-bot"])
    assert max(faq.values()) > 5  # popular questions come back
    assert any(r.finish_reason == "length" for r in by_feature["doc-summarizer"])
    assert all(r.cache_write_1h_tokens == 4096 for r in by_feature["code-review"] if r.status == "ok")
    assert any(r.cache_read_tokens for r in by_feature["support-chat"])
    assert any(r.status == "error" and r.cost_nanos > 0 for r in records)
    assert any(r.status == "error" and r.cost_nanos == 0 for r in records)
    triage = by_feature["ticket-triage"]
    assert statistics.median(r.output_tokens for r in triage) < 20 and triage[0].max_tokens == 4096


def test_spikes_make_some_hours_several_times_busier() -> None:
    calm = SyntheticUsage(seed=3, days=60, calls_per_day=200, spike_days_per_month=0.0)
    spiky = SyntheticUsage(seed=3, days=60, calls_per_day=200, spike_days_per_month=30.0)
    assert sum(1 for _ in spiky.records()) > 1.2 * sum(1 for _ in calm.records())


def test_impossible_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="days must be"):
        SyntheticUsage(days=0)
    with pytest.raises(ValueError, match="weekday_factors"):
        SyntheticUsage(weekday_factors=(1.0,) * 6)
