"""Ordering policies: how much a firm orders (or a source plans to make) each period.

A policy sees a ``Situation``, the firm's own stock and supply line plus what the
information regime let it observe, and returns a quantity. The firm clips it at
zero unless returns are allowed. Each rule fits on a screen with its formula.

Notation: IP = on hand - backlog + credit + supply line (inventory position, after
this period's demand; the credit is what customers' negative orders cancelled beyond
what the firm owed them); x_t = the demand signal of period t (orders received, or
point-of-sale demand under a transparent regime); L = periods an order must
cover (order delay + shipping lead time, plus production for producers).

Add a rule by subclassing ``OrderingPolicy``, declaring its parameters and registering
it (docs/extending.md)::

    @POLICIES.register("times-the-signal")
    class Multiplier(OrderingPolicy):
        params = {"factor": Param(2.0, "orders are this many times the signal", minimum=0)}

        def order(self, s: Situation) -> float:
            return self.factor * s.observation.demand_signal
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import replace
from typing import Any, ClassVar

from pullchain.network.errors import ConfigError
from pullchain.network.params import Configurable, Param
from pullchain.network.regimes import VMI_BAND, Observation
from pullchain.network.registry import Registry
from pullchain.network.sums import ordered_dot

from .forecasts import FORECASTS, Forecast
from .safety import SAFETY_PARAMS, SafetyStock

POLICIES: Registry[OrderingPolicy] = Registry("ordering policy", "POLICIES")


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


class OrderingPolicy(Configurable, ABC):
    """Base class. Parameters are declared in ``params``; ``reset`` primes the rule for a
    chain in steady state."""

    def reset(self, expected_demand: float, lead_time: float) -> None:
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

    The forecast object is ``self.forecast``; its name is ``self.forecast_name``.
    """

    params: ClassVar[dict[str, Param]] = {
        "forecast": Param(
            "moving_average", "the forecast mu", unit="name", registry="forecast",
            attr="forecast_name",
        ),
        "window": Param(
            5, "moving-average window (used only when `forecast = \"moving_average\"` and "
            "`forecast_params` is not given)", unit="periods", minimum=1,
        ),
        "alpha": Param(
            0.3, "smoothing constant (used only when `forecast = \"exponential_smoothing\"` "
            "and `forecast_params` is not given)", unit="fraction", minimum=0, above=True,
            maximum=1,
        ),
        "forecast_params": Param(
            None, "parameters of any forecast; when given, `window` and `alpha` are ignored",
            type="dict", unit="table", default_doc="none",
        ),
        "safety_stock": Param(0.0, "constant safety stock", unit="units", minimum=0),
        "safety_periods": Param(
            0.0, "extra periods of forecast demand held as safety stock "
            "(SS = `safety_stock` + `safety_periods` mu)", unit="periods", minimum=0,
        ),
        **SAFETY_PARAMS,
    }  # fmt: skip

    def __init__(self, *args: Any, **params: Any) -> None:
        super().__init__(*args, **params)
        forecast_params: dict[str, Any] = {}
        if self.forecast_params is not None:
            forecast_params = self.forecast_params
        elif self.forecast_name == "moving_average":
            forecast_params = {"window": self.window}
        elif self.forecast_name == "exponential_smoothing":
            forecast_params = {"alpha": self.alpha}
        self.forecast = _forecast(self.forecast_name, forecast_params)
        self.safety = SafetyStock.of(self)

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
    """

    params: ClassVar[dict[str, Param]] = {
        "level": Param(
            None, "the base-stock level S (with adaptive safety stock, S + z sigma sqrt(L) is "
            "ordered up to, sigma from the orders it must serve against the expected demand)",
            type="float", unit="units", default_doc="(L + 1) x expected demand",
        ),
        **SAFETY_PARAMS,
    }  # fmt: skip

    def __init__(self, *args: Any, **params: Any) -> None:
        super().__init__(*args, **params)
        self.safety = SafetyStock.of(self)
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
    """(s, S): when IP_t <= s, order up to S (q = S - IP); otherwise order nothing."""

    params: ClassVar[dict[str, Param]] = {
        "s": Param(
            None, "reorder point", type="float", unit="units", default_doc="L x expected demand"
        ),
        "S": Param(
            None, "order-up-to level (above `s`)", type="float", unit="units",
            default_doc="`s` + 2 x expected demand",
        ),
    }  # fmt: skip

    def __init__(self, *args: Any, **params: Any) -> None:
        super().__init__(*args, **params)
        if self.s is not None and self.S is not None and self.s >= self.S:
            raise ConfigError("S", self.S, f"a level above s = {self.s:g}")

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

    """

    params: ClassVar[dict[str, Param]] = {
        "reorder_point": Param(
            None, "R", type="float", unit="units", default_doc="L x expected demand"
        ),
        "quantity": Param(
            None, "batch size Q", type="float", unit="units", minimum=0, above=True,
            default_doc="max(2 x expected demand, 1)",
        ),
    }  # fmt: skip

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
    """

    params: ClassVar[dict[str, Param]] = {
        "theta": Param(
            0.36, "weight of the newest signal in the expectation", unit="fraction",
            minimum=0, maximum=1,
        ),
        "alpha_s": Param(
            0.26, "fraction of the stock gap corrected each period", unit="fraction",
            minimum=0, maximum=1,
        ),
        "beta": Param(
            0.34, "weight given to the supply line (below 1, orders in transit are "
            "under-counted)", unit="fraction", minimum=0, maximum=1,
        ),
        "desired_stock": Param(
            17.0, "S', the anchor for stock and supply line together", unit="units"
        ),
        "hold_periods": Param(
            0, "as the game is played on the board: in periods 0 .. `hold_periods` - 1 the "
            "firm orders `hold_order` whatever the rule says (the expectation E keeps "
            "learning). The `beer-game` preset holds 4 weeks", unit="periods", minimum=0,
        ),
        "hold_order": Param(
            None, "the order of those first periods (4 in the beer game)", type="float",
            unit="units", minimum=0, default_doc="the expected demand",
        ),
        "integer": Param(
            False, "orders in whole units, rounded half up: floor(O + 1/2). The `beer-game` "
            "preset sets it", unit="true/false",
        ),
    }  # fmt: skip

    def __init__(self, *args: Any, **params: Any) -> None:
        super().__init__(*args, **params)
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

    """

    params: ClassVar[dict[str, Param]] = {
        "level": Param(
            None, "the echelon level S_e", type="float", unit="units",
            default_doc="(L_e + 1) x expected demand, L_e = the firm's L plus the longest L "
            "of the firms below it",
        ),
        "local_level": Param(
            None, "S of the local fallback (as `base_stock`'s `level`)", type="float",
            unit="units", default_doc="(L + 1) x expected demand",
        ),
        **SAFETY_PARAMS,
        "safety_factor": replace(
            SAFETY_PARAMS["safety_factor"],
            doc="adaptive safety stock z sigma sqrt(L_e) added to S_e (sqrt(L) to the local "
            "S) with this z (docs/model.md, *Safety stock from forecast errors*). At most one "
            "of `safety_factor`, `service_level`, `fill_rate`; none: no adaptive safety "
            "stock. 0 is the policy without it, bit for bit",
        ),
    }  # fmt: skip

    def __init__(self, *args: Any, **params: Any) -> None:
        super().__init__(*args, **params)
        self.safety = SafetyStock.of(self)

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


@POLICIES.register("vmi_band")
class VendorBand(OrderingPolicy):
    """Replenishment within an agreed band, as a vendor sets it for a retailer it manages
    under vendor-managed inventory (the `vmi` regime), from the retailer's point-of-sale
    data and stock.

    mu_t = mean of the last `window` POS values (the newest included);
    s_t = (L + min_cover) mu_t,  S_t = (L + max_cover) mu_t, with L the retailer's;
    min_max:     q_t = S_t - IP_t if IP_t <= s_t, else 0 (replenish when the stock falls
                 to the band's floor, up to its ceiling);
    order_up_to: q_t = S_t - IP_t every period (the order-up-to form Disney & Towill
                 2003 use for VMI; min_max with min_cover = max_cover is the same).
    With a safety factor or a service target (the retailer's own, which the vendor keeps:
    ``vmi`` hands it over), both levels rise by z sigma_t sqrt(L), sigma_t from the
    errors of the retailer's sales against mu_{t-1}, as in ``order_up_to``.
    """

    params: ClassVar[dict[str, Param]] = {**VMI_BAND, **SAFETY_PARAMS}  # declared once each

    def __init__(self, *args: Any, **params: Any) -> None:
        super().__init__(*args, **params)
        if self.max_cover < self.min_cover:
            raise ConfigError(
                "max_cover", self.max_cover, f"at least min_cover = {self.min_cover:g}"
            )
        self.forecast = _forecast("moving_average", {"window": self.window})
        self.safety = SafetyStock.of(self)

    def reset(self, expected_demand: float, lead_time: float) -> None:
        self.forecast.reset(expected_demand)

    def order(self, s: Situation) -> float:
        obs = s.observation
        if self.safety is not None:
            self.safety.observe(obs.orders, self.forecast.value)  # sales against mu_{t-1}
        mu = self.forecast.update(obs.demand_signal)
        safety = 0.0 if self.safety is None else self.safety.level(s.lead_time, mu, 1)
        ip = s.inventory_position
        if self.band == "min_max" and ip > (s.lead_time + self.min_cover) * mu + safety:
            return 0.0
        return (s.lead_time + self.max_cover) * mu + safety - ip
