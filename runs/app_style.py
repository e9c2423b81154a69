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

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]


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
