"""Paired comparison of two regimes under common random numbers.

Replication r runs both regimes with the same seed, so both chains face the very
same consumer demand; the figure of interest is the per-pair difference, whose
mean and 95 % confidence interval (Student's t over the pairs) ``compare``
reports. Pairing removes the demand noise both runs share, which is why a few
replications separate the regimes clearly.

At equal service (``service``, or the scenario's ``service``), each regime is first tuned
to the target consumer fill rate (``pullchain.runs.service``: one chain-wide safety factor
per regime, on the same seeds), and the comparison is made at the tuned factors: the
runs are those of the tuning's last step, with the factor as a column.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .scenarios import Scenario, check_service
from .service import TOLERANCE, Tuning, tune_service

if TYPE_CHECKING:
    from .model import SupplyChainModel

# Two-sided 95 % quantiles of Student's t for 1..30 degrees of freedom.
_T975 = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
]  # fmt: skip


def t_quantile_975(df: int) -> float:
    """The 97.5 % quantile of Student's t (a table to 30, then a Cornish-Fisher series)."""
    if df < 1:
        return math.nan
    if df <= len(_T975):
        return _T975[df - 1]
    z = 1.959964
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


ROUND_OFF = 1e-9
"""A mean smaller than this (units, money, ratios) is round-off of a zero, so a change in
per cent of it is not defined (n/a), rather than a ratio of two residues."""


def change_pct(change: float, base: float) -> float:
    """The change in per cent of the baseline mean; NaN where that mean is (nearly) zero."""
    if math.isnan(base) or abs(base) < ROUND_OFF:
        return math.nan
    return 100 * change / base


def paired_interval(diff: np.ndarray) -> tuple[float, float]:
    """Mean of paired differences and the half-width of its 95 % CI (Student's t)."""
    n = len(diff)
    mean = float(np.mean(diff)) if n else math.nan
    half = t_quantile_975(n - 1) * float(np.std(diff, ddof=1)) / math.sqrt(n) if n > 1 else math.nan
    return mean, half


def replication_seeds(seed: int, replications: int) -> list[int]:
    """One seed per replication, derived from the comparison's seed (numpy SeedSequence)."""
    children = np.random.SeedSequence(seed).spawn(replications)
    return [int(c.generate_state(1, dtype=np.uint32)[0]) for c in children]


@dataclass
class Comparison:
    """The runs of a paired comparison and the table that summarises them."""

    scenario: Scenario
    regimes: tuple[str, str]
    seeds: list[int]
    runs: pd.DataFrame  # one row per (replication, regime): seed and every summary metric
    examples: dict[str, SupplyChainModel] = field(default_factory=dict, repr=False)
    tunings: dict[str, Tuning] = field(default_factory=dict)  # at equal service, by regime

    @property
    def service(self) -> float | None:
        """The consumer fill rate both regimes were tuned to, or None."""
        return next(iter(self.tunings.values())).target if self.tunings else None

    def table(self) -> pd.DataFrame:
        """Per metric: mean under each regime, the mean paired change and its 95 % CI."""
        base, other = self.regimes
        wide = self.runs.pivot(index="replication", columns="regime")
        rows = []
        metrics = [c for c in self.runs.columns if c not in ("replication", "regime", "seed")]
        for metric in metrics:
            a = wide[(metric, base)].to_numpy(dtype=float)
            b = wide[(metric, other)].to_numpy(dtype=float)
            # A metric may be undefined in a run (a tier that never reacts): pairs
            # count only where both runs define it.
            both = ~(np.isnan(a) | np.isnan(b))
            diff = (b - a)[both]
            n = len(diff)
            mean, half = paired_interval(diff)
            rows.append(
                {
                    "metric": metric,
                    base: float(np.nanmean(a)) if (~np.isnan(a)).any() else math.nan,
                    other: float(np.nanmean(b)) if (~np.isnan(b)).any() else math.nan,
                    "pairs": n,
                    "change": mean,
                    "ci_low": mean - half,
                    "ci_high": mean + half,
                    "change_pct": change_pct(mean, float(np.mean(a[both]))) if n else math.nan,
                }
            )
        return pd.DataFrame(rows).set_index("metric")


def run_pairs(
    scenario: Scenario, replications: int, seed: int, regimes: tuple[str, str]
) -> Iterator[tuple[int, str, int, SupplyChainModel]]:
    """Run each replication under each regime; yields (replication, regime, seed, model)."""
    for r, s in enumerate(replication_seeds(seed, replications)):
        for regime in regimes:
            model = scenario.model(regime=regime, seed=s, record_consumers=False)
            model.run_model()
            yield r, regime, s, model


def compare(
    scenario: Scenario,
    *,
    replications: int | None = None,
    seed: int | None = None,
    regimes: tuple[str, str] | None = None,
    service: float | bool | None = None,
    tolerance: float = TOLERANCE,
    progress: Callable[[int], None] | None = None,
    engine: str = "auto",
    say: Callable[[str], None] = lambda message: None,
) -> Comparison:
    """Run the paired comparison; ``progress(n)`` is called as runs finish.

    ``service``: a consumer fill rate in (0, 1) to compare the regimes at (each tuned to
    it within ``tolerance``), ``False`` for none, or None for the scenario's ``service``.
    ``engine``: ``batch`` steps every run in lockstep (``pullchain.runs.batch``),
    ``agents`` runs each on the agent model, ``auto`` (default) the batch engine where it
    covers the scenario (``say`` is told when it does not). The table is the same.
    """
    from .batch import choose, run_batch

    replications = scenario.replications if replications is None else replications
    seed = scenario.seed if seed is None else seed
    regimes = regimes or ("opaque", scenario.shared_regime)
    service = scenario.service if service is None else check_service("service", service)
    network = scenario.network() if engine != "agents" else None
    engine = choose(engine, scenario, regimes, say, network)  # said once, before any run
    if service:
        seeds = replication_seeds(seed, replications)
        return _at_equal_service(scenario, seeds, regimes, service, tolerance, progress, engine)
    seeds = replication_seeds(seed, replications)
    rows, examples = [], {}
    if engine == "batch":
        pairs = [(regime, s) for s in seeds for regime in regimes]
        results = run_batch(scenario, pairs, keep=lambda i: i < len(regimes), network=network)
        for i, result in enumerate(results):
            r = i // len(regimes)
            rows.append({"replication": r, "regime": result.regime, "seed": result.seed,
                         **result.summary})  # fmt: skip
            if result.view is not None:
                examples[result.regime] = result.view  # drawn in the figure
        if progress:
            progress(len(results))
    else:
        for r, regime, s, model in run_pairs(scenario, replications, seed, regimes):
            rows.append({"replication": r, "regime": regime, "seed": s, **model.summary()})
            if r == 0:
                examples[regime] = model  # drawn in the figure
            if progress:
                progress(1)
    return Comparison(scenario, regimes, seeds, pd.DataFrame(rows), examples)


def _at_equal_service(
    scenario: Scenario,
    seeds: list[int],
    regimes: tuple[str, str],
    service: float,
    tolerance: float,
    progress: Callable[[int], None] | None,
    engine: str = "auto",
) -> Comparison:
    """Tune each regime to ``service``, then compare the runs at the tuned factors."""
    tunings = {
        regime: tune_service(
            scenario,
            service,
            regime=regime,
            seeds=seeds,
            tolerance=tolerance,
            progress=progress,
            engine=engine,
        )
        for regime in regimes
    }
    rows = []
    for r, s in enumerate(seeds):
        for regime in regimes:
            best = tunings[regime].best
            rows.append(
                {"replication": r, "regime": regime, "seed": s,
                 "safety_factor": best.safety_factor, **best.summaries[r]}
            )  # fmt: skip
    examples = {regime: t.best.example for regime, t in tunings.items()}
    return Comparison(scenario, regimes, seeds, pd.DataFrame(rows), examples, tunings)
