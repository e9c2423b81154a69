"""The recorder: per-agent time series kept in numpy columns, exported once.

One float64 array per agent group, shaped (periods, agents, variables), filled
one row per period: 8 bytes per recorded value and no Python objects per value.
The tidy pandas DataFrame (one row per agent per step) and the Parquet file are
built from these arrays on request.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

FIRM_VARIABLES = (
    "on_hand",
    "backlog",
    "supply_line",
    "inventory_position",
    "received",
    "demand",
    "shipped",
    "filled",
    "ordered",
    "lost_sales",
    "period_cost",
    "in_transit_charged",
    "written_off",
    "made",
    "purchases",
    "revenue",
)
CONSUMER_VARIABLES = ("demand", "bought", "waiting")


def values_per_period(firms: int, consumers: int, consumers_too: bool = True) -> int:
    """How many numbers the recorder keeps for each period (8 bytes each)."""
    return firms * len(FIRM_VARIABLES) + consumers_too * consumers * len(CONSUMER_VARIABLES) + 1


class AgentSeries:
    """Growable (periods x agents x variables) array for one group of agents."""

    def __init__(self, agents: Sequence, variables: Sequence[str], capacity: int) -> None:
        self.agents = list(agents)
        self.variables = tuple(variables)
        self._get = attrgetter(*self.variables)  # a tuple per agent, or one value for one
        self.data = np.zeros((max(capacity, 1), len(self.agents), len(self.variables)))
        self.rows = 0

    def record(self) -> None:
        """Append one row: every variable of every agent, now."""
        if self.rows == self.data.shape[0]:
            grown = np.zeros((2 * self.rows, *self.data.shape[1:]))
            grown[: self.rows] = self.data
            self.data = grown
        if self.agents:
            row = self.data[self.rows]
            if len(self.variables) == 1:
                row[:, 0] = [self._get(a) for a in self.agents]
            elif len(self.agents) >= 64:  # one flat pass, no tuple list (43% less at 10k)
                row.reshape(-1)[:] = np.fromiter(
                    chain.from_iterable(map(self._get, self.agents)), float, row.size
                )
            else:
                row[:] = [self._get(a) for a in self.agents]
        self.rows += 1

    def series(self, variable: str) -> np.ndarray:
        """A (periods x agents) view of one variable."""
        return self.data[: self.rows, :, self.variables.index(variable)]

    @property
    def nbytes(self) -> int:
        """Bytes held by the recorded values (not the spare capacity)."""
        return self.rows * len(self.agents) * len(self.variables) * self.data.itemsize


class Recorder:
    """Records firms every period, and consumers unless told not to."""

    def __init__(
        self, firms: Sequence, consumers: Sequence, capacity: int = 128, consumers_too: bool = True
    ) -> None:
        self.firms = AgentSeries(firms, FIRM_VARIABLES, capacity)
        self.consumers = AgentSeries(
            consumers if consumers_too else [], CONSUMER_VARIABLES, capacity
        )
        self.consumer_demand = np.zeros(max(capacity, 1))  # total, always kept: metrics need it
        self.rows = 0

    def record(self, total_demand: float) -> None:
        """Record the state at the end of the current period."""
        self.firms.record()
        self.consumers.record()
        if self.rows == self.consumer_demand.shape[0]:
            self.consumer_demand = np.concatenate([self.consumer_demand, np.zeros(self.rows)])
        self.consumer_demand[self.rows] = total_demand
        self.rows += 1

    def demand_series(self) -> np.ndarray:
        """Total consumer demand per period."""
        return self.consumer_demand[: self.rows]

    def to_frame(self, tiers: dict | None = None) -> pd.DataFrame:
        """Tidy table: one row per agent per step, a column per variable.

        Columns: step (1 = the first period, as in Mesa's DataCollector), agent_id, node,
        kind, tier, then the variables; a variable that does not apply to an agent's
        kind (a consumer's backlog, a firm's ``bought``) is NaN.
        """
        import pandas as pd  # only here: a sweep worker never builds a table

        frames = [
            self._frame(group, tiers or {})
            for group in (self.firms, self.consumers)
            if group.agents and group.rows
        ]
        if not frames:
            return pd.DataFrame()
        frame = pd.concat(frames, ignore_index=True)
        frame["kind"] = frame["kind"].astype("category")
        return frame.sort_values(["step", "agent_id"], kind="stable", ignore_index=True)

    @staticmethod
    def _frame(group: AgentSeries, tiers: dict) -> pd.DataFrame:
        rows, n = group.rows, len(group.agents)
        columns: dict[str, np.ndarray] = {
            "step": np.repeat(np.arange(1, rows + 1), n),
            "agent_id": np.tile([a.unique_id for a in group.agents], rows),
            "node": np.tile(np.array([str(a.node) for a in group.agents], dtype=object), rows),
            "kind": np.tile(np.array([a.kind for a in group.agents], dtype=object), rows),
            "tier": np.tile([tiers.get(a.node, -1) for a in group.agents], rows),
        }
        values = group.data[:rows].reshape(rows * n, len(group.variables))
        for j, name in enumerate(group.variables):
            columns[name] = values[:, j]
        import pandas as pd

        return pd.DataFrame(columns)

    def to_parquet(self, path: str | Path, tiers: dict | None = None) -> Path:
        """Write the tidy table to ``path`` as Parquet and return the path."""
        path = Path(path)
        self.to_frame(tiers).to_parquet(path, index=False)
        return path

    @property
    def nbytes(self) -> int:
        """Bytes of recorded per-agent values."""
        return self.firms.nbytes + self.consumers.nbytes
