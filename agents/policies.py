"""Ordering policies: how much a firm orders (or a source plans to make) each period.

A policy sees a ``Situation``, the firm's own stock and supply line plus what the
information regime let it observe, and returns a quantity. The firm clips it at
zero unless returns are allowed. Each rule fits on a screen with its formula.

Notation: IP = on hand - backlog + credit + supply line (inventory position, after
this period's demand; the credit is what customers' negative orders cancelled beyond
what the firm owed them); x_t = the demand signal of period t (orders received, or
point-of-sale demand under a transparent regime); L = periods an order must
cover (order delay + shipping lead time, plus production for producers).

Add a rule by subclassing ``OrderingPolicy`` and registering it::

    @POLICIES.register("double-the-signal")
    class Doubler(OrderingPolicy):
        def order(self, s: Situation) -> float:
            return 2 * s.observation.demand_signal
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any

from pullchain.network.errors import ConfigError, check_number
from pullchain.network.regimes import Observation
from pullchain.network.registry import Registry
from pullchain.network.sums import ordered_dot

from .forecasts import FORECASTS, Forecast
from .safety import SafetyStock

POLICIES: Registry[OrderingPolicy] = Registry("ordering policy")


class Situation:
    """What a policy may use: the firm's own state and its observation. Reused each period.

    ``received`` and ``shipped`` are the firm's own flows so far this period (goods
    taken in at its start, goods sent to customers): what a person playing the firm
    is told each week, and what a rule may use as well.
    """

    __slots__ = (
        "backlog",
        "credit",
        "echelon_lead_time",
        "lead_time",
        "observation",
        "on_hand",
        "period",
        "received",
        "review_period",
        "shipped",
        "supply_line",
    )

    def __init__(
        self, lead_time: float, echelon_lead_time: float | None = None, review_period: int = 1
    ) -> None:
        self.lead_time = lead_time
        # From this firm's order to the consumers' shelf: its L plus the longest L below.
        self.echelon_lead_time = lead_time if echelon_lead_time is None else echelon_lead_time
        self.review_period = review_period  # periods between the firm's chances to order
        self.period = 0
        self.on_hand = 0.0
        self.backlog = 0.0  # what the firm owes its customers (units, >= 0)
        self.credit = 0.0  # what customers owe it back: returns beyond what it owed (>= 0)
        self.supply_line = 0.0
        self.received = 0.0
        self.shipped = 0.0
        self.observation: Observation | None = None

    @property
    def inventory_position(self) -> float:
        """On hand - backlog + credit + supply line: what the firm has and has coming.

        A credit (a customer's negative order beyond what it was owed, with returns
        allowed) is stock the firm no longer has to ship: without it the identity
        q_t = y_t - y_{t-1} + x_t of an order-up-to firm breaks whenever orders go negative.
        """
        return self.on_hand - self.backlog + self.credit + self.supply_line

    @property
    def net_stock(self) -> float:
        """On hand - backlog + credit (Sterman's effective inventory S)."""
        return self.on_hand - self.backlog + self.credit

    @property
    def alone(self) -> bool:
        """No firm below this one (a retailer): its echelon is the firm itself."""
        return self.echelon_lead_time <= self.lead_time


class OrderingPolicy(ABC):
    """Base class. ``reset`` primes the rule for a chain in steady state."""

    def reset(self, expected_demand: float, lead_time: float) -> None:  # noqa: B027
        """Called once before period 0 with the mean demand signal and L."""

    @abstractmethod
    def order(self, s: Situation) -> float:
        """The quantity to order this period (may be negative; the firm clips)."""


def _forecast(name: str, params: dict[str, Any] | None) -> Forecast:
    return FORECASTS.create(name, params, field="forecast")


@POLICIES.register("order_up_to")
class OrderUpTo(OrderingPolicy):
    """Order-up-to with a forecast (Chen, Drezner, Ryan & Simchi-Levi 2000).

    mu_t = forecast updated with x_t;  y_t = L mu_t + SS_t;  q_t = y_t - IP_t, with
    SS_t = safety_stock + safety_periods * mu_t + z sigma_t sqrt(L), the last term only
    when a safety factor or a service target is given (``agents.safety``: sigma_t from
    the firm's own forecast errors on the orders it must serve). With SS constant and
    returns allowed, q_t = y_t - y_{t-1} + x_t and, for a p-period moving average and
    iid demand, Var(q)/Var(x) = 1 + 2L/p + 2L^2/p^2; re-estimating sigma_t adds to it.

    Args:
        forecast: a registered forecast name ("moving_average", "exponential_smoothing", ...).
        window: moving-average window p (used by "moving_average").
        alpha: smoothing constant (used by "exponential_smoothing").
        forecast_params: keyword parameters for any forecast (instead of window/alpha).
        safety_stock: constant safety stock SS in units.
        safety_periods: extra periods of forecast demand held as safety stock.
        safety_factor, service_level, fill_rate: at most one; z directly, or from a
            target cycle service level or fill rate (adaptive safety stock).
        error_window: the forecast errors sigma_t is estimated over.
    """

    def __init__(
        self,
        forecast: str = "moving_average",
        window: int = 5,
        alpha: float = 0.3,
        safety_stock: float = 0.0,
        safety_periods: float = 0.0,
        forecast_params: dict[str, Any] | None = None,
        safety_factor: float | None = None,
        service_level: float | None = None,
        fill_rate: float | None = None,
        error_window: int = 20,
    ) -> None:
        params: dict[str, Any] = {}
        if forecast_params is not None:
            if not isinstance(forecast_params, dict):
                raise ConfigError("forecast_params", forecast_params, "a table of parameters")
            params = forecast_params
        elif forecast == "moving_average":
            params = {"window": window}
        elif forecast == "exponential_smoothing":
            params = {"alpha": alpha}
        self.forecast = _forecast(forecast, params)
        self.safety_stock = check_number("safety_stock", safety_stock, minimum=0)
        self.safety_periods = check_number("safety_periods", safety_periods, minimum=0)
        self.safety = SafetyStock.from_params(safety_factor, service_level, fill_rate, error_window)

    def reset(self, expected_demand: float, lead_time: float) -> None:
        self.forecast.reset(expected_demand)

    def order(self, s: Situation) -> float:
        obs = s.observation
        safety = self.safety
        if safety is not None and self.forecast._value is not None:
            safety.observe(obs.orders, self.forecast.value)  # what it ships vs mu_{t-1}
        mu = self.forecast.update(obs.demand_signal)
        target = s.lead_time * mu + self.safety_stock + self.safety_periods * mu
        if safety is not None:
            target += safety.level(s.lead_time, mu, s.review_period)
        return target - s.inventory_position


@POLICIES.register("base_stock")
class BaseStock(OrderingPolicy):
    """Base stock with no forecasting: q_t = S - IP_t, hence q_t = x_t (bullwhip 1).

    With a safety factor or a service target, S_t = S + z sigma_t sqrt(L), sigma_t from
    the errors of the orders it must serve against the expected demand mu_0 (z = 0 is
    plain base stock; the default S holds one period of mu_0 beyond the cycle stock
    L mu_0: give ``level`` = L mu_0 to leave all the safety stock to z).

    Args:
        level: the base-stock level S; by default (L + 1) times the expected demand.
        safety_factor, service_level, fill_rate, error_window: as in ``OrderUpTo``.
    """

    def __init__(
        self,
        level: float | None = None,
        safety_factor: float | None = None,
        service_level: float | None = None,
        fill_rate: float | None = None,
        error_window: int = 20,
    ) -> None:
        self.level = None if level is None else check_number("level", level)
        self.safety = SafetyStock.from_params(safety_factor, service_level, fill_rate, error_window)
        self._expected = 0.0

    def reset(self, expected_demand: float, lead_time: float) -> None:
        self._expected = expected_demand
        if self.level is None:
            self.level = (lead_time + 1) * expected_demand

    def order(self, s: Situation) -> float:
        if self.safety is None:
            return self.level - s.inventory_position
        self.safety.observe(s.observation.orders, self._expected)
        safety = self.safety.level(s.lead_time, self._expected, s.review_period)
        return self.level + safety - s.inventory_position


@POLICIES.register("s_S")
class MinMax(OrderingPolicy):
    """(s, S): when IP_t <= s, order up to S (q = S - IP); otherwise order nothing.

    Args:
        s: reorder point; by default L times the expected demand.
        S: order-up-to level (> s); by default s plus two periods of expected demand.
    """

    def __init__(self, s: float | None = None, S: float | None = None) -> None:
        self.s = None if s is None else check_number("s", s)
        self.S = None if S is None else check_number("S", S)
        if self.s is not None and self.S is not None and self.s >= self.S:
            raise ConfigError("S", S, f"a level above s = {s}")

    def reset(self, expected_demand: float, lead_time: float) -> None:
        if self.s is None:
            self.s = lead_time * expected_demand
        if self.S is None:
            self.S = self.s + 2 * expected_demand

    def order(self, s: Situation) -> float:
        ip = s.inventory_position
        return self.S - ip if ip <= self.s else 0.0


@POLICIES.register("r_Q")
class ReorderQuantity(OrderingPolicy):
    """(R, Q): when IP_t <= R, order the fewest batches of Q that lift IP above R.

    q = Q * (floor((R - IP) / Q) + 1) if IP <= R, else 0.

    Args:
        reorder_point: R; by default L times the expected demand.
        quantity: batch size Q > 0; by default two periods of expected demand.
    """

    def __init__(self, reorder_point: float | None = None, quantity: float | None = None) -> None:
        self.reorder_point = (
            None if reorder_point is None else check_number("reorder_point", reorder_point)
        )
        self.quantity = (
            None
            if quantity is None
            else check_number("quantity", quantity, minimum=0, strict_minimum=True)
        )

    def reset(self, expected_demand: float, lead_time: float) -> None:
        if self.reorder_point is None:
            self.reorder_point = lead_time * expected_demand
        if self.quantity is None:
            self.quantity = max(2 * expected_demand, 1.0)

    def order(self, s: Situation) -> float:
        ip = s.inventory_position
        if ip > self.reorder_point:
            return 0.0
        return self.quantity * (math.floor((self.reorder_point - ip) / self.quantity) + 1)


@POLICIES.register("sterman")
class Sterman(OrderingPolicy):
    """Sterman's (1989) anchoring-and-adjustment rule, fitted to beer-game players.

    Lhat_t = theta x_t + (1 - theta) Lhat_{t-1}   (expected incoming orders)
    O_t = max(0, Lhat_t + alpha_s (S' - S_t - beta SL_t))
    with S = on hand - backlog, SL = supply line. Sterman writes Lhat from the
    previous week's orders because his week ends before orders are read; here the
    newest signal x_t is what the player has just seen when ordering. Mean fitted
    values: theta 0.36, alpha_s 0.26, beta 0.34, S' 17.

    As the game is played on the board: players order ``hold_order`` (the initial 4)
    for the first ``hold_periods`` weeks before the rule takes over (the expectation
    keeps learning meanwhile), and with ``integer`` orders are whole cases,
    floor(O + 1/2) (half up).

    Args:
        theta: weight of the newest signal in the expectation (0..1).
        alpha_s: fraction of the stock gap corrected each period (0..1).
        beta: weight given to the supply line (0..1); below 1, players forget orders in transit.
        desired_stock: S', the anchor for stock and supply line together.
        hold_periods: periods 0 .. hold_periods - 1 order ``hold_order`` whatever the rule says.
        hold_order: the order of those periods; by default the expected demand.
        integer: round every order to whole units, half up.
    """

    def __init__(
        self,
        theta: float = 0.36,
        alpha_s: float = 0.26,
        beta: float = 0.34,
        desired_stock: float = 17.0,
        hold_periods: int = 0,
        hold_order: float | None = None,
        integer: bool = False,
    ) -> None:
        self.theta = check_number("theta", theta, minimum=0, maximum=1)
        self.alpha_s = check_number("alpha_s", alpha_s, minimum=0, maximum=1)
        self.beta = check_number("beta", beta, minimum=0, maximum=1)
        self.desired_stock = check_number("desired_stock", desired_stock)
        self.hold_periods = check_number("hold_periods", hold_periods, minimum=0, integer=True)
        self.hold_order = (
            None if hold_order is None else check_number("hold_order", hold_order, minimum=0)
        )
        if not isinstance(integer, bool):
            raise ConfigError("integer", integer, "true or false")
        self.integer = integer
        self.expected = 0.0

    def reset(self, expected_demand: float, lead_time: float) -> None:
        self.expected = expected_demand
        if self.hold_order is None:
            self.hold_order = expected_demand

    def order(self, s: Situation) -> float:
        x = s.observation.demand_signal
        self.expected = self.theta * x + (1 - self.theta) * self.expected
        if s.period < self.hold_periods:
            return float(self.hold_order)
        gap = self.desired_stock - s.net_stock - self.beta * s.supply_line
        quantity = max(0.0, self.expected + self.alpha_s * gap)
        return float(math.floor(quantity + 0.5)) if self.integer else quantity


@POLICIES.register("make_to_order")
class MakeToOrder(OrderingPolicy):
    """Make (or buy) to order: q_t = -IP_t, i.e. exactly what is owed and not yet covered.

    No forecast and no stock: every unit ordered answers a customer's order already
    received. This is base stock with S = 0; with patient consumers it is the pull of
    consumer-to-business (C2B) pre-orders.
    """

    def order(self, s: Situation) -> float:
        return -s.inventory_position


@POLICIES.register("echelon_base_stock")
class EchelonBaseStock(OrderingPolicy):
    """Echelon base stock (Clark & Scarf 1960): order up to a level for the whole echelon.

    q_t = S_e - (IP_t + sum_d f_d IP_d), the sum over the firms d below, down to the
    consumers' backlog, each weighted by the fraction f_d of its supply that comes
    from this firm (1 in a serial chain). Only a
    regime that shares stock (``share_stock``) shows the downstream positions; where
    they are not visible, the rule falls back to local base stock, q_t = S - IP_t, with
    S = ``local_level``. A firm with no firm below it (a retailer) is its own echelon:
    it orders up to ``level`` (or, if only that is given, ``local_level``) under every
    regime. With a safety factor or a service target, z sigma_t sqrt(L_e)
    is added to S_e (sqrt(L) to S), sigma_t from the errors of the demand that drains
    the position it controls (the echelon's consumer demand, its demand signal, where
    it sees the echelon; its customers' orders where it falls back); z = 0 is plain
    echelon base stock.

    Args:
        level: the echelon level S_e; by default (L_e + 1) x expected demand, with L_e
            the longest lead time from this firm to the consumers.
        local_level: the local fallback S; by default (L + 1) x expected demand.
        safety_factor, service_level, fill_rate, error_window: as in ``OrderUpTo``.
    """

    def __init__(
        self,
        level: float | None = None,
        local_level: float | None = None,
        safety_factor: float | None = None,
        service_level: float | None = None,
        fill_rate: float | None = None,
        error_window: int = 20,
    ) -> None:
        self.level = None if level is None else check_number("level", level)
        self.local_level = None if local_level is None else check_number("local_level", local_level)
        self.safety = SafetyStock.from_params(safety_factor, service_level, fill_rate, error_window)

    def reset(self, expected_demand: float, lead_time: float) -> None:
        if self.local_level is None:
            self.local_level = (lead_time + 1) * expected_demand
        self._expected = expected_demand

    def order(self, s: Situation) -> float:
        obs = s.observation
        positions = obs.downstream_positions
        if s.alone and self.level is not None:  # its echelon is itself, always in view
            return self.level + self._safety(obs.orders, s.lead_time, s) - s.inventory_position
        if positions is None:
            local = self.local_level + self._safety(obs.orders, s.lead_time, s)
            return local - s.inventory_position
        if self.level is None:
            self.level = (s.echelon_lead_time + 1) * self._expected
        echelon = s.inventory_position + ordered_dot(positions, obs.downstream_shares)
        return self.level + self._safety(obs.demand_signal, s.echelon_lead_time, s) - echelon

    def _safety(self, demand: float, lead_time: float, s: Situation) -> float:
        if self.safety is None:
            return 0.0
        self.safety.observe(demand, self._expected)
        return self.safety.level(lead_time, self._expected, s.review_period)
