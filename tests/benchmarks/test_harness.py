"""The ``python -m benchmarks`` harness: a partial run never overwrites the published results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import benchmarks
from benchmarks import Figure, best_of
from benchmarks.__main__ import HERE, main, write_results


def test_partial_run_writes_nothing_without_out(capsys: pytest.CaptureFixture[str]) -> None:
    before = {p.name: p.stat().st_mtime_ns for p in HERE.glob("results.*")}
    assert main(["--quick", "--only", "pricing"]) == 0
    assert capsys.readouterr().out.endswith(
        "partial run: results not written (give --out DIR to keep them)\n"
    )
    assert {p.name: p.stat().st_mtime_ns for p in HERE.glob("results.*")} == before


def test_partial_run_with_out_writes_both_files(tmp_path: Path) -> None:
    assert main(["--quick", "--only", "pricing", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "results.json").read_text())
    assert list(data["results"]) == ["pricing"]
    names = [f["name"] for f in data["results"]["pricing"]]
    assert names[0] == "resolve + price (resolved names)"
    assert data["machine"]["cores"] is not None
    md = (tmp_path / "results.md").read_text().splitlines()
    assert md[0] == "# Benchmark results"
    assert md[5] == "|---|---|---|---|---|"
    assert all(line.startswith("| pricing | ") for line in md[6:])


def test_write_results_table(tmp_path: Path) -> None:
    figures = {
        "demo": [
            Figure("throughput", 12_042.0, "spans/s", target=20_000, note="1 core"),
            Figure("latency", 0.5, "s", target=2.0, better="lower"),
            Figure("size", 557.7, "MB"),
        ]
    }
    info = {
        "cpu": "X",
        "cores": 2,
        "python": "3.11.7",
        "platform": "Linux",
        "date": "2026-11-22T00:00:00+00:00",
    }
    write_results(figures, info, tmp_path)
    rows = (tmp_path / "results.md").read_text().splitlines()[6:]
    data = json.loads((tmp_path / "results.json").read_text())
    assert rows == [
        "| demo | throughput — 1 core | 12,042 spans/s | >= 20,000 spans/s | **no** |",
        "| demo | latency | 0.5 s | <= 2 s | yes |",
        "| demo | size | 557.7 MB |  |  |",
    ]
    assert [f["meets_target"] for f in data["results"]["demo"]] == [False, True, None]


def test_best_of_returns_the_fastest_run(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [0.0]
    monkeypatch.setattr(benchmarks.time, "perf_counter", lambda: clock[0])
    durations = iter([0.03, 0.01, 0.02])

    def run() -> None:
        clock[0] += next(durations)

    assert best_of(run) == pytest.approx(0.01)
