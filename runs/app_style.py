"""The app's look, shared by every chart: Vega-Lite boilerplate, role names, colours.

Charts are written as Vega-Lite dicts rather than through Altair's API: the browser
renders the same thing (Solara's ``VegaLite`` widget), and skipping Altair's schema
validation keeps a redraw after each step within a few milliseconds on the server.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from .palette import tier_color

if TYPE_CHECKING:
    from pullchain.network.topology import Topology

    from .model import SupplyChainModel

VEGA_LITE = "https://vega.github.io/schema/vega-lite/v5.json"
KIND_ORDER = ("supplier", "brand", "distributor", "retailer", "consumer")
KIND_PLURAL = {
    "supplier": "suppliers",
    "brand": "brands",
    "distributor": "distributors",
    "retailer": "retailers",
    "consumer": "consumers",
}


def vega_spec(**kw: Any) -> dict[str, Any]:
    return {
        "$schema": VEGA_LITE,
        "config": {"view": {"stroke": None}},
        # lay out again when new data widen an axis' labels (data are swapped in place)
        "autosize": {"type": "pad", "resize": True},
        **kw,
    }


def rounded(values: np.ndarray) -> list[float | None]:
    return [None if not math.isfinite(v) else round(float(v), 3) for v in values]


def _topology(source: SupplyChainModel | Topology) -> Topology:
    return getattr(source, "topology", source)


def _tier_members(topology: Topology) -> dict[int, list]:
    """Tier number -> its firms (nodes, in processing order)."""
    members: dict[int, list] = {}
    for node in topology.firms:
        members.setdefault(topology.tiers[node], []).append(node)
    return dict(sorted(members.items()))


def role_names(source: SupplyChainModel | Topology) -> dict[int, str]:
    """Tier number (1 = retailers) -> the name of its role, as the scenario names it.

    A tier of one firm is called by that firm's ``label`` (the beer game's retailer,
    wholesaler, distributor, factory); a tier of several by its kinds in the plural
    (retailers, brands, suppliers; "brands/retailers" where a tier mixes kinds), with
    the tier number added where two tiers would read the same. Every chart, the
    network drawing and the game name tiers through this one function.

    ``source`` is a ``SupplyChainModel`` or its ``Topology``.
    """
    topology = _topology(source)
    graph = topology.graph
    names: dict[int, str] = {}
    for tier, nodes in _tier_members(topology).items():
        label = graph.nodes[nodes[0]].get("label") if len(nodes) == 1 else None
        if label:
            names[tier] = str(label)
        else:
            kinds = {topology.kind(n) for n in nodes}
            names[tier] = "/".join(KIND_PLURAL[k] for k in KIND_ORDER if k in kinds)
    taken = list(names.values())
    return {t: f"{n} (tier {t})" if taken.count(n) > 1 else n for t, n in names.items()}


def tier_colors(source: SupplyChainModel | Topology) -> dict[int, str]:
    """Tier number -> its colour (``palette.tier_color``): the colour of its kind when
    every tier holds a different kind, else its place in the palette's tier colours."""
    topology = _topology(source)
    members = _tier_members(topology)
    kinds = {t: {topology.kind(n) for n in nodes} for t, nodes in members.items()}
    single = [next(iter(k)) if len(k) == 1 else None for k in kinds.values()]
    one_each = None not in single and len(set(single)) == len(single)
    return {
        t: tier_color(t, kind, one_kind_per_tier=one_each)
        for t, kind in zip(kinds, single, strict=True)
    }


METRIC_LABELS: dict[str, str] = {
    "periods": "periods counted",
    "demand_mean": "consumer demand per period",
    "fill_rate": "fill rate (share of demand served from stock)",
    "on_hand_mean": "stock on hand (units, mean)",
    "backlog_mean": "backlog (units owed, mean)",
    "lost_sales": "lost sales (units)",
    "holding_cost": "holding cost",
    "backlog_cost": "backlog cost",
    "lost_sale_cost": "cost of lost sales",
    "order_cost": "ordering cost",
    "capital_cost": "cost of capital",
    "written_off": "written off (units)",
    "writeoff_cost": "cost of write-offs",
    "total_cost": "total cost",
    "mean_wait": "consumers' mean wait (periods)",
    "revenue": "revenue",
    "profit": "profit",
    "bullwhip_top": "bullwhip at the top tier",
    "recovery_time": "periods until consumers are served again",
    "unserved_after_shock": "demand unserved after the shock (units)",
    "bullwhip_after_shock": "bullwhip at the top tier after the shock",
}
"""Plain words for the summary metrics (``runs.metrics.summary``), for every page."""

_PER_TIER = {
    "bullwhip_tier": "bullwhip: {name}",
    "felt_tier": "periods until the shock reached the {name}",
    "reaction_tier": "periods until the {name} changed their orders",
}


def metric_label(name: str, roles: dict[int, str] | None = None) -> str:
    """``name`` (a summary metric, or any column) in plain words; per-tier metrics
    (``bullwhip_tier2``) are named by the tier's role (``bullwhip: brands``) when
    ``roles`` (``role_names``) is given, else by its number."""
    if name in METRIC_LABELS:
        return METRIC_LABELS[name]
    for prefix, text in _PER_TIER.items():
        number = name.removeprefix(prefix)
        if number != name and number.isdigit():
            tier = int(number)
            return text.format(name=(roles or {}).get(tier, f"tier {tier}"))
    return name.replace("_", " ")


def fit(columns: int = 1, reserve: int = 80) -> dict[str, Any]:
    """A chart's ``usermeta`` asking the browser to size it to its container: each of
    ``columns`` panels gets (container width - ``reserve`` px) / ``columns`` (see
    ``app.LiveChart``). The width in the specification is what a chart drawn
    elsewhere (a test, a notebook) gets."""
    return {"fit": {"columns": columns, "reserve": reserve}}
