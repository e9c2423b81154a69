"""The equal-service comparison on the default scenario: model runs and time, in one run.

Run from the repository root::

    .venv/bin/python benchmarks/bench_service.py            # the default, 10 pairs
    .venv/bin/python benchmarks/bench_service.py --json bench-service.json

What ``pullchain compare`` does on the default scenario (``service = 0.98``): tune each
regime's chain-wide safety factor to a 98 % consumer fill rate over the 10 paired
replications, then compare the runs at the tuned factors. Measured in the same run, as
the baseline: the plain comparison (``service`` off, 20 runs) on the same scenario. The
figures are wall and CPU time, the model runs the search needed per regime, and the
ratio of the equal-service comparison to the plain one (machines here are shared:
compare ratios; the CPU time is less disturbed by other work than the wall time).
Target: the equal-service comparison finishes in under a minute.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

from pullchain.runs.compare import compare
from pullchain.runs.scenarios import Scenario

TARGET_S = 60.0


def timed(scenario: Scenario, service) -> tuple[float, float, object]:
    wall, cpu = time.perf_counter(), time.process_time()
    comparison = compare(scenario, service=service)
    return time.perf_counter() - wall, time.process_time() - cpu, comparison


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args()
    scenario = Scenario.preset("default")
    load = os.getloadavg()[0]
    plain_wall, plain_cpu, plain = timed(scenario, False)
    tuned_wall, tuned_cpu, tuned = timed(scenario, None)  # the scenario's own service
    plain_runs = len(plain.runs)
    tuning = {r: t.record() for r, t in tuned.tunings.items()}
    tuned_runs = sum(t["runs"] for t in tuning.values())

    machine = platform.processor() or platform.machine()
    after = os.getloadavg()[0]
    print(f"{machine}, Python {sys.version.split()[0]}, load average before {load:.2f}, "
          f"after {after:.2f} (a shared machine)")  # fmt: skip
    print(f"default scenario, {len(tuned.seeds)} paired replications, {scenario.steps} periods")
    print(f"{'comparison':<34} {'model runs':>10} {'wall s':>8} {'CPU s':>8} {'s / run':>8}")
    for name, runs, wall, cpu in (
        ("plain (service off)", plain_runs, plain_wall, plain_cpu),
        (f"at equal service ({tuned.service:.0%})", tuned_runs, tuned_wall, tuned_cpu),
    ):
        print(f"{name:<34} {runs:>10} {wall:>8.1f} {cpu:>8.1f} {cpu / runs:>8.3f}")
    for regime, t in tuning.items():
        steps = ", ".join(f"z={z:.3f}: {fill:.4f}" for z, fill in t["evaluations"])
        print(f"  {regime:<12} {t['runs']} runs, z = {t['safety_factor']:.3f}, "
              f"fill rate {t['fill_rate']:.4f} ({steps})")  # fmt: skip
    print(f"equal service / plain: {tuned_runs / plain_runs:.1f}x the runs, "
          f"{tuned_cpu / plain_cpu:.1f}x the CPU time, "
          f"{tuned_wall / plain_wall:.1f}x the wall time")  # fmt: skip
    verdict = "ok" if tuned_wall < TARGET_S else "MISSED"
    print(f"equal-service comparison: {tuned_wall:.1f} s wall "
          f"(target < {TARGET_S:.0f} s): {verdict}")  # fmt: skip
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(
                {"plain": {"runs": plain_runs, "wall_s": plain_wall, "cpu_s": plain_cpu},
                 "equal_service": {"runs": tuned_runs, "wall_s": tuned_wall, "cpu_s": tuned_cpu,
                                   "tuning": tuning},
                 "load_before": load},
                fh, indent=2,
            )  # fmt: skip


if __name__ == "__main__":
    main()
