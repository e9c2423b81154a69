"""Topology: the fixed facts of a validated network that the model and the regimes share.

It answers structural questions once, at build time: in which order firms act
(customers before suppliers), how each buyer splits its orders among its
suppliers, and how much of each consumer's demand flows through each firm
(its *echelon* demand). Nothing here changes while a model runs.
"""

from __future__ import annotations

from collections.abc import Hashable

import networkx as nx
import numpy as np


class Topology:
    """Index maps, processing order, order shares and echelon weights of a network.

    Args:
        graph: a network already checked by ``validate_network`` (defaults filled in).
    """

    def __init__(self, graph: nx.DiGraph) -> None:
        self.graph = graph
        order = {node: i for i, node in enumerate(graph.nodes)}
        self.consumers: list[Hashable] = [
            n for n in graph.nodes if graph.nodes[n]["kind"] == "consumer"
        ]
        # Customers act before their suppliers, so an order with no delay is read the
        # period it is placed: walk the goods flow from the consumers upstream.
        generations = list(nx.topological_generations(graph))
        self.firms: list[Hashable] = [
            n
            for gen in reversed(generations)
            for n in sorted(gen, key=order.__getitem__)
            if graph.nodes[n]["kind"] != "consumer"
        ]
        self.consumer_index = {n: i for i, n in enumerate(self.consumers)}
        self.firm_index = {n: i for i, n in enumerate(self.firms)}
        self.shares = self._order_shares()
        self.tiers = self._tiers()
        self._weights = self._echelon_weights()
        self._below: dict[Hashable, set[Hashable]] | None = None

    def suppliers(self, node: Hashable) -> list[Hashable]:
        """The nodes that ship to ``node``, in graph order."""
        return list(self.graph.predecessors(node))

    def customers(self, node: Hashable) -> list[Hashable]:
        """The nodes ``node`` ships to, in graph order."""
        return list(self.graph.successors(node))

    def kind(self, node: Hashable) -> str:
        """The node's kind: supplier, brand, distributor, retailer or consumer."""
        return self.graph.nodes[node]["kind"]

    def echelon_weights(self, node: Hashable) -> tuple[np.ndarray, np.ndarray]:
        """Consumer indices and the fraction of each one's demand that flows through ``node``."""
        return self._weights[node]

    def lane_weights(self, supplier: Hashable, customer: Hashable) -> tuple[np.ndarray, np.ndarray]:
        """Consumer demand carried by one edge: the customer's echelon weights times its share."""
        idx, w = self._weights[customer]
        return idx, w * self.shares[supplier, customer]

    def downstream_firms(self, node: Hashable) -> list[Hashable]:
        """Every firm that goods from ``node`` can reach, in processing order."""
        if self._below is None:
            self._below = self._downstream_sets()
        below = self._below[node]
        return [f for f in self.firms if f in below]

    def supply_fractions(self, node: Hashable) -> dict[Hashable, float]:
        """For each firm below ``node``, the fraction of its supply that comes from ``node``.

        Summed over every path, multiplying the order shares along it: a retailer that
        buys half its goods from a brand supplied 40 % by ``node`` gets 0.2.
        """
        below = set(self.downstream_firms(node))
        frac: dict[Hashable, float] = {node: 1.0}
        for firm in reversed(self.firms):  # suppliers first, so a firm's are all done
            if firm not in below:
                continue
            frac[firm] = sum(
                frac[u] * self.shares[u, firm] for u in self.graph.predecessors(firm) if u in frac
            )
        del frac[node]
        return frac

    def _downstream_sets(self) -> dict[Hashable, set[Hashable]]:
        """The firms below each firm, in one pass from the retailers up."""
        below: dict[Hashable, set[Hashable]] = {}
        for firm in self.firms:  # customers first
            acc: set[Hashable] = set()
            for c in self.graph.successors(firm):
                if c in below:
                    acc.add(c)
                    acc |= below[c]
            below[firm] = acc
        return below

    def _order_shares(self) -> dict[tuple[Hashable, Hashable], float]:
        """Each edge's ``share`` normalised over the buyer's suppliers."""
        shares = {}
        for buyer in self.graph.nodes:
            edges = list(self.graph.in_edges(buyer, data="share"))
            total = sum(s for _, _, s in edges)
            for u, v, s in edges:
                shares[u, v] = s / total
        return shares

    def _tiers(self) -> dict[Hashable, int]:
        """Echelon counted from the consumer: consumers 0, retailers 1, their suppliers 2, ..."""
        tiers: dict[Hashable, int] = dict.fromkeys(self.consumers, 0)
        for firm in self.firms:  # customers come first
            tiers[firm] = 1 + max(tiers[c] for c in self.graph.successors(firm))
        return tiers

    def _echelon_weights(self) -> dict[Hashable, tuple[np.ndarray, np.ndarray]]:
        sparse: dict[Hashable, dict[int, float]] = {
            c: {i: 1.0} for c, i in self.consumer_index.items()
        }
        for firm in self.firms:
            acc: dict[int, float] = {}
            for customer in self.graph.successors(firm):
                share = self.shares[firm, customer]
                for i, w in sparse[customer].items():
                    acc[i] = acc.get(i, 0.0) + share * w
            sparse[firm] = acc
        out = {}
        for node, acc in sparse.items():
            idx = np.fromiter(sorted(acc), dtype=np.intp, count=len(acc))
            out[node] = (idx, np.array([acc[i] for i in idx], dtype=float))
        return out
