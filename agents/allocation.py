"""Sharing out stock when a firm cannot fill every order.

A rule takes the units available and what is owed to each customer, and returns
how much to ship to each. Rules never ship more than is owed or available.
Register your own with ``@ALLOCATIONS.register("name")``::

    @ALLOCATIONS.register("largest-first")
    class LargestFirst(AllocationRule):
        def allocate(self, available, owed, owed_since):
            ...
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from pullchain.network.registry import Registry

ALLOCATIONS: Registry[AllocationRule] = Registry("allocation rule")


class AllocationRule(ABC):
    """How a short firm shares ``available`` units among customers it owes."""

    @abstractmethod
    def allocate(
        self, available: float, owed: Sequence[float], owed_since: Sequence[int]
    ) -> list[float]:
        """Units to ship to each customer.

        Args:
            available: units on hand, less than the total owed.
            owed: units owed to each customer (negative: a credit from returns).
            owed_since: the period each customer's oldest unfilled order arrived.
        """


@ALLOCATIONS.register("proportional")
class Proportional(AllocationRule):
    """Each customer gets ``available * owed_i / sum(owed)``: the rule that invites gaming."""

    def allocate(
        self, available: float, owed: Sequence[float], owed_since: Sequence[int]
    ) -> list[float]:
        total = sum(o for o in owed if o > 0)
        if total <= 0:
            return [0.0] * len(owed)
        ratio = available / total
        return [o * ratio if o > 0 else 0.0 for o in owed]


@ALLOCATIONS.register("fcfs")
class FirstComeFirstServed(AllocationRule):
    """Customers are served in full, oldest unfilled order first (ties: customer order)."""

    def allocate(
        self, available: float, owed: Sequence[float], owed_since: Sequence[int]
    ) -> list[float]:
        ship = [0.0] * len(owed)
        queue = sorted((owed_since[i], i) for i, o in enumerate(owed) if o > 0)
        for _, i in queue:
            give = min(owed[i], available)
            ship[i] = give
            available -= give
            if available <= 0:
                break
        return ship


@ALLOCATIONS.register("equal")
class Equal(AllocationRule):
    """Equal shares, the remainder of customers owed less going to the others."""

    def allocate(
        self, available: float, owed: Sequence[float], owed_since: Sequence[int]
    ) -> list[float]:
        ship = [0.0] * len(owed)
        open_ = sorted((o, i) for i, o in enumerate(owed) if o > 0)  # smallest first
        for pos, (o, i) in enumerate(open_):
            give = min(o, available / (len(open_) - pos))
            ship[i] = give
            available -= give
        return ship
