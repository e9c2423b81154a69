"""The state of the browser app's main page, without Solara: testable.

- ``Pair``: the opaque and the shared-information chain of one scenario, on the same
  seed (so the same consumer demand), stepped in lockstep; at equal service, each at the
  chain-wide safety factor ``compare`` tunes it to (``pullchain.runs.service``);
  ``Pair.at(k)`` shows both as they stood at the end of period ``k`` (``ModelAt``), for
  the page's scrubber.
- ``Controls``: the knobs of the page, read from a scenario and turned back into
  ``Scenario.with_overrides`` assignments (only the knobs that were changed).
- Mechanisms (``MECHANISM_PATHS``, ``mechanism_overrides``, ``with_mechanism``): the
  overrides of the page's mechanism panels, kept in ``Controls.extra``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from pullchain.agents.demand import DEMANDS

from .app_network import NetworkView
from .scenarios import Scenario, check_service, parse_value, preset_names

if TYPE_CHECKING:
    from .model import SupplyChainModel

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
    factors: dict[str, float] = field(default_factory=dict)
    """At equal service: each regime's tuned chain-wide safety factor (else empty)."""
    service: float | None = None

    @classmethod
    def build(cls, scenario: Scenario, service: float | None = None) -> Pair:
        """Both chains of ``scenario``; raises ConfigError on a bad combination.

        With ``service``, each chain runs at the safety factor that brings its mean
        consumer fill rate over the scenario's paired replications to that target, as
        ``pullchain compare --service`` finds it (the same seeds, the same factors).
        """
        regimes = ("opaque", scenario.shared_regime)
        factors = tuned_factors(scenario, service, regimes) if service else {}
        models = {
            r: (
                scenario.with_overrides({"safety_factor": factors[r]}) if factors else scenario
            ).model(regime=r)
            for r in regimes
        }
        view = NetworkView(models[regimes[0]])
        for model in models.values():
            view.record(model)
        return cls(scenario, models, view, factors, service or None)

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
                self.view.record(model)
            done += 1
        return done

    def at(self, period: int | None) -> dict[str, SupplyChainModel | ModelAt]:
        """Both chains as they stood at the end of ``period`` (None or the last period
        run: the chains themselves)."""
        if period is None or period >= self.period:
            return dict(self.models)
        return {r: ModelAt(m, max(period, 0)) for r, m in self.models.items()}


class ModelAt:
    """A chain as it stood at the end of period ``period``: its recorder cut there,
    everything else the running model's (structure, scenario, regime).

    What the charts, the headline and the network drawing read of a model is its
    recorder and its fixed structure, so they draw a past period from this as they
    draw the present from the model. The recorded arrays are shared, not copied.
    """

    def __init__(self, model: SupplyChainModel, period: int) -> None:
        rec = copy.copy(model.recorder)
        rec.firms = copy.copy(rec.firms)
        rec.consumers = copy.copy(rec.consumers)
        rec.rows = rec.firms.rows = min(period, model.recorder.rows)
        rec.consumers.rows = min(period, model.recorder.consumers.rows)
        self.model = model
        self.recorder = rec

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)


_TUNED: dict[tuple[str, str, float, tuple[str, ...]], dict[str, float]] = {}


def tuned_factors(scenario: Scenario, service: float, regimes: tuple[str, ...]) -> dict[str, float]:
    """Each regime's tuned safety factor, searched once per scenario and target (cached:
    a search runs the scenario's replications several times)."""
    from .compare import replication_seeds
    from .service import tune_service

    service = float(check_service("service", service))
    key = (scenario.to_toml(), str(scenario.source), service, regimes)
    if key not in _TUNED:
        seeds = replication_seeds(scenario.seed, scenario.replications)
        _TUNED[key] = {
            r: tune_service(scenario, service, regime=r, seeds=seeds).safety_factor for r in regimes
        }
    return dict(_TUNED[key])


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
    service: float = 0.0
    """Equal service: the consumer fill rate both chains are tuned to (0: the firms' own
    safety stock). The page starts at 0 whatever the scenario's ``service``: a search takes
    seconds, so the user asks for it."""
    regime: str = "transparent"
    """The regime the page sets against opaque (the scenario's shared regime to start)."""
    knobs: tuple[tuple[str, Any], ...] = ()
    """The shared regime's other declared knobs the user moved (``band``, a plug-in's
    own), drawn from its declaration (``app_controls.regime_controls``)."""
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
            regime=scenario.shared_regime,
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
        if "regime" in diff:
            out["regime.name"] = self.regime
        for knob in ("share_sales", "share_stock", "delay", "participation"):
            if knob in diff:
                value = new[knob]
                out[f"regime.{knob}"] = float(value) if knob == "participation" else value
        for knob, value in self.knobs:
            out[f"regime.{knob}"] = value
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
        return out  # ``service`` is not a scenario override: ``Pair.build`` takes it


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
        # after the warm-up, or the headline (which leaves the warm-up out) misses it
        start = f.warm_up + 10 if f.warm_up + 40 <= f.steps else min(20, f.steps // 4)
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
