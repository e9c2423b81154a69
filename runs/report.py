"""Reading a sweep: the paired regime difference per parameter cell, and its figures.

For every cell (one combination of the varied parameters) and every regime after the
first, the difference ``regime - baseline`` of each key metric is taken within each
replication (both runs faced the same demand) and summarised by its mean and a 95 %
Student-t confidence interval over the replications, as ``pullchain compare`` does.

Figures (matplotlib, Agg): the gain against each varied parameter, a line with its CI
band (one line per value of the other parameter when two vary, else averaged over the
others), and a heatmap per metric when exactly two parameters vary.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pullchain.network.errors import ConfigError, printable

from . import store
from .formatting import format_number as _fmt

KEY_METRICS = ("total_cost", "bullwhip_top", "fill_rate", "on_hand_mean")
MAX_LINES = 8


def _summarise(diff: np.ndarray, a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    from .compare import change_pct, paired_interval  # as `pullchain compare` has them

    n = len(diff)
    mean, half = paired_interval(diff)
    base = float(np.mean(a)) if n else math.nan
    return {
        "n": n,
        "baseline_mean": base,
        "regime_mean": float(np.mean(b)) if n else math.nan,
        "change": mean,
        "ci_low": mean - half,
        "ci_high": mean + half,
        "change_pct": change_pct(mean, base) if n else math.nan,
    }


def pairs(results: pd.DataFrame, baseline: str, regime: str, metric: str) -> pd.DataFrame:
    """Per (cell, replication): the metric under ``baseline`` and ``regime`` (both ok, finite)."""
    ok = results[(results["status"] == "ok")]
    if metric not in ok.columns:
        return pd.DataFrame(columns=["cell", "replication", "a", "b", "diff"])
    a = ok[ok["regime"] == baseline][["cell", "replication", metric]]
    b = ok[ok["regime"] == regime][["cell", "replication", metric]]
    both = a.merge(b, on=["cell", "replication"], suffixes=("_a", "_b"))
    both = both.rename(columns={f"{metric}_a": "a", f"{metric}_b": "b"})
    both = both[np.isfinite(both["a"].astype(float)) & np.isfinite(both["b"].astype(float))]
    both["diff"] = both["b"] - both["a"]
    return both


def paired_table(
    results: pd.DataFrame,
    parameters: list[str],
    regimes: list[str],
    metrics: tuple[str, ...] = KEY_METRICS,
) -> pd.DataFrame:
    """One row per (cell, regime after the first, metric): mean paired change and its 95 % CI."""
    baseline = regimes[0]
    cells = results.drop_duplicates("cell").sort_values("cell")[["cell", *parameters]]
    rows = []
    for regime in regimes[1:]:
        for metric in metrics:
            p = pairs(results, baseline, regime, metric)
            groups = dict(tuple(p.groupby("cell"))) if len(p) else {}
            for values in cells.to_dict("records"):  # keeps each column's type
                cell = values.pop("cell")
                g = groups.get(cell)
                arr = (
                    (g["diff"].to_numpy(float), g["a"].to_numpy(float), g["b"].to_numpy(float))
                    if g is not None
                    else (np.array([]),) * 3
                )
                rows.append(
                    {"cell": int(cell), **values, "baseline": baseline,
                     "regime": regime, "metric": metric, **_summarise(*arr)}
                )  # fmt: skip
    return pd.DataFrame(rows)


def marginal(
    results: pd.DataFrame, parameter: str, baseline: str, regime: str, metric: str
) -> pd.DataFrame:
    """The paired change against one parameter, pooled over the other parameters' values."""
    p = pairs(results, baseline, regime, metric)
    cells = results.drop_duplicates("cell").set_index("cell")[parameter]
    p = p.assign(value=p["cell"].map(cells))
    rows = []
    for value, g in p.groupby("value", sort=True):
        rows.append({parameter: value, **_summarise(g["diff"].to_numpy(float),
                                                     g["a"].to_numpy(float),
                                                     g["b"].to_numpy(float))})  # fmt: skip
    return pd.DataFrame(rows)


# -- printing ------------------------------------------------------------------------------------
def _print(text: str = "") -> None:
    """Print ``text`` with control characters escaped: names and values come from files."""
    print("\n".join(printable(line) for line in text.split("\n")))


def print_table(table: pd.DataFrame, parameters: list[str], header: str) -> None:
    _print(header)
    for (regime, metric), block in table.groupby(["regime", "metric"], sort=False):
        baseline = block["baseline"].iloc[0]
        _print(f"\n  {metric}: {regime} - {baseline}, mean over paired replications")
        widths = [max(len(p), *(len(_fmt(v)) for v in block[p])) for p in parameters]
        head = "  ".join(f"{p:>{w}}" for p, w in zip(parameters, widths, strict=True))
        cols = f"{'n':>4} {baseline:>12} {regime:>12} {'change':>12}   {'95% CI':<25} {'%':>8}"
        _print(f"  {head}  {cols}" if parameters else f"  {cols}")
        for _, row in block.iterrows():
            values = zip(parameters, widths, strict=True)
            cells = "  ".join(f"{_fmt(row[p]):>{w}}" for p, w in values)
            ci = f"[{_fmt(row.ci_low)}, {_fmt(row.ci_high)}]"
            pct = "n/a" if math.isnan(row.change_pct) else f"{row.change_pct:+.1f}%"
            flag = " *" if row.ci_low > 0 or row.ci_high < 0 else ""
            line = (f"{row.n:>4} {_fmt(row.baseline_mean):>12} {_fmt(row.regime_mean):>12} "
                    f"{_fmt(row.change):>12}   {ci:<25} {pct:>8}{flag}")  # fmt: skip
            _print(f"  {cells}  {line}" if parameters else f"  {line}")
    _print("\n  * the 95% confidence interval of the paired change excludes zero")


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return _clean(value.item())
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


# -- figures -------------------------------------------------------------------------------------
def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")


def _positions(values: list[Any]) -> tuple[np.ndarray, list[str] | None]:
    """Numbers stay on a numeric axis; text, true/false and tables become categories."""
    if all(isinstance(v, int | float | np.number) and not isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=float), None
    return np.arange(len(values), dtype=float), [str(v) for v in values]


def _save(fig, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
    try:
        fig.savefig(tmp, dpi=110)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def gain_figure(
    results: pd.DataFrame, table: pd.DataFrame, parameters: list[str], parameter: str,
    baseline: str, regime: str, metrics: tuple[str, ...] = KEY_METRICS,
):  # fmt: skip
    """The change of each metric against ``parameter``, a line with its 95 % CI band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    others = [p for p in parameters if p != parameter]
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5), squeeze=False)
    order = list(dict.fromkeys(results.drop_duplicates("cell").sort_values("cell")[parameter]))
    order = sorted(order, key=_sort_key)
    x_all, labels = _positions(order)
    where = {_sort_key(v): x for v, x in zip(order, x_all, strict=True)}
    by_line = len(others) == 1 and table[others[0]].nunique() <= MAX_LINES
    for ax, metric in zip(axes.flat, metrics, strict=False):
        if by_line:
            q = others[0]
            block = table[(table.regime == regime) & (table.metric == metric)]
            for value, g in block.groupby(q, sort=True):
                g = g.assign(_x=[where[_sort_key(v)] for v in g[parameter]])
                g = g.sort_values("_x")
                line = ax.plot(g["_x"], g["change"], marker="o", label=f"{q} = {value}")[0]
                ax.fill_between(g["_x"], g["ci_low"], g["ci_high"], alpha=0.2,
                                color=line.get_color(), linewidth=0)  # fmt: skip
            ax.legend(fontsize=8)
        else:
            m = marginal(results, parameter, baseline, regime, metric)
            if len(m):
                xs = [where[_sort_key(v)] for v in m[parameter]]
                ax.plot(xs, m["change"], marker="o", color="C0")
                ax.fill_between(xs, m["ci_low"], m["ci_high"], alpha=0.25, color="C0", linewidth=0)
        ax.axhline(0, color="0.4", linewidth=0.8)
        ax.set_title(f"{metric}: {regime} - {baseline}")
        ax.set_xlabel(parameter)
        ax.set_ylabel("paired change (95% CI band)")
        if labels is not None:
            ax.set_xticks(x_all, labels)
    for ax in list(axes.flat)[len(metrics) :]:
        ax.set_visible(False)
    note = "" if by_line or not others else f" (averaged over {', '.join(others)})"
    fig.suptitle(f"What {regime} changes against {baseline}, by {parameter}{note}")
    fig.tight_layout()
    return fig


def heatmap_figure(
    table: pd.DataFrame, p: str, q: str, regime: str, metrics: tuple[str, ...] = KEY_METRICS
):
    """When two parameters vary: the mean paired change per cell, one panel per metric."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import Normalize

    fig, axes = plt.subplots(2, 2, figsize=(11, 8.5), squeeze=False)
    for ax, metric in zip(axes.flat, metrics, strict=False):
        block = table[(table.regime == regime) & (table.metric == metric)]
        rows = sorted(block[p].unique(), key=_sort_key)
        cols = sorted(block[q].unique(), key=_sort_key)
        grid = np.full((len(rows), len(cols)), np.nan)
        sig = np.zeros_like(grid, dtype=bool)
        for _, r in block.iterrows():
            i, j = rows.index(r[p]), cols.index(r[q])
            grid[i, j] = r.change
            sig[i, j] = r.ci_low > 0 or r.ci_high < 0
        finite = grid[np.isfinite(grid)]
        # Zero is white, falls blue, rises red, on a scale symmetric about zero.
        vmax = float(np.abs(finite).max()) if len(finite) else 1.0
        vmax = vmax or 1.0
        image = ax.imshow(grid, cmap="RdBu_r", norm=Normalize(-vmax, vmax), aspect="auto",
                          origin="lower")  # fmt: skip
        fig.colorbar(image, ax=ax, shrink=0.85)
        for i in range(len(rows)):
            for j in range(len(cols)):
                if np.isfinite(grid[i, j]):
                    dark = abs(grid[i, j]) > 0.6 * vmax
                    ax.text(j, i, _fmt(float(grid[i, j])) + ("*" if sig[i, j] else ""),
                            ha="center", va="center", fontsize=7,
                            color="white" if dark else "black")  # fmt: skip
        ax.set_xticks(range(len(cols)), [str(c) for c in cols])
        ax.set_yticks(range(len(rows)), [str(r) for r in rows])
        ax.set_xlabel(q)
        ax.set_ylabel(p)
        ax.set_title(f"{metric}: {regime} - {block['baseline'].iloc[0] if len(block) else ''}")
    fig.suptitle("Mean paired change per cell (* : 95% CI excludes zero)")
    fig.tight_layout()
    return fig


def _jsonable(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def _sort_key(v: Any) -> tuple:
    v = _jsonable(v)
    if isinstance(v, int | float) and not isinstance(v, bool):
        return (0, float(v), "")
    return (1, 0.0, str(v))


def save_figures(
    results: pd.DataFrame, table: pd.DataFrame, parameters: list[str], regimes: list[str],
    out: Path,
) -> list[Path]:  # fmt: skip
    """Every figure for this sweep, into the folder ``out``; returns the files."""
    import matplotlib.pyplot as plt

    out.mkdir(exist_ok=True)
    written = []
    baseline = regimes[0]
    for regime in regimes[1:]:
        suffix = "" if len(regimes) == 2 else f"-{_slug(regime)}"
        for parameter in parameters:
            fig = gain_figure(results, table, parameters, parameter, baseline, regime)
            path = out / f"gain-{_slug(parameter)}{suffix}.png"
            _save(fig, path)
            plt.close(fig)
            written.append(path)
        if len(parameters) == 2:
            p, q = parameters
            fig = heatmap_figure(table, p, q, regime)
            path = out / f"heatmap-{_slug(p)}-{_slug(q)}{suffix}.png"
            _save(fig, path)
            plt.close(fig)
            written.append(path)
    return written


# -- the command ---------------------------------------------------------------------------------
def report(
    folder: str | Path,
    *,
    out: Path | None = None,
    as_json: bool = False,
    say: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
) -> int:
    """``pullchain report``: print the paired table (or JSON) and draw the figures."""
    folder = Path(folder)
    manifest = store.read_manifest(folder)
    spec = manifest["spec"]
    parameters = list(spec["parameters"])
    regimes = list(spec["regimes"])
    if len(regimes) < 2:
        raise ConfigError("regimes", regimes, "two regimes or more, to pair (the sweep had one)")
    if out is not None and not out.resolve().parent.is_dir():
        raise ConfigError("--out", str(out), "a folder inside an existing one")
    if out is not None and out.exists() and not out.is_dir():
        raise ConfigError("--out", str(out), "a folder for the figures (this is a file)")
    damaged: list[store.Damaged] = []
    results = store.read_results(folder, damaged)
    for item in damaged:  # a damaged folder is still reported, without those chunks
        say(f"note: left out {item} (resuming the sweep quarantines it and runs it again)")
    if results.empty:
        raise ConfigError("sweep folder", str(folder), "a sweep with finished runs (none yet)")
    absent = [p for p in ["cell", "replication", *parameters] if p not in results.columns]
    if absent:
        raise ConfigError(
            "sweep folder", str(folder), f"results with a column for {', '.join(absent)}"
        )
    table = paired_table(results, parameters, regimes)
    failed = int((results["status"] != "ok").sum())
    missing = int(manifest.get("runs") or len(results)) - len(results)
    figures = save_figures(results, table, parameters, regimes, out) if out is not None else []
    name = Path(manifest.get("sweep_file") or "sweep").stem
    if as_json:
        cells = []
        for (cell, regime), block in table.groupby(["cell", "regime"], sort=False):
            first = block.iloc[0]
            cells.append({
                "cell": int(cell),
                "params": {p: _jsonable(first[p]) for p in parameters},
                "regime": regime,
                "baseline": first["baseline"],
                "metrics": {
                    r.metric: {k: r[k] for k in ("n", "baseline_mean", "regime_mean", "change",
                                                 "ci_low", "ci_high", "change_pct")}
                    for _, r in block.iterrows()
                },
            })  # fmt: skip
        data = {
            "sweep": name,
            "baseline": regimes[0],
            "regimes": regimes,
            "parameters": parameters,
            "runs": len(results),
            "failed": failed,
            "missing": missing,
            "cells": cells,
            "figures": [str(p) for p in figures],
        }
        print(json.dumps(_clean(data), indent=2))
    else:
        header = (f"{name}: {', '.join(regimes[1:])} against {regimes[0]}, "
                  f"{results['cell'].nunique()} cells, {len(results)} runs"
                  + (f", {failed} failed" if failed else "")
                  + (f", {missing} not run yet" if missing > 0 else ""))  # fmt: skip
        print_table(table, parameters, header)
        for path in figures:
            say(f"wrote {path}")
    return 0
