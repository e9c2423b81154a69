"""Forecasts, ordering policies and order shaping for many replications at once.

Each class here is the lockstep twin of a built-in of ``pullchain.agents`` and takes its
parameters from the agent-model object, built and primed (``reset``) exactly as the
agent model builds it, so defaults and checks have one home. Every formula is the
agent's, written with the same operations in the same order, on arrays with one value
per replication: the results are the same bits. The formulas and their sources are in
the docstrings of ``pullchain.agents.policies``, ``forecasts`` and ``ordering``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pullchain.agents import forecasts as fc
from pullchain.agents import policies as pol
from pullchain.agents.ordering import OrderShaping
from pullchain.agents.safety import SafetyStock, loss_inverse
from pullchain.network.sums import fsum_rows

FSUM_BY_COLUMN = 24  # below this many replications, math.fsum column by column is faster


@dataclass
class Situation:
    """What a policy may use, one value per replication (``pullchain.agents.Situation``)."""

    period: int
    lead_time: float
    echelon_lead_time: float
    review_period: int
    on_hand: np.ndarray
    backlog: np.ndarray
    credit: np.ndarray  # what customers' negative orders cancelled beyond what was owed
    supply_line: np.ndarray
    signal: np.ndarray
    orders: np.ndarray  # what reached the firm from its customers
    # Echelon stock below, where visible: sum_d f_d IP_d, and where it is visible at all.
    downstream: np.ndarray | None = None
    visible: np.ndarray | None = None

    @property
    def inventory_position(self) -> np.ndarray:
        return self.on_hand - self.backlog + self.credit + self.supply_line

    @property
    def net_stock(self) -> np.ndarray:
        return self.on_hand - self.backlog + self.credit

    @property
    def alone(self) -> bool:
        return self.echelon_lead_time <= self.lead_time


class Safety:
    """``safety.SafetyStock``: z sigma_t sqrt(L), sigma_t the root mean square of the last
    ``window`` forecast errors (their squares summed with fsum, so in any order)."""

    def __init__(self, agent: SafetyStock, reps: int) -> None:
        self.fill_rate = agent.fill_rate
        self.z = np.full(reps, agent.z)  # for a fill rate: each replication's Newton start
        self.squares = np.zeros((agent.window, reps))
        self.seen = 0
        self.sum = np.zeros(reps)

    @classmethod
    def of(cls, agent: SafetyStock | None, reps: int) -> Safety | None:
        return None if agent is None else cls(agent, reps)

    def observe(self, demand: np.ndarray, forecast: np.ndarray) -> None:
        error = demand - forecast
        self.squares[self.seen % len(self.squares)] = error * error
        self.seen += 1
        self.sum = fsum_columns(self.squares)  # the slots not yet filled add exact zeros

    def level(self, lead_time, mean, review_period: int) -> np.ndarray:
        """SS_t; ``lead_time`` one L for all, or one per replication."""
        n = min(self.seen, len(self.squares))
        sigma = np.sqrt(self.sum / n) if n else np.zeros_like(self.sum)
        root = math.sqrt(lead_time) if np.isscalar(lead_time) else np.sqrt(lead_time)
        spread = sigma * root
        some = spread > 0.0
        if self.fill_rate is not None and some.any():
            shortage = (1.0 - self.fill_rate) * review_period * np.maximum(mean, 0.0)
            shortage = shortage / np.where(some, spread, 1.0)
            for r in np.flatnonzero(some):  # Newton's method on libm's erfc, as the agent's
                self.z[r] = loss_inverse(float(shortage[r]), float(self.z[r]))
        return np.where(some, self.z * spread, 0.0)


def fsum_columns(stack: np.ndarray) -> np.ndarray:
    """``math.fsum`` of each column: column by column where there are few of them."""
    if stack.shape[1] < FSUM_BY_COLUMN:
        return np.array([math.fsum(col) for col in stack.T.tolist()])
    return fsum_rows(stack)


# -- forecasts ------------------------------------------------------------------------------
class MovingAverage:
    """``forecasts.MovingAverage``: fsum of the window / p, or x itself after p equal values."""

    def __init__(self, agent: fc.MovingAverage, reps: int) -> None:
        self.window = agent.window
        self.buf = np.tile(np.array(agent._buf, dtype=float)[:, None], (1, reps))
        self.newest = self.buf[-1].copy()
        self.slot = 0  # where the next value goes (the window is a ring: fsum ignores order)
        self.run = np.full(reps, agent._run)
        self.value = np.full(reps, agent._value)

    def update(self, x: np.ndarray) -> np.ndarray:
        self.run = np.where(x == self.newest, self.run + 1, 1)
        self.buf[self.slot] = x
        self.slot = (self.slot + 1) % self.window
        self.newest = x
        if self.window == 1:
            self.value = x
        else:
            total = fsum_columns(self.buf)
            self.value = np.where(self.run >= self.window, x, total / self.window)
        return self.value


class ExponentialSmoothing:
    """``forecasts.ExponentialSmoothing``: F_t = F_{t-1} + alpha (x_t - F_{t-1})."""

    def __init__(self, agent: fc.ExponentialSmoothing, reps: int) -> None:
        self.alpha = agent.alpha
        self.value = np.full(reps, agent._value)

    def update(self, x: np.ndarray) -> np.ndarray:
        prev = self.value
        self.value = x if self.alpha == 1.0 else prev + self.alpha * (x - prev)
        return self.value


class Naive:
    """``forecasts.Naive``: F_t = x_t."""

    def __init__(self, agent: fc.Naive, reps: int) -> None:
        self.value = np.full(reps, agent._value)

    def update(self, x: np.ndarray) -> np.ndarray:
        self.value = x
        return x


class Constant:
    """``forecasts.ConstantForecast``: the level, never updated."""

    def __init__(self, agent: fc.ConstantForecast, reps: int) -> None:
        self.value = np.full(reps, agent._value)

    def update(self, x: np.ndarray) -> np.ndarray:
        return self.value


FORECASTS = {
    fc.MovingAverage: MovingAverage,
    fc.ExponentialSmoothing: ExponentialSmoothing,
    fc.Naive: Naive,
    fc.ConstantForecast: Constant,
}


# -- ordering policies --------------------------------------------------------------------------
class OrderUpTo:
    """``policies.OrderUpTo``: q = L mu + SS - IP, SS = safety_stock + safety_periods mu."""

    def __init__(self, agent: pol.OrderUpTo, reps: int) -> None:
        self.forecast = FORECASTS[type(agent.forecast)](agent.forecast, reps)
        self.safety_stock = agent.safety_stock
        self.safety_periods = agent.safety_periods
        self.safety = Safety.of(agent.safety, reps)

    def order(self, s: Situation) -> np.ndarray:
        if self.safety is not None:
            self.safety.observe(s.orders, self.forecast.value)  # what it ships vs mu_{t-1}
        mu = self.forecast.update(s.signal)
        target = s.lead_time * mu + self.safety_stock + self.safety_periods * mu
        if self.safety is not None:
            target = target + self.safety.level(s.lead_time, mu, s.review_period)
        return target - s.inventory_position


class BaseStock:
    """``policies.BaseStock``: q = S - IP."""

    def __init__(self, agent: pol.BaseStock, reps: int) -> None:
        self.level = agent.level
        self.expected = agent._expected
        self.safety = Safety.of(agent.safety, reps)

    def order(self, s: Situation) -> np.ndarray:
        if self.safety is None:
            return self.level - s.inventory_position
        self.safety.observe(s.orders, self.expected)
        safety = self.safety.level(s.lead_time, self.expected, s.review_period)
        return self.level + safety - s.inventory_position


class MinMax:
    """``policies.MinMax``: (s, S)."""

    def __init__(self, agent: pol.MinMax, reps: int) -> None:
        self.s, self.S = agent.s, agent.S

    def order(self, s: Situation) -> np.ndarray:
        ip = s.inventory_position
        return np.where(ip <= self.s, self.S - ip, 0.0)


class ReorderQuantity:
    """``policies.ReorderQuantity``: (R, Q)."""

    def __init__(self, agent: pol.ReorderQuantity, reps: int) -> None:
        self.reorder_point, self.quantity = agent.reorder_point, agent.quantity

    def order(self, s: Situation) -> np.ndarray:
        ip = s.inventory_position
        batches = np.floor((self.reorder_point - ip) / self.quantity) + 1
        return np.where(ip > self.reorder_point, 0.0, self.quantity * batches)


class Sterman:
    """``policies.Sterman``: anchoring and adjustment."""

    def __init__(self, agent: pol.Sterman, reps: int) -> None:
        self.theta, self.alpha_s, self.beta = agent.theta, agent.alpha_s, agent.beta
        self.desired_stock = agent.desired_stock
        self.expected = np.full(reps, agent.expected)
        self.hold_periods, self.hold_order = agent.hold_periods, agent.hold_order
        self.integer = agent.integer

    def order(self, s: Situation) -> np.ndarray:
        self.expected = self.theta * s.signal + (1 - self.theta) * self.expected
        if s.period < self.hold_periods:  # as on the board: the first orders are fixed
            return np.full(len(self.expected), float(self.hold_order))
        gap = self.desired_stock - s.net_stock - self.beta * s.supply_line
        quantity = np.maximum(0.0, self.expected + self.alpha_s * gap)
        return np.floor(quantity + 0.5) if self.integer else quantity


class MakeToOrder:
    """``policies.MakeToOrder``: q = -IP."""

    def __init__(self, agent: pol.MakeToOrder, reps: int) -> None:
        pass

    def order(self, s: Situation) -> np.ndarray:
        return -s.inventory_position


class EchelonBaseStock:
    """``policies.EchelonBaseStock``: q = S_e - (IP + sum_d f_d IP_d), local S - IP if none
    is visible."""

    needs_downstream = True

    def __init__(self, agent: pol.EchelonBaseStock, reps: int) -> None:
        self.level = agent.level
        self.local_level = agent.local_level
        self.expected = agent._expected
        self.safety = Safety.of(agent.safety, reps)

    def order(self, s: Situation) -> np.ndarray:
        ip = s.inventory_position
        if s.alone and self.level is not None:  # its echelon is itself, always in view
            return self.level + self._safety(s.orders, s.lead_time, s) - ip
        seen = s.visible is not None and s.visible.any()
        if seen and self.level is None:
            self.level = (s.echelon_lead_time + 1) * self.expected
        if self.safety is None:
            local = self.local_level + 0.0 - ip
            if not seen:
                return local
            return np.where(s.visible, self.level + 0.0 - (ip + s.downstream), local)
        # One error a period, of the demand that drains the position it controls.
        visible = s.visible if seen else np.zeros(len(ip), dtype=bool)
        self.safety.observe(np.where(visible, s.signal, s.orders), self.expected)
        lead = np.where(visible, float(s.echelon_lead_time), float(s.lead_time))
        safety = self.safety.level(lead, self.expected, s.review_period)
        local = self.local_level + safety - ip
        if not seen:
            return local
        return np.where(visible, self.level + safety - (ip + s.downstream), local)

    def _safety(self, demand, lead_time, s: Situation):
        if self.safety is None:
            return 0.0
        self.safety.observe(demand, self.expected)
        return self.safety.level(lead_time, self.expected, s.review_period)


POLICIES = {
    pol.OrderUpTo: OrderUpTo,
    pol.BaseStock: BaseStock,
    pol.MinMax: MinMax,
    pol.ReorderQuantity: ReorderQuantity,
    pol.Sterman: Sterman,
    pol.MakeToOrder: MakeToOrder,
    pol.EchelonBaseStock: EchelonBaseStock,
}


def lockstep_policy(agent: pol.OrderingPolicy, reps: int):
    """The lockstep twin of a built-in policy object (already primed with ``reset``)."""
    return POLICIES[type(agent)](agent, reps)


# -- between the policy and the mail ------------------------------------------------------------
class Shaping:
    """``ordering.OrderShaping``: forward buying, the order cycle, clipping, minimum order
    and full trucks, in that order; then shortage gaming (``BatchFirm._game``, which needs
    the firm's lanes)."""

    def __init__(self, agent: OrderShaping, reps: int, index: int, allow_returns: bool):
        self.gaming = agent.gaming
        self.phantom = np.full(reps, agent.phantom)  # units ordered beyond need
        self.forward_buy = agent.forward_buy
        self.review_period = agent.review_period
        self.min_order = agent.min_order
        self.batch_size = agent.batch_size
        self.index = index
        self.allow_returns = allow_returns
        self.demand_level = np.full(reps, agent.demand_level)

    def shape(
        self, period: int, quantity: np.ndarray, signal: np.ndarray, promoting: bool
    ) -> np.ndarray:
        if self.forward_buy:
            if period == 0:
                self.demand_level = signal
            else:
                self.demand_level = 0.5 * self.demand_level + 0.5 * signal
            if promoting:
                quantity = quantity + self.forward_buy * self.demand_level
        r = self.review_period
        if r > 1 and period % r != self.index % r:
            quantity = np.zeros_like(quantity)
        if not self.allow_returns:
            quantity = np.where(quantity < 0, 0.0, quantity)
        if self.min_order:
            quantity = np.where(quantity > 0, np.maximum(quantity, self.min_order), quantity)
        if self.batch_size:
            trucks = np.ceil(quantity / self.batch_size - 1e-9) * self.batch_size
            quantity = np.where(quantity > 0, trucks, quantity)
        return quantity
