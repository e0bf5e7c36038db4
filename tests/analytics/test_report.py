"""The report builder (behind /v1/report and `otel-llmcost report`): exact figures on both engines."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from otel_llmcost.analytics import ReportError, ReportQuery, build_dashboard, build_report, parse_report_query
from otel_llmcost.analytics._report import fold_groups, month_range, parse_group_by, sum_totals
from otel_llmcost.ledger import Filters, Group, LedgerBackend, Totals, open_ledger
from tests.analytics.report_data import ENGINES, fixed_records, ledger_url, totals
from tests.ledger.support import ns

MARCH = Filters(since_ns=ns(2025, 3, 1), until_ns=ns(2025, 4, 1))


@pytest.fixture(params=ENGINES)
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LedgerBackend]:
    for url in ledger_url(request.param, tmp_path):
        with open_ledger(url) as backend:
            backend.insert(fixed_records())
            yield backend


def test_totals_and_provider_groups_equal_the_hand_sums(ledger: LedgerBackend) -> None:
    report = build_report(ledger, ReportQuery(group_by=("provider",)))
    assert report == {
        **totals("11.753", 6, 1, 1, input_tokens=4410, output_tokens=885, cache_read_tokens=400,
                 cache_write_tokens=300, reasoning_tokens=20),
        "since": None,
        "until": None,
        "group_by": ["provider"],
        "filters": {},
        "groups": [
            {"key": {"provider": "anthropic"}, **totals("8.5", 2, input_tokens=2310, output_tokens=105, cache_write_tokens=300)},
            {"key": {"provider": "gcp.gemini"}, **totals("2", 1, 1, output_tokens=70, reasoning_tokens=20)},
            {"key": {"provider": "openai"}, **totals("1.253", 3, 0, 1, input_tokens=2100, output_tokens=710, cache_read_tokens=400)},
        ],
    }  # fmt: skip


def test_a_calendar_month_keeps_its_last_second_and_drops_the_next_months_first(
    ledger: LedgerBackend,
) -> None:
    since, until = month_range("2025-03")
    assert (since, until) == (ns(2025, 3, 1), ns(2025, 4, 1))
    report = build_report(ledger, ReportQuery(("team", "model"), Filters(since_ns=since, until_ns=until)))
    assert (report["total_usd"], report["requests"], report["since"], report["until"]) == (
        "9.753", 4, "2025-03-01T00:00:00Z", "2025-04-01T00:00:00Z",
    )  # fmt: skip
    assert [(g["key"], g["total_usd"], g["requests"]) for g in report["groups"]] == [
        ({"team": "ads", "model": "claude-sonnet-4-5"}, "7.500000001", 1),
        ({"team": "search", "model": "gpt-4o"}, "1.25", 1),
        ({"team": None, "model": "claude-sonnet-4-5"}, "0.999999999", 1),
        ({"team": "search", "model": "gpt-4o-mini"}, "0.003", 1),
    ]


def test_filters_limit_and_ungrouped_reports(ledger: LedgerBackend) -> None:
    report = build_report(ledger, ReportQuery((), Filters(equals={"project": "alpha"})))
    assert (report["total_usd"], report["requests"], report["groups"], report["filters"]) == (
        "8.750000001", 2, [], {"project": "alpha"},
    )  # fmt: skip
    top = build_report(ledger, ReportQuery(("day",), limit=2))
    assert top["total_usd"] == "11.753"  # the totals stay whole under a limit
    assert [(g["key"]["day"], g["total_usd"]) for g in top["groups"]] == [
        ("2025-03-20", "7.500000001"),
        ("2025-04-01", "2"),
    ]
    months = build_report(ledger, ReportQuery(("month",)))
    assert [(g["key"]["month"], g["total_usd"]) for g in months["groups"]] == [
        ("2025-03", "9.753"),
        ("2025-04", "2"),
    ]
    unpriced = build_report(ledger, ReportQuery(("model",), Filters(equals={"priced": "false"})))
    assert [(g["key"], g["unpriced"]) for g in unpriced["groups"]] == [({"model": "o3"}, 1)]


def test_a_filter_value_the_ledger_refuses_is_a_report_error_naming_it(ledger: LedgerBackend) -> None:
    with pytest.raises(ReportError) as caught:
        build_report(ledger, ReportQuery(("provider",), Filters(equals={"priced": "maybe"})))
    assert caught.value.parameter == "priced"


def test_dashboard_folds_model_rows_into_groups_and_counts_the_current_month(ledger: LedgerBackend) -> None:
    now = datetime(2025, 3, 31, 23, 59, 59, 999_999, tzinfo=timezone.utc)
    dash = build_dashboard(ledger, ReportQuery(), verbose=True, now=now)
    assert dash.report == build_report(ledger, ReportQuery(group_by=("provider",)))
    assert (dash.month, dash.month_totals.cost_nanos, dash.month_totals.requests) == (
        "2025-03",
        9_753_000_000,
        4,
    )
    assert dash.detail_by == ("provider", "model")
    assert [(g.key["provider"], g.key["model"], g.totals.cost_nanos) for g in dash.detail] == [
        ("anthropic", "claude-sonnet-4-5", 8_500_000_000),
        ("gcp.gemini", "gemini-2.5-pro", 2_000_000_000),
        ("openai", "gpt-4o", 1_250_000_000),
        ("openai", "gpt-4o-mini", 3_000_000),
        ("openai", "o3", 0),
    ]
    limited = build_dashboard(
        ledger, ReportQuery(("team",), Filters(equals={"provider": "openai"}), 1), verbose=True, now=now
    )
    assert limited.report["total_usd"] == "1.253"
    assert [g["key"] for g in limited.report["groups"]] == [{"team": "search"}]
    assert [g.key["model"] for g in limited.detail] == ["gpt-4o", "gpt-4o-mini"]
    assert limited.month_totals.cost_nanos == 1_253_000_000  # March, openai: calls 1 and 2
    plain = build_dashboard(ledger, ReportQuery(), now=now)
    assert (plain.detail_by, plain.detail) == ((), [])
    # grouped by model already: nothing to split, the same dashboard as without verbose
    for by in (("team", "model"), ("model",)):
        by_model = build_dashboard(ledger, ReportQuery(by), verbose=True, now=now)
        assert by_model == build_dashboard(ledger, ReportQuery(by), now=now)
        assert (by_model.detail_by, by_model.detail) == ((), [])


def test_fold_groups_sums_exactly_and_keeps_the_ledgers_order() -> None:
    def group(team: str | None, model: str, cost: int) -> Group:
        return Group(
            {"team": team, "model": model}, Totals(requests=1, cost_nanos=cost, input_tokens=cost % 7)
        )

    folded = fold_groups(
        [group("b", "x", 5), group(None, "x", 7), group("a", "y", 3), group("b", "y", 2), group("a", "x", 4)],
        ["team"],
    )
    assert [(g.key, g.totals.cost_nanos, g.totals.requests) for g in folded] == [
        ({"team": None}, 7, 1), ({"team": "a"}, 7, 2), ({"team": "b"}, 7, 2),  # equal cost: None first
    ]  # fmt: skip
    assert sum_totals(g.totals for g in folded) == Totals(
        requests=5, cost_nanos=21, input_tokens=5 + 0 + 3 + 2 + 4
    )


def test_parse_report_query_reads_the_api_parameters() -> None:
    query = parse_report_query(
        {
            "group_by": ["team, model"],
            "since": ["2025-03-01"],
            "until": ["1743465600"],
            "limit": ["3"],
            "team": ["a"],
        }
    )
    assert query == ReportQuery(("team", "model"), Filters(ns(2025, 3, 1), ns(2025, 4, 1), {"team": "a"}), 3)
    assert parse_report_query({}) == ReportQuery()


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"group_by": ["colour"]}, "group_by"),
        ({"group_by": ["team,team"]}, "group_by"),
        ({"since": ["yesterday"]}, "since"),
        ({"since": ["2025-03-02"], "until": ["2025-03-01"]}, "until"),
        ({"limit": ["-1"]}, "limit"),
        ({"limit": ["²"]}, "limit"),
        ({"tema": ["a"]}, "tema"),
        ({"team": ["a", "b"]}, "team"),
    ],
)
def test_bad_parameters_name_themselves(params: dict[str, list[str]], parameter: str) -> None:
    with pytest.raises(ReportError) as caught:
        parse_report_query(params)
    assert caught.value.parameter == parameter


def test_month_and_group_by_parsing() -> None:
    assert month_range("2024-12") == (ns(2024, 12, 1), ns(2025, 1, 1))
    assert month_range("2024-02") == (ns(2024, 2, 1), ns(2024, 3, 1))
    for bad in ("2024-13", "2024-1", "march", "2024-00"):
        with pytest.raises(ReportError, match="YYYY-MM"):
            month_range(bad, "--month")
    assert parse_group_by(" provider ,model,") == ("provider", "model")
