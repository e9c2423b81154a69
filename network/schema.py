"""What a supply network looks like, and the check that turns a user's graph into one.

A supply network is an ``nx.DiGraph`` whose edges point the way goods flow:
supplier -> (brand | distributor) -> ... -> retailer -> consumer. Each node has a
``kind``; every other attribute has a default listed here, so the documentation,
the builders and the validator read the same numbers.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np

from . import limits
from .errors import ConfigError, check_number

KINDS: tuple[str, ...] = ("supplier", "brand", "distributor", "retailer", "consumer")
FIRM_KINDS: tuple[str, ...] = KINDS[:-1]

_FIRM_DEFAULTS: dict[str, Any] = {
    "initial_stock": 0.0,
    "holding_cost": 0.5,
    "backlog_cost": 1.0,
    "policy": "order_up_to",
    "policy_params": {},
    "allocation": "proportional",
    "allow_returns": False,
    # Holding cost also on the goods it shipped that are still in transit (Clark-Scarf).
    "in_transit_holding": False,
    # Money (off when 0): the price it sells at, and the cost of capital tied up in stock.
    "price": 0.0,
    "cost_of_capital": 0.0,
    # Order batching (off by default): fixed cost per order, minimum order, full trucks,
    # and ordering only every review_period periods.
    "order_cost": 0.0,
    "min_order": 0.0,
    "batch_size": 0.0,
    "review_period": 1,
    # Forward buying: periods of forecast demand bought extra while a supplier promotes.
    "forward_buy": 0.0,
    # Shortage gaming: inflate orders when rationed, up to this factor (1 = no gaming).
    "gaming": 1.0,
    # Price promotions this firm runs as a seller (every 0 = never).
    "promotion_every": 0,
    "promotion_length": 1,
    "promotion_discount": 0.0,
    # Obsolescence: from this period on, stock is marked down and written off (-1: never).
    "season_end": -1,
    "salvage_value": 0.0,
}
_PRODUCTION_DEFAULTS: dict[str, Any] = {
    "capacity": math.inf,
    "production_lead_time": 0,
    "initial_in_production": 0.0,
    "unit_cost": 0.0,
}

NODE_DEFAULTS: dict[str, dict[str, Any]] = {
    "supplier": {**_FIRM_DEFAULTS, **_PRODUCTION_DEFAULTS},
    "brand": {**_FIRM_DEFAULTS, **_PRODUCTION_DEFAULTS},
    "distributor": {**_FIRM_DEFAULTS},
    "retailer": {**_FIRM_DEFAULTS, "lost_sale_cost": 1.0},
    "consumer": {"demand": "normal", "demand_params": {}, "backorder": True, "patience": -1},
}
"""Default node attributes per kind (copied, never shared, when filled in)."""

EDGE_DEFAULTS: dict[str, Any] = {
    "order_delay": 0,
    "share": 1.0,
    "initial_in_transit": 0.0,
    "initial_orders": 0.0,
}
"""Default edge attributes. ``lead_time`` is not here: it is required on firm->firm
edges, and is 0 (the only allowed value) on retailer->consumer edges."""

CONSUMER_EDGE_DEFAULTS: dict[str, Any] = {**EDGE_DEFAULTS, "lead_time": 0}
"""Defaults on retailer->consumer edges, where nothing is shipped or mailed."""

DESCRIPTIONS: dict[str, str] = {
    "kind": "one of " + ", ".join(KINDS),
    "label": "human name shown in plots and tables (optional)",
    "initial_stock": "units on the shelf at the start",
    "holding_cost": "cost per unit on the shelf per period",
    "backlog_cost": "cost per unit owed to customers per period",
    "policy": "name of the ordering policy",
    "policy_params": "keyword parameters of the ordering policy",
    "allocation": "name of the rule sharing scarce stock among customers",
    "allow_returns": "whether orders may be negative (goods sent back)",
    "in_transit_holding": "whether the firm also pays holding_cost on goods it shipped, in transit",
    "lost_sale_cost": "cost per unit of consumer demand lost (retailers)",
    "capacity": "units whose production can start per period (inf = unlimited)",
    "production_lead_time": "periods a unit spends in production",
    "initial_in_production": "units in each production slot at the start",
    "demand": "name of the consumer demand process",
    "demand_params": "keyword parameters of the demand process",
    "backorder": "whether consumers wait for goods (False: the sale is lost)",
    "lead_time": "periods goods spend in transit on this edge",
    "order_delay": "periods an order takes to reach the supplier",
    "share": "relative weight of this supplier in the buyer's orders",
    "initial_in_transit": "units in each shipping slot at the start",
    "initial_orders": "units in each order-delay slot at the start",
    "price": "money per unit the firm sells at (0: money not tracked)",
    "cost_of_capital": "fraction of the stock's value charged per period for capital tied up",
    "order_cost": "fixed money per order placed",
    "min_order": "minimum quantity of an order (0: none)",
    "batch_size": "orders are rounded up to whole batches (full trucks) of this size (0: none)",
    "review_period": "the firm orders only every this many periods",
    "forward_buy": "periods of forecast demand bought extra while a supplier runs a promotion",
    "gaming": "largest factor by which the firm inflates orders when rationed (1: no gaming)",
    "promotion_every": "a promotion starts every this many periods (0: never)",
    "promotion_length": "periods each promotion lasts",
    "promotion_discount": "fraction taken off the price during a promotion",
    "season_end": "from this period on, stock left is written off at salvage value (-1: never)",
    "salvage_value": "money per unit recovered for stock written off",
    "unit_cost": "money per unit to make (producers)",
    "patience": "periods a waiting consumer waits before the sale is lost (-1: forever)",
}


class _Missing:
    """Stands for an attribute that is absent, so errors read 'got nothing'."""

    def __repr__(self) -> str:
        return "nothing (missing attribute)"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class _Spec:
    """Type and range of one known attribute."""

    type: str  # "float", "int", "bool", "str" or "dict"
    minimum: float | None = None
    strict: bool = False
    allow_inf: bool = False
    maximum: float | None = None


_COST = _Spec("float", 0.0)
_SPECS: dict[str, _Spec] = {
    "initial_stock": _COST,
    "holding_cost": _COST,
    "backlog_cost": _COST,
    "lost_sale_cost": _COST,
    "policy": _Spec("str"),
    "policy_params": _Spec("dict"),
    "allocation": _Spec("str"),
    "allow_returns": _Spec("bool"),
    "in_transit_holding": _Spec("bool"),
    "capacity": _Spec("float", 0.0, strict=True, allow_inf=True),
    "production_lead_time": _Spec("int", 0),
    "initial_in_production": _COST,
    "demand": _Spec("str"),
    "demand_params": _Spec("dict"),
    "backorder": _Spec("bool"),
    "lead_time": _Spec("int", 0),
    "order_delay": _Spec("int", 0),
    "share": _Spec("float", 0.0, strict=True),
    "initial_in_transit": _COST,
    "initial_orders": _COST,
    "price": _COST,
    "cost_of_capital": _COST,
    "order_cost": _COST,
    "min_order": _COST,
    "batch_size": _COST,
    "review_period": _Spec("int", 1),
    "forward_buy": _COST,
    "gaming": _Spec("float", 1.0),
    "promotion_every": _Spec("int", 0),
    "promotion_length": _Spec("int", 1),
    "promotion_discount": _Spec("float", 0.0, maximum=1.0),
    "season_end": _Spec("int", -1),
    "salvage_value": _COST,
    "unit_cost": _COST,
    "patience": _Spec("int", -1),
}


LIMITS = {
    "lead_time": limits.check_delay,
    "order_delay": limits.check_delay,
    "production_lead_time": limits.check_delay,
    "batch_size": limits.check_divisor,
}
"""Attributes checked against pullchain's limits (network/limits.py) once type and range hold."""


def node_field(node: Any, attr: str | None = None) -> str:
    """The name of a node (or one of its attributes) as errors spell it."""
    return f"node {node!r}" + (f".{attr}" if attr else "")


def edge_field(u: Any, v: Any, attr: str | None = None) -> str:
    """The name of an edge (or one of its attributes) as errors spell it."""
    return f"edge {u!r}->{v!r}" + (f".{attr}" if attr else "")


def _plain(value: Any) -> Any:
    """NumPy scalars as Python ones, so ``np.int64(2)`` is a valid lead time."""
    return value.item() if isinstance(value, np.generic) else value


def check_value(field: str, name: str, value: Any) -> Any:
    """Return a known attribute's value normalised (int/float/bool/str/dict), or raise.

    Dicts may also come as JSON strings, because GraphML can only store text.
    """
    spec = _SPECS[name]
    value = _plain(value)
    if spec.type in ("float", "int"):
        number = check_number(
            field,
            value,
            minimum=spec.minimum,
            maximum=spec.maximum,
            integer=spec.type == "int",
            allow_inf=spec.allow_inf,
            strict_minimum=spec.strict,
        )
        if name in LIMITS:
            LIMITS[name](field, number)
        return int(number) if spec.type == "int" else float(number)
    if spec.type == "bool":
        if not isinstance(value, bool):
            raise ConfigError(field, value, "True or False")
        return value
    if spec.type == "str":
        if not isinstance(value, str) or not value:
            raise ConfigError(field, value, "a non-empty name (str)")
        return value
    return _check_params(field, value)


def _check_params(field: str, value: Any) -> dict[str, Any]:
    """A params dict, copied; a JSON string holding a dict is decoded."""
    expected = "a dict of parameters (or a JSON string of one)"
    if isinstance(value, str):
        limits.check_text(field, value)
        try:
            value = json.loads(value)
        except (json.JSONDecodeError, RecursionError):
            raise ConfigError(field, value, expected) from None
    if not isinstance(value, dict):
        raise ConfigError(field, value, expected)
    limits.check_depth(field, value)
    return copy.deepcopy(value)


def _fill(field: str, data: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """Attributes with defaults filled in and known ones checked; unknown ones kept.

    A shallow copy: the params dicts, the only mutable known values, are copied by
    their check; a user's own annotations are kept as they are, never modified.
    """
    out = dict(data)
    for name, default in defaults.items():
        value = out.get(name)
        out[name] = copy.deepcopy(default) if value is None else value
    for name in out:
        if name in defaults:
            out[name] = check_value(f"{field}.{name}", name, out[name])
    if "label" in out and not isinstance(out["label"], str):
        raise ConfigError(f"{field}.label", out["label"], "text (a name to show)")
    return out


def _check_graph_type(G: Any) -> None:
    """Only a simple directed graph says unambiguously which way goods flow."""
    expected = "a networkx DiGraph whose edges point the way goods flow"
    if not isinstance(G, nx.Graph):
        raise ConfigError("network", type(G).__name__, expected)
    if G.is_multigraph():
        raise ConfigError("network", type(G).__name__, expected + " (not a multigraph)")
    if not G.is_directed():
        raise ConfigError("network", type(G).__name__, expected + " (not undirected)")
    if G.number_of_nodes() == 0:
        raise ConfigError("network", "an empty graph", "at least one supplier, retailer, consumer")
    limits.check_agents("network", f"a graph of {G.number_of_nodes()} nodes", G.number_of_nodes())


def _check_kinds(G: nx.DiGraph) -> None:
    """Every node must say what it is before anything else can be checked."""
    for n, data in G.nodes(data=True):
        kind = data.get("kind", MISSING)
        if kind is MISSING or kind is None:
            raise ConfigError(node_field(n, "kind"), MISSING, "one of " + ", ".join(KINDS))
        if not isinstance(kind, str) or kind not in KINDS:
            raise ConfigError(node_field(n, "kind"), kind, "one of " + ", ".join(KINDS))


def _check_acyclic(G: nx.DiGraph) -> None:
    """Goods cannot flow in a circle: the model orders agents by position in the chain."""
    if nx.is_directed_acyclic_graph(G):  # fast; find_cycle only to name one
        return
    cycle = nx.find_cycle(G)
    raise ConfigError("network", [u for u, _ in cycle], "no cycle in the flow of goods")


def _structure_error(G: nx.DiGraph, n: Any) -> ConfigError | None:
    """The first rule about who buys from whom that node ``n`` breaks, if any."""
    kind = G.nodes[n]["kind"]
    kind_of = G.nodes
    preds, succs = list(G.predecessors(n)), list(G.successors(n))
    field = node_field(n)
    if kind == "consumer":
        if succs:
            return ConfigError(
                edge_field(n, succs[0]), "a sale by a consumer", "nothing buys from a consumer"
            )
        if not preds:
            return ConfigError(field, "a consumer with no retailer", "at least one retailer")
        for p in preds:
            if kind_of[p]["kind"] != "retailer":
                return ConfigError(
                    edge_field(p, n),
                    f"a {kind_of[p]['kind']} selling to a consumer",
                    "consumers buy only from retailers",
                )
        return None
    if kind == "supplier" and preds:
        return ConfigError(
            edge_field(preds[0], n),
            "a purchase by a supplier",
            "suppliers are sources: they buy from no one",
        )
    if kind != "supplier" and not preds:
        return ConfigError(field, f"a {kind} with no supplier", "at least one incoming edge")
    if kind == "brand":
        for p in preds:
            if kind_of[p]["kind"] != "supplier":
                return ConfigError(
                    edge_field(p, n),
                    f"a brand buying from a {kind_of[p]['kind']}",
                    "brands buy only from suppliers",
                )
    if kind == "retailer":
        if not succs:
            return ConfigError(field, "a retailer with no consumer", "at least one consumer")
        for s in succs:
            if kind_of[s]["kind"] != "consumer":
                return ConfigError(
                    edge_field(n, s),
                    f"a retailer selling to a {kind_of[s]['kind']}",
                    "retailers sell only to consumers",
                )
    if not succs:
        return ConfigError(field, f"a {kind} with no customer", "at least one outgoing edge")
    return None


def _check_edge(G: nx.DiGraph, u: Any, v: Any) -> dict[str, Any]:
    """One edge's attributes, checked and filled in."""
    data = G.edges[u, v]
    if G.nodes[v]["kind"] == "consumer":
        out = _fill(edge_field(u, v), data, CONSUMER_EDGE_DEFAULTS)
        for name in ("lead_time", "order_delay"):
            if out[name] != 0:
                raise ConfigError(
                    edge_field(u, v, name), out[name], "0 (consumers buy off the shelf)"
                )
        return out
    if data.get("lead_time") is None:
        raise ConfigError(edge_field(u, v, "lead_time"), MISSING, "an integer >= 0")
    return _fill(edge_field(u, v), data, {**EDGE_DEFAULTS, "lead_time": data["lead_time"]})


def validate_network(G: nx.DiGraph) -> nx.DiGraph:
    """Check a supply network and return a new one with every default filled in.

    The input is never changed. Numbers come back normalised (``int`` for counts of
    periods, ``float`` for quantities and costs) and params dicts decoded from JSON
    strings, so two graphs that mean the same network compare equal.

    Args:
        G: the network; node and edge attributes as in ``NODE_DEFAULTS`` and
            ``EDGE_DEFAULTS``, plus any of the user's own, which are kept as they are.

    Returns:
        A validated copy, with the same node and edge order as ``G``.

    Raises:
        ConfigError: naming the node, edge or attribute that is wrong and why.
    """
    _check_graph_type(G)
    _check_kinds(G)
    _check_acyclic(G)
    for n in G:
        err = _structure_error(G, n)
        if err is not None:
            raise err
    H = nx.DiGraph()
    H.graph.update(copy.deepcopy(G.graph))
    for n, data in G.nodes(data=True):
        H.add_node(n, **_fill(node_field(n), data, NODE_DEFAULTS[data["kind"]]))
    for u, v in G.edges:
        H.add_edge(u, v, **_check_edge(G, u, v))
    return H


def tiers(G: nx.DiGraph) -> dict[Any, int]:
    """Each node's tier: its echelon counted from the consumer.

    Consumers are tier 0 and each firm is one more than the highest tier among its
    customers, so retailers are tier 1 and a firm is always above everyone it sells
    to. This is the order in which the model passes orders upstream.

    Args:
        G: a valid (acyclic) supply network.

    Returns:
        ``{node: tier}`` in the node order of ``G``.
    """
    tier: dict[Any, int] = {}
    for n in reversed(list(nx.topological_sort(G))):
        if G.nodes[n].get("kind") == "consumer":
            tier[n] = 0
        else:
            tier[n] = 1 + max((tier[s] for s in G.successors(n)), default=0)
    return {n: tier[n] for n in G}
