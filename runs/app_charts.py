"""The charts of the app's main page: per-period series and their Vega-Lite specs.

Every function takes the chains as ``{regime: model}`` (``Pair.at(period)``: the models
themselves, or ``ModelAt`` views of them as they stood at an earlier period), so the
scrubber draws a past period exactly as the present is drawn. Colours come from
``runs.palette`` (one per tier, one per regime), tier names from
``app_style.role_names``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from pullchain.agents.demand import FadDemand

from . import build, metrics
from .app_network import network_spec
from .app_state import Pair
from .app_style import fit, metric_label, role_names, rounded, tier_colors, vega_spec
from .palette import BAND_COLORS, DEMAND_COLOR, regime_color

if TYPE_CHECKING:
    from .model import SupplyChainModel

Models = dict[str, Any]
"""{regime: SupplyChainModel or app_state.ModelAt}, in the pair's order."""

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
    """Everything the charts plot for one chain, as numpy arrays over periods 1..t.

    ``cost`` and ``fill_rate`` are cumulative as the headline counts them: from
    period 1 through the warm-up, and again from its end once the headline leaves the
    warm-up out (``counted_from``), so the table's figures are the lines' last points.
    """
    rec = model.recorder
    cols = _tier_columns(model)
    names = role_names(model)
    firms = rec.firms
    on_hand, backlog = firms.series("on_hand"), firms.series("backlog")
    cost = firms.series("period_cost").sum(axis=1)
    retail = [j for j, f in enumerate(firms.agents) if f.kind == "retailer"]
    asked = firms.series("demand")[:, retail].sum(axis=1)
    filled = firms.series("filled")[:, retail].sum(axis=1)
    w = counted_from(model)
    asked, filled, cost = (_restart(x, w) for x in (asked, filled, cost))
    with np.errstate(invalid="ignore", divide="ignore"):
        fill = np.where(asked > 0, filled / np.where(asked > 0, asked, 1), np.nan)
    return {
        "period": np.arange(1, rec.rows + 1),
        "demand": rec.demand_series(),
        "orders": {names[t]: q for t, q in metrics.tier_orders(rec, model.topology.tiers).items()},
        "on_hand": {names[t]: on_hand[:, c].sum(axis=1) for t, c in cols.items()},
        "backlog": {names[t]: backlog[:, c].sum(axis=1) for t, c in cols.items()},
        "cost": cost,
        "fill_rate": fill,
        "counted_from": w,
    }


def _restart(values: np.ndarray, at: int) -> np.ndarray:
    """Cumulative sums of ``values`` that start again at index ``at``."""
    return np.concatenate([np.cumsum(values[:at]), np.cumsum(values[at:])])


def counted_from(model: SupplyChainModel) -> int:
    """Periods the headline leaves out at the start: the warm-up, once the run is past it."""
    return model.warm_up if model.recorder.rows > model.warm_up + 2 else 0


def headline(model: SupplyChainModel) -> dict[str, float]:
    """Running figures of one chain, in plain words: bullwhip per tier, fill rate, cost
    (after the warm-up, see ``counted_from``), and once a scheduled disruption has
    struck, how long the chain took to take it."""
    rec = model.recorder
    if rec.rows < 3:
        return {}
    warm = counted_from(model)
    names = role_names(model)
    out = {
        metric_label(f"bullwhip_tier{t}", names): r
        for t, r in metrics.bullwhip_by_tier(rec, model.topology.tiers, warm).items()
    }
    out["fill rate (share of demand served from stock)"] = metrics.fill_rate(rec, warm)
    out["cost so far"] = float(rec.firms.series("period_cost")[warm:].sum())  # as charted
    out.update(shock_figures(model, names))
    return out


def shock_figures(model: SupplyChainModel, names: dict[int, str]) -> dict[str, float]:
    """Once a scheduled disruption has struck: the summary's ``recovery_time`` and
    ``felt_tier{k}`` in plain words (periods from the shock; n/a until it happens)."""
    start = model.disruptions.first_start() if model.disruptions else None
    if start is None or model.recorder.rows <= start:
        return {}
    shock = metrics.shock_response(model, start)
    out = {metric_label("recovery_time"): shock["recovery_time"]}
    for tier in names:
        out[metric_label(f"felt_tier{tier}", names)] = shock.get(f"felt_tier{tier}", math.nan)
    return out


# -- shaded periods -------------------------------------------------------------------------
def _demand_processes(model: Any) -> list[Any]:
    """The consumers' demand processes: the agents', or built anew from the network for a
    batch engine's replication (which has no consumer agents)."""
    if hasattr(model, "consumers"):
        return [getattr(c, "demand_process", None) for c in model.consumers]
    network = model.network
    return [build.demand_process(network, n) for n in model.topology.consumers]


def bands(model: SupplyChainModel) -> list[dict[str, Any]]:
    """Periods to shade behind the charts: the warm-up, each fad's season, each outage
    that has begun (on the chart's period axis: period p is the p-th period run).

    A fad's season runs from its start to its ``end`` (the end of the season), or,
    where it has none, until its excess demand has fallen under 5 % (3 fade times
    after the peak).
    """
    out: list[dict[str, Any]] = []
    if model.warm_up:
        out.append({"band": "warm-up", "start": 0.0, "end": model.warm_up + 0.5})
    seasons = set()
    for fad in _demand_processes(model):
        if isinstance(fad, FadDemand):
            end = fad.end if fad.end >= 0 else fad.start + fad.rise + math.ceil(3 * fad.fade)
            seasons.add((fad.start, end))
    for start, end in sorted(seasons):
        out.append({"band": "fad", "start": start + 0.5, "end": end + 0.5})
    struck: dict[tuple, list[str]] = {}  # one band for the firms down at the same time
    for event in model.disruptions.events if model.disruptions else []:
        if event.start < model.recorder.rows:
            key = ("outage" if event.kind == "outage" else "lead-time spike", event.start)
            struck.setdefault((*key, event.duration), []).append(_label(model, event.target))
    for (band, start, duration), what in struck.items():
        out.append(
            {
                "band": band,
                "what": ", ".join(what),
                "start": start + 0.5,
                "end": start + duration + 0.5,
            }
        )
    return out


def _label(model: SupplyChainModel, target: Any) -> str:
    nodes = model.network.nodes
    if isinstance(target, tuple):
        return " to ".join(str(nodes[n].get("label", n)) for n in target)
    return str(nodes[target].get("label", target))


def _band_layer(horizon: int, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Rectangles behind the lines, from the rows with a ``band`` field (the legend
    lists the kinds present)."""
    present = list(dict.fromkeys(r["band"] for r in rows if "band" in r)) or ["warm-up"]
    return {
        "transform": [{"filter": "datum.band != null"}],
        "mark": {"type": "rect", "opacity": 0.8},
        "encoding": {
            "x": {"field": "start", "type": "quantitative", "scale": _x_scale(horizon)},
            "x2": {"field": "end"},
            "fill": {
                "field": "band",
                "type": "nominal",
                "title": "shaded",
                "scale": {"domain": present, "range": [BAND_COLORS[b] for b in present]},
                "legend": {"orient": "bottom", "direction": "horizontal"},
            },
            "tooltip": [{"field": "band", "title": "shaded"}, {"field": "what"}],
        },
    }


def _band_rows(models: Models, with_regime: bool) -> list[dict[str, Any]]:
    rows = []
    for regime, model in models.items():
        for band in bands(model):
            rows.append({**band, "regime": regime} if with_regime else band)
        if not with_regime:
            break  # the same periods in both chains: one set of bands
    return rows


# -- chart specifications -------------------------------------------------------------------
def _long(models: Models, key: str, with_demand: bool = False) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for regime, model in models.items():
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


def _x_scale(horizon: int) -> dict[str, Any]:
    return {"domain": [0, horizon], "nice": False}


def _x(horizon: int) -> dict[str, Any]:
    return {
        "field": "period",
        "type": "quantitative",
        "title": "period",
        "scale": _x_scale(horizon),
    }


def _y(rows: list[dict[str, Any]], title: str) -> dict[str, Any]:
    y: dict[str, Any] = {"field": "value", "type": "quantitative", "title": title}
    if not any(r.get("value") is not None for r in rows):  # nothing yet: no infinite extent
        y["scale"] = {"domain": [0, 1]}
    return y


def _series_colors(models: Models, with_demand: bool) -> tuple[list[str], list[str]]:
    first = next(iter(models.values()))
    names, colors = role_names(first), tier_colors(first)
    order = [names[t] for t in sorted(names)]
    shades = [colors[t] for t in sorted(names)]
    if with_demand:
        return ["consumer demand", *order], [DEMAND_COLOR, *shades]
    return order, shades


def _facet_lines(
    pair: Pair, models: Models, key: str, title: str, y_title: str, with_demand: bool = False
) -> dict[str, Any]:
    rows = _long(models, key, with_demand) + _band_rows(models, with_regime=True)
    order, colors = _series_colors(models, with_demand)
    lines = [r for r in rows if "band" not in r]
    return vega_spec(
        title=title,
        data={"values": rows},
        facet={
            "column": {
                "field": "regime",
                "type": "nominal",
                "sort": list(pair.regimes),
                "title": None,
                "header": {"labelFontSize": 14, "labelFontWeight": "bold"},
            }
        },
        spec={
            "width": 380,
            "height": 170,
            "layer": [
                _band_layer(pair.horizon, rows),
                {
                    "transform": [{"filter": "datum.band == null"}],
                    "mark": {"type": "line", "strokeWidth": 1.8, "interpolate": "linear"},
                    "encoding": {
                        "x": _x(pair.horizon),
                        "y": _y(lines, y_title),
                        "color": {
                            "field": "series",
                            "type": "nominal",
                            "title": None,
                            "scale": {"domain": order, "range": colors},
                            "legend": {"orient": "bottom", "direction": "horizontal"},
                        },
                        "tooltip": [
                            {"field": "regime"},
                            {"field": "series", "title": "line"},
                            {"field": "period"},
                            {"field": "value", "format": ",.1f"},
                        ],
                    },
                },
            ],
        },
        resolve={"scale": {"y": "shared"}},
        usermeta=fit(columns=len(pair.regimes), reserve=80),
    )


def orders_spec(pair: Pair, models: Models | None = None) -> dict[str, Any]:
    """Orders placed per tier against consumer demand, one panel per regime, one y scale."""
    return _facet_lines(
        pair,
        models or pair.at(None),
        "orders",
        "Orders placed per tier against consumer demand (the bullwhip)",
        "units per period",
        with_demand=True,
    )


def stock_spec(pair: Pair, models: Models | None = None) -> dict[str, Any]:
    return _facet_lines(
        pair, models or pair.at(None), "on_hand", "Stock on hand per tier", "units on hand"
    )


def backlog_spec(pair: Pair, models: Models | None = None) -> dict[str, Any]:
    return _facet_lines(
        pair,
        models or pair.at(None),
        "backlog",
        "Backlog per tier (owed to customers)",
        "units owed",
    )


def _by_regime(
    pair: Pair, models: Models, key: str, title: str, y_title: str, fmt: str
) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    for regime, model in models.items():
        s = series(model)
        w = s["counted_from"]
        rows += [
            {"regime": regime, "period": p, "value": v, "part": p > w or not w}
            for p, v in zip(s["period"].tolist(), rounded(s[key]), strict=True)
        ]
    regimes = list(pair.regimes)
    lines = {
        "transform": [{"filter": "datum.band == null"}],
        "mark": {"type": "line", "strokeWidth": 2},
        "encoding": {
            "x": _x(pair.horizon),
            "y": _y(rows, y_title),
            "color": {
                "field": "regime",
                "type": "nominal",
                "title": None,
                "scale": {
                    "domain": regimes,
                    "range": [regime_color(r, i) for i, r in enumerate(regimes)],
                },
                "legend": {"orient": "bottom", "direction": "horizontal"},
            },
            "detail": {"field": "part", "type": "nominal"},  # the warm-up: its own line
            "tooltip": [
                {"field": "regime"},
                {"field": "period"},
                {"field": "value", "format": fmt},
                {"field": "part", "title": "in the table"},
            ],
        },
    }
    rows += _band_rows(models, with_regime=False)
    return vega_spec(
        title=title,
        width=340,
        height=170,
        data={"values": rows},
        layer=[_band_layer(pair.horizon, rows), lines],
        usermeta=fit(columns=1, reserve=70),
    )


def cost_spec(pair: Pair, models: Models | None = None) -> dict[str, Any]:
    return _by_regime(
        pair,
        models or pair.at(None),
        "cost",
        "Cost of the chain, cumulative (as the table counts it)",
        "cost",
        ",.0f",
    )


def fill_spec(pair: Pair, models: Models | None = None) -> dict[str, Any]:
    spec = _by_regime(
        pair,
        models or pair.at(None),
        "fill_rate",
        "Fill rate to consumers, cumulative (as the table counts it)",
        "share served from stock",
        ".2f",
    )
    spec["layer"][1]["encoding"]["y"].setdefault("scale", {"domain": [0, 1]})
    return spec


def all_specs(pair: Pair, period: int | None = None) -> dict[str, dict[str, Any]]:
    """Every chart of the main page, by name, at the end of ``period`` (None: now)."""
    models = pair.at(period)
    return {
        "network": network_spec(pair, models),
        "orders": orders_spec(pair, models),
        "stock": stock_spec(pair, models),
        "backlog": backlog_spec(pair, models),
        "cost": cost_spec(pair, models),
        "fill": fill_spec(pair, models),
    }
