"""Benchmarks: ``make bench`` runs every ``bench_*`` module and writes results.md / results.json.

Each module exposes ``run(quick: bool) -> list[Figure]``. Figures carry their target so the
results say plainly which targets hold on this machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    target: float | None = None
    better: str = "higher"  # "higher" or "lower"
    note: str = ""

    @property
    def meets_target(self) -> bool | None:
        if self.target is None:
            return None
        return self.value >= self.target if self.better == "higher" else self.value <= self.target

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "meets_target": self.meets_target}


def best_of(fn: Callable[[], object], repeat: int = 3) -> float:
    """Seconds of the fastest of ``repeat`` runs: on a shared machine the minimum is the least
    noisy estimate."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best
