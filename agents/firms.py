"""Firms: the agents that hold stock, fill orders and order more.

``Firm`` holds the template of a period (as Mesa's wolf_sheep ``Animal`` does);
``Retailer``, ``Distributor``, ``Brand`` and ``Supplier`` override only the parts
that differ. A researcher tries an idea by overriding one method, for example
``decide`` for a new kind of judgement or ``fill_orders`` for a new way to serve, and
names the class in a scenario (``class = "..."``, see ``pullchain.agents.kinds``).

Each class's node attributes are declared in ``params`` (the built-in ones in
``pullchain.network.schema``); the model hands the node's checked values to the
constructor as ``config``, and attributes a subclass declares beyond its kind's become
attributes of the agent.

A firm never reads another agent: its orders come off its lanes, and what else
it may know comes from the information regime's ``Observation``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import mesa

from pullchain.network.lanes import Lane
from pullchain.network.params import Param
from pullchain.network.regimes import Observation
from pullchain.network.schema import FIRM_PARAMS, PRODUCER_PARAMS, RETAILER_PARAMS
from pullchain.network.sums import ordered_sum

from .allocation import AllocationRule
from .kinds import AGENTS, adopt
from .ordering import OrderShaping
from .policies import OrderingPolicy, Situation

if TYPE_CHECKING:
    from collections.abc import Hashable


class Firm(mesa.Agent):
    """A firm with stock on hand, a backlog per customer, and a supply line.

    Period flows (reset each period, recorded): ``received``, ``demand`` (orders that
    reached the firm), ``shipped``, ``filled`` (of this period's orders, units shipped
    at once), ``ordered``, ``lost_sales``, ``written_off`` (units scrapped or marked
    down), ``made`` (units whose production started), ``purchases`` and ``revenue``
    (money). Costs accrue per period on the stock and backlog left at its end, and, where
    the firm pays for its pipeline (``in_transit_holding``), on ``in_transit_charged``:
    what it shipped that is still on its way (counted only then: summing every lane each
    period costs a few per cent of a step).
    ``backlog`` and ``net_owed`` are totalled after each fill (``count_backlog``).

    Args:
        model: the model.
        node: the firm's node id in the network.
        index: its position in processing order (customers before suppliers).
        in_lanes, out_lanes: lanes from its suppliers and to its customers.
        config: the node's value of every attribute its class declares (``params``:
            costs, stock, batching, prices, ... and a subclass's own), checked.
        policy: the ordering rule (built from ``policy`` and ``policy_params``).
        allocation: the rule for sharing out stock when short.
        lead_time: L, the periods an order must cover.
    """

    kind: ClassVar[str] = "firm"
    params: ClassVar[dict[str, Param]] = FIRM_PARAMS

    def __init__(
        self,
        model: mesa.Model,
        node: Hashable,
        index: int,
        in_lanes: list[Lane],
        out_lanes: list[Lane],
        config: Mapping[str, Any],
        *,
        policy: OrderingPolicy,
        allocation: AllocationRule,
        lead_time: float = 1.0,
    ) -> None:
        super().__init__(model)
        self.node = node
        self.index = index
        self.in_lanes = in_lanes
        self.out_lanes = out_lanes
        self.config = dict(config)  # the node's parameters, as checked (read them, do not edit)
        self.holding_cost = config["holding_cost"]
        self.backlog_cost = config["backlog_cost"]
        self.policy = policy
        self.allocation = allocation
        self.allow_returns = config["allow_returns"]
        self.in_transit_holding = config["in_transit_holding"]
        self.lead_time = lead_time
        self.on_hand = float(config["initial_stock"])
        self.owed = [0.0] * len(out_lanes)
        self.owed_since = [0] * len(out_lanes)
        self.orders_in = [0.0] * len(out_lanes)
        # Everything ordered and not yet on hand: orders in the mail, goods in transit,
        # what suppliers owe, and (for producers) goods in production.
        self.supply_line = sum(lane.orders_in_transit + lane.in_transit for lane in in_lanes)
        # Per supplier lane: what this firm has coming (ordered, not yet received), the
        # tally ``owed_by`` reads what each supplier still owes it from.
        self.coming = [lane.orders_in_transit + lane.in_transit for lane in in_lanes]
        self._routes = type(self).split is not Firm.split
        self.situation = Situation(lead_time, review_period=config["review_period"])
        self.observation: Observation | None = None
        shaping = OrderShaping.from_config(config)
        self.shaping = shaping if shaping.active else None
        self.price = config["price"]
        self.cost_of_capital = config["cost_of_capital"]
        self.order_cost = config["order_cost"]
        self.season_end = config["season_end"]
        self.salvage_value = config["salvage_value"]
        adopt(self, config)
        # Decision rights (a regime such as VMI may give them away): the firm that decides
        # this firm's replenishment (None: itself), and the rules this firm decides others'
        # with, by their index.
        self.manager: Firm | None = None
        self.manages: dict[int, OrderingPolicy] = {}
        self.down = False  # a disruption stops it shipping (and producing)
        self.cancelling = 0.0  # cancellations sent and not yet answered
        self._rationed = False
        self.cost = 0.0
        self.in_transit_charged = 0.0  # shipped, not yet delivered, and charged holding
        self._shipping = out_lanes  # lanes on which its goods can be in transit
        self.total_written_off = 0.0
        self.total_lost = 0.0
        self.count_backlog()
        self.start_period()

    # -- the period, phase by phase ------------------------------------------------
    def start_period(self) -> None:
        """Zero the period's flows."""
        self.received = self.demand = self.shipped = self.filled = 0.0
        self.ordered = self.lost_sales = 0.0
        self.written_off = self.made = self.purchases = self.revenue = 0.0
        self.period_cost = 0.0

    def arrive(self, period: int) -> None:
        """Phase 1: a new period starts and goods due now arrive."""
        self.start_period()
        self.receive(period)

    def receive(self, period: int) -> None:
        """Take in the deliveries due now (phase 1, and phase 4 for lead time 0)."""
        for i, lane in enumerate(self.in_lanes):
            quantity = lane.take_delivery(period)
            if quantity:
                self.received += quantity
                self.coming[i] -= quantity
                self.take_in(quantity)
            if lane.cancel_answered:
                self._confirm_cancel(i, lane)

    def take_in(self, quantity: float) -> None:
        """Put delivered goods on the shelf."""
        self.on_hand += quantity
        self.supply_line -= quantity

    def step(self) -> None:
        """Phase 3, the firm's turn: take orders, fill, observe, decide, order."""
        period = self.model.period
        self.take_orders(period)
        self.fill_orders(period)
        self.count_backlog()
        observation = self.observation = self.observe(period)
        if self.manager is None:  # ``replenish``, inlined for the firms that decide alone
            self.place_order(period, self.decide(observation))
        else:
            self.place_order(period, self.replenish(observation))

    def take_orders(self, period: int) -> None:
        """Read the orders that reach the firm now and add them to what it owes."""
        owed, orders_in = self.owed, self.orders_in
        demand = 0.0
        for i, lane in enumerate(self.out_lanes):
            quantity = lane.orders.pop(period, 0.0)  # Lane.take_orders, inlined: hot path
            if lane.cancels:
                self._apply_cancel(i, lane, period)
            orders_in[i] = quantity
            if quantity:
                before = owed[i]
                if before <= 0 < quantity + before:
                    self.owed_since[i] = period
                owed[i] = before + quantity
                demand += quantity
        self.demand += demand

    def fill_orders(self, period: int) -> None:
        """Ship what is owed from stock, sharing out by the allocation rule when short."""
        owed = self.owed
        total = 0.0
        for o in owed:
            if o > 0:
                total += o
        if total <= 0 or self.down:
            return
        backlog_before = total - self.demand
        if total <= self.on_hand:
            shipments = [o if o > 0 else 0.0 for o in owed]
            if self._rationed:  # packing slips say: all of it, again
                for lane in self.out_lanes:
                    lane.last_fill = 1.0
                self._rationed = False
        else:
            needs = self.model.regime.needs(self.index, period, self.orders_in)
            shipments = self.allocation.allocate(self.on_hand, owed, self.owed_since, needs)
            for i, lane in enumerate(self.out_lanes):
                lane.last_fill = shipments[i] / owed[i] if owed[i] > 0 else 1.0
            self._rationed = True
        shipped = 0.0
        for i, quantity in enumerate(shipments):
            if quantity > 0:
                lane = self.out_lanes[i]
                lane.ship(period, quantity)
                if lane.price:
                    value = quantity * lane.price_at(period)
                    lane.bill(period, value)
                    self.revenue += value
                owed[i] -= quantity
                shipped += quantity
        self.on_hand -= shipped
        if self.on_hand < 0:  # float dust from proportional shares
            self.on_hand = 0.0
        self.shipped = shipped
        self.filled = min(max(shipped - max(backlog_before, 0.0), 0.0), self.demand)

    def observe(self, period: int) -> Observation:
        """Ask the information regime what the firm may see now."""
        return self.model.regime.observe(self.index, period, self.orders_in)

    def replenish(self, observation: Observation) -> float:
        """This period's order: the firm's own decision (``decide``) or, where the regime
        gave the decision to another firm (vendor-managed inventory), that firm's,
        taken from what this firm shares with it (``decide_for``)."""
        if self.manager is None:
            return self.decide(observation)
        s = self.read_situation(observation)
        if 0 <= self.season_end <= observation.period:
            return 0.0
        return self.manager.decide_for(self.index, s)

    def read_situation(self, observation: Observation) -> Situation:
        """The firm's situation now (its stock, backlog, supply line) and ``observation``."""
        s = self.situation
        s.period = observation.period
        s.on_hand = self.on_hand
        s.backlog = self.backlog
        s.credit = self.backlog - self.net_owed  # > 0 only when customers returned orders
        s.supply_line = self.supply_line
        s.received = self.received
        s.shipped = self.shipped
        s.observation = observation
        return s

    def decide_for(self, customer: int, s: Situation) -> float:
        """The order this firm decides for a customer whose replenishment the regime gave
        it: its rule for that customer, on the customer's shared situation, clipped at 0
        (the customer's own batching and gaming do not apply: it does not order)."""
        quantity = self.manages[customer].order(s)
        return quantity if quantity > 0 else 0.0

    def decide(self, observation: Observation) -> float:
        """The quantity to order: the policy's answer, clipped at 0 unless returns are
        allowed, then batched, forward-bought or gamed if those are switched on."""
        s = self.read_situation(observation)
        if 0 <= self.season_end <= observation.period:
            return 0.0  # the season is over: the product is no longer replenished
        shaping = self.shaping
        if shaping is not None:  # phantom orders and pending cancellations are not supply
            s.supply_line -= shaping.phantom + self.cancelling
        quantity = self.policy.order(s)
        if shaping is not None:
            return shaping.shape(self, observation.period, quantity, observation.demand_signal)
        if not self.allow_returns and quantity < 0:
            return 0.0
        return quantity

    def place_order(self, period: int, quantity: float) -> None:
        """Split the order among suppliers (``split``) and send it (0: no order)."""
        if quantity:
            coming = self.coming
            if self._routes:  # a class of its own splits orders its way
                for i, part in enumerate(self.split(quantity)):
                    self.in_lanes[i].send_order(period, part)
                    coming[i] += part
            else:  # by the shares (``split`` inlined: the hot path)
                for i, lane in enumerate(self.in_lanes):
                    part = quantity * lane.share
                    lane.send_order(period, part)
                    coming[i] += part
            self.supply_line += quantity
        self.ordered = quantity

    def split(self, quantity: float) -> list[float]:
        """How an order is split among the suppliers, one part per lane: by the edges'
        shares (override it to route orders otherwise, e.g. away from a late supplier)."""
        return [quantity * lane.share for lane in self.in_lanes]

    def owed_by(self, lane: int) -> float:
        """What the supplier on in-lane ``lane`` still owes this firm: ordered, read by the
        supplier, and neither shipped nor cancelled. From this firm's own records (what
        it ordered and received) and what it can see of its lanes (its orders in the
        mail, goods on their way to it), never from the supplier's books."""
        ln = self.in_lanes[lane]
        return self.coming[lane] - ln.orders_in_transit - ln.in_transit - ln.cancel_done

    def cancel(self, period: int, quantity: float) -> None:
        """Ask suppliers to cancel ``quantity`` not yet shipped, split by their shares."""
        for lane in self.in_lanes:
            lane.send_cancel(period, quantity * lane.share)
        self.cancelling += quantity

    def _apply_cancel(self, i: int, lane: Lane, period: int) -> None:
        """As supplier: cancel what a customer asks, up to what is still owed to it."""
        asked = lane.take_cancels(period)
        if asked:
            done = min(asked, max(self.owed[i], 0.0))
            self.owed[i] -= done
            lane.answer_cancel(asked, done)

    def _confirm_cancel(self, i: int, lane: Lane) -> None:
        """As buyer: what was cancelled leaves the supply line; the rest will be shipped."""
        asked, done = lane.take_answer()
        self.cancelling -= asked
        self.supply_line -= done
        self.coming[i] -= done

    def close_period(self) -> None:
        """Phase 4: pay for what suppliers shipped, write off stock past its season,
        charge the period's costs."""
        for lane in self.in_lanes:
            if lane.values:  # goods are bought as they are shipped (free on board)
                self.purchases += lane.take_value(self.model.period)
        if 0 <= self.season_end <= self.model.period and self.on_hand > 0:
            self.write_off(self.on_hand)
        self.period_cost = self.holding_cost * self.on_hand + self.backlog_cost * self.backlog
        if self.in_transit_holding:
            self.in_transit_charged = ordered_sum(lane.in_transit for lane in self._shipping)
            self.period_cost += self.holding_cost * self.in_transit_charged
        if self.written_off:  # the value lost on stock marked down
            self.period_cost += max(self.unit_value - self.salvage_value, 0.0) * self.written_off
        if self.order_cost and self.ordered > 0:
            self.period_cost += self.order_cost
        if self.cost_of_capital:
            self.period_cost += self.cost_of_capital * self.unit_value * self.on_hand
        self.cost += self.period_cost

    def write_off(self, quantity: float) -> None:
        """Scrap or mark down ``quantity`` units from the shelf, recovering the salvage value."""
        self.on_hand -= quantity
        self.written_off += quantity
        self.total_written_off += quantity
        self.revenue += self.salvage_value * quantity

    @property
    def unit_value(self) -> float:
        """What a unit on the shelf cost the firm: its suppliers' prices, share-weighted."""
        return sum(lane.share * lane.price for lane in self.in_lanes)

    # -- state, derived -------------------------------------------------------------
    def count_backlog(self) -> None:
        """Total what is owed, once the period's orders are filled."""
        net = backlog = 0.0  # added in lane order (pullchain.network.sums)
        for o in self.owed:
            net += o
            if o > 0:
                backlog += o
        self.net_owed = net
        self.backlog = backlog

    @property
    def inventory_position(self) -> float:
        """On hand - what is owed (backlog less credits) + supply line."""
        return self.on_hand - self.net_owed + self.supply_line

    @property
    def goods_held(self) -> float:
        """Physical units this firm holds (on hand, and raw or in production for producers)."""
        return self.on_hand


@AGENTS.register("distributor")
class Distributor(Firm):
    """A wholesaler or distributor: buys from firms, sells to firms."""

    kind = "distributor"


@AGENTS.register("retailer")
class Retailer(Firm):
    """Sells to consumers. Consumers who do not wait are lost sales, charged per unit
    (``lost_sale_cost``); whether a customer waits, and how long, is that consumer's
    ``backorder`` and ``patience`` (read from the network, one per customer lane)."""

    kind = "retailer"
    params: ClassVar[dict[str, Param]] = RETAILER_PARAMS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lost_sale_cost = self.config["lost_sale_cost"]
        customers = [self.model.network.nodes[lane.customer] for lane in self.out_lanes]
        n = len(self.out_lanes)
        self.backorder = [c.get("backorder", True) for c in customers]
        self.patience = [c.get("patience", -1) for c in customers]
        self._impatient = [i for i, waits in enumerate(self.backorder) if not waits]
        self._shipping = []  # consumers take their goods home the period they buy
        # Waiting consumers with limited patience: their unfilled orders, oldest first.
        self._waiting = {
            i: deque() for i in range(n) if self.backorder[i] and self.patience[i] >= 0
        }

    def take_orders(self, period: int) -> None:
        super().take_orders(period)
        for i, queue in self._waiting.items():
            if self.orders_in[i] > 0:
                queue.append([period, self.orders_in[i]])

    def fill_orders(self, period: int) -> None:
        """Serve consumers; those who will not wait take their unmet demand elsewhere."""
        before = {i: self.owed[i] for i in self._waiting}
        super().fill_orders(period)
        for i in self._impatient:
            if self.owed[i] > 0:
                self.lost_sales += self.owed[i]
                self.owed[i] = 0.0
        for i, queue in self._waiting.items():
            self._serve_waiting(i, queue, before[i] - self.owed[i], period)

    def _serve_waiting(self, i: int, queue: deque, served: float, period: int) -> None:
        """Fill the oldest orders first; orders older than the patience are lost."""
        while queue and served > 0:
            take = min(queue[0][1], served)
            queue[0][1] -= take
            served -= take
            if queue[0][1] <= 1e-12:
                queue.popleft()
        while queue and period - queue[0][0] >= self.patience[i]:
            _, quantity = queue.popleft()
            lost = min(quantity, max(self.owed[i], 0.0))
            self.owed[i] -= lost
            self.lost_sales += lost

    def close_period(self) -> None:
        super().close_period()
        lost = self.lost_sale_cost * self.lost_sales
        self.period_cost += lost
        self.cost += lost


class Producer(Firm):
    """A firm that makes goods: production starts up to ``capacity`` per period and
    is finished ``production_lead_time`` periods later (0: at once).

    What production starts from differs: a ``Supplier`` (the source) from its own
    production plan, a ``Brand`` from materials bought from suppliers.
    """

    params: ClassVar[dict[str, Param]] = PRODUCER_PARAMS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        config = self.config
        self.capacity = config["capacity"]
        self.unit_cost = config["unit_cost"]
        self.production_lead_time = production_lead_time = config["production_lead_time"]
        initial_in_production = config["initial_in_production"]
        # Goods finishing in periods 0 .. p-1 (the pipeline of a chain in steady state).
        self.in_production: dict[int, float] = (
            dict.fromkeys(range(production_lead_time), float(initial_in_production))
            if initial_in_production
            else {}  # no loop over empty slots, however long production takes
        )
        self.queue = 0.0  # what is waiting for capacity: plan (source) or materials (brand)
        self.supply_line += sum(self.in_production.values())

    def arrive(self, period: int) -> None:
        """Finish production due now, take in deliveries, start what capacity allows."""
        self.start_period()
        done = self.in_production.pop(period, 0.0)
        if done:
            self.on_hand += done
            self.supply_line -= done
        self.receive(period)
        self.produce(period)

    def produce(self, period: int) -> None:
        """Start production from the queue, up to capacity (none while disrupted)."""
        start = min(self.queue, self.capacity)
        if start <= 0 or self.down:
            return
        self.queue -= start
        self.made += start
        if self.production_lead_time == 0:
            self.on_hand += start
            self.supply_line -= start
        else:
            due = period + self.production_lead_time
            self.in_production[due] = self.in_production.get(due, 0.0) + start

    @property
    def goods_held(self) -> float:
        return self.on_hand + sum(self.in_production.values())


@AGENTS.register("brand")
class Brand(Producer):
    """Buys materials from suppliers and makes the product (one unit of material each)."""

    kind = "brand"

    @property
    def unit_value(self) -> float:
        """Materials at their price, plus the cost of making."""
        return super().unit_value + self.unit_cost

    def take_in(self, quantity: float) -> None:
        """Materials wait for production capacity; they stay in the supply line until made."""
        self.queue += quantity

    @property
    def goods_held(self) -> float:
        return super().goods_held + self.queue


@AGENTS.register("supplier")
class Supplier(Producer):
    """The source of goods: its orders are production plans, started the next period.

    Goods enter the chain when a supplier starts making them (``made``), so an
    order placed in period t is finished in t + 1 + production_lead_time.
    """

    kind = "supplier"

    @property
    def unit_value(self) -> float:
        """What a unit costs to make."""
        return self.unit_cost

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The production request decided last period, not yet started.
        self.queue = float(self.config["initial_in_production"])
        self.supply_line += self.queue

    def place_order(self, period: int, quantity: float) -> None:
        """Plan production: it starts next period, as capacity allows."""
        self.queue += quantity
        self.supply_line += quantity
        self.ordered = quantity
