"""The sweep explorer's views of one sweep: what it varied, its metrics by parameter,
the paired regime differences with their 95 % intervals, and one run's time series.

No Solara and no file access here (``app_explorer`` opens the folder, never outside
the results folder): everything takes the results table (``store.read_results``)
and, where there is one, the sweep's manifest.

Two rules keep a chart honest:

- only what the sweep varied is offered as a filter, an axis, a colour or a facet
  (a column that holds one value is a constant, not a parameter);
- the regimes are never pooled: a chart coloured by something else is split into
  one panel per regime.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .app_explorer import IGNORED, split_columns
from .app_style import fit, metric_label, role_names, tier_colors, vega_spec
from .compare import paired_interval
from .palette import DEMAND_COLOR, PART_COLORS, TIER_COLORS, regime_color

REGIME = "regime"


@dataclass(frozen=True)
class SweepInfo:
    """What a sweep varied and measured."""

    parameters: tuple[str, ...]
    """The varied parameters (more than one value each), in the sweep file's order."""
    regimes: tuple[str, ...]
    """The regimes, the baseline of the paired differences first."""
    metrics: tuple[str, ...]

    @property
    def choices(self) -> tuple[str, ...]:
        """What a chart may be split by: the varied parameters, and the regime if several."""
        return (*self.parameters, *((REGIME,) if len(self.regimes) > 1 else ()))


def sweep_info(frame: pd.DataFrame, manifest: Mapping[str, Any] | None = None) -> SweepInfo:
    """The sweep's varied parameters, regimes and metrics: the parameters from its
    manifest when it has one (``store.read_manifest``), else from the table's
    ``params`` column, else guessed from the columns (``split_columns``); the metrics
    are the other numeric columns that differ between runs."""
    guessed, _ = split_columns(frame)
    spec = (manifest or {}).get("spec") or {}
    named = list(spec.get("parameters") or _params_column(frame) or guessed)
    parameters = tuple(
        p for p in named if p != REGIME and p in frame and frame[p].nunique(dropna=True) > 1
    )
    order = list(spec.get("regimes") or [])
    present = list(dict.fromkeys(frame[REGIME].dropna())) if REGIME in frame else []
    regimes = tuple([r for r in order if r in present] + [r for r in present if r not in order])
    metrics = tuple(
        str(c)
        for c in frame.columns
        if c not in IGNORED
        and c not in named
        and c != REGIME
        and pd.api.types.is_numeric_dtype(frame[c])
        and not pd.api.types.is_bool_dtype(frame[c])
        and frame[c].nunique(dropna=True) > 1  # the same in every run: nothing to plot
    )
    return SweepInfo(parameters, regimes, metrics)


def _params_column(frame: pd.DataFrame) -> list[str]:
    """The parameter names a results table records in its ``params`` column (JSON)."""
    if "params" not in frame or not len(frame):
        return []
    try:
        return list(json.loads(frame["params"].iloc[0]))
    except (TypeError, ValueError):
        return []


def metric_choices(info: SweepInfo) -> dict[str, str]:
    """Plain label -> metric column, for the metric menu."""
    return {metric_label(m): m for m in info.metrics}


def _f(name: str) -> str:
    """A column name as a Vega-Lite field (a dot would mean a nested field)."""
    return name.replace(".", "\\.")


def _kind(series: pd.Series) -> str:
    """A parameter's axis: evenly spaced values (a sweep has few), a scale only for many."""
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return "quantitative" if series.nunique() > 12 else "ordinal"
    return "nominal"


def _records(frame: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    data = frame[columns].copy()
    for c in columns:
        if pd.api.types.is_bool_dtype(data[c]) or not pd.api.types.is_numeric_dtype(data[c]):
            data[c] = data[c].astype(str)
    return data.astype(object).where(data.notna(), None).to_dict("records")


def _color(field: str, info: SweepInfo) -> dict[str, Any]:
    enc: dict[str, Any] = {"field": _f(field), "type": "nominal", "title": field}
    # a parameter's values: a scheme with neither the regimes' red nor their blue
    enc["scale"] = {"scheme": "dark2"}
    if field == REGIME:
        enc["scale"] = {
            "domain": list(info.regimes),
            "range": [regime_color(r, i) for i, r in enumerate(info.regimes)],
        }
    return enc


def _in_panels(
    frame: pd.DataFrame,
    title: Any,
    records: list[dict[str, Any]],
    inner: dict[str, Any],
    columns: str | None,
    rows: str | None = None,
) -> dict[str, Any]:
    """The chart ``inner`` (width, height, layers) alone, or in panels: one column per
    value of ``columns``, one row per value of ``rows``; sized to the page."""
    data = {"values": records}
    facet = {
        key: {"field": _f(field), "type": "nominal", "title": field,
              "header": {"labelFontSize": 13}}
        for key, field in (("column", columns), ("row", rows))
        if field
    }  # fmt: skip
    if not facet:
        return vega_spec(title=title, data=data, **inner, usermeta=fit(1, 130))
    n = int(frame[columns].nunique()) if columns else 1
    return vega_spec(title=title, data=data, facet=facet, spec=inner, usermeta=fit(n, 140))


def values_spec(
    frame: pd.DataFrame,
    info: SweepInfo,
    metric: str,
    x: str,
    color: str | None,
    facet: str | None = None,
) -> dict[str, Any]:
    """The mean of ``metric`` against ``x``, one line per ``color`` value, the runs as
    points. Coloured by anything but the regime, it is split into one panel per regime
    (never both regimes averaged into one line); ``facet`` adds panels per value."""
    split = REGIME if REGIME in info.choices and color != REGIME and x != REGIME else None
    columns, rows = (split, facet) if split else (facet, None)
    used = [c for c in dict.fromkeys([x, metric, color, columns, rows]) if c]
    label = metric_label(metric)
    x_enc = {"field": _f(x), "type": _kind(frame[x]), "title": x, "axis": {"labelAngle": 0}}
    color_enc = _color(color, info) if color else None
    line = {
        "mark": {"type": "line", "point": True, "strokeWidth": 2},
        "encoding": {
            "x": x_enc,
            "y": {"field": _f(metric), "type": "quantitative", "aggregate": "mean", "title": label},
            **({"color": color_enc} if color_enc else {}),
        },
    }
    points = {
        "mark": {"type": "point", "opacity": 0.35},
        "encoding": {
            "x": x_enc,
            "y": {"field": _f(metric), "type": "quantitative", "title": label},
            **({"color": color_enc} if color_enc else {}),
            "tooltip": [{"field": _f(c), "title": c} for c in used],
        },
    }
    inner = {"width": 420, "height": 240, "layer": [line, points]}
    title = f"{label}: mean by {x}" + (f" and {color}" if color else "")
    return _in_panels(frame, title, _records(frame, used), inner, columns, rows)


def paired_differences(
    frame: pd.DataFrame, info: SweepInfo, metric: str, by: list[str]
) -> pd.DataFrame:
    """Per value of the ``by`` parameters and per regime after the baseline: the mean
    paired difference regime - baseline of ``metric`` and its 95 % interval
    (``compare.paired_interval``: Student's t over the pairs).

    A pair is the baseline run and the regime's run of one cell (one combination of
    the varied parameters) and one replication: they faced the same demand. Cells that
    differ only in parameters not in ``by`` are pooled, as ``report.marginal`` does.
    """
    by = [b for b in dict.fromkeys(by) if b and b != REGIME]
    ok = frame[frame["status"] == "ok"] if "status" in frame else frame
    cell = ["cell"] if "cell" in ok else list(info.parameters)
    keys = [*cell, "replication"] if "replication" in ok else cell
    columns = [*dict.fromkeys([*keys, *by]), REGIME, metric]
    base = ok[ok[REGIME] == info.regimes[0]][columns]
    out = []
    for regime in info.regimes[1:]:
        other = ok[ok[REGIME] == regime][[*keys, metric]]
        pairs = base.merge(other, on=keys, suffixes=("_base", ""))
        pairs["difference"] = pairs[metric] - pairs[f"{metric}_base"]
        pairs = pairs[np.isfinite(pairs["difference"].astype(float))]
        groups = pairs.groupby(by, sort=True, dropna=False) if by else [((), pairs)]
        for values, group in groups:
            mean, half = paired_interval(group["difference"].to_numpy(float))
            values = values if isinstance(values, tuple) else (values,)
            baseline = float(group[f"{metric}_base"].mean())
            out.append(
                {
                    **dict(zip(by, values, strict=True)),
                    REGIME: regime,
                    "difference": mean,
                    "low": mean - half,
                    "high": mean + half,
                    "pairs": len(group),
                    "percent": 100 * mean / baseline if baseline else math.nan,
                }
            )
    return pd.DataFrame(out)


def paired_spec(
    frame: pd.DataFrame,
    info: SweepInfo,
    metric: str,
    x: str,
    color: str | None,
    facet: str | None = None,
) -> dict[str, Any]:
    """The paired difference (regime - baseline) of ``metric`` against ``x``, with its
    95 % interval as an error bar, one line per ``color`` value (or per regime when
    more than two), panels per ``facet`` value; a line at zero."""
    if len(info.regimes) < 2:
        raise ValueError("a paired difference needs two regimes")
    color = color if color and color != x else (REGIME if len(info.regimes) > 2 else None)
    table = paired_differences(frame, info, metric, [x, color or "", facet or ""])
    label = metric_label(metric)
    baseline = info.regimes[0]
    used = [c for c in dict.fromkeys([x, color, facet, REGIME]) if c]
    records = _records(table, [*used, "difference", "low", "high", "pairs", "percent"])
    x_enc = {
        "field": _f(x),
        "type": _kind(table[x]) if len(table) else "nominal",
        "title": x,
        "axis": {"labelAngle": 0},
    }
    color_enc = _color(color, info) if color else {"value": regime_color(info.regimes[1], 1)}
    y_title = f"difference against {baseline}"
    tooltip = [
        *({"field": _f(c), "title": c} for c in used),
        {"field": "difference", "format": ",.3~g"},
        {"field": "low", "title": "95% from", "format": ",.3~g"},
        {"field": "high", "title": "95% to", "format": ",.3~g"},
        {"field": "percent", "title": "% of baseline", "format": "+.1f"},
        {"field": "pairs", "title": "paired runs"},
    ]
    layers = [
        {"mark": {"type": "rule", "color": "#555", "strokeDash": [4, 3]},
         "encoding": {"y": {"datum": 0}}},
        {"mark": {"type": "rule", "strokeWidth": 1.5},
         "encoding": {"x": x_enc, "y": {"field": "low", "type": "quantitative", "title": y_title},
                      "y2": {"field": "high"}, "color": color_enc}},
        *({"mark": {"type": "tick", "size": 14, "thickness": 1.5},
           "encoding": {"x": x_enc, "y": {"field": end, "type": "quantitative"},
                        "color": color_enc}} for end in ("low", "high")),
        {"mark": {"type": "line", "point": {"size": 60}, "strokeWidth": 2},
         "encoding": {"x": x_enc, "y": {"field": "difference", "type": "quantitative"},
                      "color": color_enc, "tooltip": tooltip}},
    ]  # fmt: skip
    inner = {"width": 420, "height": 240, "layer": layers}
    pooled = [p for p in info.parameters if p not in used]
    title = {
        "text": f"{label}: paired difference against {baseline}, by {x}",
        "subtitle": "each point: the mean over pairs of runs with the same demand, "
        "with its 95% interval" + (f"; pooled over {', '.join(pooled)}" if pooled else ""),
    }
    return _in_panels(frame, title, records, inner, facet)


# -- one run's time series ------------------------------------------------------------------
def run_labels(frame: pd.DataFrame, info: SweepInfo, limit: int = 200) -> dict[str, str]:
    """Readable label -> run_key for up to ``limit`` runs of ``frame`` (the filtered runs)."""
    out: dict[str, str] = {}
    for row in frame.head(limit).to_dict("records"):
        values = ", ".join(f"{p} = {row[p]}" for p in info.parameters)
        rep = f"replication {row['replication']}" if "replication" in row else ""
        label = ", ".join(x for x in (str(row.get(REGIME, "")), values, rep) if x)
        out[label] = row["run_key"]
    return out


def sweep_tiers(manifest: Mapping[str, Any] | None) -> tuple[dict[int, str], dict[int, str]]:
    """(role names, colours) of the tiers of the sweep's base scenario, as the rest of
    the app names and colours them; empty where the manifest does not say (a network
    read from a file, plug-ins to import: nothing is read or run for a picture)."""
    spec = (manifest or {}).get("spec") or {}
    text = spec.get("scenario")
    if not isinstance(text, str) or spec.get("imports"):
        return {}, {}
    try:
        from pullchain.network.topology import Topology

        from .scenarios import Scenario

        scenario = Scenario.from_toml(text)
        if scenario.data["network"].get("builder") == "file":
            return {}, {}
        topology = Topology(scenario.network())
        return role_names(topology), tier_colors(topology)
    except Exception:  # a scenario this version cannot build: plain tier numbers
        return {}, {}


def timeseries_spec(
    series: pd.DataFrame,
    title: str,
    roles: Mapping[int, str] | None = None,
    colors: Mapping[int, str] | None = None,
) -> dict[str, Any]:
    """One run's recorded chain totals: orders per tier against consumer demand, and
    stock and backlog, side by side (``roles``, ``colors``: ``sweep_tiers``)."""
    tiers = sorted(
        int(c.removeprefix("orders_tier")) for c in series if c.startswith("orders_tier")
    )
    names = {t: (roles or {}).get(t, f"tier {t}") for t in tiers}
    colors = {t: (colors or {}).get(t, TIER_COLORS[(t - 1) % len(TIER_COLORS)]) for t in tiers}
    rows: list[dict[str, Any]] = []
    for panel, columns in (
        ("orders against consumer demand", [("demand", "consumer demand")]
         + [(f"orders_tier{t}", f"orders of the {names[t]}") for t in tiers]),
        ("stock and backlog (chain totals)", [("on_hand", "stock on hand"),
                                              ("backlog", "backlog")]),
    ):  # fmt: skip
        for column, name in columns:
            if column in series:
                rows += [
                    {"panel": panel, "period": int(p), "series": name, "value": v}
                    for p, v in zip(series["step"], series[column].astype(float), strict=True)
                    if math.isfinite(v)
                ]
    domain = ["consumer demand", *(f"orders of the {names[t]}" for t in tiers)]
    domain += ["stock on hand", "backlog"]
    palette = [DEMAND_COLOR, *(colors[t] for t in tiers), PART_COLORS[0], PART_COLORS[3]]
    return vega_spec(
        title=title,
        data={"values": rows},
        facet={"column": {"field": "panel", "type": "nominal", "title": None,
                          "sort": ["orders against consumer demand",
                                   "stock and backlog (chain totals)"]}},
        spec={
            "width": 400,
            "height": 220,
            "mark": {"type": "line", "strokeWidth": 1.8},
            "encoding": {
                "x": {"field": "period", "type": "quantitative"},
                "y": {"field": "value", "type": "quantitative", "title": "units"},
                "color": {"field": "series", "type": "nominal", "title": None,
                          "scale": {"domain": domain, "range": palette},
                          "legend": {"orient": "bottom", "columns": 3}},
                "tooltip": [{"field": "series"}, {"field": "period"},
                            {"field": "value", "format": ",.1f"}],
            },
        },
        resolve={"scale": {"y": "independent"}},
        usermeta=fit(2, 130),
    )  # fmt: skip
