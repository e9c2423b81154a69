"""Goods are conserved: nothing appears or vanishes between firms, lanes and consumers.

At the end of every period, on random networks and parameters:
    entered = held by firms + in transit + sold + lost + written off
where ``entered`` counts the goods present at the start plus everything sources have
made since. Also: no firm ever holds negative stock or ships what it does not have.
"""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pullchain.network.builders import divergent_tree, layered_network, serial_chain
from pullchain.runs.model import SupplyChainModel

POLICIES = [
    ("order_up_to", {"window": 3}),
    ("order_up_to", {"forecast": "exponential_smoothing", "alpha": 0.5, "safety_periods": 1}),
    ("order_up_to", {"window": 4, "service_level": 0.95, "error_window": 5}),
    ("order_up_to", {"window": 2, "fill_rate": 0.98}),
    ("base_stock", {}),
    ("base_stock", {"safety_factor": 1.5, "error_window": 3}),
    ("echelon_base_stock", {"safety_factor": -0.5}),
    ("echelon_base_stock", {"fill_rate": 0.9, "level": 40.0}),
    ("s_S", {}),
    ("r_Q", {}),
    ("sterman", {}),
    ("sterman", {"hold_periods": 3, "hold_order": 6.0, "integer": True}),
]


@st.composite
def networks(draw):
    shape = draw(st.sampled_from(["serial", "tree", "layered"]))
    lead = draw(st.integers(0, 3))
    delay = draw(st.integers(0, 2))
    policy, params = draw(st.sampled_from(POLICIES))
    demand = draw(
        st.sampled_from(
            [
                ("normal", {"mean": 10.0, "std": 6.0}),
                ("poisson", {"mean": 5.0}),
                ("step", {"before": 4.0, "after": 12.0, "at": 5}),
                ("fad", {"base": 1.0, "peak": 15.0, "start": 3, "rise": 3, "fade": 4}),
            ]
        )
    )
    common = {
        "lead_time": lead,
        "order_delay": delay,
        "policy": policy,
        "policy_params": params,
        "demand": demand[0],
        "demand_params": demand[1],
    }
    if shape == "serial":
        G = serial_chain(draw(st.integers(2, 5)), **common)
    elif shape == "tree":
        G = divergent_tree(
            depth=draw(st.integers(2, 3)), branching=draw(st.integers(1, 3)), **common
        )
    else:
        k = draw(st.integers(1, 3))
        n_suppliers = draw(st.integers(1, 3))
        n_brands = draw(st.integers(1, 3))
        n_retailers = draw(st.integers(1, 4))
        # Every seller needs a buyer: each layer may be at most k times the next.
        n_brands = max(n_brands, -(-n_suppliers // k))
        n_retailers = max(n_retailers, -(-n_brands // k))
        G = layered_network(
            n_suppliers,
            n_brands,
            n_retailers,
            max(draw(st.integers(1, 12)), -(-n_retailers // k)),
            sources_per_buyer=k,
            seed=draw(st.integers(0, 1000)),
            **common,
        )
    for node, kind in G.nodes(data="kind"):
        attrs = G.nodes[node]
        if kind == "consumer":
            attrs["backorder"] = draw(st.booleans())
            attrs["patience"] = draw(st.sampled_from([-1, 0, 2]))
            continue
        attrs["allocation"] = draw(st.sampled_from(["proportional", "fcfs", "equal", "need"]))
        attrs["initial_stock"] = draw(st.floats(0, 50))
        attrs["allow_returns"] = draw(st.booleans())
        if draw(st.booleans()):  # the push-vs-pull mechanisms, in random combinations
            attrs["gaming"] = draw(st.sampled_from([1.0, 2.0, 4.0]))
            attrs["min_order"] = draw(st.sampled_from([0.0, 8.0]))
            attrs["batch_size"] = draw(st.sampled_from([0.0, 5.0]))
            attrs["review_period"] = draw(st.sampled_from([1, 3]))
            attrs["forward_buy"] = draw(st.sampled_from([0.0, 2.0]))
            attrs["promotion_every"] = draw(st.sampled_from([0, 6]))
            attrs["promotion_discount"] = 0.2
            attrs["season_end"] = draw(st.sampled_from([-1, 12]))
            attrs["price"] = draw(st.sampled_from([0.0, 3.0]))
            attrs["in_transit_holding"] = draw(st.booleans())
        if kind in ("supplier", "brand"):
            attrs["capacity"] = draw(st.sampled_from([math.inf, 3.0, 25.0]))
            attrs["production_lead_time"] = draw(st.integers(0, 3))
            attrs["initial_in_production"] = draw(st.sampled_from([0.0, 2.5]))
    for u, v in G.edges:
        if G.nodes[v]["kind"] != "consumer":
            G.edges[u, v]["initial_in_transit"] = draw(st.sampled_from([0.0, 1.5]))
            G.edges[u, v]["initial_orders"] = draw(st.sampled_from([0.0, 2.0]))
            G.edges[u, v]["share"] = draw(st.sampled_from([1.0, 2.0, 0.5]))
    return G


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


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    G=networks(),
    regime=st.sampled_from(["opaque", "transparent", "vmi"]),
    delay=st.integers(0, 2),
    participation=st.sampled_from([0.0, 0.5, 1.0]),
    seed=st.integers(0, 2**31 - 1),
    shocks=st.booleans(),
)
def test_goods_are_conserved_every_period(G, regime, delay, participation, seed, shocks):
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
