"""Mesa's DataCollector, fed from the recorder's arrays instead of per-step reporters.

``mesa.batch_run`` and SolaraViz's plots read ``model.datacollector``. Mesa's own
collector calls every reporter and deep-copies its value each step, which cost
more than the rest of a beer-game period here. This subclass keeps Mesa's
interface (``model_vars``, ``get_model_vars_dataframe``, extra reporters you pass
still work the usual way) but reads pullchain's model-level series from the
numpy arrays the recorder fills anyway: ``collect`` only notes which period it saw.
"""

from __future__ import annotations

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
        super().__init__(model_reporters=model_reporters, **kwargs)

    @property
    def model_vars(self) -> dict[str, list]:
        """Built-in series (one value per collect) followed by any extra reporters'."""
        series = self._series()
        out: dict[str, list] = {}
        for name, values in series.items():
            first = self._initial[name]
            out[name] = [first if r == 0 else float(values[r - 1]) for r in self._seen_rows]
        out.update(self._extra_vars)
        return out

    @model_vars.setter
    def model_vars(self, value: dict[str, list]) -> None:
        self._extra_vars = value

    def collect(self, model: mesa.Model) -> None:
        """Note the period; collect extra reporters the usual way."""
        self._seen_rows.append(self._rows())
        if self.model_reporters:
            super().collect(model)  # appends the time itself
        else:
            self._collection_steps.append(model.time)
            if self.agent_reporters or self.agenttype_reporters:
                super().collect(model)

    def get_model_vars_dataframe(self) -> pd.DataFrame:
        """One row per collect, one column per series, as Mesa's."""
        return pd.DataFrame(self.model_vars)
