"""Benchmarks: ``make bench`` runs every ``bench_*`` module and writes results.md / results.json.

Each module exposes ``run(quick: bool) -> list[Figure]``. Figures carry their target so the
results say plainly which targets hold on this machine.
"""

from __future__ import annotations

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
