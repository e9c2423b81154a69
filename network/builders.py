"""Ready-made supply networks, in the style of NetworkX's graph generators.

Each builder is a plain function with defaults that returns a validated
``nx.DiGraph`` (edges point the way goods flow), with int node ids, a ``label`` on
every node and ``G.graph["name"]`` set. Builders that draw anything at random take a
``seed`` and return the same graph, in the same node and edge order, for the same seed.

Where a builder estimates a steady-state starting stock it assumes the default
consumer demand, ``DEFAULT_DEMAND_MEAN`` units per consumer per period (normal,
standard deviation ``DEFAULT_DEMAND_STD``), unless ``demand_params`` gives a
``"mean"`` (or, for step demand, a ``"before"``) value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import networkx as nx
import numpy as np

from . import limits
from .errors import ConfigError, check_number
from .schema import validate_network

DEFAULT_DEMAND_MEAN = 10.0
"""Mean units one consumer asks for per period under the default demand."""
DEFAULT_DEMAND_STD = 3.0
"""Standard deviation of one consumer's demand per period under the default demand."""

STERMAN_PARAMS: dict[str, float] = {
    "theta": 0.36,
    "alpha_s": 0.26,
    "beta": 0.34,
    "desired_stock": 17.0,
}
"""Sterman (1989) average estimates of the anchoring-and-adjustment ordering rule."""

BEER_GAME_DEMAND: dict[str, float] = {"before": 4.0, "after": 8.0, "at": 4}
"""Classic beer game demand: 4 cases a week, 8 from period 4 (week 5) on."""

LAYERS: tuple[str, ...] = ("supplier-brand", "brand-retailer")
"""Names of the firm->firm layers of ``layered_network`` (keys of per-layer dicts)."""

Seed = int | np.random.Generator | None


def _count(name: str, value: Any, minimum: int) -> int:
    """A whole-number size parameter, checked with the parameter's name."""
    return int(check_number(name, value, minimum=minimum, integer=True))


def _periods(name: str, value: Any) -> int:
    """A delay in periods: a whole number >= 0 within pullchain's limit."""
    periods = _count(name, value, 0)
    limits.check_delay(name, periods)
    return periods


def _per_edge(name: str, value: int | Sequence[int], n: int) -> list[int]:
    """One delay per level: an int for all, or a sequence of exactly ``n``."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != n:
            raise ConfigError(name, value, f"an integer >= 0 or a sequence of {n} of them")
        return [_periods(f"{name}[{i}]", v) for i, v in enumerate(value)]
    return [_periods(name, value)] * n


def _per_layer(name: str, value: int | Mapping[str, int], default: int) -> dict[str, int]:
    """One delay per layer: an int for all, or a dict by layer name (others: ``default``)."""
    if isinstance(value, Mapping):
        for key in value:
            if key not in LAYERS:
                raise ConfigError(f"{name}[{key!r}]", value[key], f"a layer among {LAYERS}")
        return {k: _periods(f"{name}[{k!r}]", value.get(k, default)) for k in LAYERS}
    return dict.fromkeys(LAYERS, _periods(name, value))


def _params(name: str, value: Mapping[str, Any] | None) -> dict[str, Any]:
    """A builder's params argument as its own dict; anything but a table is an error."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(name, value, "a table of parameters")
    return dict(value)


def _firm(kind: str, label: str, policy: str, policy_params: Mapping | None, **attrs: Any) -> dict:
    """Node attributes of one firm (own copy of the params)."""
    return {
        "kind": kind,
        "label": label,
        "policy": policy,
        "policy_params": _params("policy_params", policy_params),
        **attrs,
    }


def _consumer(label: str, demand: str, demand_params: Mapping | None, **attrs: Any) -> dict:
    """Node attributes of one consumer (own copy of the params)."""
    return {
        "kind": "consumer",
        "label": label,
        "demand": demand,
        "demand_params": _params("demand_params", demand_params),
        **attrs,
    }


def _mean_demand(demand: str, demand_params: Mapping | None) -> float:
    """Expected units per consumer per period at the start, for steady-state stock."""
    params = _params("demand_params", demand_params)
    if "mean" in params:
        return float(check_number("demand_params['mean']", params["mean"], minimum=0.0))
    for key, process in (("before", "step"), ("level", "constant"), ("base", "fad")):
        if demand == process and key in params:
            return float(check_number(f"demand_params['{key}']", params[key], minimum=0.0))
    if demand == "replay" and params.get("series"):
        return float(check_number("demand_params['series'][0]", params["series"][0], minimum=0))
    return DEFAULT_DEMAND_MEAN


def steady_state_stock(G: nx.DiGraph, mean_demand: float) -> dict[Any, float]:
    """Starting stock per firm that covers its expected flow over its lead time.

    Each firm's expected flow is its share of consumer demand (split among suppliers
    by ``share``); its stock is that flow times (replenishment lead time + 1). The
    replenishment lead time is the share-weighted ``lead_time + order_delay`` of its
    incoming edges, or ``production_lead_time + 1`` for a source (the model gives
    sources a one-period request delay). Edge attributes must be set explicitly.

    Args:
        G: a network whose edges carry ``lead_time`` (and optionally ``order_delay``,
            ``share``) and whose source nodes may carry ``production_lead_time``.
        mean_demand: expected units per consumer per period.

    Returns:
        ``{firm: stock}``, rounded to 2 decimals.
    """
    flow: dict[Any, float] = {}
    stock: dict[Any, float] = {}
    for n in reversed(list(nx.topological_sort(G))):
        if G.nodes[n]["kind"] == "consumer":
            flow[n] = mean_demand
            continue
        flow[n] = sum(flow[c] * _weight(G, n, c) for c in G.successors(n))
        preds = list(G.predecessors(n))
        if preds:
            lead = sum(_weight(G, p, n) * _delay(G.edges[p, n]) for p in preds)
        else:
            lead = G.nodes[n].get("production_lead_time", 0) + 1
        stock[n] = round(flow[n] * (lead + 1), 2)
    return {n: stock[n] for n in G if n in stock}


def _delay(edge: Mapping[str, Any]) -> int:
    """Periods from placing an order on an edge to receiving the goods."""
    return edge["lead_time"] + edge.get("order_delay", 0)


def _weight(G: nx.DiGraph, u: Any, v: Any) -> float:
    """Fraction of ``v``'s orders that go to supplier ``u``."""
    total = sum(G.edges[p, v].get("share", 1.0) for p in G.predecessors(v))
    return G.edges[u, v].get("share", 1.0) / total


def serial_chain(
    n_stages: int = 4,
    *,
    lead_time: int | Sequence[int] = 2,
    order_delay: int | Sequence[int] = 0,
    initial_stock: float = 12.0,
    initial_in_transit: float = 0.0,
    initial_orders: float = 0.0,
    production_lead_time: int = 0,
    initial_in_production: float = 0.0,
    holding_cost: float = 0.5,
    backlog_cost: float = 1.0,
    policy: str = "order_up_to",
    policy_params: Mapping[str, Any] | None = None,
    demand: str = "normal",
    demand_params: Mapping[str, Any] | None = None,
    backorder: bool = True,
) -> nx.DiGraph:
    """A single line of firms: source -> stage n-1 -> ... -> retailer -> consumers.

    The simplest chain in which the bullwhip effect shows. Node 0 is the consumer,
    node 1 the retailer, nodes 2..n-1 distributors ("stage k") and node n the
    supplier ("source").

    Args:
        n_stages: number of firms, >= 2 (a retailer and a source at least).
        lead_time: shipping delay, for all firm->firm edges or one per edge from
            the retailer upwards (index 0 = the edge into the retailer).
        order_delay: order (mail) delay, an int or a sequence like ``lead_time``.
        initial_stock: units on every firm's shelf at the start.
        initial_in_transit: units in each shipping slot of every firm->firm edge.
        initial_orders: units in each order-delay slot of every firm->firm edge.
        production_lead_time: periods the source's production takes.
        initial_in_production: units in each of the source's production slots.
        holding_cost: per unit on the shelf per period, every firm.
        backlog_cost: per unit owed per period, every firm.
        policy: ordering policy name of every firm.
        policy_params: its parameters (copied to each firm).
        demand: the consumer's demand process.
        demand_params: its parameters.
        backorder: whether unmet consumer demand waits (True) or is lost.

    Returns:
        The validated network, ids 0..n_stages.
    """
    n = _count("n_stages", n_stages, 2)
    limits.check_agents("n_stages", n, n + 1)
    leads = _per_edge("lead_time", lead_time, n - 1)
    delays = _per_edge("order_delay", order_delay, n - 1)
    G = nx.DiGraph(name=f"serial chain ({n} stages)")
    G.add_node(0, **_consumer("consumers", demand, demand_params, backorder=backorder))
    costs = {"holding_cost": holding_cost, "backlog_cost": backlog_cost}
    for k in range(1, n + 1):
        kind = "retailer" if k == 1 else "supplier" if k == n else "distributor"
        label = "retailer" if k == 1 else "source" if k == n else f"stage {k}"
        attrs: dict[str, Any] = {"initial_stock": initial_stock, **costs}
        if kind == "supplier":
            attrs |= {
                "production_lead_time": production_lead_time,
                "initial_in_production": initial_in_production,
            }
        G.add_node(k, **_firm(kind, label, policy, policy_params, **attrs))
    G.add_edge(1, 0, lead_time=0, order_delay=0)
    for k in range(1, n):
        G.add_edge(
            k + 1,
            k,
            lead_time=leads[k - 1],
            order_delay=delays[k - 1],
            initial_in_transit=initial_in_transit,
            initial_orders=initial_orders,
        )
    return validate_network(G)


def beer_game(
    *,
    order_delay: int = 2,
    lead_time: int = 2,
    production_lead_time: int = 2,
    policy: str = "sterman",
    policy_params: Mapping[str, Any] | None = None,
    demand: str = "step",
    demand_params: Mapping[str, Any] | None = None,
) -> nx.DiGraph:
    """The MIT beer distribution game as in Sterman (1989).

    Retailer <- wholesaler <- distributor <- factory, each starting with 12 cases, 4
    cases in every shipping and order slot, holding cost 0.5 and backlog cost 1.0
    per case per week. The factory's brewing takes ``production_lead_time`` weeks
    after the model's fixed one-week production request delay, with 4 cases in each
    production slot. Consumer demand steps from 4 to 8 cases in period 4 (week 5).

    Args:
        order_delay: weeks an order takes to reach the supplier (2 mail slots).
        lead_time: weeks of shipping between firms.
        production_lead_time: weeks of brewing at the factory.
        policy: ordering policy of all four firms (default Sterman's heuristic).
        policy_params: its parameters (default ``STERMAN_PARAMS``).
        demand: consumer demand process (default step demand).
        demand_params: its parameters (default ``BEER_GAME_DEMAND``).

    Returns:
        The validated network: 0 consumers, 1 retailer, 2 wholesaler,
        3 distributor, 4 factory.
    """
    G = serial_chain(
        4,
        lead_time=lead_time,
        order_delay=order_delay,
        initial_stock=12.0,
        initial_in_transit=4.0,
        initial_orders=4.0,
        production_lead_time=production_lead_time,
        initial_in_production=4.0,
        holding_cost=0.5,
        backlog_cost=1.0,
        policy=policy,
        # Sterman's parameters belong to his rule, the step to step demand: another
        # policy or demand starts from its own defaults.
        policy_params=(STERMAN_PARAMS if policy == "sterman" else {})
        if policy_params is None
        else policy_params,
        demand=demand,
        demand_params=(BEER_GAME_DEMAND if demand == "step" else {})
        if demand_params is None
        else demand_params,
    )
    for node, label in enumerate(("consumers", "retailer", "wholesaler", "distributor", "factory")):
        G.nodes[node]["label"] = label
    G.graph["name"] = "beer game"
    return G


def divergent_tree(
    depth: int = 3,
    branching: int = 2,
    *,
    consumers_per_retailer: int = 1,
    lead_time: int | Sequence[int] = 2,
    order_delay: int | Sequence[int] = 0,
    initial_stock: float | None = 20.0,
    demand: str = "normal",
    demand_params: Mapping[str, Any] | None = None,
    policy: str = "order_up_to",
    policy_params: Mapping[str, Any] | None = None,
) -> nx.DiGraph:
    """A distribution tree: one source feeding ``branching`` firms each, down to retailers.

    Firms are numbered breadth-first from the source (node 0); consumers follow.

    Args:
        depth: number of firm levels, >= 2: the source, ``depth - 2`` levels of
            distributors, then retailers.
        branching: customers of each firm above the retailers, >= 1.
        consumers_per_retailer: consumers of each retailer, >= 1.
        lead_time: shipping delay, an int or one per level from the retailers up
            (index 0 = the edges into the retailers).
        order_delay: order delay, an int or a sequence like ``lead_time``.
        initial_stock: units on every firm's shelf at the start; None estimates a
            steady-state stock per firm (see ``steady_state_stock``).
        demand: the consumers' demand process.
        demand_params: its parameters.
        policy: ordering policy name of every firm.
        policy_params: its parameters.

    Returns:
        The validated network.
    """
    depth = _count("depth", depth, 2)
    branching = _count("branching", branching, 1)
    per_retailer = _count("consumers_per_retailer", consumers_per_retailer, 1)
    limits.check_agents("depth", depth, depth)
    retailers = branching ** (depth - 1)  # counted before anything is built
    firms = depth if branching == 1 else (branching * retailers - 1) // (branching - 1)
    limits.check_agents("branching", branching, firms + retailers * per_retailer)
    leads = _per_edge("lead_time", lead_time, depth - 1)
    delays = _per_edge("order_delay", order_delay, depth - 1)
    G = nx.DiGraph(name=f"divergent tree (depth {depth}, branching {branching})")
    G.add_node(0, **_firm("supplier", "source", policy, policy_params))
    level, next_id = [0], 1
    for lvl in range(2, depth + 1):
        kind = "retailer" if lvl == depth else "distributor"
        edge = {"lead_time": leads[depth - lvl], "order_delay": delays[depth - lvl]}
        children = []
        for parent in level:
            for _ in range(branching):
                number = len(children) + 1
                label = f"{kind} {number}" if kind == "retailer" else f"{kind} {lvl - 1}.{number}"
                G.add_node(next_id, **_firm(kind, label, policy, policy_params))
                G.add_edge(parent, next_id, **edge)
                children.append(next_id)
                next_id += 1
        level = children
    number = 0
    for retailer in level:
        for _ in range(per_retailer):
            number += 1
            G.add_node(next_id, **_consumer(f"consumer {number}", demand, demand_params))
            G.add_edge(retailer, next_id)
            next_id += 1
    _set_initial_stock(G, initial_stock, demand, demand_params)
    return validate_network(G)


def _set_initial_stock(
    G: nx.DiGraph, initial_stock: float | None, demand: str, demand_params: Mapping | None
) -> None:
    """Give every firm the same stock, or its steady-state estimate when None."""
    if initial_stock is None:
        stock = steady_state_stock(G, _mean_demand(demand, demand_params))
    else:
        value = check_number("initial_stock", initial_stock, minimum=0.0)
        stock = {n: float(value) for n, k in G.nodes(data="kind") if k != "consumer"}
    for n, value in stock.items():
        G.nodes[n]["initial_stock"] = value


def _assign_sources(
    buyers: list[int], sellers: list[int], k: int, rng: np.random.Generator, field: str
) -> dict[int, list[int]]:
    """``k`` distinct sellers per buyer, such that every seller has a buyer.

    Sellers are dealt round-robin (in a random order) until each has one buyer and
    each buyer one seller; the remaining picks are drawn at random.
    """
    n_b, n_s = len(buyers), len(sellers)
    if n_b * k < n_s:
        raise ConfigError(
            field,
            n_b,
            f"at least {math.ceil(n_s / k)} so that each of the {n_s} sellers has a customer "
            f"(each buys from {k})",
        )
    order = [sellers[i] for i in rng.permutation(n_s)]
    picks: dict[int, list[int]] = {b: [] for b in buyers}
    for j, seller in enumerate(order):
        picks[buyers[j % n_b]].append(seller)
    for i, buyer in enumerate(buyers):
        if not picks[buyer]:
            picks[buyer].append(order[i % n_s])
        rest = [s for s in sellers if s not in picks[buyer]]
        need = k - len(picks[buyer])
        if need > 0:
            picks[buyer] += [rest[j] for j in rng.choice(len(rest), size=need, replace=False)]
        picks[buyer].sort()
    return picks


def layered_network(
    n_suppliers: int = 2,
    n_brands: int = 3,
    n_retailers: int = 6,
    n_consumers: int = 30,
    *,
    sources_per_buyer: int = 2,
    lead_time: int | Mapping[str, int] = 2,
    order_delay: int | Mapping[str, int] = 0,
    production_lead_time: int = 1,
    initial_stock: float | None = None,
    demand: str = "normal",
    demand_params: Mapping[str, Any] | None = None,
    policy: str = "order_up_to",
    policy_params: Mapping[str, Any] | None = None,
    seed: Seed = None,
) -> nx.DiGraph:
    """Layers supplier -> brand -> retailer -> consumer, each buyer with several sources.

    Each brand buys from ``min(sources_per_buyer, n_suppliers)`` distinct suppliers,
    each retailer from that many brands and each consumer from that many retailers;
    who buys from whom is random, but every supplier, brand and retailer gets at
    least one customer. Node ids: suppliers first, then brands, retailers, consumers.

    Args:
        n_suppliers: source firms, >= 1.
        n_brands: brands, >= 1.
        n_retailers: retailers, >= 1.
        n_consumers: consumers, >= 1.
        sources_per_buyer: suppliers per buyer, >= 1 (capped by the layer's size).
        lead_time: shipping delay, an int for all layers or a dict by layer name
            (``"supplier-brand"``, ``"brand-retailer"``; a missing layer gets 2).
        order_delay: order delay, an int or a dict like ``lead_time`` (missing: 0).
        production_lead_time: periods of production at the suppliers.
        initial_stock: units on every firm's shelf at the start; None (default)
            estimates a steady-state stock per firm (see ``steady_state_stock``),
            e.g. 150 for a retailer of the default network.
        demand: the consumers' demand process.
        demand_params: its parameters.
        policy: ordering policy name of every firm.
        policy_params: its parameters.
        seed: int, ``np.random.Generator`` or None, for who buys from whom.

    Returns:
        The validated network.
    """
    sizes = [
        _count("n_suppliers", n_suppliers, 1),
        _count("n_brands", n_brands, 1),
        _count("n_retailers", n_retailers, 1),
        _count("n_consumers", n_consumers, 1),
    ]
    per_buyer = _count("sources_per_buyer", sources_per_buyer, 1)
    names = ("n_suppliers", "n_brands", "n_retailers", "n_consumers")
    largest = max(range(4), key=sizes.__getitem__)
    limits.check_agents(names[largest], sizes[largest], sum(sizes))
    leads = _per_layer("lead_time", lead_time, 2)
    delays = _per_layer("order_delay", order_delay, 0)
    rng = np.random.default_rng(seed)
    G = nx.DiGraph(name="layered network ({}/{}/{}/{})".format(*sizes))
    kinds = ("supplier", "brand", "retailer", "consumer")
    layers: list[list[int]] = []
    for kind, size in zip(kinds, sizes, strict=True):
        start = G.number_of_nodes()
        layers.append(list(range(start, start + size)))
        for i, node in enumerate(layers[-1], 1):
            if kind == "consumer":
                G.add_node(node, **_consumer(f"consumer {i}", demand, demand_params))
            else:
                G.add_node(node, **_firm(kind, f"{kind} {i}", policy, policy_params))
    for node in layers[0]:
        G.nodes[node]["production_lead_time"] = _periods(
            "production_lead_time", production_lead_time
        )
    fields = ("n_brands", "n_retailers", "n_consumers")
    edge_attrs = [{"lead_time": leads[k], "order_delay": delays[k]} for k in LAYERS] + [{}]
    for up, down, field, attrs in zip(layers[:-1], layers[1:], fields, edge_attrs, strict=True):
        picks = _assign_sources(down, up, min(per_buyer, len(up)), rng, field)
        for buyer in down:
            for seller in picks[buyer]:
                G.add_edge(seller, buyer, **attrs)
    _set_initial_stock(G, initial_stock, demand, demand_params)
    return validate_network(G)


def default_network(seed: Seed = 0) -> nx.DiGraph:
    """The small network a model uses when given none: ``layered_network`` defaults.

    2 suppliers, 3 brands, 6 retailers and 30 consumers, each buyer with 2 sources,
    lead time 2, production lead time 1, steady-state starting stock.
    """
    G = layered_network(seed=seed)
    G.graph["name"] = "default network"
    return G


def product_portfolio(
    n_products: int = 3,
    stagger: int = 20,
    *,
    base: float = 1.0,
    peak: float = 12.0,
    start: int = 10,
    rise: int = 5,
    fade: float = 6.0,
    std: float = 0.0,
    season: int = 20,
    salvage_value: float = 0.0,
    n_brands: int = 1,
    n_retailers: int = 3,
    n_consumers: int = 12,
    lead_time: int | Mapping[str, int] = 2,
    production_lead_time: int = 2,
    policy: str = "order_up_to",
    policy_params: Mapping[str, Any] | None = None,
    seed: Seed = None,
) -> nx.DiGraph:
    """Several fad products with staggered life cycles, each on a chain of its own.

    Product k (from 1) is a layered chain of one supplier, ``n_brands`` brands,
    ``n_retailers`` retailers and ``n_consumers`` consumers whose demand is a fad:
    ``base`` until ``start + (k - 1) * stagger``, rising to ``peak`` over ``rise``
    periods, then fading back (time constant ``fade``), with normal noise of sd ``std``
    around that path. The product's season ends ``season`` periods after its peak:
    consumers stop buying it, its firms stop ordering it and write off the stock
    left (and any still arriving) at ``salvage_value`` per unit. Labels start with
    ``product k``; each node carries a ``product`` attribute.

    Returns:
        The validated network: the products' chains side by side, not connected.
    """
    n = _count("n_products", n_products, 1)
    per_product = 1 + sum(
        _count(name, value, 1)
        for name, value in (("n_brands", n_brands), ("n_retailers", n_retailers),
                            ("n_consumers", n_consumers))
    )  # fmt: skip
    limits.check_agents("n_products", n, n * per_product)
    stagger = _count("stagger", stagger, 0)
    start = _count("start", start, 0)
    rise = _count("rise", rise, 0)
    season = _count("season", season, 0)
    rng = np.random.default_rng(seed)
    chains = []
    for k in range(1, n + 1):
        begins = start + (k - 1) * stagger
        ends = begins + rise + season
        fad = {"base": base, "peak": peak, "start": begins, "rise": rise, "fade": fade}
        fad |= {"std": std, "end": ends}
        G = layered_network(
            1, n_brands, n_retailers, n_consumers,
            sources_per_buyer=1, lead_time=lead_time, production_lead_time=production_lead_time,
            demand="fad", demand_params=fad, policy=policy, policy_params=policy_params,
            seed=rng,
        )  # fmt: skip
        for _, attrs in G.nodes(data=True):
            attrs["label"] = f"product {k} {attrs['label']}"
            attrs["product"] = k
            if attrs["kind"] != "consumer":
                attrs["season_end"] = ends
                attrs["salvage_value"] = salvage_value
        chains.append(G)
    G = nx.disjoint_union_all(chains)
    G.graph["name"] = f"product portfolio ({n} fads, {stagger} periods apart)"
    return validate_network(G)
