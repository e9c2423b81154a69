"""Downloads of the current run: its data as CSV, its charts as PNG."""

from __future__ import annotations

import io

import pandas as pd

from .app_charts import series
from .app_state import Pair
from .app_style import role_names, tier_colors
from .palette import DEMAND_COLOR, regime_color


# -- downloads ------------------------------------------------------------------------------
def export_csv(pair: Pair) -> bytes:
    """Both chains' per-agent time series, one row per agent per period, with a regime column."""
    frames = []
    for regime, model in pair.models.items():
        frame = model.timeseries()
        frame.insert(0, "regime", regime)
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return table.to_csv(index=False).encode()


def export_png(pair: Pair) -> bytes:
    """The charts of the page as one PNG (matplotlib, so no browser is needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plots import shade

    fig, axes = plt.subplots(3, 2, figsize=(13, 11), constrained_layout=True)
    data = {r: series(m) for r, m in pair.models.items()}
    first = next(iter(pair.models.values()))
    colors = {name: tier_colors(first)[t] for t, name in role_names(first).items()}
    top = 0.0
    for ax, (regime, s) in zip(axes[0], data.items(), strict=True):
        ax.plot(s["period"], s["demand"], color=DEMAND_COLOR, lw=2, label="consumer demand")
        for name, q in s["orders"].items():
            ax.plot(s["period"], q, lw=1.2, color=colors[name], label=name)
        shade(ax, pair.models[regime])
        ax.set_title(f"Orders placed per tier: {regime}")
        ax.set_xlabel("period")
        ax.set_ylabel("units per period")
        ax.legend(fontsize=7, loc="upper left")
        top = max(top, ax.get_ylim()[1])
    for ax in axes[0]:
        ax.set_ylim(0, top)
        ax.set_xlim(0, pair.horizon)
    for ax, key, title in (
        (axes[1, 0], "on_hand", "Stock on hand"),
        (axes[1, 1], "backlog", "Backlog"),
    ):
        for style, (regime, s) in zip(("-", "--"), data.items(), strict=False):
            for name, values in s[key].items():
                ax.plot(s["period"], values, style, color=colors[name], label=f"{name}, {regime}")
        ax.set_title(f"{title} per tier")
        ax.set_xlabel("period")
        ax.legend(fontsize=6, ncol=2)
    for ax, key, title in (
        (axes[2, 0], "cost", "Cost, cumulative (as the page's table counts it)"),
        (axes[2, 1], "fill_rate", "Fill rate to consumers, cumulative (as counted)"),
    ):
        for i, (regime, s) in enumerate(data.items()):
            ax.plot(s["period"], s[key], color=regime_color(regime, i), lw=2, label=regime)
        ax.set_title(title)
        ax.set_xlabel("period")
        ax.legend(fontsize=8)
    fig.suptitle(
        f"pullchain: {pair.scenario.name}, seed {pair.scenario.seed}, period {pair.period}"
    )
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()
