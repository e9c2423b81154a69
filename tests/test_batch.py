"""The batch engine agrees with the agent model, replication by replication, bit for bit.

The contract (docs/model.md, "Two engines"): for every replication, the batch engine's
recorded series and summary equal those of ``SupplyChainModel`` run with that
replication's regime and seed. Both engines add in the same order (network/sums.py), so
the agreement is exact, not merely within 1e-9: these tests compare bits. What the
batch engine does not cover is detected and run on the agent model, with one line.
"""

from __future__ import annotations

import math
from typing import ClassVar

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pullchain.agents.allocation import ALLOCATIONS, Proportional
from pullchain.agents.demand import DEMANDS, ConstantDemand
from pullchain.agents.firms import Retailer
from pullchain.agents.forecasts import FORECASTS, Naive
from pullchain.agents.policies import POLICIES, BaseStock
from pullchain.network.builders import beer_game, serial_chain
from pullchain.network.errors import ConfigError
from pullchain.network.params import with_defaults
from pullchain.network.regimes import REGIMES, InformationRegime, make_regime
from pullchain.network.sums import PairwiseSum, fsum_rows, ordered_sum, ordered_sum_rows
from pullchain.runs import batch, metrics
from pullchain.runs.batch_model import BatchModel
from pullchain.runs.batch_views import ReplicationView
from pullchain.runs.compare import compare
from pullchain.runs.model import SupplyChainModel
from pullchain.runs.scenarios import Scenario

from .strategies import networks, shocks

KNOBS = st.fixed_dictionaries(
    {
        "share_sales": st.booleans(),
        "share_stock": st.booleans(),
        "delay": st.integers(0, 3),
        "participation": st.sampled_from([0.0, 0.3, 0.5, 1.0]),
    }
)


def same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def assert_replication_equals_agent_model(batch_model: BatchModel, r: int, agent) -> None:
    rec = agent.recorder
    view = ReplicationView(batch_model, r)
    np.testing.assert_array_equal(view.recorder.firms.data, rec.firms.data[: rec.rows])
    np.testing.assert_array_equal(view.recorder.demand_series(), rec.demand_series())
    if rec.consumers.agents and batch_model.consumer_data is not None:
        np.testing.assert_array_equal(view.recorder.consumers.data, rec.consumers.data[: rec.rows])
    expected = agent.summary()
    record = batch_model.record()
    got = metrics.per_run(record, metrics.summaries(record))[r]
    assert list(got) == list(expected)
    for metric, value in expected.items():
        assert same(got[metric], value), (metric, got[metric], value)


# -- the contract, on random scenarios ------------------------------------------------------------
@settings(
    max_examples=70,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_every_replication_equals_the_agent_model_bit_for_bit(data):
    G = data.draw(networks(), label="network")
    reps = data.draw(st.integers(1, 4), label="replications")
    names = data.draw(st.lists(st.sampled_from(["opaque", "transparent"]), min_size=reps,
                               max_size=reps), label="regimes")  # fmt: skip
    knobs = data.draw(st.lists(KNOBS, min_size=reps, max_size=reps), label="knobs")
    seeds = data.draw(st.lists(st.integers(0, 2**31 - 1), min_size=reps, max_size=reps))
    disruptions = data.draw(shocks(G), label="disruptions") if data.draw(st.booleans()) else []
    horizon = data.draw(st.integers(1, 30), label="horizon")
    warm_up = data.draw(st.integers(0, 6), label="warm_up")
    model = BatchModel(
        G,
        regimes=[make_regime(n, **k) for n, k in zip(names, knobs, strict=True)],
        seeds=seeds,
        horizon=horizon,
        warm_up=warm_up,
        disruptions=disruptions,
        record_consumers=True,
    ).run()
    for r in range(reps):
        agent = SupplyChainModel(
            G, regime=make_regime(names[r], **knobs[r]), horizon=horizon, warm_up=warm_up,
            disruptions=disruptions, rng=seeds[r],
        )  # fmt: skip
        agent.run_model()
        assert_replication_equals_agent_model(model, r, agent)


def test_presets_equal_the_agent_model_and_the_tidy_tables_too():
    for name in ("default", "beer-game", "disruption", "fad", "batching"):
        scenario = Scenario.preset(name).with_overrides({"steps": 60, "warm_up": 10})
        runs = [("opaque", 3), ("transparent", 3), ("transparent", 8)]
        results = batch.run_batch(scenario, runs, keep=lambda i: i == 1, record="firms")
        for (regime, seed), result in zip(runs, results, strict=True):
            agent = scenario.model(regime=regime, seed=seed, record_consumers=False)
            agent.run_model()
            assert result.summary.keys() == agent.summary().keys()
            assert all(same(result.summary[k], v) for k, v in agent.summary().items()), name
            if result.view is not None:
                pd.testing.assert_frame_equal(result.view.timeseries(), agent.timeseries())
                series = result.view.model_series()
                for key, values in agent.model_series().items():
                    np.testing.assert_array_equal(series[key], values)


def test_compare_gives_the_same_table_on_either_engine():
    scenario = Scenario.preset("default").with_overrides({"steps": 80})
    fast = compare(scenario, replications=3, engine="batch")
    slow = compare(scenario, replications=3, engine="agents")
    pd.testing.assert_frame_equal(fast.runs, slow.runs, check_exact=True)
    pd.testing.assert_frame_equal(fast.table(), slow.table(), check_exact=True)


# -- what the batch engine does not cover is found, said and run on the agent model ---------------
class Doubler(BaseStock):
    def order(self, s):
        return 2 * super().order(s)


class LastButOne(Naive):
    pass


class Weekend(ConstantDemand):
    pass


class LargestFirst(Proportional):
    pass


class Nosy(InformationRegime):
    def observe(self, firm, period, orders):
        return super().observe(firm, period, orders)


class LatePOS(InformationRegime):  # only its defaults differ: the batch engine covers it
    params: ClassVar[dict] = with_defaults(InformationRegime.params, share_sales=True, delay=2)


class MyRetailer(Retailer):
    pass


@pytest.fixture
def registered():
    added = [
        (POLICIES, "doubler", Doubler), (FORECASTS, "last_but_one", LastButOne),
        (DEMANDS, "weekend", Weekend), (ALLOCATIONS, "largest_first", LargestFirst),
        (REGIMES, "nosy", Nosy), (REGIMES, "late_pos", LatePOS),
    ]  # fmt: skip
    for registry, name, cls in added:
        registry.register(name)(cls)
    yield
    for registry, name, _ in added:
        registry.unregister(name)


UNSUPPORTED = {
    "policy": (
        {"firms.policy": "doubler", "firms.policy_params": {}},
        "ordering policy 'doubler' (Doubler)",
    ),
    "forecast": (
        {"firms.policy_params": {"forecast": "last_but_one"}},
        "forecast 'last_but_one' (LastButOne)",
    ),
    "demand": ({"consumers.demand": "weekend", "consumers.demand_params": {}}, "'weekend'"),
    "allocation": ({"firms.allocation": "largest_first"}, "allocation rule 'largest_first'"),
    "regime": ({"regime.name": "nosy"}, "information regime 'nosy' (Nosy.observe)"),
}


@pytest.mark.parametrize("feature", sorted(UNSUPPORTED))
def test_each_unsupported_feature_runs_on_the_agent_model_with_one_line(feature, registered):
    overrides, reason = UNSUPPORTED[feature]
    scenario = Scenario.preset("serial").with_overrides({"steps": 30, "warm_up": 5, **overrides})
    regimes = ("opaque", scenario.shared_regime)
    said: list[str] = []
    assert batch.choose("auto", scenario, regimes, said.append) == "agents"
    assert len(said) == 1 and "\n" not in said[0] and reason in said[0]
    with pytest.raises(ConfigError, match="--engine") as err:
        batch.choose("batch", scenario, regimes, said.append)
    assert reason in str(err.value)
    if feature in ("policy", "regime"):  # and the results are the agent model's
        table = compare(scenario, replications=2, say=said.append).runs
        pd.testing.assert_frame_equal(table, compare(scenario, replications=2,
                                                     engine="agents").runs)  # fmt: skip


def test_a_replaced_agent_class_is_not_covered():
    why = batch.unsupported(serial_chain(3), agent_classes={"retailer": MyRetailer})
    assert why == "agent class MyRetailer for node 1 (retailer)"
    assert batch.unsupported(serial_chain(3), agent_classes={"retailer": Retailer}) is None
    G = serial_chain(3)
    G.nodes[2]["class"] = "pullchain.agents.firms:Distributor"  # the built-in, by its path
    assert batch.unsupported(G) is None
    G.nodes[1]["class"] = "tests.test_batch:MyRetailer"  # a node's own class, as a scenario sets
    assert batch.unsupported(G) == "agent class MyRetailer for node 1 (retailer)"


def test_a_regime_that_only_changes_defaults_is_covered(registered):
    scenario = Scenario.preset("default").with_overrides(
        {"steps": 40, "warm_up": 5, "regime.name": "late_pos"}
    )
    assert batch.unsupported(scenario.network(), [scenario.regime("late_pos")]) is None
    fast = compare(scenario, replications=2, engine="batch").runs
    pd.testing.assert_frame_equal(fast, compare(scenario, replications=2, engine="agents").runs)


# -- memory ---------------------------------------------------------------------------------------
def test_a_batch_too_big_for_memory_is_split_and_gives_the_same_results(monkeypatch):
    scenario = Scenario.preset("beer-game")
    runs = [("opaque", s) for s in range(7)] + [("transparent", s) for s in range(5)]
    whole = batch.run_batch(scenario, runs)
    network, regimes = scenario.network(), [scenario.regime("transparent")]
    per = batch.bytes_per_replication(network, scenario.steps, "summary", 32)
    per += batch.board_bytes(network, regimes, scenario.steps)
    monkeypatch.setenv("PULLCHAIN_MAX_BATCH_BYTES", str(3 * per))
    assert batch.plan(network, regimes, scenario.steps, len(runs))[0] == 3
    parts = batch.run_batch(scenario, runs)
    assert [p.summary for p in parts] == [w.summary for w in whole]


def test_a_replication_that_cannot_fit_is_refused_before_anything_is_allocated(monkeypatch):
    monkeypatch.setenv("PULLCHAIN_MAX_BATCH_BYTES", "1000")
    scenario = Scenario.preset("beer-game")
    with pytest.raises(ConfigError, match=r"batch: .*1 replications.*PULLCHAIN_MAX_BATCH_BYTES="):
        batch.run_batch(scenario, [("opaque", 1)])


# -- the sums both engines add with --------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.lists(st.floats(-1e12, 1e12) | st.sampled_from([0.0, 1e-16, 0.1, 1e16, -1e16]),
                 min_size=3, max_size=3),
        min_size=1, max_size=9,
    )
)  # fmt: skip
def test_column_sums_are_the_scalar_sums_bit_for_bit(rows):
    stack = np.array(rows)  # (n, 3): three replications
    for r in range(3):
        assert fsum_rows(stack)[r] == math.fsum(stack[:, r])
        assert ordered_sum_rows(stack)[r] == ordered_sum(stack[:, r])
        assert ordered_sum_rows(stack[:, r : r + 1])[0] == ordered_sum(stack[:, r])


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 36, 128, 129, 290, 1001, 4099])
def test_a_pairwise_sum_taken_term_by_term_is_numpys_sum(n):
    rng = np.random.default_rng(n)
    terms = rng.standard_normal((n, 2, 3)) * 10.0 ** rng.integers(-9, 9, (n, 2, 3))
    summed = PairwiseSum(n, (2, 3))
    for x in terms:
        summed.add(x)
    expected = np.ascontiguousarray(np.moveaxis(terms, 0, -1)).sum(axis=-1)
    np.testing.assert_array_equal(summed.total(), expected)


def test_a_summary_alone_is_summed_as_the_runs_go_and_keeps_only_the_views_asked_for():
    scenario = Scenario.preset("default").with_overrides({"steps": 300, "warm_up": 10})
    runs = [("opaque", 3), ("transparent", 3), ("transparent", 8)]
    network = scenario.network()
    model = BatchModel(network, regimes=[scenario.regime(r) for r, _ in runs],
                       seeds=[s for _, s in runs], horizon=300, warm_up=10, variables=(),
                       validated=True).run()  # fmt: skip
    assert model.data.size == 0  # no firm series: the summary was summed as it went
    results = batch.run_batch(scenario, runs, keep=lambda i: i == 1, network=network)
    assert [r.view is not None for r in results] == [False, True, False]
    for (regime, seed), result in zip(runs, results, strict=True):
        agent = scenario.model(regime=regime, seed=seed, record_consumers=False)
        agent.run_model()
        assert list(result.summary) == list(agent.summary())
        assert all(same(result.summary[k], v) for k, v in agent.summary().items())
        if result.view is not None:  # the series the summary reads, as the figures draw
            for key, values in agent.model_series().items():
                np.testing.assert_array_equal(result.view.model_series()[key], values)
    with pytest.raises(ValueError, match="replication 0's series were not kept"):
        ReplicationView(BatchModel(network, regimes=[scenario.regime("opaque")] * 2,
                                   seeds=[1, 2], horizon=3, kept=[1]), 0)  # fmt: skip


def test_the_beer_game_in_lockstep_matches_one_run():
    model = BatchModel(
        beer_game(), regimes=[make_regime("opaque")] * 3, seeds=[1, 2, 3], horizon=36, warm_up=0
    ).run()
    agent = SupplyChainModel(beer_game(), horizon=36, warm_up=0, rng=2)
    agent.run_model()
    assert_replication_equals_agent_model(model, 1, agent)
    assert nx.is_directed_acyclic_graph(model.network)


@pytest.mark.parametrize("seed", [0, 1, 2**31 - 1, 2**32, 2**64 + 12345, 3**100])
def test_stream_states_are_numpys_for_any_seed(seed):
    from pullchain.runs.streams import STREAM_DEMAND, StreamDraws, pcg64_seeds, stream

    idx = np.array([0, 1, 7, 4095, 99_999])
    draws = StreamDraws(pcg64_seeds(seed, (STREAM_DEMAND,), idx))
    for k, i in enumerate(idx):
        expected = stream(seed, STREAM_DEMAND, int(i)).standard_normal(5)
        np.testing.assert_array_equal(draws.take(k, lambda g: g.standard_normal(5)), expected)


def test_a_batch_draws_smaller_demand_blocks_rather_than_split(monkeypatch):
    scenario = Scenario.preset("default").with_overrides({"steps": 300, "warm_up": 10})
    network, regimes = scenario.network(), [scenario.regime("transparent")]
    runs = [("opaque", s) for s in range(6)] + [("transparent", s) for s in range(6)]
    whole = batch.run_batch(scenario, runs)
    small = batch.bytes_per_replication(network, scenario.steps, "summary", 32)
    small += batch.board_bytes(network, regimes, scenario.steps)
    monkeypatch.setenv("PULLCHAIN_MAX_BATCH_BYTES", str(len(runs) * small))
    size, block = batch.plan(network, regimes, scenario.steps, len(runs))
    assert size == len(runs) and block < 256  # one batch, blocks of fewer periods
    assert [p.summary for p in batch.run_batch(scenario, runs)] == [w.summary for w in whole]


def test_vmi_runs_on_the_agent_model_and_says_why():
    scenario = Scenario.preset("default").with_overrides({"steps": 30, "warm_up": 5})
    said: list[str] = []
    assert batch.choose("auto", scenario, ("opaque", "vmi"), said.append) == "agents"
    assert len(said) == 1 and "information regime 'vmi' (VendorManaged." in said[0]
    assert batch.choose("auto", scenario, ("opaque", "transparent"), said.append) == "batch"


def test_a_replications_view_shades_the_agent_models_disruptions():
    """The charts' bands read a run's events: a batch replication has the same ones,
    random shocks included, as the agent model run with its seed."""
    from pullchain.runs.app_charts import bands

    shocks = [
        {"kind": "outage", "node": "supplier 1", "start": 30, "duration": 6},
        {"kind": "outage", "targets": "retailer", "rate": 0.05, "duration": 3},
    ]
    scenario = Scenario.preset("default").with_overrides(
        {"steps": 80, "warm_up": 10, "disruptions": shocks}
    )
    seeds = [3, 4]
    results = batch.run_batch(scenario, [("opaque", s) for s in seeds], keep=lambda i: True)
    for result, seed in zip(results, seeds, strict=True):
        model = scenario.model(regime="opaque", seed=seed)
        model.run_model()
        assert len(model.disruptions.events) > 1  # the scheduled outage and random ones
        assert bands(result.view) == bands(model)
