"""Lanes: what travels on one edge of the supply network.

Each supplier -> customer edge carries a ``Lane``: orders travelling up (read by
the supplier ``order_delay`` periods after they are placed) and goods travelling
down (arriving ``lead_time`` periods after they are shipped). Both queues are
keyed by the period in which they arrive, so goods in transit can always be
counted, which is what the conservation check needs.
"""

from __future__ import annotations

from collections.abc import Hashable

from .sums import ordered_sum


class Lane:
    """The orders and shipments in transit between one supplier and one customer.

    Attributes:
        supplier, customer: node ids at the two ends (goods flow supplier -> customer).
        lead_time: periods a shipment takes; 0 delivers at the end of the same period.
        order_delay: periods an order takes to reach the supplier; 0 means it is read
            in the period it is placed (the supplier acts after its customers).
        share: the fraction of the customer's orders that go to this supplier.
        orders: arrival period -> quantity ordered (may be negative with returns).
        shipments: arrival period -> quantity shipped.
    """

    __slots__ = (
        "cancel_answered",
        "cancel_done",
        "cancels",
        "customer",
        "extra_lead_time",
        "last_fill",
        "lead_time",
        "order_delay",
        "orders",
        "price",
        "promotion",
        "share",
        "shipments",
        "supplier",
        "values",
    )

    def __init__(
        self,
        supplier: Hashable,
        customer: Hashable,
        lead_time: int,
        order_delay: int,
        share: float = 1.0,
    ) -> None:
        self.supplier = supplier
        self.customer = customer
        self.lead_time = lead_time
        self.order_delay = order_delay
        self.share = share
        self.orders: dict[int, float] = {}
        self.shipments: dict[int, float] = {}
        # Invoices for shipments, by the period shipped (only when prices are set).
        self.values: dict[int, float] = {}
        # Cancellations travel like orders; the supplier answers with what it could cancel.
        self.cancels: dict[int, float] = {}
        self.cancel_answered = 0.0
        self.cancel_done = 0.0
        # The packing slip: the fraction of what was owed that the last fill shipped.
        self.last_fill = 1.0
        # Terms of trade: unit price, and promotions as (every, length, discount).
        self.price = 0.0
        self.promotion: tuple[int, int, float] = (0, 1, 0.0)
        # Extra shipping periods while a disruption holds (see pullchain.network.disruptions).
        self.extra_lead_time = 0

    def send_order(self, period: int, quantity: float) -> None:
        """Put an order placed in ``period`` on its way to the supplier."""
        due = period + self.order_delay
        self.orders[due] = self.orders.get(due, 0.0) + quantity

    def take_orders(self, period: int) -> float:
        """Remove and return the orders that reach the supplier in ``period``."""
        return self.orders.pop(period, 0.0)

    def ship(self, period: int, quantity: float) -> None:
        """Put goods shipped in ``period`` on their way to the customer."""
        due = period + self.lead_time + self.extra_lead_time
        self.shipments[due] = self.shipments.get(due, 0.0) + quantity

    def take_delivery(self, period: int) -> float:
        """Remove and return the goods that reach the customer in ``period``."""
        return self.shipments.pop(period, 0.0)

    def send_cancel(self, period: int, quantity: float) -> None:
        """Ask the supplier to cancel ``quantity`` of what it still owes (not what it shipped)."""
        due = period + self.order_delay
        self.cancels[due] = self.cancels.get(due, 0.0) + quantity

    def take_cancels(self, period: int) -> float:
        """Remove and return the cancellations that reach the supplier in ``period``."""
        return self.cancels.pop(period, 0.0)

    def answer_cancel(self, asked: float, done: float) -> None:
        """The supplier's answer: of ``asked``, ``done`` was cancelled (the rest had shipped)."""
        self.cancel_answered += asked
        self.cancel_done += done

    def take_answer(self) -> tuple[float, float]:
        """Remove and return the answered (asked, cancelled) quantities."""
        answer = (self.cancel_answered, self.cancel_done)
        self.cancel_answered = self.cancel_done = 0.0
        return answer

    def bill(self, period: int, value: float) -> None:
        """The invoice for goods shipped in ``period``: the buyer pays as they are shipped."""
        self.values[period] = self.values.get(period, 0.0) + value

    def take_value(self, period: int) -> float:
        """Remove and return the money invoiced for goods shipped in ``period``."""
        return self.values.pop(period, 0.0)

    def on_promotion(self, period: int) -> bool:
        """Whether the supplier's price is discounted in ``period``."""
        every, length, discount = self.promotion
        return every > 0 and discount > 0 and period % every < length

    def price_at(self, period: int) -> float:
        """The unit price in ``period``, promotions included."""
        return self.price * (1 - self.promotion[2]) if self.on_promotion(period) else self.price

    @property
    def in_transit(self) -> float:
        """Goods shipped and not yet delivered (added in order of arrival)."""
        return ordered_sum(v for _, v in sorted(self.shipments.items()))

    @property
    def orders_in_transit(self) -> float:
        """Orders placed and not yet read by the supplier (added in order of arrival)."""
        return ordered_sum(v for _, v in sorted(self.orders.items()))

    @property
    def effective_lead_time(self) -> int:
        """Periods between placing an order and being able to use the goods.

        An order placed at the end of period t and shipped at once is usable from
        period t + order_delay + lead_time; a lead time of 0 still means the next
        period, since the buyer has already acted in this one.
        """
        return self.order_delay + max(self.lead_time, 1)

    def __repr__(self) -> str:
        return (
            f"Lane({self.supplier!r}->{self.customer!r}, lead_time={self.lead_time}, "
            f"order_delay={self.order_delay}, in_transit={self.in_transit:g})"
        )
