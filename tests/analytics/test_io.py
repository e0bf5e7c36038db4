"""Export and archive: lossless JSONL and CSV round trips on both engines, output files that appear whole."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from otel_llmcost.analytics import export_records, import_file, write_archive
from otel_llmcost.analytics._io import open_output
from otel_llmcost.ledger import Filters, LedgerBackend, LedgerRecord, open_ledger
from otel_llmcost.usage import MAX_TOKENS_PER_CALL
from tests.analytics.report_data import ENGINES, ledger_url
from tests.ledger.support import make_record, ns

BIG = 2**63 - 1
AWKWARD_TEXT = [
    "a,b",
    'say "hi"',
    "two\nlines\r\nthree",
    "=HYPERLINK(1)",
    "\\back",
    "",
    "-5",
    "+1",
    "@x",
    "\ttab",
    "Ünï 🚀",
    "\uff1d1+1",  # full-width equals: some spreadsheets run it as "="
    "  =1+1",  # leading spaces a spreadsheet may trim
    "\u3000@SUM(A1)",  # an ideographic space, then "@"
    " plain",
]


def tricky_records() -> list[LedgerRecord]:
    """Every field kind at the edges of what the collector writes: all-None optionals, the
    earliest start, the largest token count, the largest and smallest 64-bit ints, both
    booleans, and text a CSV reader or a spreadsheet would trip over."""
    bare = LedgerRecord(trace_id="0" * 32, span_id="0" * 16, start_ns=1, end_ns=1, provider="p", operation="o",
                        priced=False)  # fmt: skip
    full = make_record(
        1, start_ns=ns(2025, 3, 10), response_id="resp-1", service_tier="flex", input_tokens=MAX_TOKENS_PER_CALL,
        cache_read_tokens=1, cache_write_5m_tokens=2, cache_write_1h_tokens=3, output_tokens=4, reasoning_tokens=5,
        input_audio_tokens=6, output_audio_tokens=7, web_search_requests=8, usage_estimated=True, cost_nanos=BIG,
        cost_input_nanos=BIG - 55, cost_output_nanos=9, cost_cache_read_nanos=10, cost_cache_write_nanos=11,
        cost_reasoning_nanos=12, cost_fees_nanos=13, reported_cost_nanos=-(2**63), status="error",
        error_type="RateLimitError", finish_reason="length", max_tokens=BIG, streaming=True, service="svc",
        environment="prod", namespace="ns", pod="pod-1", team="search", project="alpha", user="u-42", feature="f",
        thread="t", run="r", prompt_fingerprint="ab" * 32, ingested_ns=BIG,
    )  # fmt: skip
    texts = [make_record(10 + i, team=text, user=text, feature=text, start_ns=ns(2025, 3, 11) + i)
             for i, text in enumerate(AWKWARD_TEXT)]  # fmt: skip
    return [bare, full, *texts]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def fresh(engine: str, tmp_path: Path) -> Iterator[Iterator[LedgerBackend]]:
    """``next(fresh)`` opens another empty ledger of the engine under test."""
    opened: list[LedgerBackend] = []
    cleanups: list[Iterator[str]] = []

    def make() -> Iterator[LedgerBackend]:
        while True:
            urls = ledger_url(engine, tmp_path)
            cleanups.append(urls)
            opened.append(open_ledger(next(urls)))
            yield opened[-1]

    yield make()
    for ledger in opened:
        ledger.close()
    for urls in cleanups:
        next(urls, None)  # drops the PostgreSQL schema


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_then_import_into_a_fresh_ledger_is_lossless(
    fresh: Iterator[LedgerBackend], tmp_path: Path, fmt: str
) -> None:
    source, target = next(fresh), next(fresh)
    records = tricky_records()
    assert source.insert(records) == len(records)
    path = tmp_path / f"export.{fmt}"
    with open_output(path) as out:
        assert export_records(source, out, fmt) == len(records)
    result = import_file(target, path)
    assert (result.read, result.new, result.failed) == (len(records), len(records), 0)
    expected = sorted(records, key=lambda r: (r.start_ns, r.trace_id, r.span_id))
    assert list(target.records()) == list(source.records()) == expected


def test_jsonl_is_one_full_record_per_line_and_csv_has_a_header_of_every_field(tmp_path: Path) -> None:
    with open_ledger("sqlite:///:memory:") as ledger:
        ledger.insert(tricky_records()[:2])
        jsonl, csv_text = io.StringIO(), io.StringIO()
        export_records(ledger, jsonl, "jsonl")
        export_records(ledger, csv_text, "csv")
    lines = jsonl.getvalue().splitlines()
    assert [json.loads(line) for line in lines] == [r.to_dict() for r in tricky_records()[:2]]
    assert f'"cost_nanos":{BIG}' in lines[1] and '"pricing_model":null' in lines[0]
    header, bare, _ = csv_text.getvalue().split("\n", 2)
    assert header.split(",") == list(LedgerRecord.field_names())
    cells = dict(zip(header.split(","), bare.split(","), strict=True))
    assert (cells["priced"], cells["pricing_model"], cells["streaming"], cells["input_tokens"]) == (
        "false",
        "",
        "false",
        "0",
    )


def test_csv_escapes_what_a_spreadsheet_would_run_or_an_empty_cell_would_hide(tmp_path: Path) -> None:
    with open_ledger("sqlite:///:memory:") as ledger:
        ledger.insert(tricky_records())
        out = io.StringIO()
        export_records(ledger, out, "csv", Filters(equals={"feature": "=HYPERLINK(1)"}))
    row = out.getvalue().splitlines()[1]
    assert ",\\=HYPERLINK(1)," in row and ",=" not in row


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ("=1+1", "\\=1+1"),
        ("\uff1d1+1", "\\\uff1d1+1"),
        ("\uff0b1", "\\\uff0b1"),
        ("\uff0d1", "\\\uff0d1"),
        ("\uff20x", "\\\uff20x"),
        ("  =1+1", "\\  =1+1"),
        ("\u3000@SUM(A1)", "\\\u3000@SUM(A1)"),
        (" plain", " plain"),
        ("   ", "   "),
        ("a=b", "a=b"),
    ],
)
def test_csv_neutralizes_formulas_and_still_round_trips_byte_for_byte(
    tmp_path: Path, text: str, cell: str
) -> None:
    with open_ledger("sqlite:///:memory:") as ledger:
        ledger.insert([make_record(1, team=text, user=text)])
        first = io.StringIO()
        export_records(ledger, first, "csv")
    header, row = first.getvalue().splitlines()
    cells = dict(zip(header.split(","), next(csv.reader([row])), strict=True))
    assert (cells["team"], cells["user"]) == (cell, cell)
    path = tmp_path / "x.csv"
    path.write_text(first.getvalue(), encoding="utf-8")
    with open_ledger("sqlite:///:memory:") as again:
        assert import_file(again, path).new == 1
        assert [r.team for r in again.records()] == [text]
        second = io.StringIO()
        export_records(again, second, "csv")
    assert second.getvalue() == first.getvalue()


def test_archive_is_a_reimportable_gzip_export_that_never_overwrites(tmp_path: Path) -> None:
    now = datetime(2025, 3, 10, 12, 30, 5, tzinfo=timezone.utc)
    with open_ledger("sqlite:///:memory:") as ledger:
        ledger.insert(tricky_records())
        first, count = write_archive(ledger, tmp_path / "archive", now)
        second, _ = write_archive(ledger, tmp_path / "archive", now)
        original = list(ledger.records())
    assert (first.name, second.name, count) == (
        "ledger-20250310T123005Z.jsonl.gz",
        "ledger-20250310T123005Z-1.jsonl.gz",
        17,
    )
    assert {p.name for p in (tmp_path / "archive").iterdir()} == {first.name, second.name}  # no .partial left
    with open_ledger("sqlite:///:memory:") as restored:
        assert import_file(restored, first).new == 17
        assert list(restored.records()) == original


def test_open_output_leaves_nothing_behind_when_writing_fails(tmp_path: Path) -> None:
    def fail_halfway() -> None:
        with open_output(tmp_path / "out.csv") as out:
            out.write("half")
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        fail_halfway()
    assert list(tmp_path.iterdir()) == []
