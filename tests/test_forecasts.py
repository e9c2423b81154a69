"""Forecasts: formulas checked numerically, steady-state priming, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pullchain.agents.forecasts import (
    FORECASTS,
    ConstantForecast,
    ExponentialSmoothing,
    Forecast,
    MovingAverage,
    Naive,
)
from pullchain.network.errors import ConfigError

levels = st.floats(0, 1e6, allow_nan=False)


def test_registry_lists_all_names():
    assert {"moving_average", "exponential_smoothing", "naive", "constant"} <= set(FORECASTS)
    assert isinstance(FORECASTS.create("moving_average", {"window": 3}), MovingAverage)


# ---------------------------------------------------------------- moving average


@pytest.mark.parametrize("p", [1, 2, 5, 7])
def test_moving_average_reaches_new_level_after_exactly_p_updates(p):
    f = MovingAverage(window=p)
    f.reset(4.0)
    values = [f.update(8.0) for _ in range(p + 3)]
    for k, v in enumerate(values, start=1):
        expected = (min(k, p) * 8.0 + max(p - k, 0) * 4.0) / p
        assert v == pytest.approx(expected)
        assert (v == 8.0) == (k >= p)  # new level after exactly p updates, not before


@settings(max_examples=200)
@given(a=levels, b=levels, p=st.integers(1, 30))
def test_moving_average_step_is_exact_for_any_levels(a, b, p):
    f = MovingAverage(window=p)
    f.reset(a)
    for _ in range(p):
        f.update(b)
    assert f.value == b  # exactly, even where fsum(p * [b]) / p would round


def test_moving_average_formula_includes_newest_value():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 20, 200)
    f = MovingAverage(window=4)
    f.reset(10.0)
    history = [10.0] * 4 + list(x)
    for t, xt in enumerate(x):
        got = f.update(xt)
        window = history[t + 1 : t + 5]  # the last 4 values, x_t included
        assert got == math.fsum(window) / 4
        assert got == f.value


@settings(max_examples=100)
@given(level=levels, p=st.integers(1, 20))
def test_moving_average_reset_primes_steady_state(level, p):
    f = MovingAverage(window=p)
    f.reset(level)
    assert f.value == level
    for _ in range(3 * p):
        assert f.update(level) == level  # steady state stays exactly steady


def test_moving_average_reset_forgets_history():
    f = MovingAverage(window=3)
    f.reset(1.0)
    f.update(100.0)
    f.reset(5.0)
    assert f.value == 5.0
    assert f.update(8.0) == pytest.approx((5 + 5 + 8) / 3)


# ---------------------------------------------------------------- exponential smoothing


@pytest.mark.parametrize("alpha", [0.1, 0.3, 0.77, 1.0])
def test_exponential_smoothing_formula(alpha):
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 20, 300)
    f = ExponentialSmoothing(alpha=alpha)
    f.reset(10.0)
    mu = 10.0  # textbook form
    ec = 10.0  # error-correction form, the one computed (bit for bit)
    for xt in x:
        mu = alpha * xt + (1 - alpha) * mu
        ec = xt if alpha == 1.0 else ec + alpha * (xt - ec)
        got = f.update(xt)
        assert got == ec
        assert got == pytest.approx(mu, rel=1e-12)
    assert f.value == ec


def test_exponential_smoothing_closed_form_after_step():
    # from level a, after k updates with b: F = b + (a - b)(1 - alpha)^k
    f = ExponentialSmoothing(alpha=0.3)
    f.reset(4.0)
    for k in range(1, 30):
        assert f.update(8.0) == pytest.approx(8.0 - 4.0 * 0.7**k, rel=1e-12)


def test_exponential_smoothing_alpha_one_is_naive():
    f = ExponentialSmoothing(alpha=1.0)
    f.reset(3.0)
    assert [f.update(v) for v in (5.0, 1.5, 9.0)] == [5.0, 1.5, 9.0]


@settings(max_examples=100)
@given(level=levels, alpha=st.floats(0.01, 1.0))
def test_exponential_smoothing_reset_primes_steady_state(level, alpha):
    f = ExponentialSmoothing(alpha=alpha)
    f.reset(level)
    assert f.value == level
    for _ in range(20):
        assert f.update(level) == level  # exactly steady


# ---------------------------------------------------------------- naive and constant


def test_naive_is_last_value():
    f = Naive()
    f.reset(2.0)
    assert f.value == 2.0
    assert [f.update(v) for v in (5, 1.5, 0)] == [5.0, 1.5, 0.0]
    assert f.value == 0.0


def test_constant_without_level_takes_reset_level():
    f = ConstantForecast()
    f.reset(6.0)
    assert [f.update(v) for v in (1.0, 50.0)] == [6.0, 6.0]
    f.reset(7.0)
    assert f.value == 7.0


def test_constant_with_level_ignores_reset():
    f = FORECASTS.create("constant", {"level": 12.0})
    assert f.value == 12.0
    f.reset(3.0)
    assert f.update(99.0) == 12.0 and f.value == 12.0


# ---------------------------------------------------------------- unprimed use


@pytest.mark.parametrize("name", ["moving_average", "exponential_smoothing", "naive", "constant"])
def test_value_before_any_observation_raises(name):
    with pytest.raises(RuntimeError, match="before reset"):
        _ = FORECASTS.create(name, {}).value


@pytest.mark.parametrize("name", ["moving_average", "exponential_smoothing", "naive", "constant"])
def test_first_update_without_reset_primes_with_it(name):
    a = FORECASTS.create(name, {})
    b = FORECASTS.create(name, {})
    b.reset(6.0)
    assert a.update(6.0) == b.update(6.0) == 6.0
    assert a.update(9.0) == b.update(9.0)


# ---------------------------------------------------------------- validation


BAD = [
    ("moving_average", "window", 0),
    ("moving_average", "window", 2.5),
    ("moving_average", "window", "5"),
    ("moving_average", "window", True),
    ("exponential_smoothing", "alpha", 0.0),
    ("exponential_smoothing", "alpha", 1.5),
    ("exponential_smoothing", "alpha", -0.2),
    ("exponential_smoothing", "alpha", "0.3"),
    ("exponential_smoothing", "alpha", float("nan")),
    ("constant", "level", -1.0),
    ("constant", "level", "high"),
    ("constant", "level", False),
]


@pytest.mark.parametrize(("name", "param", "value"), BAD)
def test_bad_parameter_raises_config_error_naming_it(name, param, value):
    with pytest.raises(ConfigError) as err:
        FORECASTS.create(name, {param: value})
    assert err.value.field == param
    with pytest.raises(ConfigError) as err:
        FORECASTS.create(name, {param: value}, "node 'r1'.forecast")
    assert err.value.field == f"node 'r1'.forecast.{param}"


def test_naive_takes_no_parameters():
    with pytest.raises(ConfigError) as err:
        FORECASTS.create("naive", {"window": 3}, "node 'r1'.forecast")
    assert err.value.field == "node 'r1'.forecast.window"


def test_user_registered_forecast():
    @FORECASTS.register("test_double")
    class Double(Forecast):
        def reset(self, level):
            self._value = 2 * level

        def update(self, x):
            self._value = 2 * x
            return self._value

    try:
        f = FORECASTS.create("test_double", {})
        f.reset(3.0)
        assert f.value == 6.0 and f.update(4.0) == 8.0
    finally:
        FORECASTS.unregister("test_double")
