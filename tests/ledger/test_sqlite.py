"""SQLite specifics: paths, durability settings, in-memory ledgers, the covering report index."""

from __future__ import annotations

from pathlib import Path

import pytest

from otel_llmcost.exceptions import ConfigError
from otel_llmcost.ledger import Filters, Group, Totals, _query, default_ledger_url, open_ledger
from otel_llmcost.ledger._sqlite import SqliteLedger
from tests.ledger.support import make_record


def test_default_url_is_absolute_under_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = f"sqlite:///{tmp_path.resolve()}/.otel-llmcost/ledger.db"
    assert expected.startswith("sqlite:////")
    assert default_ledger_url(tmp_path) == expected
    monkeypatch.chdir(tmp_path)
    assert default_ledger_url() == expected
    assert not (tmp_path / ".otel-llmcost").exists()  # created on open, not before
    with open_ledger(default_ledger_url()) as ledger:
        assert ledger.insert([make_record(1)]) == 1
    assert (tmp_path / ".otel-llmcost" / "ledger.db").is_file()


def test_relative_url_is_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with open_ledger("sqlite:///data/sub/ledger.db") as ledger:
        ledger.insert([make_record(1)])
    assert (tmp_path / "data" / "sub" / "ledger.db").is_file()


def test_percent_encoded_path(tmp_path: Path) -> None:
    with open_ledger(default_ledger_url(tmp_path / "with space")) as ledger:
        ledger.insert([make_record(1)])
    assert (tmp_path / "with space" / ".otel-llmcost" / "ledger.db").is_file()


def test_unopenable_path_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(ConfigError, match="cannot open SQLite ledger") as caught:
        open_ledger(f"sqlite:///{tmp_path}/file/ledger.db")
    assert caught.value.key == "ledger"
    (tmp_path / "junk.db").write_bytes(b"this is not a database file" * 200)
    with pytest.raises(ConfigError, match="cannot open SQLite ledger"):
        open_ledger(f"sqlite:///{tmp_path}/junk.db")


def test_memory_ledger_shares_one_connection() -> None:
    with open_ledger("sqlite:///:memory:") as ledger:
        assert (
            ledger.insert([make_record(i, team="a" if i % 2 else None, cost_nanos=i) for i in range(10)])
            == 10
        )
        assert ledger.group(["team"]) == [
            Group({"team": "a"}, Totals(requests=5, cost_nanos=25)),
            Group({"team": None}, Totals(requests=5, cost_nanos=20)),
        ]
        assert len(list(ledger.records(batch_size=3))) == 10
    with open_ledger("sqlite:///:memory:") as other:
        assert other.count() == 0  # private to its opener


def test_durability_settings(tmp_path: Path) -> None:
    ledger = open_ledger(f"sqlite:///{tmp_path}/l.db")
    assert isinstance(ledger, SqliteLedger)
    with ledger:
        writer = ledger._writer
        assert writer.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert writer.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL: fsync every commit
        assert writer.execute("PRAGMA busy_timeout").fetchone() == (10_000,)


@pytest.mark.parametrize("by", [["provider"], ["model"], ["team", "day"], ["project", "month"], ["service"]])
def test_reports_read_only_the_covering_index(tmp_path: Path, by: list[str]) -> None:
    with open_ledger(f"sqlite:///{tmp_path}/l.db") as ledger:
        assert isinstance(ledger, SqliteLedger)
        filters = Filters(since_ns=1, until_ns=2, equals={"environment": "prod", "priced": "true"})
        plan = _query.group_plan(ledger.dialect, by, filters)
        for sql, params in ((plan.sql("llm_usage"), plan.params), _query.totals_sql(ledger.dialect, filters)):
            steps = ledger._fetch(f"EXPLAIN QUERY PLAN {sql}", params)
            assert any("COVERING INDEX llm_usage_report" in step[-1] for step in steps), steps


def test_records_page_through_the_start_index(tmp_path: Path) -> None:
    with open_ledger(f"sqlite:///{tmp_path}/l.db") as ledger:
        assert isinstance(ledger, SqliteLedger)
        # a later page starts its index range at the cursor, not at since_ns (no rescans)
        sql, params = _query.records_sql(ledger.dialect, Filters(since_ns=5), (900, "a", "b"), 10)
        assert params[0] == 900
        steps = ledger._fetch(f"EXPLAIN QUERY PLAN {sql}", params)
        assert [step[-1] for step in steps] == ["SEARCH llm_usage USING INDEX llm_usage_start (start_ns>?)"]
