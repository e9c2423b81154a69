"""The core model: timing, reproducibility, information, shortages and bad input."""

from __future__ import annotations

import itertools
import math

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from pullchain.agents.firms import Retailer
from pullchain.network.builders import (
    default_network,
    divergent_tree,
    layered_network,
    serial_chain,
)
from pullchain.network.errors import ConfigError
from pullchain.network.regimes import make_regime
from pullchain.runs.batch_model import BatchModel
from pullchain.runs.model import SupplyChainModel


def run(network=None, periods=60, **kwargs) -> SupplyChainModel:
    model = SupplyChainModel(network, horizon=periods, **kwargs)
    model.run_model()
    return model


# -- defaults and Mesa conventions -------------------------------------------------------
def test_model_with_no_arguments_builds_the_default_network_and_runs():
    model = SupplyChainModel()
    for _ in range(10):
        model.step()
    assert model.time == 10.0
    assert model.steps == 10
    kinds = {a.kind for a in model.agents}
    assert kinds == {"supplier", "brand", "retailer", "consumer"}
    assert len(model.consumers) == sum(
        1 for _, k in default_network().nodes(data="kind") if k == "consumer"
    )
    frame = model.datacollector.get_model_vars_dataframe()
    assert len(frame) == 11  # the initial state and ten periods
    assert frame["demand"].iloc[1:].gt(0).all()


def test_horizon_stops_the_model():
    model = run(periods=7)
    assert model.steps == 7
    assert not model.running


# -- reproducibility and common random numbers ---------------------------------------------
def test_same_seed_same_results_bit_for_bit():
    a = run(rng=11).timeseries()
    b = run(rng=11).timeseries()
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_different_seeds_differ():
    a = run(rng=11).timeseries()
    b = run(rng=12).timeseries()
    assert not a["demand"].equals(b["demand"])


def test_regimes_with_one_seed_face_the_very_same_demand():
    opaque = run(rng=5, regime="opaque").timeseries()
    shared = run(rng=5, regime="transparent").timeseries()
    consumers = opaque["kind"] == "consumer"
    np.testing.assert_array_equal(
        opaque.loc[consumers, "demand"].to_numpy(), shared.loc[consumers, "demand"].to_numpy()
    )
    # ... while what the firms do differs.
    firms = ~consumers
    assert not np.array_equal(
        opaque.loc[firms, "ordered"].to_numpy(), shared.loc[firms, "ordered"].to_numpy()
    )


# -- orders and shipments ----------------------------------------------------------------------
def test_a_firm_with_several_customers_sees_the_sum_of_their_orders():
    model = run(layered_network(seed=3), periods=40, rng=2)
    frame = model.timeseries().set_index(["step", "node"])
    for firm in model.firms:
        if firm.kind == "retailer":
            continue
        expected = sum(
            model.topology.shares[firm.node, c]
            * frame.xs(str(c), level="node")["ordered"].to_numpy()
            for c in model.topology.customers(firm.node)
        )
        got = frame.xs(str(firm.node), level="node")["demand"].to_numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_orders_with_no_delay_are_read_in_the_same_period():
    model = run(serial_chain(3, lead_time=2, order_delay=0), periods=20, rng=1)
    ordered = model.recorder.firms.series("ordered")
    demand = model.recorder.firms.series("demand")
    np.testing.assert_allclose(demand[:, 1], ordered[:, 0])  # stage 2 reads the retailer's
    np.testing.assert_allclose(demand[:, 2], ordered[:, 1])


def test_order_delay_shifts_what_the_supplier_reads():
    model = run(serial_chain(3, lead_time=2, order_delay=2), periods=20, rng=1)
    ordered = model.recorder.firms.series("ordered")
    demand = model.recorder.firms.series("demand")
    np.testing.assert_allclose(demand[2:, 1], ordered[:-2, 0])


def test_shipments_arrive_after_the_lead_time():
    model = run(serial_chain(2, lead_time=3, initial_stock=1e4), periods=20, rng=1)
    shipped = model.recorder.firms.series("shipped")[:, 1]  # the source ships to the retailer
    received = model.recorder.firms.series("received")[:, 0]
    np.testing.assert_allclose(received[3:], shipped[:-3])


def test_upstream_shortage_limits_downstream_deliveries():
    network = serial_chain(
        3, lead_time=1, initial_stock=0.0, demand="constant", demand_params={"level": 10.0}
    )
    source = max(network.nodes)
    network.nodes[source]["capacity"] = 4.0
    model = run(network, periods=50, rng=1)
    received = model.recorder.firms.series("received")
    # Nothing reaches the retailer faster than the source can make it.
    assert received[:, 0].max() <= 4.0 + 1e-9
    assert received[:, 0].sum() <= 4.0 * 50
    assert model.summary(warm_up=10)["fill_rate"] < 0.45
    assert (model.recorder.firms.series("on_hand") >= 0).all()


def test_proportional_rationing_shares_out_by_order_size():
    network = divergent_tree(depth=2, branching=2, initial_stock=0.0)
    for node, kind in network.nodes(data="kind"):
        if kind == "supplier":
            network.nodes[node]["capacity"] = 5.0
    model = run(network, periods=30, rng=4)
    root = next(f for f in model.firms if f.kind == "supplier")
    assert root.backlog > 0  # short all along
    assert math.isclose(sum(root.owed), root.backlog)


# -- no information leak ---------------------------------------------------------------
class Meddler(Retailer):
    """After ordering in period 5, changes data an opaque chain keeps private."""

    def step(self) -> None:
        super().step()
        if self.model.period == 5:
            self.on_hand += 50.0  # stock nobody upstream may see
            board = self.model.regime.board
            board.pos[5 % board.depth] += 30.0  # the till's record, not an order


def upstream_decisions(regime: str, meddle: bool):
    network = serial_chain(4, lead_time=2, initial_stock=20.0)
    classes = {"retailer": Meddler} if meddle else None
    model = SupplyChainModel(network, regime=regime, agent_classes=classes, rng=9)
    seen = []
    for _ in range(6):
        model.step()
    for firm in model.firms[1:]:
        obs = firm.observation
        seen.append((firm.ordered, obs.demand_signal, obs.pos_demand, obs.downstream_positions))
    return seen


def test_opaque_firms_cannot_see_private_data():
    plain = upstream_decisions("opaque", meddle=False)
    meddled = upstream_decisions("opaque", meddle=True)
    for (q0, s0, p0, d0), (q1, s1, p1, d1) in zip(plain, meddled, strict=True):
        assert q0 == q1 and s0 == s1
        assert p0 is p1 is None and d0 is d1 is None


def test_transparent_firms_do_see_it():  # the control: the perturbation is visible at all
    plain = upstream_decisions("transparent", meddle=False)
    meddled = upstream_decisions("transparent", meddle=True)
    for (q0, s0, _, d0), (q1, s1, _, d1) in zip(plain, meddled, strict=True):
        assert s1 == pytest.approx(s0 + 30.0)
        assert q1 != q0
        assert d1[0] == pytest.approx(d0[0] + 50.0)  # the retailer's inventory position


class MeddledBatch(BatchModel):
    """The batch engine's Meddler: the same private data changed after the retailer's turn."""

    def after_turn(self, firm, t) -> None:
        if t == 5 and firm.kind == "retailer":
            firm.on_hand = firm.on_hand + 50.0
            self.regime.pos[5 % self.regime.depth] += 30.0


def upstream_decisions_in_batch(regime: str, meddle: bool):
    cls = MeddledBatch if meddle else BatchModel
    model = cls(serial_chain(4, lead_time=2, initial_stock=20.0), regimes=[make_regime(regime)],
                seeds=[9], horizon=6)  # fmt: skip
    model.run()
    positions = model.regime.positions[5 % model.regime.depth, 0, 0]  # the retailer's, seen
    return [(f.ordered[0], f.signal[0]) for f in model.firms[1:]], positions


def test_opaque_firms_cannot_see_private_data_in_the_batch_engine_either():
    plain, _ = upstream_decisions_in_batch("opaque", meddle=False)
    meddled, _ = upstream_decisions_in_batch("opaque", meddle=True)
    assert plain == meddled
    # ... while transparent firms do (the control).
    plain, ip0 = upstream_decisions_in_batch("transparent", meddle=False)
    meddled, ip1 = upstream_decisions_in_batch("transparent", meddle=True)
    for (q0, s0), (q1, s1) in zip(plain, meddled, strict=True):
        assert s1 == pytest.approx(s0 + 30.0) and q1 != q0
    assert ip1 == pytest.approx(ip0 + 50.0)


def test_partial_participation_is_nested_and_blends_orders():
    network = layered_network(seed=1)
    sharing = []
    for share in (0.0, 0.5, 1.0):
        model = SupplyChainModel(network, regime="transparent", participation=share, rng=3)
        sharing.append(set(np.flatnonzero(model.regime.participating)))
    assert sharing[0] == set() and sharing[0] <= sharing[1] <= sharing[2]
    assert len(sharing[2]) == len(model.firms)


def test_partial_participation_gives_every_tier_its_share():
    """Half the firms of the default chain always include brands and retailers, so the
    transparent chain never equals the opaque one to the cent (issue 12); a larger
    share only adds firms; one firm per tier (the beer game) gets exactly half."""
    from pullchain.network.regimes import draw_participants
    from pullchain.runs.scenarios import Scenario

    default = Scenario.preset("default")
    topology = default.model(regime="opaque").topology
    tiers = np.array([topology.tiers[f] for f in topology.firms])
    for seed in range(40):
        drawn = [
            draw_participants(topology, share, np.random.default_rng(seed))
            for share in (0.25, 0.5, 0.75, 1.0)
        ]
        assert [int(d.sum()) for d in drawn] == [3, 6, 8, 11]  # round(share * 11)
        for smaller, larger in itertools.pairwise(drawn):
            assert not (smaller & ~larger).any()  # nested
        for tier in (1, 2, 3):
            n = (tiers == tier).sum()
            assert abs(drawn[1][tiers == tier].sum() - n / 2) <= 1.5
            assert drawn[1][tiers == tier].any()
    beer = Scenario.preset("beer-game").model(regime="opaque").topology
    assert all(draw_participants(beer, 0.5, np.random.default_rng(s)).sum() == 2 for s in range(9))
    # half participation now changes the transparent chain
    half = default.with_overrides({"regime.participation": 0.5, "steps": 80, "warm_up": 20})
    runs = {r: half.model(regime=r) for r in ("opaque", "transparent")}
    for model in runs.values():
        while model.running:
            model.step()
    assert runs["transparent"].summary()["total_cost"] != runs["opaque"].summary()["total_cost"]


# -- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"regime": "foggy"}, "regime"),
        ({"participation": 1.5}, "regime.participation"),
        ({"info_delay": -1}, "regime.delay"),
        ({"share_sales": "yes"}, "regime.share_sales"),
        ({"warm_up": -3}, "warm_up"),
        ({"horizon": 0}, "horizon"),
        ({"horizon": "ten"}, "horizon"),
        ({"rng": "abc"}, "rng"),
        ({"rng": 1.5}, "rng"),
    ],
)
def test_bad_model_parameters_name_the_field(kwargs, field):
    with pytest.raises(ConfigError) as err:
        SupplyChainModel(**kwargs)
    assert err.value.field == field
    assert field in str(err.value)


def test_bad_policy_and_demand_name_the_node():
    network = serial_chain(2)
    network.nodes[1]["policy"] = "guess"
    with pytest.raises(ConfigError, match=r"node 1\.policy.*'guess'"):
        SupplyChainModel(network)
    network = serial_chain(2, policy_params={"window": 0})
    with pytest.raises(ConfigError, match=r"node \d\.policy.*window"):
        SupplyChainModel(network)
    network = serial_chain(2, demand_params={"std": -1.0})
    with pytest.raises(ConfigError, match=r"node 0\.demand_params.*std"):
        SupplyChainModel(network)
    network = serial_chain(2, demand_params={"sd": 1.0})
    with pytest.raises(ConfigError, match=r"node 0\.demand_params\.sd"):
        SupplyChainModel(network)


def test_a_broken_network_is_rejected_before_anything_runs():
    G = nx.DiGraph()
    G.add_node("s", kind="supplier")
    G.add_node("r", kind="retailer")
    G.add_node("c", kind="consumer")
    G.add_edge("s", "r", lead_time=-1)
    G.add_edge("r", "c")
    with pytest.raises(ConfigError, match="lead_time"):
        SupplyChainModel(G)


def test_a_string_seed_from_a_text_box_is_accepted():
    a = run(rng="42", periods=5).timeseries()
    b = run(rng=42, periods=5).timeseries()
    pd.testing.assert_frame_equal(a, b, check_exact=True)


# -- metrics read what the firms recorded ------------------------------------------------
class RentingRetailer(Retailer):
    """A retailer that pays rent for its shop: a cost the built-in ones do not know."""

    RENT = 7.5

    def close_period(self) -> None:
        super().close_period()
        self.period_cost += self.RENT
        self.cost += self.RENT


def test_a_cost_a_subclass_adds_in_close_period_counts_in_total_cost():
    G = layered_network(2, 2, 3, 6, seed=1)
    plain = run(G, periods=50, warm_up=10, rng=4).summary()
    renting = run(
        G, periods=50, warm_up=10, rng=4, agent_classes={"retailer": RentingRetailer}
    ).summary()
    rent = RentingRetailer.RENT * 3 * 40  # three retailers, forty periods after the warm-up
    assert renting["total_cost"] == pytest.approx(plain["total_cost"] + rent, rel=1e-12)
    parts = ("holding_cost", "backlog_cost", "lost_sale_cost", "order_cost", "capital_cost")
    for part in parts:  # the breakdown of the built-in costs is unchanged
        assert renting[part] == plain[part]
    builtin = sum(renting[p] for p in parts) + renting["writeoff_cost"]
    assert renting["total_cost"] == pytest.approx(builtin + rent, rel=1e-12)
