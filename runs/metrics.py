"""Metrics, defined once. Every figure pullchain reports comes from these functions.

All of them read the recorder's arrays and leave out the first ``warm_up``
periods, so start-up transients do not count. Definitions (docs/model.md):

- bullwhip of a tier: Var(sum of the orders the tier's firms place) / Var(consumer demand).
- bullwhip of a firm: Var(orders it places) / Var(orders it receives).
- fill rate: units served from stock in the period they were asked for / units asked for.
- holding, backlog, lost-sale cost: per unit per period, summed over firms and periods.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .recorder import Recorder


def variance_ratio(numerator: np.ndarray, denominator: np.ndarray) -> float:
    """Var(numerator) / Var(denominator), NaN when the denominator does not vary."""
    den = float(np.var(denominator))
    if den <= 1e-12 * max(1.0, float(np.mean(np.abs(denominator))) ** 2):
        return float("nan")
    return float(np.var(numerator)) / den


def tier_orders(rec: Recorder, tiers: dict, warm_up: int = 0) -> dict[int, np.ndarray]:
    """Per tier (1 = retailers), the total orders its firms place each period."""
    ordered = rec.firms.series("ordered")[warm_up:]
    out: dict[int, np.ndarray] = {}
    for j, firm in enumerate(rec.firms.agents):
        tier = tiers[firm.node]
        out[tier] = out.get(tier, 0.0) + ordered[:, j]
    return dict(sorted(out.items()))


def bullwhip_by_tier(rec: Recorder, tiers: dict, warm_up: int = 0) -> dict[int, float]:
    """Var(tier's orders) / Var(consumer demand), per tier."""
    demand = rec.demand_series()[warm_up:]
    return {t: variance_ratio(q, demand) for t, q in tier_orders(rec, tiers, warm_up).items()}


def bullwhip_by_firm(rec: Recorder, warm_up: int = 0) -> dict:
    """Var(orders placed) / Var(orders received), per firm node."""
    ordered = rec.firms.series("ordered")[warm_up:]
    received = rec.firms.series("demand")[warm_up:]
    return {
        f.node: variance_ratio(ordered[:, j], received[:, j])
        for j, f in enumerate(rec.firms.agents)
    }


def fill_rate(rec: Recorder, warm_up: int = 0, kinds: tuple[str, ...] = ("retailer",)) -> float:
    """Units served at once over units asked for, for firms of ``kinds`` (consumers' view)."""
    cols = [j for j, f in enumerate(rec.firms.agents) if f.kind in kinds]
    asked = rec.firms.series("demand")[warm_up:, cols].sum()
    if asked <= 0:
        return float("nan")
    return float(rec.firms.series("filled")[warm_up:, cols].sum() / asked)


def summary(model, warm_up: int | None = None) -> dict[str, float]:
    """The headline figures of one run, after the warm-up, as a flat dict of floats."""
    rec = model.recorder
    w = model.warm_up if warm_up is None else warm_up
    w = min(w, max(rec.rows - 2, 0))
    firms = rec.firms.agents
    on_hand = rec.firms.series("on_hand")[w:]
    backlog = rec.firms.series("backlog")[w:]
    lost = rec.firms.series("lost_sales")[w:]
    holding = sum(float(on_hand[:, j].sum()) * f.holding_cost for j, f in enumerate(firms))
    backlog_cost = sum(float(backlog[:, j].sum()) * f.backlog_cost for j, f in enumerate(firms))
    lost_cost = sum(
        float(lost[:, j].sum()) * getattr(f, "lost_sale_cost", 0.0) for j, f in enumerate(firms)
    )
    out: dict[str, float] = {
        "periods": float(rec.rows - w),
        "demand_mean": float(rec.demand_series()[w:].mean()) if rec.rows > w else float("nan"),
        "fill_rate": fill_rate(rec, w),
        "on_hand_mean": float(on_hand.sum(axis=1).mean()) if len(on_hand) else 0.0,
        "backlog_mean": float(backlog.sum(axis=1).mean()) if len(backlog) else 0.0,
        "lost_sales": float(lost.sum()),
        "holding_cost": holding,
        "backlog_cost": backlog_cost,
        "lost_sale_cost": lost_cost,
        "total_cost": holding + backlog_cost + lost_cost,
    }
    by_tier = bullwhip_by_tier(rec, model.topology.tiers, w)
    for tier, ratio in by_tier.items():
        out[f"bullwhip_tier{tier}"] = ratio
    out["bullwhip_top"] = by_tier[max(by_tier)] if by_tier else float("nan")
    return out
