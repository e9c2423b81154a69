"""What a supply network looks like, and the check that turns a user's graph into one.

A supply network is an ``nx.DiGraph`` whose edges point the way goods flow:
supplier -> (brand | distributor) -> ... -> retailer -> consumer. Each node has a
``kind``; every other attribute is declared here once (``NODE_PARAMS``, ``EDGE_PARAMS``:
default, type, bounds, unit, meaning), so the documentation, the builders, the
validator and the app read the same declaration. An agent class of a researcher's may
declare more node attributes; the model checks those (``pullchain.agents.kinds``).
"""

from __future__ import annotations

import copy
import math
from typing import Any

import networkx as nx

from . import limits
from .errors import ConfigError
from .params import Param

KINDS: tuple[str, ...] = ("supplier", "brand", "distributor", "retailer", "consumer")
FIRM_KINDS: tuple[str, ...] = KINDS[:-1]


def _cost(doc: str, unit: str = "money per unit per period", **extra: Any) -> Param:
    return Param(0.0, doc, unit=unit, minimum=0, **extra)


def _units(doc: str, **extra: Any) -> Param:
    return Param(0.0, doc, unit="units", minimum=0, **extra)


FIRM_PARAMS: dict[str, Param] = {
    "class": Param(
        "", "the agent class that plays the node: a registered name or "
        '"package.module:Class" (see [Agent classes](#agent-classes))', unit="name",
        registry="agent class", default_doc="the kind's own class",
    ),
    "initial_stock": _units(
        "units on the shelf at the start", default_doc="builders set their own"
    ),
    "holding_cost": Param(
        0.5, "cost of each unit on the shelf at the end of a period",
        unit="money per unit per period", minimum=0,
    ),
    "backlog_cost": Param(
        1.0, "cost of each unit owed to customers at the end of a period",
        unit="money per unit per period", minimum=0,
    ),
    "policy": Param(
        "order_up_to", "how much the firm orders each period", unit="name", registry="policy"
    ),
    "policy_params": Param(
        {}, "its parameters", unit="table", default_doc="the policy's own defaults"
    ),
    "allocation": Param(
        "proportional", "how the firm shares out stock when it cannot fill every order",
        unit="name", registry="allocation",
    ),
    "allocation_params": Param(
        {}, "its parameters (the built-in rules take none)", unit="table",
        default_doc="the rule's own defaults",
    ),
    "allow_returns": Param(
        False, "whether orders may be negative (goods sent back); otherwise negative orders "
        "are clipped to 0", unit="true/false",
    ),
    # Holding cost also on the goods it shipped that are still in transit (Clark-Scarf).
    "in_transit_holding": Param(
        False, "whether the firm also pays its `holding_cost` on the goods it has shipped "
        "that are still in transit at a period's end (the shipper pays, as in Clark & "
        "Scarf's serial model and stockpyl; `in_transit_cost` in the summary). Goods in a "
        "producer's own production are not charged", unit="true/false",
    ),
    # Money (off when 0): the price it sells at, and the cost of capital tied up in stock.
    "price": _cost(
        "the price the firm sells at. Each unit shipped is billed at the price of the period "
        "it is shipped (less any promotion discount); the seller books the revenue when it "
        "ships, the buyer the purchase when the goods arrive. A retailer's price is what "
        "consumers pay. The stock of a firm that buys is worth its suppliers' list prices "
        "(share-weighted), which values capital and write-offs",
        unit="money per unit", default_doc="money not tracked",
    ),
    "cost_of_capital": _cost(
        "capital tied up in stock: each period the firm pays `cost_of_capital` x unit value "
        "x units on hand at the period's end (`capital_cost`). Needs prices or `unit_cost`, "
        "or the stock is worth 0", unit="fraction per period",
    ),
    # Order batching (off by default): fixed cost per order, minimum order, full trucks,
    # and ordering only every review_period periods.
    "order_cost": _cost(
        "fixed cost charged in each period in which the firm places an order (however "
        "large, however many suppliers)", unit="money per order",
    ),
    "min_order": _units("a positive order below this is raised to it", default_doc="none"),
    "batch_size": _units(
        "a positive order is rounded up to whole batches (full trucks) of this size",
        default_doc="none", limit=limits.check_divisor,
    ),
    "review_period": Param(
        1, "the firm orders only every `review_period` periods: in period t only if t mod R "
        "= its index mod R (its position in the model's list of firms, retailers first), so "
        "firms are staggered; in the other periods it orders 0. The policy still sees every "
        "period, and the firm's L (the periods an order must cover) includes the R - 1 "
        "periods until its next chance to order, so `order_up_to` covers L + R - 1 periods "
        "and the default levels of the other policies grow likewise",
        unit="periods", minimum=1,
    ),
    # Forward buying: periods of forecast demand bought extra while a supplier promotes.
    "forward_buy": Param(
        0.0, "while a supplier runs a promotion (in the period the order will reach it), "
        "the firm orders `forward_buy` x its smoothed demand signal extra (the signal "
        "smoothed with weight 0.5)", unit="periods of demand", minimum=0,
    ),
    # Shortage gaming: inflate orders when rationed, up to this factor (1 = no gaming).
    "gaming": Param(
        1.0, "shortage gaming: when its suppliers' last fill shipped a fraction f < 1 of "
        "what it was owed, the firm orders q / f, at most `gaming` x q; the excess is a "
        "phantom order (at most `gaming - 1` times its real orders outstanding), cancelled "
        "once the suppliers have shipped all its real orders", unit="factor", minimum=1,
        default_doc="no gaming",
    ),
    # Price promotions this firm runs as a seller (every 0 = never).
    "promotion_every": Param(
        0, "the firm, as a seller, runs a price promotion every this many periods: in "
        "period t when t mod `promotion_every` < `promotion_length`", unit="periods",
        minimum=0, default_doc="never",
    ),
    "promotion_length": Param(1, "periods each promotion lasts", unit="periods", minimum=1),
    "promotion_discount": Param(
        0.0, "fraction taken off `price` during a promotion (0: no promotion, whatever "
        "`promotion_every`)", unit="fraction", minimum=0, maximum=1,
    ),
    # Obsolescence: from this period on, stock is marked down and written off (-1: never).
    "season_end": Param(
        -1, "from this period on (0-based) the firm orders nothing, and whatever is on its "
        "shelf at the end of each period (goods still arriving included) is written off: "
        "`written_off` units, `writeoff_cost` = (unit value - `salvage_value`) per unit",
        unit="period", minimum=-1, default_doc="never",
    ),
    "salvage_value": _cost(
        "what a unit written off recovers (booked as revenue)", unit="money per unit"
    ),
}  # fmt: skip
"""What every firm takes (node attributes), declared once: the checks, the reference
tables in docs/scenarios.md and the app read them. ``class`` is not filled in: a node
without one is played by its kind's own class."""

PRODUCER_PARAMS: dict[str, Param] = {
    **FIRM_PARAMS,
    "capacity": Param(
        math.inf, "units whose production can start each period", unit="units per period",
        minimum=0, above=True, allow_inf=True, default_doc="unlimited",
    ),
    "production_lead_time": Param(
        0, "periods a unit spends in production. A supplier's production also starts one "
        "period after it is planned", unit="periods", minimum=0, limit=limits.check_delay,
    ),
    "initial_in_production": _units(
        "units in each production slot at the start (for a supplier, also the plan "
        "waiting to start)"
    ),
    "unit_cost": _cost(
        "cost of making one unit (counted when production starts; `production_cost` in "
        "the summary). A supplier's stock is worth `unit_cost` a unit, a brand's its "
        "materials' price plus `unit_cost`", unit="money per unit",
    ),
}  # fmt: skip
"""What suppliers and brands take besides the firm's fields."""

RETAILER_PARAMS: dict[str, Param] = {
    **FIRM_PARAMS,
    "lost_sale_cost": Param(
        1.0, "cost of each unit of consumer demand lost (consumers with `backorder = "
        "false`, or out of `patience`)", unit="money per unit", minimum=0,
    ),
}  # fmt: skip

CONSUMER_PARAMS: dict[str, Param] = {
    "class": FIRM_PARAMS["class"],
    "demand": Param(
        "normal", "how much the consumer (or segment) asks for each period", unit="name",
        registry="demand",
    ),
    "demand_params": Param(
        {}, "its parameters", unit="table", default_doc="the process's own defaults"
    ),
    "backorder": Param(
        True, "whether the consumer waits for goods it could not get (`false`: the sale is "
        "lost, and the retailer pays `lost_sale_cost` per unit)", unit="true/false",
    ),
    "patience": Param(
        -1, "how long a waiting consumer (`backorder = true`) waits: a unit ordered in "
        "period t and not served by the end of period t + `patience` is a lost sale "
        "(oldest orders are served first). `0` is the same as not waiting. Ignored when "
        "`backorder = false`", unit="periods", minimum=-1, default_doc="forever",
    ),
}  # fmt: skip

NODE_PARAMS: dict[str, dict[str, Param]] = {
    "supplier": PRODUCER_PARAMS,
    "brand": PRODUCER_PARAMS,
    "distributor": FIRM_PARAMS,
    "retailer": RETAILER_PARAMS,
    "consumer": CONSUMER_PARAMS,
}
"""The declared node attributes of each kind (those of its built-in agent class)."""

EDGE_PARAMS: dict[str, Param] = {
    "lead_time": Param(
        None, "periods goods spend in transit. 0 delivers at the end of the same period "
        "(usable the next one)", type="int", unit="periods", minimum=0,
        default_doc="set by the builder (required on every firm->firm edge of a file)",
        limit=limits.check_delay,
    ),
    "order_delay": Param(
        0, "periods an order takes to reach the supplier (0: read in the period it is "
        "placed)", unit="periods", minimum=0, limit=limits.check_delay,
    ),
    "share": Param(
        1.0, "relative weight of this supplier in the buyer's orders; a buyer's orders are "
        "split in proportion to the shares of its suppliers", unit="weight", minimum=0,
        above=True,
    ),
    "initial_in_transit": _units("units in each shipping slot at the start (`lead_time` slots)"),
    "initial_orders": _units(
        "units in each order-delay slot at the start (`order_delay` slots)"
    ),
}  # fmt: skip
"""Edge attributes, declared once. ``lead_time`` has no default: it is required on
firm->firm edges, and is 0 (the only allowed value) on retailer->consumer edges."""


def _defaults(params: dict[str, Param]) -> dict[str, Any]:
    """Defaults to fill in: ``class`` is left out (absent means the kind's own class)."""
    return {n: p.value() for n, p in params.items() if n not in ("lead_time", "class")}


NODE_DEFAULTS: dict[str, dict[str, Any]] = {
    kind: _defaults(params) for kind, params in NODE_PARAMS.items()
}
"""Default node attributes per kind, from ``NODE_PARAMS`` (copied when filled in)."""

EDGE_DEFAULTS: dict[str, Any] = _defaults(EDGE_PARAMS)
"""Default edge attributes, from ``EDGE_PARAMS`` (``lead_time`` has none)."""

CONSUMER_EDGE_DEFAULTS: dict[str, Any] = {**EDGE_DEFAULTS, "lead_time": 0}
"""Defaults on retailer->consumer edges, where nothing is shipped or mailed."""

DESCRIPTIONS: dict[str, str] = {
    "kind": "one of " + ", ".join(KINDS),
    "label": "human name shown in plots and tables (optional)",
    **{
        name: p.doc for params in (*NODE_PARAMS.values(), EDGE_PARAMS) for name, p in params.items()
    },
}
"""One line per attribute, for tools that list them."""


class _Missing:
    """Stands for an attribute that is absent, so errors read 'got nothing'."""

    def __repr__(self) -> str:
        return "nothing (missing attribute)"


MISSING: Any = _Missing()


def node_field(node: Any, attr: str | None = None) -> str:
    """The name of a node (or one of its attributes) as errors spell it."""
    return f"node {node!r}" + (f".{attr}" if attr else "")


def edge_field(u: Any, v: Any, attr: str | None = None) -> str:
    """The name of an edge (or one of its attributes) as errors spell it."""
    return f"edge {u!r}->{v!r}" + (f".{attr}" if attr else "")


def _fill(
    field: str, data: dict[str, Any], params: dict[str, Param], defaults: dict[str, Any]
) -> dict[str, Any]:
    """Attributes with defaults filled in and declared ones checked; others kept.

    A shallow copy: the params dicts, the only mutable declared values, are copied by
    their check; a user's own annotations are kept as they are, never modified.
    """
    out = dict(data)
    for name, default in defaults.items():
        if out.get(name) is None:
            out[name] = copy.deepcopy(default)
    for name in out:
        if name in params:
            out[name] = params[name].check(f"{field}.{name}", out[name])
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
        out = _fill(edge_field(u, v), data, EDGE_PARAMS, CONSUMER_EDGE_DEFAULTS)
        for name in ("lead_time", "order_delay"):
            if out[name] != 0:
                raise ConfigError(
                    edge_field(u, v, name), out[name], "0 (consumers buy off the shelf)"
                )
        return out
    if data.get("lead_time") is None:
        raise ConfigError(edge_field(u, v, "lead_time"), MISSING, "an integer >= 0")
    defaults = {**EDGE_DEFAULTS, "lead_time": data["lead_time"]}
    return _fill(edge_field(u, v), data, EDGE_PARAMS, defaults)


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
        kind = data["kind"]
        H.add_node(n, **_fill(node_field(n), data, NODE_PARAMS[kind], NODE_DEFAULTS[kind]))
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
