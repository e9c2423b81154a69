"""Consumer demand for many replications at once, from the agent model's very streams.

Consumer i of the run with seed s draws from ``stream(s, STREAM_DEMAND, i)``, as in
``SupplyChainModel``, and each built-in process takes the same numbers in the same order
as its agent-model twin (``pullchain.agents.demand``), so replication r's demand is bit
for bit the demand of the agent model run with seed r. Consumers with the same process
and parameters are drawn together, as one (consumers, replications) array.

A stream's numbers do not depend on how many are taken at a time (numpy's normal and
Poisson draws use no more bits than they return), so each stream is read in blocks of
``min(block, periods left)`` numbers (``BLOCK`` at most, as the agent model; fewer hold less
memory), and its position is dropped once no more are needed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np

from pullchain.agents.demand import (
    BLOCK,
    AR1Demand,
    ConstantDemand,
    DemandProcess,
    FadDemand,
    NormalDemand,
    PoissonDemand,
    ReplayDemand,
    SeasonalDemand,
    StepDemand,
)

from .streams import STREAM_DEMAND, StreamDraws, check_seeds, pcg64_seeds, stream

# Processes that draw no random numbers: the agent object's own ``draw`` gives each period.
FIXED = (ConstantDemand, StepDemand, ReplayDemand)
BUILT_IN = (*FIXED, NormalDemand, PoissonDemand, AR1Demand, SeasonalDemand, FadDemand)
STATE_BYTES = 150  # a stream's position: a tuple of two 128-bit integers


def uses_random_numbers(process: DemandProcess) -> bool:
    """Whether the process takes a number from its stream each period."""
    if isinstance(process, FIXED):
        return False
    if isinstance(process, SeasonalDemand | FadDemand):
        return process.std > 0.0
    return True


class DemandGroup:
    """Consumers sharing one process and its parameters, drawn together."""

    def __init__(
        self,
        process: DemandProcess,
        consumers: list[int],
        seeds: Sequence[int],
        horizon: int,
        block: int = BLOCK,
    ) -> None:
        self.process = process
        self.block = max(1, min(block, BLOCK))
        self.consumers = np.array(consumers, dtype=np.intp)
        self.shape = (len(consumers), len(seeds))
        self.horizon = horizon
        self._streams: list[StreamDraws] | None = None  # one per replication
        self._generators: list[list[np.random.Generator]] | None = None
        self._block = np.zeros((0, *self.shape))
        self._start = 0  # the period of the block's first row
        self._more = True  # numbers will be needed after this block
        if uses_random_numbers(process):
            idx = self.consumers
            if all(check_seeds(s, (STREAM_DEMAND,), idx) for s in seeds[:1]):
                self._streams = [StreamDraws(pcg64_seeds(s, (STREAM_DEMAND,), idx)) for s in seeds]
            else:  # numpy's seeding changed: one Generator per stream, as the agent model
                self._generators = [
                    [stream(s, STREAM_DEMAND, int(i)) for s in seeds] for i in consumers
                ]
        if isinstance(process, AR1Demand):
            # As AR1Demand.bind: x_{-1} from the stream's first number.
            self._x = process.stationary_std * self._take(1)[0]
        if isinstance(process, FIXED):
            process.bind(np.random.default_rng(0))  # its draw checks that it is bound
            self._fixed = [process.draw(t) for t in range(horizon)]
        elif isinstance(process, SeasonalDemand | FadDemand):
            self._m = [process._m(t) for t in range(horizon)]

    def _take(self, n: int) -> np.ndarray:
        """The next ``n`` numbers of every stream: (n, consumers, replications)."""
        out = np.empty((n, *self.shape))
        mean = self.process.mean_ if isinstance(self.process, PoissonDemand) else None

        def draw(g: np.random.Generator) -> np.ndarray:
            return g.standard_normal(n) if mean is None else g.poisson(mean, n)

        if self._streams is not None:
            for r, streams in enumerate(self._streams):
                for i in range(self.shape[0]):
                    out[:, i, r] = streams.take(i, draw, keep=self._more)
        else:
            for i, row in enumerate(self._generators):
                for r, g in enumerate(row):
                    out[:, i, r] = draw(g)
        return out

    def _number(self, t: int) -> np.ndarray:
        """Each stream's number for period t (every random process takes one a period)."""
        row = t - self._start
        if row >= len(self._block):
            left = max(self.horizon - t, 1)
            self._more = left > self.block
            self._block = None  # the spent block goes before the next is drawn
            self._block = self._take(min(self.block, left))
            self._start, row = t, 0
            if not self._more:
                self._generators = self._streams = None  # nothing more to draw: free them
        return self._block[row]

    def draw(self, t: int) -> np.ndarray:
        """Demand in period t of each consumer of the group, (consumers, replications)."""
        p = self.process
        if isinstance(p, FIXED):
            return np.full(self.shape, self._fixed[t])
        if isinstance(p, PoissonDemand):
            return self._number(t)
        if isinstance(p, NormalDemand):
            d = p.mean_ + p.std * self._number(t)
        elif isinstance(p, AR1Demand):
            self._x = p.rho * self._x + p.std * self._number(t)
            d = p.mean_ + self._x
        elif isinstance(p, SeasonalDemand):
            m = self._m[t]
            d = m + p.std * self._number(t) if p.std > 0.0 else np.full(self.shape, m)
        else:  # FadDemand
            m = self._m[t]
            if p.std > 0.0:
                z = self._number(t)  # taken every period, as the agent's draw does
                d = m + p.std * z if (m > 0.0 or p.end < 0) else np.zeros(self.shape)
            else:
                d = np.full(self.shape, m)
        return np.where(d > 0.0, d, 0.0)


class BatchDemand:
    """Every consumer's demand, period by period, as one (consumers, replications) array."""

    def __init__(
        self, processes: list[DemandProcess], seeds: Sequence[int], horizon: int, block: int = BLOCK
    ) -> None:
        groups: dict[str, list[int]] = {}
        first: dict[str, DemandProcess] = {}
        for i, process in enumerate(processes):
            key = _key(process)
            groups.setdefault(key, []).append(i)
            first.setdefault(key, process)
        self.groups = [
            DemandGroup(first[k], idx, seeds, horizon, block) for k, idx in groups.items()
        ]
        self.shape = (len(processes), len(seeds))

    def draw(self, t: int) -> np.ndarray:
        if len(self.groups) == 1:
            return self.groups[0].draw(t)
        out = np.empty(self.shape)
        for g in self.groups:
            out[g.consumers] = g.draw(t)
        return out


def _key(process: DemandProcess) -> str:
    params = {k: v for k, v in vars(process).items() if not k.startswith("_")}
    return type(process).__name__ + json.dumps(params, sort_keys=True, default=repr)


def demand_bytes(processes: list[DemandProcess], horizon: int, block: int = BLOCK) -> int:
    """Bytes per replication that the consumers' streams hold at most: a block of numbers
    each, and its position."""
    random = sum(uses_random_numbers(p) for p in processes)
    block = min(block, BLOCK, horizon)
    per_stream = 8 * block + STATE_BYTES  # every position is held until the first draw
    return random * per_stream + 8 * len(processes)
