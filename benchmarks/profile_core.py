"""Profile the hot path of pullchain: ``run_model`` only, model construction excluded.

Usage (from the repository root)::

    .venv/bin/python benchmarks/profile_core.py beer            # beer game, 3000 periods
    .venv/bin/python benchmarks/profile_core.py layered         # 10,000 consumers, 20 steps
    .venv/bin/python benchmarks/profile_core.py beer --tool pyinstrument
    py-spy record -r 2000 -f speedscope -o beer.json -- \\
        .venv/bin/python benchmarks/profile_core.py beer --tool none

``--tool cprofile`` (default) prints the functions with the most own time (tottime)
and their share of the profiled run; ``--tool pyinstrument`` prints a call tree;
``--tool none`` just runs (for an external sampler such as py-spy).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time

from pullchain.network import beer_game, layered_network
from pullchain.runs import SupplyChainModel

CASES = {
    "beer": (lambda: beer_game(), 3000),
    "layered": (lambda: layered_network(10, 50, 200, 10_000, seed=0), 20),
}


def build(case: str, periods: int | None) -> SupplyChainModel:
    make_graph, default_periods = CASES[case]
    return SupplyChainModel(make_graph(), horizon=periods or default_periods, rng=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", choices=sorted(CASES))
    parser.add_argument("--tool", choices=("cprofile", "pyinstrument", "none"), default="cprofile")
    parser.add_argument("--periods", type=int, default=None, help="override the horizon")
    parser.add_argument("--top", type=int, default=25, help="rows of the cProfile table")
    args = parser.parse_args()

    model = build(args.case, args.periods)
    if args.tool == "none":
        t0 = time.perf_counter()
        model.run_model()
        print(f"run_model: {time.perf_counter() - t0:.3f} s for {model.steps} steps")
    elif args.tool == "pyinstrument":
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0002)
        profiler.start()
        model.run_model()
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False))
    else:
        profiler = cProfile.Profile()
        profiler.enable()
        model.run_model()
        profiler.disable()
        stats = pstats.Stats(profiler)
        total = stats.total_tt
        rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)
        print(f"cProfile of run_model ({model.steps} steps), {total:.3f} s profiled")
        print(f"{'own %':>6} {'cum %':>6} {'calls':>9}  function")
        for (path, line, name), (_cc, calls, tottime, cumtime, _) in rows[: args.top]:
            where = f"{path.rsplit('/', 2)[-2]}/{path.rsplit('/', 1)[-1]}:{line}" if line else ""
            print(
                f"{100 * tottime / total:6.1f} {100 * cumtime / total:6.1f} {calls:9d}  "
                f"{name} {where}"
            )


if __name__ == "__main__":
    main()
