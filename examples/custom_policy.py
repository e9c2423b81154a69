"""Extending pullchain without touching its code: five extension points in one script.

A researcher who wants to try an idea does not edit pullchain. Each building block is
looked up by name in a registry, and agent classes can be swapped in when the model is
built. This script adds one of each kind:

(a) an ordering rule:      ``smoothed_order_up_to``, the proportional order-up-to
                           rule of Disney & Towill, registered in ``POLICIES``;
(b) a forecast:            ``holt``, Holt's linear trend (optionally damped),
                           registered in ``FORECASTS``;
(c) a demand process:      ``weekly``, a weekly pattern with weekend peaks,
                           registered in ``DEMANDS``;
(d) an information regime: ``pos_delayed``, point-of-sale data shared with a delay of
                           3 periods (sales only, no stock), registered in ``REGIMES``;
(e) an agent class:        ``CaseRetailer``, a retailer that orders whole cases of 12,
                           passed as ``SupplyChainModel(..., agent_classes=...)``.

Registering happens when this module is imported, so ``import custom_policy`` is all
another script (or a test) needs before using the new names in a network.

Run it with ``python examples/custom_policy.py``: it prints the bullwhip ratio of each
tier (Var(orders) / Var(consumer demand)) and the total cost, for the built-in opaque
regime and for the new ``pos_delayed`` regime, on a serial chain and a layered network.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from pullchain.agents.demand import DEMANDS, DemandProcess
from pullchain.agents.firms import Retailer
from pullchain.agents.forecasts import FORECASTS, Forecast
from pullchain.agents.policies import POLICIES, OrderingPolicy, Situation
from pullchain.network.builders import layered_network, serial_chain
from pullchain.network.errors import check_number
from pullchain.network.params import Param, with_defaults
from pullchain.network.regimes import REGIMES, InformationRegime, Observation
from pullchain.runs.model import SupplyChainModel

# The names this module adds, so that a test can remove them again.
REGISTERED = {
    "policy": "smoothed_order_up_to",
    "forecast": "holt",
    "demand": "weekly",
    "regime": "pos_delayed",
}


# -- (a) an ordering rule -----------------------------------------------------------------
@POLICIES.register("smoothed_order_up_to")
class SmoothedOrderUpTo(OrderingPolicy):
    """Proportional order-up-to, POUT (Disney & Towill 2003, Omega 31: 157-167).

    Order-up-to closes the whole gap between the target and the inventory position
    every period; POUT closes only a fraction 1/Ti of it::

        mu_t = forecast updated with x_t
        y_t  = (L - 1) mu_t + SS            target inventory position before ordering
        q_t  = mu_t + (y_t - IP_t) / Ti

    Ti is the inventory-adjustment time (Disney & Towill's Ti = Tw). With Ti = 1,
    q_t = L mu_t + SS - IP_t, which is exactly the built-in ``order_up_to``; larger
    Ti damps orders (less bullwhip) at the price of more variable stock.

    Args:
        adjustment_time: Ti >= 1.
        forecast: a name registered in FORECASTS.
        forecast_params: that forecast's keyword parameters.
        safety_stock: SS, units.
    """

    def __init__(
        self,
        adjustment_time: float = 4.0,
        forecast: str = "exponential_smoothing",
        forecast_params: dict[str, Any] | None = None,
        safety_stock: float = 0.0,
    ) -> None:
        self.adjustment_time = check_number("adjustment_time", adjustment_time, minimum=1)
        self.safety_stock = check_number("safety_stock", safety_stock, minimum=0)
        self.forecast = FORECASTS.create(forecast, forecast_params, field="forecast")

    def reset(self, expected_demand: float, lead_time: float) -> None:
        self.forecast.reset(expected_demand)

    def order(self, s: Situation) -> float:
        mu = self.forecast.update(s.observation.demand_signal)
        target = (s.lead_time - 1) * mu + self.safety_stock
        return mu + (target - s.inventory_position) / self.adjustment_time


# -- (b) a forecast -------------------------------------------------------------------------
@FORECASTS.register("holt")
class Holt(Forecast):
    """Holt's linear trend, damped by phi (Gardner & McKenzie 1985)::

        l_t = alpha x_t + (1 - alpha) (l_{t-1} + phi b_{t-1})     level
        b_t = beta (l_t - l_{t-1}) + (1 - beta) phi b_{t-1}         trend
        F_t = l_t + phi b_t                                         next period's demand

    phi = 1 is Holt's undamped method; phi < 1 lets the trend die out.

    Args:
        alpha, beta: smoothing constants of level and trend, in (0, 1].
        phi: damping factor, in (0, 1].
    """

    def __init__(self, alpha: float = 0.3, beta: float = 0.1, phi: float = 1.0) -> None:
        kw = {"minimum": 0, "maximum": 1, "strict_minimum": True}
        self.alpha = float(check_number("alpha", alpha, **kw))
        self.beta = float(check_number("beta", beta, **kw))
        self.phi = float(check_number("phi", phi, **kw))
        self._level: float | None = None
        self._trend = 0.0

    def reset(self, level: float) -> None:
        self._level = self._value = float(level)
        self._trend = 0.0

    def update(self, x: float) -> float:
        if self._level is None:  # never reset: prime with the first observation
            self.reset(x)
        level, trend = self._level, self.phi * self._trend
        new_level = self.alpha * float(x) + (1 - self.alpha) * (level + trend)
        self._trend = self.beta * (new_level - level) + (1 - self.beta) * trend
        self._level = new_level
        self._value = new_level + self.phi * self._trend
        return self._value


# -- (c) a demand process ------------------------------------------------------------------
@DEMANDS.register("weekly")
class WeeklyDemand(DemandProcess):
    """Poisson demand around a weekly pattern with weekend peaks.

    Period 0 is a Monday; periods t with t mod 7 in {5, 6} are Saturday and Sunday::

        w   = 7 mean / (5 + 2 peak)                      a weekday's expected demand
        m_t = peak * w  on weekends,  w  on weekdays
        d_t ~ Poisson(m_t)

    so ``mean`` is the average over a week (the builders read ``demand_params["mean"]``
    to size starting stock).

    Args:
        mean: average demand per period over a week.
        peak: how many times a weekday's demand falls on each weekend day.
    """

    WEEKEND: ClassVar[tuple[int, ...]] = (5, 6)

    def __init__(self, mean: float = 10.0, peak: float = 2.0) -> None:
        self.mean_ = float(check_number("mean", mean, minimum=0))
        self.peak = float(check_number("peak", peak, minimum=0))
        self.weekday = 7 * self.mean_ / (5 + 2 * self.peak)

    def mean(self, period: int) -> float:
        return self.peak * self.weekday if period % 7 in self.WEEKEND else self.weekday

    def draw(self, period: int) -> float:
        return float(self.rng.poisson(self.mean(period)))


# -- (d) an information regime ---------------------------------------------------------------
@REGIMES.register("pos_delayed")
class DelayedPOS(InformationRegime):
    """Point-of-sale data shared with every firm 3 periods late; stock is not shared.

    Only the defaults change: ``observe`` is inherited, so ``Observation.pos_demand``
    of period t is the consumer demand of period t - 3 (None for t < 3, when firms
    fall back on their customers' orders).
    """

    params: ClassVar[dict[str, Param]] = with_defaults(
        InformationRegime.params, share_sales=True, share_stock=False, delay=3
    )


# -- (e) an agent class ------------------------------------------------------------------------
class CaseRetailer(Retailer):
    """A retailer that can only order whole cases: its policy's answer, rounded up."""

    case_size: ClassVar[int] = 12

    def decide(self, observation: Observation) -> float:
        quantity = super().decide(observation)
        # The small tolerance keeps 24.000000001 (float dust) at two cases, not three.
        return self.case_size * math.ceil(quantity / self.case_size - 1e-9)


# -- using them together ---------------------------------------------------------------------
POUT = {
    "adjustment_time": 4,
    "forecast": "holt",
    "forecast_params": {"alpha": 0.3, "beta": 0.05, "phi": 0.9},
}
WEEKLY = {"mean": 10.0, "peak": 2.0}
HORIZON = 300
WARM_UP = 50


def scenarios() -> dict[str, dict[str, Any]]:
    """Name -> (network, extra model keywords) of each comparison."""
    serial = {"lead_time": 2, "initial_stock": 40.0, "demand": "weekly", "demand_params": WEEKLY}
    return {
        "serial, order_up_to": {"network": serial_chain(4, **serial)},
        "serial, smoothed_order_up_to": {
            "network": serial_chain(4, policy="smoothed_order_up_to", policy_params=POUT, **serial)
        },
        "layered, POUT + cases of 12": {
            "network": layered_network(
                demand="weekly",
                demand_params=WEEKLY,
                policy="smoothed_order_up_to",
                policy_params=POUT,
                seed=1,
            ),
            "agent_classes": {"retailer": CaseRetailer},
        },
    }


def run(network, regime: str, seed: int = 1, **kwargs: Any) -> dict[str, float]:
    """One run's summary after the warm-up."""
    model = SupplyChainModel(
        network, regime=regime, horizon=HORIZON, warm_up=WARM_UP, rng=seed, **kwargs
    )
    model.run_model()
    return model.summary()


def main() -> None:
    regimes = ("opaque", "pos_delayed")
    tiers = 4
    header = f"{'scenario':30} {'regime':12}" + "".join(f" {'bw' + str(t):>6}" for t in range(1, 5))
    print(header + f" {'total cost':>11}")
    print("-" * len(header + " total cost "))
    for name, spec in scenarios().items():
        for regime in regimes:
            s = run(regime=regime, **spec)
            ratios = [s.get(f"bullwhip_tier{t}", np.nan) for t in range(1, tiers + 1)]
            cells = "".join(" " + (f"{r:6.2f}" if np.isfinite(r) else f"{'-':>6}") for r in ratios)
            print(f"{name:30} {regime:12}{cells} {s['total_cost']:11.0f}")
    print(
        f"\nbw<k>: bullwhip of tier k (1 = retailers), Var(orders)/Var(consumer demand), "
        f"periods {WARM_UP}-{HORIZON}; weekly demand, mean {WEEKLY['mean']:g}."
    )


if __name__ == "__main__":
    main()
