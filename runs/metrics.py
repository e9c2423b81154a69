"""Metrics, defined once. Every figure pullchain reports comes from these functions.

All of them read the recorder's arrays and leave out the first ``warm_up``
periods, so start-up transients do not count. Definitions (docs/model.md):

- bullwhip of a tier: Var(sum of the orders the tier's firms place) / Var(consumer demand).
- bullwhip of a firm: Var(orders it places) / Var(orders it receives).
- stock of a tier: mean units its firms hold on hand.
- fill rate: units served from stock in the period they were asked for / units asked for.
- holding, backlog, lost-sale cost: per unit per period, summed over firms and periods;
  holding on goods in transit, charged to the shipper, where a firm pays it.
- order, capital and write-off cost; revenue and profit (when prices are set).
- total cost: the firms' own recorded period costs, summed (so a cost a subclass adds
  in ``close_period`` counts); the rows above break the built-in part of it down.
- mean wait: periods a unit of consumer demand waits, by Little's law.
- after a disruption: recovery time, unserved demand, bullwhip, each tier's reaction.
"""

from __future__ import annotations

import math
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


def stock_by_tier(rec: Recorder, tiers: dict, warm_up: int = 0) -> dict[int, float]:
    """Per tier (1 = retailers), the mean units its firms hold on hand."""
    on_hand = rec.firms.series("on_hand")[warm_up:]
    out: dict[int, float] = {}
    for j, firm in enumerate(rec.firms.agents):
        tier = tiers[firm.node]
        out[tier] = out.get(tier, 0.0) + (float(on_hand[:, j].mean()) if len(on_hand) else 0.0)
    return dict(sorted(out.items()))


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
    transit = rec.firms.series("in_transit_charged")[w:]
    in_transit_cost = sum(
        (
            float(transit[:, j].sum()) * f.holding_cost
            for j, f in enumerate(firms)
            if getattr(f, "in_transit_holding", False)
        ),
        0.0,  # a float where no firm pays it, as every other metric
    )
    backlog_cost = sum(float(backlog[:, j].sum()) * f.backlog_cost for j, f in enumerate(firms))
    lost_cost = sum(
        float(lost[:, j].sum()) * getattr(f, "lost_sale_cost", 0.0) for j, f in enumerate(firms)
    )
    written = rec.firms.series("written_off")[w:]
    ordered = rec.firms.series("ordered")[w:]
    order_cost = sum(float((ordered[:, j] > 0).sum()) * f.order_cost for j, f in enumerate(firms))
    capital = sum(
        float(on_hand[:, j].sum()) * f.cost_of_capital * f.unit_value for j, f in enumerate(firms)
    )
    writeoff_cost = sum(
        float(written[:, j].sum()) * max(f.unit_value - f.salvage_value, 0.0)
        for j, f in enumerate(firms)
    )
    retail = [j for j, f in enumerate(firms) if f.kind == "retailer"]
    shipped_retail = float(rec.firms.series("shipped")[w:, retail].sum())
    out: dict[str, float] = {
        "periods": float(rec.rows - w),
        "demand_mean": float(rec.demand_series()[w:].mean()) if rec.rows > w else float("nan"),
        "fill_rate": fill_rate(rec, w),
        "on_hand_mean": float(on_hand.sum(axis=1).mean()) if len(on_hand) else 0.0,
        "backlog_mean": float(backlog.sum(axis=1).mean()) if len(backlog) else 0.0,
        "lost_sales": float(lost.sum()),
        "holding_cost": holding,
        "in_transit_cost": in_transit_cost,
        "backlog_cost": backlog_cost,
        "lost_sale_cost": lost_cost,
        "order_cost": order_cost,
        "capital_cost": capital,
        "written_off": float(written.sum()),
        "writeoff_cost": writeoff_cost,
        "total_cost": float(rec.firms.series("period_cost")[w:].sum()),
        "mean_wait": float(backlog[:, retail].sum()) / shipped_retail
        if shipped_retail
        else float("nan"),
    }
    if any(f.price or getattr(f, "unit_cost", 0.0) for f in firms):
        out.update(money(model, w, out))
    by_tier = bullwhip_by_tier(rec, model.topology.tiers, w)
    for tier, ratio in by_tier.items():
        out[f"bullwhip_tier{tier}"] = ratio
    out["bullwhip_top"] = by_tier[max(by_tier)] if by_tier else float("nan")
    for tier, stock in stock_by_tier(rec, model.topology.tiers, w).items():
        out[f"on_hand_tier{tier}"] = stock
    start = model.disruptions.first_start()
    if start is not None and start < rec.rows:  # a shock that has struck
        out.update(shock_response(model, start))
    return out


def money(model, warm_up: int, costs: dict[str, float]) -> dict[str, float]:
    """Revenue, purchases, production cost and profit of the whole chain.

    Profit = revenue (sales and salvage) - purchases - production cost - the costs of
    holding, backlog, lost sales, orders and capital. Sales between firms cancel out
    in the chain's total, which is consumer revenue - production cost - those costs.
    The write-off cost is not subtracted again: the goods were paid for when bought.
    """
    rec = model.recorder
    w = warm_up
    revenue = float(rec.firms.series("revenue")[w:].sum())
    purchases = float(rec.firms.series("purchases")[w:].sum())
    made = rec.firms.series("made")[w:]
    production = sum(
        float(made[:, j].sum()) * getattr(f, "unit_cost", 0.0)
        for j, f in enumerate(rec.firms.agents)
    )
    running = costs["total_cost"] - costs["writeoff_cost"]
    return {
        "revenue": revenue,
        "purchases": purchases,
        "production_cost": production,
        "profit": revenue - purchases - production - running,
    }


def firm_profit(model, warm_up: int = 0) -> dict:
    """Each firm's profit after the warm-up (see ``money`` for the definition)."""
    rec = model.recorder
    w = warm_up
    out = {}
    for j, f in enumerate(rec.firms.agents):
        revenue = float(rec.firms.series("revenue")[w:, j].sum())
        purchases = float(rec.firms.series("purchases")[w:, j].sum())
        made = float(rec.firms.series("made")[w:, j].sum()) * getattr(f, "unit_cost", 0.0)
        cost = float(rec.firms.series("period_cost")[w:, j].sum())
        written = float(rec.firms.series("written_off")[w:, j].sum())
        writeoff = written * max(f.unit_value - f.salvage_value, 0.0)
        out[f.node] = revenue - purchases - made - (cost - writeoff)
    return out


def shock_response(model, start: int, settle: int = 5, window: int = 30) -> dict[str, float]:
    """How the chain takes a disruption that begins in period ``start``.

    - recovery_time: periods from the start until the consumers' unserved demand per
      period (asked - served at once), having risen above 2 sd over its pre-shock mean,
      is back within that limit and stays there ``settle`` periods (0 if the shock never
      reaches the consumers within ``window`` periods; NaN if they never recover).
    - unserved_after_shock: units asked for and not served at once, start to recovery.
    - bullwhip_after_shock: the top tier's bullwhip from the start on.
    - felt_tier{k}: periods from the start until tier k's net stock (on hand -
      backlog) leaves its pre-shock range (mean +- 3 sd, at least 5 % of the mean):
      when the shock reaches the tier (NaN if it does not within ``window`` periods).
    - reaction_tier{k}: the same for the orders tier k places: when it acts (NaN if
      its orders stay in their range for ``window`` periods; an order-up-to firm counts
      what its suppliers owe it as coming, so a late delivery alone does not move
      its orders).
    """
    rec = model.recorder
    retail = [j for j, f in enumerate(rec.firms.agents) if f.kind == "retailer"]
    gap = (rec.firms.series("demand")[:, retail] - rec.firms.series("filled")[:, retail]).sum(1)
    before = gap[model.warm_up : start] if start > model.warm_up + 1 else gap[:start]
    limit = (before.mean() + 2 * before.std() if len(before) else 0.0) + 1e-9
    # A shock can take periods to reach the shelves: recovery is looked for only once
    # the unserved demand has risen above its limit (0 if it never does in ``window``).
    hit = np.flatnonzero(gap[start : start + window] > limit)
    recovery = 0.0 if not len(hit) else float("nan")
    for t in range(start + int(hit[0]) if len(hit) else rec.rows, rec.rows - settle + 1):
        if (gap[t : t + settle] <= limit).all():
            recovery = float(t - start)
            break
    end = rec.rows if math.isnan(recovery) else start + int(recovery)
    out = {
        "recovery_time": recovery,
        "unserved_after_shock": float(gap[start:end].sum()),
    }
    demand = rec.demand_series()
    orders = tier_orders(rec, model.topology.tiers)
    top = orders[max(orders)]
    out["bullwhip_after_shock"] = variance_ratio(top[start:], demand[start:])
    net = rec.firms.series("on_hand") - rec.firms.series("backlog")
    tiers = model.topology.tiers
    for tier, series in orders.items():
        cols = [j for j, f in enumerate(rec.firms.agents) if tiers[f.node] == tier]
        stock = net[:, cols].sum(axis=1)
        out[f"felt_tier{tier}"] = _left_range(stock, start, model.warm_up, window)
        out[f"reaction_tier{tier}"] = _left_range(series, start, model.warm_up, window)
    return out


def _left_range(series: np.ndarray, start: int, warm_up: int, window: int) -> float:
    """Periods from ``start`` until ``series`` leaves its pre-``start`` range (NaN: not
    within ``window`` periods)."""
    base = series[warm_up:start] if start > warm_up + 1 else series[:start]
    if not len(base):
        return float("nan")
    band = max(3 * base.std(), 0.05 * abs(base.mean()), 1e-9)
    moved = np.flatnonzero(np.abs(series[start : start + window] - base.mean()) > band)
    return float(moved[0]) if len(moved) else float("nan")
