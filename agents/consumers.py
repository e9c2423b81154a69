"""Consumers: the end of the chain, where demand starts and goods are sold.

A ``Consumer`` may stand for one person or a segment of many: its demand process
says how much it asks for each period. It splits its demand among its retailers
by the edges' shares; goods it receives are *sold* and leave the chain.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import mesa

from pullchain.network.lanes import Lane
from pullchain.network.params import Param
from pullchain.network.schema import CONSUMER_PARAMS

from .demand import DemandProcess
from .kinds import AGENTS, adopt

if TYPE_CHECKING:
    from collections.abc import Hashable


@AGENTS.register("consumer")
class Consumer(mesa.Agent):
    """Draws demand, buys from its retailers, and waits or walks away when shelves are empty.

    Args:
        model: the model.
        node: node id in the network.
        index: position among consumers (the column of its point-of-sale data).
        in_lanes: lanes from its retailers.
        config: the node's value of every attribute its class declares (``backorder``:
            True to wait for goods, False to buy elsewhere, a lost sale; ...), checked.
        demand: its demand process, already bound to its own random stream.
    """

    kind: ClassVar[str] = "consumer"
    params: ClassVar[dict[str, Param]] = CONSUMER_PARAMS

    def __init__(
        self,
        model: mesa.Model,
        node: Hashable,
        index: int,
        in_lanes: list[Lane],
        config: Mapping[str, Any],
        *,
        demand: DemandProcess,
    ) -> None:
        super().__init__(model)
        self.node = node
        self.index = index
        self.in_lanes = in_lanes
        self.config = dict(config)  # the node's parameters, as checked (read them, do not edit)
        self.demand_process = demand
        self.backorder = config["backorder"]
        adopt(self, config)
        self.demand = 0.0
        self.bought = 0.0
        self.total_demand = 0.0
        self.total_bought = 0.0

    def buy(self, period: int) -> float:
        """Phase 2: draw this period's demand and order it from the retailers."""
        quantity = self.demand_process.draw(period)
        self.demand = quantity
        self.bought = 0.0
        self.total_demand += quantity
        for lane in self.in_lanes:
            lane.send_order(period, quantity * lane.share)
        return quantity

    def receive(self, period: int) -> None:
        """Phase 4: take home what the retailers handed over."""
        got = 0.0
        for lane in self.in_lanes:
            got += lane.take_delivery(period)
        self.bought = got
        self.total_bought += got

    @property
    def waiting(self) -> float:
        """Units asked for and still owed (0 for consumers who do not wait)."""
        return self.total_demand - self.total_bought if self.backorder else 0.0
