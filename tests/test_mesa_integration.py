"""pullchain as a Mesa model: batch_run, Parquet export, Mesa-examples conventions, pickling."""

from __future__ import annotations

import gc
import pickle
import weakref

import mesa
import numpy as np
import pandas as pd
import pytest

from pullchain.network.builders import serial_chain
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
