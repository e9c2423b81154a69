"""Sweep throughput: runs per second in-process, with 2 local workers, and on Dask (2 workers).

    .venv/bin/python benchmarks/bench_sweep.py [REPLICATIONS]   (default 250: 2,000 runs)

A sweep of short beer-game runs (36 periods; 4 lead times x 2 regimes x REPLICATIONS)
runs three times into fresh folders. Wall time is the whole ``run_sweep`` call: pool
or cluster start-up, every run, and writing the Parquet chunks. Printed:

- runs per second for each backend;
- parallel efficiency at 2 workers: (rate with 2 / rate with 1) / 2 (target >= 85 %);
- Dask against local processes: rate on Dask / rate with 2 local workers (within 15 %);
- overhead per run: (workers x wall - sum of run times) / sum of run times (target < 5 %),
  i.e. worker time not spent inside runs: start-up, scheduling, pickling, writing.

A Dask LocalCluster starts on loopback first (not timed), so its start-up is not counted;
the local pool's start-up is (it is part of every local sweep).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from pullchain.runs.backends import DaskCluster
from pullchain.runs.store import read_results
from pullchain.runs.sweep import parse_sweep, run_sweep

SWEEP = """
scenario = "beer-game"
replications = {replications}
seed = 1
[parameters]
"network.lead_time" = [1, 2, 3, 4]
"""


def timed(sweep, out: Path, **kwargs) -> dict[str, float]:
    start = time.perf_counter()
    outcome = run_sweep(sweep, out, **kwargs)
    wall = time.perf_counter() - start
    frame = read_results(out)
    assert len(frame) == outcome.total and (frame["status"] == "ok").all()
    return {
        "runs": outcome.total,
        "wall": wall,
        "run_s": float(frame["elapsed_s"].sum()),
        "first": outcome.first_s,
    }


def main() -> None:
    replications = int(sys.argv[1]) if len(sys.argv) > 1 else 250
    sweep = parse_sweep(SWEEP.format(replications=replications))
    n = sweep.n_runs
    load = f"{os.getloadavg()[0]:.2f}"
    print(f"sweep: {sweep.describe()} (beer game, 36 periods each)")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        results["in-process"] = (1, timed(sweep, tmp / "one", workers=1))
        results["2 local workers"] = (2, timed(sweep, tmp / "two", workers=2))
        try:
            from distributed import LocalCluster
        except ImportError:
            print("(dask distributed not installed: no Dask figure)")
        else:
            with LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address=None,
            ) as cluster:  # fmt: skip
                backend = DaskCluster(cluster.scheduler_address)
                results["Dask, 2 workers"] = (2, timed(sweep, tmp / "dask", backend=backend))
        same = [read_results(tmp / d).drop(columns=["elapsed_s", "worker"]) for d in ("one", "two")]
        assert same[0].equals(same[1]), "backends disagree"

    print(f"load average before: {load}, after: {os.getloadavg()[0]:.2f} (other work skews it)")
    head = f"{'backend':<18} {'wall s':>8} {'runs/s':>8} {'sum of runs s':>14} {'overhead':>9}"
    print(head + f" {'1st chunk s':>12}")
    rates = {}
    for name, (workers, r) in results.items():
        rate = r["runs"] / r["wall"]
        rates[name] = rate
        overhead = (workers * r["wall"] - r["run_s"]) / r["run_s"]
        print(f"{name:<18} {r['wall']:>8.2f} {rate:>8.1f} {r['run_s']:>14.2f} {overhead:>8.1%}"
              f" {r['first']:>12.2f}")  # fmt: skip
    eff = rates["2 local workers"] / rates["in-process"] / 2
    print(f"parallel efficiency at 2 workers: {eff:.1%} (target >= 85%)")
    if "Dask, 2 workers" in rates:
        ratio = rates["Dask, 2 workers"] / rates["2 local workers"]
        print(f"Dask / local processes (runs per second): {ratio:.2f} (target >= 0.85)")
    print(f"({n} runs per backend)")


if __name__ == "__main__":
    main()
