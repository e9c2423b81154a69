"""The batch engine: many replications of one scenario stepped together, the fast path.

``run_batch(scenario, runs)`` runs a list of (regime, seed) pairs of one scenario and
returns one result per run, in order: its summary and, if asked, its model-level series.
The runs are stepped in lockstep as arrays (``BatchModel``, runs/batch_model.py), each
replication drawing the agent model's very streams for its seed, and each summary equals
the one ``SupplyChainModel`` gives for that regime and seed, bit for bit (tests/test_batch.py).

Which engine runs is decided in one place, ``unsupported``: the batch engine covers the
built-in core (every network, the built-in policies, forecasts, demand processes,
allocation rules, regimes and their knobs, order shaping and gaming, disruptions, costs
and money) and hands anything else (a researcher's class) back to the agent model, with
one line saying why. ``choose`` is what compare and sweeps call: batch where it can,
agents where it must, ``engine`` to insist on one.

Memory is bounded: each replication's record is held to the limit on one run's
(``limits.RECORD_BYTES``), and a batch whose replications would hold more than
``limits.BATCH_BYTES`` is split into batches that do not, before anything is allocated.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from pullchain.agents.allocation import ALLOCATIONS
from pullchain.agents.demand import DEMANDS
from pullchain.agents.forecasts import FORECASTS
from pullchain.agents.policies import POLICIES, OrderUpTo
from pullchain.network import limits
from pullchain.network.errors import ConfigError
from pullchain.network.regimes import InformationRegime

from . import batch_allocation, batch_demand, batch_policies, metrics
from .batch_model import SUMMARY_VARIABLES, BatchModel
from .recorder import FIRM_VARIABLES, values_per_period

if TYPE_CHECKING:
    import networkx as nx

    from .scenarios import Scenario

ENGINES = ("auto", "batch", "agents")


# -- which engine ------------------------------------------------------------------------------
_REGIME_METHODS = (
    "bind", "_bind_downstream", "participants", "sees_sales", "visible_below",
    "decision_rights", "managed_rule", "_covered", "observe", "needs",
)  # fmt: skip
"""What a regime may override (``InformationRegime``); the batch engine mirrors these."""


def unsupported(
    network: nx.DiGraph,
    regimes: Sequence[InformationRegime] = (),
    agent_classes: dict | None = None,
) -> str | None:
    """Why the batch engine cannot run this scenario, in one line; None when it can.

    It decides from the registered names and classes: every node's agent class (its
    ``class`` attribute, else ``agent_classes`` for its kind) must be its kind's built-in
    class; every node's policy, forecast, allocation rule and demand process a built-in
    (the very class the registry held at import); every regime the built-in
    ``InformationRegime`` or a subclass that only changes its declared knobs' defaults.
    """
    from pullchain.agents import kinds

    for regime in regimes:
        for method in _REGIME_METHODS:
            if getattr(type(regime), method) is not getattr(InformationRegime, method):
                return f"information regime {regime.name!r} ({type(regime).__name__}.{method})"
    given = dict(agent_classes or {})
    for node, attrs in network.nodes(data=True):
        kind = attrs["kind"]
        spec = kinds.class_spec(kind, attrs)
        if spec == kind and kind in given:
            spec = given[kind]
        if spec != kind:  # only a named class is looked up: Mesa is slow to import
            cls = kinds.resolve(kind, spec, f"node {node!r}.class")
            if cls is not kinds.builtin(kind):
                return f"agent class {cls.__name__} for node {node!r} ({kind})"
    for node, attrs in network.nodes(data=True):
        where = f"node {node!r}"
        if attrs["kind"] == "consumer":
            cls = DEMANDS.get(attrs["demand"], f"{where}.demand")
            if cls not in batch_demand.BUILT_IN:
                return f"{where}: demand process {attrs['demand']!r} ({cls.__name__})"
            continue
        cls = POLICIES.get(attrs["policy"], f"{where}.policy")
        if cls not in batch_policies.POLICIES:
            return f"{where}: ordering policy {attrs['policy']!r} ({cls.__name__})"
        if cls is OrderUpTo:
            name = attrs["policy_params"].get("forecast", "moving_average")
            forecast = FORECASTS.get(name, f"{where}.policy_params.forecast")
            if forecast not in batch_policies.FORECASTS:
                return f"{where}: forecast {name!r} ({forecast.__name__})"
        rule = ALLOCATIONS.get(attrs["allocation"], f"{where}.allocation")
        if rule not in batch_allocation.RULES:
            return f"{where}: allocation rule {attrs['allocation']!r} ({rule.__name__})"
    return None


# -- memory -------------------------------------------------------------------------------------
RECORD = ("summary", "firms", "all")
"""What a batch records: the firm series the summary reads, every firm series, or those
and every consumer's."""
BLOCKS = (256, 128, 64, 32)  # periods of demand drawn at a time, most first


def bytes_per_replication(
    network: nx.DiGraph,
    horizon: int,
    record: str = "summary",
    block: int = BLOCKS[0],
    series: float = 1.0,
) -> int:
    """What one replication of a batch holds at most: its record, state and streams.
    ``series``: the share of replications whose firm series are kept (with ``record``
    "summary": those a disruption's figures or a view read; every one otherwise)."""
    from .build import demand_process

    kinds = [k for _, k in network.nodes(data="kind")]
    n_consumers = kinds.count("consumer")
    n_firms = len(kinds) - n_consumers
    # Rings of slots: orders, cancellations and goods on each lane, production, patience.
    slots = sum(2 * d["order_delay"] + d["lead_time"] + 4 for _, _, d in network.edges(data=True))
    slots += 8 * sum(k == "consumer" for _, k in network.nodes(data="kind"))  # their lanes
    slots += sum(a.get("production_lead_time", 0) + 1 for _, a in network.nodes(data=True))
    slots += sum(  # orders waiting for consumers with patience, a slot per period
        2 * min(a["patience"] + 1, horizon + 1) * network.in_degree(n)
        for n, a in network.nodes(data=True)
        if a["kind"] == "consumer" and a["backorder"] and a["patience"] >= 0
    )
    variables = len(SUMMARY_VARIABLES) if record == "summary" else len(FIRM_VARIABLES)
    share = series if record == "summary" else 1.0
    kept = horizon * (n_firms * variables + (record == "all") * 3 * n_consumers)
    recorded = math.ceil(share * kept) + horizon * (1 + n_firms)  # demand; each tier's orders
    summed = (9 + 2 * math.ceil(math.log2(max(horizon, 2)))) * (len(metrics.SERIES) * n_firms + 2)
    state = 80 * n_firms + 12 * n_consumers + slots
    consumers = [n for n, k in network.nodes(data="kind") if k == "consumer"]
    streams = batch_demand.demand_bytes(
        [demand_process(network, n) for n in consumers], horizon, block
    )
    return 8 * (recorded + summed + state) + streams


def board_bytes(network: nx.DiGraph, regimes: Sequence[InformationRegime], horizon: int) -> int:
    """The board of published data each replication keeps: a row per period of delay."""
    depth = min(max((g.delay for g in regimes), default=0) + 1, horizon)
    return 8 * depth * network.number_of_nodes()


def plan(
    network: nx.DiGraph,
    regimes: Sequence[InformationRegime],
    horizon: int,
    n_runs: int,
    record: str = "summary",
    series: float = 1.0,
) -> tuple[int, int]:
    """How many replications one batch may hold (``limits.BATCH_BYTES``), and the periods
    of demand each draws at a time: the fewest batches, then the biggest blocks (a
    smaller block holds less, a batch split in two costs twice the steps). ``series``:
    the share of runs whose firm series are kept."""
    board = board_bytes(network, regimes, horizon)

    def size(block: int) -> int:
        per = bytes_per_replication(network, horizon, record, block, series) + board
        return limits.batch_size("batch", n_runs, per)

    fewest = -(-n_runs // size(BLOCKS[-1]))
    block = next(b for b in BLOCKS if -(-n_runs // size(b)) == fewest)
    return size(block), block


# -- running -------------------------------------------------------------------------------------
@dataclass
class RunResult:
    """One run of a batch: its summary and, if asked, its model-level series."""

    regime: str
    seed: int
    summary: dict[str, float]
    series: dict[str, np.ndarray] | None = None
    view: Any = None  # a ReplicationView, when asked to keep one


def run_batch(
    scenario: Scenario,
    runs: Sequence[tuple[str, int]],
    *,
    record: str = "summary",
    series: bool = False,
    keep: Callable[[int], bool] | None = None,
    network: nx.DiGraph | None = None,
) -> list[RunResult]:
    """Run (regime, seed) pairs of one scenario in lockstep; one result per run, in order.

    ``record``: one of ``RECORD`` (what views show; the summary is always complete);
    ``series`` adds each run's model-level series (``SupplyChainModel.model_series``);
    ``keep(i)`` keeps a ``ReplicationView`` of run i (its recorder, for tables and plots);
    ``network``: the scenario's network, if already built.

    The summary is summed as the runs go; firm series are recorded only as asked: every
    run's for ``record`` "firms" and "all", for ``series`` and under disruptions (whose
    figures read them), else only those of the runs kept.
    """
    from .batch_views import ReplicationView, model_series

    network = scenario.network() if network is None else network
    regimes = {name: scenario.regime(name) for name in dict.fromkeys(r for r, _ in runs)}
    steps = scenario.steps
    if record not in RECORD:
        raise ConfigError("record", record, "one of " + ", ".join(RECORD))
    kinds = [k for _, k in network.nodes(data="kind")]
    values = values_per_period(len(kinds) - kinds.count("consumer"), kinds.count("consumer"),
                               record == "all")  # fmt: skip
    limits.check_recording("steps", steps, steps, values)  # what one run may record
    disruptions = scenario.data.get("disruptions", [])
    every = record != "summary" or series or bool(disruptions)
    kept = [i for i in range(len(runs)) if keep(i)] if keep is not None else []
    share = 1.0 if every else len(kept) / max(len(runs), 1)
    size, block = plan(network, list(regimes.values()), steps, len(runs), record, share)
    out: list[RunResult] = []
    for start in range(0, len(runs), size):
        part = runs[start : start + size]
        mine = [i - start for i in kept if start <= i < start + size]
        model = BatchModel(
            network,
            regimes=[regimes[r] for r, _ in part],
            seeds=[s for _, s in part],
            horizon=steps,
            warm_up=scenario.warm_up,
            disruptions=disruptions,
            record_consumers=record == "all",
            variables=(SUMMARY_VARIABLES if every or mine else ())
            if record == "summary"
            else FIRM_VARIABLES,
            kept=None if every else mine,
            block=block,
            validated=True,
        )
        model.run()
        recorded = model.record()
        summaries = metrics.per_run(recorded, metrics.summaries(recorded))
        for r, (regime, seed) in enumerate(part):
            result = RunResult(regime, seed, summaries[r])
            keeping = keep is not None and keep(start + r)
            if series or keeping:
                view = ReplicationView(model, r)
                if series:
                    result.series = model_series(view)
                if keeping:
                    result.view = view
            out.append(result)
        del model
    return out


def choose(
    engine: str,
    scenario: Scenario,
    regimes: Sequence[str],
    say: Callable[[str], None],
    network: nx.DiGraph | None = None,
) -> str:
    """The engine that runs ``scenario``: ``batch`` or ``agents`` (``auto``: batch if it can).
    ``network``: the scenario's network, if already built."""
    if engine not in ENGINES:
        raise ConfigError("--engine", engine, "one of " + ", ".join(ENGINES))
    if engine == "agents":
        return "agents"
    network = scenario.network() if network is None else network
    why = unsupported(network, [scenario.regime(r) for r in regimes])
    if why is None:
        return "batch"
    if engine == "batch":
        raise ConfigError("--engine", "batch", f"a scenario the batch engine covers ({why})")
    say(f"note: running on the agent model, not the batch engine: {why}")
    return "agents"
