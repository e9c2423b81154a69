"""The network drawing: where each firm is drawn, and how a large network is thinned."""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

import numpy as np

from .app_style import KIND_PLURAL, fit, role_names, tier_colors, vega_spec
from .palette import KIND_COLORS

if TYPE_CHECKING:
    from .model import SupplyChainModel

if TYPE_CHECKING:
    from .app_state import Pair


# -- the network ----------------------------------------------------------------------------
MAX_PER_TIER = 24
"""Firms drawn one by one per tier; the rest of a tier is drawn as one '+k more' node."""
MAX_CONSUMERS = 12
"""Consumers drawn one by one; beyond this, one node stands for each retailer's customers."""


class NetworkView:
    """Where each firm is drawn, and which firms a drawn node stands for.

    Tiers run left to right (suppliers, brands, distributors, retailers, consumers).
    Up to ``MAX_PER_TIER`` firms of a tier are drawn one by one (in node order, so
    nodes do not jump between steps); the others of that tier are summed into one
    node. Up to ``MAX_CONSUMERS`` consumers are drawn one by one; otherwise the
    consumers are drawn as one node per retailer node, standing for the demand that
    retailer receives and the goods it hands over.
    """

    def __init__(self, model: SupplyChainModel) -> None:
        topo = model.topology
        tiers = topo.tiers
        self._sticky: dict[str, float] = {}
        top = max((tiers[f.node] for f in model.firms), default=1)
        by_tier: dict[int, list[int]] = {}
        for j, firm in enumerate(model.firms):
            by_tier.setdefault(tiers[firm.node], []).append(j)
        self.n_firms = len(model.firms)
        self.firm_group = np.zeros(self.n_firms, dtype=int)
        self.nodes: list[dict[str, Any]] = []  # one per drawn node
        group_of_node: dict[Hashable, int] = {}
        for tier in sorted(by_tier, reverse=True):
            members = by_tier[tier]
            shown = members if len(members) <= MAX_PER_TIER else members[: MAX_PER_TIER - 1]
            rest = [] if len(members) <= MAX_PER_TIER else members[MAX_PER_TIER - 1 :]
            column = top - tier
            count = len(shown) + (1 if rest else 0)
            for i, j in enumerate(shown):
                firm = model.firms[j]
                label = model.network.nodes[firm.node].get("label", str(firm.node))
                self._add(label, firm.kind, column, i, count, 1, tier)
                self.firm_group[j] = len(self.nodes) - 1
                group_of_node[firm.node] = len(self.nodes) - 1
            if rest:
                kind = model.firms[rest[0]].kind
                self._add(
                    f"{len(rest)} more {KIND_PLURAL[kind]}",
                    kind,
                    column,
                    count - 1,
                    count,
                    len(rest),
                    tier,
                )
                for j in rest:
                    self.firm_group[j] = len(self.nodes) - 1
                    group_of_node[model.firms[j].node] = len(self.nodes) - 1
        self.n_groups = len(self.nodes)
        column = top  # right of the retailers (tier 1, drawn at top - 1)
        self.consumer_mode = "each" if len(model.consumers) <= MAX_CONSUMERS else "per retailer"
        self.consumer_nodes: list[int] = []  # drawn node of each consumer (each mode)
        self.retail_groups: list[int] = []  # retailer groups with a consumers node
        if self.consumer_mode == "each":
            for i, c in enumerate(model.consumers):
                label = model.network.nodes[c.node].get("label", str(c.node))
                self._add(label, "consumer", column, i, len(model.consumers), 1)
                self.consumer_nodes.append(len(self.nodes) - 1)
                group_of_node[c.node] = len(self.nodes) - 1
        else:
            groups = sorted(
                {int(self.firm_group[j]) for j, f in enumerate(model.firms) if f.kind == "retailer"}
            )
            per = dict.fromkeys(groups, 0)
            for c in model.consumers:
                for r in topo.suppliers(c.node):
                    per[group_of_node[r]] += 1
            for i, g in enumerate(groups):
                label = f"customers of {self.nodes[g]['label']}"
                self._add(label, "consumer", column, i, len(groups), per[g])
                self.retail_groups.append(g)
        # drawn edges: (from node, to node) -> the lanes they stand for
        edges: dict[tuple[int, int], list] = {}
        for u, v in model.lanes:
            gu = group_of_node[u]
            if v in group_of_node:
                gv = group_of_node[v]
            else:  # a consumer drawn as its retailer's customers
                gv = self.n_groups + self.retail_groups.index(gu)
            edges.setdefault((gu, gv), []).append((u, v))
        self.edges = list(edges)
        self.edge_lanes = list(edges.values())
        self.columns = {top - t: label for t, label in role_names(model).items()}
        self.columns[column] = "consumers"
        colors = tier_colors(model)
        self.column_colors = {top - t: c for t, c in colors.items()}
        self.column_colors[column] = KIND_COLORS["consumer"]
        self._history: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
        self._opening: dict[str, np.ndarray] = {}

    def _at(self, model: SupplyChainModel, period: int) -> tuple[np.ndarray, ...]:
        """(transit per edge, consumers' demand, consumers' purchases) at ``period``."""
        history = self._history.get(model.regime.name)
        if history and period < len(history):
            return history[period]
        # not recorded (a model stepped outside its Pair): the live state
        live = model
        while hasattr(live, "model"):  # a ModelAt: its model is the running one
            live = live.model
        transit = np.array(
            [sum(live.lanes[k].in_transit for k in lanes) for lanes in self.edge_lanes]
        )
        return (
            transit,
            np.array([c.demand for c in live.consumers], dtype=float),
            np.array([c.bought for c in live.consumers], dtype=float),
        )

    def sticky(self, name: str, value: float) -> float:
        """A scale's upper end: ``value`` rounded up to 1, 2 or 5 x 10^k.

        It widens at once, but narrows only when the values have fallen below a fifth
        of it: the chart's specification (hence the drawing in the browser) then
        stays the same for many steps in a row.
        """
        exponent = math.floor(math.log10(max(value, 1e-9)))
        nice = next(m * 10.0**exponent for m in (1, 2, 5, 10) if m * 10.0**exponent >= value)
        old = self._sticky.get(name, 0.0)
        if nice > old or value < old / 5:
            self._sticky[name] = nice
        return self._sticky[name]

    def _add(
        self, label: str, kind: str, column: int, i: int, count: int, members: int, tier: int = 0
    ) -> None:
        y = (i + 0.5) / count if count else 0.5
        self.nodes.append(
            {
                "label": label,
                "kind": kind,
                "tier": tier,
                "x": column,
                "y": round(1 - y, 4),
                "members": members,
            }
        )

    def sharing(self, model: SupplyChainModel) -> np.ndarray:
        """Per drawn firm node: how many of its firms share and use the data (0 under a
        regime that shares nothing). Who takes part is drawn once, when the chain is
        built (``regime.participation``)."""
        regime = model.regime
        part = getattr(regime, "participating", None)
        if part is None or not (regime.share_sales or regime.share_stock):
            return np.zeros(self.n_groups, dtype=int)
        return np.bincount(self.firm_group, weights=part.astype(float), minlength=self.n_groups)

    def record(self, model: SupplyChainModel) -> None:
        """Keep what the drawing needs of the period just run and that the recorder does
        not hold (goods in transit per drawn edge, what consumers asked and got), so
        that any recorded period can be drawn again (the page's scrubber). Called once
        when the chain is built (period 0) and after every step; kept per regime."""
        regime = model.regime.name
        history = self._history.setdefault(regime, [])
        if not history:  # the opening state, before the first step
            self._opening[regime] = np.array([f.on_hand for f in model.firms], dtype=float)
        transit = np.array(
            [sum(model.lanes[k].in_transit for k in lanes) for lanes in self.edge_lanes]
        )
        demand = np.array([c.demand for c in model.consumers], dtype=float)
        bought = np.array([c.bought for c in model.consumers], dtype=float)
        history.append((transit, demand, bought))

    def state(self, model: SupplyChainModel) -> tuple[list[dict], list[dict]]:
        """Drawn nodes and edges with the chain's numbers at the end of the last period
        recorded (``model`` may be an ``app_state.ModelAt``: the chain as it stood then)."""
        rec = model.recorder
        variables = rec.firms.variables
        if rec.rows:
            now = rec.firms.data[rec.rows - 1]
        else:  # before the first step: the initial state
            now = np.zeros((self.n_firms, len(variables)))
            opening = self._opening.get(model.regime.name)
            now[:, variables.index("on_hand")] = (
                opening if opening is not None else [f.on_hand for f in model.firms]
            )
        transit, demand, bought = self._at(model, rec.rows)
        sums = {
            name: np.bincount(self.firm_group, weights=now[:, k], minlength=self.n_groups)
            for k, name in enumerate(variables)
            if name in ("on_hand", "backlog", "shipped", "ordered", "demand", "received")
        }
        shares = self.sharing(model)
        nodes = []
        for g, base in enumerate(self.nodes[: self.n_groups]):
            nodes.append(
                {
                    **base,
                    "sharing": int(shares[g]),
                    "on_hand": round(float(sums["on_hand"][g]), 2),
                    "backlog": round(float(sums["backlog"][g]), 2),
                    "net": round(float(sums["on_hand"][g] - sums["backlog"][g]), 2),
                    "throughput": round(float(sums["shipped"][g]), 2),
                    "ordered": round(float(sums["ordered"][g]), 2),
                    "demand": round(float(sums["demand"][g]), 2),
                    "received": round(float(sums["received"][g]), 2),
                }
            )
        # consumers: grey, sized by what they got; every field set (a missing one would
        # make Vega-Lite drop the point)
        blank = {
            "on_hand": 0.0,
            "backlog": 0.0,
            "net": 0.0,
            "ordered": 0.0,
            "received": 0.0,
            "sharing": 0,
        }
        if self.consumer_mode == "each":
            for i, g in enumerate(self.consumer_nodes):
                nodes.append(
                    {
                        **self.nodes[g],
                        **blank,
                        "demand": round(float(demand[i]), 2),
                        "throughput": round(float(bought[i]), 2),
                        "received": round(float(bought[i]), 2),
                    }
                )
        else:
            for i, g in enumerate(self.retail_groups):
                got = nodes[g]["throughput"]
                nodes.append(
                    {
                        **self.nodes[self.n_groups + i],
                        **blank,
                        "demand": nodes[g]["demand"],
                        "throughput": got,
                        "received": got,
                    }
                )
        for node in nodes:  # a node standing for several is drawn as their mean
            node["net_each"] = round(node["net"] / node["members"], 2)
            node["flow_each"] = round(node["throughput"] / node["members"], 2)
        edges = []
        for (a, b), lanes, moving in zip(self.edges, self.edge_lanes, transit, strict=True):
            na, nb = self.nodes[a], self.nodes[b]
            edges.append(
                {
                    "x": na["x"],
                    "y": na["y"],
                    "x2": nb["x"],
                    "y2": nb["y"],
                    "in_transit": round(float(moving), 2),
                    "from": na["label"],
                    "to": nb["label"],
                    "lanes": len(lanes),
                    "transit_each": round(float(moving) / len(lanes), 2),
                }
            )
        return nodes, edges


def sharing_text(model: SupplyChainModel) -> str | None:
    """Who shares and uses the data in ``model``'s regime, per tier, in words (None when
    the regime shares nothing)."""
    regime = model.regime
    part = getattr(regime, "participating", None)
    if part is None or not (regime.share_sales or regime.share_stock):
        return None
    topology = model.topology
    names = role_names(model)
    per: dict[int, list[bool]] = {}
    for f, node in enumerate(topology.firms):
        per.setdefault(topology.tiers[node], []).append(bool(part[f]))
    total, n = int(part.sum()), len(part)
    if total == n:
        return f"{regime.name}: every firm shares and uses the data"
    tiers = ", ".join(f"{names[t]} {sum(p)} of {len(p)}" for t, p in sorted(per.items()))
    return f"{regime.name}: {total} of {n} firms share and use the data ({tiers})"


def network_spec(pair: Pair, models: dict[str, Any] | None = None) -> dict[str, Any]:
    """The network of each chain: firms coloured by stock minus backlog, sized by
    throughput, ringed in their tier's colour (a thick ring: the firm shares and uses
    the data); edges as thick as the goods in transit; hover for the numbers.

    Tier names sit above their columns, every other one raised a line, so that
    long role names (wholesaler, distributor) never run into each other."""
    view = pair.view
    models = models or pair.at(None)
    rows: list[dict[str, Any]] = []
    for regime, model in models.items():
        nodes, edges = view.state(model)
        rows += [
            {**n, "regime": regime, "layer": "node", "ink": view.column_colors[n["x"]]}
            for n in nodes
        ]
        rows += [{**e, "regime": regime, "layer": "edge"} for e in edges]
        rows += [
            {
                "regime": regime,
                "layer": "column",
                "x": x,
                "y": 1.05 if i % 2 == 0 else 1.13,
                "label": label,
                "ink": view.column_colors[x],
            }
            for i, (x, label) in enumerate(sorted(view.columns.items()))
        ]
    firms = [r for r in rows if r["layer"] == "node" and r["kind"] != "consumer"]
    # Scales only ever widen, in 1-2-5 steps: the spec stays the same from one step to
    # the next, so the browser only swaps the data (see app.LiveChart).
    span = view.sticky("net", max([abs(r["net_each"]) for r in firms] + [1.0]))
    top_flow = view.sticky(
        "flow", max([r["flow_each"] for r in rows if r["layer"] == "node"] + [1.0])
    )
    top_transit = view.sticky(
        "transit", max([r["transit_each"] for r in rows if r["layer"] == "edge"] + [1.0])
    )
    n_columns = len(view.columns)
    size = 60 if view.n_groups + len(view.nodes) < 60 else 25
    x = {
        "field": "x",
        "type": "quantitative",
        "axis": None,
        "scale": {"domain": [-0.4, n_columns - 0.6]},
    }
    y = {"field": "y", "type": "quantitative", "axis": None, "scale": {"domain": [-0.04, 1.17]}}
    layers = [
        {
            "transform": [{"filter": "datum.layer === 'edge'"}],
            "mark": {"type": "rule", "color": "#8c8c8c"},
            "encoding": {
                "x": x,
                "y": y,
                "x2": {"field": "x2"},
                "y2": {"field": "y2"},
                "strokeWidth": {
                    "field": "transit_each",
                    "type": "quantitative",
                    "legend": None,
                    "scale": {"domain": [0, top_transit], "range": [0.4, 7]},
                },
                "opacity": {"value": 0.55},
                "tooltip": [
                    {"field": "from"},
                    {"field": "to"},
                    {"field": "in_transit", "title": "goods in transit"},
                    {"field": "lanes", "title": "supply links"},
                ],
            },
        },
        {
            "transform": [{"filter": "datum.layer === 'node'"}],
            "mark": {"type": "circle", "opacity": 1},
            "encoding": {
                "x": x,
                "y": y,
                "stroke": {"field": "ink", "type": "nominal", "scale": None},
                "strokeWidth": {
                    "condition": {"test": "datum.sharing > 0", "value": 4},
                    "value": 1.2,
                },
                "size": {
                    "field": "flow_each",
                    "type": "quantitative",
                    "title": "shipped",
                    "scale": {"domain": [0, top_flow], "range": [size, size * 12]},
                },
                "color": {
                    "condition": {"test": "datum.kind === 'consumer'", "value": "#c7c7c7"},
                    "field": "net_each",
                    "type": "quantitative",
                    "title": "stock - backlog",
                    "scale": {"scheme": "redblue", "domain": [-span, span], "domainMid": 0},
                },
                "tooltip": [
                    {"field": "label", "title": "node"},
                    {"field": "kind"},
                    {"field": "members", "title": "firms or consumers"},
                    {"field": "sharing", "title": "of them sharing data"},
                    {"field": "on_hand", "title": "on hand"},
                    {"field": "backlog"},
                    {"field": "demand", "title": "orders received"},
                    {"field": "throughput", "title": "shipped"},
                    {"field": "ordered"},
                    {"field": "received"},
                ],
            },
        },
        {
            "transform": [{"filter": "datum.layer === 'column'"}],
            "mark": {"type": "text", "fontWeight": "bold", "fontSize": 12},
            "encoding": {
                "x": x,
                "y": y,
                "text": {"field": "label"},
                "color": {"field": "ink", "type": "nominal", "scale": None},
            },
        },
    ]
    return vega_spec(
        title={
            "text": "The network: fill = stock minus backlog, size = goods shipped, "
            "edge width = goods in transit",
            "subtitle": "ring = the firm's tier; a thick ring: it shares and uses the data "
            "(a node or edge standing for several: their mean)",
        },
        data={"values": rows},
        facet={
            "column": {
                "field": "regime",
                "type": "nominal",
                "sort": list(pair.regimes),
                "title": None,
                "header": {"labelFontSize": 13},
            }
        },
        spec={"width": 380, "height": 250 if view.n_groups < 40 else 380, "layer": layers},
        resolve={
            "scale": {"color": "shared", "size": "shared"},
            "legend": {"color": "shared", "size": "shared"},
        },
        usermeta=fit(columns=len(models), reserve=170),
    )
