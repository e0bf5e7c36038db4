"""Import: bad lines reported with file and line and skipped, idempotent merges, strict checks."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from otel_llmcost.analytics import BadLine, import_file, record_from_mapping
from otel_llmcost.ledger import LedgerRecord, open_ledger
from tests.ledger.support import make_record


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
        "trace_id,span_id,start_ns,end_ns,provider,operation\n"
        + "1" * 32
        + ","
        + "2" * 16
        + ",5,6,openai,chat\n"
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
