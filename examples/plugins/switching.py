"""A retailer that moves its orders away from a supplier that keeps it waiting, as a
plug-in (``--plugin switching.py``; ``class = "switching_retailer"``).

Each period, before it orders, the retailer asks what each of its suppliers still owes
it (``Firm.owed_by``: from its own records, never the supplier's books). A supplier that
has owed it something for ``k`` periods in a row gets none of its orders until it has
caught up; the orders go to the other suppliers in proportion to their shares. If every
supplier is late, it keeps its usual split. Goods are conserved: orders are only routed.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pullchain.agents.firms import Retailer
from pullchain.agents.kinds import AGENTS
from pullchain.network.params import Param
from pullchain.network.regimes import Observation


@AGENTS.register("switching_retailer")
class SwitchingRetailer(Retailer):
    """A retailer that orders from its other suppliers while one has kept it waiting for
    `k` periods (what each owes it: `owed_by`), and back once it has caught up."""

    params: ClassVar[dict[str, Param]] = {
        "k": Param(
            3, "periods in a row a supplier may owe the retailer goods before it gets no "
            "more orders (until it owes nothing)", unit="periods", minimum=1,
        ),
    }  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.late_for = [0] * len(self.in_lanes)  # periods each supplier has owed it
        self.switched = 0  # periods in which it routed orders away from someone

    def decide(self, observation: Observation) -> float:
        for i in range(len(self.in_lanes)):
            self.late_for[i] = self.late_for[i] + 1 if self.owed_by(i) > 1e-9 else 0
        return super().decide(observation)

    def split(self, quantity: float) -> list[float]:
        shares = [lane.share for lane in self.in_lanes]
        keep = [s if late < self.k else 0.0 for s, late in zip(shares, self.late_for, strict=True)]
        if sum(keep) <= 0 or keep == shares:
            return super().split(quantity)
        self.switched += 1
        total = sum(keep)
        return [quantity * s / total for s in keep]
