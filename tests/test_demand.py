"""Demand processes: statistics against theory, exact deterministic shapes,
reproducibility, validation and the plug-in path."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pullchain.agents.demand import (
    BLOCK,
    DEMANDS,
    AR1Demand,
    DemandProcess,
    FadDemand,
    NormalDemand,
    ReplayDemand,
    SeasonalDemand,
    StepDemand,
)
from pullchain.network.errors import ConfigError, check_number

N = 200_000  # long draws for the statistical checks (fixed seeds: deterministic tests)


def run(name: str, params: dict | None = None, periods: int = N, seed: int = 7) -> np.ndarray:
    process = DEMANDS.create(name, params or {})
    process.bind(np.random.default_rng(seed))
    return np.array([process.draw(t) for t in range(periods)])


def lag1(x: np.ndarray) -> float:
    return float(np.corrcoef(x[:-1], x[1:])[0, 1])


# ---------------------------------------------------------------- registry


def test_registry_lists_all_builtin_names():
    expected = {"constant", "step", "normal", "poisson", "ar1", "seasonal", "fad", "replay"}
    assert expected <= set(DEMANDS)


def test_unknown_name_raises_config_error():
    with pytest.raises(ConfigError) as err:
        DEMANDS.create("gaussian", {}, "node 'c1'.demand")
    assert err.value.field == "node 'c1'.demand"


def test_unknown_parameter_is_named():
    with pytest.raises(ConfigError) as err:
        DEMANDS.create("normal", {"sd": 3.0}, "node 'c1'.demand")
    assert err.value.field == "node 'c1'.demand.sd"


# ---------------------------------------------------------------- statistics vs theory


def test_constant():
    x = run("constant", {"level": 6.5}, periods=100)
    assert np.all(x == 6.5)
    assert DEMANDS.create("constant", {"level": 6.5}).mean(3) == 6.5


def test_normal_mean_and_variance():
    x = run("normal", {"mean": 10.0, "std": 3.0})
    assert x.mean() == pytest.approx(10.0, rel=0.01)  # mean within 1 %
    assert x.std() == pytest.approx(3.0, rel=0.02)  # sd within 2 % (clipping negligible)
    assert abs(lag1(x)) < 0.01  # independent
    assert x.min() >= 0.0


def test_normal_clips_at_zero():
    x = run("normal", {"mean": 1.0, "std": 3.0}, periods=50_000)
    assert x.min() == 0.0
    assert np.mean(x == 0.0) == pytest.approx(0.369, abs=0.01)  # Phi(-1/3)


def test_poisson_variance_equals_mean():
    x = run("poisson", {"mean": 10.0})
    assert x.mean() == pytest.approx(10.0, rel=0.01)
    assert x.var() == pytest.approx(10.0, rel=0.03)  # var ~ mean within 3 %
    assert np.all(x == np.round(x)) and x.min() >= 0
    assert isinstance(run("poisson", periods=1)[0], float)


@pytest.mark.parametrize("rho", [0.5, 0.9, -0.4, 0.0])
def test_ar1_autocorrelation_and_stationary_sd(rho):
    # mean far above 0 so clipping does not bias the moments
    x = run("ar1", {"mean": 50.0, "std": 3.0, "rho": rho})
    assert lag1(x) == pytest.approx(rho, abs=0.03)  # lag-1 autocorrelation within 0.03
    assert x.mean() == pytest.approx(50.0, rel=0.01)
    stationary = 3.0 / math.sqrt(1 - rho**2)
    assert x.std() == pytest.approx(stationary, rel=0.03)  # sd within 3 %


def test_ar1_starts_in_stationary_distribution():
    # across many independent processes, the very first draw already has the stationary sd
    first = []
    for seed in range(4000):
        p = AR1Demand(mean=50.0, std=3.0, rho=0.9)
        p.bind(np.random.default_rng(seed))
        first.append(p.draw(0))
    assert np.std(first) == pytest.approx(3.0 / math.sqrt(1 - 0.81), rel=0.05)
    assert np.mean(first) == pytest.approx(50.0, abs=0.3)


def test_ar1_clipping_keeps_unclipped_state():
    p = AR1Demand(mean=0.0, std=1.0, rho=0.8)
    p.bind(np.random.default_rng(3))
    x = np.array([p.draw(t) for t in range(100_000)])
    assert x.min() == 0.0
    assert np.mean(x == 0.0) == pytest.approx(0.5, abs=0.03)  # the state is symmetric around 0


def test_seasonal_shape_without_noise():
    x = run("seasonal", {"mean": 10.0, "amplitude": 3.0, "cycle": 52, "phase": 0}, periods=104)
    t = np.arange(104)
    np.testing.assert_allclose(x, 10 + 3 * np.sin(2 * np.pi * t / 52), rtol=0, atol=1e-12)
    assert x[13] == pytest.approx(13.0)  # a quarter cycle in: the peak
    p = SeasonalDemand(mean=10.0, amplitude=3.0, cycle=52, phase=13)
    assert p.mean(0) == pytest.approx(13.0)  # phase shifts the wave


def test_seasonal_with_noise():
    x = run("seasonal", {"mean": 10.0, "amplitude": 3.0, "cycle": 52, "std": 1.0}, periods=52_000)
    season = 10 + 3 * np.sin(2 * np.pi * np.arange(52_000) / 52)
    assert x.mean() == pytest.approx(10.0, rel=0.01)
    assert (x - season).std() == pytest.approx(1.0, rel=0.03)


def test_seasonal_clips_and_mean_clips():
    p = SeasonalDemand(mean=1.0, amplitude=3.0, cycle=4)
    p.bind(np.random.default_rng(0))
    assert [p.draw(t) for t in range(4)] == pytest.approx([1.0, 4.0, 1.0, 0.0])
    assert p.mean(3) == 0.0


def test_step_switches_exactly_at_at():
    x = run("step", {"before": 4.0, "after": 8.0, "at": 4}, periods=10)
    assert list(x) == [4.0] * 4 + [8.0] * 6
    p = StepDemand(before=4.0, after=8.0, at=4)
    assert (p.mean(3), p.mean(4)) == (4.0, 8.0)
    assert list(run("step", {"at": 0}, periods=3)) == [8.0] * 3


def test_fad_rises_then_falls_back_near_base():
    p = FadDemand(base=2.0, peak=20.0, start=10, rise=5, fade=10.0)
    x = run("fad", {"base": 2.0, "peak": 20.0, "start": 10, "rise": 5, "fade": 10.0}, periods=200)
    assert np.all(x[:10] == 2.0)  # base until start
    assert np.all(np.diff(x[10:16]) > 0)  # linear rise
    np.testing.assert_allclose(np.diff(x[10:16]), 18.0 / 5)
    assert x[15] == 20.0 and x.argmax() == 15  # peak reached exactly at start + rise
    assert np.all(np.diff(x[15:]) < 0)  # then it fades
    assert x[25] - 2.0 == pytest.approx(18.0 / math.e)  # one time constant later: 1/e of excess
    assert x[199] == pytest.approx(2.0, abs=0.01)  # back near base
    assert [p.mean(t) for t in range(200)] == list(x)


def test_fad_zero_rise_jumps_and_noise_is_additive():
    p = FadDemand(base=1.0, peak=9.0, start=3, rise=0, fade=5.0)
    assert (p.mean(2), p.mean(3)) == (1.0, 9.0)
    x = run("fad", {"base": 50.0, "peak": 50.0, "std": 2.0}, periods=50_000)
    assert x.mean() == pytest.approx(50.0, rel=0.01) and x.std() == pytest.approx(2.0, rel=0.03)


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        ("repeat", [1, 2, 3, 1, 2, 3, 1, 2]),
        ("last", [1, 2, 3, 3, 3, 3, 3, 3]),
        ("zero", [1, 2, 3, 0, 0, 0, 0, 0]),
    ],
)
def test_replay_after_modes(after, expected):
    x = run("replay", {"series": [1, 2.0, 3], "after": after}, periods=8)
    assert list(x) == [float(v) for v in expected]
    p = ReplayDemand(series=[1, 2.0, 3], after=after)
    assert [p.mean(t) for t in range(8)] == [float(v) for v in expected]


def test_replay_accepts_numpy_array():
    p = ReplayDemand(series=np.array([4, 5]))
    p.bind(np.random.default_rng(0))
    assert [p.draw(t) for t in range(3)] == [4.0, 5.0, 4.0]


# ---------------------------------------------------------------- reproducibility


RANDOM = [
    ("normal", {}),
    ("poisson", {}),
    ("ar1", {}),
    ("seasonal", {"std": 2.0}),
    ("fad", {"std": 1.0}),
]


@pytest.mark.parametrize(("name", "params"), RANDOM)
def test_same_seed_same_sequence_different_seed_differs(name, params):
    periods = 3 * BLOCK + 17  # crosses block boundaries
    a = run(name, params, periods, seed=11)
    b = run(name, params, periods, seed=11)
    c = run(name, params, periods, seed=12)
    assert np.array_equal(a, b)  # bit for bit
    assert not np.array_equal(a, c)


@pytest.mark.parametrize(("name", "params"), RANDOM)
def test_rebinding_restarts_the_process(name, params):
    p = DEMANDS.create(name, params)
    p.bind(np.random.default_rng(5))
    first = [p.draw(t) for t in range(300)]
    p.bind(np.random.default_rng(5))
    assert [p.draw(t) for t in range(300)] == first


def test_draws_only_from_bound_generator():
    # the global numpy state plays no part
    np.random.seed(1)
    a = run("normal", periods=500, seed=3)
    np.random.seed(2)
    b = run("normal", periods=500, seed=3)
    assert np.array_equal(a, b)


def test_equal_streams_give_equal_demand_for_two_regimes():
    root = np.random.SeedSequence(42)
    streams_a = [np.random.default_rng(s) for s in root.spawn(3)]
    streams_b = [np.random.default_rng(s) for s in np.random.SeedSequence(42).spawn(3)]
    regime_a = [AR1Demand() for _ in range(3)]
    regime_b = [AR1Demand() for _ in range(3)]
    for p, g in zip(regime_a, streams_a, strict=True):
        p.bind(g)
    for p, g in zip(regime_b, streams_b, strict=True):
        p.bind(g)
    # regime b draws its consumers in reverse order: per-consumer streams make that irrelevant
    da = [[p.draw(t) for p in regime_a] for t in range(600)]
    db = [[p.draw(t) for p in reversed(regime_b)][::-1] for t in range(600)]
    assert da == db


# ---------------------------------------------------------------- bind


@pytest.mark.parametrize("name", ["constant", "step", "normal", "poisson", "ar1", "seasonal",
                                  "fad", "replay"])  # fmt: skip
def test_draw_before_bind_raises(name):
    p = DEMANDS.create(name, {})
    with pytest.raises(RuntimeError, match="before bind"):
        p.draw(0)


def test_bind_needs_a_generator():
    with pytest.raises(TypeError, match="Generator"):
        NormalDemand().bind(np.random.RandomState(0))  # type: ignore[arg-type]


def test_mean_works_before_bind():
    assert NormalDemand(mean=7.0).mean(0) == 7.0
    assert AR1Demand(mean=9.0).mean(5) == 9.0


# ---------------------------------------------------------------- validation


BAD = [
    ("constant", "level", -1.0),
    ("step", "before", -0.5),
    ("step", "after", "8"),
    ("step", "at", 2.5),
    ("step", "at", -1),
    ("normal", "std", -1.0),
    ("normal", "mean", "ten"),
    ("normal", "mean", True),
    ("normal", "std", float("nan")),
    ("normal", "mean", float("inf")),
    ("poisson", "mean", -3.0),
    ("poisson", "mean", None),
    ("ar1", "rho", 1.0),
    ("ar1", "rho", -1.0),
    ("ar1", "rho", 1.5),
    ("ar1", "rho", False),
    ("ar1", "std", -0.1),
    ("seasonal", "cycle", 0),
    ("seasonal", "amplitude", -2.0),
    ("seasonal", "phase", "x"),
    ("seasonal", "std", -1.0),
    ("fad", "fade", 0.0),
    ("fad", "rise", -1),
    ("fad", "start", 1.5),
    ("fad", "peak", "high"),
    ("fad", "std", -1.0),
    ("replay", "series", []),
    ("replay", "series", "1,2,3"),
    ("replay", "series", 5.0),
    ("replay", "after", "loop"),
]


@pytest.mark.parametrize(("name", "param", "value"), BAD)
def test_bad_parameter_raises_config_error_naming_it(name, param, value):
    with pytest.raises(ConfigError) as err:
        DEMANDS.create(name, {param: value})
    assert err.value.field == param
    with pytest.raises(ConfigError) as err:
        DEMANDS.create(name, {param: value}, "node 'c1'.demand")
    assert err.value.field == f"node 'c1'.demand.{param}"


@pytest.mark.parametrize(
    ("series", "field"),
    [([1.0, 2.0, 3.0, -1.0], "series[3]"), ([1, "2"], "series[1]"), ([True], "series[0]")],
)
def test_replay_validates_every_element(series, field):
    with pytest.raises(ConfigError) as err:
        ReplayDemand(series=series)
    assert err.value.field == field


def test_integer_like_floats_are_accepted():
    assert StepDemand(at=3.0).at == 3
    assert FadDemand(start=2.0, rise=1.0).rise == 1


# ---------------------------------------------------------------- properties


@settings(max_examples=60, deadline=None)
@given(
    mean=st.floats(0, 100),
    std=st.floats(0, 100),
    rho=st.floats(-0.99, 0.99),
    seed=st.integers(0, 2**32 - 1),
)
def test_random_processes_are_non_negative_and_finite(mean, std, rho, seed):
    for p in (
        NormalDemand(mean=mean, std=std),
        AR1Demand(mean=mean, std=std, rho=rho),
        SeasonalDemand(mean=mean, amplitude=std, std=std),
        FadDemand(base=mean, peak=std, std=std),
    ):
        p.bind(np.random.default_rng(seed))
        x = np.array([p.draw(t) for t in range(300)])
        assert np.all(np.isfinite(x)) and np.all(x >= 0.0)


# ---------------------------------------------------------------- plug-in


def test_user_registered_subclass_works_via_create():
    @DEMANDS.register("test_weekend")
    class Weekend(DemandProcess):
        def __init__(self, weekday=5.0, weekend=12.0):
            self.weekday = check_number("weekday", weekday, minimum=0)
            self.weekend = check_number("weekend", weekend, minimum=0)

        def mean(self, period):
            return self.weekend if period % 7 >= 5 else self.weekday

        def draw(self, period):
            return float(self.rng.poisson(self.mean(period)))

    try:
        assert "test_weekend" in DEMANDS
        p = DEMANDS.create("test_weekend", {"weekend": 20.0}, "node 'c1'.demand")
        assert isinstance(p, Weekend) and p.registry_name == "test_weekend"
        with pytest.raises(RuntimeError, match="before bind"):
            p.draw(0)
        p.bind(np.random.default_rng(0))
        x = np.array([p.draw(t) for t in range(7000)])
        assert x[5::7].mean() == pytest.approx(20.0, rel=0.05)
        assert x[0::7].mean() == pytest.approx(5.0, rel=0.05)
        with pytest.raises(ConfigError) as err:
            DEMANDS.create("test_weekend", {"weekday": -1}, "node 'c1'.demand")
        assert err.value.field == "node 'c1'.demand.weekday"
    finally:
        DEMANDS.unregister("test_weekend")
