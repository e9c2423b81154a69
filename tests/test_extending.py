"""The extension examples (examples/plugins/), as a researcher runs them: from their
scenario files through ``run``, ``compare`` and ``sweep`` on local processes and on a
Dask cluster with identical results, ``rerun`` of a row bit for bit; and what each one
changes, with goods conserved and nothing leaked.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pullchain.network.builders import serial_chain
from pullchain.runs import plugins
from pullchain.runs.model import SupplyChainModel
from pullchain.runs.scenarios import Scenario
from pullchain.runs.store import TIMING_COLUMNS, read_results
from pullchain.runs.sweep import rerun

from .helpers import meddle
from .test_conservation import assert_conserved

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = ROOT / "examples" / "plugins"
EXAMPLES = {  # scenario, its sweep, the plug-in, the regimes compare pairs
    "pout": ("pout.toml", "sweep-pout.toml", "pout.py", None),
    "switching": ("switching.toml", "sweep-switching.toml", "switching.py", None),
    "perishable": ("perishable.toml", "sweep-perishable.toml", "perishable.py", None),
    "noisy_pos": ("noisy_pos.toml", "sweep-noisy-pos.toml", "noisy_pos.py",
                  "transparent,noisy_pos"),
}  # fmt: skip
ENV = {**os.environ, "PYTHONHASHSEED": "0"}


@pytest.fixture(scope="module", autouse=True)
def forget_plugins():
    """The examples loaded in this process are forgotten after the module."""
    with plugins.scoped():
        yield


def pullchain(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "pullchain.runs.cli", *args],
        capture_output=True, text=True, env=ENV, timeout=300, cwd=cwd,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def cluster():
    """One Dask LocalCluster for the module's sweeps."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None,
    ) as c:  # fmt: skip
        yield c.scheduler_address


def comparable(out: Path) -> pd.DataFrame:
    frame = read_results(out).drop(columns=[*TIMING_COLUMNS, "traceback"])
    return frame.sort_values("run_key").reset_index(drop=True)


# -- through the command line ------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_the_example_runs_and_compares_from_its_scenario_file(name):
    scenario, _, plugin, regimes = EXAMPLES[name]
    path = str(PLUGINS / scenario)
    run = json.loads(pullchain("run", path, "--steps", "40", "--json").stdout)
    (record,) = run["plugins"]
    assert record["spec"] == str(PLUGINS / plugin) and record["kind"] == "file"
    assert math.isfinite(run["total_cost"])
    args = ["compare", path, "--steps", "40", "--replications", "2", "--json"]
    compared = json.loads(pullchain(*args, *(["--regimes", regimes] if regimes else [])).stdout)
    assert compared["plugins"] == run["plugins"] and len(compared["metrics"]) > 10


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_the_example_sweeps_alike_on_processes_and_dask_and_reruns_bit_for_bit(
    name, cluster, tmp_path
):
    sweep = str(PLUGINS / EXAMPLES[name][1])
    local, dask = tmp_path / "local", tmp_path / "dask"
    pullchain("sweep", sweep, "--out", str(local), "--workers", "2", "--quiet")
    pullchain("sweep", sweep, "--out", str(dask), "--scheduler", cluster, "--quiet")
    frame = comparable(local)
    assert len(frame) == 16 and (frame["status"] == "ok").all(), frame["error"].dropna()
    pd.testing.assert_frame_equal(frame, comparable(dask))
    row = read_results(local).iloc[-1]
    model = rerun(row, local, trust_code=True)  # the plug-in's text from the manifest
    for metric, value in model.summary().items():
        assert value == row[metric] or (math.isnan(value) and math.isnan(row[metric])), metric


# -- what each one does -----------------------------------------------------------------------
def example(name: str, **overrides) -> Scenario:
    scenario = Scenario.from_file(PLUGINS / EXAMPLES[name][0])
    return scenario.with_overrides(overrides) if overrides else scenario


def test_pout_with_ti_1_is_order_up_to_and_larger_ti_damps_the_orders():
    def orders(policy: str, params: dict) -> np.ndarray:
        demand = {"mean": 100.0, "std": 10.0}
        network = serial_chain(3, lead_time=2, initial_stock=300.0, policy=policy,
                               policy_params=params, demand_params=demand)  # fmt: skip
        for node, kind in network.nodes(data="kind"):
            if kind != "consumer":
                network.nodes[node]["allow_returns"] = True
        model = SupplyChainModel(network, horizon=120, rng=4)
        model.run_model()
        return model.recorder.firms.series("ordered")

    example("pout")  # loads pout.py
    es = {"forecast": "exponential_smoothing", "forecast_params": {"alpha": 0.3}}
    plain = orders("order_up_to", {"forecast": "exponential_smoothing", "alpha": 0.3})
    np.testing.assert_allclose(orders("proportional_out", {"ti": 1.0, **es}), plain, atol=1e-9)
    damped = orders("proportional_out", {"ti": 4.0, **es})
    assert np.std(damped[20:, 0]) < 0.5 * np.std(plain[20:, 0])


def test_a_switching_retailer_orders_from_the_other_brand_during_the_outage():
    runs = {}
    for cls in ("retailer", "switching_retailer"):
        model = example("switching", **{"kinds.retailer.class": cls}).model()
        for _ in range(model.horizon):
            model.step()
            assert_conserved(model)
        runs[cls] = model
    switching = [f for f in runs["switching_retailer"].firms if f.kind == "retailer"]
    assert all(f.switched > 0 for f in switching)  # every one of them moved orders
    out = runs["switching_retailer"].summary()["backlog_mean"]
    assert out < runs["retailer"].summary()["backlog_mean"]


def test_perishable_stock_is_written_off_when_it_expires_and_goods_are_conserved():
    waste = {}
    for life in (2, 3, 8):
        model = example("perishable", **{"kinds.retailer.shelf_life": life}).model()
        for _ in range(model.horizon):
            model.step()
            assert_conserved(model)  # entered = held + in transit + sold + written off
        shops = [f for f in model.firms if f.kind == "retailer"]
        for shop in shops:  # nothing on a shelf is older than its shelf life
            assert all(model.period - b[0] + 1 < life for b in shop.batches)
            assert sum(b[1] for b in shop.batches) == pytest.approx(shop.on_hand, abs=1e-6)
        waste[life] = sum(f.total_written_off for f in shops)
    assert waste[2] > waste[3] > 0 and waste[8] < waste[3]


def test_noisy_pos_disturbs_the_shared_sales_data_by_its_knob_and_nothing_else():
    seen = {}
    for error in (0.0, 0.5):
        model = example("noisy_pos", **{"regime.error": error}).model()
        assert model.regime.error == error and model.regime.name == "noisy_pos"
        for _ in range(10):
            model.step()
        brand = next(f for f in model.firms if f.kind == "brand")
        seen[error] = (brand.observation, model.recorder.demand_series())
    exact, noisy = seen[0.0][0], seen[0.5][0]
    np.testing.assert_array_equal(seen[0.0][1], seen[0.5][1])  # the same consumer demand
    assert noisy.pos_demand != exact.pos_demand and noisy.extra == {"pos_error": 0.5}
    assert noisy.downstream_positions is not None  # stock is shared as under transparent
    transparent = example("noisy_pos").model(regime="transparent")
    assert not hasattr(transparent.regime, "error")  # a knob of noisy_pos only


# -- no leak, whatever the class ----------------------------------------------------------------
@pytest.mark.parametrize("cls", ["switching_retailer", "perishable_retailer"])
@pytest.mark.parametrize("regime", ["opaque", "vmi"])
def test_an_example_retailer_leaks_nothing_its_regime_does_not_share(cls, regime):
    example("switching")
    example("perishable")
    from pullchain.agents.kinds import AGENTS

    base = AGENTS.get(cls)

    def step(self):
        base.step(self)
        meddle(self)  # stock and sales data nobody upstream may see

    meddler = type("Meddler", (base,), {"step": step})

    def upstream(classes):
        network = serial_chain(4, lead_time=2, order_delay=1, initial_stock=20.0)
        model = SupplyChainModel(network, regime=regime, agent_classes=classes, rng=9)
        for _ in range(6):
            model.step()
        return [(f.ordered, f.observation.demand_signal) for f in model.firms[1:]]

    plain, meddled = upstream({"retailer": base}), upstream({"retailer": meddler})
    sees = {"opaque": (), "vmi": (0,)}[regime]  # vmi: the retailer's vendor only
    for i, (a, b) in enumerate(zip(plain, meddled, strict=True)):
        assert (a != b) if i in sees else (a == b), (i, a, b)
