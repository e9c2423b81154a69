"""The app's look, shared by every chart: Vega-Lite boilerplate, tier names, colours.

Charts are written as Vega-Lite dicts rather than through Altair's API: the browser
renders the same thing (Solara's ``VegaLite`` widget), and skipping Altair's schema
validation keeps a redraw after each step within a few milliseconds on the server.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
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


def tier_labels(model: SupplyChainModel) -> dict[int, str]:
    """Tier number -> 'retailers', 'brands', ... (kinds joined when a tier mixes them;
    the tier number added when two tiers hold the same kinds, as in the beer game)."""
    kinds: dict[int, set[str]] = {}
    for firm in model.firms:
        kinds.setdefault(model.topology.tiers[firm.node], set()).add(firm.kind)
    names = {
        t: "/".join(KIND_PLURAL[k] for k in KIND_ORDER if k in ks)
        for t, ks in sorted(kinds.items())
    }
    repeated = {n for n in names.values() if list(names.values()).count(n) > 1}
    return {t: f"{n} (tier {t})" if n in repeated else n for t, n in names.items()}
