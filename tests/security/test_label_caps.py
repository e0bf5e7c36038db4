"""A flood of distinct user ids cannot blow up Prometheus: with ``user`` as an extra label and a
cap of 50, 10,000 users make at most 50 + 1 (``__overflow__``) user values in every family, and
not a cent is lost to the overflow."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from prometheus_client.parser import text_string_to_metric_families

from otel_llmcost import semconv as sc
from otel_llmcost.collector import Collector
from tests.collector import spans as S
from tests.collector.conftest import http_get, http_post

CAP = 50
USERS = 10_000
PER_EXPORT = 500


def test_ten_thousand_users_make_at_most_cap_plus_one_series(
    start_collector: Callable[..., Collector],
) -> None:
    collector = start_collector(extra_labels=("user",), series_cap={"user": CAP})
    base = S.ours_openai(
        S.OpenAICall(
            model="gpt-4o-mini", response_model="gpt-4o-mini", prompt_tokens=100, completion_tokens=10
        )
    )
    for first in range(0, USERS, PER_EXPORT):
        specs = [
            base.but(**S.ids(n), attrs={sc.LLMCOST_USER: f"user-{n:05d}", sc.GEN_AI_RESPONSE_ID: f"r-{n}"})
            for n in range(first, first + PER_EXPORT)
        ]
        assert http_post(collector.addresses["otlp_http"], S.request(specs).SerializeToString()).status == 200
    assert collector.ledger.count() == USERS  # the ledger keeps every user: ask it, not Prometheus

    exposition = http_get(collector.addresses["listen"], "/metrics").body.decode()
    users: dict[str, set[str]] = defaultdict(set)
    cost = 0.0
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if "user" in sample.labels:
                users[family.name].add(sample.labels["user"])
            if sample.name == "llmcost_cost_usd_total":
                cost += sample.value
    assert {"llmcost_cost_usd", "llmcost_tokens", "llmcost_requests"} <= set(users)
    for name, values in users.items():
        assert len(values) <= CAP + 1, name
        assert sc.OVERFLOW_LABEL_VALUE in values, name
    # gpt-4o-mini: 100 × $0.15 + 10 × $0.60 per million = $0.000021 a call, overflow included.
    assert round(cost, 9) == round(USERS * 0.000021, 9)
    overflowed = [
        line for line in exposition.splitlines() if line.startswith("llmcost_collector_label_overflow_total")
    ]
    assert any('label="user"' in line and line.endswith(f" {float(USERS - CAP)}") for line in overflowed), (
        overflowed
    )
