"""The fixed parts of a run, built from a validated network: one home for both engines.

The agent model (``SupplyChainModel``) and the batch engine (``pullchain.runs.batch``)
build their lanes, demand processes, ordering policies and lead times here, so that a
default, a check or a formula cannot differ between them.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import networkx as nx
import numpy as np

from pullchain.agents.allocation import ALLOCATIONS
from pullchain.agents.demand import DEMANDS, DemandProcess
from pullchain.agents.ordering import OrderShaping
from pullchain.agents.policies import POLICIES
from pullchain.network.lanes import Lane
from pullchain.network.schema import NODE_PARAMS
from pullchain.network.topology import Topology

Lanes = dict[tuple[Hashable, Hashable], Lane]


def build_lanes(network: nx.DiGraph, topology: Topology) -> Lanes:
    """A lane per edge, with its terms of trade and a steady-state pipeline."""
    lanes = {}
    for u, v, data in network.edges(data=True):
        lane = Lane(u, v, data["lead_time"], data["order_delay"], topology.shares[u, v])
        seller = network.nodes[u]
        lane.price = seller["price"]
        lane.promotion = (
            seller["promotion_every"],
            seller["promotion_length"],
            seller["promotion_discount"],
        )
        # A chain in steady state: goods in every shipping slot, orders in every mail slot
        # (none at all when they start empty, however long the lead time).
        if data["initial_in_transit"]:
            lane.shipments = dict.fromkeys(range(lane.lead_time), data["initial_in_transit"])
        if data["initial_orders"]:
            orders = data["initial_orders"] * lane.share
            lane.orders = dict.fromkeys(range(lane.order_delay), orders)
        lanes[u, v] = lane
    return lanes


def in_lanes(lanes: Lanes, topology: Topology, node: Hashable) -> list[Lane]:
    """The lanes from the node's suppliers, in graph order."""
    return [lanes[u, node] for u in topology.suppliers(node)]


def out_lanes(lanes: Lanes, topology: Topology, node: Hashable) -> list[Lane]:
    """The lanes to the node's customers, in graph order."""
    return [lanes[node, v] for v in topology.customers(node)]


def demand_process(network: nx.DiGraph, node: Hashable) -> DemandProcess:
    """A consumer's demand process, not yet bound to its stream."""
    attrs = network.nodes[node]
    return DEMANDS.create(
        attrs["demand"], attrs["demand_params"], field=f"node {node!r}.demand_params"
    )


def expected_demand(topology: Topology, means: Sequence[float], node: Hashable) -> float:
    """The echelon mean of the consumers' period-0 demand flowing through ``node``."""
    idx, w = topology.echelon_weights(node)
    return float(np.dot([means[i] for i in idx], w)) if len(idx) else 0.0


def lead_time(kind: str, attrs: dict[str, Any], lanes_in: Sequence[Lane]) -> float:
    """L: periods an order must cover (see Lane.effective_lead_time), plus the periods
    until the next chance to order when the firm orders only every R periods."""
    between = attrs["review_period"] - 1
    if kind == "supplier":
        return 1 + attrs["production_lead_time"] + between
    lead = sum(lane.share * lane.effective_lead_time for lane in lanes_in)
    return lead + attrs.get("production_lead_time", 0) + between


def firm_rules(
    network: nx.DiGraph, topology: Topology, lanes: Lanes, node: Hashable, means: Sequence[float]
) -> tuple[Any, Any, float]:
    """A firm's ordering policy (primed with its expected demand and lead time), its
    allocation rule and its lead time L, from its node attributes."""
    attrs = network.nodes[node]
    field = f"node {node!r}"
    policy = POLICIES.create(attrs["policy"], attrs["policy_params"], field=f"{field}.policy")
    lead = lead_time(attrs["kind"], attrs, in_lanes(lanes, topology, node))
    policy.reset(expected_demand(topology, means, node), lead)
    allocation = ALLOCATIONS.create(
        attrs["allocation"], attrs["allocation_params"], f"{field}.allocation"
    )
    return policy, allocation, lead


def firm_settings(
    network: nx.DiGraph, topology: Topology, lanes: Lanes, node: Hashable, means: Sequence[float]
) -> dict[str, Any]:
    """What the batch engine needs of a firm of a built-in class: every attribute its
    kind declares (``NODE_PARAMS``), its rules and lead time, its order shaping and,
    for a retailer, each customer's backorder and patience."""
    attrs = network.nodes[node]
    kind = attrs["kind"]
    policy, allocation, lead = firm_rules(network, topology, lanes, node, means)
    settings: dict[str, Any] = {name: attrs.get(name) for name in NODE_PARAMS[kind]}
    settings.update(policy=policy, allocation=allocation, lead_time=lead)
    settings["shaping"] = OrderShaping.from_config(settings)
    if kind == "retailer":
        customers = [network.nodes[c] for c in topology.customers(node)]
        settings["backorder"] = [c["backorder"] for c in customers]
        settings["patience"] = [c["patience"] for c in customers]
    return settings


def echelon_lead_times(topology: Topology, lead_times: dict[Hashable, float]) -> dict:
    """Each firm's L plus the longest L below it: the cover of an echelon policy."""
    echelon: dict[Hashable, float] = {}
    for firm in topology.firms:  # customers first
        below = [echelon[c] for c in topology.customers(firm) if c in echelon]
        echelon[firm] = lead_times[firm] + max(below, default=0.0)
    return echelon
