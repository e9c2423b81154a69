"""One replication of a batch, seen as the agent model's recorder and model.

``metrics`` and ``Recorder.to_frame`` read an agent model's recorder; these views show
them replication r of a ``BatchModel`` through the same interface, with arrays laid out
as the agent model's (periods x agents x variables, the same strides), so that every
metric and table is computed by the very same code on the very same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from .batch_model import BatchModel
from .recorder import CONSUMER_VARIABLES, FIRM_VARIABLES, Recorder

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class AgentProfile:
    """What the metrics and tables read of an agent: who it is and its cost parameters."""

    unique_id: int
    node: Any
    kind: str
    holding_cost: float = 0.0
    backlog_cost: float = 0.0
    lost_sale_cost: float = 0.0
    order_cost: float = 0.0
    cost_of_capital: float = 0.0
    unit_value: float = 0.0
    salvage_value: float = 0.0
    price: float = 0.0
    unit_cost: float = 0.0
    in_transit_holding: bool = False
    lead_time: float = 0.0


_FIRM_FIELDS = tuple(f.name for f in fields(AgentProfile) if f.name != "unique_id")
"""What a profile copies from a batch firm, attribute for attribute."""


class SeriesView:
    """``recorder.AgentSeries`` of one replication: data (periods, agents, variables)."""

    def __init__(self, agents: list[AgentProfile], variables, data: np.ndarray, rows: int):
        self.agents = agents
        self.variables = tuple(variables)
        self.data = data
        self.rows = rows

    def series(self, variable: str) -> np.ndarray:
        return self.data[: self.rows, :, self.variables.index(variable)]


class RecorderView:
    """``recorder.Recorder`` of one replication."""

    def __init__(self, model: BatchModel, r: int) -> None:
        n_consumers = len(model.consumer_nodes)
        firms = [
            AgentProfile(
                unique_id=n_consumers + 1 + f.index,
                **{name: getattr(f, name) for name in _FIRM_FIELDS},
            )
            for f in model.firms
        ]
        if r not in model.kept:
            raise ValueError(f"replication {r}'s series were not kept")
        k = model.kept[r]
        self.rows = model.rows
        data = np.full((model.horizon, len(firms), len(FIRM_VARIABLES)), np.nan)  # NaN: not kept
        for v, name in enumerate(model.variables):
            data[:, :, FIRM_VARIABLES.index(name)] = model.data[:, v, :, k]
        self.firms = SeriesView(firms, FIRM_VARIABLES, data, model.rows)
        consumers = [AgentProfile(1 + i, c, "consumer") for i, c in enumerate(model.consumer_nodes)]
        if model.consumer_data is None:
            self.consumers = SeriesView([], CONSUMER_VARIABLES, np.zeros((0, 0, 3)), 0)
        else:
            data = np.ascontiguousarray(model.consumer_data[:, :, :, k].transpose(0, 2, 1))
            self.consumers = SeriesView(consumers, CONSUMER_VARIABLES, data, model.rows)
        self._demand = model.total_demand[r]

    def demand_series(self) -> np.ndarray:
        return self._demand[: self.rows]

    def to_frame(self, tiers: dict | None = None) -> pd.DataFrame:
        return Recorder.to_frame(self, tiers)  # type: ignore[arg-type]

    _frame = staticmethod(Recorder._frame)


class _FirstStart:
    """A replication's disruptions as the views read them: when the first began, and
    the events (scheduled, then random ones as they began), as ``Disruptions`` has them."""

    def __init__(self, start: int | None, events: list | None = None) -> None:
        self._start = start
        self.events = list(events or [])

    def first_start(self) -> int | None:
        return self._start

    def __bool__(self) -> bool:
        return self._start is not None


def model_series(view: ReplicationView) -> dict[str, np.ndarray]:
    """``SupplyChainModel.model_series`` of one replication."""
    from . import metrics

    return metrics.chain_series(view.recorder, view.topology.tiers)


class ReplicationView:
    """Replication r of a batch, with the parts of ``SupplyChainModel`` that metrics read."""

    def __init__(self, model: BatchModel, r: int) -> None:
        self.recorder = RecorderView(model, r)
        self.topology = model.topology
        self.network = model.network
        self.warm_up = model.warm_up
        self.disruptions = _FirstStart(
            model.first_start()[r], [*model.disruptions.fixed, *model.disruptions.drawn[r]]
        )
        self.seed = model.seeds[r]
        self.firms = self.recorder.firms.agents

    def recorded_periods(self) -> int:
        return self.recorder.rows

    def model_series(self) -> dict[str, np.ndarray]:
        return model_series(self)

    def summary(self, warm_up: int | None = None) -> dict[str, float]:
        from . import metrics

        return metrics.summary(self, warm_up)

    def timeseries(self) -> pd.DataFrame:
        return self.recorder.to_frame(self.topology.tiers)
