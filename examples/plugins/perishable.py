"""A retailer whose stock perishes, as a plug-in (``--plugin perishable.py``;
``class = "perishable_retailer"``).

Goods keep ``shelf_life`` periods from the period they arrive. The retailer sells the
oldest first (FIFO); at the end of each period whatever has reached its shelf life is
written off (``written_off``, and ``writeoff_cost`` at the unit value less the salvage
value), so goods are conserved: entered = held + in transit + sold + written off. The
ordering policy is the kind's own and does not know about the expiry, which is what
makes the waste visible.
"""

from __future__ import annotations

from collections import deque
from typing import Any, ClassVar

from pullchain.agents.firms import Retailer
from pullchain.agents.kinds import AGENTS
from pullchain.network.params import Param


@AGENTS.register("perishable_retailer")
class PerishableRetailer(Retailer):
    """A retailer whose goods perish `shelf_life` periods after they arrive: it sells the
    oldest first and writes off what has expired at each period's end."""

    params: ClassVar[dict[str, Param]] = {
        "shelf_life": Param(
            4, "periods a unit keeps on the shelf from the period it arrives (it is written "
            "off at the end of its last one)", unit="periods", minimum=1,
        ),
    }  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The shelf by age: [period arrived, units], oldest first; the opening stock
        # counts as arrived in period 0.
        self.batches: deque[list[float]] = deque([[0, self.on_hand]] if self.on_hand else [])

    def take_in(self, quantity: float) -> None:
        super().take_in(quantity)
        self.batches.append([self.model.period, quantity])

    def close_period(self) -> None:
        """What was sold left the oldest batches; what has expired is written off, then
        the period's costs are charged (the write-off included)."""
        sold = sum(b[1] for b in self.batches) - self.on_hand
        while sold > 1e-12 and self.batches:
            take = min(self.batches[0][1], sold)
            self.batches[0][1] -= take
            sold -= take
            if self.batches[0][1] <= 1e-12:
                self.batches.popleft()
        expired = 0.0
        while self.batches and self.model.period - self.batches[0][0] + 1 >= self.shelf_life:
            expired += self.batches.popleft()[1]
        if expired > 0:
            self.write_off(min(expired, self.on_hand))
        super().close_period()
