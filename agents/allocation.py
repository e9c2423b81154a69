"""Sharing out stock when a firm cannot fill every order.

A rule takes the units available and what is owed to each customer, and returns
how much to ship to each. Rules never ship more than is owed or available.
Register your own with ``@ALLOCATIONS.register("name")`` (parameters, if any, declared
in ``params`` and given in a firm's ``allocation_params``)::

    @ALLOCATIONS.register("largest-first")
    class LargestFirst(AllocationRule):
        def allocate(self, available, owed, owed_since):
            ...
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from pullchain.network.params import Configurable
from pullchain.network.registry import Registry
from pullchain.network.sums import ordered_sum

ALLOCATIONS: Registry[AllocationRule] = Registry("allocation rule", "ALLOCATIONS")


class AllocationRule(Configurable, ABC):
    """How a short firm shares ``available`` units among customers it owes."""

    @abstractmethod
    def allocate(
        self,
        available: float,
        owed: Sequence[float],
        owed_since: Sequence[int],
        needs: Sequence[float] | None = None,
    ) -> list[float]:
        """Units to ship to each customer.

        Args:
            available: units on hand, less than the total owed.
            owed: units owed to each customer (negative: a credit from returns).
            owed_since: the period each customer's oldest unfilled order arrived.
            needs: each customer's true need (the consumer demand flowing through it),
                where the information regime lets the firm see it; else None.
        """


@ALLOCATIONS.register("proportional")
class Proportional(AllocationRule):
    """Each customer gets ``available * owed_i / sum(owed)``: the rule that invites gaming."""

    def allocate(
        self,
        available: float,
        owed: Sequence[float],
        owed_since: Sequence[int],
        needs: Sequence[float] | None = None,
    ) -> list[float]:
        total = ordered_sum(o for o in owed if o > 0)
        if total <= 0:
            return [0.0] * len(owed)
        ratio = available / total
        return [o * ratio if o > 0 else 0.0 for o in owed]


@ALLOCATIONS.register("fcfs")
class FirstComeFirstServed(AllocationRule):
    """Customers are served in full, oldest unfilled order first (ties: customer order)."""

    def allocate(
        self,
        available: float,
        owed: Sequence[float],
        owed_since: Sequence[int],
        needs: Sequence[float] | None = None,
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
        self,
        available: float,
        owed: Sequence[float],
        owed_since: Sequence[int],
        needs: Sequence[float] | None = None,
    ) -> list[float]:
        ship = [0.0] * len(owed)
        open_ = sorted((o, i) for i, o in enumerate(owed) if o > 0)  # smallest first
        for pos, (o, i) in enumerate(open_):
            give = min(o, available / (len(open_) - pos))
            ship[i] = give
            available -= give
        return ship


@ALLOCATIONS.register("need")
class ByNeed(AllocationRule):
    """In proportion to true need where it is visible, so inflated orders gain nothing.

    With shared point-of-sale data, customer i's need is the consumer demand flowing
    through it; each gets available * need_i / sum(need), never more than it is owed
    (what is left over goes round again). Where needs are not visible (an opaque
    regime), it falls back to ``proportional``.
    """

    def allocate(
        self,
        available: float,
        owed: Sequence[float],
        owed_since: Sequence[int],
        needs: Sequence[float] | None = None,
    ) -> list[float]:
        if needs is None:
            return Proportional().allocate(available, owed, owed_since)
        ship = [0.0] * len(owed)
        open_ = [i for i, o in enumerate(owed) if o > 0]
        while open_ and available > 1e-12:
            weight = ordered_sum(max(needs[i], 0.0) for i in open_)
            if weight <= 0:
                rest = [owed[i] - ship[i] for i in open_]
                for i, give in zip(
                    open_, Proportional().allocate(available, rest, []), strict=True
                ):
                    ship[i] += give
                break
            handed = 0.0
            still = []
            for i in open_:
                give = min(owed[i] - ship[i], available * max(needs[i], 0.0) / weight)
                ship[i] += give
                handed += give
                if owed[i] - ship[i] > 1e-12:
                    still.append(i)
            available -= handed
            if handed <= 1e-12 or len(still) == len(open_):
                break
            open_ = still
        return ship
