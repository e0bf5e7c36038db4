"""The HTTP API on --listen: /v1/report exactly, its 400s, the probes, /metrics and the router."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from otel_llmcost.collector import Collector
from otel_llmcost.collector._api import ApiError, json_response, parse_time, usd
from otel_llmcost.collector._http import Request, Response
from tests.collector.conftest import http_get, http_post
from tests.ledger.support import make_record, ns

DAY1, DAY2 = ns(2025, 3, 10, 12), ns(2025, 3, 11, 9)


@pytest.fixture
def seeded(collector: Collector) -> Collector:
    """Four calls: two teams, two models, one error, over two days."""
    collector.ledger.insert([
        make_record(1, start_ns=DAY1, team="search", cost_nanos=133_200, input_tokens=176, cache_read_tokens=1024, output_tokens=50),
        make_record(2, start_ns=DAY1 + 1, team="search", cost_nanos=1_000_000_001, output_tokens=7, status="error"),
        make_record(3, start_ns=DAY2, team="ads", request_model="gpt-4o-mini", cost_nanos=5, reasoning_tokens=3, output_tokens=4),
        make_record(4, start_ns=DAY2 + 1, team=None, provider="anthropic", request_model="claude-sonnet-4-5", cost_nanos=0),
    ])  # fmt: skip
    return collector


def report(
    collector: Collector, query: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, object]]:
    answer = http_get(collector.addresses["listen"], f"/v1/report{query}", headers)
    assert answer.headers["content-type"] == "application/json"
    return answer.status, json.loads(answer.body)


def totals(usd_: str, requests: int, errors: int = 0, **tokens: int) -> dict[str, object]:
    base: dict[str, object] = {"total_usd": usd_, "requests": requests, "errors": errors, "unpriced": 0}
    for name in (
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "reasoning_tokens",
    ):
        base[name] = tokens.get(name, 0)
    return base


def test_report_grouped_by_team_and_model_is_exact(seeded: Collector) -> None:
    status, body = report(seeded, "?group_by=team,model&since=2025-03-10&until=1741737600")
    assert status == 200
    assert body == {
        **totals("1.000133206", 4, 1, input_tokens=1200, output_tokens=64, cache_read_tokens=1024, reasoning_tokens=3),
        "since": "2025-03-10T00:00:00Z",
        "until": "2025-03-12T00:00:00Z",
        "group_by": ["team", "model"],
        "filters": {},
        "groups": [
            {"key": {"team": "search", "model": "gpt-4o"},
             **totals("1.000133201", 2, 1, input_tokens=1200, output_tokens=57, cache_read_tokens=1024)},
            {"key": {"team": "ads", "model": "gpt-4o-mini"}, **totals("0.000000005", 1, output_tokens=7, reasoning_tokens=3)},
            {"key": {"team": None, "model": "claude-sonnet-4-5"}, **totals("0", 1)},
        ],
    }  # fmt: skip


def test_report_filters_windows_and_limits(seeded: Collector) -> None:
    _, body = report(seeded, "?team=search&status=error")
    assert (body["total_usd"], body["requests"], body["groups"], body["filters"]) == (
        "1.000000001", 1, [], {"status": "error", "team": "search"},
    )  # fmt: skip
    _, body = report(seeded, "?since=2025-03-11T00:00:00%2B00:00&group_by=provider")
    assert [g["key"] for g in body["groups"]] == [{"provider": "openai"}, {"provider": "anthropic"}]  # type: ignore[index,union-attr]
    _, body = report(seeded, "?group_by=day&limit=1")
    assert (body["groups"], body["requests"]) == (  # the top group by cost; totals stay whole
        [{"key": {"day": "2025-03-10"}, **totals("1.000133201", 2, 1, input_tokens=1200, output_tokens=57, cache_read_tokens=1024)}],
        4,
    )  # fmt: skip
    _, body = report(seeded, "?until=2025-03-10T12:00:00.000000001Z")
    assert body["requests"] == 1


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("?group_by=colour", "group_by"),
        ("?group_by=team,team", "group_by"),
        ("?since=yesterday", "since"),
        ("?until=2025-13-01", "until"),
        ("?since=2025-03-11&until=2025-03-10", "until"),
        ("?limit=-1", "limit"),
        ("?tema=search", "tema"),
        ("?team=a&team=b", "team"),
        ("?priced=maybe", "priced"),
    ],
)
def test_bad_report_parameters_are_400_naming_the_parameter(
    seeded: Collector, query: str, parameter: str
) -> None:
    status, body = report(seeded, query)
    assert status == 400
    assert body["parameter"] == parameter and isinstance(body["error"], str)


def test_probes_metrics_and_unknown_paths(collector: Collector) -> None:
    listen = collector.addresses["listen"]
    assert (http_get(listen, "/healthz").status, json.loads(http_get(listen, "/healthz").body)) == (
        200,
        {"status": "ok"},
    )
    ready = http_get(listen, "/readyz")
    assert (ready.status, json.loads(ready.body)["checks"]) == (
        200,
        {"receivers": True, "writer": True, "ledger": True},
    )
    metrics = http_get(listen, "/metrics")
    assert metrics.status == 200 and metrics.headers["content-type"].startswith("text/plain")
    for name in (b"llmcost_collector_queue_capacity 16384.0", b"llmcost_collector_spans_received_total 0.0"):
        assert name in metrics.body
    missing = http_get(listen, "/nope")
    assert (missing.status, json.loads(missing.body)["error"]) == (404, "no such path: /nope")
    assert http_post(listen, b"{}", path="/v1/report", content_type="application/json").status == 405


def test_readyz_turns_503_once_stopping(collector: Collector) -> None:
    collector._probe = (0.0, False)
    collector.stop(timeout=5)
    ok, checks = collector.ready()
    assert (ok, checks["receivers"], checks["writer"]) == (False, False, False)


def test_report_needs_the_token_when_one_is_set_but_metrics_do_not(
    start_collector: Callable[..., Collector],
) -> None:
    collector = start_collector(bearer_token="t0ken")
    listen = collector.addresses["listen"]
    assert http_get(listen, "/v1/report").status == 401
    assert http_get(listen, "/v1/report", {"Authorization": "Bearer t0ken"}).status == 200
    assert http_get(listen, "/metrics").status == 200 and http_get(listen, "/readyz").status == 200


def test_routes_are_extensible(start_collector: Callable[..., Collector]) -> None:
    collector = start_collector()

    def budgets(request: Request) -> Response:
        return json_response({"budgets": [], "query": request.query})

    collector.api.route("/v1/budgets", budgets)
    answer = http_get(collector.addresses["listen"], "/v1/budgets?scope=team")
    assert (answer.status, json.loads(answer.body)) == (200, {"budgets": [], "query": {"scope": ["team"]}})


def test_money_and_time_parsing() -> None:
    assert [usd(0), usd(133_200), usd(1_000_000_000), usd(-5)] == ["0", "0.0001332", "1", "-0.000000005"]
    assert parse_time("1741564800", "since") == parse_time("2025-03-10", "since") == ns(2025, 3, 10)
    assert parse_time("1741564800.5", "since") == ns(2025, 3, 10) + 500_000_000
    assert parse_time("2025-03-10T02:00:00+02:00", "s") == parse_time("2025-03-10T00:00:00", "s")
    assert parse_time("2025-03-10T00:00:00.000000001Z", "s") == ns(2025, 3, 10) + 1
    assert parse_time("9223372036.854775807", "s") == 2**63 - 1  # the ledger's last nanosecond
    for late in ("9223372036.854775808", "99999999999999", "2263-01-01", "1969-12-31"):
        with pytest.raises(ApiError, match="expected a time from 1970 to 2262"):
            parse_time(late, "since")
    assert parse_time("2025-03-10T00:00:00.5+01:00", "s") == ns(2025, 3, 9, 23) + 500_000_000
