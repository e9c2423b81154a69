"""The lockstep model: one network, R replications stepped together, as arrays.

``BatchModel`` is ``SupplyChainModel`` (runs/model.py) with every state variable an array
over replications: the same four phases in the same order, the same timing, the same
book-keeping, each replication drawing from the streams its seed gives the agent model.
It is tested to record the agent model's series, replication by replication, bit for bit
(``tests/test_batch.py``); ``pullchain.runs.batch`` decides when it may be used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import networkx as nx
import numpy as np

from pullchain.network.regimes import InformationRegime
from pullchain.network.schema import validate_network
from pullchain.network.sums import PairwiseSum, ordered_sum_rows
from pullchain.network.topology import Topology

from . import build, metrics
from .batch_demand import BLOCK, BatchDemand
from .batch_disruptions import NEVER, BatchDisruptions
from .batch_firms import BatchFirm, Lane
from .batch_regime import BatchRegime
from .recorder import CONSUMER_VARIABLES, FIRM_VARIABLES


class BatchModel:
    """R replications of one network in lockstep.

    Args:
        network: a supply network (validated here unless ``validated``).
        regimes: one information regime per replication (``InformationRegime`` instances).
        seeds: one seed per replication: replication r draws the streams of seed r.
        horizon: periods to run.
        warm_up: periods left out of every summary metric.
        disruptions: outages and lead-time spikes, as for ``SupplyChainModel``.
        record_consumers: keep per-consumer series too.
        variables: the firm variables to record (all of ``FIRM_VARIABLES`` by default;
            none for a summary alone, which is summed as the run goes; a disruption's
            figures read ``SUMMARY_VARIABLES``).
        kept: the replications whose firm (and consumer) series are recorded (None: all).
        block: periods of demand drawn at a time from each consumer's stream (at most
            ``BLOCK``, as the agent model draws; fewer holds less memory).
    """

    def __init__(
        self,
        network: nx.DiGraph,
        *,
        regimes: Sequence[InformationRegime],
        seeds: Sequence[int],
        horizon: int,
        warm_up: int = 20,
        disruptions: list[Mapping[str, Any]] | None = None,
        record_consumers: bool = False,
        validated: bool = False,
        variables: Sequence[str] = FIRM_VARIABLES,
        kept: Sequence[int] | None = None,
        block: int = BLOCK,
    ) -> None:
        self.network = network if validated else validate_network(network)
        self.topology = topology = Topology(self.network)
        self.seeds = [int(s) for s in seeds]
        self.reps = reps = len(self.seeds)
        self.horizon = horizon
        self.warm_up = warm_up
        self.period = 0
        self.steps = 0
        agent_lanes = build.build_lanes(self.network, topology)
        processes = [build.demand_process(self.network, c) for c in topology.consumers]
        means = [p.mean(0) for p in processes]
        settings = {
            node: build.firm_settings(self.network, topology, agent_lanes, node, means)
            for node in topology.firms
        }
        echelon = build.echelon_lead_times(
            topology, {n: settings[n]["lead_time"] for n in topology.firms}
        )
        self.firm_edges = [(u, v) for (u, v) in agent_lanes if v in topology.firm_index]
        self.disruptions = BatchDisruptions(
            disruptions or [], topology, self.seeds, horizon, self.firm_edges
        )
        self.lanes = {
            edge: Lane(agent_lanes[edge], reps, self.disruptions.max_extra(edge))
            for edge in self.firm_edges
        }
        self._build_firms(settings, echelon, agent_lanes)
        self.regime = BatchRegime(topology, regimes, self.seeds, horizon)
        self.demand = BatchDemand(processes, self.seeds, horizon, block)
        self._build_consumers()
        self._same_period = [
            f for f in self.firms if any(lane.lead_time == 0 for lane in f.in_lanes)
        ]
        self._sources = [f for f in self.firms if f.kind == "supplier"]
        opening = self.ledger()
        self.entered = opening["held"] + opening["in_transit"]
        # Recorded per period as (variables, agents, kept replications).
        self.variables = tuple(variables)
        self.kept = {r: k for k, r in enumerate(range(reps) if kept is None else kept)}
        self._kept = None if kept is None else np.array(list(self.kept), dtype=np.intp)
        n_kept = len(self.kept)
        self.data = np.zeros((horizon, len(self.variables), len(self.firms), n_kept))
        self.consumer_data = (
            np.zeros((horizon, len(CONSUMER_VARIABLES), len(self.consumer_nodes), n_kept))
            if record_consumers
            else None
        )
        self.total_demand = np.zeros((reps, horizon))
        self.rows = 0
        self._start_sums()

    def _build_firms(self, settings: dict, echelon: dict, agent_lanes: dict) -> None:
        topology = self.topology
        self.firms: list[BatchFirm] = []
        self._consumer_lane_of: list[tuple[int, np.ndarray]] = []  # per firm: global lane ids
        n_consumer_lanes = 0
        for index, node in enumerate(topology.firms):
            customers = topology.customers(node)
            out = [self.lanes.get((node, c)) for c in customers]
            consumer_pos = [i for i, lane in enumerate(out) if lane is None]
            consumers = np.array(
                [topology.consumer_index[customers[i]] for i in consumer_pos], dtype=np.intp
            )
            shares = np.array([topology.shares[node, customers[i]] for i in consumer_pos])
            attrs = self.network.nodes[node]
            firm = BatchFirm(
                index=index, node=node, kind=attrs["kind"], settings=settings[node],
                agent_in=build.in_lanes(agent_lanes, topology, node),
                lanes_in=[self.lanes[u, node] for u in topology.suppliers(node)],
                out_lanes=out, consumers=consumers, consumer_shares=shares,
                promotion=(attrs["promotion_every"], attrs["promotion_length"],
                           attrs["promotion_discount"]),
                echelon_lead_time=echelon[node], reps=self.reps, horizon=self.horizon,
            )  # fmt: skip
            ids = np.arange(n_consumer_lanes, n_consumer_lanes + len(consumer_pos))
            n_consumer_lanes += len(consumer_pos)
            self._consumer_lane_of.append((index, ids))
            self.firms.append(firm)
        self._to_consumers = np.zeros((n_consumer_lanes, self.reps))
        self._lane_id = {}
        for (_, ids), node in zip(self._consumer_lane_of, topology.firms, strict=True):
            customers = [c for c in topology.customers(node) if c in topology.consumer_index]
            for lane_id, c in zip(ids, customers, strict=True):
                self._lane_id[node, c] = int(lane_id)

    def _build_consumers(self) -> None:
        topology = self.topology
        self.consumer_nodes = list(topology.consumers)
        n = len(self.consumer_nodes)
        self.backorder = np.array([self.network.nodes[c]["backorder"] for c in self.consumer_nodes])
        # Each consumer's lanes, in its in-lane order (graph order of its retailers).
        lanes = [[self._lane_id[u, c] for u in topology.suppliers(c)] for c in self.consumer_nodes]
        width = max((len(x) for x in lanes), default=0)
        self._consumer_lanes = np.full((width, n), -1, dtype=np.intp)
        for i, ids in enumerate(lanes):
            self._consumer_lanes[: len(ids), i] = ids
        zeros = np.zeros((n, self.reps))
        self.consumer_demand = zeros
        self.bought = zeros
        self.total_bought = zeros.copy()
        self.total_consumer_demand = zeros.copy()

    # -- stepping ------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.steps < self.horizon

    def run(self) -> BatchModel:
        """Step to the horizon."""
        while self.running:
            self.step()
        return self

    def step(self) -> None:
        """One period: arrivals, consumers buy, firms act downstream-first, book-keeping."""
        t = self.period = self.steps
        if self.disruptions.any:
            down, extra = self.disruptions.apply(t, len(self.firms), len(self.firm_edges))
            for f, firm in enumerate(self.firms):
                firm.down = down[f]
                firm.down_any = bool(firm.down.any())
            for k, edge in enumerate(self.firm_edges):
                self.lanes[edge].extra = extra[k]
        for firm in self.firms:
            firm.arrive(t)
        demand = self.demand.draw(t)
        self.consumer_demand = demand
        self.bought = np.zeros_like(demand)
        self.total_consumer_demand = self.total_consumer_demand + demand
        self.regime.publish_pos(t, demand)
        to_consumers = self._to_consumers
        to_consumers[:] = 0.0
        for firm, (_, ids) in zip(self.firms, self._consumer_lane_of, strict=True):
            firm.take_orders(t, demand)
            shipped = to_consumers[ids] if len(ids) else None
            firm.fill_orders(t, self.regime, shipped)
            if len(ids):
                to_consumers[ids] = shipped
            firm.count_backlog()
            firm.place_order(t, firm.decide(t, self.regime))
            self.after_turn(firm, t)
            self.regime.publish_position(t, firm.index, firm.inventory_position)
        self._book_keeping(t, demand)
        self.steps += 1

    def after_turn(self, firm: BatchFirm, t: int) -> None:
        """Called after each firm's turn, before its position is published (a hook for
        tests that perturb private data, as an agent subclass would)."""

    def _book_keeping(self, t: int, demand: np.ndarray) -> None:
        """Phase 4: same-period deliveries, costs, and the record of the period."""
        for firm in self._same_period:
            firm.receive(t)
        got = np.zeros_like(demand)
        padded = np.vstack([self._to_consumers, np.zeros((1, self.reps))])
        for row in self._consumer_lanes:  # each consumer's lanes, in order
            got = got + padded[row]
        self.bought = got
        self.total_bought = self.total_bought + got
        for firm in self.firms:
            firm.close_period(t)
        for source in self._sources:
            self.entered = self.entered + source.made
        self._record(t, demand)

    def _start_sums(self) -> None:
        """What the summary reads, summed as the run goes (``metrics.Summed``): every
        firm series over the periods after the warm-up, in numpy's order, as the agent
        model's summary sums its recorded series; the chain's stock and backlog; the
        orders of each tier, period by period."""
        reps, n_firms = self.reps, len(self.firms)
        self.firm_info = metrics.Firms.of(self.firms, self.topology.tiers)
        self.summed_from = min(self.warm_up, max(self.horizon - 2, 0))
        periods = self.horizon - self.summed_from
        self._sums = PairwiseSum(periods, (len(metrics.SERIES), n_firms, reps))
        self._chain = PairwiseSum(periods, (2, reps))  # on hand, backlog of all firms
        self._orders_placed = np.zeros((n_firms, reps))
        self._tiers = self.firm_info.by_tier()
        self.tier_data = np.zeros((self.horizon, len(self._tiers), reps))

    def _record(self, t: int, demand: np.ndarray) -> None:
        firms, kept = self.firms, self._kept
        if self.variables:
            row = self.data[t]
            for f, firm in enumerate(firms):
                for v, name in enumerate(self.variables):
                    x = getattr(firm, name)
                    row[v, f] = x if kept is None else x[kept]
        for k, cols in enumerate(self._tiers.values()):
            self.tier_data[t, k] = _left_to_right([firms[j].ordered for j in cols])
        if t >= self.summed_from:
            target, adding = self._sums.target()
            for f, firm in enumerate(firms):
                for v, name in enumerate(metrics.SERIES):
                    if adding:
                        target[v, f] += getattr(firm, name)
                    else:
                        target[v, f] = getattr(firm, name)
                self._orders_placed[f] += firm.ordered > 0
            self._sums.advance()
            target, adding = self._chain.target()
            for v, name in enumerate(("on_hand", "backlog")):
                total = _left_to_right([getattr(firm, name) for firm in firms])
                if adding:
                    target[v] += total
                else:
                    target[v] = total
            self._chain.advance()
        self.total_demand[:, t] = np.ascontiguousarray(demand.T).sum(axis=1)
        if self.consumer_data is not None:
            waiting = np.where(
                self.backorder[:, None], self.total_consumer_demand - self.total_bought, 0.0
            )
            rows = np.stack([demand, self.bought, waiting])
            self.consumer_data[t] = rows if kept is None else rows[:, :, kept]
        self.rows = t + 1

    def series(self, variable: str) -> np.ndarray:
        """One recorded firm variable of the kept replications: (kept, firms, periods)."""
        v = self.variables.index(variable)
        return np.ascontiguousarray(self.data[: self.rows, v].transpose(2, 1, 0))

    def record(self) -> metrics.Summed:
        """What the metrics read, for every replication at once: the sums taken as the
        run went, and the firm series kept (a run's summary is taken at its horizon)."""
        if self.rows != self.horizon:
            raise ValueError(f"a batch is summarised at its horizon, {self.horizon}, "
                             f"not at period {self.rows}")  # fmt: skip
        sums, chain = self._sums.total(), self._chain.total()
        return metrics.Summed.of(
            self.data,
            self.variables,
            demand=self.total_demand,
            firms=self.firm_info,
            warm_up=self.warm_up,
            shock_start=self.first_start(),
            summed_from=self.summed_from,
            sums={v: sums[k].T for k, v in enumerate(metrics.SERIES)},
            orders_placed=self._orders_placed.T,
            chain_sums={"on_hand": chain[0], "backlog": chain[1]},
            tier_series={
                tier: np.ascontiguousarray(self.tier_data[:, k].T)
                for k, tier in enumerate(self._tiers)
            },
            kept=self.kept,
        )

    def summaries(self) -> dict[str, np.ndarray]:
        """Every summary metric, one value per replication (``metrics.summaries``)."""
        return metrics.summaries(self.record())

    # -- bookkeeping views -----------------------------------------------------------------------
    def ledger(self) -> dict[str, np.ndarray]:
        """Where every unit that entered the chain is, per replication (conservation)."""
        held = ordered_sum_rows(np.array([f.goods_held for f in self.firms]))
        transit = [lane.in_transit for lane in self.lanes.values()]
        zeros = np.zeros(self.reps)
        return {
            "entered": getattr(self, "entered", zeros),
            "held": held,
            "in_transit": ordered_sum_rows(np.array(transit)) if transit else zeros,
            "sold": ordered_sum_rows(self.total_bought) if len(self.total_bought) else zeros,
            "lost": zeros,
            "written_off": ordered_sum_rows(np.array([f.total_written_off for f in self.firms])),
        }

    def first_start(self) -> list[int | None]:
        """Per replication, the period the first disruption began (None: none did)."""
        return [None if s == NEVER else int(s) for s in self.disruptions.first_start]


SUMMARY_VARIABLES = tuple(v for v in FIRM_VARIABLES if v in metrics.SERIES)
"""The firm variables the summary (a disruption's figures) and the model-level series read."""


def _left_to_right(terms: list[np.ndarray]) -> np.ndarray:
    """x_0 + x_1 + ...: the first term itself, then each added (``sums.running_total``)."""
    total = np.array(terms[0], dtype=float)
    for x in terms[1:]:
        total += x
    return total
