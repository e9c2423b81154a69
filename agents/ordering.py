"""What happens to an order between the policy's answer and the mail: batching,
forward buying and shortage gaming (Lee, Padmanabhan & Whang 1997, causes 2-4).

Each is off by default. They act in this order on the policy's quantity q:

1. **Forward buying.** While a supplier runs a price promotion (as it will be when the
   order reaches it), buy ``forward_buy`` extra periods of expected demand.
2. **Order cycle.** Order only every ``review_period`` periods (firm i on periods
   t = i mod R, so firms are staggered); in between, q = 0.
3. **Clipping** at zero unless returns are allowed.
4. **Minimum order.** A positive order below ``min_order`` is raised to it.
5. **Full trucks.** A positive order is rounded up to whole batches of ``batch_size``.
6. **Shortage gaming.** A rationed buyer (its suppliers' packing slips show they shipped a
   fraction f < 1 of what was owed) orders q / f, at most ``gaming`` x q; the excess is
   a *phantom* order it does not need (capped at gaming - 1 times its real orders
   outstanding). When supply recovers (the next shipment at the latest fraction would
   cover all its real orders) it cancels the phantom orders, before they are shipped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pullchain.network.sums import ordered_sum

if TYPE_CHECKING:
    from .firms import Firm


SETTINGS = ("min_order", "batch_size", "review_period", "forward_buy", "gaming")
"""The firm attributes (``pullchain.network.schema.FIRM_PARAMS``) that shape orders."""


@dataclass
class OrderShaping:
    """A firm's batching, forward-buying and gaming settings, and the state gaming needs."""

    min_order: float = 0.0
    batch_size: float = 0.0
    review_period: int = 1
    forward_buy: float = 0.0
    gaming: float = 1.0
    phantom: float = 0.0  # units ordered beyond need and not yet cancelled
    demand_level: float = 0.0  # smoothed demand signal, for forward buying

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> OrderShaping:
        """The settings of a firm's node attributes (``min_order``, ``batch_size``, ...)."""
        return cls(**{name: config[name] for name in SETTINGS})

    @property
    def active(self) -> bool:
        """Whether any mechanism is switched on."""
        return bool(
            self.min_order
            or self.batch_size
            or self.review_period > 1
            or self.forward_buy
            or self.gaming > 1
        )

    def shape(self, firm: Firm, period: int, quantity: float, signal: float) -> float:
        """The quantity to order after the mechanisms above (before clipping comes 3)."""
        if self.forward_buy:
            self.demand_level = signal if period == 0 else 0.5 * self.demand_level + 0.5 * signal
            if any(lane.on_promotion(period + lane.order_delay) for lane in firm.in_lanes):
                quantity += self.forward_buy * self.demand_level
        if (
            self.review_period > 1
            and period % self.review_period != firm.index % self.review_period
        ):
            quantity = 0.0
        if not firm.allow_returns and quantity < 0:
            quantity = 0.0
        if quantity > 0 and self.min_order:
            quantity = max(quantity, self.min_order)
        if quantity > 0 and self.batch_size:
            quantity = math.ceil(quantity / self.batch_size - 1e-9) * self.batch_size
        if self.gaming > 1:
            quantity = self._game(firm, period, quantity)
        return quantity

    def _game(self, firm: Firm, period: int, quantity: float) -> float:
        """Inflate orders while rationed; cancel the phantom part once supply recovers.

        Rationed: the latest packing slip shows a fraction f < 1 of what was owed.
        The order becomes q / f (at most ``gaming`` x q), and the phantom orders
        outstanding never exceed (gaming - 1) x the real orders outstanding. As soon
        as supply has recovered enough that the next shipment at the latest fraction,
        f x what is owed, would cover every real order, the phantom orders are
        cancelled, before the suppliers ship them.
        """
        fill = min((lane.last_fill for lane in firm.in_lanes), default=1.0)
        owed_to_me = firm.supply_line - ordered_sum(
            lane.in_transit + lane.orders_in_transit for lane in firm.in_lanes
        )
        real = max(owed_to_me - self.phantom - firm.cancelling, 0.0)
        if self.phantom > 0 and fill * owed_to_me >= real - 1e-9:
            firm.cancel(period, self.phantom)
            self.phantom = 0.0
        if fill < 0.99 and quantity > 0:
            inflated = quantity * min(self.gaming, 1.0 / max(fill, 1e-9))
            cap = (self.gaming - 1) * (real + quantity)
            extra = max(min(self.phantom + inflated - quantity, cap) - self.phantom, 0.0)
            self.phantom += extra
            return quantity + extra
        return quantity
