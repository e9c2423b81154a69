"""Firms and the lanes between them, for many replications at once.

The lockstep twins of ``pullchain.agents.firms`` and ``pullchain.network.lanes``: every
state variable is an array with one value per replication (a lane's queues, and a
firm's per-customer claims, one row per slot or lane), and each phase of a period is
the agent method of the same name, written with the same operations in the same order.
Where the agent code skips an addition (``if quantity: ...``) this adds an exact 0.0,
which leaves a float unchanged; where it branches, this computes both sides and picks
per replication.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pullchain.agents.allocation import ByNeed, FirstComeFirstServed
from pullchain.network.lanes import Lane as AgentLane
from pullchain.network.sums import ordered_sum_rows

from .batch_allocation import RULES
from .batch_policies import Shaping, Situation, lockstep_policy
from .batch_regime import BatchRegime

FIRM_KINDS_PRODUCING = ("brand", "supplier")


class Lane:
    """Orders and goods in transit on one firm -> firm edge, keyed by period of arrival,
    as rings of slots (``Lane.orders`` and ``Lane.shipments`` are dicts by period)."""

    def __init__(self, agent: AgentLane, reps: int, max_extra: int) -> None:
        self.lead_time = agent.lead_time
        self.order_delay = agent.order_delay
        self.share = agent.share
        self.price = agent.price
        self.agent = agent  # for on_promotion / price_at, which depend only on the period
        self.orders = np.zeros((agent.order_delay + 1, reps))
        for t, q in agent.orders.items():
            self.orders[t % len(self.orders)] += q
        self.shipments = np.zeros((agent.lead_time + max_extra + 1, reps))
        for t, q in agent.shipments.items():
            self.shipments[t % len(self.shipments)] += q
        self.value = np.zeros(reps)  # invoiced this period (bought as shipped, paid at once)
        self.last_fill = np.ones(reps)
        self.extra = np.zeros(reps, dtype=np.int64)
        self.may_be_late = max_extra > 0  # a disruption can add to the lead time
        self._columns = np.arange(reps)
        # Cancellations travel like orders; the supplier answers with what it cancelled.
        self.gamed = False  # the buyer games, so cancellations can come (set by the buyer)
        self.cancels = np.zeros_like(self.orders)
        self.cancel_answered = np.zeros(reps)
        self.cancel_done = np.zeros(reps)

    def send_order(self, period: int, quantity: np.ndarray) -> None:
        self.orders[(period + self.order_delay) % len(self.orders)] += quantity

    def take_orders(self, period: int, into: np.ndarray) -> None:
        """Move the orders that reach the supplier now into ``into``."""
        slot = period % len(self.orders)
        into[:] = self.orders[slot]
        self.orders[slot] = 0.0

    def ship(self, period: int, quantity: np.ndarray) -> None:
        if self.may_be_late:
            due = (period + self.lead_time + self.extra) % len(self.shipments)
            self.shipments[due, self._columns] += quantity
        else:
            self.shipments[(period + self.lead_time) % len(self.shipments)] += quantity

    def take_delivery(self, period: int) -> np.ndarray:
        slot = period % len(self.shipments)
        q = self.shipments[slot].copy()
        self.shipments[slot] = 0.0
        return q

    def send_cancel(self, period: int, quantity: np.ndarray) -> None:
        self.cancels[(period + self.order_delay) % len(self.cancels)] += quantity

    def take_cancels(self, period: int) -> np.ndarray:
        slot = period % len(self.cancels)
        asked = self.cancels[slot].copy()
        self.cancels[slot] = 0.0
        return asked

    @staticmethod
    def _in_order(ring: np.ndarray, period: int) -> np.ndarray:
        """The ring's slots added in order of arrival from ``period`` (``Lane.in_transit``
        adds its dict's entries sorted by period; an empty slot adds 0.0)."""
        n = len(ring)
        return ordered_sum_rows(ring[[(period + k) % n for k in range(n)]])

    def in_transit_at(self, period: int) -> np.ndarray:
        return self._in_order(self.shipments, period)

    def orders_in_transit_at(self, period: int) -> np.ndarray:
        return self._in_order(self.orders, period)

    @property
    def in_transit(self) -> np.ndarray:
        return ordered_sum_rows(self.shipments)

    @property
    def orders_in_transit(self) -> np.ndarray:
        return ordered_sum_rows(self.orders)


class BatchFirm:
    """One firm of the network in every replication: ``pullchain.agents.firms.Firm`` and
    its kinds, phase by phase."""

    def __init__(
        self,
        *,
        index: int,
        node: Any,
        kind: str,
        settings: dict[str, Any],
        agent_in: list[AgentLane],
        lanes_in: list[Lane],
        out_lanes: list[Lane | None],
        consumers: np.ndarray,
        consumer_shares: np.ndarray,
        promotion: tuple[int, int, float],
        echelon_lead_time: float,
        reps: int,
        horizon: int,
    ) -> None:
        s = settings
        self.index, self.node, self.kind = index, node, kind
        self.reps = reps
        self.in_lanes = lanes_in
        self.out_lanes = out_lanes  # per customer lane: a firm lane, or None for a consumer
        self.n_out = len(out_lanes)
        self.firm_out = [(i, lane) for i, lane in enumerate(out_lanes) if lane is not None]
        self.to_consumers = np.array([i for i, lane in enumerate(out_lanes) if lane is None])
        self.consumers = consumers  # consumer index of each consumer lane
        self.consumer_shares = consumer_shares
        self.holding_cost, self.backlog_cost = s["holding_cost"], s["backlog_cost"]
        self.allow_returns = s["allow_returns"]
        self.in_transit_holding = s.get("in_transit_holding", False)
        self.lead_time, self.echelon_lead_time = s["lead_time"], echelon_lead_time
        self.price, self.cost_of_capital = s["price"], s["cost_of_capital"]
        self.promotion = promotion  # as a seller: (every, length, discount)
        self.order_cost, self.season_end = s["order_cost"], s["season_end"]
        self.salvage_value = s["salvage_value"]
        self.policy = lockstep_policy(s["policy"], reps)
        self.sees_below = getattr(self.policy, "needs_downstream", False)
        self.allocate = RULES[type(s["allocation"])]
        self.by_age = self.allocate is RULES[FirstComeFirstServed]  # reads owed_since
        self.by_need = self.allocate is RULES[ByNeed]  # reads the regime's needs
        shaping = s["shaping"]
        self.shaping = Shaping(shaping, reps, index, self.allow_returns) if shaping.active else None
        self.games = shaping.gaming > 1
        self.review_period = shaping.review_period
        for lane in lanes_in:
            lane.gamed = self.games
        self.promotion_ahead = [lane.agent for lane in lanes_in]
        self.producer = kind in FIRM_KINDS_PRODUCING
        self.unit_cost = s.get("unit_cost", 0.0)
        # What a unit on the shelf cost: Firm.unit_value (Brand adds the cost of making,
        # a Supplier's is the cost of making).
        bought = sum(lane.share * lane.price for lane in agent_in)
        self.unit_value = {"brand": bought + self.unit_cost, "supplier": self.unit_cost}.get(
            kind, bought
        )
        zeros = np.zeros(reps)
        self.on_hand = zeros + float(s["initial_stock"])
        self.owed = np.zeros((self.n_out, reps))
        self.owed_since = np.zeros((self.n_out, reps), dtype=np.int64)
        self.orders_in = np.zeros((self.n_out, reps))
        supply_line = sum(lane.orders_in_transit + lane.in_transit for lane in agent_in)
        self.queue = zeros.copy()
        self.in_production = None
        if self.producer:
            self.capacity = s["capacity"]
            self.production_lead_time = plt = s["production_lead_time"]
            started = (  # as Producer: no loop over empty slots
                dict.fromkeys(range(plt), float(s["initial_in_production"]))
                if s["initial_in_production"]
                else {}
            )
            if plt:
                self.in_production = np.zeros((plt + 1, reps))
                self.in_production[:plt] = float(s["initial_in_production"])
            supply_line += sum(started.values())
            if kind == "supplier":  # the production request decided last period
                self.queue = zeros + float(s["initial_in_production"])
                supply_line += float(s["initial_in_production"])
        self.supply_line = zeros + supply_line
        self.rationed = np.zeros(reps, dtype=bool)
        self.down = np.zeros(reps, dtype=bool)
        self.down_any = False
        self.cancelling = zeros.copy()  # cancellations sent and not yet answered
        self.in_transit_charged = zeros.copy()  # shipped, not yet delivered, and charged
        self.cost = zeros.copy()
        self.total_written_off = zeros.copy()
        self.net_owed = zeros.copy()
        self.backlog = zeros.copy()
        self._retailer(s, horizon)
        self.start_period()

    def _retailer(self, s: dict[str, Any], horizon: int) -> None:
        """Consumers who walk away, and those who wait a while (``Retailer``)."""
        self.lost_sale_cost = s.get("lost_sale_cost", 0.0)
        backorder = s.get("backorder", [True] * self.n_out)
        patience = s.get("patience", [-1] * self.n_out)
        self.impatient = np.array([i for i, b in enumerate(backorder) if not b], dtype=np.intp)
        waiting = [i for i in range(self.n_out) if backorder[i] and patience[i] >= 0]
        self.waiting = np.array(waiting, dtype=np.intp)
        self.patience = np.array([patience[i] for i in waiting], dtype=np.int64)
        if len(waiting):
            # A slot per period an order may wait (none waits longer than the run).
            slots = min(int(self.patience.max()) + 1, horizon + 1)
            # Unfilled orders by period placed: remaining units, and whether the entry lives.
            self.wait_left = np.zeros((slots, len(waiting), self.reps))
            self.wait_alive = np.zeros((slots, len(waiting), self.reps), dtype=bool)

    # -- the period, phase by phase ------------------------------------------------------------
    def start_period(self) -> None:
        z = np.zeros(self.reps)
        self.received, self.demand, self.shipped, self.filled = z, z, z, z
        self.ordered, self.lost_sales, self.written_off, self.made = z, z, z, z
        self.purchases, self.revenue, self.period_cost = z, z, z

    def arrive(self, period: int) -> None:
        """Phase 1: production due now, deliveries, then production starts (producers)."""
        self.start_period()
        if self.in_production is not None:
            slot = period % len(self.in_production)
            done = self.in_production[slot].copy()
            self.in_production[slot] = 0.0
            self.on_hand = self.on_hand + done
            self.supply_line = self.supply_line - done
        self.receive(period)
        if self.producer:
            self.produce(period)

    def receive(self, period: int) -> None:
        """Take in the deliveries due now (phase 1, and phase 4 for lead time 0)."""
        for lane in self.in_lanes:
            q = lane.take_delivery(period)
            self.received = self.received + q
            if self.kind == "brand":  # materials wait for production capacity
                self.queue = self.queue + q
            else:
                self.on_hand = self.on_hand + q
                self.supply_line = self.supply_line - q
            if lane.gamed:  # what was cancelled leaves the supply line
                self.cancelling = self.cancelling - lane.cancel_answered
                self.supply_line = self.supply_line - lane.cancel_done
                lane.cancel_answered = np.zeros(self.reps)
                lane.cancel_done = np.zeros(self.reps)

    def produce(self, period: int) -> None:
        start = np.minimum(self.queue, self.capacity)
        start = np.where((start <= 0) | self.down, 0.0, start)
        self.queue = self.queue - start
        self.made = self.made + start
        if self.production_lead_time == 0:
            self.on_hand = self.on_hand + start
            self.supply_line = self.supply_line - start
        else:
            due = (period + self.production_lead_time) % len(self.in_production)
            self.in_production[due] += start

    def take_orders(self, period: int, demand: np.ndarray) -> None:
        """Read the orders that reach the firm now (``demand``: the consumers' this period)."""
        if len(self.firm_out):
            q = np.empty((self.n_out, self.reps))
            if len(self.to_consumers):
                q[self.to_consumers] = demand[self.consumers] * self.consumer_shares[:, None]
            for i, lane in self.firm_out:
                lane.take_orders(period, q[i])
                if lane.gamed:  # a customer's cancellation, up to what is still owed
                    self._apply_cancel(i, lane, period)
        else:
            q = demand[self.consumers] * self.consumer_shares[:, None]
        before = self.owed
        if self.by_age:  # when the oldest unfilled order arrived
            since = (q != 0) & (before <= 0) & (q + before > 0)
            self.owed_since = np.where(since, period, self.owed_since)
        self.owed = before + q
        self.orders_in = q
        self.demand = ordered_sum_rows(q)  # 0.0 + the sum: the agent's self.demand += demand
        if len(self.waiting):
            new = q[self.waiting]
            slot = period % len(self.wait_left)
            self.wait_left[slot] = np.where(new > 0, new, 0.0)
            self.wait_alive[slot] = new > 0

    def _apply_cancel(self, i: int, lane: Lane, period: int) -> None:
        """As supplier: cancel what a customer asks, up to what is still owed to it."""
        asked = lane.take_cancels(period)
        done = np.where(asked != 0, np.minimum(asked, np.maximum(self.owed[i], 0.0)), 0.0)
        self.owed[i] = self.owed[i] - done
        lane.cancel_answered = lane.cancel_answered + asked
        lane.cancel_done = lane.cancel_done + done

    def fill_orders(self, period: int, regime: BatchRegime, consumer_lanes: np.ndarray) -> None:
        """Ship what is owed from stock, sharing out by the allocation rule when short;
        ``consumer_lanes`` gets what goes to each consumer lane."""
        owed = self.owed
        positive = np.where(owed > 0, owed, 0.0)
        total = ordered_sum_rows(positive)
        acts = total > 0
        if self.down_any:  # a disruption stops it shipping
            acts &= ~self.down
        if self.kind == "retailer" and len(self.waiting):
            before = owed[self.waiting]
        if acts.any():
            self._ship(period, regime, owed, positive, total, acts, consumer_lanes)
        if self.kind == "retailer":
            self._lose_sales(period, before if len(self.waiting) else None)

    def _ship(self, period, regime, owed, positive, total, acts, consumer_lanes) -> None:
        backlog_before = total - self.demand
        full = acts & (total <= self.on_hand)
        if full.all():  # nobody short: every claim in full
            ship = positive
            if self.rationed.any():  # packing slips say: all of it, again
                for _, lane in self.firm_out:
                    lane.last_fill = np.where(self.rationed, 1.0, lane.last_fill)
                self.rationed = np.zeros(self.reps, dtype=bool)
        else:
            ship = self._share_out(period, regime, owed, positive, acts, full)
        if self.price:
            price = self.out_price(period)
            self.revenue = self.revenue + ordered_sum_rows(ship * price)
        for i, lane in self.firm_out:
            lane.ship(period, ship[i])
            if lane.price:
                lane.value = lane.value + ship[i] * price
        if len(self.to_consumers):
            consumer_lanes[:] = ship[self.to_consumers]
        self.owed = owed - ship
        shipped = ordered_sum_rows(ship)
        on_hand = self.on_hand - shipped
        everyone = acts.all()
        dust = (on_hand < 0) if everyone else acts & (on_hand < 0)  # float dust
        self.on_hand = np.where(dust, 0.0, on_hand)
        self.shipped = shipped
        filled = np.minimum(np.maximum(shipped - np.maximum(backlog_before, 0.0), 0.0), self.demand)
        self.filled = filled if everyone else np.where(acts, filled, 0.0)

    def _share_out(self, period, regime, owed, positive, acts, full) -> np.ndarray:
        """What to ship where some replications are short: the allocation rule there."""
        short = acts & ~full
        ship = np.where(full, positive, 0.0)
        if short.any():
            if self.by_need:
                needs, visible = regime.needs(self.index, period, self.orders_in)
            else:
                needs = visible = None
            shared = self.allocate(self.on_hand, owed, self.owed_since, needs, visible)
            ship = np.where(short, shared, ship)
            fraction = np.where(owed > 0, ship / np.where(owed > 0, owed, 1.0), 1.0)
            for i, lane in self.firm_out:
                lane.last_fill = np.where(short, fraction[i], lane.last_fill)
        relieved = full & self.rationed  # packing slips say: all of it, again
        if relieved.any():
            for _, lane in self.firm_out:
                lane.last_fill = np.where(relieved, 1.0, lane.last_fill)
        self.rationed = np.where(full, False, np.where(short, True, self.rationed))
        return np.where(ship > 0, ship, 0.0)

    def out_price(self, period: int) -> float:
        """The firm's unit price in ``period``, promotions included (``Lane.price_at``)."""
        every, length, discount = self.promotion
        if every > 0 and discount > 0 and period % every < length:
            return self.price * (1 - discount)
        return self.price

    def _lose_sales(self, period: int, before: np.ndarray | None) -> None:
        """``Retailer.fill_orders``: consumers who do not wait take their unmet demand
        elsewhere; waiting consumers are served oldest first and leave after their patience."""
        if len(self.impatient):
            owed = self.owed[self.impatient]
            lost = np.where(owed > 0, owed, 0.0)
            self.lost_sales = ordered_sum_rows(np.concatenate([self.lost_sales[None], lost]))
            self.owed[self.impatient] = np.where(owed > 0, 0.0, owed)
        if before is None:
            return
        served = before - self.owed[self.waiting]
        slots = len(self.wait_left)
        left, alive = self.wait_left, self.wait_alive
        for p in range(period - slots + 1, period + 1):  # oldest first
            s = p % slots
            here = alive[s] & (served > 0)
            take = np.minimum(left[s], served)
            left[s] = np.where(here, left[s] - take, left[s])
            served = np.where(here, served - take, served)
            alive[s] &= ~(here & (left[s] <= 1e-12))
        owed = self.owed[self.waiting]
        lost = np.zeros_like(owed)
        for p in range(period - slots + 1, period + 1):
            s = p % slots
            gone = alive[s] & ((period - p) >= self.patience)[:, None]
            lose = np.minimum(left[s], np.maximum(owed, 0.0))
            lost = np.where(gone, lose, lost)
            owed = np.where(gone, owed - lose, owed)
            alive[s] &= ~gone
        self.owed[self.waiting] = owed
        self.lost_sales = ordered_sum_rows(np.concatenate([self.lost_sales[None], lost]))

    def count_backlog(self) -> None:
        owed = self.owed
        self.net_owed = ordered_sum_rows(owed)
        self.backlog = ordered_sum_rows(np.where(owed > 0, owed, 0.0))

    @property
    def inventory_position(self) -> np.ndarray:
        return self.on_hand - self.net_owed + self.supply_line

    def decide(self, period: int, regime: BatchRegime) -> np.ndarray:
        """The quantity to order (``Firm.decide``): the policy's answer, shaped or clipped."""
        if 0 <= self.season_end <= period:
            return np.zeros(self.reps)  # the season is over
        # self.demand is the sum of the orders that reached the firm: the regime's total.
        signal = self.signal = regime.signal(self.index, period, self.orders_in, self.demand)
        situation = Situation(
            period, self.lead_time, self.echelon_lead_time, self.review_period, self.on_hand,
            self.backlog, self.backlog - self.net_owed, self.supply_line, signal, self.demand,
        )  # fmt: skip
        if self.sees_below:
            situation.downstream, situation.visible = regime.downstream(self.index, period)
        if self.games:  # phantom orders and pending cancellations are not supply
            situation.supply_line = self.supply_line - (self.shaping.phantom + self.cancelling)
        quantity = self.policy.order(situation)
        if self.shaping is not None:
            promoting = any(lane.on_promotion(period + lane.order_delay)
                            for lane in self.promotion_ahead)  # fmt: skip
            quantity = self.shaping.shape(period, quantity, signal, promoting)
            if self.games:
                quantity = self._game(period, quantity)
            return quantity
        if not self.allow_returns:
            return np.where(quantity < 0, 0.0, quantity)
        return quantity

    def _game(self, period: int, quantity: np.ndarray) -> np.ndarray:
        """``OrderShaping._game``: inflate orders while rationed, cancel the phantom part
        once supply has recovered."""
        shaping = self.shaping
        fill = np.ones(self.reps)
        if self.in_lanes:
            fill = self.in_lanes[0].last_fill
            for lane in self.in_lanes[1:]:
                fill = np.minimum(fill, lane.last_fill)
        coming = [lane.in_transit_at(period) + lane.orders_in_transit_at(period)
                  for lane in self.in_lanes]  # fmt: skip
        owed_to_me = self.supply_line - ordered_sum_rows(np.array(coming).reshape(-1, self.reps))
        real = np.maximum(owed_to_me - shaping.phantom - self.cancelling, 0.0)
        recovered = (shaping.phantom > 0) & (fill * owed_to_me >= real - 1e-9)
        if recovered.any():  # cancel the phantom orders, before they are shipped
            cancel = np.where(recovered, shaping.phantom, 0.0)
            for lane in self.in_lanes:
                lane.send_cancel(period, cancel * lane.share)
            self.cancelling = self.cancelling + cancel
            shaping.phantom = np.where(recovered, 0.0, shaping.phantom)
        rationed = (fill < 0.99) & (quantity > 0)
        if not rationed.any():
            return quantity
        inflated = quantity * np.minimum(shaping.gaming, 1.0 / np.maximum(fill, 1e-9))
        cap = (shaping.gaming - 1) * (real + quantity)
        more = np.minimum(shaping.phantom + inflated - quantity, cap) - shaping.phantom
        extra = np.maximum(more, 0.0)
        shaping.phantom = np.where(rationed, shaping.phantom + extra, shaping.phantom)
        return np.where(rationed, quantity + extra, quantity)

    def place_order(self, period: int, quantity: np.ndarray) -> None:
        if self.kind == "supplier":  # plans production: it starts next period
            self.queue = self.queue + quantity
        else:
            for lane in self.in_lanes:  # an order of 0 adds 0.0: nothing
                lane.send_order(period, quantity * lane.share)
        self.supply_line = self.supply_line + quantity
        self.ordered = quantity

    def close_period(self, period: int) -> None:
        """Phase 4: pay for what suppliers shipped, write off stock past its season,
        charge the period's costs."""
        for lane in self.in_lanes:
            if lane.price:
                self.purchases = self.purchases + lane.value
                lane.value = np.zeros(self.reps)
        if 0 <= self.season_end <= period:
            scrap = np.where(self.on_hand > 0, self.on_hand, 0.0)
            self.on_hand = self.on_hand - scrap
            self.written_off = self.written_off + scrap
            self.total_written_off = self.total_written_off + scrap
            self.revenue = self.revenue + self.salvage_value * scrap
        cost = self.holding_cost * self.on_hand + self.backlog_cost * self.backlog
        if self.in_transit_holding:  # what it shipped that is still on its way
            after = period + 1
            lanes = [lane.in_transit_at(after) for _, lane in self.firm_out]
            self.in_transit_charged = ordered_sum_rows(np.array(lanes).reshape(-1, self.reps))
            cost = cost + self.holding_cost * self.in_transit_charged
        if self.season_end >= 0:  # the value lost on stock marked down (0 before the end)
            cost = cost + max(self.unit_value - self.salvage_value, 0.0) * self.written_off
        if self.order_cost:
            cost = cost + np.where(self.ordered > 0, self.order_cost, 0.0)
        if self.cost_of_capital:
            cost = cost + self.cost_of_capital * self.unit_value * self.on_hand
        self.period_cost = cost
        self.cost = self.cost + cost
        if self.kind == "retailer":
            lost = self.lost_sale_cost * self.lost_sales
            self.period_cost = self.period_cost + lost
            self.cost = self.cost + lost

    @property
    def goods_held(self) -> np.ndarray:
        held = self.on_hand
        if self.in_production is not None:
            held = held + ordered_sum_rows(self.in_production)
        if self.kind == "brand":
            held = held + self.queue
        return held
