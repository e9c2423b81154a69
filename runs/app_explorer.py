"""The sweep explorer's data: list, open (never outside the results folder) and filter
sweep results (their charts: ``app_sweeps``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from pullchain.network.errors import ConfigError

# -- sweep explorer -------------------------------------------------------------------------
FIGURE_SUFFIXES = (".png", ".svg", ".jpg", ".jpeg")


def inside(root: Path, name: str | Path) -> Path:
    """``root / name``, resolved; ConfigError if it lies outside ``root`` (``..``, an
    absolute path, a symbolic link pointing elsewhere)."""
    base = Path(root).resolve()
    target = (base / name).resolve()
    if target != base and not target.is_relative_to(base):
        raise ConfigError("sweep", str(name), f"a folder inside the results folder {base}")
    return target


def list_sweeps(root: Path) -> list[str]:
    """The result folders in ``root`` (names, sorted); empty if ``root`` does not exist."""
    base = Path(root).resolve()
    if not base.is_dir():
        return []
    out = []
    for p in sorted(base.iterdir()):
        if p.name.startswith(".") or not p.is_dir():
            continue
        try:
            inside(base, p.name)
        except ConfigError:
            continue  # a link that leads out of the results folder
        out.append(p.name)
    return out


def _files(root: Path, folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
    found = []
    for p in sorted(folder.rglob("*")):
        if p.suffix.lower() in suffixes and p.is_file():
            try:
                found.append(inside(root, p.relative_to(Path(root).resolve())))
            except (ConfigError, ValueError):
                continue
    return found


def load_results(root: Path, name: str) -> pd.DataFrame:
    """The results of sweep ``name`` in ``root`` (``runs.store.read_results`` when it exists,
    else every Parquet file in the folder)."""
    folder = inside(root, name)
    if not folder.is_dir():
        raise ConfigError("sweep", name, f"a results folder in {Path(root).resolve()}")
    try:
        from .store import read_results  # written by the sweep work; may not exist yet
    except ImportError:
        read_results = None
    if read_results is not None:
        damaged: list = []
        try:
            frame = read_results(folder, damaged)  # never through a link, damage left out
            if isinstance(frame, pd.DataFrame):
                if "status" in frame:  # failed runs have no metrics
                    frame = frame[frame["status"] == "ok"].reset_index(drop=True)
                frame.attrs["damaged"] = [str(item) for item in damaged]
                return frame
        except Exception:  # fall back to reading the files as they are
            pass
    tables = folder / "results"  # the layout of runs.store; else any Parquet file
    files = _files(root, tables if tables.is_dir() else folder, (".parquet",))
    frames = []
    for f in files:
        try:
            frames.append(pd.read_parquet(f))
        except Exception:
            continue  # not a table we can read (or half-written): leave it out
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def load_manifest(root: Path, name: str) -> dict | None:
    """The manifest of sweep ``name`` in ``root`` (``store.read_manifest``), or None when
    the folder has none that reads."""
    from .store import read_manifest

    try:
        return read_manifest(inside(root, name))
    except ConfigError:
        return None


def load_timeseries(root: Path, name: str) -> pd.DataFrame:
    """The time series sweep ``name`` recorded (``store.read_timeseries``; empty if none)."""
    from .store import read_timeseries

    folder = inside(root, name)
    if not folder.is_dir():
        raise ConfigError("sweep", name, f"a results folder in {Path(root).resolve()}")
    try:
        return read_timeseries(folder, [])
    except Exception:  # a folder without readable time series: nothing to show
        return pd.DataFrame({"run_key": pd.Series(dtype=object), "step": pd.Series(dtype=int)})


def report_figures(root: Path, name: str) -> list[Path]:
    """Figure files (PNG, SVG, JPEG) in sweep ``name``, all inside ``root``."""
    folder = inside(root, name)
    return _files(root, folder, FIGURE_SUFFIXES) if folder.is_dir() else []


METRIC_NAMES = {
    "periods",
    "demand_mean",
    "fill_rate",
    "on_hand_mean",
    "backlog_mean",
    "lost_sales",
    "holding_cost",
    "backlog_cost",
    "lost_sale_cost",
    "total_cost",
    "bullwhip_top",
}
IGNORED = {
    "seed",
    "replication",
    "run",
    "run_id",
    "RunId",
    "iteration",
    "rng",
    # bookkeeping columns of runs.store.read_results
    "run_key",
    "cell",
    "params",
    "status",
    "error",
    "traceback",
    "elapsed_s",
    "worker",
}


def split_columns(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(parameters, metrics): metrics are the summary metrics and other many-valued
    numbers; parameters are the columns with few distinct values."""
    params, found = [], []
    for col in frame.columns:
        if col in IGNORED:
            continue
        name = str(col)
        numeric = pd.api.types.is_numeric_dtype(frame[col]) and not pd.api.types.is_bool_dtype(
            frame[col]
        )
        if name in METRIC_NAMES or name.startswith("bullwhip"):
            found.append(name)
        elif not numeric or frame[col].nunique(dropna=True) <= 12:
            params.append(name)
        else:
            found.append(name)
    return params, found


def filter_frame(frame: pd.DataFrame, chosen: Mapping[str, list]) -> pd.DataFrame:
    """Rows whose parameter values are among the chosen ones (an empty choice keeps all)."""
    mask = pd.Series(True, index=frame.index)
    for col, values in chosen.items():
        if values and col in frame:
            mask &= frame[col].astype(str).isin([str(v) for v in values])
    return frame[mask]
