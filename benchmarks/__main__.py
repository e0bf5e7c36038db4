"""``python -m benchmarks [--quick] [--only NAME ...]``: run benchmarks, write results.md and results.json."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from benchmarks import Figure

HERE = Path(__file__).resolve().parent
MODULES = [
    "bench_pricing",
    "bench_ledger",
    "bench_budgets",
    "bench_normalize",
    "bench_collector",
    "bench_instrumentation",
    "bench_insights",
    "bench_report",
]


def machine() -> dict[str, object]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def write_results(results: dict[str, list[Figure]], info: dict[str, object], out: Path) -> None:
    data = {"machine": info, "results": {k: [f.to_dict() for f in v] for k, v in results.items()}}
    (out / "results.json").write_text(json.dumps(data, indent=2) + "\n")
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores, Python {info['python']}, {info['platform']}; "
        f"run {info['date']}. Rerun: `make bench` (one module: `python -m benchmarks --only NAME --out DIR`).",
        "",
        "| benchmark | figure | value | target | meets |",
        "|---|---|---|---|---|",
    ]
    for module, figures in results.items():
        for f in figures:
            target = (
                ""
                if f.target is None
                else (">= " if f.better == "higher" else "<= ") + f"{f.target:,.6g} {f.unit}"
            )
            meets = {None: "", True: "yes", False: "**no**"}[f.meets_target]
            value = f"{f.value:,.6g} {f.unit}"
            lines.append(
                f"| {module} | {f.name}{' — ' + f.note if f.note else ''} | {value} | {target} | {meets} |"
            )
    (out / "results.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="Smaller runs (smoke test, not for publishing).")
    parser.add_argument(
        "--only", nargs="*", default=None, help=f"Run only these modules: {', '.join(MODULES)}."
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="Directory for results.md / results.json (default: benchmarks/ for a full run; "
        "a --quick or --only run writes nothing unless given --out, so it never overwrites "
        "the published results).",
    )
    args = parser.parse_args(argv)
    out: Path | None = args.out
    if out is None and not args.quick and not args.only:
        out = HERE
    selected = [
        m for m in MODULES if not args.only or m in args.only or m.removeprefix("bench_") in args.only
    ]
    results: dict[str, list[Figure]] = {}
    for name in selected:
        module = importlib.import_module(f"benchmarks.{name}")
        started = time.perf_counter()
        print(f"== {name}", flush=True)
        figures = module.run(quick=args.quick)
        for f in figures:
            flag = {None: "", True: "  ok", False: "  BELOW TARGET"}[f.meets_target]
            print(f"   {f.name}: {f.value:,.6g} {f.unit}{flag}", flush=True)
        print(f"   ({time.perf_counter() - started:.1f} s)", flush=True)
        results[name.removeprefix("bench_")] = figures
    if out is None:
        print("partial run: results not written (give --out DIR to keep them)")
        return 0
    write_results(results, machine(), out)
    print(f"wrote {out / 'results.md'} and results.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
