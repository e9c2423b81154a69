"""Who sees what, for many replications at once: the information regime in lockstep.

The twin of ``pullchain.network.regimes.InformationRegime``. Each replication has its own
regime and knobs (so both regimes of a paired comparison run in one batch) and its own
participants, drawn from its own regime stream as ``InformationRegime.bind`` draws them.
Where the agent model's regime keeps, per firm, the consumers whose point-of-sale data it
sees and the firms whose stock it sees, this keeps the same per replication as masks and
weights over all the candidates; a candidate a replication does not see adds an exact 0.0
to a sum added left to right, so every observation is the agent's, bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pullchain.network.regimes import InformationRegime, draw_participants
from pullchain.network.sums import ordered_sum_rows
from pullchain.network.topology import Topology

from .streams import STREAM_REGIME, stream


@dataclass
class FirmView:
    """What one firm may see, per replication."""

    lane_customer: list  # per out-lane: the customer's firm index, or None for a consumer
    covered: np.ndarray  # (lanes, R): the lane's POS demand replaces its orders
    sees_pos: np.ndarray  # (R,): some lane is covered
    uses_sales: np.ndarray  # (R,): takes part and sales are shared (needs are visible)
    consumers: np.ndarray  # indices of every consumer any of its lanes could cover
    weights: np.ndarray  # (len(consumers), R): its echelon POS weights, 0 where not seen
    lane_weights: list  # per out-lane: (positions in ``consumers``, weights) or None
    below: np.ndarray  # firm indices whose stock it could see, in processing order
    below_shares: np.ndarray  # the fraction of each one's supply that comes from it
    sees_below: np.ndarray  # (len(below), R)

    def __post_init__(self) -> None:
        self.any_pos = bool(self.sees_pos.any())


class BatchRegime:
    """The regimes of a batch's replications, and the board of what the chain publishes."""

    def __init__(
        self,
        topology: Topology,
        regimes: Sequence[InformationRegime],
        seeds: Sequence[int],
        horizon: int,
    ) -> None:
        reps = len(seeds)
        firms = topology.firms
        self.reps = reps
        self.share_sales = np.array([g.share_sales for g in regimes])
        self.share_stock = np.array([g.share_stock for g in regimes])
        self.delay = np.array([g.delay for g in regimes], dtype=np.intp)
        # Rows for the data a delay keeps (no more than the run has periods: data older
        # than the run is never seen).
        self.depth = min(int(self.delay.max()) + 1, max(horizon, 1))
        self.same_delay = bool((self.delay == self.delay[0]).all())
        self.participating = np.zeros((len(firms), reps), dtype=bool)
        for r, (g, seed) in enumerate(zip(regimes, seeds, strict=True)):
            k = round(g.participation * len(firms))
            if 0 < k < len(firms):  # else the draw does not matter (all or none)
                rng = stream(seed, STREAM_REGIME)
                self.participating[:, r] = draw_participants(topology, g.participation, rng)
            elif k == len(firms):
                self.participating[:, r] = True
        self.pos = np.zeros((self.depth, len(topology.consumers), reps))
        self.positions = np.zeros((self.depth, len(firms), reps))
        self.views = self._views(topology)
        self._seen_at: tuple = (-1, None)

    def _views(self, topology: Topology) -> list[FirmView]:
        covered: dict = {}
        for firm in topology.firms:  # customers first, as InformationRegime._covered
            f = topology.firm_index[firm]
            ok = self.participating[f].copy()
            for c in topology.customers(firm):
                if topology.kind(c) != "consumer":
                    ok &= covered[c]
            covered[firm] = ok
        views = []
        for f, firm in enumerate(topology.firms):
            uses = self.participating[f]
            uses_sales = uses & self.share_sales
            customers = topology.customers(firm)
            lane_customer, lane_cov, lanes = [], [], []
            for c in customers:
                is_firm = topology.kind(c) != "consumer"
                lane_customer.append(topology.firm_index[c] if is_firm else None)
                lane_cov.append(uses_sales & covered[c] if is_firm else np.zeros_like(uses))
                lanes.append(topology.lane_weights(firm, c) if is_firm else None)
            union = sorted({int(i) for lw in lanes if lw is not None for i in lw[0]})
            where = {i: k for k, i in enumerate(union)}
            weights = np.zeros((len(union), self.reps))
            lane_weights = []
            for lw, cov in zip(lanes, lane_cov, strict=True):
                if lw is None:
                    lane_weights.append(None)
                    continue
                at = np.array([where[int(i)] for i in lw[0]], dtype=np.intp)
                lane_weights.append((at, lw[1]))
                # acc[i] = acc.get(i, 0.0) + w_i over covered lanes, in lane order
                weights[at] += np.where(cov[None, :], lw[1][:, None], 0.0)
            fractions = topology.supply_fractions(firm)
            below = sorted(fractions, key=topology.firm_index.__getitem__)
            below_idx = np.array([topology.firm_index[d] for d in below], dtype=np.intp)
            sees = uses & self.share_stock
            views.append(
                FirmView(
                    lane_customer=lane_customer,
                    covered=np.array(lane_cov).reshape(len(customers), self.reps),
                    sees_pos=np.array(lane_cov).reshape(len(customers), self.reps).any(axis=0),
                    uses_sales=uses_sales,
                    consumers=np.array(union, dtype=np.intp),
                    weights=weights,
                    lane_weights=lane_weights,
                    below=below_idx,
                    below_shares=np.array([fractions[d] for d in below]),
                    sees_below=sees[None, :] & self.participating[below_idx],
                )
            )
        return views

    # -- the board ------------------------------------------------------------------------------
    def publish_pos(self, t: int, demand: np.ndarray) -> None:
        self.pos[t % self.depth] = demand

    def publish_position(self, t: int, f: int, position: np.ndarray) -> None:
        self.positions[t % self.depth, f] = position

    def _seen(self, t: int) -> tuple[np.ndarray, np.ndarray | int]:
        """Whether the data of period t - delay exists, and the board slot holding it."""
        if self._seen_at[0] != t:
            seen = t - self.delay
            slot = int(seen[0]) % self.depth if self.same_delay else seen % self.depth
            self._seen_at = (t, (seen >= 0, slot))
        return self._seen_at[1]

    def _board(self, board: np.ndarray, slot, rows: np.ndarray) -> np.ndarray:
        """board[slot_r, rows, r] for every replication r: (len(rows), R)."""
        if isinstance(slot, int):
            return board[slot][rows]
        return board[slot[None, :], rows[:, None], np.arange(self.reps)[None, :]]

    # -- what a firm sees -----------------------------------------------------------------------
    def signal(self, f: int, t: int, orders: np.ndarray, total: np.ndarray) -> np.ndarray:
        """The demand signal: echelon POS demand plus the orders of uncovered lanes, where
        POS is seen; the firm's total orders elsewhere (``InformationRegime.observe``)."""
        view = self.views[f]
        if not view.any_pos:
            return total
        ok, slot = self._seen(t)
        has = view.sees_pos & ok
        if not has.any():
            return total
        pos = ordered_sum_rows(self._board(self.pos, slot, view.consumers) * view.weights)
        rest = ordered_sum_rows(np.where(view.covered, 0.0, orders))
        return np.where(has, pos + rest, total)

    def downstream(self, f: int, t: int) -> tuple[np.ndarray | None, np.ndarray | None]:
        """sum_d f_d IP_d over the visible firms below, and where any is visible."""
        view = self.views[f]
        ok, slot = self._seen(t)
        visible = view.sees_below.any(axis=0) & ok if len(view.below) else None
        if visible is None or not visible.any():
            return None, visible
        ip = self._board(self.positions, slot, view.below)
        terms = np.where(view.sees_below, ip * view.below_shares[:, None], 0.0)
        return ordered_sum_rows(terms), visible

    def needs(self, f: int, t: int, orders: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each lane's true need (``InformationRegime.needs``), and where needs are visible."""
        view = self.views[f]
        ok, slot = self._seen(t)
        visible = view.uses_sales & ok
        out = orders.copy()
        if not visible.any():
            return out, visible
        pos = self._board(self.pos, slot, view.consumers)
        for i, lw in enumerate(view.lane_weights):
            if lw is not None and view.covered[i].any():
                need = ordered_sum_rows(pos[lw[0]] * lw[1][:, None])
                out[i] = np.where(view.covered[i], need, orders[i])
        return out, visible
