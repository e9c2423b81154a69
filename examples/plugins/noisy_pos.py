"""A regime with a knob of its own, as a plug-in (``--plugin noisy_pos.py``;
``regime.name = "noisy_pos"``, ``regime.error``).

Point-of-sale data and stock positions flow upstream as under ``transparent``, but the
sales data arrive with a measurement error: each firm that sees consumer demand sees
pos (1 + error z), z ~ N(0, 1) clipped so the figure stays >= 0, drawn from the regime's
own random stream (so both regimes of a pair still face the same consumer demand). The
error is declared as a knob (``error``) and so is checked, documented and sweepable
like every other; ``Observation.extra`` tells a policy of one's own how noisy the data
are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import ClassVar

import numpy as np

from pullchain.network.params import Param
from pullchain.network.regimes import REGIMES, Observation, Transparent
from pullchain.network.topology import Topology


@REGIMES.register("noisy_pos")
class NoisyPOS(Transparent):
    """Transparent, with an error on the shared point-of-sale data: firms see pos (1 +
    `error` z), z standard normal, from the regime's own stream."""

    params: ClassVar[dict[str, Param]] = {
        **Transparent.params,
        "error": Param(
            0.2, "relative standard deviation of the error on shared point-of-sale data",
            unit="fraction", minimum=0,
        ),
    }  # fmt: skip

    def bind(self, topology: Topology, rng: np.random.Generator) -> None:
        super().bind(topology, rng)
        self._noise = np.random.default_rng(rng.integers(2**63))  # the regime's own stream

    def observe(self, firm: int, period: int, orders: Sequence[float]) -> Observation:
        obs = super().observe(firm, period, orders)
        if obs.pos_demand is None or not self.error:
            return obs
        seen = max(obs.pos_demand * (1.0 + self.error * float(self._noise.standard_normal())), 0.0)
        signal = obs.demand_signal - obs.pos_demand + seen  # the orders it still uses stay
        return replace(obs, pos_demand=seen, demand_signal=signal, extra={"pos_error": self.error})
