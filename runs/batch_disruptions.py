"""Disruptions for many replications at once (``pullchain.network.disruptions``).

Scheduled events are the same in every replication. Random shocks are drawn from each
replication's own disruption stream, in the agent model's order (period by period, spec
by spec, target by target), and a shock starts only where no event of its kind is
active on its target, as ``Disruptions._draw`` decides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from pullchain.network.disruptions import Disruptions, Event
from pullchain.network.topology import Topology

from .streams import STREAM_DISRUPTION, stream

NEVER = np.iinfo(np.int64).max


class BatchDisruptions:
    """Which firms are down and how much longer each lane takes, per period and replication."""

    def __init__(
        self,
        specs: Sequence[Mapping[str, Any]],
        topology: Topology,
        seeds: Sequence[int],
        horizon: int,
        lanes: Sequence[tuple],
    ) -> None:
        parsed = Disruptions(specs, topology, np.random.default_rng(0))  # checks the specs
        self.fixed = parsed.events
        self.random = parsed.random
        self.any = bool(parsed)
        self.reps = len(seeds)
        self.firm_index = topology.firm_index
        self.lane_index = {edge: k for k, edge in enumerate(lanes)}
        self.first_start = np.full(self.reps, NEVER, dtype=np.int64)
        # Per replication, the random events as they began (the agent model's ``events``
        # after its scheduled ones): rare, so a list each.
        self.drawn: list[list[Event]] = [[] for _ in range(self.reps)]
        for e in self.fixed:
            self.first_start = np.minimum(self.first_start, e.start)
        # Random shocks' numbers, drawn as the agent model draws them: period, spec, target.
        width = sum(len(s.targets) for s in self.random)
        self._u = np.zeros((self.reps, horizon, width))
        if width:
            for r, seed in enumerate(seeds):
                self._u[r] = (
                    stream(seed, STREAM_DISRUPTION).random(horizon * width).reshape(horizon, width)
                )
        # Per (kind, target): the end of the random event active now, and its extra periods.
        self._until: dict[tuple, np.ndarray] = {}
        self._extra: dict[tuple, np.ndarray] = {}
        for shock in self.random:
            for target in shock.targets:
                self._until.setdefault((shock.kind, target), np.zeros(self.reps, dtype=np.int64))
                self._extra.setdefault((shock.kind, target), np.zeros(self.reps, dtype=np.int64))

    def max_extra(self, edge: tuple) -> int:
        """The most periods a shipment on ``edge`` can be delayed."""
        extras = [e.extra for e in self.fixed if e.kind == "lead_time" and e.target == edge]
        extras += [s.extra for s in self.random if s.kind == "lead_time" and edge in s.targets]
        return max(extras, default=0)

    def _fixed_active(self, kind: str, target, t: int) -> bool:
        return any(e.kind == kind and e.target == target and e.active(t) for e in self.fixed)

    def apply(self, t: int, n_firms: int, n_lanes: int) -> tuple[np.ndarray, np.ndarray]:
        """Draw period t's shocks; return (firms down (F, R), extra lead time (lanes, R))."""
        col = 0
        for shock in self.random:
            for target in shock.targets:
                key = (shock.kind, target)
                if t >= shock.start:
                    hit = self._u[:, t, col] < shock.rate
                    free = ~(self._until[key] > t) & (not self._fixed_active(*key, t))
                    new = hit & free
                    self._until[key] = np.where(new, t + shock.duration, self._until[key])
                    self._extra[key] = np.where(new, shock.extra, self._extra[key])
                    self.first_start = np.where(
                        new, np.minimum(self.first_start, t), self.first_start
                    )
                    for r in np.flatnonzero(new):
                        self.drawn[r].append(
                            Event(shock.kind, target, t, shock.duration, shock.extra)
                        )
                col += 1
        down = np.zeros((n_firms, self.reps), dtype=bool)
        extra = np.zeros((n_lanes, self.reps), dtype=np.int64)
        for e in self.fixed:
            if e.active(t):
                if e.kind == "outage":
                    down[self.firm_index[e.target]] = True
                else:
                    k = self.lane_index[e.target]
                    extra[k] = np.maximum(extra[k], e.extra)
        for (kind, target), until in self._until.items():
            active = until > t
            if kind == "outage":
                down[self.firm_index[target]] |= active
            else:
                k = self.lane_index[target]
                extra[k] = np.maximum(extra[k], np.where(active, self._extra[kind, target], 0))
        return down, extra
