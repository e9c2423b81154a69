"""Extending pullchain without touching its code: five extension points in one script.

A researcher who wants to try an idea does not edit pullchain. Each building block is
looked up by name in a registry, declares its parameters once (``Param``: default,
bounds, unit, meaning; checked, documented by ``pullchain params``, sweepable), and
agent classes are named per kind or per node. This script adds one of each kind:

(a) an ordering rule:      ``proportional_out``, Dejonckheere et al.'s proportional
                           order-up-to rule, loaded from the plug-in file
                           examples/plugins/pout.py (as ``--plugin`` would);
(b) a forecast:            ``holt``, Holt's linear trend (optionally damped),
                           registered in ``FORECASTS``;
(c) a demand process:      ``weekly``, a weekly pattern with weekend peaks,
                           registered in ``DEMANDS``;
(d) an information regime: ``pos_delayed``, point-of-sale data shared with a delay of
                           3 periods (sales only, no stock), registered in ``REGIMES``;
(e) an agent class:        ``case_retailer``, a retailer that orders whole cases of
                           ``case_size`` units, registered in ``AGENTS``.

Registering happens when this module is imported, so ``import custom_policy`` is all
another script (or a test) needs before using the new names in a network; a scenario
file names the module in ``plugins = [...]`` instead (docs/extending.md).

Run it with ``python examples/custom_policy.py``: it prints the bullwhip ratio of each
tier (Var(orders) / Var(consumer demand)) and the total cost, for the built-in opaque
regime and for the new ``pos_delayed`` regime, on a serial chain and a layered network.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from pullchain.agents.demand import DEMANDS, DemandProcess
from pullchain.agents.firms import Retailer
from pullchain.agents.forecasts import FORECASTS, Forecast
from pullchain.agents.kinds import AGENTS
from pullchain.network.builders import layered_network, serial_chain
from pullchain.network.params import Param, with_defaults
from pullchain.network.regimes import REGIMES, InformationRegime, Observation
from pullchain.runs import plugins
from pullchain.runs.model import SupplyChainModel

# -- (a) an ordering rule, from a plug-in file ---------------------------------------------------
POUT_FILE = plugins.load(str(Path(__file__).resolve().parent / "plugins" / "pout.py"))


# -- (b) a forecast -------------------------------------------------------------------------
@FORECASTS.register("holt")
class Holt(Forecast):
    """Holt's linear trend, damped by phi (Gardner & McKenzie 1985)::

        l_t = alpha x_t + (1 - alpha) (l_{t-1} + phi b_{t-1})     level
        b_t = beta (l_t - l_{t-1}) + (1 - beta) phi b_{t-1}         trend
        F_t = l_t + phi b_t                                         next period's demand

    phi = 1 is Holt's undamped method; phi < 1 lets the trend die out.

    """

    params: ClassVar[dict[str, Param]] = {
        "alpha": Param(0.3, "smoothing constant of the level", minimum=0, above=True, maximum=1),
        "beta": Param(0.1, "smoothing constant of the trend", minimum=0, above=True, maximum=1),
        "phi": Param(1.0, "damping factor of the trend", minimum=0, above=True, maximum=1),
    }

    def __init__(self, *args: Any, **params: Any) -> None:
        super().__init__(*args, **params)
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

    """

    WEEKEND: ClassVar[tuple[int, ...]] = (5, 6)
    params: ClassVar[dict[str, Param]] = {
        # ``mean`` is also the name of a method, so the value is kept in ``mean_``.
        "mean": Param(10.0, "average demand per period over a week", minimum=0, attr="mean_"),
        "peak": Param(2.0, "times a weekday's demand on each weekend day", minimum=0),
    }

    def __init__(self, *args: Any, **params: Any) -> None:
        super().__init__(*args, **params)
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
@AGENTS.register("case_retailer")
class CaseRetailer(Retailer):
    """A retailer that can only order whole cases: its policy's answer, rounded up."""

    params: ClassVar[dict[str, Param]] = {
        "case_size": Param(12, "units in a case; orders are whole cases", minimum=1),
    }

    def decide(self, observation: Observation) -> float:
        quantity = super().decide(observation)
        # The small tolerance keeps 24.000000001 (float dust) at two cases, not three.
        return self.case_size * math.ceil(quantity / self.case_size - 1e-9)


# -- using them together ---------------------------------------------------------------------
POUT = {
    "ti": 4,
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
        "serial, proportional_out": {
            "network": serial_chain(4, policy="proportional_out", policy_params=POUT, **serial)
        },
        "layered, POUT + cases of 12": {
            "network": layered_network(
                demand="weekly",
                demand_params=WEEKLY,
                policy="proportional_out",
                policy_params=POUT,
                seed=1,
            ),
            "agent_classes": {"retailer": "case_retailer"},
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
