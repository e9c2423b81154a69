"""Parameter sweeps: many paired runs, on a laptop or a Dask cluster, with nothing lost.

A sweep file (TOML, docs/sweeps.md) names a base scenario, the scenario fields to vary
(dotted paths, each a list of values or a range), the regimes, the replications and
the seed. The sweep runs every combination of the values (a *cell*) under every
regime in every replication, and writes one row per run to Parquet as chunks of runs
finish (``pullchain.runs.store``).

- **Seeding.** Replication r of every cell and every regime runs with seed
  ``replication_seeds(seed, replications)[r]`` (numpy SeedSequence, as ``compare``), so
  the regimes of one replication face the same consumer demand (paired), and so do the
  cells (common random numbers across parameters too).
- **Checked first.** Everything is checked before the first run: each parameter value
  is applied to the base scenario with ``Scenario.with_overrides`` (which validates it);
  a scheduler that cannot be reached is an error too.
- **Backends.** In-process (``workers=1``), local processes (spawned), or a Dask
  scheduler. A run depends on nothing but its row, so every backend gives the same
  results bit for bit.
- **Nothing lost, nothing twice.** Each run has a key (a hash of its parameters, regime
  and replication); a folder that already holds results is resumed: finished runs are
  skipped. A run that raises is recorded as ``failed`` with its error and the sweep goes
  on; a worker process that dies has its chunk run again (a run that kills its worker
  twice is recorded as failed).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import itertools
import json
import math
import multiprocessing
import os
import platform
import socket
import sys
import threading
import time
import tomllib
import traceback
import types
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pullchain.network.errors import ConfigError, check_number

from . import __version__, store
from .scenarios import Scenario

if TYPE_CHECKING:
    import pyarrow as pa

    from .model import SupplyChainModel

SWEEP_FIELDS = {"scenario", "description", "regimes", "replications", "seed", "parameters", "set",
                "record", "imports"}  # fmt: skip
RECORD_FIELDS = {"timeseries", "every"}
RANGE_FIELDS = {"start", "stop", "num", "step"}
NOT_PARAMETERS = {
    "seed": "runs take their seeds from the sweep's `seed` and their replication",
    "replications": "set `replications` at the top of the sweep file",
    "regime.name": "list the regimes in `regimes = [...]`",
}
MAX_VALUES = 100_000
PACKAGES = ("numpy", "mesa", "networkx", "pandas", "pyarrow", "dask", "distributed")
WORKER_DIED = "the worker process running it died (killed by a signal, or out of memory)"


# -- the sweep file ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Run:
    """One run of a sweep: a cell's parameter values, a regime, a replication and its seed."""

    key: str
    cell: int
    params: tuple[tuple[str, Any], ...]
    regime: str
    replication: int
    seed: int

    @property
    def params_dict(self) -> dict[str, Any]:
        return dict(self.params)


@dataclass
class Sweep:
    """A checked sweep file. Build one with ``load_sweep`` or ``parse_sweep``."""

    name: str
    text: str
    source: Path | None
    scenario_ref: str
    base: Scenario  # the named scenario with [set] applied, resolved
    parameters: dict[str, list[Any]]
    regimes: list[str]
    replications: int
    seed: int
    record_every: int  # 0: no time series
    imports: list[str] = field(default_factory=list)
    plugins: dict[str, str] = field(default_factory=dict)  # module name -> source text

    def cells(self) -> list[dict[str, Any]]:
        """Every combination of the parameter values, the first parameter varying slowest."""
        names = list(self.parameters)
        return [dict(zip(names, combo, strict=True))
                for combo in itertools.product(*self.parameters.values())]  # fmt: skip

    def seeds(self) -> list[int]:
        from .compare import replication_seeds

        return replication_seeds(self.seed, self.replications)

    def runs(self) -> list[Run]:
        """Every run, in order: cell, then replication, then regime (pairs side by side)."""
        seeds = self.seeds()
        out = []
        for c, params in enumerate(self.cells()):
            items = tuple(params.items())
            for r, seed in enumerate(seeds):
                for regime in self.regimes:
                    out.append(Run(run_key(params, regime, r), c, items, regime, r, seed))
        return out

    def param_types(self) -> dict[str, pa.DataType]:
        """The Parquet type of each parameter's column."""
        import pyarrow as pa

        types_ = {}
        for name, values in self.parameters.items():
            kind = _kind(values[0])
            types_[name] = {"bool": pa.bool_(), "int": pa.int64(), "float": pa.float64()}.get(
                kind, pa.string()
            )
        return types_

    def spec(self) -> dict[str, Any]:
        """What the results depend on: compared with the manifest when a sweep resumes."""
        return {
            "scenario": self.base.to_toml(),
            "parameters": {k: list(v) for k, v in self.parameters.items()},
            "regimes": list(self.regimes),
            "replications": self.replications,
            "seed": self.seed,
            "record": {"timeseries": self.record_every > 0, "every": self.record_every},
            "imports": {
                name: hashlib.sha256(text.encode()).hexdigest()[:16]
                for name, text in self.plugins.items()
            }
            | {name: "module" for name in self.imports if name not in self.plugins},
        }

    def describe(self) -> str:
        n_cells = len(self.cells())
        return (f"{n_cells} cell{'s' * (n_cells != 1)} x {len(self.regimes)} regimes x "
                f"{self.replications} replications = {len(self.runs())} runs")  # fmt: skip


def run_key(params: Mapping[str, Any], regime: str, replication: int) -> str:
    """A stable key for one run: a hash of its parameter values, regime and replication."""
    text = json.dumps(
        {"params": dict(sorted(params.items())), "regime": regime, "replication": replication},
        sort_keys=True, separators=(",", ":"),
    )  # fmt: skip
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def load_sweep(path: str | Path) -> Sweep:
    """Read and check a sweep file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError("sweep", str(path), "an existing sweep .toml file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError("sweep", str(path), f"a readable UTF-8 file ({err})") from None
    return parse_sweep(text, path.resolve())


def parse_sweep(text: str, source: Path | None = None) -> Sweep:
    """Check a sweep file's text; every problem is a ConfigError naming the field."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(str(source or "sweep"), "(TOML text)", f"valid TOML: {err}") from None
    for key in data:
        if key not in SWEEP_FIELDS:
            raise ConfigError(key, data[key], "a sweep field: " + ", ".join(sorted(SWEEP_FIELDS)))
    folder = source.parent if source else Path.cwd()

    imports, plugins = _load_imports(data.get("imports", []), folder)

    ref = data.get("scenario", "default")
    if not isinstance(ref, str) or not ref:
        raise ConfigError("scenario", ref, "a preset name or the path of a scenario .toml file")
    base = _load_base(ref, folder)
    fixed = _flatten("set", data.get("set", {}), ranges=False)
    if fixed:
        try:
            base = base.with_overrides(fixed)
        except ConfigError as err:
            raise ConfigError(f"set.{err.field}", err.value, err.expected) from None
    base = base.resolved()

    parameters: dict[str, list[Any]] = {}
    for path, spec in _flatten("parameters", data.get("parameters", {}), ranges=True).items():
        where = f'parameters."{path}"'
        if path in NOT_PARAMETERS:
            raise ConfigError(where, spec, f"another field ({NOT_PARAMETERS[path]})")
        if path in fixed:
            raise ConfigError(where, spec, f"a field not also fixed in [set] ({path})")
        values = _values(where, spec)
        for value in values:
            try:
                base.with_overrides({path: value})
            except ConfigError as err:
                raise ConfigError(where, value, f"a valid value of this field: {err}") from None
        parameters[path] = values

    regimes = data.get("regimes", ["opaque", base.shared_regime])
    if not isinstance(regimes, list) or not regimes:
        raise ConfigError("regimes", regimes, 'a non-empty list, e.g. ["opaque", "transparent"]')
    for name in regimes:
        if not isinstance(name, str):
            raise ConfigError("regimes", name, "a regime name (text)")
        try:
            base.regime(name)
        except ConfigError as err:
            raise ConfigError("regimes", name, err.expected) from None
    if len(set(regimes)) != len(regimes):
        raise ConfigError("regimes", regimes, "each regime once")

    replications = check_number(
        "replications", data.get("replications", base.replications), minimum=1, integer=True
    )
    seed = check_number("seed", data.get("seed", base.seed), minimum=0, integer=True)
    record = data.get("record", {})
    if not isinstance(record, dict):
        raise ConfigError("record", record, "a [record] table (timeseries, every)")
    for key in record:
        if key not in RECORD_FIELDS:
            raise ConfigError(f"record.{key}", record[key], "timeseries or every")
    timeseries = record.get("timeseries", False)
    if not isinstance(timeseries, bool):
        raise ConfigError("record.timeseries", timeseries, "true or false")
    every = check_number("record.every", record.get("every", 1), minimum=1, integer=True)
    description = data.get("description", "")
    if not isinstance(description, str):
        raise ConfigError("description", description, "text")
    return Sweep(
        name=source.stem if source else "sweep",
        text=text,
        source=source,
        scenario_ref=ref,
        base=base,
        parameters=parameters,
        regimes=regimes,
        replications=replications,
        seed=seed,
        record_every=every if timeseries else 0,
        imports=imports,
        plugins=plugins,
    )


def _load_base(ref: str, folder: Path) -> Scenario:
    from .scenarios import preset_names

    if ref in preset_names():
        return Scenario.preset(ref)
    path = Path(ref)
    if not path.is_absolute():
        path = folder / path
    if not path.is_file():
        raise ConfigError(
            "scenario", ref,
            "a preset (" + ", ".join(preset_names()) + ") or a scenario file "
            f"(relative to the sweep file: {path} does not exist)",
        )  # fmt: skip
    try:
        return Scenario.from_file(path)
    except ConfigError as err:
        raise ConfigError(f"scenario ({ref}): {err.field}", err.value, err.expected) from None


def _flatten(where: str, table: Any, *, ranges: bool) -> dict[str, Any]:
    """Dotted paths from a table: quoted dotted keys, or nested TOML tables, or both."""
    if not isinstance(table, dict):
        raise ConfigError(where, table, "a table of dotted field paths")
    out: dict[str, Any] = {}

    def walk(prefix: str, node: dict[str, Any]) -> None:
        for key, value in node.items():
            path = f"{prefix}.{key}" if prefix else key
            is_range = ranges and isinstance(value, dict) and bool(set(value) & RANGE_FIELDS)
            if isinstance(value, dict) and "." not in key and not is_range:
                if not value:
                    raise ConfigError(f"{where}.{path}", value, "values to vary or set")
                walk(path, value)
            else:
                out[path] = value

    walk("", table)
    return out


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list | dict):
        return "json"
    return type(value).__name__


def _values(where: str, spec: Any) -> list[Any]:
    """The values of one parameter: a list, or a range table {start, stop, num | step}."""
    if isinstance(spec, dict):
        values = _expand_range(where, spec)
    elif isinstance(spec, list):
        values = list(spec)
        if not values:
            raise ConfigError(where, spec, "a non-empty list of values, or a range")
    else:
        raise ConfigError(
            where, spec, "a list of values, or a range {start, stop, num} or {start, stop, step}"
        )
    kinds = {_kind(v) for v in values}
    if kinds <= {"int", "float"} and len(kinds) == 2:
        values = [float(v) for v in values]
        kinds = {"float"}
    if len(kinds) != 1:
        raise ConfigError(where, spec, "values of one type (numbers, text, true/false or tables)")
    if kinds - {"int", "float", "bool", "str", "json"}:
        raise ConfigError(where, spec, "numbers, text, true/false, arrays or tables")
    seen = set()
    for v in values:
        text = json.dumps(v, sort_keys=True)
        if text in seen:
            raise ConfigError(where, v, "each value once")
        seen.add(text)
    return values


def _expand_range(where: str, spec: dict[str, Any]) -> list[Any]:
    for key in spec:
        if key not in RANGE_FIELDS:
            raise ConfigError(f"{where}.{key}", spec[key], "start, stop, and num or step")
    for key in ("start", "stop"):
        if key not in spec:
            raise ConfigError(f"{where}.{key}", None, "a number (a range needs start and stop)")
        check_number(f"{where}.{key}", spec[key])
    start, stop = spec["start"], spec["stop"]
    if ("num" in spec) == ("step" in spec):
        raise ConfigError(where, spec, "a range with either num or step (one of them)")
    ints = isinstance(start, int) and isinstance(stop, int)
    if "num" in spec:
        num = check_number(f"{where}.num", spec["num"], minimum=1, maximum=MAX_VALUES, integer=True)
        if num == 1:
            return [start]
        values = [start + (stop - start) * i / (num - 1) for i in range(num)]
        values = [round(v, 12) for v in values]
        if ints and all(float(v).is_integer() for v in values):
            return [int(v) for v in values]
        return [float(v) for v in values]
    step = check_number(f"{where}.step", spec["step"])
    if step == 0 or (stop - start) * step < 0:
        raise ConfigError(
            f"{where}.step", step, f"a step that leads from {start} to {stop} (non-zero, that sign)"
        )
    count = math.floor((stop - start) / step + 1e-9) + 1
    if count > MAX_VALUES:
        raise ConfigError(where, spec, f"at most {MAX_VALUES} values")
    if ints and isinstance(step, int):
        return [start + i * step for i in range(count)]
    return [float(round(start + i * step, 12)) for i in range(count)]


# -- plug-ins: modules that register policies, demands, regimes ... ----------------------------
_LOADED: set[str] = set()


def _load_imports(items: Any, folder: Path) -> tuple[list[str], dict[str, str]]:
    if not isinstance(items, list) or not all(isinstance(i, str) and i for i in items):
        raise ConfigError("imports", items, "a list of module names or .py files")
    modules, plugins = [], {}
    for item in items:
        if item.endswith(".py"):
            path = Path(item) if Path(item).is_absolute() else folder / item
            try:
                text = path.read_text("utf-8")
            except OSError as err:
                raise ConfigError("imports", item, f"a readable .py file ({err})") from None
            name = f"pullchain_plugin_{path.stem}_{hashlib.sha256(text.encode()).hexdigest()[:8]}"
            plugins[name] = text
            modules.append(name)
        else:
            modules.append(item)
    try:
        load_plugins(modules, plugins)
    except Exception as err:
        raise ConfigError("imports", items, f"modules that import cleanly ({err!r})") from None
    return modules, plugins


def load_plugins(modules: Sequence[str], plugins: Mapping[str, str]) -> None:
    """Import each module once per process; ``plugins`` carries the text of .py files.

    Workers (local or on a cluster) get the text with their tasks, so a researcher's
    policy file need not be installed anywhere.
    """
    for name in modules:
        if name in _LOADED:
            continue
        if name in plugins:
            module = types.ModuleType(name)
            module.__file__ = f"<sweep import {name}>"
            sys.modules[name] = module
            try:
                exec(compile(plugins[name], module.__file__, "exec"), module.__dict__)
            except BaseException:
                sys.modules.pop(name, None)
                raise
        else:
            importlib.import_module(name)
        _LOADED.add(name)


# -- running -------------------------------------------------------------------------------
@dataclass
class Task:
    """What a worker needs for a chunk of runs: everything travels with it."""

    base: Scenario
    runs: list[Run]
    record_every: int
    imports: list[str]
    plugins: dict[str, str]


def run_chunk(task: Task) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """Run a chunk of runs; never raises for a run's error (that run is recorded as failed)."""
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
    except Exception as err:
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


def rerun(row: Mapping[str, Any], base: Scenario | str | Path) -> SupplyChainModel:
    """Run one row of a sweep again, alone, and return the finished model.

    ``base`` is the sweep's base scenario: a ``Scenario``, or a sweep folder (its
    ``scenario.toml``, with the sweep's imports loaded). The model's ``summary()``
    equals the row's metrics exactly.
    """
    row = dict(row)
    if not isinstance(base, Scenario):
        folder = Path(base)
        if folder.is_dir():
            manifest = store.read_manifest(folder)
            load_plugins(manifest.get("imports", []), manifest.get("plugins", {}))
            base = Scenario.from_file(folder / store.SCENARIO)
        else:
            base = Scenario.from_file(folder)
    params = json.loads(row["params"]) if isinstance(row.get("params"), str) else {}
    scenario = scenario_for(base, params)
    model = scenario.model(regime=row["regime"], seed=int(row["seed"]), record_consumers=False)
    model.run_model()
    return model


# -- backends ------------------------------------------------------------------------------
@dataclass
class Chunk:
    runs: list[Run]
    losses: int = 0

    @property
    def name(self) -> str:
        digest = hashlib.sha256("".join(r.key for r in self.runs).encode()).hexdigest()[:16]
        return f"part-{self.runs[0].cell:05d}-{digest}"


Result = list[tuple[dict[str, Any], dict[str, Any] | None]]


def _died(run: Run) -> tuple[dict[str, Any], None]:
    return {
        "run_key": run.key, "cell": run.cell, "regime": run.regime,
        "replication": run.replication, "seed": run.seed,
        "params": json.dumps(run.params_dict, sort_keys=True),
        **{k: _column_value(v) for k, v in run.params},
        "status": "failed", "error": f"WorkerDied: {WORKER_DIED}", "traceback": None,
        "elapsed_s": math.nan, "worker": None,
    }, None  # fmt: skip


class InProcess:
    """Runs chunks one after another in this process (``--workers 1``)."""

    workers = 1

    def describe(self) -> str:
        return "in this process"

    def map(self, make_task: Callable[[list[Run]], Task], chunks: list[Chunk]):
        for chunk in chunks:
            yield chunk, run_chunk(make_task(chunk.runs))

    def close(self) -> None:
        pass


def _init_worker(driver: int) -> None:
    """In a worker: import the model now (not in the first run's time), and exit when the
    driver is gone (it was killed, not shut down: no one would read the results).

    Under forkserver a worker's parent is the fork server, which lives as long as any
    of its workers does, so the driver is watched by its process id.
    """
    from . import model  # noqa: F401

    parent = os.getppid()

    def gone() -> bool:
        if os.getppid() != parent:
            return True
        try:
            os.kill(driver, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # alive, someone else's: the id was reused
            return True
        return False

    def watch() -> None:
        while not gone():
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="pullchain-watch-driver").start()


class LocalProcesses:
    """Chunks in spawned worker processes on this machine.

    A worker that dies (killed, out of memory) breaks the pool: the chunks it was
    running are submitted again to a new pool; a chunk lost twice is run one run at a
    time in a pool of its own, and a run that kills that worker is recorded as failed.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.say: Callable[[str], None] = lambda message: None
        # A fork server that has imported pullchain forks workers in milliseconds, also
        # when a pool is rebuilt after a worker died; where there is none, spawn.
        if "forkserver" in multiprocessing.get_all_start_methods():
            self._ctx = multiprocessing.get_context("forkserver")
            self._ctx.set_forkserver_preload(["pullchain.runs.sweep", "pullchain.runs.model"])
        else:
            self._ctx = multiprocessing.get_context("spawn")

    def describe(self) -> str:
        return f"{self.workers} local worker processes"

    def _pool(self, n: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=n, mp_context=self._ctx, initializer=_init_worker, initargs=(os.getpid(),)
        )

    def map(self, make_task: Callable[[list[Run]], Task], chunks: list[Chunk]):
        todo = list(chunks)
        while todo:
            lost: list[Chunk] = []
            isolate = [c for c in todo if c.losses >= 2]
            normal = [c for c in todo if c.losses < 2]
            if normal:
                pool = self._pool(min(self.workers, len(normal)))
                try:
                    futures = {pool.submit(run_chunk, make_task(c.runs)): c for c in normal}
                    pending = set(futures)
                    while pending:
                        done, pending = wait(pending, return_when=FIRST_COMPLETED)
                        for future in done:
                            chunk = futures[future]
                            try:
                                result = future.result()
                            except BrokenProcessPool:
                                chunk.losses += 1
                                lost.append(chunk)
                                continue
                            yield chunk, result
                finally:
                    pool.shutdown(wait=False, cancel_futures=True)
            for chunk in isolate:
                yield from self._isolated(make_task, chunk)
            if lost:
                self.say(f"a worker process died; running the {len(lost)} chunks it took "
                         "down with it again")  # fmt: skip
            todo = lost

    def _isolated(self, make_task: Callable[[list[Run]], Task], chunk: Chunk):
        """One run at a time, each in a fresh single-worker pool if the last one died."""
        pool = self._pool(1)
        try:
            for run in chunk.runs:
                single = Chunk([run])
                try:
                    result = pool.submit(run_chunk, make_task([run])).result()
                except BrokenProcessPool:
                    pool.shutdown(wait=False, cancel_futures=True)
                    pool = self._pool(1)
                    result = [_died(run)]
                yield single, result
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        pass


class DaskCluster:
    """Chunks as tasks on a Dask distributed scheduler."""

    def __init__(self, address: str, timeout: float = 10.0) -> None:
        self.address = address
        self.client = connect(address, timeout)
        self.workers = max(1, sum(self.client.nthreads().values()))

    def describe(self) -> str:
        return f"Dask scheduler {self.address} ({self.workers} worker threads)"

    def map(self, make_task: Callable[[list[Run]], Task], chunks: list[Chunk]):
        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        todo = list(chunks)
        while todo:
            futures = {}
            for chunk in todo:
                future = self.client.submit(
                    run_chunk, make_task(chunk.runs), pure=False,
                    key=f"pullchain-sweep-{chunk.name}-{chunk.losses}-{time.monotonic_ns()}",
                )  # fmt: skip
                futures[future] = chunk
            lost = []
            for future in as_completed(futures, loop=self.client.loop):
                chunk = futures[future]
                try:
                    result = future.result()
                except KilledWorker:
                    if len(chunk.runs) == 1:
                        yield chunk, [_died(chunk.runs[0])]
                    else:  # run its runs one by one, to find the one that kills workers
                        lost.extend(Chunk([r], chunk.losses + 1) for r in chunk.runs)
                    continue
                finally:
                    future.release()
                yield chunk, result
            todo = lost

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()


def connect(address: str, timeout: float = 10.0):
    """A Dask client for ``address``; a ConfigError naming --scheduler if it cannot be had."""
    if "://" not in address:
        raise ConfigError("--scheduler", address, "a scheduler address such as tcp://host:8786")
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError(
            "--scheduler", address,
            "Dask distributed installed (pip install 'pullchain[sweep]')",
        ) from None  # fmt: skip
    host, _, port = address.split("://", 1)[1].rpartition(":")
    if address.startswith("tcp://") and host and port.isdigit():
        try:  # a refused connection fails now, not after Dask's retries until the timeout
            socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
        except OSError as err:
            expected = f"a reachable Dask scheduler ({err.strerror or err})"
            raise ConfigError("--scheduler", address, expected) from None
    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except Exception as err:
        raise ConfigError(
            "--scheduler", address,
            f"a Dask scheduler that answers within {timeout:g} s ({type(err).__name__}: {err})",
        ) from None  # fmt: skip
    try:
        ours = {"pullchain": __version__}
        theirs = client.run(_worker_versions)
        if not theirs:
            raise ConfigError("--scheduler", address, "a scheduler with at least one worker")
        for worker, versions in theirs.items():
            if versions != ours:
                raise ConfigError(
                    "--scheduler", address,
                    f"workers running pullchain {__version__} "
                    f"(worker {worker} has {versions.get('pullchain')})",
                )  # fmt: skip
    except BaseException:
        client.close()
        raise
    return client


def _worker_versions() -> dict[str, str]:
    from pullchain.runs import __version__ as v

    return {"pullchain": v}


def make_backend(workers: int | None = None, scheduler: str | None = None):
    """The backend for these options (connecting to a scheduler checks it answers)."""
    if scheduler:
        return DaskCluster(scheduler)
    n = workers or _cpu_count()
    return InProcess() if n == 1 else LocalProcesses(n)


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def chunk_runs(runs: list[Run], workers: int) -> list[Chunk]:
    """About eight chunks per worker: few round trips, yet an even finish."""
    size = max(1, len(runs) // (workers * 8))
    return [Chunk(runs[i : i + size]) for i in range(0, len(runs), size)]


# -- the sweep -----------------------------------------------------------------------------
@dataclass
class Outcome:
    """What a sweep did: counts and times."""

    total: int
    done_before: int
    ran: int = 0
    failed: int = 0
    wall_s: float = 0.0
    run_s: float = 0.0
    first_s: float = math.nan  # wall time until the first chunk came back (start-up + 1 chunk)
    backend: str = ""
    out: Path | None = None

    @property
    def complete(self) -> bool:
        return self.done_before + self.ran >= self.total


def prepare_folder(
    sweep: Sweep, out: Path, say: Callable[[str], None] = lambda message: None
) -> set[str]:
    """Check ``out`` can take this sweep; return the keys of runs already there (resume)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError("--out", str(out), "a folder (this is a file)")
    if not out.resolve().parent.is_dir():
        raise ConfigError("--out", str(out), f"a folder inside an existing one "
                          f"({out.resolve().parent} is missing)")  # fmt: skip
    if not out.exists() or not any(p for p in out.iterdir() if not p.name.startswith(".")):
        return set()
    if not (out / store.MANIFEST).is_file():
        raise ConfigError("--out", str(out), "a new or empty folder, or a sweep folder to resume "
                          f"(this one holds files but no {store.MANIFEST})")  # fmt: skip
    manifest = store.read_manifest(out)
    mine = sweep.spec()
    theirs = manifest.get("spec", {})
    for key in mine:
        if mine[key] != theirs.get(key):
            raise ConfigError(
                "--out", str(out),
                f"a sweep folder of this sweep file, to resume it; its `{key}` differs from "
                f"the one in {out / store.MANIFEST} (use a new --out for a different sweep)",
            )  # fmt: skip
    if manifest.get("pullchain") != __version__:
        say(f"note: {out} was started with pullchain {manifest.get('pullchain')}, "
            f"this is {__version__}")  # fmt: skip
    store.clean_leftovers(out)
    return store.done_keys(out)


def manifest(sweep: Sweep) -> dict[str, Any]:
    """What a sweep folder records about how it was made."""
    packages = {}
    for name in PACKAGES:
        try:
            packages[name] = version(name)
        except PackageNotFoundError:
            packages[name] = None
    return {
        "format": 1,
        "sweep_file": str(sweep.source) if sweep.source else None,
        "sweep_text": sweep.text,
        "spec": sweep.spec(),
        "imports": sweep.imports,
        "plugins": sweep.plugins,
        "runs": len(sweep.runs()),
        "cells": len(sweep.cells()),
        "pullchain": __version__,
        "packages": packages,
        "python": sys.version,
        "platform": platform.platform(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def run_sweep(
    sweep: Sweep,
    out: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    backend: Any = None,
    progress: Callable[[int], Any] | None = None,
    say: Callable[[str], None] = lambda message: None,
) -> Outcome:
    """Run (or resume) ``sweep`` into the folder ``out``.

    Everything is checked before the first run (the folder, the manifest of a sweep
    being resumed, the scheduler). ``progress(total)`` returns a context manager with
    ``update(n)`` (a tqdm bar), fed as runs finish.
    """
    out = Path(out)
    runs = sweep.runs()
    done = prepare_folder(sweep, out, say)
    todo = [r for r in runs if r.key not in done]
    outcome = Outcome(total=len(runs), done_before=len(runs) - len(todo), out=out)
    if not todo:
        return outcome
    backend = backend or make_backend(workers, scheduler)
    if hasattr(backend, "say"):
        backend.say = say
    try:
        outcome.backend = backend.describe()
        out.mkdir(exist_ok=True)
        # The manifest first: a folder with anything in it has one, so it can be resumed.
        if not (out / store.MANIFEST).exists():
            store.write_json(out / store.MANIFEST, manifest(sweep))
        if not (out / store.SCENARIO).exists():
            store.atomic_write_bytes(out / store.SCENARIO, sweep.base.to_toml().encode("utf-8"))
        (out / store.RESULTS).mkdir(exist_ok=True)
        if sweep.record_every:
            (out / store.TIMESERIES).mkdir(exist_ok=True)
        say(f"sweep {sweep.name}: {sweep.describe()}"
            + (f", {outcome.done_before} already done" if outcome.done_before else "")
            + f"; running {len(todo)} on {outcome.backend}")  # fmt: skip
        chunks = chunk_runs(todo, backend.workers)
        types_ = sweep.param_types()

        def make_task(some: list[Run]) -> Task:
            return Task(sweep.base, some, sweep.record_every, sweep.imports, sweep.plugins)

        start = time.perf_counter()
        bar = progress(len(todo)) if progress else contextlib.nullcontext()
        with bar as b:
            for chunk, result in backend.map(make_task, chunks):
                rows = [row for row, _ in result]
                series = [s for _, s in result if s]
                if math.isnan(outcome.first_s):
                    outcome.first_s = time.perf_counter() - start
                store.write_chunk(out, chunk.name, rows, types_, series)
                outcome.ran += len(rows)
                outcome.failed += sum(row["status"] != "ok" for row in rows)
                outcome.run_s += sum(r["elapsed_s"] for r in rows if not math.isnan(r["elapsed_s"]))
                if b is not None:
                    b.update(len(rows))
        outcome.wall_s = time.perf_counter() - start
    finally:
        backend.close()
    return outcome
