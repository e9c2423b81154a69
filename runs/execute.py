"""Running a sweep's runs: one chunk of runs in a worker, each run to one results row.

A run depends on nothing but its row (base scenario, parameter values, regime, seed),
so every backend gives the same results bit for bit. A run that raises is recorded as
``failed`` with its error; it never stops the chunk.

A cell's runs run as one batch where the batch engine covers them (``pullchain.runs.batch``:
replications in lockstep, each run's row the agent model's, bit for bit).

A cell compared at equal service (its scenario has a ``service``) is run as a group: all
replications of one cell and regime, tuned together (``pullchain.runs.service``), whose
rows are the runs at the tuned factor, with ``tuned_safety_factor`` and ``tuning_runs``
beside the metrics. Its chunk holds the whole group, so a group is written, and resumed,
whole; and the tuning depends on nothing but the group, so it is the same everywhere.
"""

from __future__ import annotations

import json
import math
import os
import socket
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pullchain.network.errors import ConfigError
from pullchain.network.limits import applied

from . import plugins as plugin_loader
from .plugins import Plugin
from .scenarios import Scenario, load_toml
from .sweep_file import Run

if TYPE_CHECKING:
    from .model import SupplyChainModel

MIN_BATCH = 3  # fewer runs of a cell than this run faster one agent model each
WORKER_DIED = "the worker process running it died (killed by a signal, or out of memory)"
"""Recorded as ``WorkerDied: ...``; such a run is tried again when the sweep resumes."""


@dataclass
class Task:
    """What a worker needs for a chunk of runs: everything travels with it."""

    base: Scenario
    runs: list[Run]
    record_every: int
    plugins: list[Plugin]  # files with their text: a worker needs nothing but this
    limits: dict[str, str] = field(default_factory=dict)  # limits.current() of the driver
    engine: str = "auto"  # batch: a cell's runs in lockstep; agents: one model per run


def run_chunk(task: Task) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """Run a chunk of runs; never raises for a run's error (that run is recorded as failed).

    With the batch engine, the runs of each cell run as one batch; a cell the batch
    engine does not cover (``engine = "auto"``), or a batch that fails, runs one agent
    model per run, so each run gets its own row and its own error.
    """
    with applied(task.limits):
        plugin_loader.load_installed()
        plugin_loader.install(task.plugins)
        cache: dict[tuple, Scenario] = {}
        results: dict[str, tuple[dict[str, Any], dict[str, Any] | None]] = {}
        groups: dict[tuple, list[Run]] = {}
        plain: list[Run] = []
        for run in task.runs:
            try:
                tuned = bool(_cell_scenario(task.base, run, cache).service)
            except Exception:  # a cell that cannot be built: execute records why
                tuned = False
            if tuned:
                groups.setdefault((run.params, run.regime), []).append(run)
            else:
                plain.append(run)
        if task.engine == "agents":
            for run in plain:
                results[run.key] = execute(task.base, run, task.record_every, cache)
        else:
            for cell in group_cells(plain):
                done = execute_cell(task.base, cell, task.record_every, task.engine, cache)
                results.update((run.key, out) for run, out in zip(cell, done, strict=True))
        for group in groups.values():
            results.update(execute_tuned(task.base, group, task.record_every, cache, task.engine))
        return [results[run.key] for run in task.runs]


def group_cells(runs: list[Run]) -> list[list[Run]]:
    """Consecutive runs of the same cell, together."""
    groups: list[list[Run]] = []
    for run in runs:
        if groups and groups[-1][0].params == run.params:
            groups[-1].append(run)
        else:
            groups.append([run])
    return groups


def execute_cell(
    base: Scenario, runs: list[Run], record_every: int, engine: str, cache: dict
) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """The runs of one cell, as one batch where the batch engine covers them."""
    from .batch import choose, run_batch

    start = time.perf_counter()
    try:
        scenario = _cell_scenario(base, runs[0], cache)
        regimes = list(dict.fromkeys(run.regime for run in runs))
        few = engine == "auto" and len(runs) < MIN_BATCH  # one agent model is faster
        network = None if few else scenario.network()
        if few or choose(engine, scenario, regimes, lambda message: None, network) == "agents":
            return [execute(base, run, record_every, cache) for run in runs]
        pairs = [(run.regime, run.seed) for run in runs]
        results = run_batch(scenario, pairs, series=bool(record_every), network=network)
    except (Exception, SystemExit):  # each run again, alone: its own row and error
        if engine == "batch":
            return [execute(base, run, record_every, cache, engine="batch") for run in runs]
        return [execute(base, run, record_every, cache) for run in runs]
    share = (time.perf_counter() - start) / len(runs)  # the batch's time, shared equally
    out = []
    for run, result in zip(runs, results, strict=True):
        row = _row(run)
        row.update(status="ok", error=None, traceback=None)
        row.update(result.summary)
        row["elapsed_s"] = share
        row["worker"] = _worker_name()
        series = _sampled(result.series, run.key, record_every) if record_every else None
        out.append((row, series))
    return out


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def scenario_for(base: Scenario, params: Mapping[str, Any]) -> Scenario:
    """The base scenario with one cell's parameter values applied."""
    return base.with_overrides(params) if params else base


def _cell_scenario(base: Scenario, run: Run, cache: dict | None) -> Scenario:
    """``scenario_for`` the run's cell, built once per chunk."""
    scenario = cache.get(run.params) if cache is not None else None
    if scenario is None:
        scenario = scenario_for(base, run.params_dict)
        if cache is not None:
            cache[run.params] = scenario
    return scenario


def _row(run: Run) -> dict[str, Any]:
    """The columns of a results row that say which run it is."""
    return {
        "run_key": run.key,
        "cell": run.cell,
        "regime": run.regime,
        "replication": run.replication,
        "seed": run.seed,
        "params": json.dumps(run.params_dict, sort_keys=True),
        **{k: _column_value(v) for k, v in run.params},
    }


def execute(
    base: Scenario,
    run: Run,
    record_every: int = 0,
    cache: dict | None = None,
    engine: str = "agents",
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """One run: its row (status, error, metrics) and, if asked, its time series.

    ``engine = "batch"``: a batch of one run (its error, if the batch engine cannot run it).
    """  # fmt: skip
    start = time.perf_counter()
    row = _row(run)
    series = None
    try:
        scenario = _cell_scenario(base, run, cache)
        if engine == "batch":
            from .batch import choose, run_batch

            choose("batch", scenario, [run.regime], lambda message: None)
            (result,) = run_batch(scenario, [(run.regime, run.seed)], series=bool(record_every))
            metrics = result.summary
            if record_every:
                series = _sampled(result.series, run.key, record_every)
        else:
            model = scenario.model(regime=run.regime, seed=run.seed, record_consumers=False)
            model.run_model()
            metrics = model.summary()
            if record_every:
                series = _sampled(model.model_series(), run.key, record_every)
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


def execute_tuned(
    base: Scenario,
    runs: list[Run],
    record_every: int = 0,
    cache: dict | None = None,
    engine: str = "agents",
) -> dict[str, tuple[dict[str, Any], dict[str, Any] | None]]:
    """The replications of one cell and regime, tuned to the cell's service target: each
    run's row at the tuned factor (every row failed, with the error, if tuning fails).

    With time series asked for, each replication is run once more at the tuned factor
    (the very run the tuning made, bit for bit): the tuning keeps summaries, not models.
    """
    from .service import tune_service

    start = time.perf_counter()
    scenario = _cell_scenario(base, runs[0], cache)
    out = {}
    try:
        tuning = tune_service(
            scenario, scenario.service, regime=runs[0].regime, seeds=[r.seed for r in runs],
            engine=engine,
        )  # fmt: skip
        tuned = scenario.with_overrides({"safety_factor": tuning.safety_factor})
        for run, metrics in zip(runs, tuning.best.summaries, strict=True):
            row = _row(run)
            row.update(status="ok", error=None, traceback=None)
            row.update({k: float(v) for k, v in metrics.items()})
            row.update(tuned_safety_factor=tuning.safety_factor, tuning_runs=float(tuning.runs))
            series = None
            if record_every:
                model = tuned.model(regime=run.regime, seed=run.seed, record_consumers=False)
                model.run_model()
                series = _sampled(model.model_series(), run.key, record_every)
            out[run.key] = (row, series)
    except Exception as err:
        for run in runs:
            row = _row(run)
            row.update(
                status="failed",
                error=f"{type(err).__name__}: {err}",
                traceback="".join(traceback.format_exception(err)),
            )
            out[run.key] = (row, None)
    elapsed = (time.perf_counter() - start) / len(runs)  # the group's time, shared out
    for row, _ in out.values():
        row["elapsed_s"] = elapsed
        row["worker"] = _worker_name()
    return out


def _column_value(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, list | dict) else value


def _sampled(data: dict[str, Any], key: str, every: int) -> dict[str, Any]:
    """Every ``every``-th period of a run's model-level series, for the store."""
    n = len(data["demand"])
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
    ``scenario.toml``). The model's ``summary()`` equals the row's metrics exactly (a
    tuned row runs at its ``tuned_safety_factor``).

    A sweep folder's manifest holds the source code of the sweep's plug-in files. That
    code is executed only with ``trust_code=True``: a folder someone sent you could hold
    any code. Without it, load the plug-ins yourself first (``plugins.load``; or pass
    the flag once you have read them in ``manifest.json``, key ``plugins``); installed
    plug-ins and plug-in modules are imported by name either way.
    """
    from . import store  # pandas and pyarrow: only the driver and a rerun need them

    row = dict(row)
    untrusted: list[str] = []
    stored: dict[str, Any] | None = None
    if not isinstance(base, Scenario):
        folder = Path(base)
        if folder.is_dir():
            manifest = store.read_manifest(folder)
            recorded = plugin_loader.from_records(manifest.get("plugins", []))
            plugin_loader.load_installed()
            files = [p for p in recorded if p.kind == "file"]
            plugin_loader.install([p for p in recorded if p.kind != "file" or trust_code])
            loaded = {p.name: p.sha256 for p in plugin_loader.loaded()}
            untrusted = [p.name for p in files if loaded.get(p.name) != p.sha256]
            text = store.read_text_file(folder / store.SCENARIO, store.SCENARIO)
            stored = load_toml(text, store.SCENARIO)
            stored.pop("plugins", None)  # loaded above from the records, never the folder
            source = (folder / store.SCENARIO).resolve()
        else:
            base = Scenario.from_file(folder)
    params = json.loads(row["params"]) if isinstance(row.get("params"), str) else {}
    try:
        if stored is not None:
            base = Scenario(stored, source)
        scenario = scenario_for(base, params)
        tuned = row.get("tuned_safety_factor")
        if tuned is not None and not math.isnan(float(tuned)):  # a run at its tuned factor
            scenario = scenario.with_overrides({"safety_factor": float(tuned)})
        model = scenario.model(regime=row["regime"], seed=int(row["seed"]), record_consumers=False)
    except ConfigError as err:
        if not untrusted:
            raise
        raise ConfigError(
            err.field, err.value,
            f"{err.expected}; the sweep loaded the plug-in files {', '.join(untrusted)}, whose "
            f"code its {store.MANIFEST} holds: load them first (pullchain.runs.plugins.load), "
            "or pass trust_code=True to run that code (pullchain runs no code from a folder "
            "unless told to)",
        ) from None  # fmt: skip
    model.run_model()
    return model


def died(run: Run) -> tuple[dict[str, Any], None]:
    from . import store

    return {
        "run_key": run.key, "cell": run.cell, "regime": run.regime,
        "replication": run.replication, "seed": run.seed,
        "params": json.dumps(run.params_dict, sort_keys=True),
        **{k: _column_value(v) for k, v in run.params},
        "status": "failed", "error": f"{store.WORKER_DIED}: {WORKER_DIED}", "traceback": None,
        "elapsed_s": math.nan, "worker": None,
    }, None  # fmt: skip
