"""Figures a person would rather look at than read.

The comparison figure puts the bullwhip in plain sight: orders placed by each
tier against consumer demand under each regime (one replication, the same
demand in both), stock per tier, and the cost of each regime with its spread.
The frontier figure puts the value of information in plain sight: the fill rate each
regime buys with its stock, and the horizontal distance between the two curves.
Tiers are named and coloured as in the browser app (``app_style.role_names``,
``runs.palette``), and the warm-up, fads and outages are shaded as there.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # files only: no display needed, none assumed
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from . import metrics
from .app_charts import bands
from .app_style import role_names, tier_colors
from .palette import BAND_COLORS, DEMAND_COLOR, PART_COLORS, regime_color

if TYPE_CHECKING:
    from .compare import Comparison
    from .frontier import Frontier
    from .model import SupplyChainModel

PANEL_TITLES = (
    "Orders placed per tier: {regime}",
    "Orders placed per tier: {regime}",
    "Stock on hand per tier",
    "Cost per run (mean and 95% CI of pairs)",
)


def shade(ax, model: SupplyChainModel) -> None:
    """The warm-up, each fad's season and each outage, shaded as in the app."""
    labelled = set()
    for band in bands(model):
        kind = band["band"]
        ax.axvspan(band["start"], band["end"], color=BAND_COLORS[kind], zorder=0,
                   label=None if kind in labelled else kind)  # fmt: skip
        labelled.add(kind)


def _orders_panel(ax, model: SupplyChainModel, regime: str) -> None:
    rec = model.recorder
    steps = np.arange(1, rec.rows + 1)
    ax.plot(steps, rec.demand_series(), color=DEMAND_COLOR, lw=2, label="consumer demand")
    names, colors = role_names(model), tier_colors(model)
    for tier, orders in metrics.tier_orders(rec, model.topology.tiers).items():
        ax.plot(steps, orders, lw=1.2, color=colors[tier], label=names[tier])
    shade(ax, model)
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
        names, colors = role_names(model), tier_colors(model)
        for tier in names:
            cols = [j for j, f in enumerate(model.firms) if model.topology.tiers[f.node] == tier]
            ax.plot(
                steps, on_hand[:, cols].sum(axis=1), style, color=colors[tier],
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
        ax.bar(x, means, bottom=bottom, color=PART_COLORS[color % len(PART_COLORS)],
               label=part.replace("_", " "))  # fmt: skip
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
    service = ""
    if comparison.tunings:
        factors = ", ".join(f"{r} {t.safety_factor:.2f}" for r, t in comparison.tunings.items())
        service = (
            f"\nat equal service: each regime's safety factor z tuned to a consumer fill rate "
            f"of {comparison.service:.1%} ({factors})"
        )
    fig.suptitle(
        f"pullchain compare: {comparison.scenario.name}, {len(comparison.seeds)} paired "
        f"replications (orders and stock: replication 1, seed {comparison.seeds[0]})" + service
    )
    return fig


def save_comparison_figure(comparison: Comparison, path: str | Path) -> Path:
    """Draw the comparison figure and write it (format from the suffix, e.g. .png)."""
    path = Path(path)
    fig = comparison_figure(comparison)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# -- the inventory-service frontier -------------------------------------------------------------
LABELLED_FACTORS = (0.0, 1.0, 2.0, 3.0)
FILL_TICKS = (0.5, 0.75, 0.9, 0.98, 0.99, 0.999, 0.9999)


def _fill_axis(axis, points) -> None:
    """A fill-rate axis on the logit scale, where 98 % and 99.9 % are as far apart as 75 %
    and 95 %: the high-service end, where the regimes differ most in stock, is readable."""
    low = float(np.nanmin(points.fill_rate - points.fill_rate_ci))
    high = float(np.nanmax(points.fill_rate + points.fill_rate_ci))
    low, high = max(min(low, 0.9) - 0.02, 0.01), min(1 - (1 - high) / 2, 0.99999)
    ticks = [t for t in FILL_TICKS if low <= t <= high]
    axis.set_ticks(ticks, [f"{100 * t:.2f}".rstrip("0").rstrip(".") + "%" for t in ticks])
    axis.set_minor_locator(matplotlib.ticker.NullLocator())


def _frontier_regimes(frontier: Frontier):
    table = frontier.table()
    for i, regime in enumerate(frontier.regimes):
        points = table[table.regime == regime].sort_values("safety_factor")
        yield i, regime, points, regime_color(regime, i)


def _label_factors(ax, points, x, y, color: str, above: bool) -> None:
    for z, xi, yi in zip(points.safety_factor, x, y, strict=True):
        if any(math.isclose(z, label) for label in LABELLED_FACTORS):
            ax.annotate(
                f"z={z:g}", (xi, yi), textcoords="offset points", color=color, fontsize=7,
                xytext=(-5, 5) if above else (5, -9), ha="right" if above else "left",
            )  # fmt: skip


def _curve(ax, points, x: str, y: str, color: str, label: str) -> tuple[np.ndarray, np.ndarray]:
    """One regime's frontier: points joined, the 95 % band of ``y`` shaded, whiskers on ``x``."""
    xs, ys, band = points[x].to_numpy(), points[y].to_numpy(), points[f"{y}_ci"].to_numpy()
    ax.fill_between(xs, ys - band, ys + band, color=color, alpha=0.18, lw=0)
    ax.errorbar(
        xs, ys, xerr=points[f"{x}_ci"], fmt="o-", color=color, ms=3.5, lw=1.8,
        elinewidth=0.8, capsize=0, label=label,
    )  # fmt: skip
    return xs, ys


def _stock_panel_frontier(ax, frontier: Frontier, target: float | None) -> None:
    """(a) The exchange curve: fill rate (logit) against mean stock on hand."""
    for i, regime, points, color in _frontier_regimes(frontier):
        x, y = _curve(ax, points, "on_hand_mean", "fill_rate", color, regime)
        _label_factors(ax, points, x, y, color, above=i > 0)
    ax.set_yscale("logit")
    _fill_axis(ax.yaxis, frontier.table())
    if target is not None and len(frontier.regimes) >= 2:
        base, other = frontier.regimes[:2]
        xa, xb = frontier.at_fill(base, target), frontier.at_fill(other, target)
        ax.axhline(target, color="0.45", lw=0.8, ls="--", zorder=0)
        if not (math.isnan(xa) or math.isnan(xb)):
            ax.annotate(
                "", xy=(xb, target), xytext=(xa, target),
                arrowprops={"arrowstyle": "->", "color": "black", "lw": 1.4},
            )  # fmt: skip
            ax.annotate(
                f"{xb - xa:+,.0f} units ({100 * (xb - xa) / xa:+.0f}%)\n"
                f"for a fill rate of {target:.1%}",
                ((xa + xb) / 2, target), textcoords="offset points", xytext=(0, -8),
                ha="center", va="top", fontsize=8,
            )  # fmt: skip
    ax.set_xlabel("mean stock on hand in the chain (units)")
    ax.set_ylabel("consumer fill rate (served from the shelf at once)")
    ax.set_title("(a) the service each regime buys with its stock", fontsize=9, loc="left")


def _cost_panel_frontier(ax, frontier: Frontier, target: float | None) -> None:
    """(b) The cost of service: mean cost per period against the fill rate (logit)."""
    for _, regime, points, color in _frontier_regimes(frontier):
        x, y = _curve(ax, points, "fill_rate", "cost_per_period", color, regime)
        best = int(np.argmin(y))
        ax.plot(x[best], y[best], marker="*", ms=13, color=color, mec="black", mew=0.6)
    ax.plot([], [], ls="", marker="*", ms=10, color="0.6", mec="black", mew=0.6,
            label="lowest cost")  # fmt: skip
    ax.set_xscale("logit")
    _fill_axis(ax.xaxis, frontier.table())
    if target is not None and len(frontier.regimes) >= 2:
        base, other = frontier.regimes[:2]
        ya = frontier.at_fill(base, target, "cost_per_period")
        yb = frontier.at_fill(other, target, "cost_per_period")
        ax.axvline(target, color="0.45", lw=0.8, ls="--", zorder=0)
        if not (math.isnan(ya) or math.isnan(yb)):
            ax.annotate(
                "", xy=(target, yb), xytext=(target, ya),
                arrowprops={"arrowstyle": "->", "color": "black", "lw": 1.4},
            )  # fmt: skip
            ax.annotate(
                f"{yb - ya:+,.0f} a period\n({100 * (yb - ya) / ya:+.0f}%)",
                (target, (ya + yb) / 2), textcoords="offset points", xytext=(6, 0),
                ha="left", va="center", fontsize=8,
            )  # fmt: skip
    ax.set_xlabel("consumer fill rate (served from the shelf at once)")
    ax.set_ylabel("mean cost of the chain per period (money)")
    ax.set_title("(b) what each level of service costs", fontsize=9, loc="left")


def frontier_figure(frontier: Frontier, target: float | None = None) -> Figure:
    """The inventory-service frontier of each regime, with 95 % bands, in two panels:
    (a) fill rate against mean stock, where the horizontal distance between the curves at
    ``target`` (the scenario's ``service`` by default) is the stock sharing information
    saves at equal service; (b) cost per period against fill rate, with each curve's
    lowest cost starred. Each point is one chain-wide safety factor z; bands are the 95 %
    confidence interval of the mean on the vertical axis, whiskers on the horizontal one.
    """
    target = frontier.scenario.service if target is None else target
    fig, (left, right) = plt.subplots(1, 2, figsize=(12.5, 5.6), constrained_layout=True)
    _stock_panel_frontier(left, frontier, target)
    _cost_panel_frontier(right, frontier, target)
    for ax in (left, right):
        ax.grid(color="0.92", lw=0.6)
        ax.set_axisbelow(True)
    left.legend(title="information regime", fontsize=8, title_fontsize=8, loc="lower right")
    right.legend(fontsize=8, loc="upper right")
    low, high = frontier.factors[0], frontier.factors[-1]
    fig.suptitle(
        f"Inventory-service frontier: {frontier.scenario.name}, {len(frontier.seeds)} paired "
        f"replications (the same consumer demand under both regimes); each point one "
        f"safety factor z ({low:g} to {high:g}) at every firm\nbands and whiskers: 95% "
        "confidence intervals of the means over the replications",
        fontsize=10,
    )
    return fig


def save_frontier_figure(frontier: Frontier, path: str | Path, target: float | None = None):
    """Draw the frontier figure and write it (format from the suffix, e.g. .png)."""
    path = Path(path)
    fig = frontier_figure(frontier, target)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path
