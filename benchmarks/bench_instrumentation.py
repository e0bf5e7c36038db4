"""Per-call (non-stream) and per-chunk (stream) overhead of our instrumentation against its peers.

Every implementation runs in its own virtualenv (``benchmarks/instr/build_venvs.py``) with the same
openai 3.x SDK, the same OpenTelemetry SDK, the same process shape and the same
``httpx2.MockTransport`` answering canned bytes (``benchmarks/instr/worker.py``). Runs are
interleaved: every round runs every (implementation, mode) once, in a shuffled but seeded order.

Two overheads are computed, both as medians over the rounds:

* **paired** (the figures): inside each worker process, blocks of calls alternate between the
  instrumentation switched on and off (the patched attributes put back), and each block pair gives
  ``median(on) / median(off) - 1``. Both sides of a pair see the same machine state, which matters
  on a 2-core machine shared with other jobs: there, process-to-process noise is as large as the
  overheads themselves, and a busy spell slows instrumented and plain calls by the same factor
  (which a ratio cancels and a difference does not). The ratio is turned back into µs with one
  reference for everyone: the median switched-off time over all runs of that mode.
* **vs the baseline venv** (in the notes): the implementation's median minus the median of the
  never-instrumented baseline process run in the same round — the issue's definition, and a
  check on the first; the raw paired difference in µs is in the notes too.

The baseline venv is also run through the paired protocol with nothing to switch: its "overhead"
is the noise floor of the paired method.

Target: less overhead than every peer while doing more (cost and attribution on every span).
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import Figure
from benchmarks.instr import build_venvs

HERE = Path(__file__).resolve().parent
WORKER = HERE / "instr" / "worker.py"
RAW_RESULTS = build_venvs.VENVS / "instrumentation-runs.json"

BASELINE = "baseline"
OURS = "ours"
#: Implementation -> (venv, what it is).
IMPLS: dict[str, tuple[str, str]] = {
    BASELINE: ("baseline", "no instrumentation"),
    OURS: ("ours", "otel-llmcost"),
    "openai_v2": ("openai_v2", "opentelemetry-instrumentation-openai-v2 (official)"),
    "openllmetry": ("openllmetry", "opentelemetry-instrumentation-openai (OpenLLMetry)"),
    "openlit": ("openlit", "openlit, GenAI metrics on like the others"),
    "openlit_spans": ("openlit", "openlit, metrics off (spans only)"),
}
PEERS = [name for name in IMPLS if name not in (BASELINE, OURS)]
MODES = ("nonstream", "stream")
#: Environment variables that would change what an implementation does: cleared for every run.
_ENV_PREFIXES = ("OTEL_", "TRACELOOP_", "OPENLIT_")
SEED = 20_260_101


@dataclass(frozen=True)
class Plan:
    rounds: int
    calls: dict[str, int]
    """Timed calls per state (instrumented / switched off) in one worker run."""
    block: dict[str, int]
    warmup: dict[str, int]
    chunks: int = 20


QUICK = Plan(
    rounds=1,
    calls={"nonstream": 120, "stream": 40},
    block={"nonstream": 20, "stream": 10},
    warmup={"nonstream": 30, "stream": 10},
)
#: Streams get more calls per run than their per-call cost alone would need: the per-chunk figure
#: is a few µs against ~100 µs chunks, and with 160 calls (10 block pairs) the baseline's paired
#: "overhead" (the noise floor) reached 2 µs in single rounds.
FULL = Plan(
    rounds=6,
    calls={"nonstream": 500, "stream": 480},
    block={"nonstream": 20, "stream": 8},
    warmup={"nonstream": 100, "stream": 30},
)


@dataclass
class Series:
    """One (implementation, mode) over the rounds: one worker result per round ({} if it failed)."""

    runs: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def worker_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_ENV_PREFIXES)}
    env["PYTHONHASHSEED"] = "0"  # the same dict/set layouts in every process
    return env


def run_worker(python: Path, impl: str, mode: str, plan: Plan, *, timeout: float = 600) -> dict[str, Any]:
    """One worker process; its JSON result, or RuntimeError with the worker's last words."""
    cmd = [
        str(python),
        str(WORKER),
        f"--impl={impl}",
        f"--mode={mode}",
        f"--calls={plan.calls[mode]}",
        f"--block={plan.block[mode]}",
        f"--warmup={plan.warmup[mode]}",
        f"--chunks={plan.chunks}",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=worker_env(), check=False)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        raise RuntimeError(f"worker exited {done.returncode}: {tail}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def _measure(plan: Plan, pythons: dict[str, Path]) -> dict[tuple[str, str], Series]:
    impls = [i for i in IMPLS if IMPLS[i][0] in pythons]
    series = {(i, m): Series() for i in impls for m in MODES}
    rng = random.Random(SEED)
    for round_no in range(plan.rounds):
        order = [(i, m) for i in impls for m in MODES]
        rng.shuffle(order)
        for impl, mode in order:
            try:
                result = run_worker(pythons[IMPLS[impl][0]], impl, mode, plan)
            except (RuntimeError, OSError, subprocess.TimeoutExpired, json.JSONDecodeError) as err:
                series[impl, mode].errors.append(f"round {round_no + 1}: {err}")
                result = {}
            series[impl, mode].runs.append(result)
    return series


def run(quick: bool = False) -> list[Figure]:
    plan = QUICK if quick else FULL
    built = build_venvs.build_all()
    pythons = {name: b.python for name, b in built.items() if b.python is not None}
    failed = {name: b.status for name, b in built.items() if not b.ok}
    if BASELINE not in pythons:
        return summarize({}, plan, failed)
    series = _measure(plan, pythons)
    RAW_RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RAW_RESULTS.write_text(
        json.dumps({f"{i}/{m}": {"runs": s.runs, "errors": s.errors} for (i, m), s in series.items()}) + "\n"
    )
    return summarize(series, plan, failed)


# --- from worker results to figures ---------------------------------------------------------------

#: (figure key, worker mode, result key): what each overhead figure is computed from.
MEASURES = (
    ("nonstream", "nonstream", "call_ns"),
    ("stream", "stream", "call_ns"),
    ("chunk", "stream", "chunk_ns"),
)
UNITS = {"nonstream": "µs/call", "stream": "µs/call", "chunk": "µs/chunk"}


def _us(ns: float) -> float:
    return ns / 1000.0


def _reference(series: dict[tuple[str, str], Series], mode: str, key: str) -> float | None:
    """The typical switched-off time (µs) over every run of ``mode``: the scale for ratios."""
    values = [
        _us(run[f"off_{key}"]["median"])
        for (_, m), s in series.items()
        if m == mode
        for run in s.runs
        if run.get(f"off_{key}")
    ]
    return statistics.median(values) if values else None


def _paired(
    series: dict[tuple[str, str], Series], impl: str, mode: str, key: str, *, raw: bool = False
) -> list[float]:
    """Per round: the worker's in-process paired overhead, as a fraction of the switched-off time
    (or, ``raw``, the plain difference in µs)."""
    field_name = key if raw else key.replace("_ns", "_rel")
    out = []
    for run in series[impl, mode].runs:
        value = (run.get("paired") or {}).get(field_name)
        if value is not None:
            out.append(_us(value) if raw else value)
    return out


def _vs_baseline(series: dict[tuple[str, str], Series], impl: str, mode: str, key: str) -> list[float]:
    """Per round: the implementation's median minus the baseline venv's median (µs)."""
    out = []
    pairs = zip(series[BASELINE, mode].runs, series[impl, mode].runs, strict=True)  # one entry per round
    for base, run in pairs:
        if base.get(key) and run.get(key):
            out.append(_us(run[key]["median"] - base[key]["median"]))
    return out


def _spread(values: Sequence[float]) -> str:
    return "1 round" if len(values) < 2 else f"rounds {min(values):,.1f}..{max(values):,.1f}"


def _records(run: dict[str, Any] | None, mode: str) -> str:
    """What an implementation's span carried, from the worker's verification call."""
    if run is None:
        return ""
    span = run.get("span") or {}
    if not span.get("name"):
        return "no GenAI span"
    cost = span.get("cost")
    parts = [f"cost {cost:.7g} ({span.get('cost_attribute')})" if cost is not None else "no cost"]
    parts.append("attribution" if span.get("attribution") else "no attribution")
    if span.get("input_tokens") is None:
        parts.append("no usage")
    elif span.get("cache_read_tokens") is None:
        parts.append(f"usage {span['input_tokens']} in, no cache split")
    metrics = run.get("metrics") or []
    parts.append(f"{len(metrics)} metrics" if metrics else "no metrics")
    return ", ".join(parts)


def summarize(series: dict[tuple[str, str], Series], plan: Plan, failed: dict[str, str]) -> list[Figure]:
    """The figures, from the worker results of every round (``failed``: venv -> why it is missing)."""
    figures = [
        Figure(f"{name}: not measured", 0.0, "runs", note=f"venv {why}") for name, why in failed.items()
    ]

    def usable(impl: str, mode: str) -> bool:
        s = series.get((impl, mode))
        return s is not None and any(r.get("call_ns") for r in s.runs)

    for (impl, mode), s in series.items():
        if s.errors and not usable(impl, mode):
            figures.append(
                Figure(f"{impl} {mode}: not measured", 0.0, "runs", note=f"worker failed: {s.errors[0]}")
            )
    if not (usable(BASELINE, "nonstream") and usable(BASELINE, "stream")):
        return figures

    overhead: dict[tuple[str, str], float] = {}  # (impl, measure) -> median paired overhead, µs
    notes: dict[tuple[str, str], list[str]] = {}
    for impl in IMPLS:
        for what, mode, key in MEASURES:
            reference = _reference(series, mode, key)
            ratios = _paired(series, impl, mode, key) if usable(impl, mode) else []
            if not ratios or reference is None:
                continue
            overhead[impl, what] = statistics.median(ratios) * reference
            raw = _paired(series, impl, mode, key, raw=True)
            cross = _vs_baseline(series, impl, mode, key)
            notes[impl, what] = [
                f"+{statistics.median(ratios) * 100:.1f}% of {reference:,.1f}",
                f"raw paired {statistics.median(raw):,.1f}" if raw else "",
                f"vs baseline venv {statistics.median(cross):,.1f}" if cross and impl != BASELINE else "",
                _spread([r * reference for r in ratios]),
            ]

    figures += _baseline_figures(series, plan, overhead)
    labels = {
        "nonstream": "overhead per call (non-stream)",
        "stream": f"overhead per streamed call ({plan.chunks} chunks)",
        "chunk": "overhead per chunk (stream)",
    }
    for impl in IMPLS:
        if impl == BASELINE:
            continue
        for what, mode, _ in MEASURES:
            if (impl, what) not in overhead:
                continue
            value = overhead[impl, what]
            last = next((r for r in reversed(series[impl, mode].runs) if r.get("span")), None)
            version = ((last or {}).get("versions") or {}).get("impl")
            head = [
                IMPLS[impl][1] + (f" {version}" if version and impl != OURS else ""),
                _records(last, mode),
            ]
            target = None
            if impl == OURS:
                peers = {p: overhead[p, what] for p in PEERS if (p, what) in overhead}
                if peers:
                    best = min(peers, key=lambda p: peers[p])
                    target = peers[best]
                    head.append(f"target: the best peer, {best}")
            elif overhead.get((OURS, what), 0.0) > 0:
                head.append(f"{value / overhead[OURS, what]:.2f}x ours")
            figures.append(
                Figure(
                    f"{impl}: {labels[what]}",
                    value,
                    UNITS[what],
                    target=target,
                    better="lower",
                    note="; ".join(n for n in head + notes[impl, what] if n),
                )
            )
    return figures


def _baseline_figures(
    series: dict[tuple[str, str], Series], plan: Plan, overhead: dict[tuple[str, str], float]
) -> list[Figure]:
    """What the SDK call itself costs here, and how noisy the measurement was."""
    runs = {m: [r for r in series[BASELINE, m].runs if r.get("call_ns")] for m in MODES}
    call = [_us(r["call_ns"]["median"]) for r in runs["nonstream"]]
    stream = [_us(r["call_ns"]["median"]) for r in runs["stream"]]
    chunk = [_us(r["chunk_ns"]["median"]) for r in runs["stream"] if r.get("chunk_ns")]
    openai_version = (runs["nonstream"][0].get("versions") or {}).get("openai")
    figures = [
        Figure(
            "baseline: SDK call, no instrumentation",
            statistics.median(call),
            "µs/call",
            note=f"openai {openai_version} over httpx2.MockTransport; {_spread(call)}",
        ),
        Figure(
            f"baseline: streamed call ({plan.chunks} chunks)",
            statistics.median(stream),
            "µs/call",
            note=_spread(stream),
        ),
    ]
    if chunk:
        figures.append(
            Figure("baseline: per chunk", statistics.median(chunk), "µs/chunk", note=_spread(chunk))
        )
    if len(call) > 1:
        figures.append(
            Figure(
                "noise: run-to-run spread of the baseline median",
                statistics.stdev(call) / statistics.fmean(call) * 100,
                "% (CV)",
                better="lower",
                note=f"{len(call)} interleaved rounds, one process each; why the figures are paired in-process",
            )
        )
    for what in ("nonstream", "chunk"):
        if (BASELINE, what) in overhead:
            figures.append(
                Figure(
                    f"noise floor: paired method on the baseline ({what})",
                    overhead[BASELINE, what],
                    UNITS[what],
                    better="lower",
                    note="nothing switched: ideally 0",
                )
            )
    return figures


if __name__ == "__main__":
    for figure in run(quick=True):
        print(figure)
