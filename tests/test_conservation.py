"""Goods are conserved: nothing appears or vanishes between firms, lanes and consumers.

At the end of every period, on random networks and parameters:
    entered = held by firms + in transit + sold + lost + written off
where ``entered`` counts the goods present at the start plus everything sources have
made since. Also: no firm ever holds negative stock or ships what it does not have.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pullchain.network.regimes import make_regime
from pullchain.runs.batch_model import BatchModel
from pullchain.runs.model import SupplyChainModel

from .helpers import ENGINES
from .strategies import networks


def assert_conserved(model: SupplyChainModel) -> None:
    ledger = model.ledger()
    accounted = (
        ledger["held"]
        + ledger["in_transit"]
        + ledger["sold"]
        + ledger["lost"]
        + ledger["written_off"]
    )
    assert math.isclose(ledger["entered"], accounted, rel_tol=1e-9, abs_tol=1e-6), ledger
    for firm in model.firms:
        assert firm.on_hand >= -1e-9, (firm.node, firm.on_hand)
        assert math.isclose(firm.supply_line, on_its_way(model, firm), abs_tol=1e-6), firm.node
        for i, lane in enumerate(firm.in_lanes):  # the buyer's own count of what it is owed
            supplier = model.firms[model.topology.firm_index[lane.supplier]]
            owed = supplier.owed[supplier.out_lanes.index(lane)]
            assert math.isclose(firm.owed_by(i), owed, abs_tol=1e-6), (firm.node, lane)


def on_its_way(model: SupplyChainModel, firm) -> float:
    """What is really coming to ``firm``: the supply line it believes in, recounted.

    Orders in the mail, what suppliers owe it, goods in transit, cancellations answered
    but not yet read, and (producers) what waits for capacity or is in production.
    """
    total = 0.0
    for lane in firm.in_lanes:
        supplier = next(f for f in model.firms if f.node == lane.supplier)
        owed = supplier.owed[supplier.out_lanes.index(lane)]
        total += lane.orders_in_transit + owed + lane.in_transit + lane.cancel_done
    total += sum(getattr(firm, "in_production", {}).values()) + getattr(firm, "queue", 0.0)
    return total


def assert_conserved_in_batch(model: BatchModel) -> None:
    """``assert_conserved`` for every replication of a batch."""
    ledger = model.ledger()
    accounted = (
        ledger["held"] + ledger["in_transit"] + ledger["sold"] + ledger["lost"]
        + ledger["written_off"]
    )  # fmt: skip
    np.testing.assert_allclose(ledger["entered"], accounted, rtol=1e-9, atol=1e-6)
    supplier_of = {}
    for firm in model.firms:
        for i, lane in enumerate(firm.out_lanes):
            if lane is not None:
                supplier_of[id(lane)] = (firm, i)
    for firm in model.firms:
        assert (firm.on_hand >= -1e-9).all(), (firm.node, firm.on_hand)
        coming = np.zeros(model.reps)
        for lane in firm.in_lanes:
            supplier, i = supplier_of[id(lane)]
            coming = coming + lane.orders_in_transit + supplier.owed[i] + lane.in_transit
            coming = coming + lane.cancel_done
        if firm.in_production is not None:
            coming = coming + firm.in_production.sum(axis=0)
        coming = coming + firm.queue
        np.testing.assert_allclose(firm.supply_line, coming, atol=1e-6, err_msg=str(firm.node))


@pytest.mark.parametrize("engine", ENGINES)
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    regime=st.sampled_from(["opaque", "transparent", "vmi"]),
    delay=st.integers(0, 2),
    participation=st.sampled_from([0.0, 0.5, 1.0]),
    seed=st.integers(0, 2**31 - 1),
    shocks=st.booleans(),
)
def test_goods_are_conserved_every_period(engine, data, regime, delay, participation, seed, shocks):
    G = data.draw(networks(), label="network")
    firms = [n for n, k in G.nodes(data="kind") if k != "consumer"]
    edges = [[u, v] for u, v in G.edges if G.nodes[v]["kind"] != "consumer"]
    disruptions = []
    if shocks:
        disruptions = [
            {"kind": "outage", "node": firms[-1], "start": 4, "duration": 5},
            {"kind": "outage", "targets": "retailer", "rate": 0.1, "duration": 2},
        ]
        if edges:
            disruptions.append({"kind": "lead_time", "edge": edges[0], "start": 2, "extra": 3})
    if engine == "batch":  # three replications, each its own seed and knobs
        assume(regime != "vmi")  # the agent model's alone: the batch engine hands it back
        knobs = {"delay": delay, "participation": participation}
        batch = BatchModel(
            G, regimes=[make_regime(regime, **knobs), make_regime("opaque"),
                        make_regime("transparent", participation=0.5)],
            seeds=[seed, seed + 1, seed + 2], horizon=25, warm_up=0, disruptions=disruptions,
        )  # fmt: skip
        assert_conserved_in_batch(batch)
        for _ in range(25):
            batch.step()
            assert_conserved_in_batch(batch)
        retail = [j for j, f in enumerate(batch.firms) if f.kind == "retailer"]
        shipped = batch.series("shipped")[:, retail].sum(axis=(1, 2))
        np.testing.assert_allclose(batch.total_bought.sum(axis=0), shipped, rtol=1e-9, atol=1e-6)
        return
    model = SupplyChainModel(
        G,
        regime=regime,
        info_delay=delay,
        participation=participation,
        rng=seed,
        warm_up=0,
        disruptions=disruptions,
    )
    assert_conserved(model)
    for _ in range(25):
        model.step()
        assert_conserved(model)
    # The recorded flows tell the same story: what firms shipped to consumers was sold.
    sold = sum(c.total_bought for c in model.consumers)
    retail = [j for j, f in enumerate(model.firms) if f.kind == "retailer"]
    shipped = model.recorder.firms.series("shipped")[:, retail].sum()
    assert math.isclose(sold, shipped, rel_tol=1e-9, abs_tol=1e-6)
