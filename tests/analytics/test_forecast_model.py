"""The forecasting model: exact on exact series, robust to a spike, honest about idle weekdays."""

from __future__ import annotations

import math

import pytest

from otel_llmcost.analytics._forecast_model import fit, interval

WEEK = [10.0, 12.0, 12.0, 11.0, 9.0, 4.0, 3.0]  # Monday first


def test_a_weekly_periodic_series_is_fitted_exactly() -> None:
    model = fit(WEEK * 3, last_weekday=6)  # the last day is a Sunday
    assert model.growth == 0.0
    assert model.residuals == (0.0,) * 21
    assert model.smearing == 1.0
    assert model.occupancy == (1.0,) * 7
    assert [round(model.predict(k), 9) for k in range(1, 15)] == WEEK * 2
    assert model.parameters == 8
    factors = model.weekday_factors()
    assert [round(f * 61 / 7, 9) for f in factors] == WEEK  # spend over the mean weekday (61/7)


def test_constant_growth_is_recovered_exactly() -> None:
    values = [WEEK[i % 7] * 1.02**i for i in range(28)]
    model = fit(values, last_weekday=6)
    assert model.growth == pytest.approx(math.log(1.02), rel=1e-12)
    for k in range(1, 10):
        assert model.predict(k) == pytest.approx(WEEK[(27 + k) % 7] * 1.02 ** (27 + k), rel=1e-12)


def test_a_spike_day_does_not_move_the_fit_but_raises_the_expected_level() -> None:
    values = WEEK * 4
    values[15] *= 5  # one Tuesday five times its usual spend
    model = fit(values, last_weekday=6)
    assert model.growth == 0.0  # the median slope ignores the spike
    assert [round(model.predict(k), 9) for k in (1, 3, 7)] == pytest.approx(
        [w * model.smearing for w in (10.0, 12.0, 3.0)]
    )
    # smearing: the mean of exp(residual) = (27 + 5) / 28, so Tuesdays come out at 12 x 32/28
    assert model.smearing == pytest.approx(32 / 28)


def test_an_idle_weekday_forecasts_zero_and_a_sometimes_idle_one_its_share() -> None:
    values = WEEK * 4
    for i in range(6, 28, 7):
        values[i] = 0.0  # never on Sundays
    values[5] = 0.0  # one Saturday of four idle
    model = fit(values, last_weekday=6)
    assert model.levels[6] is None and model.predict(7) == 0.0
    assert model.occupancy[5] == 0.75
    assert model.predict(6) == pytest.approx(0.75 * 4.0)


def test_no_spend_at_all_cannot_be_fitted() -> None:
    with pytest.raises(ValueError, match="no day with spend"):
        fit([0.0] * 14, last_weekday=6)


def test_the_interval_is_deterministic_and_brackets_the_noise() -> None:
    noise = [1.1, 0.9, 1.05, 0.95, 1.2]  # five long: no weekday sees the same noise every week
    values = [WEEK[i % 7] * noise[i % 5] for i in range(56)]
    model = fit(values, last_weekday=6)
    horizon = list(range(1, 15))
    low, high = interval(values, model, horizon, seed=1)
    assert (low, high) == interval(values, model, horizon, seed=1)
    point = sum(model.predict(k) for k in horizon)
    assert low < point < high
    assert high - low < 0.5 * point
    # Spend already made today only lowers what the first day adds.
    low_today, high_today = interval(values, model, horizon, already=5.0, seed=1)
    assert low - 5.0 <= low_today <= low and high - 5.0 <= high_today <= high


def test_an_exact_series_has_a_zero_width_interval() -> None:
    model = fit(WEEK * 2, last_weekday=6)
    low, high = interval(WEEK * 2, model, [1, 2, 3])
    assert round(low, 9) == round(high, 9) == 34.0
    assert interval(WEEK * 2, model, []) == (0.0, 0.0)
