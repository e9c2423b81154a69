"""Core speed and memory benchmark of pullchain, with Mesa's empty-agent floor as baseline.

Run from the repository root::

    .venv/bin/python benchmarks/bench_core.py            # full run, about 30 s
    .venv/bin/python benchmarks/bench_core.py --quick    # CI smoke run, under 30 s
    .venv/bin/python benchmarks/bench_core.py --json bench.json

Every time is the best (min) of several repeats, with model construction timed
separately, and is also given as a RATIO to a baseline measured in the same run:
a Mesa model with the same number of agents that do nothing, stepped the same
number of times with ``self.agents.shuffle_do("step")`` and with
``self.agents.do("step")``. Machines (and CI runners) are noisy; compare ratios.

Measured:

1. The 4-stage beer game, ``SupplyChainModel(beer_game(), horizon=1000, rng=1)``,
   ``run_model()`` for 1000 periods (target: 40 ms per 1000 periods).
2. Time per step of ``layered_network`` at about 100, 1,000 and 10,000 consumers
   (target: within 20x of Mesa's empty-agent floor). Steps are timed in chunks on
   one model (building the 10,000-consumer model takes seconds); the figure is the
   best chunk, per step. Pullchain and baseline chunks are interleaved, so a noisy
   moment hurts both.
3. Recording cost: bytes per recorded value, from ``recorder.nbytes`` and from the
   arrays actually allocated (target: at most 16 bytes per value).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import mesa

from pullchain.network import beer_game, layered_network
from pullchain.runs import SupplyChainModel
from pullchain.runs.recorder import CONSUMER_VARIABLES, FIRM_VARIABLES

BEER_PERIODS = 1000
BEER_TARGET_MS = 40.0  # per 1000 periods
RATIO_TARGET = 20.0  # layered network vs Mesa's empty-agent floor
BYTES_TARGET = 16.0  # per recorded value

# (suppliers, brands, retailers, consumers): firms in proportion to consumers.
LAYERED_SIZES = ((2, 4, 10, 100), (5, 20, 50, 1_000), (10, 50, 200, 10_000))


@dataclass
class Settings:
    beer_repeats: int
    # per layered size: (chunks, steps per chunk)
    layered_chunks: tuple[tuple[int, int], ...]
    disable_gc: bool = True


FULL = Settings(beer_repeats=15, layered_chunks=((20, 20), (15, 20), (8, 10)))
QUICK = Settings(beer_repeats=3, layered_chunks=((4, 5), (4, 5), (2, 5)))


# -- the baseline: Mesa agents that do nothing ------------------------------------------
class EmptyAgent(mesa.Agent):
    def step(self) -> None:
        pass


class _EmptyModel(mesa.Model):
    def __init__(self, n_agents: int, horizon: int | None = None, rng: int = 1) -> None:
        super().__init__(rng=rng)
        EmptyAgent.create_agents(self, n_agents)
        self.horizon = horizon


class ShuffleDoModel(_EmptyModel):
    """Steps its empty agents in random order, Mesa's usual activation."""

    def step(self) -> None:
        self.agents.shuffle_do("step")
        if self.horizon is not None and self.steps >= self.horizon:
            self.running = False


class DoModel(_EmptyModel):
    """Steps its empty agents in a fixed order."""

    def step(self) -> None:
        self.agents.do("step")
        if self.horizon is not None and self.steps >= self.horizon:
            self.running = False


BASELINES: dict[str, type[_EmptyModel]] = {"shuffle_do": ShuffleDoModel, "do": DoModel}


# -- timing -----------------------------------------------------------------------------
def timed(fn: Callable[[], object], disable_gc: bool) -> tuple[float, object]:
    """Seconds ``fn`` took (perf_counter), with the garbage collector off if asked.

    With the collector on, collect first so that a pending collection does not land in
    the timed region. (Not done when it is off: with a 10,000-consumer model alive, one
    full collection takes a quarter of a second, a large part of a ``--quick`` run.)
    """
    if disable_gc:
        gc.disable()
    else:
        gc.collect()
    try:
        t0 = time.perf_counter()
        out = fn()
        elapsed = time.perf_counter() - t0
    finally:
        gc.enable()
    return elapsed, out


@dataclass
class Case:
    """Timings of one case; times in seconds, per step unless said otherwise."""

    name: str
    agents: int
    steps: int  # steps per timed run (beer) or per chunk (layered)
    repeats: int
    graph_s: float | None
    build_s: float
    step_s: float
    empty_build_s: float
    empty_step_s: dict[str, float] = field(default_factory=dict)
    sizes: tuple[int, ...] | None = None

    def ratio(self, method: str) -> float:
        return self.step_s / self.empty_step_s[method]

    @property
    def build_ratio(self) -> float:
        return self.build_s / self.empty_build_s


def bench_beer(settings: Settings) -> Case:
    """Best of N fresh beer-game runs of 1000 periods, interleaved with the baselines."""
    graph = beer_game()
    builds, runs = [], []
    empty_builds: list[float] = []
    empty_runs: dict[str, list[float]] = {m: [] for m in BASELINES}
    n_agents = 0
    for _ in range(settings.beer_repeats):
        build_s, model = timed(
            lambda: SupplyChainModel(graph, horizon=BEER_PERIODS, rng=1), settings.disable_gc
        )
        n_agents = len(model.agents)
        run_s, _ = timed(model.run_model, settings.disable_gc)
        assert model.steps == BEER_PERIODS, model.steps
        builds.append(build_s)
        runs.append(run_s)
        for method, cls in BASELINES.items():
            b_s, empty = timed(lambda c=cls, n=n_agents: c(n, BEER_PERIODS), settings.disable_gc)
            r_s, _ = timed(empty.run_model, settings.disable_gc)
            assert empty.steps == BEER_PERIODS
            empty_builds.append(b_s)
            empty_runs[method].append(r_s)
    return Case(
        name=f"beer game ({BEER_PERIODS} periods)",
        agents=n_agents,
        steps=BEER_PERIODS,
        repeats=settings.beer_repeats,
        graph_s=None,
        build_s=min(builds),
        step_s=min(runs) / BEER_PERIODS,
        empty_build_s=min(empty_builds),
        empty_step_s={m: min(v) / BEER_PERIODS for m, v in empty_runs.items()},
    )


def _run_steps(model: mesa.Model, n: int) -> None:
    step = model.step
    for _ in range(n):
        step()


def bench_layered(
    sizes: tuple[int, int, int, int], chunks: int, per_chunk: int, settings: Settings
) -> tuple[Case, SupplyChainModel]:
    """Per-step time of one layered network: best of ``chunks`` chunks of steps."""
    graph_s, graph = timed(lambda: layered_network(*sizes, seed=0), settings.disable_gc)
    horizon = chunks * per_chunk
    build_s, model = timed(
        lambda: SupplyChainModel(graph, horizon=horizon, rng=1), settings.disable_gc
    )
    n_agents = len(model.agents)
    empties, empty_builds = {}, []
    for method, cls in BASELINES.items():
        b_s, empties[method] = timed(lambda c=cls: c(n_agents), settings.disable_gc)
        empty_builds.append(b_s)
    chunk_s: list[float] = []
    empty_chunk_s: dict[str, list[float]] = {m: [] for m in BASELINES}
    for _ in range(chunks):
        s, _ = timed(lambda: _run_steps(model, per_chunk), settings.disable_gc)
        chunk_s.append(s)
        for method, empty in empties.items():
            s, _ = timed(lambda e=empty: _run_steps(e, per_chunk), settings.disable_gc)
            empty_chunk_s[method].append(s)
    assert model.steps == horizon and not model.running
    case = Case(
        name="layered {}/{}/{}/{}".format(*sizes),
        agents=n_agents,
        steps=per_chunk,
        repeats=chunks,
        graph_s=graph_s,
        build_s=build_s,
        step_s=min(chunk_s) / per_chunk,
        empty_build_s=min(empty_builds),
        empty_step_s={m: min(v) / per_chunk for m, v in empty_chunk_s.items()},
        sizes=sizes,
    )
    return case, model


# -- recording cost -----------------------------------------------------------------------
@dataclass
class RecordingCost:
    name: str
    periods: int
    values: int
    nbytes: int
    allocated: int

    @property
    def bytes_per_value(self) -> float:
        return self.nbytes / self.values

    @property
    def allocated_per_value(self) -> float:
        return self.allocated / self.values


def recording_cost(name: str, model: SupplyChainModel) -> RecordingCost:
    """Bytes per recorded per-agent value, as reported and as allocated."""
    rec = model.recorder
    values = rec.rows * (
        len(rec.firms.agents) * len(FIRM_VARIABLES)
        + len(rec.consumers.agents) * len(CONSUMER_VARIABLES)
    )
    return RecordingCost(
        name=name,
        periods=rec.rows,
        values=values,
        nbytes=rec.nbytes,
        allocated=rec.firms.data.nbytes + rec.consumers.data.nbytes,
    )


def recording_open_horizon() -> RecordingCost:
    """Worst case of an open horizon: 129 periods, just after the arrays doubled to 256."""
    sizes = LAYERED_SIZES[0]
    model = SupplyChainModel(layered_network(*sizes, seed=0), horizon=None, rng=1)
    _run_steps(model, 129)
    return recording_cost("layered {}/{}/{}/{}, horizon=None".format(*sizes), model)


# -- report -------------------------------------------------------------------------------
def _fmt_time(seconds: float) -> str:
    ms = seconds * 1e3
    return f"{ms:.3f} ms" if ms < 10 else f"{ms:.1f} ms"


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def report(cases: list[Case], costs: list[RecordingCost], settings: Settings, quick: bool) -> dict:
    beer, layered = cases[0], cases[1:]
    lines = []
    header = (
        f"{'case':<28}{'agents':>7}{'reps':>6}{'build':>11}{'x empty':>9}"
        f"{'pullchain':>12}{'shuffle_do':>12}{'x':>7}{'do':>11}{'x':>7}  target"
    )
    lines.append("Time per step (best of reps; beer game also per 1000 periods below)")
    lines.append(header)
    lines.append("-" * len(header))
    for c in cases:
        if c is beer:
            target = (
                f"<= {BEER_TARGET_MS:g} ms/1000: "
                f"{_verdict(c.step_s * 1e3 * BEER_PERIODS <= BEER_TARGET_MS)}"
            )
        else:
            shuffle_ok = _verdict(c.ratio("shuffle_do") <= RATIO_TARGET)
            do_ok = _verdict(c.ratio("do") <= RATIO_TARGET)
            target = f"<= {RATIO_TARGET:g}x: shuffle_do {shuffle_ok}, do {do_ok}"
        lines.append(
            f"{c.name:<28}{c.agents:>7}{c.repeats:>6}{_fmt_time(c.build_s):>11}"
            f"{c.build_ratio:>8.1f}x"
            f"{_fmt_time(c.step_s):>12}{_fmt_time(c.empty_step_s['shuffle_do']):>12}"
            f"{c.ratio('shuffle_do'):>6.1f}x{_fmt_time(c.empty_step_s['do']):>11}"
            f"{c.ratio('do'):>6.1f}x  {target}"
        )
    lines.append("")
    per_k = beer.step_s * BEER_PERIODS * 1e3
    lines.append(
        f"Beer game: {per_k:.1f} ms per {BEER_PERIODS} periods "
        f"(target {BEER_TARGET_MS:g} ms: {per_k / BEER_TARGET_MS:.2f}x the target), "
        f"construction {beer.build_s * 1e3:.2f} ms; empty-agent floor "
        f"{beer.empty_step_s['shuffle_do'] * BEER_PERIODS * 1e3:.1f} ms (shuffle_do), "
        f"{beer.empty_step_s['do'] * BEER_PERIODS * 1e3:.1f} ms (do) per {BEER_PERIODS} steps."
    )
    lines.append(
        "Layered networks: sizes are suppliers/brands/retailers/consumers; "
        "graph building (layered_network) took "
        + ", ".join(f"{c.graph_s:.2f} s" for c in layered)
        + "; steps per chunk "
        + ", ".join(str(c.steps) for c in layered)
        + "."
    )
    lines.append("")
    header = (
        f"{'recording':<40}{'periods':>8}{'values':>12}{'B/value':>9}"
        f"{'x f64':>7}{'alloc B/value':>15}  target <= {BYTES_TARGET:g} B"
    )
    lines.append(header)
    lines.append("-" * len(header))
    for r in costs:
        lines.append(
            f"{r.name:<40}{r.periods:>8}{r.values:>12}{r.bytes_per_value:>9.2f}"
            f"{r.bytes_per_value / 8:>6.2f}x{r.allocated_per_value:>15.2f}  "
            f"{_verdict(r.allocated_per_value <= BYTES_TARGET)}"
        )
    lines.append(
        f"(values = periods x (firms x {len(FIRM_VARIABLES)} + consumers x "
        f"{len(CONSUMER_VARIABLES)}); 'x f64' = B/value / 8; "
        "alloc = firms.data.nbytes + consumers.data.nbytes)"
    )
    print("\n".join(lines))

    return {
        "meta": _meta(settings, quick),
        "cases": [
            {
                **{k: v for k, v in asdict(c).items() if k != "empty_step_s"},
                "empty_step_s": c.empty_step_s,
                "ratio_shuffle_do": c.ratio("shuffle_do"),
                "ratio_do": c.ratio("do"),
                "build_ratio": c.build_ratio,
            }
            for c in cases
        ],
        "beer_ms_per_1000_periods": per_k,
        "beer_target_ms": BEER_TARGET_MS,
        "ratio_target": RATIO_TARGET,
        "recording": [
            {
                **asdict(r),
                "bytes_per_value": r.bytes_per_value,
                "allocated_per_value": r.allocated_per_value,
            }
            for r in costs
        ],
        "bytes_target": BYTES_TARGET,
    }


def _meta(settings: Settings, quick: bool) -> dict:
    return {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "mesa": mesa.__version__,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpus": os.cpu_count(),
        "quick": quick,
        "gc_disabled_in_timed_regions": settings.disable_gc,
        "settings": asdict(settings),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and steps (CI smoke)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures here")
    parser.add_argument(
        "--gc", action="store_true", help="leave the garbage collector on in timed regions"
    )
    args = parser.parse_args(argv)
    base = QUICK if args.quick else FULL
    settings = Settings(base.beer_repeats, base.layered_chunks, disable_gc=not args.gc)

    t0 = time.perf_counter()
    meta = _meta(settings, args.quick)
    print(
        f"pullchain core benchmark, {meta['date']}, Python {meta['python']}, Mesa {meta['mesa']}, "
        f"{meta['platform']}, {meta['cpus']} CPUs{', --quick' if args.quick else ''}\n"
    )
    cases = [bench_beer(settings)]
    costs = []
    for sizes, (chunks, per_chunk) in zip(LAYERED_SIZES, settings.layered_chunks, strict=True):
        case, model = bench_layered(sizes, chunks, per_chunk, settings)
        cases.append(case)
        costs.append(recording_cost(case.name, model))
        del model
    costs.append(recording_open_horizon())
    figures = report(cases, costs, settings, args.quick)
    figures["meta"]["wall_s"] = time.perf_counter() - t0
    print(f"\n(total {figures['meta']['wall_s']:.1f} s)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
        print(f"wrote {args.json}")
    return figures


if __name__ == "__main__":
    main()
