"""Mesa's DataCollector, fed from the recorder's arrays instead of per-step reporters.

``mesa.batch_run`` and SolaraViz's plots read ``model.datacollector``. Mesa's own
collector calls every reporter and deep-copies its value each step, which cost
more than the rest of a beer-game period here. This subclass keeps Mesa's
interface (``model_vars``, ``get_model_vars_dataframe``, extra reporters you pass
work the usual way) but reads pullchain's model-level series from the numpy arrays
the recorder fills anyway. It uses only Mesa's public interface: one cheap reporter
of its own (``steps``, the model's step count) makes Mesa's ``collect`` note each
collection, as ``batch_run`` needs.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Callable, Mapping
from typing import Any

import mesa
import numpy as np
import pandas as pd


class RecorderCollector(mesa.DataCollector):
    """A DataCollector whose built-in series come from ``series()``.

    Args:
        series: returns the built-in series, name -> array with one value per recorded period.
        initial: the built-in values before the first period (Mesa collects at time 0).
        rows: returns how many periods the recorder holds now.
        model_reporters, agent_reporters, agenttype_reporters, tables: as in Mesa, for extras.
    """

    def __init__(
        self,
        series: Callable[[], Mapping[str, np.ndarray]],
        initial: Mapping[str, float],
        rows: Callable[[], int],
        model_reporters: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._series = series
        self._initial = dict(initial)
        self._rows = rows
        self._seen_rows: list[int] = []
        self._extra_vars: dict[str, list] = {}
        super().__init__(model_reporters={"steps": "steps", **(model_reporters or {})}, **kwargs)

    @property
    def model_vars(self) -> ChainMap:
        """Built-in series (one value per collect) followed by the reporters' (``steps``
        and any extra); what Mesa writes lands among the reporters'. The built-in
        series are read only when asked for, not at every collect."""
        return self._view

    @model_vars.setter
    def model_vars(self, value: dict[str, list]) -> None:
        self._extra_vars = value
        self._view = ChainMap(value, _Series(self))  # made once: Mesa reads it every collect

    def collect(self, model: mesa.Model) -> None:
        """Note the period; Mesa collects the reporters (and notes the time)."""
        self._seen_rows.append(self._rows())
        super().collect(model)

    def get_model_vars_dataframe(self) -> pd.DataFrame:
        """One row per collect, one column per series, as Mesa's."""
        return pd.DataFrame(dict(self.model_vars))


class _Series(Mapping):
    """The built-in series as Mesa's lists, each made when it is read."""

    def __init__(self, collector: RecorderCollector) -> None:
        self._collector = collector

    def __getitem__(self, name: str) -> list:
        c = self._collector
        if name not in c._initial:
            raise KeyError(name)
        values, first = c._series()[name], c._initial[name]
        return [first if r == 0 else float(values[r - 1]) for r in c._seen_rows]

    def __iter__(self):
        return iter(self._collector._initial)

    def __len__(self) -> int:
        return len(self._collector._initial)
