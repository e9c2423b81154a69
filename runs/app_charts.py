"""The charts of the app's main page: per-period series and their Vega-Lite specs."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from . import metrics
from .app_network import network_spec
from .app_state import Pair
from .app_style import PALETTE, role_names, rounded, vega_spec

if TYPE_CHECKING:
    from .model import SupplyChainModel

# -- per-period series ----------------------------------------------------------------------


def _tier_columns(model: SupplyChainModel) -> dict[int, np.ndarray]:
    cache = getattr(model, "_app_tier_columns", None)
    if cache is None:
        tiers = model.topology.tiers
        cols: dict[int, list[int]] = {}
        for j, firm in enumerate(model.recorder.firms.agents):
            cols.setdefault(tiers[firm.node], []).append(j)
        cache = {t: np.array(c) for t, c in sorted(cols.items())}
        model._app_tier_columns = cache
    return cache


def series(model: SupplyChainModel) -> dict[str, Any]:
    """Everything the charts plot for one chain, as numpy arrays over periods 1..t."""
    rec = model.recorder
    cols = _tier_columns(model)
    names = role_names(model)
    firms = rec.firms
    on_hand, backlog = firms.series("on_hand"), firms.series("backlog")
    cost = firms.series("period_cost").sum(axis=1)
    retail = [j for j, f in enumerate(firms.agents) if f.kind == "retailer"]
    asked = np.cumsum(firms.series("demand")[:, retail].sum(axis=1))
    filled = np.cumsum(firms.series("filled")[:, retail].sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        fill = np.where(asked > 0, filled / np.where(asked > 0, asked, 1), np.nan)
    return {
        "period": np.arange(1, rec.rows + 1),
        "demand": rec.demand_series(),
        "orders": {names[t]: q for t, q in metrics.tier_orders(rec, model.topology.tiers).items()},
        "on_hand": {names[t]: on_hand[:, c].sum(axis=1) for t, c in cols.items()},
        "backlog": {names[t]: backlog[:, c].sum(axis=1) for t, c in cols.items()},
        "cost": np.cumsum(cost),
        "fill_rate": fill,
    }


def headline(model: SupplyChainModel) -> dict[str, float]:
    """Running figures of one chain: bullwhip per tier, fill rate, cost (after warm-up)."""
    rec = model.recorder
    if rec.rows < 3:
        return {}
    warm = model.warm_up if rec.rows > model.warm_up + 2 else 0
    names = role_names(model)
    out = {
        f"bullwhip {names[t]}": r
        for t, r in metrics.bullwhip_by_tier(rec, model.topology.tiers, warm).items()
    }
    out["fill rate"] = metrics.fill_rate(rec, warm)
    out["cost so far"] = float(rec.firms.series("period_cost").sum())
    out.update(shock_figures(model, names))
    return out


def shock_figures(model: SupplyChainModel, names: dict[int, str]) -> dict[str, float]:
    """Once a scheduled disruption has struck: the summary's ``recovery_time`` and
    ``felt_tier{k}`` (periods from the shock; n/a until it happens)."""
    start = model.disruptions.first_start() if model.disruptions else None
    if start is None or model.recorder.rows <= start:
        return {}
    shock = metrics.shock_response(model, start)
    out = {"recovery_time (periods)": shock["recovery_time"]}
    for tier, name in names.items():
        out[f"felt_tier{tier}: {name} (periods)"] = shock.get(f"felt_tier{tier}", math.nan)
    return out


# -- chart specifications -------------------------------------------------------------------
def _long(pair: Pair, key: str, with_demand: bool = False) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for regime, model in pair.models.items():
        s = series(model)
        period = s["period"].tolist()
        if with_demand:
            rows += [
                {"regime": regime, "period": p, "series": "consumer demand", "value": v}
                for p, v in zip(period, rounded(s["demand"]), strict=True)
            ]
        for name, values in s[key].items():
            rows += [
                {"regime": regime, "period": p, "series": name, "value": v}
                for p, v in zip(period, rounded(values), strict=True)
            ]
    return rows


def _x(pair: Pair) -> dict[str, Any]:
    return {
        "field": "period",
        "type": "quantitative",
        "title": "period",
        "scale": {"domain": [0, pair.horizon], "nice": False},
    }


def _y(rows: list[dict[str, Any]], title: str) -> dict[str, Any]:
    y: dict[str, Any] = {"field": "value", "type": "quantitative", "title": title}
    if not any(r["value"] is not None for r in rows):  # nothing yet: no infinite extent
        y["scale"] = {"domain": [0, 1]}
    return y


def _facet_lines(pair: Pair, rows: list, title: str, y_title: str, legend: str) -> dict:
    order = list(dict.fromkeys(r["series"] for r in rows))
    colors = [
        "black" if name == "consumer demand" else PALETTE[i % len(PALETTE)]
        for i, name in enumerate(order)
    ]
    return vega_spec(
        title=title,
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
        spec={
            "width": 430,
            "height": 190,
            "mark": {"type": "line", "strokeWidth": 1.6, "interpolate": "linear"},
            "encoding": {
                "x": _x(pair),
                "y": _y(rows, y_title),
                "color": {
                    "field": "series",
                    "type": "nominal",
                    "title": legend,
                    "scale": {"domain": order, "range": colors},
                },
                "tooltip": [
                    {"field": "regime"},
                    {"field": "series"},
                    {"field": "period"},
                    {"field": "value", "format": ",.1f"},
                ],
            },
        },
        resolve={"scale": {"y": "shared"}},
    )


def orders_spec(pair: Pair) -> dict[str, Any]:
    """Orders placed per tier against consumer demand, one panel per regime, one y scale."""
    return _facet_lines(
        pair,
        _long(pair, "orders", with_demand=True),
        "Orders placed per tier against consumer demand (the bullwhip)",
        "units per period",
        "orders of",
    )


def stock_spec(pair: Pair) -> dict[str, Any]:
    return _facet_lines(
        pair, _long(pair, "on_hand"), "Stock on hand per tier", "units on hand", "tier"
    )


def backlog_spec(pair: Pair) -> dict[str, Any]:
    return _facet_lines(
        pair, _long(pair, "backlog"), "Backlog per tier (owed to customers)", "units owed", "tier"
    )


def _by_regime(pair: Pair, key: str, title: str, y_title: str, fmt: str) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    for regime, model in pair.models.items():
        s = series(model)
        rows += [
            {"regime": regime, "period": p, "value": v}
            for p, v in zip(s["period"].tolist(), rounded(s[key]), strict=True)
        ]
    return vega_spec(
        title=title,
        width=400,
        height=190,
        data={"values": rows},
        mark={"type": "line", "strokeWidth": 2},
        encoding={
            "x": _x(pair),
            "y": _y(rows, y_title),
            "color": {
                "field": "regime",
                "type": "nominal",
                "scale": {"domain": list(pair.regimes), "range": ["#d62728", "#1f77b4"]},
            },
            "tooltip": [
                {"field": "regime"},
                {"field": "period"},
                {"field": "value", "format": fmt},
            ],
        },
    )


def cost_spec(pair: Pair) -> dict[str, Any]:
    return _by_regime(pair, "cost", "Cumulative cost of the chain", "cost", ",.0f")


def fill_spec(pair: Pair) -> dict[str, Any]:
    spec = _by_regime(pair, "fill_rate", "Fill rate to consumers (cumulative)", "fill rate", ".3f")
    spec["encoding"]["y"].setdefault("scale", {"zero": False})
    return spec


def all_specs(pair: Pair) -> dict[str, dict[str, Any]]:
    """Every chart of the main page, by name."""
    return {
        "network": network_spec(pair),
        "orders": orders_spec(pair),
        "stock": stock_spec(pair),
        "backlog": backlog_spec(pair),
        "cost": cost_spec(pair),
        "fill": fill_spec(pair),
    }
