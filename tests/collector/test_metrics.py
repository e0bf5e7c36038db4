"""CostMetrics: exact Prometheus exposition of ledger records, with bounded labels."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from otel_llmcost.collector._metrics import DURATION_BUCKETS, CostMetrics
from otel_llmcost.collector._normalize import Normalizer
from otel_llmcost.ledger._model import LedgerRecord
from otel_llmcost.pricing import Pricer
from tests.collector import spans as S


def record(**fields: Any) -> LedgerRecord:
    base: dict[str, Any] = {
        "trace_id": "0af7651916cd43dd8448eb211c80319c",
        "span_id": "b7ad6b7169203331",
        "start_ns": S.START_NS,
        "end_ns": S.START_NS + 1_500_000_000,
        "provider": "openai",
        "operation": "chat",
        "request_model": "gpt-4o",
        "response_model": "gpt-4o-2024-08-06",
    }
    return LedgerRecord(**{**base, **fields})


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_exposition_text(pricer: Pricer) -> None:
    registry = CollectorRegistry()
    metrics = CostMetrics(registry, labels=("provider", "model"))
    specs = [
        S.ours_openai(S.OpenAICall(cached_tokens=1024)),  # $0.00472, 1.5 s
        S.anthropic_sdk(S.AnthropicCall()).but(end_ns=S.START_NS + 30_000_000_000),  # $0.0034602, 30 s
        S.openlit_openai(S.OpenAICall(), cost=0.009),  # $0.006, reported $0.009: a discrepancy
        S.openai_v2(S.OpenAICall(model="gpt-9", response_model="gpt-9")).but(error=True),  # unpriced
    ]
    result = Normalizer(pricer).process(S.request([spec.but(**S.ids(i)) for i, spec in enumerate(specs)]))
    metrics.observe(result.records)

    text = generate_latest(registry).decode()
    o, a, g = (
        'model="gpt-4o",provider="openai"',
        'model="claude-sonnet-4-5",provider="anthropic"',
        'model="gpt-9",provider="openai"',
    )
    expected = [
        "# HELP llmcost_cost_usd_total Cost of GenAI calls in USD, from the price catalog.",
        "# TYPE llmcost_cost_usd_total counter",
        f"llmcost_cost_usd_total{{{o}}} 0.01072",
        f"llmcost_cost_usd_total{{{a}}} 0.0034602",
        f"llmcost_cost_usd_total{{{g}}} 0.0",
        "# HELP llmcost_tokens_total Tokens of GenAI calls by exclusive type (the types sum to all tokens).",
        "# TYPE llmcost_tokens_total counter",
        f'llmcost_tokens_total{{{o},type="input"}} 1376.0',
        f'llmcost_tokens_total{{{o},type="output"}} 600.0',
        f'llmcost_tokens_total{{{o},type="cache_read"}} 1024.0',
        f'llmcost_tokens_total{{{o},type="cache_write"}} 0.0',
        f'llmcost_tokens_total{{{o},type="reasoning"}} 0.0',
        f'llmcost_tokens_total{{{a},type="input"}} 176.0',
        f'llmcost_tokens_total{{{a},type="output"}} 50.0',
        f'llmcost_tokens_total{{{a},type="cache_read"}} 1024.0',
        f'llmcost_tokens_total{{{a},type="cache_write"}} 500.0',
        f'llmcost_tokens_total{{{a},type="reasoning"}} 0.0',
        f'llmcost_tokens_total{{{g},type="input"}} 1200.0',
        f'llmcost_tokens_total{{{g},type="output"}} 300.0',
        f'llmcost_tokens_total{{{g},type="cache_read"}} 0.0',
        f'llmcost_tokens_total{{{g},type="cache_write"}} 0.0',
        f'llmcost_tokens_total{{{g},type="reasoning"}} 0.0',
        "# HELP llmcost_requests_total GenAI calls by status.",
        "# TYPE llmcost_requests_total counter",
        f'llmcost_requests_total{{{o},status="ok"}} 2.0',
        f'llmcost_requests_total{{{o},status="error"}} 0.0',
        f'llmcost_requests_total{{{a},status="ok"}} 1.0',
        f'llmcost_requests_total{{{a},status="error"}} 0.0',
        f'llmcost_requests_total{{{g},status="ok"}} 0.0',
        f'llmcost_requests_total{{{g},status="error"}} 1.0',
        "# HELP llmcost_unpriced_requests_total GenAI calls whose model has no price in the catalog (cost not counted).",
        "# TYPE llmcost_unpriced_requests_total counter",
        f"llmcost_unpriced_requests_total{{{o}}} 0.0",
        f"llmcost_unpriced_requests_total{{{a}}} 0.0",
        f"llmcost_unpriced_requests_total{{{g}}} 1.0",
        "# HELP llmcost_reported_cost_discrepancies_total GenAI calls whose emitter-reported cost differs from ours"
        " by > max($0.000001, 1%).",
        "# TYPE llmcost_reported_cost_discrepancies_total counter",
        f"llmcost_reported_cost_discrepancies_total{{{o}}} 1.0",
        f"llmcost_reported_cost_discrepancies_total{{{a}}} 0.0",
        f"llmcost_reported_cost_discrepancies_total{{{g}}} 0.0",
        "# HELP llmcost_request_duration_seconds Duration of GenAI calls in seconds.",
        "# TYPE llmcost_request_duration_seconds histogram",
    ]
    for labels, seconds in ((o, (1.5, 1.5)), (a, (30.0,)), (g, (1.5,))):
        for bound in (*map(str, DURATION_BUCKETS), "+Inf"):
            count = sum(1 for s in seconds if bound == "+Inf" or s <= float(bound))
            expected.append(f'llmcost_request_duration_seconds_bucket{{le="{bound}",{labels}}} {count:.1f}')
        expected.append(f"llmcost_request_duration_seconds_count{{{labels}}} {len(seconds):.1f}")
        expected.append(f"llmcost_request_duration_seconds_sum{{{labels}}} {sum(seconds)}")
    expected += [
        "# HELP llmcost_collector_label_overflow_total Records whose label value was replaced by __overflow__"
        " (series cap reached).",
        "# TYPE llmcost_collector_label_overflow_total counter",
        'llmcost_collector_label_overflow_total{label="provider"} 0.0',
        'llmcost_collector_label_overflow_total{label="model"} 0.0',
    ]
    assert text.splitlines() == expected


def test_default_labels_and_token_types_sum_to_all_tokens() -> None:
    registry = CollectorRegistry()
    metrics = CostMetrics(registry)
    r = record(
        input_tokens=100, input_audio_tokens=20, cache_read_tokens=30, cache_write_5m_tokens=4,
        cache_write_1h_tokens=5, output_tokens=60, output_audio_tokens=7, reasoning_tokens=8,
        service="checkout", team="search", project="ranker", environment="prod", user="u-1",
    )  # fmt: skip
    metrics.observe([r])

    labels = {
        "provider": "openai", "model": "gpt-4o", "operation": "chat", "service": "checkout", "team": "search",
        "project": "ranker", "environment": "prod",
    }  # fmt: skip
    assert metrics.label_names == tuple(labels)
    by_type = {t: sample(registry, "llmcost_tokens_total", **labels, type=t) for t in ("input", "output")}
    by_type |= {
        t: sample(registry, "llmcost_tokens_total", **labels, type=t) for t in ("cache_read", "cache_write")
    }
    by_type["reasoning"] = sample(registry, "llmcost_tokens_total", **labels, type="reasoning")
    assert by_type == {"input": 120, "output": 67, "cache_read": 30, "cache_write": 9, "reasoning": 8}
    assert sum(v or 0 for v in by_type.values()) == r.total_input_tokens + r.total_output_tokens


def test_model_label_is_the_request_model_else_the_response_model() -> None:
    registry = CollectorRegistry()
    CostMetrics(registry, labels=("model",)).observe(
        [
            record(cost_nanos=1),
            record(request_model=None, cost_nanos=2),
            record(request_model=None, response_model=None),
        ]
    )
    assert sample(registry, "llmcost_cost_usd_total", model="gpt-4o") == 1e-9
    assert sample(registry, "llmcost_cost_usd_total", model="gpt-4o-2024-08-06") == 2e-9
    assert sample(registry, "llmcost_requests_total", model="", status="ok") == 1


def test_extra_labels_are_opt_in() -> None:
    registry = CollectorRegistry()
    metrics = CostMetrics(registry, labels=("provider",), extra_labels=("user", "thread"))
    metrics.observe([record(user="u-1", thread="t-9", cost_nanos=5)])
    assert metrics.label_names == ("provider", "user", "thread")
    assert sample(registry, "llmcost_cost_usd_total", provider="openai", user="u-1", thread="t-9") == 5e-9


def test_series_cap_overflows_new_values_and_counts_them() -> None:
    registry = CollectorRegistry()
    metrics = CostMetrics(registry, labels=("provider", "model"), series_cap={"model": 2})
    records = [record(request_model=m, cost_nanos=1_000_000) for m in ("a", "b", "c", "d", "a", "c", "b")]
    metrics.observe(records)
    metrics.observe([record(request_model="e", provider="anthropic", cost_nanos=1)])

    costs = {
        m: sample(registry, "llmcost_cost_usd_total", provider="openai", model=m)
        for m in ("a", "b", "__overflow__")
    }
    assert costs == {"a": 0.002, "b": 0.002, "__overflow__": 0.003}
    assert sample(registry, "llmcost_cost_usd_total", provider="openai", model="c") is None
    assert sample(registry, "llmcost_cost_usd_total", provider="anthropic", model="__overflow__") == 1e-9
    assert sample(registry, "llmcost_collector_label_overflow_total", label="model") == 4
    assert sample(registry, "llmcost_collector_label_overflow_total", label="provider") == 0


def test_one_cap_for_every_label() -> None:
    registry = CollectorRegistry()
    metrics = CostMetrics(registry, labels=("provider", "team"), series_cap=1)
    metrics.observe([record(team="a"), record(team="b", provider="x"), record(team="")])
    assert sample(registry, "llmcost_requests_total", provider="openai", team="a", status="ok") == 1
    assert (
        sample(registry, "llmcost_requests_total", provider="__overflow__", team="__overflow__", status="ok")
        == 1
    )
    # an empty value is no value: it never takes a slot nor overflows
    assert sample(registry, "llmcost_requests_total", provider="openai", team="", status="ok") == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"labels": ("provider", "pod")}, "labels: unknown label"),
        ({"labels": ("provider", "provider")}, "labels: duplicate label"),
        ({"extra_labels": ("team",)}, "labels: duplicate label"),
        ({"series_cap": {"user": 5}}, "series_cap: 'user' is not one of the labels"),
        ({"series_cap": 0}, "series_cap: the cap of 'provider' must be a positive integer"),
        ({"series_cap": {"model": "many"}}, "series_cap: the cap of 'model' must be a positive integer"),
    ],
)
def test_bad_configuration_names_the_parameter(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CostMetrics(CollectorRegistry(), **kwargs)


def test_other_statuses_durations_and_an_unregistered_instance() -> None:
    metrics = CostMetrics(None, labels=("provider",))
    metrics.observe([record(status="cancelled", end_ns=S.START_NS - 5), record(end_ns=S.START_NS + 10**12)])
    registry = CollectorRegistry()
    registry.register(metrics)
    assert sample(registry, "llmcost_requests_total", provider="openai", status="cancelled") == 1
    assert sample(registry, "llmcost_request_duration_seconds_bucket", provider="openai", le="0.01") == 1
    assert sample(registry, "llmcost_request_duration_seconds_bucket", provider="openai", le="327.68") == 1
    assert sample(registry, "llmcost_request_duration_seconds_bucket", provider="openai", le="+Inf") == 2
    assert sample(registry, "llmcost_request_duration_seconds_sum", provider="openai") == 1000.0


def test_concurrent_observe_and_scrape_lose_nothing() -> None:
    registry = CollectorRegistry()
    metrics = CostMetrics(registry, labels=("team",))
    batch = [record(team=f"t{i % 3}", cost_nanos=1_000, input_tokens=1) for i in range(300)]

    def work() -> None:
        for _ in range(20):
            metrics.observe(batch)
            generate_latest(registry)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = sum(sample(registry, "llmcost_cost_usd_total", team=f"t{i}") or 0 for i in range(3))
    assert round(total, 9) == 4 * 20 * 300 * 1_000 / 1e9
    assert sample(registry, "llmcost_tokens_total", team="t0", type="input") == 4 * 20 * 100
