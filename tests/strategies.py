"""Hypothesis strategies for random supply networks and scenarios, shared by the tests."""

from __future__ import annotations

import math

import networkx as nx
from hypothesis import strategies as st

from pullchain.network.builders import (
    beer_game,
    divergent_tree,
    layered_network,
    product_portfolio,
    serial_chain,
)
from pullchain.network.schema import validate_network

POLICIES = [
    ("order_up_to", {"window": 3}),
    ("order_up_to", {"forecast": "exponential_smoothing", "alpha": 0.5, "safety_periods": 1}),
    ("order_up_to", {"forecast": "naive", "safety_stock": 5.0}),
    ("order_up_to", {"forecast": "constant"}),
    ("order_up_to", {"forecast": "moving_average", "window": 1}),
    ("base_stock", {}),
    ("s_S", {}),
    ("r_Q", {}),
    ("sterman", {}),
    ("sterman", {"hold_periods": 3, "integer": True}),
    ("make_to_order", {}),
    ("echelon_base_stock", {}),
    # adaptive safety stock from the firm's own forecast errors (z sigma_t sqrt(L))
    ("order_up_to", {"window": 4, "safety_factor": 1.2, "error_window": 5}),
    ("order_up_to", {"forecast": "exponential_smoothing", "service_level": 0.9}),
    ("order_up_to", {"window": 3, "fill_rate": 0.95, "error_window": 4}),
    ("base_stock", {"safety_factor": 0.8}),
    ("echelon_base_stock", {"service_level": 0.95, "error_window": 3}),
    ("echelon_base_stock", {"fill_rate": 0.9}),
]
DEMANDS = [
    ("normal", {"mean": 10.0, "std": 6.0}),
    ("poisson", {"mean": 5.0}),
    ("poisson", {"mean": 30.0}),
    ("step", {"before": 4.0, "after": 12.0, "at": 5}),
    ("fad", {"base": 1.0, "peak": 15.0, "start": 3, "rise": 3, "fade": 4}),
    ("fad", {"base": 0.0, "peak": 9.0, "start": 2, "rise": 2, "fade": 3, "std": 2.0, "end": 15}),
    ("constant", {"level": 7.0}),
    ("ar1", {"mean": 8.0, "std": 3.0, "rho": 0.6}),
    ("seasonal", {"mean": 10.0, "amplitude": 4.0, "cycle": 12, "std": 1.5}),
    ("seasonal", {"mean": 6.0, "amplitude": 2.0, "cycle": 8}),
    ("replay", {"series": [3.0, 0.0, 9.5, 4.0], "after": "repeat"}),
]


@st.composite
def user_graphs(draw, demand: tuple[str, dict]) -> nx.DiGraph:
    """A graph of one's own: suppliers, brands, distributors, retailers and consumers,
    each firm with at least one customer, edges drawn at random (goods flow downwards)."""
    n_s, n_b, n_d = draw(st.integers(1, 2)), draw(st.integers(0, 2)), draw(st.integers(0, 2))
    n_r, n_c = draw(st.integers(1, 3)), draw(st.integers(1, 5))
    G = nx.DiGraph(name="user graph")
    layers = {"supplier": [], "brand": [], "distributor": [], "retailer": [], "consumer": []}
    ids = iter(range(1000))
    for kind, n in zip(layers, (n_s, n_b, n_d, n_r, n_c), strict=True):
        for _ in range(n):
            node = f"{kind[0]}{next(ids)}"
            layers[kind].append(node)
            if kind == "consumer":
                G.add_node(node, kind=kind, demand=demand[0], demand_params=dict(demand[1]))
            else:
                G.add_node(node, kind=kind)
    lead = {"lead_time": draw(st.integers(0, 2)), "order_delay": draw(st.integers(0, 1))}
    # Who may sell to whom: brands from suppliers; distributors from suppliers, brands and
    # earlier distributors; retailers from any firm but retailers; consumers from retailers.
    sellers = {
        "brand": lambda i: layers["supplier"],
        "distributor": lambda i: layers["supplier"] + layers["brand"] + layers["distributor"][:i],
        "retailer": lambda i: layers["supplier"] + layers["brand"] + layers["distributor"],
        "consumer": lambda i: layers["retailer"],
    }
    for kind in ("brand", "distributor", "retailer", "consumer"):
        for i, node in enumerate(layers[kind]):
            pool = sellers[kind](i)
            picks = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=2, unique=True))
            for seller in picks:
                G.add_edge(seller, node, **({} if kind == "consumer" else lead))
    # Every firm sells to someone: an idle firm supplies a node that may buy from it.
    buyers = {
        "supplier": lambda i: layers["brand"] + layers["distributor"] + layers["retailer"],
        "brand": lambda i: layers["distributor"] + layers["retailer"],
        "distributor": lambda i: layers["distributor"][i + 1 :] + layers["retailer"],
        "retailer": lambda i: layers["consumer"],
    }
    for kind, pool in buyers.items():
        for i, node in enumerate(layers[kind]):
            if not G.out_degree(node):
                target = draw(st.sampled_from(pool(i)))
                G.add_edge(node, target, **({} if kind == "retailer" else lead))
    return G


@st.composite
def networks(draw) -> nx.DiGraph:
    """A random validated network: builders or a user graph, policies, demand, allocation
    rules, costs and money, and the push-vs-pull mechanisms in random combinations."""
    shape = draw(st.sampled_from(["serial", "beer", "tree", "layered", "portfolio", "user"]))
    lead = draw(st.integers(0, 3))
    delay = draw(st.integers(0, 2))
    policy, params = draw(st.sampled_from(POLICIES))
    demand = draw(st.sampled_from(DEMANDS))
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
    elif shape == "beer":
        G = beer_game(**{k: v for k, v in common.items() if k != "lead_time"})
    elif shape == "tree":
        G = divergent_tree(
            depth=draw(st.integers(2, 3)), branching=draw(st.integers(1, 3)), **common
        )
    elif shape == "portfolio":
        G = product_portfolio(
            draw(st.integers(1, 2)), stagger=draw(st.integers(0, 6)), n_retailers=2,
            n_consumers=draw(st.integers(2, 5)), season=draw(st.integers(2, 8)),
            salvage_value=1.0, std=draw(st.sampled_from([0.0, 1.0])), policy=policy,
            policy_params=params, seed=draw(st.integers(0, 100)),
        )  # fmt: skip
    elif shape == "user":
        G = validate_network(draw(user_graphs(demand)))
        for node, kind in G.nodes(data="kind"):
            if kind != "consumer":
                G.nodes[node]["policy"] = policy
                G.nodes[node]["policy_params"] = dict(params)
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
        attrs["holding_cost"] = draw(st.sampled_from([0.5, 0.0, 1.25]))
        attrs["in_transit_holding"] = draw(st.booleans())
        if draw(st.booleans()):  # the push-vs-pull mechanisms, in random combinations
            attrs["gaming"] = draw(st.sampled_from([1.0, 2.0, 4.0]))
            attrs["min_order"] = draw(st.sampled_from([0.0, 8.0]))
            attrs["batch_size"] = draw(st.sampled_from([0.0, 5.0]))
            attrs["review_period"] = draw(st.sampled_from([1, 3]))
            attrs["forward_buy"] = draw(st.sampled_from([0.0, 2.0]))
            attrs["promotion_every"] = draw(st.sampled_from([0, 6]))
            attrs["promotion_discount"] = 0.2
            attrs["season_end"] = draw(st.sampled_from([-1, 12]))
            attrs["salvage_value"] = draw(st.sampled_from([0.0, 0.5]))
            attrs["price"] = draw(st.sampled_from([0.0, 3.0]))
            attrs["order_cost"] = draw(st.sampled_from([0.0, 10.0]))
            attrs["cost_of_capital"] = draw(st.sampled_from([0.0, 0.01]))
        if kind == "retailer":
            attrs["lost_sale_cost"] = draw(st.sampled_from([1.0, 0.0]))
        if kind in ("supplier", "brand"):
            attrs["capacity"] = draw(st.sampled_from([math.inf, 3.0, 25.0]))
            attrs["production_lead_time"] = draw(st.integers(0, 3))
            attrs["initial_in_production"] = draw(st.sampled_from([0.0, 2.5]))
            attrs["unit_cost"] = draw(st.sampled_from([0.0, 1.0]))
    for u, v in G.edges:
        if G.nodes[v]["kind"] != "consumer":
            G.edges[u, v]["initial_in_transit"] = draw(st.sampled_from([0.0, 1.5]))
            G.edges[u, v]["initial_orders"] = draw(st.sampled_from([0.0, 2.0]))
            G.edges[u, v]["share"] = draw(st.sampled_from([1.0, 2.0, 0.5]))
    return G


@st.composite
def shocks(draw, G: nx.DiGraph) -> list[dict]:
    """Disruptions on a network: scheduled and random outages, lead-time spikes."""
    firms = [n for n, k in G.nodes(data="kind") if k != "consumer"]
    edges = [[u, v] for u, v in G.edges if G.nodes[v]["kind"] != "consumer"]
    out = []
    if draw(st.booleans()):
        start, duration = draw(st.integers(0, 8)), draw(st.integers(1, 5))
        node = draw(st.sampled_from(firms))
        out.append({"kind": "outage", "node": node, "start": start, "duration": duration})
    if draw(st.booleans()):
        kind = draw(st.sampled_from(sorted({G.nodes[f]["kind"] for f in firms})))
        start, duration = draw(st.integers(0, 5)), draw(st.integers(1, 3))
        out.append(
            {"kind": "outage", "targets": kind, "rate": 0.1, "duration": duration, "start": start}
        )
    if edges and draw(st.booleans()):
        edge, duration = draw(st.sampled_from(edges)), draw(st.integers(1, 4))
        extra = draw(st.integers(1, 3))
        out.append(
            {"kind": "lead_time", "edge": edge, "start": 2, "duration": duration, "extra": extra}
        )
    if edges and draw(st.booleans()):
        extra = draw(st.integers(1, 2))
        out.append(
            {"kind": "lead_time", "targets": edges[:2], "rate": 0.15, "duration": 2, "extra": extra}
        )
    return out
