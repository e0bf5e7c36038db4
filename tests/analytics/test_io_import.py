"""Import: bad lines reported with file and line and skipped, idempotent merges, strict checks,
and the collector's rules for what a ledger row may hold."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from otel_llmcost.analytics import BadLine, export_records, import_file, record_from_mapping
from otel_llmcost.ledger import LedgerRecord, open_ledger
from otel_llmcost.ledger._model import fit_key
from otel_llmcost.usage import MAX_TOKENS_PER_CALL
from tests.analytics.report_data import ENGINES, ledger_url
from tests.ledger.support import make_record, ns

MAX = MAX_TOKENS_PER_CALL
DAY_NS = 86_400 * 1_000_000_000
START = make_record(1).start_ns
FAR = ns(2200, 1, 1)
DROP = object()  # a change that removes the field


def test_bad_lines_are_reported_with_their_numbers_and_the_rest_imported(tmp_path: Path) -> None:
    good = [json.dumps(make_record(i).to_dict()) for i in range(1, 5)]
    bad_id = {**make_record(9).to_dict(), "trace_id": "ABC"}
    lines = [
        good[0],                                                     # 1
        "{not json",                                                 # 2
        good[1],                                                     # 3
        json.dumps({"trace_id": "1" * 32}),                          # 4 missing fields
        "",                                                          # 5 blank: skipped quietly
        json.dumps({**make_record(7).to_dict(), "colour": "red"}),   # 6
        json.dumps({**make_record(8).to_dict(), "start_ns": "abc"}), # 7
        "[1, 2]",                                                    # 8
        json.dumps(bad_id),                                          # 9
        good[2],                                                     # 10
        good[0],                                                     # 11 repeats line 1
        json.dumps({**make_record(10).to_dict(), "priced": 1}),      # 12
        json.dumps({**make_record(11).to_dict(), "input_tokens": 2**63}),  # 13
        json.dumps({**make_record(12).to_dict(), "team": "a\x00b"}),  # 14 imported, NUL as U+FFFD
    ]  # fmt: skip
    path = tmp_path / "mixed.jsonl"
    not_utf8 = json.dumps(make_record(13, team="@@").to_dict()).encode().replace(b"@@", b"\xff")  # 15
    path.write_bytes(("\n".join(lines) + "\n").encode() + not_utf8 + b"\n" + good[3].encode() + b"\n")
    seen: list[BadLine] = []
    with open_ledger("sqlite:///:memory:") as ledger:
        result = import_file(ledger, path, on_error=seen.append, batch_size=2)
        assert [(r.trace_id, r.team) for r in ledger.records()] == [
            *((f"{i:032x}", None) for i in range(1, 5)),
            (f"{12:032x}", "a\ufffdb"),
        ]
    assert [(b.line, b.reason.split(":")[0]) for b in seen] == [
        (2, "Expecting property name enclosed in double quotes"),
        (4, "missing field(s)"),
        (6, "unknown field(s)"),
        (7, "start_ns must be an integer, got 'abc'"),
        (8, "expected a JSON object, got list"),
        (9, "trace_id='ABC' is not 32 lowercase hex digits"),
        (12, "priced must be true or false, got 1"),
        (13, f"input_tokens={2**63} is outside the 64-bit integer range"),
        (15, "team is not valid UTF-8 text"),
    ]
    assert str(seen[0]).startswith(f"{path}:2: ")
    assert (result.read, result.new, result.already_present, result.failed) == (6, 5, 1, 9)


def test_importing_twice_changes_nothing_and_merging_counts_each_call_once(tmp_path: Path) -> None:
    alice, bob = tmp_path / "alice.jsonl", tmp_path / "bob.jsonl.gz"
    alice.write_text("".join(json.dumps(make_record(i, team="a").to_dict()) + "\n" for i in (1, 2, 3)))
    with gzip.open(bob, "wt") as out:
        out.writelines(json.dumps(make_record(i, team="a").to_dict()) + "\n" for i in (3, 4, 5))
    with open_ledger(f"sqlite:///{tmp_path / 'merged.db'}") as ledger:
        first = [import_file(ledger, alice), import_file(ledger, bob)]
        snapshot = list(ledger.records())
        again = [import_file(ledger, alice), import_file(ledger, bob)]
        assert list(ledger.records()) == snapshot and len(snapshot) == 5
    assert [(r.new, r.already_present) for r in first] == [(3, 0), (2, 1)]
    assert [(r.new, r.already_present) for r in again] == [(0, 3), (0, 3)]
    assert again[0].to_dict() == {
        "file": str(alice),
        "read": 3,
        "new": 0,
        "already_present": 3,
        "failed": 0,
        "errors": [],
    }


def test_csv_import_checks_the_header_and_every_cell(tmp_path: Path) -> None:
    fields = LedgerRecord.field_names()
    row = make_record(1).to_dict()

    def line(**changes: str) -> str:
        cells = {
            name: (
                ""
                if row[name] is None
                else str(row[name]).lower()
                if isinstance(row[name], bool)
                else str(row[name])
            )
            for name in fields
        }
        return ",".join({**cells, **changes}.values())

    path = tmp_path / "x.csv"
    path.write_text(
        "\n".join(
            [
                ",".join(fields),
                line(),
                line(priced="yes"),
                line(input_tokens="1.5"),
                "a,b",
                line(span_id="2" * 16, provider=""),
            ]
        )
        + "\n"
    )
    seen: list[BadLine] = []
    with open_ledger("sqlite:///:memory:") as ledger:
        result = import_file(ledger, path, on_error=seen.append)
    assert [(b.line, b.reason) for b in seen] == [
        (3, "priced must be true or false, got 'yes'"),
        (4, "input_tokens must be an integer, got '1.5'"),
        (5, f"2 cells for {len(fields)} columns"),
        (6, "provider must not be null"),
    ]
    assert result.new == 1
    minimal = tmp_path / "minimal.csv"
    minimal.write_text(
        "trace_id,span_id,start_ns,end_ns,provider,operation,cost_nanos\n"
        + "1" * 32
        + ","
        + "2" * 16
        + ",5,6,openai,chat,0\n"
    )
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("trace_id,colour\n")
    with open_ledger("sqlite:///:memory:") as ledger:
        assert import_file(ledger, minimal).new == 1
        assert list(ledger.records()) == [LedgerRecord("1" * 32, "2" * 16, 5, 6, "openai", "chat")]
        bad = import_file(ledger, unknown)
    assert (bad.failed, bad.errors[0].line, bad.errors[0].reason) == (
        1,
        1,
        "bad CSV header: unknown column(s) ['colour']",
    )


def test_a_truncated_gzip_or_missing_file_is_reported_and_earlier_batches_stay(tmp_path: Path) -> None:
    path = tmp_path / "cut.jsonl.gz"
    whole = gzip.compress(
        "".join(json.dumps(make_record(i).to_dict()) + "\n" for i in range(1, 3001)).encode()
    )
    path.write_bytes(whole[: len(whole) // 2])
    with open_ledger("sqlite:///:memory:") as ledger:
        result = import_file(ledger, path, batch_size=100)
        assert ledger.count() == result.new > 0
        missing = import_file(ledger, tmp_path / "nope.jsonl")
    assert result.failed == 1 and result.errors[0].line == 0 and "cannot read" in result.errors[0].reason
    assert (missing.failed, str(missing.errors[0])) == (
        1,
        f"{tmp_path / 'nope.jsonl'}: cannot read: No such file or directory",
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"trace_id": "1" * 32}, "missing field(s): span_id, start_ns, end_ns, provider, operation"),
        ({**make_record(1).to_dict(), "provider": None}, "provider must not be null"),
        ({**make_record(1).to_dict(), "input_tokens": True}, "input_tokens must be an integer, got True"),
        ({**make_record(1).to_dict(), "input_tokens": 1.0}, "input_tokens must be an integer, got 1.0"),
        (
            {**make_record(1).to_dict(), "span_id": "1" * 15},
            "span_id='111111111111111' is not 16 lowercase hex digits",
        ),
        ({**make_record(1).to_dict(), "team": 5}, "team must be a string, got 5"),
        ({**make_record(1).to_dict(), "user": "\ud800"}, "user is not valid UTF-8 text"),
        ("just text", "expected a JSON object, got str"),
    ],
)
def test_record_from_mapping_names_the_first_problem(data: object, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        record_from_mapping(data)
    assert str(caught.value) == message


# A priced record as the collector writes it: 100 nano-dollars, 60 input and 40 output.
PRICED: dict[str, Any] = {**make_record(1).to_dict(), "cost_nanos": 100, "cost_input_nanos": 60,
                          "cost_output_nanos": 40}  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"input_tokens": -50}, "input_tokens is negative (-50)"),
        ({"output_audio_tokens": -1}, "output_audio_tokens is negative (-1)"),
        (
            {"web_search_requests": MAX + 1},
            f"web_search_requests={MAX + 1} exceeds the per-call maximum {MAX}",
        ),
        ({"start_ns": -1}, "start_ns=-1 is not a time after 1970-01-01"),
        ({"start_ns": 0, "end_ns": 0}, "start_ns=0 is not a time after 1970-01-01"),
        (
            {"start_ns": FAR, "end_ns": FAR},
            f"start_ns={FAR} is more than a day ahead of this machine's clock",
        ),
        ({"end_ns": START - 1}, f"end_ns={START - 1} is before start_ns={START}"),
        ({"cost_nanos": DROP}, "priced record without cost_nanos: give its cost, or set priced to false"),
        (
            {"cost_nanos": DROP, "priced": DROP},
            "priced record without cost_nanos: give its cost, or set priced to false",
        ),
        ({"cost_nanos": 104}, "cost_nanos=104 does not match its breakdown columns, which sum to 100"),
        ({"cost_nanos": 1}, "cost_nanos=1 does not match its breakdown columns, which sum to 100"),
        # request fees are part of the total
        ({"cost_fees_nanos": 50}, "cost_nanos=100 does not match its breakdown columns, which sum to 150"),
        ({"cost_nanos": -5}, "cost_nanos is negative (-5)"),
        ({"cost_cache_read_nanos": -1, "cost_reasoning_nanos": 1}, "cost_cache_read_nanos is negative (-1)"),
        ({"priced": False}, "unpriced record with cost_nanos=100: set priced to true, or the cost to 0"),
        (
            {
                "priced": False,
                "cost_nanos": 0,
                "cost_input_nanos": 0,
                "cost_output_nanos": 0,
                "cost_fees_nanos": 2,
            },
            "unpriced record with cost_fees_nanos=2: set priced to true, or the cost to 0",
        ),
    ],
)
def test_a_record_the_collector_would_never_write_is_reported_and_skipped(
    tmp_path: Path, changes: dict[str, Any], reason: str
) -> None:
    bad = {**PRICED, **changes}
    for name in [n for n, v in changes.items() if v is DROP]:
        del bad[name]
    good = {**PRICED, "trace_id": "2" * 32}
    path = tmp_path / "edited.jsonl"
    path.write_text(f"{json.dumps(good)}\n{json.dumps(bad)}\n")
    seen: list[BadLine] = []
    with open_ledger("sqlite:///:memory:") as ledger:
        result = import_file(ledger, path, on_error=seen.append)
        assert list(ledger.records()) == [LedgerRecord(**good)]
    assert [str(b) for b in seen] == [f"{path}:2: {reason}"]
    assert (result.read, result.new, result.failed) == (1, 1, 1)


def test_records_within_the_collectors_rules_import_unchanged(tmp_path: Path) -> None:
    counts = {name: MAX for name in ("input_tokens", "cache_read_tokens", "cache_write_5m_tokens",
              "cache_write_1h_tokens", "output_tokens", "reasoning_tokens", "input_audio_tokens",
              "output_audio_tokens", "web_search_requests")}  # fmt: skip
    soon = time.time_ns() + DAY_NS - 60 * 1_000_000_000  # a clock up to a day ahead is tolerated
    records = [
        make_record(1, **counts),
        make_record(2, start_ns=1, end_ns=1, priced=False, pricing_model=None),
        make_record(3, start_ns=soon),
        # seven separately rounded figures: the breakdown may be 3 nano-dollars off the total
        make_record(4, cost_nanos=103, cost_input_nanos=50, cost_fees_nanos=50),
        make_record(5, cost_nanos=97, cost_output_nanos=1, cost_cache_read_nanos=2, cost_reasoning_nanos=97),
        make_record(6, cost_nanos=1_250_000_000),  # no breakdown given
        make_record(7, team="t" * 256, response_id="r" * 256),  # as long as the collector keeps them
    ]
    path = tmp_path / "fine.jsonl"
    path.write_text("".join(json.dumps(r.to_dict()) + "\n" for r in records))
    csv_path = tmp_path / "fine.csv"
    with open_ledger("sqlite:///:memory:") as ledger:
        result = import_file(ledger, path)
        assert list(ledger.records()) == sorted(records, key=lambda r: r.start_ns)
        with csv_path.open("w") as out:
            export_records(ledger, out, "csv")
    assert (result.new, result.failed) == (7, 0)
    with open_ledger("sqlite:///:memory:") as ledger:
        assert import_file(ledger, csv_path).new == 7
        assert list(ledger.records()) == sorted(records, key=lambda r: r.start_ns)


def test_a_csv_without_a_cost_column_imports_only_its_unpriced_rows(tmp_path: Path) -> None:
    path = tmp_path / "costless.csv"
    path.write_text(
        "trace_id,span_id,start_ns,end_ns,provider,operation,priced\n"
        f"{'1' * 32},{'2' * 16},5,6,openai,chat,true\n"
        f"{'3' * 32},{'4' * 16},5,6,openai,chat,false\n"
        f"{'5' * 32},{'6' * 16},5,6,openai,chat,\n"
    )
    seen: list[BadLine] = []
    with open_ledger("sqlite:///:memory:") as ledger:
        result = import_file(ledger, path, on_error=seen.append)
        assert list(ledger.records()) == [
            LedgerRecord("3" * 32, "4" * 16, 5, 6, "openai", "chat", priced=False)
        ]
    assert [(b.line, b.reason) for b in seen] == [
        (2, "priced record without cost_nanos: give its cost, or set priced to false"),
        (4, "priced must not be null"),
    ]
    assert (result.new, result.failed) == (1, 2)


@pytest.fixture(params=ENGINES)
def urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Iterator[str]]:
    """``next(urls)``: the URL of another empty ledger of the engine under test."""
    made: list[Iterator[str]] = []

    def make() -> Iterator[str]:
        while True:
            made.append(ledger_url(str(request.param), tmp_path))
            yield next(made[-1])

    yield make()
    for found in made:
        next(found, None)  # drops the PostgreSQL schema


def test_over_long_indexed_values_are_fitted_as_the_collector_fits_them(
    urls: Iterator[str], tmp_path: Path
) -> None:
    # 1,000 emoji that do not compress: 4,000 bytes, past PostgreSQL's 2,704-byte index row
    pick = random.Random(0)
    emoji = "".join(chr(pick.randrange(0x1F300, 0x1FAFF)) for _ in range(1000))
    long = {"provider": "p" * 300, "response_id": "r" * 257, "team": emoji, "project": "\u00e9" * 5000,
            "user": "u" * 1000}  # fmt: skip
    sent = make_record(1, **long, feature="f" * 1000)
    path = tmp_path / "long.jsonl"
    path.write_text(json.dumps(sent.to_dict()) + "\n")
    fitted = make_record(1, **{name: fit_key(value) for name, value in long.items()}, feature="f" * 1000)
    assert fitted.team == emoji[:239] + "~" + hashlib.sha256(emoji.encode()).hexdigest()[:16]
    assert [len(str(getattr(fitted, name))) for name in long] == [256] * 5
    with open_ledger(next(urls)) as ledger:
        first = import_file(ledger, path)
        again = import_file(ledger, path)
        assert list(ledger.records()) == [fitted]  # feature is not indexed: the collector keeps it whole
        exported = io.StringIO()
        export_records(ledger, exported)
    assert [(r.new, r.already_present, r.failed) for r in (first, again)] == [(1, 0, 0), (0, 1, 0)]
    round_trip = tmp_path / "round-trip.jsonl"
    round_trip.write_text(exported.getvalue())
    with open_ledger(next(urls)) as target:
        assert import_file(target, round_trip).new == 1
        assert list(target.records()) == [fitted]


def test_a_cost_that_would_overflow_the_ledgers_sums_is_refused(tmp_path: Path) -> None:
    # $4 billion for a thousand tokens, three times: the third would take the total past 2**63 - 1
    # nano-dollars, which no report could add up (SQLite sums in 64 bits).
    huge = 4 * 10**18
    records = [make_record(i, cost_nanos=huge, cost_input_nanos=huge) for i in (1, 2, 3)]
    path = tmp_path / "absurd.jsonl"
    path.write_text("".join(json.dumps(r.to_dict()) + "\n" for r in records))
    seen: list[BadLine] = []
    with open_ledger(f"sqlite:///{tmp_path / 'l.db'}") as ledger:
        ledger.insert([make_record(9, cost_nanos=10**18)])  # already held
        result = import_file(ledger, path, on_error=seen.append)
        assert ledger.totals().cost_nanos == 9 * 10**18  # every report still sums it
    assert (result.read, result.new, result.failed) == (2, 2, 1)
    assert [str(b) for b in seen] == [
        f"{path}:3: cost_nanos=4000000000000000000 would take the ledger's total cost past the 64-bit integer "
        "range that reports add up in (room left: 223372036854775807 nano-dollars)"
    ]
