"""SupplyChainModel: firms and consumers on a supply network, stepped in phases.

One period (one Mesa step) runs four phases, always in this order:

1. **Arrivals.** Production due now is finished, shipments due now are taken in,
   and producers start what their capacity allows.
2. **Consumers buy.** Each consumer draws its demand (from its own random stream)
   and orders it from its retailers. Point-of-sale data for the period now exists.
3. **Firms act, customers before suppliers** (retailers first): take in the orders
   that reach them (an order with no order delay is read the period it is placed),
   fill orders and backlog from stock, observe through the information regime,
   update the forecast with this period's signal, and order upstream.
4. **Book-keeping.** Same-period deliveries (lead time 0, and every consumer
   purchase) are handed over, costs are charged, and the recorder and Mesa's
   DataCollector read the state at the end of the period.

See docs/model.md for the timing conventions and why they reproduce the theory.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

import mesa
import networkx as nx
import numpy as np
import pandas as pd

from pullchain.agents import kinds
from pullchain.agents.consumers import Consumer
from pullchain.agents.firms import Firm, Supplier
from pullchain.agents.policies import POLICIES
from pullchain.agents.safety import SAFETY_PARAMS
from pullchain.network import limits
from pullchain.network.builders import default_network
from pullchain.network.disruptions import Disruptions
from pullchain.network.errors import ConfigError, check_number
from pullchain.network.lanes import Lane
from pullchain.network.regimes import InformationRegime, make_regime
from pullchain.network.schema import node_field, validate_network
from pullchain.network.topology import Topology

from . import build, metrics
from .collector import RecorderCollector
from .recorder import Recorder, values_per_period
from .streams import STREAM_DEMAND, STREAM_DISRUPTION, STREAM_REGIME, stream


class SupplyChainModel(mesa.Model):
    """A supply chain of suppliers, brands, distributors, retailers and consumers.

    Args:
        network: a supply network (``nx.DiGraph``, edges in the direction goods flow);
            by default ``default_network()``. Validated; bad input raises ConfigError.
        regime: "opaque", "transparent", another registered name, or an
            ``InformationRegime`` instance.
        share_sales, share_stock, info_delay, participation: override the regime's
            knobs (None keeps the preset's value).
        horizon: stop (``running = False``) after this many periods; None runs on.
        warm_up: periods left out of every summary metric.
        record_consumers: keep per-consumer time series too (firms are always recorded).
        agent_classes: the agent class of a kind whose nodes name none (no ``class``
            attribute), e.g. ``{"retailer": MyRetailer}`` or ``{"retailer": "perishable"}``.
        disruptions: outages and lead-time spikes, scheduled or random (see
            ``pullchain.network.disruptions``), as a list of dicts.
        rng: seed (int) for every random stream of the run, as in ``mesa.Model``.
    """

    def __init__(
        self,
        network: nx.DiGraph | None = None,
        *,
        regime: str | InformationRegime = "opaque",
        share_sales: bool | None = None,
        share_stock: bool | None = None,
        info_delay: int | None = None,
        participation: float | None = None,
        horizon: int | None = None,
        warm_up: int = 20,
        record_consumers: bool = True,
        agent_classes: Mapping[str, type[mesa.Agent]] | None = None,
        disruptions: list[Mapping[str, Any]] | None = None,
        rng: int | None = None,
    ) -> None:
        rng = _check_seed(rng)
        super().__init__(rng=rng)
        # The seed every stream of the run derives from: the one given, else one drawn
        # from Mesa's generator (so a Generator's state reproduces the run too).
        self.seed: int = rng if isinstance(rng, int) else int(self.rng.integers(2**31 - 1))
        self.horizon = (
            None if horizon is None else check_number("horizon", horizon, minimum=1, integer=True)
        )
        self.warm_up = check_number("warm_up", warm_up, minimum=0, integer=True)
        knobs = {
            k: v
            for k, v in {
                "share_sales": share_sales,
                "share_stock": share_stock,
                "delay": info_delay,
                "participation": participation,
            }.items()
            if v is not None
        }
        self.regime = make_regime(regime, **knobs)
        self.network = validate_network(default_network() if network is None else network)
        self.topology = Topology(self.network)
        self.agent_classes = dict(agent_classes or {})
        self._classes: dict[tuple[str, Any], type] = {}
        self.period = 0
        self.lanes = build.build_lanes(self.network, self.topology)
        self.consumers = self._build_consumers()
        self.firms = self._build_firms()
        self._set_echelon_lead_times()
        self.regime.bind(self.topology, self.stream(STREAM_REGIME))
        self._give_decision_rights()
        if disruptions is not None and not isinstance(disruptions, list):
            raise ConfigError("disruptions", disruptions, "a list of disruption tables")
        self.disruptions = Disruptions(
            disruptions or [], self.topology, self.stream(STREAM_DISRUPTION)
        )
        self._firm_by_node = {f.node: f for f in self.firms}
        self._same_period = [
            a for a in [*self.firms, *self.consumers] if any(ln.lead_time == 0 for ln in a.in_lanes)
        ]
        self._pos = np.zeros(len(self.consumers))
        # Goods present at the start entered the chain; so does all a source makes later.
        self.entered = 0.0
        opening = self.ledger()
        self.entered = opening["held"] + opening["in_transit"]
        self._sources = [f for f in self.firms if isinstance(f, Supplier)]
        if self.horizon is not None:  # the recorder holds every period: check before it does
            values = values_per_period(len(self.firms), len(self.consumers), record_consumers)
            limits.check_recording("horizon", self.horizon, self.horizon, values)
        self.recorder = Recorder(
            self.firms, self.consumers, capacity=self.horizon or 128, consumers_too=record_consumers
        )
        self.datacollector = RecorderCollector(
            self.model_series, self._initial_series(), self.recorded_periods
        )
        self.running = True
        self.datacollector.collect(self)

    @classmethod
    def from_scenario(
        cls,
        scenario: Any = None,
        *,
        regime: str | None = None,
        seed: int | None = None,
        **kwargs: Any,
    ) -> SupplyChainModel:
        """The model of a scenario: a ``Scenario``, a preset name or a .toml file (None:
        the default preset), under its regime and seed unless ``regime``/``seed`` say
        otherwise; other keywords go to the model (``record_consumers=False``, ...)."""
        from .scenarios import Scenario

        if not isinstance(scenario, Scenario):
            scenario = Scenario.load(scenario)
        return scenario.model(regime=regime, seed=seed, model_class=cls, **kwargs)

    def agents_of_kind(self, kind: str) -> mesa.AgentSet:
        """The agents of one kind (``"retailer"``), whatever their classes: Mesa's
        ``agents_by_type`` keys each exact class, this includes every subclass."""
        return self.agents.select(lambda agent: agent.kind == kind)

    # -- building -------------------------------------------------------------------
    def stream(self, *key: int) -> np.random.Generator:
        """An independent generator for one purpose, derived from the run's seed."""
        return stream(self.seed, *key)

    def _in_lanes(self, node: Hashable) -> list[Lane]:
        return build.in_lanes(self.lanes, self.topology, node)

    def _out_lanes(self, node: Hashable) -> list[Lane]:
        return build.out_lanes(self.lanes, self.topology, node)

    def agent_class(self, node: Hashable) -> type[mesa.Agent]:
        """The class that plays ``node``: its ``class`` attribute, else ``agent_classes``
        for its kind, else the kind's built-in class (``pullchain.agents.kinds``)."""
        attrs = self.network.nodes[node]
        kind = attrs["kind"]
        spec = kinds.class_spec(kind, attrs)
        field = node_field(node, "class")
        if spec == kind and kind in self.agent_classes:
            spec, field = self.agent_classes[kind], f"agent_classes.{kind}"
        key = (kind, spec)
        if key not in self._classes:
            self._classes[key] = kinds.resolve(kind, spec, field)
        return self._classes[key]

    def _config(self, node: Hashable) -> tuple[type[mesa.Agent], dict[str, Any]]:
        """The node's class and its checked parameters."""
        attrs = self.network.nodes[node]
        cls = self.agent_class(node)
        return cls, kinds.node_config(attrs["kind"], cls, attrs, node_field(node))

    def _build_consumers(self) -> list[Consumer]:
        consumers = []
        for i, node in enumerate(self.topology.consumers):
            cls, config = self._config(node)
            demand = build.demand_process(self.network, node)
            demand.bind(self.stream(STREAM_DEMAND, i))
            consumers.append(cls(self, node, i, self._in_lanes(node), config, demand=demand))
        return consumers

    def _expected_demand(self, node: Hashable) -> float:
        return build.expected_demand(self.topology, self._means, node)

    def _build_firms(self) -> list[Firm]:
        self._means = [c.demand_process.mean(0) for c in self.consumers]
        firms = []
        for index, node in enumerate(self.topology.firms):
            policy, allocation, lead_time = build.firm_rules(
                self.network, self.topology, self.lanes, node, self._means
            )
            cls, config = self._config(node)
            lanes = self._in_lanes(node), self._out_lanes(node)
            firm = cls(
                self, node, index, *lanes, config,
                policy=policy, allocation=allocation, lead_time=lead_time,
            )  # fmt: skip
            firms.append(firm)
        return firms

    def _give_decision_rights(self) -> None:
        """Where the regime gives a firm's replenishment to another (VMI), hand that firm
        the rule it decides with, primed for the firm it decides for."""
        for f, m in self.regime.managers.items():
            firm, manager = self.firms[f], self.firms[m]
            name, params = self.regime.managed_rule(m, f)
            # The firm's own service target goes with it (what equal-service tuning sets).
            own, takes = self.network.nodes[firm.node]["policy_params"], POLICIES.declared(name)
            params = {**params, **{k: own[k] for k in SAFETY_PARAMS if k in own and k in takes}}
            rule = POLICIES.create(name, params, field=f"regime ({self.regime.name})")
            rule.reset(self._expected_demand(firm.node), firm.lead_time)
            firm.manager = manager
            manager.manages[f] = rule

    def _set_echelon_lead_times(self) -> None:
        """Each firm's L plus the longest L below it: the cover of an echelon policy."""
        leads = build.echelon_lead_times(self.topology, {f.node: f.lead_time for f in self.firms})
        for firm in self.firms:
            firm.situation.echelon_lead_time = leads[firm.node]

    # -- stepping -------------------------------------------------------------------
    def step(self) -> None:
        """One period: arrivals, consumers buy, firms act downstream-first, book-keeping."""
        t = self.period = self.steps - 1
        if self.disruptions:
            self.disruptions.apply(t, self._firm_by_node, self.lanes)
        for firm in self.firms:
            firm.arrive(t)
        if len(self.consumers) < 8:  # numpy adds fewer than 8 left to right, as this does
            pos = [consumer.buy(t) for consumer in self.consumers]
            total = 0.0
            for quantity in pos:
                total += quantity
        else:
            pos = self._pos
            for consumer in self.consumers:
                pos[consumer.index] = consumer.buy(t)
            total = float(pos.sum())
        self._demand_total = total
        board = self.regime.board
        board.publish_pos(t, pos)
        for firm in self.firms:
            firm.step()
            board.publish_position(t, firm.index, firm.inventory_position)
        self.book_keeping(t)
        if self.horizon is not None and self.steps >= self.horizon:
            self.running = False

    def book_keeping(self, t: int) -> None:
        """Phase 4: hand over same-period deliveries, charge costs, record."""
        for agent in self._same_period:
            agent.receive(t)
        for firm in self.firms:
            firm.close_period()
        for source in self._sources:
            self.entered += source.made  # goods enter the chain when a source makes them
        self.recorder.record(self._demand_total)
        self.datacollector.collect(self)

    # -- bookkeeping views ----------------------------------------------------------
    def ledger(self) -> dict[str, float]:
        """Where every unit that entered the chain is now (the conservation check)."""
        held = sum(f.goods_held for f in self.firms)
        return {
            "entered": self.entered,
            "held": held,
            "in_transit": sum(lane.in_transit for lane in self.lanes.values()),
            "sold": sum(c.total_bought for c in self.consumers),
            "lost": sum(f.total_lost for f in self.firms),
            "written_off": sum(f.total_written_off for f in self.firms),
        }

    def summary(self, warm_up: int | None = None) -> dict[str, float]:
        """Headline metrics of the run so far (see ``pullchain.runs.metrics``)."""
        return metrics.summary(self, warm_up)

    def timeseries(self) -> pd.DataFrame:
        """Tidy per-agent time series: one row per agent per step."""
        return self.recorder.to_frame(self.topology.tiers)

    def to_parquet(self, path: str | Path) -> Path:
        """Write ``timeseries()`` as Parquet."""
        return self.recorder.to_parquet(path, self.topology.tiers)

    # -- model-level series, for Mesa's DataCollector and SolaraViz --------------------
    def model_series(self) -> dict[str, np.ndarray]:
        """Chain totals per recorded period: consumer demand, stock, backlog, cost, orders."""
        return metrics.chain_series(self.recorder, self.topology.tiers)

    def recorded_periods(self) -> int:
        """How many periods the recorder holds."""
        return self.recorder.rows

    def _initial_series(self) -> dict[str, float]:
        out = {
            "demand": 0.0,
            "on_hand": float(sum(f.on_hand for f in self.firms)),
            "backlog": 0.0,
            "cost": 0.0,
        }
        for tier in set(self.topology.tiers.values()) - {0}:
            out[f"orders_tier{tier}"] = 0.0
        return out


def _check_seed(rng: Any) -> Any:
    """Accept an int seed (or a string of one, as Solara text fields give) or None."""
    if rng is None or isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, str):
        try:
            return int(rng.strip())
        except ValueError:
            raise ConfigError("rng", rng, "an integer seed") from None
    if isinstance(rng, bool) or not isinstance(rng, int | np.integer):
        raise ConfigError("rng", rng, "an integer seed")
    if rng < 0:
        raise ConfigError("rng", rng, "an integer seed >= 0")
    return int(rng)
