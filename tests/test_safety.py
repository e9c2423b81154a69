"""Adaptive safety stock, SS_t = z sigma_t sqrt(L) (pullchain.agents.safety).

- z = 0 is today's policy, bit for bit, for every policy that takes a safety factor.
- One stage facing iid normal demand from a source that never runs out: the cycle service
  level reached matches the target. With L = 1 the one-period error is the whole error,
  so the stock-out indicator is e_{t+1} > z sigma_t, and with sigma_t the root mean square
  of the last n errors, e / sigma_t is Student's t with n degrees of freedom: the level
  reached is F_t(z; n) (0.947 for a 95 % target with n = 50). With L > 1 the moving
  average's own error adds to the L-period error by the factor k = sqrt((1 + L/p) /
  (1 + 1/p)), so the level reached is F_t(z / k; n) (docs/model.md). Tolerance 0.006: over
  40,000 periods a frequency near 0.95 has a standard error of 0.0011, 0.0015 with the
  correlation of successive stock-outs, so 0.006 is about four of them.
- A fill-rate target, through the normal loss function, is reached within 0.003.
- Re-estimating sigma each period adds order variance: the bullwhip ratio of Chen,
  Drezner, Ryan & Simchi-Levi's (2000) policy (sigma over the forecast's own p periods)
  exceeds their constant-safety-stock value 1 + 2L/p + 2L^2/p^2, which is why they state
  it as a lower bound.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest
from scipy import stats

from pullchain.agents.safety import SafetyStock, loss_inverse, normal_loss
from pullchain.network.builders import layered_network, serial_chain
from pullchain.network.errors import ConfigError
from pullchain.runs.model import SupplyChainModel
from pullchain.runs.scenarios import Scenario

from .helpers import theory_chain
from .test_theory import chen

PERIODS = 40_000
WARM_UP = 200
VARIABLES = ("on_hand", "backlog", "ordered", "shipped", "filled", "period_cost")


def one_stage(lead_time: int, window: int, params: dict) -> SupplyChainModel:
    """A retailer ordering up to an MA(window) forecast from a source that never runs out."""
    G = serial_chain(
        2, lead_time=lead_time, initial_stock=200.0, policy="order_up_to",
        policy_params={"window": window, **params}, demand="normal",
        demand_params={"mean": 100.0, "std": 10.0},
    )  # fmt: skip
    G.nodes[2]["initial_stock"] = 1e4
    G.nodes[2]["policy_params"] = {"window": window, "safety_stock": 1e4}
    model = SupplyChainModel(G, horizon=PERIODS, warm_up=WARM_UP, record_consumers=False, rng=3)
    model.run_model()
    return model


def cycle_service_level(model: SupplyChainModel) -> float:
    """Fraction of periods the retailer ends with nothing owed (review period 1)."""
    return float(np.mean(model.recorder.firms.series("backlog")[WARM_UP:, 0] <= 1e-9))


def series(model: SupplyChainModel) -> list[np.ndarray]:
    return [model.recorder.firms.series(v).copy() for v in VARIABLES]


@pytest.mark.parametrize(
    ("policy", "params", "regime"),
    [
        ("order_up_to", {"window": 4, "safety_periods": 0.5}, "opaque"),
        ("order_up_to", {"forecast": "exponential_smoothing", "alpha": 0.4}, "transparent"),
        ("base_stock", {}, "opaque"),
        ("echelon_base_stock", {}, "transparent"),
        ("echelon_base_stock", {"level": 500.0}, "opaque"),
    ],
)
def test_a_safety_factor_of_zero_is_todays_policy_bit_for_bit(policy, params, regime):
    def run(extra):
        G = layered_network(2, 3, 4, 12, policy=policy, policy_params={**params, **extra}, seed=1)
        model = SupplyChainModel(G, regime=regime, horizon=120, warm_up=20, rng=5)
        model.run_model()
        return model

    plain, zero = run({}), run({"safety_factor": 0.0})
    for a, b in zip(series(plain), series(zero), strict=True):
        np.testing.assert_array_equal(a, b)
    assert plain.summary() == zero.summary()


def test_the_cycle_service_level_reached_matches_the_target_with_one_period_of_cover():
    target, n = 0.95, 50
    reached = cycle_service_level(one_stage(1, 5, {"service_level": target, "error_window": n}))
    z = NormalDist().inv_cdf(target)
    assert stats.t.cdf(z, n) == pytest.approx(0.947, abs=5e-4)
    assert reached == pytest.approx(stats.t.cdf(z, n), abs=0.006)
    assert reached == pytest.approx(target, abs=0.01)


@pytest.mark.parametrize(("lead", "window"), [(2, 5), (3, 10)])
def test_with_longer_cover_the_level_falls_short_by_the_forecasts_own_error(lead, window):
    """The documented shortfall: sqrt(L) sigma_1 under-states the L-period error of an MA."""
    target, n = 0.95, 50
    model = one_stage(lead, window, {"service_level": target, "error_window": n})
    assert model.firms[0].lead_time == lead
    k = math.sqrt((1 + lead / window) / (1 + 1 / window))
    predicted = stats.t.cdf(NormalDist().inv_cdf(target) / k, n)
    assert cycle_service_level(model) == pytest.approx(predicted, abs=0.006)
    assert predicted < target - 0.01


@pytest.mark.parametrize("target", [0.95, 0.99])
def test_a_fill_rate_target_is_reached_through_the_normal_loss_function(target):
    model = one_stage(1, 5, {"fill_rate": target, "error_window": 50})
    assert model.summary()["fill_rate"] == pytest.approx(target, abs=0.003)


def test_re_estimating_sigma_raises_the_bullwhip_above_chens_constant_value():
    def ratio(extra):
        params = {"window": 5, **extra}
        network = theory_chain(2, lead_time=2, window=5, policy_params=params)
        model = SupplyChainModel(network, horizon=PERIODS, warm_up=100, rng=7)
        model.run_model()
        return model.summary()["bullwhip_tier1"]

    constant = ratio({})
    adaptive = ratio({"safety_factor": 1.645, "error_window": 5})  # sigma over p periods
    assert constant == pytest.approx(chen(2, 5), rel=0.03)
    assert adaptive > 1.05 * chen(2, 5)
    assert adaptive > 1.05 * constant  # the same demand: the difference is the estimator


def test_the_normal_loss_function_and_its_inverse():
    for z in (-3.0, -1.0, 0.0, 0.5, 1.645, 3.0):
        expected = stats.norm.pdf(z) - z * stats.norm.sf(z)
        assert normal_loss(z) == pytest.approx(expected, rel=1e-12, abs=1e-15)
        assert loss_inverse(normal_loss(z), start=-z) == pytest.approx(z, abs=1e-9)
    assert normal_loss(0.0) == pytest.approx(1 / math.sqrt(2 * math.pi))
    assert loss_inverse(50.0) == -8.0 and loss_inverse(0.0) == 8.0


def test_sigma_is_the_root_mean_square_error_over_the_window_and_warms_up():
    s = SafetyStock(safety_factor=2.0, window=3)
    assert s.sigma == 0.0 and s.level(4.0, 10.0) == 0.0  # nothing seen: no safety stock
    s.observe(13.0, 10.0)
    assert s.sigma == pytest.approx(3.0)  # one error so far
    for demand in (6.0, 10.0, 12.0):  # the first error leaves the window
        s.observe(demand, 10.0)
    assert s.sigma == pytest.approx(math.sqrt((16 + 0 + 4) / 3))
    assert s.level(4.0, 10.0) == pytest.approx(2.0 * s.sigma * 2.0)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"safety_factor": 1.0, "service_level": 0.9}, "policy_params"),
        ({"service_level": 1.0}, "service_level"),
        ({"service_level": 0.0}, "service_level"),
        ({"fill_rate": 1.2}, "fill_rate"),
        ({"fill_rate": 0.0}, "fill_rate"),
        ({"safety_factor": "high"}, "safety_factor"),
        ({"safety_factor": 1.0, "error_window": 1}, "error_window"),
        ({"error_window": 0}, "error_window"),
    ],
)
def test_bad_safety_settings_are_config_errors_naming_the_field(params, field):
    text = f"""
steps = 30
warm_up = 5
[network]
builder = "serial"
policy = "order_up_to"
policy_params = {_inline(params)}
"""
    with pytest.raises(ConfigError) as err:
        Scenario.from_toml(text)
    assert err.value.field.endswith(field), err.value.field
    assert err.value.field.startswith("node ")


@pytest.mark.parametrize("value", [-0.2, 0, 1, 1.5, "0.9", math.nan])
@pytest.mark.parametrize("field", ["service_level", "fill_rate"])
def test_a_target_outside_zero_to_one_gets_one_message_whatever_is_wrong(field, value):
    with pytest.raises(ConfigError) as err:  # not ">= 0 and <= 1" for -0.2, then "> 0" for 0
        SafetyStock(**{field: value})
    assert str(err.value).endswith("> 0 and < 1")


def _inline(params: dict) -> str:
    def value(v):
        return f'"{v}"' if isinstance(v, str) else repr(v)

    return "{ " + ", ".join(f"{k} = {value(v)}" for k, v in params.items()) + " }"
