"""Metrics, defined once. Every figure pullchain reports comes from these functions.

All of them read recorded series and leave out the first ``warm_up`` periods, so
start-up transients do not count. Definitions (docs/model.md):

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

The core, ``summaries``, computes every metric for R replications at once from a
``Record`` (series shaped replications x firms x periods); the agent model's ``summary``
is the case R = 1, the batch engine's the case R > 1, so both engines report through
the same code. Sums over periods are numpy's (pairwise) over a contiguous period axis,
sums over firms add left to right in processing order (``pullchain.network.sums``):
the result of each does not depend on R. The batch engine takes the same sums as it
steps (``Summed``: the reductions ``Record`` makes, already made).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from pullchain.network.sums import running_total

if TYPE_CHECKING:
    from .recorder import Recorder

# The firm series the summary reads.
SERIES = (
    "on_hand", "backlog", "lost_sales", "written_off", "ordered", "shipped", "demand",
    "filled", "revenue", "purchases", "made", "period_cost", "in_transit_charged",
)  # fmt: skip
COSTS = (
    "holding_cost", "backlog_cost", "lost_sale_cost", "order_cost", "cost_of_capital",
    "unit_value", "salvage_value", "price", "unit_cost", "in_transit_holding",
)  # fmt: skip


@dataclass(frozen=True)
class Firms:
    """What the metrics know of the firms, in processing order: kind, tier and prices."""

    nodes: tuple
    kinds: tuple[str, ...]
    tiers: tuple[int, ...]
    costs: Mapping[str, np.ndarray]  # each of COSTS: one value per firm

    @classmethod
    def of(cls, agents: Sequence[Any], tiers: Mapping) -> Firms:
        """From firm agents (or anything with their attributes)."""
        values = np.array([[getattr(f, c, 0.0) for c in COSTS] for f in agents], dtype=float)
        values = values.reshape(len(agents), len(COSTS))
        costs = {c: values[:, k].copy() for k, c in enumerate(COSTS)}
        return cls(
            nodes=tuple(f.node for f in agents),
            kinds=tuple(f.kind for f in agents),
            tiers=tuple(tiers[f.node] for f in agents),
            costs=costs,
        )

    def where(self, kind: str) -> list[int]:
        return [j for j, k in enumerate(self.kinds) if k == kind]

    def by_tier(self) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for j, tier in enumerate(self.tiers):
            out.setdefault(tier, []).append(j)
        return dict(sorted(out.items()))


@dataclass
class Record:
    """Recorded series of R replications of one network.

    Attributes:
        series: firm variable -> (R, firms, periods), periods contiguous.
        demand: total consumer demand per period, (R, periods).
        firms: the firms' kinds, tiers and cost parameters.
        warm_up: periods left out.
        shock_start: per replication, the period the first disruption began (or None).
    """

    series: Mapping[str, np.ndarray]
    demand: np.ndarray
    firms: Firms
    warm_up: int
    shock_start: Sequence[int | None]

    @property
    def periods(self) -> int:
        return self.demand.shape[1]

    # The reductions the summary makes of the series: a batch's record (``Summed``)
    # took the very same ones, bit for bit, as its replications ran.
    def totals(self, warm_up: int) -> dict[str, np.ndarray]:
        """Each firm's sum over the periods after ``warm_up``, per series: (R, firms)."""
        return {v: over_time(x[:, :, warm_up:]) for v, x in self.series.items() if v in SERIES}

    def ordering_periods(self, warm_up: int) -> np.ndarray:
        """Each firm's count of periods after ``warm_up`` it placed an order in: (R, firms)."""
        return over_time((self.series["ordered"][:, :, warm_up:] > 0).astype(float))

    def chain_mean(self, name: str, warm_up: int) -> np.ndarray:
        """The mean over the periods after ``warm_up`` of the firms' total of ``name``
        (added left to right each period): (R,)."""
        return np.mean(over_firms(self.series[name][:, :, warm_up:]), axis=-1)

    def tier_orders(self, warm_up: int) -> dict[int, np.ndarray]:
        """Per tier, the orders its firms place in each period after ``warm_up`` (added
        left to right): (R, periods)."""
        ordered = self.series["ordered"][:, :, warm_up:]
        return {tier: over_firms(ordered, cols) for tier, cols in self.firms.by_tier().items()}

    def replication(self, r: int) -> Record:
        """Replication r alone (R = 1)."""
        return Record(
            series={v: x[r : r + 1] for v, x in self.series.items()},
            demand=self.demand[r : r + 1],
            firms=self.firms,
            warm_up=self.warm_up,
            shock_start=[self.shock_start[r]],
        )

    @classmethod
    def of_recorder(
        cls, rec: Recorder, tiers: Mapping, warm_up: int, shock_start: int | None = None
    ) -> Record:
        """One run's record (R = 1) from an agent model's recorder."""
        names = [v for v in SERIES if v in rec.firms.variables]
        columns = [rec.firms.variables.index(v) for v in names]
        # One copy of every series the summary reads: (1, series, firms, periods).
        stack = np.ascontiguousarray(rec.firms.data[: rec.rows][:, :, columns].transpose(2, 1, 0))
        return _Stacked(
            series={v: stack[None, k] for k, v in enumerate(names)},
            stack=stack[None],
            demand=rec.demand_series()[None].copy(),
            firms=Firms.of(rec.firms.agents, tiers),
            warm_up=warm_up,
            shock_start=[shock_start],
        )


@dataclass
class _Stacked(Record):
    """A record whose series are one stacked array: its totals are one reduction."""

    stack: np.ndarray | None = None  # (R, series, firms, periods)

    def totals(self, warm_up: int) -> dict[str, np.ndarray]:
        total = self.stack[..., warm_up:].sum(axis=-1)  # pairwise over each row's periods
        return {v: total[:, k] for k, v in enumerate(self.series)}


@dataclass
class Summed(Record):
    """The batch engine's record: the summary's reductions, taken as the replications ran
    (from period ``summed_from``, as ``summaries`` leaves out the warm-up, with
    ``sums.PairwiseSum`` adding each series' periods in numpy's order), and the few
    series the summary reads whole. ``series``: the firm series a batch kept, if any,
    recorded as ``data`` (periods, variables, firms, kept replications)."""

    summed_from: int = 0
    sums: Mapping[str, np.ndarray] | None = None  # each of SERIES: (R, firms)
    orders_placed: np.ndarray | None = None  # (R, firms)
    chain_sums: Mapping[str, np.ndarray] | None = None  # on_hand, backlog: (R,)
    tier_series: Mapping[int, np.ndarray] | None = None  # tier -> (R, periods)
    data: np.ndarray | None = None
    variables: tuple[str, ...] = ()
    kept: Mapping[int, int] | None = None  # replication -> its place in ``data``

    @classmethod
    def of(cls, data: np.ndarray, variables: Sequence[str], **fields: Any) -> Summed:
        variables = tuple(variables)
        return cls(series=_Transposed(data, variables), data=data, variables=variables,
                   **fields)  # fmt: skip

    def _from(self, warm_up: int) -> None:
        if warm_up != self.summed_from:
            raise ValueError(
                f"this batch summed its series from period {self.summed_from}, not {warm_up}"
            )

    def totals(self, warm_up: int) -> dict[str, np.ndarray]:
        self._from(warm_up)
        return dict(self.sums)

    def ordering_periods(self, warm_up: int) -> np.ndarray:
        self._from(warm_up)
        return self.orders_placed

    def chain_mean(self, name: str, warm_up: int) -> np.ndarray:
        self._from(warm_up)
        return self.chain_sums[name] / (self.periods - warm_up)

    def tier_orders(self, warm_up: int) -> dict[int, np.ndarray]:
        return {tier: x[:, warm_up:] for tier, x in self.tier_series.items()}

    def replication(self, r: int) -> Record:
        if r not in self.kept:
            raise ValueError(f"replication {r}'s firm series were not kept")
        k = self.kept[r]
        return Record(
            series=_Transposed(self.data[:, :, :, k : k + 1], self.variables),
            demand=self.demand[r : r + 1],
            firms=self.firms,
            warm_up=self.warm_up,
            shock_start=[self.shock_start[r]],
        )


class _Transposed(Mapping):
    """Series recorded as (periods, variables, firms, R), each laid out as (R, firms,
    periods) when it is read."""

    def __init__(self, data: np.ndarray, variables: tuple[str, ...]) -> None:
        self._data, self._variables = data, variables

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._variables:
            raise KeyError(name)
        return np.ascontiguousarray(self._data[:, self._variables.index(name)].transpose(2, 1, 0))

    def __iter__(self):
        return iter(self._variables)

    def __len__(self) -> int:
        return len(self._variables)


# -- reductions with a fixed order ---------------------------------------------------------------
def over_firms(x: np.ndarray, cols: Sequence[int] | None = None) -> np.ndarray:
    """Sum over the firm axis of (R, firms, ...), left to right (0.0 for no firm)."""
    if cols is not None:
        x = x[:, list(cols)]
    if x.shape[1] == 0:
        return np.zeros(x.shape[:1] + x.shape[2:])
    return running_total(x, axis=1)


def over_time(x: np.ndarray) -> np.ndarray:
    """Sum over the last (period) axis, numpy's pairwise sum of a contiguous axis."""
    return np.ascontiguousarray(x).sum(axis=-1)


def variance_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Var(numerator) / Var(denominator) along the last axis, NaN where the denominator
    does not vary."""
    return _over(numerator, _Spread(denominator))


class _Spread:
    """A denominator's variance, and whether it is too flat to divide by."""

    def __init__(self, denominator: np.ndarray, var=None, flat=None) -> None:
        if var is None:
            denominator = np.ascontiguousarray(denominator)
            var = np.var(denominator, axis=-1)
            flat = var <= 1e-12 * np.maximum(1.0, np.mean(np.abs(denominator), axis=-1)) ** 2
        self.var, self.flat = var, flat

    def __getitem__(self, index) -> _Spread:
        """The same spread, indexed (to broadcast against several numerators)."""
        return _Spread(None, self.var[index], self.flat[index])


def _over(numerator: np.ndarray, spread: _Spread) -> np.ndarray:
    num = np.var(np.ascontiguousarray(numerator), axis=-1)
    return np.where(spread.flat, np.nan, num / np.where(spread.flat, 1.0, spread.var))


def _of_each(parts: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """For each (R, firms) array, its sum over firms left to right: one running sum."""
    stack = np.stack(list(parts.values()), axis=1)  # (R, parts, firms)
    if stack.shape[2] == 0:
        return {k: np.zeros(len(stack)) for k in parts}
    summed = running_total(stack, axis=2)
    return {k: summed[:, i] for i, k in enumerate(parts)}


# -- the summary -----------------------------------------------------------------------------
def tier_order_series(record: Record, warm_up: int = 0) -> dict[int, np.ndarray]:
    """Per tier (1 = retailers), the total orders its firms place each period, (R, periods)."""
    return record.tier_orders(warm_up)


def tier_stock_series(
    record: Record, warm_up: int = 0, totals: Mapping[str, np.ndarray] | None = None
) -> dict[int, np.ndarray]:
    """Per tier, the mean units its firms hold on hand (each firm's mean, added), (R,).
    ``totals``: ``record.totals(warm_up)``, if already taken (a mean is the total / n)."""
    n = record.periods - warm_up
    if n <= 0:
        return {t: np.zeros(record.demand.shape[0]) for t in record.firms.by_tier()}
    means = (record.totals(warm_up) if totals is None else totals)["on_hand"] / n  # (R, firms)
    return {t: _of_each({t: means[:, cols]})[t] for t, cols in record.firms.by_tier().items()}


def summaries(record: Record, warm_up: int | None = None) -> dict[str, np.ndarray]:
    """The headline figures of R runs, after the warm-up: metric -> (R,) array."""
    firms, rows = record.firms, record.periods
    w = record.warm_up if warm_up is None else warm_up
    w = min(w, max(rows - 2, 0))
    reps = record.demand.shape[0]
    c = firms.costs
    total = record.totals(w)  # (R, firms) per series
    orders = record.ordering_periods(w)
    retail = np.array([k == "retailer" for k in firms.kinds], dtype=float)  # x 0.0 adds 0.0
    # Every sum over firms at once: each row a per-firm product, added left to right.
    parts = {
        "holding_cost": total["on_hand"] * c["holding_cost"],
        # only firms that pay for their pipeline (x 0.0 adds 0.0 for the others)
        "in_transit_cost": total["in_transit_charged"]
        * c["holding_cost"]
        * c["in_transit_holding"],
        "backlog_cost": total["backlog"] * c["backlog_cost"],
        "lost_sale_cost": total["lost_sales"] * c["lost_sale_cost"],
        "order_cost": orders * c["order_cost"],
        "capital_cost": total["on_hand"] * c["cost_of_capital"] * c["unit_value"],
        "writeoff_cost": total["written_off"] * np.maximum(c["unit_value"] - c["salvage_value"], 0),
        "lost_sales": total["lost_sales"],
        "written_off": total["written_off"],
        "shipped": total["shipped"] * retail,
        "asked": total["demand"] * retail,
        "filled": total["filled"] * retail,
        "waiting": total["backlog"] * retail,
        "revenue": total["revenue"],
        "purchases": total["purchases"],
        "production_cost": total["made"] * c["unit_cost"],
        "total_cost": total["period_cost"],
    }
    summed = _of_each(parts)
    n = rows - w
    nan = np.full(reps, np.nan)
    shipped, asked = summed["shipped"], summed["asked"]
    costs = [summed[k] for k in ("holding_cost", "backlog_cost", "lost_sale_cost", "order_cost",
                                 "capital_cost", "writeoff_cost")]  # fmt: skip
    out: dict[str, np.ndarray] = {  # each division by a safe denominator, NaN where none
        "periods": np.full(reps, float(n)),
        "demand_mean": np.mean(record.demand[:, w:], axis=-1) if n > 0 else nan,
        "fill_rate": np.where(
            asked > 0, summed["filled"] / np.where(asked > 0, asked, 1.0), np.nan
        ),
        "on_hand_mean": record.chain_mean("on_hand", w) if n > 0 else np.zeros(reps),
        "backlog_mean": record.chain_mean("backlog", w) if n > 0 else np.zeros(reps),
        "lost_sales": summed["lost_sales"],
        "holding_cost": costs[0],
        "in_transit_cost": summed["in_transit_cost"],
        "backlog_cost": costs[1],
        "lost_sale_cost": costs[2],
        "order_cost": costs[3],
        "capital_cost": costs[4],
        "written_off": summed["written_off"],
        "writeoff_cost": costs[5],
        "total_cost": summed["total_cost"],
        "mean_wait": np.where(
            shipped != 0, summed["waiting"] / np.where(shipped != 0, shipped, 1.0), np.nan
        ),
    }
    if (c["price"] != 0).any() or (c["unit_cost"] != 0).any():
        out.update(money(summed, out))
    spread = _Spread(record.demand[:, w:])
    orders_by_tier = tier_order_series(record, w)
    ratios = _over(np.stack(list(orders_by_tier.values()), axis=1), spread[:, None])  # (R, tiers)
    by_tier = {t: ratios[:, k] for k, t in enumerate(orders_by_tier)}
    for tier, ratio in by_tier.items():
        out[f"bullwhip_tier{tier}"] = ratio
    out["bullwhip_top"] = by_tier[max(by_tier)] if by_tier else nan
    for tier, stock in tier_stock_series(record, w, total).items():
        out[f"on_hand_tier{tier}"] = stock
    struck = [r for r, start in enumerate(record.shock_start) if start is not None and start < rows]
    if struck:
        shocks = [shock_figures(record, r, record.shock_start[r]) for r in struck]
        for key in shocks[0]:
            out[key] = nan.copy()
            for r, figures in zip(struck, shocks, strict=True):
                out[key][r] = figures[key]
    return out


def per_run(record: Record, values: Mapping[str, np.ndarray]) -> list[dict[str, float]]:
    """``summaries`` as one dict per replication, as ``summary`` gives it for one run: the
    figures after a disruption only for replications a disruption struck."""
    keys = list(values)
    shock = [k for k in keys if k.startswith(SHOCK_METRICS)]
    rows = zip(*(np.asarray(values[k], dtype=float).tolist() for k in keys), strict=True)
    out = [dict(zip(keys, row, strict=True)) for row in rows]  # tolist: Python floats
    if shock:
        for one, start in zip(out, record.shock_start, strict=True):
            if start is None or start >= record.periods:
                for k in shock:
                    del one[k]
    return out


SHOCK_METRICS = ("recovery_time", "unserved_after_shock", "bullwhip_after_shock", "felt_tier",
                 "reaction_tier")  # fmt: skip


def money(summed: Mapping[str, np.ndarray], costs: Mapping[str, np.ndarray]):
    """Revenue, purchases, production cost and profit of the whole chain.

    Profit = revenue (sales and salvage) - purchases - production cost - the costs of
    holding, backlog, lost sales, orders and capital. Sales between firms cancel out
    in the chain's total, which is consumer revenue - production cost - those costs.
    The write-off cost is not subtracted again: the goods were paid for when bought.
    """
    revenue, purchases = summed["revenue"], summed["purchases"]
    production = summed["production_cost"]
    running = costs["total_cost"] - costs["writeoff_cost"]
    return {
        "revenue": revenue,
        "purchases": purchases,
        "production_cost": production,
        "profit": revenue - purchases - production - running,
    }


def shock_figures(record: Record, r: int, start: int, settle: int = 5, window: int = 30):
    """How replication r takes a disruption that begins in period ``start``.

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
    record = record.replication(r)  # from here on, replication r is replication 0
    s, firms, rows = record.series, record.firms, record.periods
    warm_up = record.warm_up
    retail = firms.where("retailer")
    gap = over_firms(s["demand"] - s["filled"], retail)[0]
    before = gap[warm_up:start] if start > warm_up + 1 else gap[:start]
    limit = (before.mean() + 2 * before.std() if len(before) else 0.0) + 1e-9
    # A shock can take periods to reach the shelves: recovery is looked for only once
    # the unserved demand has risen above its limit (0 if it never does in ``window``).
    hit = np.flatnonzero(gap[start : start + window] > limit)
    recovery = 0.0 if not len(hit) else float("nan")
    for t in range(start + int(hit[0]) if len(hit) else rows, rows - settle + 1):
        if (gap[t : t + settle] <= limit).all():
            recovery = float(t - start)
            break
    end = rows if math.isnan(recovery) else start + int(recovery)
    out = {
        "recovery_time": recovery,
        "unserved_after_shock": float(gap[start:end].sum()),
    }
    demand = record.demand[0]
    orders = {t: q[0] for t, q in tier_order_series(record).items()}
    top = orders[max(orders)]
    out["bullwhip_after_shock"] = float(variance_ratio(top[start:], demand[start:]))
    net = s["on_hand"] - s["backlog"]
    for tier, cols in firms.by_tier().items():
        stock = over_firms(net, cols)[0]
        out[f"felt_tier{tier}"] = _left_range(stock, start, warm_up, window)
        out[f"reaction_tier{tier}"] = _left_range(orders[tier], start, warm_up, window)
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


# -- one run of the agent model ---------------------------------------------------------------
def record(model) -> Record:
    """The record of one agent-model run (R = 1)."""
    start = model.disruptions.first_start() if model.disruptions else None
    return Record.of_recorder(model.recorder, model.topology.tiers, model.warm_up, start)


def summary(model, warm_up: int | None = None) -> dict[str, float]:
    """The headline figures of one run, after the warm-up, as a flat dict of floats."""
    return {k: float(v[0]) for k, v in summaries(record(model), warm_up).items()}


def tier_orders(rec: Recorder, tiers: dict, warm_up: int = 0) -> dict[int, np.ndarray]:
    """Per tier (1 = retailers), the total orders its firms place each period."""
    one = Record.of_recorder(rec, tiers, warm_up)
    return {t: q[0] for t, q in tier_order_series(one, warm_up).items()}


def chain_series(rec: Recorder, tiers: dict) -> dict[str, np.ndarray]:
    """Chain totals per recorded period: consumer demand, stock, backlog, cost, orders."""
    out = {
        "demand": rec.demand_series(),
        "on_hand": rec.firms.series("on_hand").sum(axis=1),
        "backlog": rec.firms.series("backlog").sum(axis=1),
        "cost": np.cumsum(rec.firms.series("period_cost").sum(axis=1)),
    }
    for tier, orders in tier_orders(rec, tiers).items():
        out[f"orders_tier{tier}"] = orders
    return out


def bullwhip_by_tier(rec: Recorder, tiers: dict, warm_up: int = 0) -> dict[int, float]:
    """Var(tier's orders) / Var(consumer demand), per tier."""
    demand = rec.demand_series()[warm_up:]
    return {
        t: float(variance_ratio(q, demand)) for t, q in tier_orders(rec, tiers, warm_up).items()
    }


def stock_by_tier(rec: Recorder, tiers: dict, warm_up: int = 0) -> dict[int, float]:
    """Per tier (1 = retailers), the mean units its firms hold on hand."""
    one = Record.of_recorder(rec, tiers, warm_up)
    return {t: float(v[0]) for t, v in tier_stock_series(one, warm_up).items()}


def bullwhip_by_firm(rec: Recorder, warm_up: int = 0) -> dict:
    """Var(orders placed) / Var(orders received), per firm node."""
    ordered = rec.firms.series("ordered")[warm_up:]
    received = rec.firms.series("demand")[warm_up:]
    return {
        f.node: float(variance_ratio(ordered[:, j], received[:, j]))
        for j, f in enumerate(rec.firms.agents)
    }


def fill_rate(rec: Recorder, warm_up: int = 0, kinds: tuple[str, ...] = ("retailer",)) -> float:
    """Units served at once over units asked for, for firms of ``kinds`` (consumers' view)."""
    cols = [j for j, f in enumerate(rec.firms.agents) if f.kind in kinds]
    demand = over_time(rec.firms.series("demand")[warm_up:].T[None])
    filled = over_time(rec.firms.series("filled")[warm_up:].T[None])
    asked = float(over_firms(demand[:, :, None], cols)[0, 0])
    if asked <= 0:
        return float("nan")
    return float(over_firms(filled[:, :, None], cols)[0, 0]) / asked


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
    """``shock_figures`` of one agent-model run (see there)."""
    return shock_figures(record(model), 0, start, settle, window)
