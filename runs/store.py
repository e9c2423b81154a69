"""The results folder of a sweep: plain Parquet files, written atomically, read back in one call.

Layout of a sweep folder ``DIR``::

    DIR/manifest.json          the sweep file's text, its checked specification, versions, time
    DIR/scenario.toml          the resolved base scenario (every run is it plus its parameters)
    DIR/results/part-*.parquet one row per run, written as each chunk of runs finishes
    DIR/timeseries/part-*.parquet   chain totals every k steps (only with [record] timeseries)

Every file is written under a hidden temporary name in its own folder and then renamed
with ``os.replace``, so a reader (or a sweep killed at any instant) only ever sees whole
files. A chunk's time series are written before its results: the results file is the
mark that the chunk is done. Any tool that reads Parquet reads the folder, e.g. DuckDB:
``SELECT * FROM read_parquet('DIR/results/*.parquet', union_by_name = true)``.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pullchain.network.errors import ConfigError

MANIFEST = "manifest.json"
SCENARIO = "scenario.toml"
RESULTS = "results"
TIMESERIES = "timeseries"

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
def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
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
def _parts(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.parquet") if not p.name.startswith("."))


def read_manifest(out: str | Path) -> dict[str, Any]:
    """The manifest of a sweep folder; ConfigError if ``out`` is not one."""
    path = Path(out) / MANIFEST
    try:
        return json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ConfigError("sweep folder", str(out), f"a folder written by `pullchain sweep` "
                          f"(no {MANIFEST} in it)") from None  # fmt: skip
    except (OSError, ValueError) as err:
        raise ConfigError("sweep folder", str(out), f"a readable {MANIFEST} ({err})") from None


def done_keys(out: str | Path) -> set[str]:
    """Run keys of every run already written (ok or failed)."""
    keys: set[str] = set()
    for part in _parts(Path(out) / RESULTS):
        keys.update(pq.read_table(part, columns=["run_key"]).column("run_key").to_pylist())
    return keys


def clean_leftovers(out: str | Path) -> list[Path]:
    """Remove temporary files and time series without results (a chunk cut off mid-write)."""
    out = Path(out)
    removed = []
    finished = {p.name for p in _parts(out / RESULTS)}
    for folder in (out, out / RESULTS, out / TIMESERIES):
        if folder.is_dir():
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


def read_results(out: str | Path) -> pd.DataFrame:
    """Every run of a sweep folder as one DataFrame, one row per run, in the sweep's order.

    Rows are deduplicated by ``run_key`` (an ``ok`` row wins over a ``failed`` one), though
    ``pullchain sweep`` never writes a run twice. Columns: run_key, cell, regime,
    replication, seed, params (JSON), status, error, traceback, elapsed_s, worker, one
    column per varied parameter (named by its dotted path), then the summary metrics.
    """
    out = Path(out)
    frame = _concat(pq.read_table(p).to_pandas() for p in _parts(out / RESULTS))
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in FIXED_COLUMNS})
    order = {name: i for i, name in enumerate(_regime_order(out))}
    frame["_ok"] = frame["status"] != "ok"
    frame["_regime"] = frame["regime"].map(order).fillna(len(order))
    frame = frame.sort_values(["_ok", "cell", "replication", "_regime", "run_key"], kind="stable")
    frame = frame.drop_duplicates("run_key", keep="first")
    frame = frame.sort_values(["cell", "replication", "_regime", "run_key"], kind="stable")
    return frame.drop(columns=["_ok", "_regime"]).reset_index(drop=True)


def read_timeseries(out: str | Path) -> pd.DataFrame:
    """The recorded chain totals (``[record] timeseries = true``): run_key, step, series."""
    out = Path(out)
    frame = _concat(pq.read_table(p).to_pandas() for p in _parts(out / TIMESERIES))
    if frame.empty:
        return pd.DataFrame({"run_key": pd.Series(dtype=object), "step": pd.Series(dtype=int)})
    frame = frame.drop_duplicates(["run_key", "step"], keep="first")
    return frame.sort_values(["run_key", "step"], kind="stable").reset_index(drop=True)


def _regime_order(out: Path) -> list[str]:
    try:
        return list(read_manifest(out)["spec"]["regimes"])
    except (ConfigError, KeyError, TypeError):
        return []
