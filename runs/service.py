"""Equal service: the chain-wide safety factor at which a regime reaches a target fill rate.

A cost comparison at different fill rates confounds service with information; Lee, So &
Tang (2000) and Cachon & Fisher (2000) compare regimes at equal service, each with its
policy set well. ``tune_service`` finds, for one regime, the safety factor z that every
firm's adaptive safety stock uses (the scenario's ``safety_factor``, docs/model.md) at
which the consumer fill rate, averaged over the paired replications, meets the target:

    f(z) = mean over replications r of fill_rate(z, seed_r) - target = 0.

Every z runs on the same seeds (common random numbers), so f is a deterministic,
continuous function of z, increasing in practice (more safety stock everywhere serves
consumers better). A bracket is found first, [0, 2] widened by doubling up to |z| = 8,
then Brent's method (``scipy.optimize.brentq``: bisection's guarantee with secant and
inverse quadratic steps) narrows it, on Phi^-1 of the fill rate (the same root; there the
curve is nearly straight, so few steps are needed). The search stops at the first z whose
fill rate is within the tolerance of the target (0.001 by default, a tenth of a
percentage point). A target that no z up to 8 reaches is a ConfigError naming the fill
rate reached there, not a search that runs on. Runs at each z are kept, so the
comparison at the tuned factor costs no extra run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

from scipy.optimize import brentq

from pullchain.network.errors import ConfigError, check_number

from .scenarios import Scenario, check_service

if TYPE_CHECKING:
    from .model import SupplyChainModel

TOLERANCE = 5e-4
"""|mean fill rate - target| at which the search stops."""
FIRST_BRACKET = (0.0, 2.0)
Z_LIMIT = 8.0
"""The bracket is widened up to |z| = 8: beyond it a normal tail is below 1e-15."""
_NORMAL = NormalDist()


@dataclass
class Evaluation:
    """The paired replications of one regime at one safety factor."""

    safety_factor: float
    summaries: list[dict[str, float]]
    example: SupplyChainModel | None = field(default=None, repr=False)

    @property
    def fill_rate(self) -> float:
        """The consumer fill rate, averaged over the replications."""
        return math.fsum(s["fill_rate"] for s in self.summaries) / len(self.summaries)


@dataclass
class Tuning:
    """What ``tune_service`` found for one regime."""

    regime: str
    target: float
    tolerance: float
    best: Evaluation
    evaluations: list[Evaluation]  # in the order tried

    @property
    def safety_factor(self) -> float:
        return self.best.safety_factor

    @property
    def fill_rate(self) -> float:
        return self.best.fill_rate

    @property
    def reached(self) -> bool:
        """Whether the fill rate reached is within the tolerance of the target."""
        return abs(self.fill_rate - self.target) <= self.tolerance

    @property
    def runs(self) -> int:
        """Model runs the search took (each evaluation runs every replication)."""
        return sum(len(e.summaries) for e in self.evaluations)

    def record(self) -> dict[str, Any]:
        """A JSON-ready account of the search."""
        return {
            "regime": self.regime,
            "target": self.target,
            "tolerance": self.tolerance,
            "safety_factor": self.safety_factor,
            "fill_rate": self.fill_rate,
            "reached": self.reached,
            "runs": self.runs,
            "evaluations": [[e.safety_factor, e.fill_rate] for e in self.evaluations],
        }


class _Reached(Exception):
    """Raised inside the search to stop it: the target is met within the tolerance."""


def evaluate(
    scenario: Scenario,
    regime: str,
    seeds: Sequence[int],
    safety_factor: float,
    progress: Callable[[int], None] | None = None,
    engine: str = "auto",
) -> Evaluation:
    """Run ``regime`` on every seed with the chain-wide ``safety_factor``: the seeds as one
    batch where the batch engine covers the scenario (``engine``, as in ``compare``), one
    agent model per seed otherwise; the same summaries either way."""
    from .batch import choose, run_batch

    tuned = scenario.with_overrides({"safety_factor": float(safety_factor)})
    network = tuned.network() if engine != "agents" else None
    if choose(engine, tuned, [regime], lambda message: None, network) == "batch":
        results = run_batch(
            tuned, [(regime, s) for s in seeds], keep=lambda i: i == 0, network=network
        )
        if progress:
            progress(len(results))
        return Evaluation(float(safety_factor), [r.summary for r in results], results[0].view)
    summaries, example = [], None
    for r, seed in enumerate(seeds):
        model = tuned.model(regime=regime, seed=seed, record_consumers=False)
        model.run_model()
        summaries.append(model.summary())
        if r == 0:
            example = model
        if progress:
            progress(1)
    return Evaluation(float(safety_factor), summaries, example)


def tune_service(
    scenario: Scenario,
    target: float,
    *,
    regime: str,
    seeds: Sequence[int],
    tolerance: float = TOLERANCE,
    progress: Callable[[int], None] | None = None,
    engine: str = "auto",
) -> Tuning:
    """The chain-wide safety factor at which ``regime`` serves ``target`` of consumer demand
    at once, on average over ``seeds``; deterministic for given seeds. Each factor's runs
    are one batch where the batch engine covers the scenario (``engine``).

    Raises:
        ConfigError: a target outside (0, 1), or one no safety factor up to 8 reaches.
    """
    target = float(check_service("service", target))
    tolerance = float(check_number("tolerance", tolerance, minimum=0, strict_minimum=True))
    if not seeds:
        raise ConfigError("seeds", list(seeds), "at least one replication seed")
    tried: dict[float, Evaluation] = {}

    goal = _probit(target)

    def gap(z: float) -> float:
        if z not in tried:
            tried[z] = evaluate(scenario, regime, seeds, z, progress, engine)
        fill = tried[z].fill_rate
        if abs(fill - target) <= tolerance:
            raise _Reached
        return _probit(fill) - goal

    try:
        low, high = _bracket(gap, target, regime, tried)
        brentq(gap, low, high, xtol=1e-6, rtol=1e-12, maxiter=100)
    except _Reached:
        pass
    evaluations = list(tried.values())
    best = min(evaluations, key=lambda e: abs(e.fill_rate - target))
    return Tuning(regime, target, tolerance, best, evaluations)


def _probit(fill: float) -> float:
    """Phi^-1 of a fill rate, clipped to (1e-12, 1 - 1e-12): the same root as the fill rate
    itself, on a scale where it is nearly linear in z (a fill rate nears 1 like a normal
    tail), so Brent's method needs few steps."""
    return _NORMAL.inv_cdf(min(max(fill, 1e-12), 1 - 1e-12))


def _bracket(
    gap: Callable[[float], float], target: float, regime: str, tried: dict[float, Evaluation]
) -> tuple[float, float]:
    """Safety factors with the fill rate below and above the target: [0, 2], its upper end
    doubled (or, when z = 0 already serves better than the target, its lower end moved
    down by doubling steps), never beyond |z| = 8."""
    low, high = FIRST_BRACKET
    if gap(low) > 0:  # served better than the target with no safety stock: look below 0
        step = high - low
        high = low
        while True:
            low = max(high - step, -Z_LIMIT)
            if gap(low) < 0:
                return low, high
            if low == -Z_LIMIT:
                raise _unreachable(target, regime, low, tried, "above")
            high, step = low, 2 * step
    while gap(high) < 0:
        if high == Z_LIMIT:
            raise _unreachable(target, regime, high, tried, "below")
        low, high = high, min(2 * high, Z_LIMIT)
    return low, high


def _unreachable(
    target: float, regime: str, z: float, tried: dict[float, Evaluation], side: str
) -> ConfigError:
    reached = tried[z].fill_rate
    return ConfigError(
        "service", target,
        f"a fill rate the {regime} chain can reach: at a safety factor of {z:g} at every "
        f"firm its consumer fill rate is {reached:.4f}, still {side} the target "
        "(a higher target needs more than safety stock: patient consumers, shorter lead "
        "times, capacity)",
    )  # fmt: skip
