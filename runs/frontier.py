"""The inventory-service frontier: stock and cost against fill rate, for each regime.

For a range of chain-wide safety factors z (the scenario's ``safety_factor``), each regime
runs the paired replications (the same seeds at every z and under every regime, common
random numbers); each z gives one point: the mean consumer fill rate, the mean stock on
hand and the mean cost per period, each with its 95 % confidence interval over the
replications. Traced over z, the points of a regime are its frontier: the service it buys
with a given stock. The value of information is the horizontal distance between the two
frontiers, the stock (or cost) one regime needs beyond the other for the same service,
which ``Frontier.at_fill`` reads off by interpolation along each curve.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pullchain.network.errors import ConfigError, check_number
from pullchain.network.limits import VALUES, check_runs

from .batch import choose
from .compare import paired_interval, replication_seeds
from .scenarios import Scenario
from .service import evaluate

DEFAULT_FACTORS: tuple[float, ...] = tuple(0.25 * i for i in range(13))
"""z = 0, 0.25, ..., 3: from no adaptive safety stock to a 99.9 % normal quantile."""
FACTORS_EXPECTED = "safety factors: a list 0,0.5,1 or a range START:STOP:STEP"
METRICS = ("fill_rate", "on_hand_mean", "cost_per_period", "backlog_mean")


@dataclass
class Frontier:
    """The runs of a frontier and the table of its points."""

    scenario: Scenario
    regimes: tuple[str, ...]
    factors: tuple[float, ...]
    seeds: list[int]
    runs: pd.DataFrame  # one row per (regime, safety factor, replication)

    def table(self) -> pd.DataFrame:
        """Per regime and safety factor: each metric's mean and the half-width of its 95 %
        confidence interval over the replications (``<metric>`` and ``<metric>_ci``)."""
        rows = []
        for (regime, z), group in self.runs.groupby(["regime", "safety_factor"], sort=False):
            row: dict[str, float | str] = {"regime": regime, "safety_factor": z}
            for metric in METRICS:
                mean, half = paired_interval(group[metric].to_numpy(dtype=float))
                row[metric], row[f"{metric}_ci"] = mean, half
            rows.append(row)
        return pd.DataFrame(rows)

    def at_fill(self, regime: str, fill: float, metric: str = "on_hand_mean") -> float:
        """``metric`` along ``regime``'s frontier where its mean fill rate is ``fill``
        (linear between the two neighbouring points; NaN outside the range traced)."""
        points = self.table()
        points = points[points.regime == regime].sort_values("safety_factor")
        x, y = points.fill_rate.to_numpy(), points[metric].to_numpy()
        inside = np.flatnonzero((x[:-1] <= fill) & (fill <= x[1:]))
        if not len(inside):
            return math.nan
        i = int(inside[0])
        if x[i + 1] == x[i]:
            return float(y[i])
        return float(y[i] + (y[i + 1] - y[i]) * (fill - x[i]) / (x[i + 1] - x[i]))


def parse_factors(text: str) -> tuple[float, ...]:
    """Safety factors from the command line: ``0,0.5,1`` or a range ``START:STOP:STEP``."""
    text = text.strip()
    ranged = ":" in text
    try:
        numbers = tuple(float(p) for p in text.split(":" if ranged else ","))
    except ValueError:
        numbers = ()
    if not ranged and numbers:
        return numbers
    start, stop, step = numbers if len(numbers) == 3 else (math.nan,) * 3
    span = (stop - start) / step if step > 0 else math.nan
    if not (math.isfinite(start) and math.isfinite(span) and span >= 0):  # inf, a tiny step
        raise ConfigError("--factors", text, FACTORS_EXPECTED)
    count = math.floor(span + 1e-9) + 1
    VALUES.check("--factors", count, shown=text)  # counted before they are listed
    return tuple(round(start + i * step, 12) for i in range(count))


def frontier(
    scenario: Scenario,
    *,
    factors: Sequence[float] = DEFAULT_FACTORS,
    replications: int | None = None,
    seed: int | None = None,
    regimes: tuple[str, ...] | None = None,
    progress: Callable[[int], None] | None = None,
    engine: str = "auto",
    say: Callable[[str], None] = lambda message: None,
) -> Frontier:
    """Run every regime at every safety factor on the same seeds (each regime's seeds at
    one factor as one batch, where the batch engine covers the scenario: ``engine``)."""
    factors = tuple(float(check_number("factors", z)) for z in factors)
    if len(factors) < 2 or len(set(factors)) != len(factors):
        raise ConfigError("factors", list(factors), "at least two different safety factors")
    replications = scenario.replications if replications is None else replications
    seed = scenario.seed if seed is None else seed
    regimes = regimes or ("opaque", scenario.shared_regime)
    check_runs("factors", len(factors) * len(regimes) * replications)  # before any run
    seeds = replication_seeds(seed, replications)
    scenario.with_overrides({"safety_factor": factors[0]})  # no firm takes one: fail now
    engine = choose(engine, scenario, regimes, say)  # said once, before any run
    rows = []
    for regime in regimes:
        for z in sorted(factors):
            evaluation = evaluate(scenario, regime, seeds, z, progress, engine)
            for r, summary in enumerate(evaluation.summaries):
                cost = summary["total_cost"] / summary["periods"]
                rows.append(
                    {"regime": regime, "safety_factor": z, "replication": r, "seed": seeds[r],
                     "cost_per_period": cost, **summary}
                )  # fmt: skip
    return Frontier(scenario, tuple(regimes), tuple(sorted(factors)), seeds, pd.DataFrame(rows))
