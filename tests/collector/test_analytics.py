"""Analytics in a running collector: /v1/forecast and /v1/insights, the anomaly, daily-cost and
forecast gauges, the seasonal budget forecast, and the configuration keys."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from otel_llmcost.analytics._insights import find_insights
from otel_llmcost.collector import Collector, load_config
from otel_llmcost.exceptions import ConfigError
from otel_llmcost.ledger import open_ledger
from otel_llmcost.pricing import Pricer
from tests.analytics.test_forecast import pattern
from tests.analytics.test_insights import SINCE, UNTIL, crafted
from tests.collector.conftest import BASE_CONFIG, http_get, http_post, samples
from tests.ledger.support import make_record, ns

USD = 1_000_000_000
HOUR = 3_600_000_000_000
Start = Callable[..., Collector]


@pytest.fixture
def start(tmp_path: Path, shared_pricer: Pricer) -> Iterator[Callable[..., Collector]]:
    """``start(records, **config)``: a collector on a fresh SQLite ledger holding ``records``,
    its first background refresh done (so explicit refreshes are the last word)."""
    started: list[Collector] = []

    def run(records: list[Any], **changes: Any) -> Collector:
        url = f"sqlite:///{tmp_path / f'ledger-{len(started)}.db'}"
        with open_ledger(url) as ledger:
            ledger.insert(records)
        config = replace(BASE_CONFIG, ledger_url=url, **changes)
        collector = Collector(config, registry=CollectorRegistry(), pricer=shared_pricer).start()
        started.append(collector)
        assert collector.analytics.first_refresh.wait(30)
        return collector

    yield run
    for collector in started:
        collector.stop(timeout=5.0)


def pattern_records(last: date) -> list[Any]:
    return [
        make_record(i, start_ns=ns(d.year, d.month, d.day, 12), cost_nanos=v, team="search")
        for i, (d, v) in enumerate(sorted(pattern(date(2025, 1, 1), last).items()))
    ]


def get(collector: Collector, path: str) -> tuple[int, Any]:
    answer = http_get(collector.addresses["listen"], path)
    return answer.status, json.loads(answer.body)


def test_forecast_endpoint(start: Start) -> None:
    collector = start(pattern_records(date(2025, 4, 30)))
    status, body = get(collector, "/v1/forecast?as_of=2025-03-17&team=search")
    assert status == 200
    assert (body["status"], body["spent_usd"], body["forecast_usd"], body["scope"]) == (
        "ok",
        "129",
        "261",
        {"team": "search"},
    )
    assert body["interval"] == {"level": 0.8, "low_usd": "261", "high_usd": "261"}
    status, week = get(collector, "/v1/forecast?window=week&as_of=2025-03-19T00:00:00Z&timezone=UTC")
    assert (status, week["window"], week["spent_usd"]) == (200, "weekly", "22")
    status, backtest = get(collector, "/v1/forecast?backtest=true&as_of=2025-05-02")
    assert status == 200 and backtest["mape_pct"]["all"] == 0.96 and backtest["timezone"] == "UTC"
    # A backtest reads the whole history: the same query within minutes gets the same answer.
    collector.ledger.insert(
        [make_record(99_999, start_ns=ns(2025, 3, 10, 12), cost_nanos=10**12, team="search")]
    )
    assert get(collector, "/v1/forecast?backtest=true&as_of=2025-05-02") == (200, backtest)
    status, fresh = get(collector, "/v1/forecast?backtest=true&as_of=2025-05-02&team=search")
    assert status == 200 and fresh["mape_pct"]["all"] > backtest["mape_pct"]["all"]  # another query: computed


@pytest.mark.parametrize(
    ("query", "parameter", "message"),
    [
        ("window=year", "window", "expected month or week"),
        ("timezone=Mars/Olympus", "timezone", "not an IANA time zone"),
        ("as_of=soon", "as_of", "expected epoch seconds"),
        ("as_of=99999999999999", "as_of", "expected a time from 1970 to 2262"),
        ("backtest=maybe", "backtest", "expected true or false"),
        ("backtest=true&window=week", "window", "use window=month"),
        ("colour=red", "colour", "unknown parameter 'colour'"),
        ("team=a&team=b", "team", "given 2 times"),
        ("day=2025-03-01", "day", "unknown parameter 'day'"),
    ],
)
def test_forecast_refuses_bad_parameters(start: Start, query: str, parameter: str, message: str) -> None:
    collector = start([])
    status, body = get(collector, f"/v1/forecast?{query}")
    assert status == 400 and body["parameter"] == parameter and message in body["error"]


def test_insights_endpoint_answers_the_analysis_and_keeps_it_a_while(start: Start) -> None:
    collector = start(crafted())
    query = f"/v1/insights?since={SINCE // USD}&until={UNTIL // USD}"
    status, body = get(collector, query)
    assert status == 200
    expected = find_insights(collector.ledger, since_ns=SINCE, until_ns=UNTIL).to_dict()
    assert body == expected and body["monthly_saving_usd"] == "0.12017943"
    collector.ledger.insert([make_record(99_999, start_ns=SINCE + HOUR, cost_nanos=10**12)])
    assert get(collector, query)[1] == expected  # the same query within minutes: the same answer
    status, faq = get(collector, query + "&feature=faq&duplicate_window=2h&daily_threshold_usd=0.000001")
    assert (
        status == 200
        and faq["filters"] == {"feature": "faq"}
        and faq["daily_cost_threshold_usd"] == "0.000001"
    )
    assert [i["saving_usd"] for i in faq["insights"] if i["kind"] == "duplicate_requests"] == ["0.00000025"]


@pytest.mark.parametrize(
    ("query", "parameter", "message"),
    [
        ("days=0", "days", "expected a whole number of days"),
        ("days=x", "days", "expected a whole number of days"),
        ("duplicate_window=1w", "duplicate_window", "expected a duration"),
        ("daily_threshold_usd=-1", "daily_threshold_usd", "expected a positive amount"),
        ("daily_threshold_usd=lots", "daily_threshold_usd", "expected a positive amount"),
        ("since=yesterday", "since", "expected epoch seconds"),
        ("until=99999999999999", "until", "expected a time from 1970 to 2262"),
        ("days=%C2%B2", "days", "expected a whole number of days"),  # "²": a digit to isdigit()
        ("feature=a&colour=red", "colour", "unknown parameter 'colour'"),
    ],
)
def test_insights_refuses_bad_parameters(start: Start, query: str, parameter: str, message: str) -> None:
    collector = start([])
    status, body = get(collector, f"/v1/insights?{query}")
    assert status == 400 and body["parameter"] == parameter and message in body["error"]


def test_bad_methods_ranges_and_tokens(start: Start) -> None:
    collector = start([], bearer_token="s3cret")
    address = collector.addresses["listen"]
    assert http_get(address, "/v1/insights").status == 401
    assert http_get(address, "/v1/forecast").status == 401
    auth = {"Authorization": "Bearer s3cret"}
    assert http_post(address, b"", path="/v1/forecast", headers=auth).status == 405
    assert http_post(address, b"", path="/v1/insights", headers=auth).status == 405
    answer = http_get(address, "/v1/insights?since=2025-03-02&until=2025-03-01", headers=auth)
    assert answer.status == 400 and "until must be later" in json.loads(answer.body)["error"]
    empty = http_get(address, "/v1/forecast", headers=auth)
    assert empty.status == 200 and json.loads(empty.body)["status"] == "insufficient_history"


def test_anomaly_and_daily_cost_gauges(start: Start) -> None:
    monday = ns(2025, 3, 31, 14)
    now = monday + HOUR // 2
    records = [make_record(0, start_ns=monday - 60 * 24 * HOUR, cost_nanos=0)]
    for k, (usd, tokens) in enumerate([(1, 100), (2, 200), (3, 300), (10, 1000)], start=1):
        records.append(
            make_record(
                k, start_ns=now - k * 168 * HOUR - 50 * 60 * USD, cost_nanos=usd * USD, input_tokens=tokens
            )
        )
    records.append(make_record(9, start_ns=now - 10 * 60 * USD, cost_nanos=6 * USD, input_tokens=900))
    collector = start(records, daily_cost_threshold_usd=Decimal("50"))
    collector.analytics.refresh(now)
    values = samples(collector)
    assert {
        k: v for k, v in values.items() if k.startswith("llmcost_anomaly") or k.startswith("llmcost_daily")
    } == {
        "llmcost_anomaly_ratio{kind=hourly_cost}": 2.4,
        "llmcost_anomaly_ratio{kind=hourly_tokens}": 3.6,
        "llmcost_anomaly_value{kind=hourly_cost}": 6.0,
        "llmcost_anomaly_value{kind=hourly_tokens}": 900.0,
        "llmcost_anomaly_baseline{kind=hourly_cost}": 2.5,
        "llmcost_anomaly_baseline{kind=hourly_tokens}": 250.0,
        "llmcost_daily_cost_usd{}": 6.0,
        "llmcost_daily_cost_threshold_usd{}": 50.0,
    }


def test_forecast_gauge_and_the_seasonal_budget_forecast(start: Start, tmp_path: Path) -> None:
    policy = tmp_path / "budgets.yaml"
    policy.write_text(
        "budgets:\n"
        "  - {name: search, window: monthly, limit_usd: 300, scope: {team: search}}\n"
        "  - {name: per-user, window: monthly, limit_usd: 300, per: team}\n"
    )
    collector = start(pattern_records(date(2025, 3, 16)), budgets=str(policy))
    now = datetime(2025, 3, 17, tzinfo=timezone.utc)
    collector.analytics.refresh(ns(2025, 3, 17))
    assert collector.budgets is not None
    collector.budgets.refresh(now)
    values = samples(collector)
    assert {k: v for k, v in values.items() if k.startswith("llmcost_forecast")} == {
        "llmcost_forecast_usd{bound=point,window=month}": 261.0,
        "llmcost_forecast_usd{bound=low,window=month}": 261.0,
        "llmcost_forecast_usd{bound=high,window=month}": 261.0,
    }
    # The scoped monthly budget projects with the seasonal model ($261, not the run-rate's
    # $249.94); a per-team budget's instances keep the run-rate.
    budget_forecasts = {k: v for k, v in values.items() if k.startswith("llmcost_budget_forecast_usd")}
    assert sorted(budget_forecasts.values()) == [249.9375, 261.0]
    assert next(v for k, v in budget_forecasts.items() if "budget=search," in k) == 261.0
    assert "llmcost_daily_cost_threshold_usd{}" not in values


def test_a_failing_part_withdraws_its_gauges_and_the_rest_update(
    start: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    collector = start(pattern_records(date(2025, 3, 16)))
    collector.analytics.refresh(ns(2025, 3, 17))
    assert "llmcost_forecast_usd{bound=point,window=month}" in samples(collector)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("no day with spend to fit")

    monkeypatch.setattr("otel_llmcost.collector._analytics.forecast", broken)
    with pytest.raises(ValueError, match="no day with spend to fit"):
        collector.analytics.refresh(ns(2025, 3, 16, 13))
    values = samples(collector)
    assert not any(k.startswith("llmcost_forecast_usd") for k in values)  # withdrawn, not stale
    assert values["llmcost_daily_cost_usd{}"] == 3.0  # Sunday's $3, still updated
    assert values["llmcost_anomaly_value{kind=hourly_cost}"] == 3.0


def test_the_configuration_keys(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("analytics:\n  refresh_seconds: 5\nanomalies:\n  daily_cost_threshold_usd: '12.50'\n")
    config = load_config(path, env={})
    assert (config.analytics_refresh_s, config.daily_cost_threshold_usd) == (5.0, Decimal("12.50"))
    assert load_config(env={}).daily_cost_threshold_usd is None
    path.write_text("anomalies:\n  daily_cost_threshold_usd: 0\n")
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert err.value.key == "anomalies.daily_cost_threshold_usd" and "positive amount of USD" in str(
        err.value
    )
