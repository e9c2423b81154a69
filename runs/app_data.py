"""What the browser app shows, computed without Solara: testable, and fast to redraw.

- ``Pair``: the opaque and the shared-information chain of one scenario, on the same
  seed (so the same consumer demand), stepped in lockstep.
- ``Controls``: the knobs of the page, read from a scenario and turned back into
  ``Scenario.with_overrides`` assignments (only the knobs that were changed).
- Mechanisms (``MECHANISM_PATHS``, ``mechanism_overrides``, ``with_mechanism``): the
  overrides of the page's mechanism panels, kept in ``Controls.extra``.
- ``NetworkView``: where each firm is drawn, and how a large network is thinned out.
- ``*_spec`` functions: Vega-Lite specifications (plain dicts) of the charts.
- ``export_csv`` / ``export_png``: the current run's data and charts, for download.
- Sweep explorer helpers: list, open (never outside the results folder) and filter
  sweep results.

Charts are written as Vega-Lite dicts rather than through Altair's API: the browser
renders the same thing (Solara's ``VegaLite`` widget), and skipping Altair's schema
validation keeps a redraw after each step within a few milliseconds on the server.
"""

from __future__ import annotations

import io
import math
from collections.abc import Hashable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pullchain.agents.demand import DEMANDS
from pullchain.network.errors import ConfigError

from . import metrics
from .scenarios import Scenario, parse_value, preset_names

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
FORECASTS_SHOWN = ("moving_average", "exponential_smoothing", "naive")
DEMANDS_SHOWN = ("normal", "poisson", "ar1", "seasonal", "step", "fad", "constant")
POLICY_SCENARIO = "(scenario's own)"
"""The forecast choice that leaves the scenario's ordering policy alone."""


# -- the two chains -------------------------------------------------------------------------
@dataclass
class Pair:
    """The opaque chain and the shared-information chain, on the same seed.

    Both models are built from one scenario with one seed, so every consumer draws
    the very same demand in both (common random numbers); ``step`` advances both.
    """

    scenario: Scenario
    models: dict[str, SupplyChainModel]
    view: NetworkView = field(repr=False)

    @classmethod
    def build(cls, scenario: Scenario) -> Pair:
        """Both chains of ``scenario``; raises ConfigError on a bad combination."""
        regimes = ("opaque", scenario.shared_regime)
        models = {r: scenario.model(regime=r) for r in regimes}
        first = models[regimes[0]]
        return cls(scenario, models, NetworkView(first))

    @property
    def regimes(self) -> tuple[str, ...]:
        return tuple(self.models)

    @property
    def period(self) -> int:
        """Periods run so far (0 before the first step)."""
        return next(iter(self.models.values())).recorder.rows

    @property
    def horizon(self) -> int:
        return self.scenario.steps

    @property
    def running(self) -> bool:
        return all(m.running for m in self.models.values())

    def step(self, n: int = 1) -> int:
        """Advance both chains by up to ``n`` periods (not past the horizon)."""
        done = 0
        while done < n and self.running:
            for model in self.models.values():
                model.step()
            done += 1
        return done


# -- controls -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Controls:
    """The page's knobs. ``from_scenario`` reads them; ``overrides`` writes changed ones."""

    share_sales: bool = True
    share_stock: bool = True
    delay: int = 0
    participation: float = 1.0
    lead_time: int = 2
    forecast: str = POLICY_SCENARIO
    window: int = 5
    demand: str = "normal"
    seed: int = 1
    steps: int = 100
    extra: tuple[tuple[str, Any], ...] = ()
    """Further ``path = value`` overrides (mechanism panels add theirs here)."""

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> Controls:
        """The knobs as the scenario sets them (the shared regime's knobs)."""
        regime = scenario.regime(scenario.shared_regime)
        G = scenario.network()
        firms = [n for n, k in G.nodes(data="kind") if k != "consumer"]
        consumers = [n for n, k in G.nodes(data="kind") if k == "consumer"]
        leads = [
            d["lead_time"] for u, v, d in G.edges(data=True) if G.nodes[v]["kind"] != "consumer"
        ]
        attrs = G.nodes[firms[0]]
        forecast, window = POLICY_SCENARIO, 5
        if attrs["policy"] == "order_up_to":
            params = attrs["policy_params"] or {}
            forecast = params.get("forecast", "moving_average")
            window = int(params.get("window", 5))
            if forecast not in FORECASTS_SHOWN:
                forecast = POLICY_SCENARIO
        return cls(
            share_sales=regime.share_sales,
            share_stock=regime.share_stock,
            delay=regime.delay,
            participation=regime.participation,
            lead_time=int(max(leads)) if leads else 0,
            forecast=forecast,
            window=window,
            demand=G.nodes[consumers[0]]["demand"] if consumers else "normal",
            seed=scenario.seed,
            steps=scenario.steps,
        )

    def changed(self, **values: Any) -> Controls:
        return replace(self, **values)

    def overrides(self, base: Scenario, start: Controls | None = None) -> dict[str, Any]:
        """``Scenario.with_overrides`` assignments for every knob that differs from ``start``.

        ``start`` is ``Controls.from_scenario(base)``: an untouched knob changes nothing.
        """
        start = start or Controls.from_scenario(base)
        new, old = asdict(self), asdict(start)
        diff = {k for k in new if new[k] != old[k]}
        out: dict[str, Any] = {}
        for knob in ("share_sales", "share_stock", "delay", "participation"):
            if knob in diff:
                value = new[knob]
                out[f"regime.{knob}"] = float(value) if knob == "participation" else value
        if "lead_time" in diff:
            if base.data["network"]["builder"] != "file":
                out["network.lead_time"] = self.lead_time  # the builder sizes initial stock
            out["edges.lead_time"] = self.lead_time
        if {"forecast", "window"} & diff and self.forecast != POLICY_SCENARIO:
            params = _order_up_to_params(base)
            params.pop("forecast_params", None)
            params["forecast"] = self.forecast
            if self.forecast == "moving_average":
                params["window"] = self.window
            else:
                params.pop("window", None)
            out["firms.policy"] = "order_up_to"
            out["firms.policy_params"] = params
        if "demand" in diff:
            out["consumers.demand"] = self.demand
            out["consumers.demand_params"] = demand_params(self.demand, _mean_demand(base))
        if "seed" in diff:
            out["seed"] = self.seed
        if "steps" in diff:
            out["steps"] = self.steps
            if base.warm_up >= self.steps:
                out["warm_up"] = self.steps // 5
        out.update(dict(self.extra))
        return out


def _order_up_to_params(base: Scenario) -> dict[str, Any]:
    G = base.network()
    for _, attrs in G.nodes(data=True):
        if attrs["kind"] != "consumer" and attrs["policy"] == "order_up_to":
            return dict(attrs["policy_params"] or {})
    return {}


def _mean_demand(base: Scenario) -> float:
    G = base.network()
    for _, attrs in G.nodes(data=True):
        if attrs["kind"] == "consumer":
            process = DEMANDS.create(attrs["demand"], attrs["demand_params"], field="demand")
            return float(process.mean(0))
    return 10.0


def demand_params(pattern: str, mean: float) -> dict[str, Any]:
    """Parameters of a demand pattern at the scale of the scenario's mean demand."""
    m = round(mean if mean > 0 else 10.0, 6)
    table: dict[str, dict[str, Any]] = {
        "normal": {"mean": m, "std": 0.3 * m},
        "poisson": {"mean": m},
        "ar1": {"mean": m, "std": 0.3 * m, "rho": 0.5},
        "seasonal": {"mean": m, "amplitude": 0.3 * m, "cycle": 52, "std": 0.1 * m},
        "step": {"before": m, "after": 2 * m, "at": 10},
        "fad": {"base": m, "peak": 3 * m, "start": 20, "rise": 5, "fade": 10.0},
        "constant": {"level": m},
    }
    return table.get(pattern, {})


def apply_controls(preset: str, controls: Controls, start: Controls) -> Scenario:
    """The preset with the changed knobs applied; ConfigError names a bad combination."""
    base = Scenario.load(preset)
    overrides = controls.overrides(base, start)
    return base.with_overrides(overrides) if overrides else base


def presets() -> list[str]:
    return preset_names()


# -- mechanisms -----------------------------------------------------------------------------
# Each mechanism panel of the page writes its ``path = value`` overrides into
# ``Controls.extra``; the paths below are the ones each may set (no two share a path),
# so a panel replaces or removes its own overrides and leaves the others alone.
# Turned off, a panel sets nothing: the scenario is what its file says.
MECHANISM_PATHS: dict[str, tuple[str, ...]] = {
    "fad": (
        "consumers.demand",
        "consumers.demand_params",
        "firms.season_end",
        "firms.salvage_value",
    ),
    "rationing": ("kinds.retailer.gaming", "kinds.brand.capacity", "firms.allocation"),
    "batching": (
        "kinds.retailer.review_period",
        "kinds.retailer.batch_size",
        "kinds.retailer.order_cost",
    ),
    "promotion": (
        "kinds.brand.promotion_every",
        "kinds.brand.promotion_length",
        "kinds.brand.promotion_discount",
        "kinds.retailer.forward_buy",
    ),
    "disruption": ("disruptions",),
    "make_to_order": (
        "kinds.retailer.policy",
        "kinds.retailer.policy_params",
        "kinds.brand.policy",
        "kinds.brand.policy_params",
        "consumers.preorder_share",
        "consumers.patience",
    ),
}
ALLOCATIONS_SHOWN = ("proportional", "need", "fcfs", "equal")
FAD_RISE = 5
"""Periods of the fad's rise (the panel's sliders set peak, start and fade)."""


@dataclass(frozen=True)
class Facts:
    """What the mechanism panels need to know of a scenario's network."""

    mean_demand: float
    n_consumers: int
    n_brands: int
    outage_firms: tuple[str, ...]
    """Labels of the suppliers and brands, the firms an outage may strike."""
    steps: int
    warm_up: int


def scenario_facts(scenario: Scenario) -> Facts:
    """``Facts`` of ``scenario`` (built once per scenario object)."""
    facts = getattr(scenario, "_app_facts", None)
    if facts is None:
        G = scenario.network()
        kinds = dict(G.nodes(data="kind"))
        labels = [
            str(G.nodes[n].get("label", n))
            for k in ("supplier", "brand")
            for n, kind in kinds.items()
            if kind == k
        ]
        facts = Facts(
            mean_demand=_mean_demand(scenario),
            n_consumers=sum(k == "consumer" for k in kinds.values()),
            n_brands=sum(k == "brand" for k in kinds.values()),
            outage_firms=tuple(dict.fromkeys(labels)),
            steps=scenario.steps,
            warm_up=scenario.warm_up,
        )
        scenario._app_facts = facts
    return facts


def mechanism_defaults(name: str, scenario: Scenario) -> dict[str, Any]:
    """The knobs a panel shows before the user touches them, at the scenario's scale."""
    f = scenario_facts(scenario)
    if name == "fad":
        start = min(20, f.steps // 4)
        return {"peak": 3.0, "start": start, "fade": 10.0, "season": 0, "salvage": 0.0}
    if name == "rationing":
        flow = f.mean_demand * f.n_consumers / max(f.n_brands, 1)
        capacity = f"{round(1.1 * flow):g}" if f.n_brands and flow > 0 else ""
        return {"gaming": 3.0, "capacity": capacity, "allocation": "proportional"}
    if name == "batching":
        return {"review_period": 4, "batch_size": 100.0, "order_cost": 50.0}
    if name == "promotion":
        return {"every": 12, "length": 2, "discount": 0.15, "forward_buy": 3.0}
    if name == "disruption":
        node = f.outage_firms[0] if f.outage_firms else ""
        start = max(f.warm_up + 10, f.steps // 2) if f.steps > f.warm_up + 10 else f.steps // 2
        return {"node": node, "start": start, "duration": 10, "rate": 0.0}
    if name == "make_to_order":
        return {"preorder_share": 1.0, "patience": 6}
    raise KeyError(name)


def mechanism_knobs(name: str, scenario: Scenario, chosen: Mapping[str, Any]) -> dict[str, Any]:
    """The panel's knobs: the defaults, with what the user chose on top (a firm that is
    not in this scenario's network falls back to the default)."""
    knobs = {**mechanism_defaults(name, scenario), **chosen}
    if name == "disruption" and knobs["node"] not in scenario_facts(scenario).outage_firms:
        knobs["node"] = mechanism_defaults(name, scenario)["node"]
    return knobs


def _number_text(text: Any) -> Any:
    """A number typed into a text field: '' is unlimited (inf); text that is no number
    is passed on as it is, for the scenario's check to name."""
    text = str(text).strip()
    if text == "":
        return math.inf
    value = parse_value(text)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else text


def mechanism_overrides(name: str, scenario: Scenario, knobs: Mapping[str, Any]) -> dict[str, Any]:
    """The ``with_overrides`` assignments of mechanism ``name`` with these knobs."""
    f = scenario_facts(scenario)
    k = dict(knobs)
    if name == "fad":
        base = round(f.mean_demand if f.mean_demand > 0 else 10.0, 6)
        start, season = int(k["start"]), int(k["season"])
        end = start + FAD_RISE + season if season > 0 else -1
        return {
            "consumers.demand": "fad",
            "consumers.demand_params": {
                "base": base,
                "peak": round(float(k["peak"]) * base, 6),
                "start": start,
                "rise": FAD_RISE,
                "fade": float(k["fade"]),
                "end": end,
            },
            "firms.season_end": end,
            "firms.salvage_value": k["salvage"],
        }
    if name == "rationing":
        return {
            "kinds.retailer.gaming": float(k["gaming"]),
            "kinds.brand.capacity": _number_text(k["capacity"]),
            "firms.allocation": k["allocation"],
        }
    if name == "batching":
        return {
            "kinds.retailer.review_period": k["review_period"],
            "kinds.retailer.batch_size": k["batch_size"],
            "kinds.retailer.order_cost": k["order_cost"],
        }
    if name == "promotion":
        return {
            "kinds.brand.promotion_every": k["every"],
            "kinds.brand.promotion_length": k["length"],
            "kinds.brand.promotion_discount": float(k["discount"]),
            "kinds.retailer.forward_buy": k["forward_buy"],
        }
    if name == "disruption":
        events: list[dict[str, Any]] = [
            {"kind": "outage", "node": k["node"], "start": k["start"], "duration": k["duration"]}
        ]
        if float(k["rate"]) > 0:
            events.append(
                {
                    "kind": "outage",
                    "targets": "brand",
                    "rate": float(k["rate"]),
                    "duration": k["duration"],
                    "start": k["start"],
                }
            )
        return {"disruptions": events}
    if name == "make_to_order":
        return {
            "kinds.retailer.policy": "make_to_order",
            "kinds.retailer.policy_params": {},
            "kinds.brand.policy": "make_to_order",
            "kinds.brand.policy_params": {},
            "consumers.preorder_share": float(k["preorder_share"]),
            "consumers.patience": k["patience"],
        }
    raise KeyError(name)


def mechanism_on(controls: Controls, name: str) -> bool:
    """Whether mechanism ``name`` has overrides among the knobs."""
    paths = MECHANISM_PATHS[name]
    return any(path in paths for path, _ in controls.extra)


def with_mechanism(controls: Controls, name: str, overrides: Mapping[str, Any] | None) -> Controls:
    """``controls`` with mechanism ``name``'s overrides replaced (``None``: removed)."""
    paths = MECHANISM_PATHS[name]
    unknown = set(overrides or {}) - set(paths)
    if unknown:
        raise ValueError(f"{name} may not set {sorted(unknown)}")
    kept = tuple((p, v) for p, v in controls.extra if p not in paths)
    return controls.changed(extra=kept + tuple((overrides or {}).items()))


# -- per-period series ----------------------------------------------------------------------
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
    names = tier_labels(model)
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
    names = tier_labels(model)
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
def _spec(**kw: Any) -> dict[str, Any]:
    return {
        "$schema": VEGA_LITE,
        "config": {"view": {"stroke": None}},
        # lay out again when new data widen an axis' labels (data are swapped in place)
        "autosize": {"type": "pad", "resize": True},
        **kw,
    }


def _round(values: np.ndarray) -> list[float | None]:
    return [None if not math.isfinite(v) else round(float(v), 3) for v in values]


def _long(pair: Pair, key: str, with_demand: bool = False) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for regime, model in pair.models.items():
        s = series(model)
        period = s["period"].tolist()
        if with_demand:
            rows += [
                {"regime": regime, "period": p, "series": "consumer demand", "value": v}
                for p, v in zip(period, _round(s["demand"]), strict=True)
            ]
        for name, values in s[key].items():
            rows += [
                {"regime": regime, "period": p, "series": name, "value": v}
                for p, v in zip(period, _round(values), strict=True)
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
        "black" if name == "consumer demand" else _PALETTE[i % len(_PALETTE)]
        for i, name in enumerate(order)
    ]
    return _spec(
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


_PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]


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
            for p, v in zip(s["period"].tolist(), _round(s[key]), strict=True)
        ]
    return _spec(
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
                self._add(label, firm.kind, column, i, count, 1)
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
        self.columns = {top - t: label for t, label in tier_labels(model).items()}
        self.columns[column] = "consumers"

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

    def _add(self, label: str, kind: str, column: int, i: int, count: int, members: int) -> None:
        y = (i + 0.5) / count if count else 0.5
        self.nodes.append(
            {"label": label, "kind": kind, "x": column, "y": round(1 - y, 4), "members": members}
        )

    def state(self, model: SupplyChainModel) -> tuple[list[dict], list[dict]]:
        """Drawn nodes and edges with the chain's numbers at the end of the last period."""
        rec = model.recorder
        variables = rec.firms.variables
        if rec.rows:
            now = rec.firms.data[rec.rows - 1]
        else:  # before the first step: the initial state
            now = np.zeros((self.n_firms, len(variables)))
            now[:, variables.index("on_hand")] = [f.on_hand for f in model.firms]
        sums = {
            name: np.bincount(self.firm_group, weights=now[:, k], minlength=self.n_groups)
            for k, name in enumerate(variables)
            if name in ("on_hand", "backlog", "shipped", "ordered", "demand", "received")
        }
        nodes = []
        for g, base in enumerate(self.nodes[: self.n_groups]):
            nodes.append(
                {
                    **base,
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
        blank = {"on_hand": 0.0, "backlog": 0.0, "net": 0.0, "ordered": 0.0, "received": 0.0}
        if self.consumer_mode == "each":
            for c, g in zip(model.consumers, self.consumer_nodes, strict=True):
                nodes.append(
                    {
                        **self.nodes[g],
                        **blank,
                        "demand": round(float(c.demand), 2),
                        "throughput": round(float(c.bought), 2),
                        "received": round(float(c.bought), 2),
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
        for (a, b), lanes in zip(self.edges, self.edge_lanes, strict=True):
            transit = sum(model.lanes[k].in_transit for k in lanes)
            na, nb = self.nodes[a], self.nodes[b]
            edges.append(
                {
                    "x": na["x"],
                    "y": na["y"],
                    "x2": nb["x"],
                    "y2": nb["y"],
                    "in_transit": round(float(transit), 2),
                    "from": na["label"],
                    "to": nb["label"],
                    "lanes": len(lanes),
                    "transit_each": round(float(transit) / len(lanes), 2),
                }
            )
        return nodes, edges


def network_spec(pair: Pair) -> dict[str, Any]:
    """The network of each chain: firms coloured by stock minus backlog, sized by
    throughput; edges as thick as the goods in transit; hover for the numbers."""
    view = pair.view
    rows: list[dict[str, Any]] = []
    for regime, model in pair.models.items():
        nodes, edges = view.state(model)
        rows += [{**n, "regime": regime, "layer": "node"} for n in nodes]
        rows += [{**e, "regime": regime, "layer": "edge"} for e in edges]
        rows += [
            {"regime": regime, "layer": "column", "x": x, "y": 1.06, "label": label}
            for x, label in view.columns.items()
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
    y = {"field": "y", "type": "quantitative", "axis": None, "scale": {"domain": [-0.04, 1.1]}}
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
            "mark": {"type": "circle", "stroke": "#333", "strokeWidth": 0.6, "opacity": 1},
            "encoding": {
                "x": x,
                "y": y,
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
            "encoding": {"x": x, "y": y, "text": {"field": "label"}},
        },
    ]
    return _spec(
        title="The network: colour = stock minus backlog, size = goods shipped, "
        "edge width = goods in transit (a node or edge standing for several: their mean)",
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
        spec={"width": 430, "height": 300 if view.n_groups < 40 else 420, "layer": layers},
        resolve={"scale": {"color": "shared", "size": "shared"}},
    )


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


# -- downloads ------------------------------------------------------------------------------
def export_csv(pair: Pair) -> bytes:
    """Both chains' per-agent time series, one row per agent per period, with a regime column."""
    frames = []
    for regime, model in pair.models.items():
        frame = model.timeseries()
        frame.insert(0, "regime", regime)
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return table.to_csv(index=False).encode()


def export_png(pair: Pair) -> bytes:
    """The charts of the page as one PNG (matplotlib, so no browser is needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 2, figsize=(13, 11), constrained_layout=True)
    data = {r: series(m) for r, m in pair.models.items()}
    top = 0.0
    for ax, (regime, s) in zip(axes[0], data.items(), strict=True):
        ax.plot(s["period"], s["demand"], color="black", lw=2, label="consumer demand")
        for name, q in s["orders"].items():
            ax.plot(s["period"], q, lw=1.2, label=name)
        ax.set_title(f"Orders placed per tier: {regime}")
        ax.set_xlabel("period")
        ax.set_ylabel("units per period")
        ax.legend(fontsize=7, loc="upper left")
        top = max(top, ax.get_ylim()[1])
    for ax in axes[0]:
        ax.set_ylim(0, top)
        ax.set_xlim(0, pair.horizon)
    for ax, key, title in (
        (axes[1, 0], "on_hand", "Stock on hand"),
        (axes[1, 1], "backlog", "Backlog"),
    ):
        for style, (regime, s) in zip(("-", "--"), data.items(), strict=False):
            for k, (name, values) in enumerate(s[key].items()):
                ax.plot(s["period"], values, style, color=f"C{k}", label=f"{name}, {regime}")
        ax.set_title(f"{title} per tier")
        ax.set_xlabel("period")
        ax.legend(fontsize=6, ncol=2)
    for ax, key, title in (
        (axes[2, 0], "cost", "Cumulative cost"),
        (axes[2, 1], "fill_rate", "Fill rate to consumers (cumulative)"),
    ):
        for color, (regime, s) in zip(("C3", "C0"), data.items(), strict=False):
            ax.plot(s["period"], s[key], color=color, lw=2, label=regime)
        ax.set_title(title)
        ax.set_xlabel("period")
        ax.legend(fontsize=8)
    fig.suptitle(
        f"pullchain: {pair.scenario.name}, seed {pair.scenario.seed}, period {pair.period}"
    )
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()


# -- sweep explorer -------------------------------------------------------------------------
FIGURE_SUFFIXES = (".png", ".svg", ".jpg", ".jpeg")


def inside(root: Path, name: str | Path) -> Path:
    """``root / name``, resolved; ConfigError if it lies outside ``root`` (``..``, an
    absolute path, a symbolic link pointing elsewhere)."""
    base = Path(root).resolve()
    target = (base / name).resolve()
    if target != base and not target.is_relative_to(base):
        raise ConfigError("sweep", str(name), f"a folder inside the results folder {base}")
    return target


def list_sweeps(root: Path) -> list[str]:
    """The result folders in ``root`` (names, sorted); empty if ``root`` does not exist."""
    base = Path(root).resolve()
    if not base.is_dir():
        return []
    out = []
    for p in sorted(base.iterdir()):
        if p.name.startswith(".") or not p.is_dir():
            continue
        try:
            inside(base, p.name)
        except ConfigError:
            continue  # a link that leads out of the results folder
        out.append(p.name)
    return out


def _files(root: Path, folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
    found = []
    for p in sorted(folder.rglob("*")):
        if p.suffix.lower() in suffixes and p.is_file():
            try:
                found.append(inside(root, p.relative_to(Path(root).resolve())))
            except (ConfigError, ValueError):
                continue
    return found


def load_results(root: Path, name: str) -> pd.DataFrame:
    """The results of sweep ``name`` in ``root`` (``runs.store.read_results`` when it exists,
    else every Parquet file in the folder)."""
    folder = inside(root, name)
    if not folder.is_dir():
        raise ConfigError("sweep", name, f"a results folder in {Path(root).resolve()}")
    try:
        from .store import read_results  # written by the sweep work; may not exist yet
    except ImportError:
        read_results = None
    if read_results is not None:
        try:
            frame = read_results(folder)
            if isinstance(frame, pd.DataFrame):
                if "status" in frame:  # failed runs have no metrics
                    frame = frame[frame["status"] == "ok"].reset_index(drop=True)
                return frame
        except Exception:  # fall back to reading the files as they are
            pass
    tables = folder / "results"  # the layout of runs.store; else any Parquet file
    files = _files(root, tables if tables.is_dir() else folder, (".parquet",))
    frames = []
    for f in files:
        try:
            frames.append(pd.read_parquet(f))
        except Exception:
            continue  # not a table we can read (or half-written): leave it out
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def report_figures(root: Path, name: str) -> list[Path]:
    """Figure files (PNG, SVG, JPEG) in sweep ``name``, all inside ``root``."""
    folder = inside(root, name)
    return _files(root, folder, FIGURE_SUFFIXES) if folder.is_dir() else []


METRIC_NAMES = {
    "periods",
    "demand_mean",
    "fill_rate",
    "on_hand_mean",
    "backlog_mean",
    "lost_sales",
    "holding_cost",
    "backlog_cost",
    "lost_sale_cost",
    "total_cost",
    "bullwhip_top",
}
IGNORED = {
    "seed",
    "replication",
    "run",
    "run_id",
    "RunId",
    "iteration",
    "rng",
    # bookkeeping columns of runs.store.read_results
    "run_key",
    "cell",
    "params",
    "status",
    "error",
    "traceback",
    "elapsed_s",
    "worker",
}


def split_columns(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(parameters, metrics): metrics are the summary metrics and other many-valued
    numbers; parameters are the columns with few distinct values."""
    params, found = [], []
    for col in frame.columns:
        if col in IGNORED:
            continue
        name = str(col)
        numeric = pd.api.types.is_numeric_dtype(frame[col]) and not pd.api.types.is_bool_dtype(
            frame[col]
        )
        if name in METRIC_NAMES or name.startswith("bullwhip"):
            found.append(name)
        elif not numeric or frame[col].nunique(dropna=True) <= 12:
            params.append(name)
        else:
            found.append(name)
    return params, found


def filter_frame(frame: pd.DataFrame, chosen: Mapping[str, list]) -> pd.DataFrame:
    """Rows whose parameter values are among the chosen ones (an empty choice keeps all)."""
    mask = pd.Series(True, index=frame.index)
    for col, values in chosen.items():
        if values and col in frame:
            mask &= frame[col].astype(str).isin([str(v) for v in values])
    return frame[mask]


def sweep_spec(frame: pd.DataFrame, metric: str, x: str, color: str | None) -> dict[str, Any]:
    """Mean of ``metric`` against parameter ``x`` (one line per ``color`` value), with
    the spread of runs as points; hover for values."""
    cols = [c for c in {x, metric, color} if c]
    data = frame[cols].copy()
    for c in (x, color):
        if c and not pd.api.types.is_numeric_dtype(data[c]):
            data[c] = data[c].astype(str)
    records = data.replace({np.nan: None}).to_dict("records")
    x_type = "quantitative" if pd.api.types.is_numeric_dtype(data[x]) else "nominal"

    def f(name: str) -> str:  # a dot in a field name would mean a nested field to Vega-Lite
        return name.replace(".", "\\.")

    enc: dict[str, Any] = {
        "x": {"field": f(x), "type": x_type, "title": x},
        "y": {
            "field": f(metric),
            "type": "quantitative",
            "aggregate": "mean",
            "title": f"mean {metric}",
        },
    }
    if color:
        enc["color"] = {"field": f(color), "type": "nominal", "title": color}
    points = {
        "mark": {"type": "point", "opacity": 0.35},
        "encoding": {
            "x": enc["x"],
            "y": {"field": f(metric), "type": "quantitative", "title": metric},
            **({"color": enc["color"]} if color else {}),
            "tooltip": [{"field": f(c), "title": c} for c in cols],
        },
    }
    return _spec(
        title=f"{metric} by {x}" + (f" and {color}" if color else ""),
        width=560,
        height=300,
        data={"values": records},
        layer=[{"mark": {"type": "line", "point": True}, "encoding": enc}, points],
    )
