"""Dejonckheere's proportional order-up-to rule, as a plug-in (``--plugin pout.py``).

Dejonckheere, Disney, Lambrecht & Towill (2003), "Measuring and avoiding the bullwhip
effect: a control theoretic approach", EJOR 147: 567-590. The order-up-to rule closes
the whole gap between the target and the inventory position every period; the
proportional one closes a fraction 1/Ti of it::

    mu_t = forecast updated with x_t
    q_t  = mu_t + ((L - 1) mu_t + SS - IP_t) / Ti

Ti = 1 is the order-up-to rule exactly (q_t = L mu_t + SS - IP_t); a larger Ti damps
the orders (less bullwhip: with exponential smoothing the paper shows the variance
ratio falls below 1 for Ti large enough) at the price of more variable stock.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pullchain.agents.forecasts import FORECASTS
from pullchain.agents.policies import POLICIES, OrderingPolicy, Situation
from pullchain.network.params import Param


@POLICIES.register("proportional_out")
class ProportionalOrderUpTo(OrderingPolicy):
    """Dejonckheere et al.'s (2003) proportional order-up-to: q = mu + (target - IP) / Ti,
    the gap to the order-up-to target closed over Ti periods (Ti = 1: order-up-to)."""

    params: ClassVar[dict[str, Param]] = {
        "ti": Param(
            4.0, "Ti, the periods over which the gap to the target is closed (1: the "
            "order-up-to rule)", unit="periods", minimum=1,
        ),
        "forecast": Param(
            "exponential_smoothing", "the forecast mu", unit="name", registry="forecast",
            attr="forecast_name",
        ),
        "forecast_params": Param(
            None, "its parameters", type="dict", unit="table", default_doc="its own defaults"
        ),
        "safety_stock": Param(0.0, "constant safety stock SS", unit="units", minimum=0),
    }  # fmt: skip

    def __init__(self, *args: Any, **params: Any) -> None:
        super().__init__(*args, **params)
        self.forecast = FORECASTS.create(self.forecast_name, self.forecast_params, "forecast")

    def reset(self, expected_demand: float, lead_time: float) -> None:
        self.forecast.reset(expected_demand)

    def order(self, s: Situation) -> float:
        mu = self.forecast.update(s.observation.demand_signal)
        target = (s.lead_time - 1) * mu + self.safety_stock
        return mu + (target - s.inventory_position) / self.ti
