"""Figures a person would rather look at than read.

The comparison figure puts the bullwhip in plain sight: orders placed by each
tier against consumer demand under each regime (one replication, the same
demand in both), stock per tier, and the cost of each regime with its spread.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # files only: no display needed, none assumed
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from . import metrics

if TYPE_CHECKING:
    from .compare import Comparison
    from .model import SupplyChainModel

PANEL_TITLES = (
    "Orders placed per tier: {regime}",
    "Orders placed per tier: {regime}",
    "Stock on hand per tier",
    "Cost per run (mean and 95% CI of pairs)",
)


def tier_names(model: SupplyChainModel) -> dict[int, str]:
    """A readable name for each tier: the kinds of firm in it."""
    kinds: dict[int, set[str]] = {}
    for firm in model.firms:
        kinds.setdefault(model.topology.tiers[firm.node], set()).add(firm.kind)
    return {t: f"tier {t} ({'/'.join(sorted(k))})" for t, k in sorted(kinds.items())}


def _orders_panel(ax, model: SupplyChainModel, regime: str) -> None:
    rec = model.recorder
    steps = np.arange(1, rec.rows + 1)
    ax.plot(steps, rec.demand_series(), color="black", lw=2, label="consumer demand")
    names = tier_names(model)
    for tier, orders in metrics.tier_orders(rec, model.topology.tiers).items():
        ax.plot(steps, orders, lw=1.2, label=names[tier])
    ax.axvspan(0, model.warm_up, color="0.9", label="warm-up")
    ax.set_title(PANEL_TITLES[0].format(regime=regime))
    ax.set_xlabel("period")
    ax.set_ylabel("units per period")
    ax.legend(fontsize=7, loc="upper left")


def _stock_panel(ax, models: dict[str, SupplyChainModel]) -> None:
    styles = ["-", "--", ":"]
    for style, (regime, model) in zip(styles, models.items(), strict=False):
        rec = model.recorder
        steps = np.arange(1, rec.rows + 1)
        on_hand = rec.firms.series("on_hand")
        names = tier_names(model)
        for color, tier in enumerate(names):
            cols = [j for j, f in enumerate(model.firms) if model.topology.tiers[f.node] == tier]
            ax.plot(
                steps, on_hand[:, cols].sum(axis=1), style, color=f"C{color + 1}",
                label=f"{names[tier]}, {regime}",
            )  # fmt: skip
    ax.set_title(PANEL_TITLES[2])
    ax.set_xlabel("period")
    ax.set_ylabel("units on hand")
    ax.legend(fontsize=6, loc="upper left", ncol=2)


def _cost_panel(ax, comparison: Comparison) -> None:
    parts = [
        "holding_cost", "in_transit_cost", "backlog_cost", "lost_sale_cost", "order_cost",
        "capital_cost", "writeoff_cost",
    ]  # fmt: skip
    parts = [p for p in parts if p in comparison.runs and comparison.runs[p].any()]
    runs = comparison.runs
    x = np.arange(len(comparison.regimes))
    bottom = np.zeros(len(x))
    for color, part in enumerate(parts):
        means = np.array([runs.loc[runs.regime == r, part].mean() for r in comparison.regimes])
        ax.bar(x, means, bottom=bottom, color=f"C{color}", label=part.replace("_", " "))
        bottom += means
    table = comparison.table()
    base = table.loc["total_cost", comparison.regimes[0]]
    change = table.loc["total_cost"]
    spread = [[change.change - change.ci_low], [change.ci_high - change.change]]
    ax.errorbar(
        x[1], bottom[1], yerr=spread, color="black", capsize=6,
        label="95% CI of the paired change",
    )  # fmt: skip
    ax.set_xticks(x, comparison.regimes)
    ax.set_title(PANEL_TITLES[3])
    ax.set_ylabel("total cost per run")
    pct = 100 * change.change / base if base else float("nan")
    ax.text(x[1], bottom[1], f" {pct:+.1f}%", va="bottom", fontsize=9)
    ax.legend(fontsize=7)


def comparison_figure(comparison: Comparison) -> Figure:
    """Four panels: orders vs demand under each regime, stock per tier, cost."""
    fig, axes = plt.subplots(2, 2, figsize=(13, 8.5), constrained_layout=True)
    models = comparison.examples
    for ax, regime in zip(axes[0], comparison.regimes, strict=True):
        _orders_panel(ax, models[regime], regime)
    top = max(ax.get_ylim()[1] for ax in axes[0])
    for ax in axes[0]:
        ax.set_ylim(0, top)  # one scale, so the amplification compares at a glance
    _stock_panel(axes[1, 0], models)
    _cost_panel(axes[1, 1], comparison)
    fig.suptitle(
        f"pullchain compare: {comparison.scenario.name}, {len(comparison.seeds)} paired "
        f"replications (orders and stock: replication 1, seed {comparison.seeds[0]})"
    )
    return fig


def save_comparison_figure(comparison: Comparison, path: str | Path) -> Path:
    """Draw the comparison figure and write it (format from the suffix, e.g. .png)."""
    path = Path(path)
    fig = comparison_figure(comparison)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
