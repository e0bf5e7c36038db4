"""The instrumentation benchmark's worker, run with the project's own interpreter (which has openai
3.x, httpx2, the OpenTelemetry SDK and otel_llmcost), and the benchmark's arithmetic on canned
results. The peers' virtualenvs are not built here: ``python -m benchmarks --only instrumentation``
does that.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks.bench_instrumentation import FULL, Series, summarize, worker_env

WORKER = Path(__file__).resolve().parents[2] / "benchmarks" / "instr" / "worker.py"
CALLS = 6
BLOCK = 3
CHUNKS = 5
#: gpt-4o-mini, USD per 1M tokens: input 0.15, cached input 0.075, output 0.60. The canned usage is
#: 1300 prompt tokens (1024 cached) and 64 completion tokens:
#: 276 x 0.15 + 1024 x 0.075 + 64 x 0.60 = 156.6 per 1M tokens.
EXPECTED_COST = 0.0001566


@pytest.fixture(scope="module")
def results() -> dict[tuple[str, str], dict[str, Any]]:
    """Both implementations at once, both modes in each process: importing openai takes a second."""
    procs = {
        impl: subprocess.Popen(
            [
                sys.executable,
                str(WORKER),
                f"--impl={impl}",
                "--mode=nonstream",
                "--mode=stream",
                f"--calls={CALLS}",
                f"--chunks={CHUNKS}",
                f"--block={BLOCK}",
                "--warmup=2",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=worker_env(),
        )
        for impl in ("baseline", "ours")
    }
    out = {}
    for impl, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr
        for line in stdout.strip().splitlines():
            result = json.loads(line)
            out[impl, result["mode"]] = result
    return out


@pytest.mark.parametrize("impl", ["baseline", "ours"])
@pytest.mark.parametrize("mode", ["nonstream", "stream"])
def test_result_shape(results: dict[tuple[str, str], dict[str, Any]], impl: str, mode: str) -> None:
    result = results[impl, mode]
    assert (result["impl"], result["mode"], result["calls"], result["chunks"]) == (impl, mode, CALLS, CHUNKS)
    for summary in (result["call_ns"], result["call_cpu_ns"], result["off_call_ns"]):
        assert summary["n"] == CALLS
        assert 0 < summary["min"] <= summary["p10"] <= summary["median"] <= summary["p90"]
    if mode == "stream":
        # The first chunk's wait includes the request; the gaps after it are per-chunk costs.
        assert result["chunk_ns"]["n"] == result["off_chunk_ns"]["n"] == CALLS * (CHUNKS - 1)
        assert result["chunk_ns"]["median"] > 0
        assert isinstance(result["paired"]["chunk_ns"], float | int)
    else:
        assert result["chunk_ns"] is None
        assert result["paired"]["chunk_ns"] is None
    # Blocks alternate instrumented / switched off; each pair gives one difference.
    assert result["paired"]["pairs"] == CALLS // BLOCK
    assert isinstance(result["paired"]["call_ns"], float | int)
    assert result["versions"]["openai"].startswith("3.")


@pytest.mark.parametrize("mode", ["nonstream", "stream"])
def test_ours_prices_and_attributes_every_call(
    results: dict[tuple[str, str], dict[str, Any]], mode: str
) -> None:
    result = results["ours", mode]
    assert result["spans_per_call"] == 1.0
    span = result["span"]
    assert span["name"] == "chat gpt-4o-mini"
    assert span["cost_attribute"] == "gen_ai.usage.cost.amount"
    assert span["cost"] == EXPECTED_COST
    assert span["attribution"] == "bench"
    # Streams too: the injected include_usage brought the provider's exact usage, cache split included.
    assert (span["input_tokens"], span["cache_read_tokens"]) == (1300, 1024)
    assert {"gen_ai.client.operation.duration", "gen_ai.client.token.usage", "llmcost.client.cost"} <= set(
        result["metrics"]
    )


def test_ours_is_switched_off_and_on_by_its_patches(results: dict[tuple[str, str], dict[str, Any]]) -> None:
    assert {"Completions.create", "Client.send", "APIResponse.parse"} <= set(
        results["ours", "stream"]["switched"]
    )


def test_baseline_records_nothing(results: dict[tuple[str, str], dict[str, Any]]) -> None:
    for mode in ("nonstream", "stream"):
        result = results["baseline", mode]
        assert result["switched"] == []
        assert result["spans_per_call"] == 0.0
        assert result["span"]["name"] is None
        assert result["metrics"] == []


@pytest.mark.parametrize("impl", ["baseline", "ours"])
def test_stream_app_sees_exactly_the_content_chunks(
    results: dict[tuple[str, str], dict[str, Any]], impl: str
) -> None:
    # Ours asked for the usage chunk; the application must not see it.
    assert results[impl, "stream"]["app_chunks"] == {"total": CHUNKS, "content": CHUNKS}


def _run(call_us: float, chunk_us: float | None, paired: tuple[float, float | None]) -> dict[str, Any]:
    """A worker result whose switched-off medians are 1000 µs per call and 100 µs per chunk."""

    def summary(us: float) -> dict[str, float]:
        return {"median": us * 1000, "p10": us * 900, "n": 10}

    call, chunk = paired
    return {
        "call_ns": summary(call_us),
        "chunk_ns": summary(chunk_us) if chunk_us is not None else None,
        "off_call_ns": summary(1000),
        "off_chunk_ns": summary(100) if chunk_us is not None else None,
        "paired": {
            "call_ns": call * 1000 * 1.5,  # raw differences: deliberately not what the ratios say
            "call_rel": call / 1000,
            "chunk_ns": None if chunk is None else chunk * 1000,
            "chunk_rel": None if chunk is None else chunk / 100,
        },
        "span": {"name": "chat m", "cost": None, "input_tokens": 1},
        "metrics": ["m"],
        "versions": {"impl": "1.0", "openai": "3.54.0"},
    }


def test_summarize_takes_medians_over_rounds_and_targets_the_best_peer() -> None:
    # Per round: (call µs, chunk µs, paired call overhead µs, paired chunk overhead µs), the paired
    # ones as ratios to the switched-off 1000 / 100 µs.
    rounds: dict[str, list[tuple[float, float, float, float]]] = {
        "baseline": [(1000, 100, 5, 0.1), (2000, 150, -5, -0.1), (1100, 100, 1, 0.0)],
        "ours": [(1120, 102, 100, 2), (2150, 152, 150, 3), (1190, 103, 90, 1)],  # medians 100, 2
        "openai_v2": [(1300, 101, 300, 1), (2100, 151, 100, 1), (1400, 101, 300, 1)],  # 300, 1
        "openlit": [(1150, 110, 150, 9), (2120, 170, 120, 9), (1230, 110, 130, 9)],  # 130, 9
    }
    series = {
        (impl, mode): Series(
            runs=[
                _run(c, k if mode == "stream" else None, (pc, pk if mode == "stream" else None))
                for c, k, pc, pk in values
            ]
        )
        for impl, values in rounds.items()
        for mode in ("nonstream", "stream")
    }
    series["openllmetry", "nonstream"] = Series(runs=[{}, {}, {}], errors=["round 1: worker exited 1: boom"])
    figures = {f.name: f for f in summarize(series, FULL, {"openlit_spans": "failed: no wheel"})}

    ours = figures["ours: overhead per call (non-stream)"]
    assert ours.value == pytest.approx(100)
    assert ours.target == pytest.approx(130)  # openlit, the best peer
    assert ours.meets_target is True
    assert "the best peer, openlit" in ours.note
    assert "+10.0% of 1,000.0" in ours.note
    assert "raw paired 150.0" in ours.note
    assert "vs baseline venv 120.0" in ours.note  # 120, 150, 90 over the baseline venv's medians
    peer = figures["openai_v2: overhead per call (non-stream)"]
    assert peer.value == pytest.approx(300)
    assert "3.00x ours" in peer.note
    chunk = figures["ours: overhead per chunk (stream)"]
    assert (chunk.value, chunk.unit) == (pytest.approx(2), "µs/chunk")
    assert chunk.target == pytest.approx(1)  # openai_v2
    assert chunk.meets_target is False
    # The paired method run on the baseline itself: the noise floor.
    assert figures["noise floor: paired method on the baseline (nonstream)"].value == pytest.approx(1)
    # A peer that could not be built or run is reported, and the others still are.
    assert "failed: no wheel" in figures["openlit_spans: not measured"].note
    assert "boom" in figures["openllmetry nonstream: not measured"].note
    assert figures["baseline: SDK call, no instrumentation"].value == pytest.approx(1100)
