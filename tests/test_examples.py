"""The examples: they run as a user runs them, and every extension they show takes effect.

``examples/custom_policy.py`` registers a policy, a forecast, a demand process and a
regime when imported. The ``ext`` fixture imports it once for this module and removes
those names from the registries afterwards, so other tests see the built-ins only.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pullchain.agents.demand import DEMANDS
from pullchain.agents.firms import Retailer
from pullchain.agents.forecasts import FORECASTS, ExponentialSmoothing
from pullchain.agents.policies import POLICIES, Situation
from pullchain.network.builders import layered_network, serial_chain
from pullchain.network.regimes import Observation
from pullchain.runs import plugins
from pullchain.runs.model import SupplyChainModel

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="module")
def ext():
    """The custom_policy example module, imported once; its registrations undone after."""
    spec = importlib.util.spec_from_file_location(
        "pullchain_example_custom_policy", EXAMPLES / "custom_policy.py"
    )
    module = importlib.util.module_from_spec(spec)
    with plugins.scoped():  # what it registers (and the plug-in it loads) is forgotten after
        spec.loader.exec_module(module)
        yield module


def run_script(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


# -- the scripts, as a user runs them -------------------------------------------------------
def test_custom_policy_script_prints_the_comparison():
    out = run_script("examples/custom_policy.py")
    assert re.search(r"scenario\s+regime\s+bw1\s+bw2\s+bw3\s+bw4\s+total cost", out)
    for scenario in ("serial, order_up_to", "serial, proportional_out", "layered, POUT"):
        for regime in ("opaque", "pos_delayed"):
            assert re.search(rf"^{re.escape(scenario)}.*\s{regime}\s+\d", out, re.M), (
                scenario,
                regime,
            )


def test_beer_game_script_prints_stages_and_plots(tmp_path):
    figure = tmp_path / "orders.png"
    out = run_script("examples/beer_game.py", "--plot", str(figure))
    assert "opaque:" in out and "transparent:" in out
    assert out.count("total team cost:") == 2
    peaks = {}
    regime = None
    for line in out.splitlines():
        if line.endswith(":") and not line.startswith(" "):
            regime = line[:-1]
        m = re.match(r"\s+(retailer|wholesaler|distributor|factory)\s+([\d.]+)\s+([\d.]+)$", line)
        if m:
            peaks[regime, m[1]] = float(m[2])
    assert len(peaks) == 8
    # The bullwhip effect: the opaque factory's peak order far above the transparent one's.
    assert peaks["opaque", "factory"] > peaks["transparent", "factory"] + 5
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -- (a) the ordering rule --------------------------------------------------------------------
def test_proportional_out_follows_its_formula_by_hand(ext):
    policy = POLICIES.create(
        "proportional_out",
        {"ti": 4, "forecast": "moving_average", "forecast_params": {"window": 5}},
    )
    policy.reset(10.0, lead_time=3)
    s = Situation(lead_time=3)
    s.on_hand, s.backlog, s.supply_line = 20.0, 0.0, 15.0
    s.observation = Observation(period=7, orders=15.0, demand_signal=15.0)
    # mu = (4 * 10 + 15) / 5 = 11;  y = (3 - 1) * 11 = 22;  IP = 35;  q = 11 + (22 - 35) / 4
    assert policy.order(s) == pytest.approx(7.75)


def textbook_chain(policy: str, params: dict) -> object:
    """A serial chain far from zero demand, returns allowed (no clipping of orders)."""
    G = serial_chain(
        3,
        lead_time=2,
        initial_stock=300.0,
        policy=policy,
        policy_params=params,
        demand_params={"mean": 100.0, "std": 10.0},
    )
    for node, kind in G.nodes(data="kind"):
        if kind != "consumer":
            G.nodes[node]["allow_returns"] = True
    return G


def ordered(network, periods: int = 80, **kwargs) -> np.ndarray:
    model = SupplyChainModel(network, horizon=periods, rng=4, **kwargs)
    model.run_model()
    return model.recorder.firms.series("ordered")


ES = {"forecast": "exponential_smoothing", "forecast_params": {"alpha": 0.3}}


def test_proportional_out_with_ti_1_is_order_up_to(ext):
    plain = ordered(textbook_chain("order_up_to", {"forecast": "exponential_smoothing"}))
    pout = ordered(textbook_chain("proportional_out", {"ti": 1, **ES}))
    np.testing.assert_allclose(pout, plain, rtol=1e-9, atol=1e-9)


def test_proportional_out_in_a_model_differs_and_follows_its_formula(ext):
    network = textbook_chain("proportional_out", {"ti": 4, **ES})
    model = SupplyChainModel(network, horizon=80, rng=4)
    model.run_model()
    plain = ordered(textbook_chain("order_up_to", {"forecast": "exponential_smoothing"}))
    rec = model.recorder.firms
    assert not np.allclose(rec.series("ordered"), plain)
    assert np.std(rec.series("ordered")[20:, 0]) < np.std(plain[20:, 0])  # smoother orders

    retailer = model.firms[0]
    assert isinstance(retailer.policy, POLICIES.get("proportional_out"))
    received = rec.series("demand")[:, 0]
    q = rec.series("ordered")[:, 0]
    ip_before = rec.series("inventory_position")[:, 0] - q  # recorded after ordering
    forecast = ExponentialSmoothing(0.3)
    forecast.reset(100.0)  # the model primes with the demand's mean
    L = retailer.lead_time
    for t in range(len(q)):
        mu = forecast.update(received[t])
        assert q[t] == pytest.approx(mu + ((L - 1) * mu - ip_before[t]) / 4, abs=1e-9), t


# -- (b) the forecast ---------------------------------------------------------------------------
def test_holt_by_hand(ext):
    holt = FORECASTS.create("holt", {"alpha": 0.5, "beta": 0.5})
    holt.reset(10.0)
    assert holt.update(12.0) == pytest.approx(11.5)  # l = 11, b = 0.5
    assert holt.update(14.0) == pytest.approx(13.875)  # l = 12.75, b = 1.125


def test_holt_tracks_a_trend_that_smoothing_lags(ext):
    holt = FORECASTS.create("holt", {"alpha": 0.3, "beta": 0.2})
    smooth = FORECASTS.create("exponential_smoothing", {"alpha": 0.3})
    for t in range(300):
        x = 10.0 + 2.0 * t
        holt.update(x)
        smooth.update(x)
    assert holt.value == pytest.approx(x + 2.0, abs=1e-6)  # next period's demand
    assert smooth.value < x - 4.0  # lags by 2 (1 - alpha) / alpha


def test_a_registered_forecast_is_usable_by_name_in_the_built_in_policy_too(ext):
    model = SupplyChainModel(serial_chain(2, policy_params={"forecast": "holt"}), rng=1)
    assert all(isinstance(f.policy.forecast, ext.Holt) for f in model.firms)
    network = serial_chain(2, policy="proportional_out", policy_params=ext.POUT)
    forecast = SupplyChainModel(network, rng=1).firms[0].policy.forecast
    assert isinstance(forecast, ext.Holt) and forecast.phi == 0.9


# -- (c) the demand process ---------------------------------------------------------------------
def test_weekly_demand_has_weekend_peaks(ext):
    demand = DEMANDS.create("weekly", {"mean": 10.0, "peak": 3.0})
    demand.bind(np.random.default_rng(0))
    draws = np.array([demand.draw(t) for t in range(7 * 2000)]).reshape(-1, 7)
    by_day = draws.mean(axis=0)
    weekday = 7 * 10.0 / (5 + 2 * 3.0)
    expected = [weekday] * 5 + [3 * weekday] * 2
    np.testing.assert_allclose(by_day, expected, rtol=0.04)
    assert draws.mean() == pytest.approx(10.0, rel=0.02)
    assert [demand.mean(t) for t in range(7)] == pytest.approx(expected)


def test_weekly_demand_in_a_model_peaks_at_weekends_and_is_common_to_regimes(ext):
    def consumer_demand(regime):
        network = serial_chain(3, demand="weekly", demand_params={"mean": 10.0, "peak": 2.5})
        model = SupplyChainModel(network, regime=regime, horizon=7 * 40, rng=8)
        model.run_model()
        return model.recorder.demand_series()

    opaque = consumer_demand("opaque")
    np.testing.assert_array_equal(opaque, consumer_demand("pos_delayed"))
    by_day = opaque.reshape(-1, 7).mean(axis=0)
    assert by_day[5:].min() > 2 * by_day[:5].max()


# -- (d) the information regime -----------------------------------------------------------------
def test_pos_delayed_regime_shows_sales_three_periods_late_and_no_stock(ext):
    model = SupplyChainModel(serial_chain(4, initial_stock=40.0), regime="pos_delayed", rng=3)
    assert isinstance(model.regime, ext.DelayedPOS) and model.regime.delay == 3
    seen = []
    for _ in range(12):
        model.step()
        seen.append([firm.observation for firm in model.firms])
    demand = model.recorder.demand_series()
    for t, observations in enumerate(seen):
        retailer, *upstream = observations
        assert retailer.pos_demand is None  # a retailer reads its own customers' orders
        assert retailer.demand_signal == retailer.orders == demand[t]
        for obs in upstream:
            assert obs.downstream_positions is None  # stock is not shared
            if t < 3:
                assert obs.pos_demand is None and obs.demand_signal == obs.orders
            else:
                assert obs.pos_demand == demand[t - 3]
                assert obs.demand_signal == obs.pos_demand


# -- (e) the agent class --------------------------------------------------------------------------
def test_case_retailer_orders_whole_cases(ext):
    network = layered_network(n_consumers=12, seed=2)
    model = SupplyChainModel(
        network, agent_classes={"retailer": ext.CaseRetailer}, horizon=40, rng=5
    )
    model.run_model()
    retailers = [j for j, f in enumerate(model.firms) if f.kind == "retailer"]
    assert retailers and all(isinstance(model.firms[j], ext.CaseRetailer) for j in retailers)
    orders = model.recorder.firms.series("ordered")[:, retailers]
    assert orders.max() >= 12
    np.testing.assert_array_equal(orders % 12, 0)
    plain = SupplyChainModel(network, horizon=40, rng=5)
    plain.run_model()
    assert not np.array_equal(plain.recorder.firms.series("ordered")[:, retailers], orders)


@pytest.mark.parametrize(
    ("policy_says", "cases"), [(13.0, 24.0), (24.000000001, 24.0), (0.0, 0.0), (-5.0, 0.0)]
)
def test_case_retailer_rounds_up_the_policy_answer(ext, policy_says, cases):
    class Fixed:
        def order(self, s):
            return policy_says

    model = SupplyChainModel(serial_chain(2), agent_classes={"retailer": ext.CaseRetailer})
    retailer = model.firms[0]
    assert isinstance(retailer, Retailer)
    retailer.policy = Fixed()
    assert retailer.decide(Observation(0, 10.0, 10.0)) == cases
