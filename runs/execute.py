"""Running a sweep's runs: one chunk of runs in a worker, each run to one results row.

A run depends on nothing but its row (base scenario, parameter values, regime, seed),
so every backend gives the same results bit for bit. A run that raises is recorded as
``failed`` with its error; it never stops the chunk.
"""

from __future__ import annotations

import json
import math
import os
import socket
import sys
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pullchain.network.errors import ConfigError
from pullchain.network.limits import applied

from . import store
from .plugins import load_plugins
from .scenarios import Scenario
from .sweep_file import Run

if TYPE_CHECKING:
    from .model import SupplyChainModel

WORKER_DIED = "the worker process running it died (killed by a signal, or out of memory)"
"""Recorded as ``WorkerDied: ...``; such a run is tried again when the sweep resumes."""


@dataclass
class Task:
    """What a worker needs for a chunk of runs: everything travels with it."""

    base: Scenario
    runs: list[Run]
    record_every: int
    imports: list[str]
    plugins: dict[str, str]
    limits: dict[str, str] = field(default_factory=dict)  # limits.current() of the driver


def run_chunk(task: Task) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """Run a chunk of runs; never raises for a run's error (that run is recorded as failed)."""
    with applied(task.limits):
        load_plugins(task.imports, task.plugins)
        cache: dict[tuple, Scenario] = {}
        return [execute(task.base, run, task.record_every, cache) for run in task.runs]


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def scenario_for(base: Scenario, params: Mapping[str, Any]) -> Scenario:
    """The base scenario with one cell's parameter values applied."""
    return base.with_overrides(params) if params else base


def execute(
    base: Scenario, run: Run, record_every: int = 0, cache: dict | None = None
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """One run: its row (status, error, metrics) and, if asked, its time series."""
    start = time.perf_counter()
    row: dict[str, Any] = {
        "run_key": run.key,
        "cell": run.cell,
        "regime": run.regime,
        "replication": run.replication,
        "seed": run.seed,
        "params": json.dumps(run.params_dict, sort_keys=True),
        **{k: _column_value(v) for k, v in run.params},
    }
    series = None
    try:
        key = run.params
        scenario = cache.get(key) if cache is not None else None
        if scenario is None:
            scenario = scenario_for(base, run.params_dict)
            if cache is not None:
                cache[key] = scenario
        model = scenario.model(regime=run.regime, seed=run.seed, record_consumers=False)
        model.run_model()
        metrics = model.summary()
        if record_every:
            series = _series(model, run.key, record_every)
        row.update(status="ok", error=None, traceback=None)
        row.update({k: float(v) for k, v in metrics.items()})
    except (Exception, SystemExit) as err:  # a plug-in's sys.exit fails its run, no more
        row.update(
            status="failed",
            error=f"{type(err).__name__}: {err}",
            traceback="".join(traceback.format_exception(err)),
        )
    row["elapsed_s"] = time.perf_counter() - start
    row["worker"] = _worker_name()
    return row, series


def _column_value(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, list | dict) else value


def _series(model: SupplyChainModel, key: str, every: int) -> dict[str, Any]:
    data = model.model_series()
    n = model.recorded_periods()
    steps = list(range(every, n + 1, every))
    out: dict[str, Any] = {"run_key": [key] * len(steps), "step": steps}
    for name, values in data.items():
        out[name] = [float(values[s - 1]) for s in steps]
    return out


def rerun(
    row: Mapping[str, Any], base: Scenario | str | Path, *, trust_code: bool = False
) -> SupplyChainModel:
    """Run one row of a sweep again, alone, and return the finished model.

    ``base`` is the sweep's base scenario: a ``Scenario``, or a sweep folder (its
    ``scenario.toml``). The model's ``summary()`` equals the row's metrics exactly.

    A sweep folder's manifest holds the source code of the sweep's plug-ins (its
    ``imports``). That code is executed only with ``trust_code=True``: a folder someone
    sent you could hold any code. Without it, import the plug-ins yourself first (or
    pass the flag once you have read them in ``manifest.json``, key ``plugins``).
    """
    row = dict(row)
    untrusted: list[str] = []
    if not isinstance(base, Scenario):
        folder = Path(base)
        if folder.is_dir():
            manifest = store.read_manifest(folder)
            imports, plugins = manifest.get("imports", []), manifest.get("plugins", {})
            if trust_code:
                load_plugins(imports, plugins)
            untrusted = [name for name in imports if name not in sys.modules]
            text = store.read_text_file(folder / store.SCENARIO, store.SCENARIO)
            base = Scenario.from_toml(text, (folder / store.SCENARIO).resolve())
        else:
            base = Scenario.from_file(folder)
    params = json.loads(row["params"]) if isinstance(row.get("params"), str) else {}
    try:
        scenario = scenario_for(base, params)
        model = scenario.model(regime=row["regime"], seed=int(row["seed"]), record_consumers=False)
    except ConfigError as err:
        if not untrusted:
            raise
        raise ConfigError(
            err.field, err.value,
            f"{err.expected}; the sweep imported {', '.join(untrusted)}, whose code its "
            f"{store.MANIFEST} holds: import them first, or pass trust_code=True to run that "
            "code (pullchain runs no code from a folder unless told to)",
        ) from None  # fmt: skip
    model.run_model()
    return model


def died(run: Run) -> tuple[dict[str, Any], None]:
    return {
        "run_key": run.key, "cell": run.cell, "regime": run.regime,
        "replication": run.replication, "seed": run.seed,
        "params": json.dumps(run.params_dict, sort_keys=True),
        **{k: _column_value(v) for k, v in run.params},
        "status": "failed", "error": f"{store.WORKER_DIED}: {WORKER_DIED}", "traceback": None,
        "elapsed_s": math.nan, "worker": None,
    }, None  # fmt: skip
