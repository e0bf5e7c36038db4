"""The forecasting model: weekday seasonality and a robust growth trend on daily spend.

Plain Python on purpose (``statistics`` and ``math``): the series are a few dozen days long, and
the package must not pull in numpy for them.

The model, fitted to the last ``history`` complete days ``c_0 … c_{n-1}`` (day ``n-1`` is the
last complete one):

* **Growth.** On ``y_i = ln c_i`` (days with spend), the seasonal Theil-Sen slope ``r``: the
  median of ``(y_j - y_i) / (j - i)`` over pairs of days *on the same weekday* (Hirsch's seasonal
  Kendall slope). Pairing like weekdays cancels the weekly pattern without estimating it first,
  and a median shrugs off spike days. Spend that grows by a constant share a day is a straight
  line in ``y``.
* **Weekday level.** For each weekday ``w``: ``L_w``, the median of ``y_i - r·(i - (n-1))``
  over its days with spend; ``p_w``, the share of its days with any spend (a team idle on
  Sundays forecasts Sundays at zero).
* **Prediction** ``k`` days after the last complete day: ``p_w · s · exp(L_w + r·k)``, where
  ``s`` is the mean of ``exp(residual)`` (Duan's smearing: the median fit predicts the typical
  day, and budgets need the expected one).

A series that is exactly weekly-periodic (or grows at exactly one rate) is fitted exactly, with
zero residuals, and forecasts exactly.

**Interval.** A residual bootstrap with refitting: each replicate rebuilds the history as fit
plus resampled residuals (moving blocks of seven, so a bad week stays a bad week), refits the
model, and adds resampled residuals to its predicted days. The 10th and 90th percentiles of the
replicates' remaining spend bound the 80% interval, so it carries both the noise of single days
and the uncertainty of the fitted trend, which dominates a month-end forecast. Residuals are
first inflated by ``sqrt(m / (m - q))`` (``m`` days, ``q`` fitted parameters) because fitted
residuals are smaller than the errors of new days (Davison & Hinkley's modified residuals).
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["SeasonalTrend", "fit", "interval"]

DAYS_PER_WEEK = 7


@dataclass(frozen=True)
class SeasonalTrend:
    """A fitted model; day offsets ``k`` count from the last complete day (``k = 1`` is the next)."""

    growth: float  # r: daily growth of ln(spend)
    levels: tuple[float | None, ...]  # L_w by weekday (Monday first); None: never any spend
    occupancy: tuple[float, ...]  # p_w
    smearing: float  # s
    last_weekday: int  # weekday of the last complete day
    residuals: tuple[float, ...]  # in day order, days with spend only
    parameters: int  # q: fitted levels plus the slope (when any pair fixed it)

    def predict(self, k: int) -> float:
        weekday = (self.last_weekday + k) % DAYS_PER_WEEK
        level = self.levels[weekday]
        if level is None:
            return 0.0
        return self.occupancy[weekday] * self.smearing * math.exp(level + self.growth * k)

    def weekday_factors(self) -> tuple[float, ...]:
        """Each weekday's expected spend over the mean weekday's (1 = average), for display."""
        typical = [
            0.0 if lv is None else p * math.exp(lv) for lv, p in zip(self.levels, self.occupancy, strict=True)
        ]
        mean = sum(typical) / DAYS_PER_WEEK
        return tuple(t / mean if mean else 0.0 for t in typical)


def fit(values: Sequence[float], last_weekday: int) -> SeasonalTrend:
    """Fit the model to daily spend ``values`` (oldest first; the last is on ``last_weekday``).

    Needs at least one day with spend; every weekday should occur twice for a useful fit."""
    n = len(values)
    days = [i for i, v in enumerate(values) if v > 0]
    if not days:
        raise ValueError("no day with spend to fit")
    logs = {i: math.log(values[i]) for i in days}
    return _fit_logs(n, days, logs, last_weekday, with_residuals=True)


def _weekday(i: int, n: int, last_weekday: int) -> int:
    return (last_weekday - (n - 1 - i)) % DAYS_PER_WEEK


def _fit_logs(
    n: int,
    days: Sequence[int],
    logs: dict[int, float],
    last_weekday: int,
    *,
    with_residuals: bool,
) -> SeasonalTrend:
    by_weekday: list[list[int]] = [[] for _ in range(DAYS_PER_WEEK)]
    for i in days:
        by_weekday[_weekday(i, n, last_weekday)].append(i)
    slopes = [
        (logs[same[b]] - logs[same[a]]) / (same[b] - same[a])
        for same in by_weekday
        for a in range(len(same))
        for b in range(a + 1, len(same))
    ]
    growth = statistics.median(slopes) if slopes else 0.0
    last = n - 1
    levels: list[float | None] = [
        statistics.median(logs[i] - growth * (i - last) for i in same) if same else None
        for same in by_weekday
    ]
    counts = [0] * DAYS_PER_WEEK
    for i in range(n):
        counts[_weekday(i, n, last_weekday)] += 1
    occupancy = tuple(len(same) / counts[w] if counts[w] else 0.0 for w, same in enumerate(by_weekday))
    residuals: tuple[float, ...] = ()
    smearing = 1.0
    if with_residuals:
        residuals = tuple(
            logs[i] - (levels[_weekday(i, n, last_weekday)] or 0.0) - growth * (i - last) for i in days
        )
        smearing = math.fsum(math.exp(e) for e in residuals) / len(residuals)
    parameters = sum(1 for same in by_weekday if same) + (1 if slopes else 0)
    return SeasonalTrend(growth, tuple(levels), occupancy, smearing, last_weekday, residuals, parameters)


def interval(
    values: Sequence[float],
    model: SeasonalTrend,
    horizon: Sequence[int],
    *,
    already: float = 0.0,
    replicates: int = 400,
    level: float = 0.8,
    seed: int = 0,
) -> tuple[float, float]:
    """The ``level`` interval of the spend still to come on the day offsets ``horizon``.

    ``already`` is spend already made on the first of them (today so far): each replicate's
    first day contributes only what exceeds it. Deterministic for a given ``seed``."""
    n = len(values)
    days = [i for i, v in enumerate(values) if v > 0]
    m, q = len(days), model.parameters
    if not horizon:
        return 0.0, 0.0
    # Modified residuals (not centred: the fit is a median fit, whose residuals have median
    # zero, not mean zero); with no spare degree of freedom, the raw spread.
    inflate = math.sqrt(m / (m - q)) if m > q else 1.0
    pool = [e * inflate for e in model.residuals]
    fitted = {i: math.log(values[i]) - e for i, e in zip(days, model.residuals, strict=True)}
    rnd = random.Random(seed)
    sums = []
    for _ in range(replicates):
        noise = _blocks(rnd, pool, m + len(horizon))
        logs = {i: fitted[i] + noise[j] for j, i in enumerate(days)}
        refit = _fit_logs(n, days, logs, model.last_weekday, with_residuals=False)
        total = 0.0
        for j, k in enumerate(horizon):
            weekday = (model.last_weekday + k) % DAYS_PER_WEEK
            level_ = refit.levels[weekday]
            if level_ is None or rnd.random() >= refit.occupancy[weekday]:
                continue
            day = math.exp(level_ + refit.growth * k + noise[m + j])
            total += max(0.0, day - already) if j == 0 else day
        sums.append(total)
    sums.sort()
    tail = (1.0 - level) / 2
    return _quantile(sums, tail), _quantile(sums, 1.0 - tail)


def _blocks(rnd: random.Random, pool: Sequence[float], count: int) -> list[float]:
    """``count`` residuals in circular moving blocks of a week."""
    out: list[float] = []
    size = len(pool)
    while len(out) < count:
        start = rnd.randrange(size)
        out.extend(pool[(start + t) % size] for t in range(DAYS_PER_WEEK))
    return out[:count]


def _quantile(ordered: Sequence[float], p: float) -> float:
    """Linear interpolation between order statistics (the default of most statistics packages)."""
    position = p * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
