"""Insights on a crafted ledger: every kind found, with its exact evidence, spend and saving.

Prices (bundled catalog, USD per token): claude-opus-4-7 input 5e-6, output 25e-6;
claude-sonnet-5 input 2e-6, output 10e-6; claude-sonnet-4-6 input 3e-6, cache read 0.3e-6,
5-minute write 3.75e-6, 1-hour write 6e-6, output 15e-6; gpt-4.1 input 2e-6, output 8e-6.
The window is March 2025 up to the 31st: exactly 30 days, so savings per month equal the window's.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from otel_llmcost.analytics._insights import DAY_NS, InsightsReport, find_insights, parse_duration, per_month
from otel_llmcost.analytics._insights_rules import Rules
from otel_llmcost.analytics._insights_scan import ScopeStats
from otel_llmcost.budgets._policy import DEFAULT_TIERS
from otel_llmcost.ledger import LedgerBackend, LedgerRecord, open_ledger
from otel_llmcost.pricing import Pricer
from tests.analytics.report_data import ENGINES, ledger_url
from tests.ledger.support import make_record, ns

SINCE, UNTIL = ns(2025, 3, 1), ns(2025, 3, 31)
T0 = ns(2025, 3, 10, 12)
H, M = 3_600_000_000_000, 60_000_000_000
_ids = iter(range(10**6))


def row(model: str, provider: str, feature: str, start: int, cost: int, **fields: Any) -> LedgerRecord:
    return make_record(
        next(_ids), start_ns=start, request_model=model, response_model=model, provider=provider,
        pricing_model=f"{provider}/{model}", feature=feature, cost_nanos=cost, **fields,
    )  # fmt: skip


def crafted() -> list[LedgerRecord]:
    mini, opus, sonnet = (
        ("gpt-4o-mini", "openai"),
        ("claude-opus-4-7", "anthropic"),
        ("claude-sonnet-4-6", "anthropic"),
    )
    rows = [
        # faq: prompt "a" repeats within a day of the call that filled the cache (3 repeats: $370 nano)
        row(*mini, "faq", T0, 100, prompt_fingerprint="a"),
        row(*mini, "faq", T0 + H, 110, prompt_fingerprint="a"),
        row(*mini, "faq", T0 + 23 * H, 120, prompt_fingerprint="a"),
        row(*mini, "faq", T0 + 25 * H, 130, prompt_fingerprint="a"),  # a day after the fill: a miss, refills
        row(*mini, "faq", T0 + 26 * H, 140, prompt_fingerprint="a"),
        row(*mini, "faq", T0 + 2 * H, 50, prompt_fingerprint="b"),
        row(
            *mini, "faq", T0 + 3 * H, 60, prompt_fingerprint="b", status="error", error_type="RateLimitError"
        ),
        row("gpt-4o", "openai", "faq", T0 + 2 * H, 70, prompt_fingerprint="a"),  # another model: no repeat
        row(*mini, "faq", ns(2025, 2, 28, 23), 999, prompt_fingerprint="a"),  # before the window
        row(*mini, "faq", UNTIL, 999, prompt_fingerprint="a"),  # at its end: outside
        # summarize: answers cut at max_tokens, in each provider's words
        row("gpt-4.1", "openai", "summarize", T0, 1000, finish_reason="length"),
        row("gpt-4.1", "openai", "summarize", T0, 2000, finish_reason="length"),
        row("gpt-4.1", "openai", "summarize", T0, 500, finish_reason="stop"),
        row(*sonnet, "summarize", T0, 700, finish_reason="max_tokens"),
        row(*sonnet, "summarize", T0, 300, finish_reason="end_turn"),
        row("gemini-2.5-flash", "gcp.gemini", "summarize", T0, 400, finish_reason="MAX_TOKENS"),
        # agent: failures, one of them billed
        row("gemini-2.5-pro", "gcp.gemini", "agent", T0, 0, status="error", error_type="RateLimitError"),
        row("gemini-2.5-pro", "gcp.gemini", "agent", T0, 0, status="error", error_type="RateLimitError"),
        row("gemini-2.5-pro", "gcp.gemini", "agent", T0, 900, status="error", error_type="APITimeoutError"),
        row("gemini-2.5-pro", "gcp.gemini", "agent", T0, 100),
    ]
    # triage: a premium model writing 1..20-token labels under max_tokens 4096, priced by the catalog
    rows += [
        row(
            *opus,
            "triage",
            T0 + i,
            5_000_000 + 25_000 * i,
            input_tokens=1000,
            output_tokens=i,
            max_tokens=4096,
        )
        for i in range(1, 21)
    ]
    # rag: 2000-token prompts, 10% read from the prompt cache
    rows += [
        row(*sonnet, "rag", T0 + i, 6_210_000, input_tokens=1800, cache_read_tokens=200, output_tokens=50)
        for i in range(20)
    ]
    # review: cache writes, some read back within their TTL, some not, the last undecided
    write_1h = {"input_tokens": 100, "cache_write_1h_tokens": 4096, "cost_cache_write_nanos": 24_576_000}
    write_5m = {"input_tokens": 100, "cache_write_5m_tokens": 2048, "cost_cache_write_nanos": 7_680_000}
    rows += [
        row(*sonnet, "review", T0, 24_876_000, **write_1h),
        row(*sonnet, "review", T0 + 10 * M, 1_528_800, input_tokens=100, cache_read_tokens=4096),  # reads it
        row(*sonnet, "review", T0 + 20 * M, 7_980_000, **write_5m),
        row(
            *sonnet, "review", T0 + 30 * M, 607_200, input_tokens=100, cache_read_tokens=1024
        ),  # too late, too small
        row(*sonnet, "review", T0 + 40 * M, 24_876_000, **write_1h),  # never read
        row(*sonnet, "review", UNTIL - M, 7_980_000, **write_5m),  # its TTL outlives the window
    ]
    # essay: a premium model with long answers: no insight
    rows += [
        row("gpt-4.1", "openai", "essay", T0 + i, 9_000_000, input_tokens=500, output_tokens=1000)
        for i in range(20)
    ]
    return rows


@pytest.fixture(params=ENGINES, scope="module")
def ledger(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LedgerBackend]:
    for url in ledger_url(request.param, tmp_path_factory.mktemp("insights")):
        with open_ledger(url) as backend:
            backend.insert(crafted())
            yield backend


@pytest.fixture(scope="module")
def report(ledger: LedgerBackend) -> InsightsReport:
    return find_insights(ledger, since_ns=SINCE, until_ns=UNTIL)


def scope(provider: str, model: str, feature: str) -> dict[str, str]:
    return {"provider": provider, "model": model, "feature": feature}


def test_every_insight_with_its_exact_evidence_spend_and_saving(report: InsightsReport) -> None:
    found = [
        (i.kind, dict(i.scope), dict(i.evidence), i.spend_nanos, i.saving_nanos) for i in report.insights
    ]
    assert found == [
        ("model_right_sizing", scope("anthropic", "claude-opus-4-7", "triage"),
         {"requests": 20, "p95_output_tokens": 19, "suggested_model": "claude-sonnet-5", "suggested_cost_usd": "0.0421"},
         105_250_000, 63_150_000),  # 20 x 1000 x 2e-6 + 210 x 10e-6 = $0.0421
        ("low_cache_hit_ratio", scope("anthropic", "claude-sonnet-4-6", "rag"),
         {"requests": 20, "input_tokens": 40_000, "cache_read_tokens": 4_000, "hit_ratio": 0.1},
         124_200_000, 43_200_000),  # 16,000 more tokens read at 2.7e-6 off
        ("unread_cache_writes", scope("anthropic", "claude-sonnet-4-6", "review"),
         {"cache_writes": 4, "unread_writes": 2, "unread_tokens": 6_144},
         32_256_000, 13_824_000),  # minus 6144 tokens as plain input at 3e-6
        ("truncated_responses", scope("openai", "gpt-4.1", "summarize"), {"requests": 3, "truncated": 2}, 3000, 3000),
        ("failed_calls", scope("gcp.gemini", "gemini-2.5-pro", "agent"),
         {"requests": 4, "failed": 3, "error:APITimeoutError": 1, "error:RateLimitError": 2}, 900, 900),
        ("truncated_responses", scope("anthropic", "claude-sonnet-4-6", "summarize"), {"requests": 2, "truncated": 1}, 700, 700),
        ("truncated_responses", scope("gcp.gemini", "gemini-2.5-flash", "summarize"), {"requests": 1, "truncated": 1}, 400, 400),
        ("duplicate_requests", scope("openai", "gpt-4o-mini", "faq"),
         {"requests": 6, "duplicates": 3, "repeated_prompts": 1}, 370, 370),
        ("failed_calls", scope("openai", "gpt-4o-mini", "faq"),
         {"requests": 7, "failed": 1, "error:RateLimitError": 1}, 60, 60),
        ("max_tokens_overprovisioned", scope("anthropic", "claude-opus-4-7", "triage"),
         {"requests": 20, "max_tokens": 4096, "p95_output_tokens": 19, "suggested_max_tokens": 64},
         105_250_000, 0),
    ]  # fmt: skip
    assert all(i.monthly_saving_nanos == i.saving_nanos for i in report.insights)  # a 30-day window


def test_the_window_totals_and_cache_hit_ratio(report: InsightsReport) -> None:
    assert (report.requests, report.spend_nanos) == (84, 477_304_680)
    assert (report.input_tokens, report.cache_read_tokens) == (88_008, 9_120)
    assert report.saving_nanos == 120_179_430


def test_the_json_shape(report: InsightsReport) -> None:
    data = report.to_dict()
    assert {k: v for k, v in data.items() if k not in ("insights", "anomalies")} == {
        "since": "2025-03-01T00:00:00Z", "until": "2025-03-31T00:00:00Z", "filters": {},
        "requests": 84, "spend_usd": "0.47730468", "saving_usd": "0.12017943",
        "monthly_saving_usd": "0.12017943", "cache_hit_ratio": 0.1036, "daily_cost_threshold_usd": None,
    }  # fmt: skip
    assert data["insights"][0] == {
        "kind": "model_right_sizing",
        "scope": {"provider": "anthropic", "model": "claude-opus-4-7", "feature": "triage"},
        "evidence": {
            "requests": 20,
            "p95_output_tokens": 19,
            "suggested_model": "claude-sonnet-5",
            "suggested_cost_usd": "0.0421",
        },
        "spend_usd": "0.10525",
        "saving_usd": "0.06315",
        "monthly_saving_usd": "0.06315",
        "suggestion": "claude-opus-4-7 is a premium model, yet 95% of these answers are at most 19 tokens; "
        "try claude-sonnet-5 (balanced tier) on this feature",
    }
    # The last week's only call, late on the 30th, towers over that hour of earlier weeks.
    assert [(a["kind"], a["start"]) for a in data["anomalies"]] == [
        ("hourly_cost", "2025-03-30T23:00:00Z"), ("hourly_tokens", "2025-03-30T23:00:00Z"),
    ]  # fmt: skip


def test_a_shorter_duplicate_window_finds_fewer_repeats(ledger: LedgerBackend) -> None:
    report = find_insights(
        ledger, since_ns=SINCE, until_ns=UNTIL, duplicate_window_ns=2 * H, scope={"feature": "faq"}
    )
    [dup] = [i for i in report.insights if i.kind == "duplicate_requests"]
    assert (dup.evidence["duplicates"], dup.saving_nanos) == (2, 250)  # T0+1h and T0+26h only
    assert report.filters == {"feature": "faq"} and report.requests == 8


def test_a_policy_tier_map_picks_the_suggested_model(ledger: LedgerBackend) -> None:
    tiers = {"premium": ("claude-opus-4-7",), "balanced": (), "cheap": ("gpt-4o-mini", "claude-haiku-4-5")}
    report = find_insights(ledger, since_ns=SINCE, until_ns=UNTIL, scope={"feature": "triage"}, tiers=tiers)
    [right] = [i for i in report.insights if i.kind == "model_right_sizing"]
    # haiku-4-5: 20,000 x 1e-6 + 210 x 5e-6 = $0.02105 (gpt-4o-mini is another provider's)
    assert (right.evidence["suggested_model"], right.saving_nanos) == (
        "claude-haiku-4-5",
        105_250_000 - 21_050_000,
    )
    none = find_insights(ledger, since_ns=SINCE, until_ns=UNTIL, scope={"feature": "triage"}, tiers={})
    assert [i.kind for i in none.insights] == ["max_tokens_overprovisioned"]


def test_savings_scale_to_thirty_days_and_bad_windows_are_refused(ledger: LedgerBackend) -> None:
    half = find_insights(ledger, since_ns=SINCE, until_ns=ns(2025, 3, 16), scope={"feature": "agent"})
    [failed] = half.insights
    assert (failed.saving_nanos, failed.monthly_saving_nanos) == (900, 1800)
    assert per_month(1, 7 * DAY_NS) == 4 and per_month(1, 60 * DAY_NS) == 1  # 4.29 and 0.5, half up
    with pytest.raises(ValueError, match="until must be later"):
        find_insights(ledger, since_ns=UNTIL, until_ns=SINCE)
    with pytest.raises(ValueError, match="cannot filter"):
        find_insights(ledger, since_ns=SINCE, until_ns=UNTIL, scope={"colour": "red"})


def test_an_empty_window_has_no_insights(ledger: LedgerBackend) -> None:
    report = find_insights(ledger, since_ns=ns(2024, 1, 1), until_ns=ns(2024, 2, 1))
    assert (report.requests, report.spend_nanos, report.insights, report.anomalies, report.cache_hit_ratio) == (
        0, 0, (), (), None,
    )  # fmt: skip


def test_durations() -> None:
    assert [parse_duration(t) for t in ("90s", "30m", "24h", "7d")] == [
        90 * 10**9,
        30 * M,
        24 * H,
        7 * DAY_NS,
    ]
    for bad in ("0h", "1w", "h", "-1h", "1.5h"):
        with pytest.raises(ValueError, match="expected a duration"):
            parse_duration(bad)


def test_days_above_a_threshold_join_the_anomalies(ledger: LedgerBackend) -> None:
    report = find_insights(
        ledger, since_ns=SINCE, until_ns=UNTIL, daily_threshold_nanos=100_000_000, anomaly_days=0
    )
    assert [(a.kind, a.start_ns, a.value) for a in report.anomalies] == [
        ("daily_cost", ns(2025, 3, 10), 469_324_290)
    ]
    assert report.to_dict()["daily_cost_threshold_usd"] == "0.1"


def test_a_low_hit_ratio_is_not_flagged_where_what_is_cached_is_not_reused() -> None:
    rules = Rules(Pricer(), DEFAULT_TIERS, date(2025, 3, 31))
    stats = ScopeStats(
        "anthropic", requests=20, tokens=[36_000, 4_000, 0, 0, 1_000, 0, 0, 0], outputs=[50] * 20
    )
    assert [f[0] for f in rules.cache_hits("claude-sonnet-4-6", stats)] == ["low_cache_hit_ratio"]
    stats.cache_writes, stats.unread_writes = 10, 6  # most writes never read: caching more is no cure
    assert rules.cache_hits("claude-sonnet-4-6", stats) == []
    stats.unread_writes = 5
    assert [f[3] for f in rules.cache_hits("claude-sonnet-4-6", stats)] == [43_200_000]
    assert rules.cache_hits("no-such-model", stats) == []  # no price, no estimate
