"""pullchain as a Mesa model: batch_run, Parquet export, Mesa-examples conventions, pickling."""

from __future__ import annotations

import gc
import pickle
import re
import weakref
from pathlib import Path

import mesa
import numpy as np
import pandas as pd
import pytest

from pullchain.network.builders import serial_chain
from pullchain.runs.collector import RecorderCollector
from pullchain.runs.model import SupplyChainModel
from pullchain.runs.recorder import CONSUMER_VARIABLES, FIRM_VARIABLES

MODEL_CLASSES = [SupplyChainModel]
MODEL_COLUMNS = {"demand", "on_hand", "backlog", "cost"}


# -- (1) mesa.batch_run ----------------------------------------------------------------------------
def batch(**kwargs) -> pd.DataFrame:
    rows = mesa.batch_run(
        SupplyChainModel,
        parameters={"regime": ["opaque", "transparent"], "horizon": 30},
        rng=[1, 2],
        max_steps=30,
        number_processes=1,
        display_progress=False,
        **kwargs,
    )
    return pd.DataFrame(rows)


def test_batch_run_gives_one_row_per_run_with_the_model_series():
    frame = batch()
    assert len(frame) == 4
    tiers = {c for c in frame.columns if c.startswith("orders_tier")}
    assert tiers == {"orders_tier1", "orders_tier2", "orders_tier3"}  # the default network
    assert set(frame.columns) >= MODEL_COLUMNS
    assert {"RunId", "iteration", "Step", "regime", "horizon", "rng"} <= set(frame.columns)
    assert (frame["Step"] == 30).all()
    assert sorted(zip(frame["regime"], frame["rng"], strict=True)) == [
        ("opaque", 1),
        ("opaque", 2),
        ("transparent", 1),
        ("transparent", 2),
    ]
    assert frame[sorted(MODEL_COLUMNS | tiers)].notna().all().all()
    # Common random numbers: one seed, the same consumer demand under both regimes.
    for _, runs in frame.groupby("rng"):
        assert runs["demand"].nunique() == 1
        assert runs["cost"].nunique() == 2  # ... while the chains themselves differ
    assert frame.groupby("rng")["demand"].first().nunique() == 2


def test_batch_run_collecting_every_step_gives_31_rows_per_run():
    frame = batch(data_collection_period=1)
    assert len(frame) == 4 * 31
    for _, run in frame.groupby("RunId"):
        assert run["Step"].tolist() == list(range(31))
        assert run["demand"].iloc[0] == 0.0 and (run["demand"].iloc[1:] > 0).all()
    by_step = frame.pivot_table(index=["rng", "Step"], columns="regime", values="demand")
    np.testing.assert_array_equal(by_step["opaque"], by_step["transparent"])


# -- (2) Parquet export --------------------------------------------------------------------------
def test_parquet_reads_back_equal_to_the_timeseries(tmp_path):
    model = SupplyChainModel(serial_chain(3), horizon=12, rng=1)
    model.run_model()
    path = model.to_parquet(tmp_path / "ts.parquet")
    assert path == tmp_path / "ts.parquet" and path.exists()
    back = pd.read_parquet(path)
    frame = model.timeseries()
    pd.testing.assert_frame_equal(back, frame)
    assert list(back.columns[:5]) == ["step", "agent_id", "node", "kind", "tier"]
    assert set(back.columns) == {
        "step",
        "agent_id",
        "node",
        "kind",
        "tier",
        *FIRM_VARIABLES,
        *CONSUMER_VARIABLES,
    }
    # One row per agent per step.
    assert len(back) == 12 * len(model.agents)
    assert back.groupby(["step", "agent_id"]).size().eq(1).all()
    assert sorted(back["step"].unique()) == list(range(1, 13))
    assert set(back["agent_id"]) == {a.unique_id for a in model.agents}


# -- (3) Mesa-examples conventions ---------------------------------------------------------------
@pytest.mark.parametrize("model_class", MODEL_CLASSES)
def test_model_runs_with_no_arguments(model_class):
    model = model_class()
    model.run_for(10)
    assert model.time == 10.0


@pytest.mark.parametrize("model_class", MODEL_CLASSES)
def test_model_is_freed_once_its_agents_are_removed(model_class):
    model = model_class()
    model.run_for(3)
    model.remove_all_agents()
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is None


# -- (4) pickling -------------------------------------------------------------------------------
def test_model_pickles_and_continues_bit_for_bit():
    """Process pools and checkpoints pickle models: nothing in one may be a lambda."""
    model = SupplyChainModel(rng=3)
    model.run_for(5)
    clone = pickle.loads(pickle.dumps(model))
    clone.step()
    model.step()
    pd.testing.assert_frame_equal(clone.timeseries(), model.timeseries(), check_exact=True)
    pd.testing.assert_frame_equal(
        clone.datacollector.get_model_vars_dataframe(),
        model.datacollector.get_model_vars_dataframe(),
    )


# -- (5) Mesa's public interface only, and models from scenarios ------------------------------
PRIVATE_MESA = re.compile(r"\._seed\b|_collection_steps|_agents_by_type|\._all_agents\b")


def test_pullchain_uses_no_private_mesa_attribute():
    root = Path(__file__).resolve().parents[1]
    found = [
        f"{path.relative_to(root)}:{n}"
        for folder in ("agents", "network", "runs")
        for path in (root / folder).rglob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if PRIVATE_MESA.search(line)
    ]
    assert not found, found


def test_a_model_from_a_scenario_is_the_scenario_s_model():
    from pullchain.runs.scenarios import Scenario

    model = SupplyChainModel.from_scenario("beer-game", regime="transparent")
    model.run_model()
    same = Scenario.preset("beer-game").model(regime="transparent")
    same.run_model()
    assert model.seed == same.seed == 1 and model.regime.name == "transparent"
    pd.testing.assert_frame_equal(model.timeseries(), same.timeseries(), check_exact=True)

    class Mine(SupplyChainModel):
        pass

    assert type(Mine.from_scenario(seed=4)) is Mine


def test_the_seed_is_public_and_reproduces_a_generator_seeded_run():
    a = SupplyChainModel(rng=np.random.default_rng(5), horizon=5)
    b = SupplyChainModel(rng=np.random.default_rng(5), horizon=5)
    assert a.seed == b.seed and isinstance(a.seed, int)
    assert SupplyChainModel(rng="7").seed == 7


def test_extra_model_reporters_work_beside_the_built_in_series():
    model = SupplyChainModel(serial_chain(3), horizon=4, rng=1)
    collector = RecorderCollector(
        model.model_series, model._initial_series(), model.recorded_periods,
        model_reporters={"period": "period"},
    )  # fmt: skip
    model.datacollector = collector
    collector.collect(model)
    model.run_model()
    frame = collector.get_model_vars_dataframe()
    assert list(frame.columns[:4]) == ["demand", "on_hand", "backlog", "cost"]
    assert frame["period"].tolist() == [0, 0, 1, 2, 3] and frame["steps"].tolist()[-1] == 4


def test_agent_queries_find_subclasses_of_a_kind():
    from pullchain.agents.firms import Retailer

    class Mine(Retailer):
        pass

    model = SupplyChainModel(agent_classes={"retailer": Mine}, rng=1)
    retailers = [f for f in model.firms if f.kind == "retailer"]
    assert set(model.agents_of_kind("retailer")) == set(retailers)
    assert set(model.agents.select(agent_type=Retailer)) == set(retailers)
    assert set(model.agents_by_type[Mine]) == set(retailers)
