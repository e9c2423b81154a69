"""The results folder of a sweep: plain Parquet files, written atomically, read back in one call.

Layout of a sweep folder ``DIR``::

    DIR/manifest.json          the sweep file's text, its checked specification, versions, time
    DIR/scenario.toml          the resolved base scenario (every run is it plus its parameters)
    DIR/results/part-*.parquet one row per run, written as each chunk of runs finishes
    DIR/timeseries/part-*.parquet   chain totals every k steps (only with [record] timeseries)

    DIR/quarantine/...         chunks found damaged on resume, moved aside (never deleted)
    DIR/retries.json           how often each run whose worker died was retried
    DIR/.pullchain.lock        while a sweep writes here (runs.folder_lock)

Every file is written under a hidden temporary name in its own folder and then renamed
with ``os.replace``, so a reader (or a sweep killed at any instant) only ever sees whole
files, created with the user's umask like any other file. Reading never follows a
symbolic link inside the folder: a linked ``results`` folder or chunk is reported as
damaged, not read. A chunk's time series are written before its results: the results file is the
mark that the chunk is done. Any tool that reads Parquet reads the folder, e.g. DuckDB:
``SELECT * FROM read_parquet('DIR/results/*.parquet', union_by_name = true)``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pullchain.network.errors import ConfigError, printable
from pullchain.network.limits import check_input_file

MANIFEST = "manifest.json"
SCENARIO = "scenario.toml"
RESULTS = "results"
TIMESERIES = "timeseries"
QUARANTINE = "quarantine"
RETRIES = "retries.json"

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
WORKER_DIED = "WorkerDied"
"""How the error of a run whose worker process died begins (see runs.execute.died)."""

FIXED_COLUMNS: dict[str, pa.DataType] = {
    "run_key": pa.string(),
    "cell": pa.int64(),
    "regime": pa.string(),
    "replication": pa.int64(),
    "seed": pa.int64(),
    "params": pa.string(),
    "status": pa.string(),
    "error": pa.string(),
    "traceback": pa.string(),
    "elapsed_s": pa.float64(),
    "worker": pa.string(),
}
"""Columns every results row has, before its parameter and metric columns."""

TIMING_COLUMNS = ("elapsed_s", "worker")
"""Columns that differ between two otherwise identical sweeps (leave them out to compare)."""


# -- writing ---------------------------------------------------------------------------------
def temporary(folder: Path, name: str, suffix: str = ".tmp") -> tuple[int, Path]:
    """A new hidden file in ``folder``, open for writing, created with the user's umask
    (``tempfile.mkstemp`` would make it 0600, unreadable to colleagues)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | _NOFOLLOW
    while True:
        path = folder / f".{name}.{secrets.token_hex(6)}{suffix}"
        try:
            return os.open(path, flags, 0o666), path
        except FileExistsError:
            continue


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder."""
    fd, tmp = temporary(path.parent, path.name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_table(path: Path, table: pa.Table) -> None:
    """Write ``table`` as Parquet at ``path``, atomically."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    atomic_write_bytes(path, sink.getvalue().to_pybytes())


def results_table(rows: list[dict[str, Any]], param_types: Mapping[str, pa.DataType]) -> pa.Table:
    """Rows of runs as an Arrow table: fixed columns, parameters (typed), then metrics (float)."""
    schema = [pa.field(name, kind) for name, kind in FIXED_COLUMNS.items()]
    schema += [pa.field(name, kind) for name, kind in param_types.items()]
    known = set(FIXED_COLUMNS) | set(param_types)
    metrics: dict[str, None] = {}
    for row in rows:
        for key in row:
            if key not in known:
                metrics[key] = None
    schema += [pa.field(name, pa.float64()) for name in metrics]
    return pa.Table.from_pylist(rows, schema=pa.schema(schema))


def timeseries_table(series: list[dict[str, Any]]) -> pa.Table:
    """Per-run dicts of equal-length columns (run_key, step, chain totals) as one table."""
    columns: dict[str, None] = {"run_key": None, "step": None}
    for part in series:
        columns.update(dict.fromkeys(part))
    fields = [pa.field("run_key", pa.string()), pa.field("step", pa.int64())]
    fields += [pa.field(c, pa.float64()) for c in columns if c not in ("run_key", "step")]
    arrays: dict[str, list] = {c: [] for c in columns}
    for part in series:
        n = len(part["step"])
        for c in columns:
            arrays[c].extend(part[c] if c in part else [None] * n)
    return pa.Table.from_pydict(arrays, schema=pa.schema(fields))


def write_chunk(
    out: Path,
    name: str,
    rows: list[dict[str, Any]],
    param_types: Mapping[str, pa.DataType],
    series: list[dict[str, Any]] | None = None,
) -> Path:
    """Write one finished chunk: its time series first, then its results (the 'done' mark)."""
    if series:
        atomic_write_table(out / TIMESERIES / f"{name}.parquet", timeseries_table(series))
    path = out / RESULTS / f"{name}.parquet"
    atomic_write_table(path, results_table(rows, param_types))
    return path


def write_json(path: Path, data: Any) -> None:
    atomic_write_bytes(path, (json.dumps(data, indent=2) + "\n").encode("utf-8"))


# -- reading ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Damaged:
    """A file of a sweep folder that cannot be used, and why."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return printable(f"{self.path}: {self.reason}")


LINK = "a symbolic link (pullchain reads nothing a link points to from a sweep folder)"


def _parts(folder: Path, damaged: list[Damaged] | None = None) -> list[Path]:
    """The Parquet files directly in ``folder``; links (the folder or a file) are damaged."""
    if folder.is_symlink():
        if damaged is not None:
            damaged.append(Damaged(folder, LINK))
        return []
    if not folder.is_dir():
        return []
    found = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith(".") or not entry.name.endswith(".parquet"):
                continue
            if entry.is_symlink():
                if damaged is not None:
                    damaged.append(Damaged(Path(entry.path), LINK))
            elif entry.is_file(follow_symlinks=False):
                found.append(Path(entry.path))
    return sorted(found)


def read_table(path: Path, columns: list[str] | None = None) -> pa.Table:
    """A Parquet file, opened without following a symbolic link."""
    fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
    with os.fdopen(fd, "rb") as fh:
        return pq.read_table(fh, columns=columns)


def _read_part(path: Path) -> tuple[pa.Table | None, str | None]:
    """A chunk's table, or why it cannot be read (corrupt, truncated, empty, a link)."""
    if path.is_symlink():
        return None, LINK
    try:
        return read_table(path), None
    except Exception as err:  # whatever a damaged file makes pyarrow raise
        return None, f"not a readable Parquet file ({type(err).__name__}: {err})"


def read_text_file(path: Path, what: str) -> str:
    """A small text file of a sweep folder (manifest, scenario), never through a link."""
    if path.is_symlink():
        raise ConfigError("sweep folder", str(path.parent), f"a {what} that is not {LINK}")
    check_input_file(what, path)
    fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
    with os.fdopen(fd, "rb") as fh:
        return fh.read().decode("utf-8-sig")


def read_manifest(out: str | Path) -> dict[str, Any]:
    """The manifest of a sweep folder, checked; ConfigError if ``out`` is not one."""
    path = Path(out) / MANIFEST
    try:
        manifest = json.loads(read_text_file(path, MANIFEST))
    except FileNotFoundError:
        raise ConfigError("sweep folder", str(out), f"a folder written by `pullchain sweep` "
                          f"(no {MANIFEST} in it)") from None  # fmt: skip
    except (OSError, ValueError, RecursionError) as err:
        raise ConfigError("sweep folder", str(out), f"a readable {MANIFEST} ({err})") from None
    problem = manifest_problem(manifest)
    if problem:
        raise ConfigError(
            "sweep folder", str(out), f"a {MANIFEST} as `pullchain sweep` writes it ({problem})"
        )
    return manifest


def manifest_problem(manifest: Any) -> str | None:
    """What is wrong with a manifest, or None: the fields every reader relies on."""
    if not isinstance(manifest, dict):
        return f"it holds {type(manifest).__name__}, not an object"
    spec = manifest.get("spec")
    if not isinstance(spec, dict):
        return "no spec object"
    params = spec.get("parameters")
    if not isinstance(params, dict) or not all(
        isinstance(k, str) and isinstance(v, list) and v for k, v in params.items()
    ):
        return "spec.parameters is not an object of non-empty lists"
    regimes = spec.get("regimes")
    if not isinstance(regimes, list) or not regimes or not all(isinstance(r, str) for r in regimes):
        return f"spec.regimes is {regimes!r}, not a list of regime names"
    for key, minimum in (("replications", 1), ("seed", 0)):
        value = spec.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            return f"spec.{key} is {value!r}, not an integer >= {minimum}"
    plugins = manifest.get("plugins", [])
    if not isinstance(plugins, list) or not all(
        isinstance(p, dict) and isinstance(p.get("name"), str) and isinstance(p.get("kind"), str)
        for p in plugins
    ):
        return "plugins is not a list of plug-in records (name, kind, ...)"
    runs = manifest.get("runs", 0)
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 0:
        return f"runs is {runs!r}, not a count"
    return None


class RowCheck:
    """Tells a chunk of this sweep from a foreign or tampered one, row by row.

    A row belongs to the sweep when its run key is the hash of its own parameters,
    regime and replication, and those are values the sweep has, with the seed of that
    replication: a chunk copied from another sweep, or edited, fails.
    """

    def __init__(self, spec: Mapping[str, Any]) -> None:
        from .compare import replication_seeds

        self.values = {
            name: {json.dumps(v, sort_keys=True) for v in values}
            for name, values in spec["parameters"].items()
        }
        self.regimes = set(spec["regimes"])
        self.seeds = replication_seeds(spec["seed"], spec["replications"])

    def problem(self, table: pa.Table) -> str | None:
        from .sweep_file import run_key

        missing = [c for c in REQUIRED if c not in table.column_names]
        if missing:
            return "not a chunk of a pullchain sweep (no column " + ", ".join(missing) + ")"
        try:
            rows = table.select(REQUIRED).to_pylist()
        except (pa.ArrowException, ValueError) as err:
            return f"unreadable rows ({err})"
        for row in rows:
            why = self._row_problem(row, run_key)
            if why:
                return f"a row that is not a run of this sweep ({why})"
        return None

    def _row_problem(self, row: dict[str, Any], run_key) -> str | None:
        try:
            params = json.loads(row["params"])
        except (TypeError, ValueError):
            return "its params are not JSON"
        if not isinstance(params, dict) or set(params) != set(self.values):
            return "other parameters"
        for name, value in params.items():
            if json.dumps(value, sort_keys=True) not in self.values[name]:
                return f"{name} = {value!r} is not swept"
        r = row["replication"]
        if row["regime"] not in self.regimes or not isinstance(r, int):
            return f"regime {row['regime']!r} or replication {r!r} is not in the sweep"
        if not 0 <= r < len(self.seeds) or row["seed"] != self.seeds[r]:
            return f"replication {r} with seed {row['seed']}"
        if row["run_key"] != run_key(params, row["regime"], r):
            return f"run key {row['run_key']!r} does not match its parameters"
        if row["status"] not in ("ok", "failed"):
            return f"status {row['status']!r}"
        return None


REQUIRED = ["run_key", "regime", "replication", "seed", "params", "status", "error"]
"""Columns a results chunk must have for pullchain to use it."""


@dataclass
class Scan:
    """What a sweep folder holds, chunk by chunk, as found on resume."""

    done: set[str] = field(default_factory=set)  # runs written, ok or failed
    died: dict[str, Path] = field(default_factory=dict)  # run key -> its chunk
    damaged: list[Damaged] = field(default_factory=list)


def scan(out: str | Path, spec: Mapping[str, Any]) -> Scan:
    """Read every chunk of ``out`` whole; find the runs done, those whose worker died,
    and the chunks that are damaged (unreadable, foreign, links, or holding runs
    another chunk already holds)."""
    out = Path(out)
    found = Scan()
    check = RowCheck(spec)
    for part in _parts(out / RESULTS, found.damaged):
        table, why = _read_part(part)
        if table is not None:
            why = check.problem(table)
        if why is None:
            series = out / TIMESERIES / part.name
            if series.exists() or series.is_symlink():
                _, why = _read_part(series)
                why = why and f"its time series {series.name} is {why}"
        if why is None:
            keys = table.column("run_key").to_pylist()
            if found.done.intersection(keys) or len(set(keys)) != len(keys):
                why = "runs that another chunk holds already (written twice)"
        if why is not None:
            found.damaged.append(Damaged(part, why))
            continue
        found.done.update(keys)
        for key, status, error in zip(
            keys, table.column("status").to_pylist(), table.column("error").to_pylist(),
            strict=True,
        ):  # fmt: skip
            if status == "failed" and str(error).startswith(WORKER_DIED):
                found.died[key] = part
    return found


def quarantine(out: str | Path, damaged: Iterable[Damaged]) -> list[Path]:
    """Move damaged chunks (and their time series) into ``out/quarantine``; never delete.

    Their runs are then missing, so the sweep runs them again.
    """
    out = Path(out)
    moved = []
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    for item in damaged:
        if item.path == out / RESULTS:  # a linked results folder: set the link aside
            sources = [item.path]
        else:
            sources = [item.path, out / TIMESERIES / item.path.name]
        for source in sources:
            if not (source.exists() or source.is_symlink()):
                continue
            folder = out / QUARANTINE / source.parent.relative_to(out)
            if source == out / RESULTS:
                folder = out / QUARANTINE
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / f"{stamp}-{source.name}"
            while target.exists() or target.is_symlink():
                target = folder / f"{stamp}-{secrets.token_hex(3)}-{source.name}"
            os.replace(source, target)
            moved.append(target)
    return moved


def drop_runs(out: str | Path, keys: set[str]) -> None:
    """Take the rows of ``keys`` out of the chunks that hold them (to run them again).

    A chunk left with no rows is removed; otherwise it is rewritten whole under its
    own name, atomically, so every other run stays written exactly once.
    """
    out = Path(out)
    for part in _parts(out / RESULTS):
        table = read_table(part)
        keep = [k not in keys for k in table.column("run_key").to_pylist()]
        if all(keep):
            continue
        if not any(keep):
            part.unlink()
        else:
            atomic_write_table(part, table.filter(pa.array(keep)))


def read_retries(out: str | Path) -> dict[str, int]:
    """How often each run whose worker died has been retried (``retries.json``)."""
    path = Path(out) / RETRIES
    try:
        data = json.loads(read_text_file(path, RETRIES))
    except (FileNotFoundError, ConfigError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, int) and not isinstance(v, bool)}


def clean_leftovers(out: str | Path) -> list[Path]:
    """Remove temporary files and time series without results (a chunk cut off mid-write)."""
    out = Path(out)
    removed = []
    finished = {p.name for p in _parts(out / RESULTS)}
    for folder in (out, out / RESULTS, out / TIMESERIES):
        if folder.is_dir() and not folder.is_symlink():
            for tmp in folder.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)
                removed.append(tmp)
    for part in _parts(out / TIMESERIES):
        if part.name not in finished:
            part.unlink(missing_ok=True)
            removed.append(part)
    return removed


def _concat(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f.columns)]
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True, sort=False)


def _tables(folder: Path, damaged: list[Damaged] | None, check: RowCheck | None = None):
    """The readable chunks of ``folder`` as DataFrames; the rest go to ``damaged``."""
    for part in _parts(folder, damaged):
        table, why = _read_part(part)
        if table is not None and check is not None:
            why = check.problem(table)
        if why is not None:
            if damaged is not None:
                damaged.append(Damaged(part, why))
            continue
        try:
            yield table.to_pandas()
        except Exception as err:  # a column pandas cannot hold
            if damaged is not None:
                damaged.append(Damaged(part, f"not readable as a table ({err})"))


def read_results(out: str | Path, damaged: list[Damaged] | None = None) -> pd.DataFrame:
    """Every run of a sweep folder as one DataFrame, one row per run, in the sweep's order.

    Chunks that cannot be read, are links, or do not belong to the sweep in the
    folder's manifest are left out and added to ``damaged`` (when given): a damaged
    folder is still read. Rows are deduplicated by ``run_key`` (an ``ok`` row wins over
    a ``failed`` one), though ``pullchain sweep`` never writes a run twice. Columns:
    run_key, cell, regime, replication, seed, params (JSON), status, error, traceback,
    elapsed_s, worker, one column per varied parameter (named by its dotted path),
    then the summary metrics.
    """
    out = Path(out)
    manifest = _manifest_or_none(out)
    check = RowCheck(manifest["spec"]) if manifest else None
    frame = _concat(_tables(out / RESULTS, damaged, check))
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in FIXED_COLUMNS})
    order = {name: i for i, name in enumerate(manifest["spec"]["regimes"] if manifest else [])}
    frame["_ok"] = frame["status"] != "ok"
    frame["_regime"] = frame["regime"].map(order).fillna(len(order))
    keys = [c for c in ("_ok", "cell", "replication", "_regime", "run_key") if c in frame]
    frame = frame.sort_values(keys, kind="stable")
    frame = frame.drop_duplicates("run_key", keep="first")
    frame = frame.sort_values([k for k in keys if k != "_ok"], kind="stable")
    return frame.drop(columns=["_ok", "_regime"]).reset_index(drop=True)


def read_timeseries(out: str | Path, damaged: list[Damaged] | None = None) -> pd.DataFrame:
    """The recorded chain totals (``[record] timeseries = true``): run_key, step, series."""
    out = Path(out)
    frame = _concat(_tables(out / TIMESERIES, damaged))
    if frame.empty or not {"run_key", "step"} <= set(frame.columns):
        return pd.DataFrame({"run_key": pd.Series(dtype=object), "step": pd.Series(dtype=int)})
    frame = frame.drop_duplicates(["run_key", "step"], keep="first")
    return frame.sort_values(["run_key", "step"], kind="stable").reset_index(drop=True)


def _manifest_or_none(out: Path) -> dict[str, Any] | None:
    try:
        return read_manifest(out)
    except ConfigError:
        return None
