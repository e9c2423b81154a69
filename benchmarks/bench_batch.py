"""The batch engine and the agent model against minimal loops, each figure with its
baseline measured in the same run (these machines are shared: compare ratios).

    .venv/bin/python benchmarks/bench_batch.py            # everything, a few minutes
    .venv/bin/python benchmarks/bench_batch.py --quick    # smaller sizes, for a smoke run

Figures (issue 11):

1. 10,000 beer-game runs of 36 weeks on one core: the batch engine (``BatchModel``, every
   summary metric of every run as arrays; and ``run_batch``, which also makes one summary
   dict per run) against a minimal numpy loop stepping the same chain (Sterman's rule,
   the beer game's delays, costs and bullwhip) for the same runs in lockstep, written
   inline below. Targets: under 1 s, at most 5x the loop.
2. The default ``compare`` (10 pairs x 2 regimes x 200 periods): batch against agents.
   Target: under 0.5 s. Also at equal service, as ``pullchain compare`` now runs the
   default preset (each regime's safety factor tuned first: several times the runs).
3. A layered network of 10,000 consumers, 100 replications x 200 periods: wall time and
   peak memory (a child process each), against one agent-model run of it.
4. The agent model's beer game, 1000 periods, against a minimal pure-Python loop of the
   same chain. Target: at most 13x (0.8 of the fastest peer's 16.5x).
5. ``pullchain sweep`` of 10,000 beer-game runs with 2 workers against 1: wall time and
   parallel efficiency.

Times are the best of several repeats (``time.perf_counter``); CPU times
(``time.process_time``) are printed beside wall times where other work may share the cores.
A ratio is the median over rounds that time the baseline, the subject and the baseline
again back to back, so that a busy moment hurts both sides of it.
The minimal loops are checked to compute the same chain: their total cost and bullwhip
equal the model's to 1e-9 (relative).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from pullchain.runs.batch import run_batch
from pullchain.runs.batch_model import BatchModel
from pullchain.runs.compare import compare
from pullchain.runs.scenarios import Scenario

THETA, ALPHA, BETA, DESIRED = 0.36, 0.26, 0.34, 17.0  # Sterman's fitted rule
DELAY = 2  # weeks: mail, shipping and brewing


# -- 1. the minimal numpy loop: the beer game for N runs in lockstep ----------------------------
def beer_numpy(n: int, weeks: int = 36) -> dict[str, np.ndarray]:
    """Retailer .. factory as columns 0..3; rings of 2 slots for mail, trucks and brewing."""
    on_hand = np.full((n, 4), 12.0)
    owed = np.zeros((n, 4))
    mail = np.full((DELAY, n, 4), 4.0)  # orders on their way up to stage k (from k-1)
    trucks = np.full((DELAY, n, 4), 4.0)  # goods on their way down to stage k
    brewing = np.full((DELAY, n), 4.0)
    plan = np.full(n, 4.0)  # the factory's production request, started next week
    supply = np.full((n, 4), 16.0)
    supply[:, 3] = 12.0
    expected = np.full((n, 4), 4.0)
    placed = np.zeros((weeks, n, 4))
    cost = np.zeros(n)
    demand = np.zeros(weeks)
    for t in range(weeks):
        s = t % DELAY
        arrived = trucks[s].copy()
        arrived[:, 3] = brewing[s]
        on_hand += arrived
        supply -= arrived
        brewing[s] = plan
        plan = np.zeros(n)
        d = 4.0 if t < 4 else 8.0
        demand[t] = d
        incoming = mail[s].copy()
        incoming[:, 0] = d
        owed += incoming
        shipped = np.minimum(owed, on_hand)
        owed -= shipped
        on_hand -= shipped
        trucks[s, :, :3] = shipped[:, 1:]  # stage k ships to stage k - 1
        gap = DESIRED - (on_hand - owed) - BETA * supply
        expected = THETA * incoming + (1 - THETA) * expected
        order = np.maximum(0.0, expected + ALPHA * gap)
        mail[s, :, 1:] = order[:, :3]
        plan = order[:, 3].copy()
        supply += order
        placed[t] = order
        cost += (0.5 * on_hand + 1.0 * owed).sum(axis=1)
    bullwhip = placed.var(axis=0) / demand.var()
    return {"total_cost": cost, "bullwhip_tier4": bullwhip[:, 3]}


# -- 4. the minimal pure-Python loop: the same chain, one run -------------------------------------
def beer_python(weeks: int = 1000) -> tuple[float, list[list[float]]]:
    on_hand, owed = [12.0] * 4, [0.0] * 4
    mail = [[4.0] * 4 for _ in range(DELAY)]
    trucks = [[4.0] * 4 for _ in range(DELAY)]
    brewing, plan = [4.0] * DELAY, 4.0
    supply, expected = [16.0, 16.0, 16.0, 12.0], [4.0] * 4
    cost, placed = 0.0, []
    for t in range(weeks):
        s = t % DELAY
        arrived = [*trucks[s][:3], brewing[s]]
        brewing[s], plan = plan, 0.0
        incoming = [4.0 if t < 4 else 8.0, *mail[s][1:]]
        orders = [0.0] * 4
        for k in range(4):
            on_hand[k] += arrived[k]
            supply[k] -= arrived[k]
            owed[k] += incoming[k]
            ship = min(owed[k], on_hand[k])
            owed[k] -= ship
            on_hand[k] -= ship
            if k:
                trucks[s][k - 1] = ship
            gap = DESIRED - (on_hand[k] - owed[k]) - BETA * supply[k]
            expected[k] = THETA * incoming[k] + (1 - THETA) * expected[k]
            orders[k] = max(0.0, expected[k] + ALPHA * gap)
            supply[k] += orders[k]
            cost += 0.5 * on_hand[k] + owed[k]
        mail[s][1:] = orders[:3]
        plan = orders[3]
        placed.append(orders)
    return cost, placed


def best(fn, repeats: int) -> tuple[float, float, object]:
    """Best wall and CPU seconds of ``repeats`` calls, and the last result."""
    wall = cpu = float("inf")
    out = None
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        wall, cpu = min(wall, time.perf_counter() - w), min(cpu, time.process_time() - c)
    return wall, cpu, out


def paired(subject, baseline, rounds: int) -> dict:
    """Rounds that time ``baseline``, ``subject`` and ``baseline`` again, one after the
    other: the median of each round's ratio (subject over the faster baseline), wall and
    CPU, so a noisy moment hurts both sides of a ratio alike; and the best times."""
    walls, cpus, out = [], [], {"subject_s": math.inf, "baseline_s": math.inf}
    result = None
    for _ in range(rounds):
        times = []
        for fn in (baseline, subject, baseline):
            w, c = time.perf_counter(), time.process_time()
            value = fn()
            times.append((time.perf_counter() - w, time.process_time() - c))
            if fn is subject:
                result = value
        base_w, base_c = min(times[0][0], times[2][0]), min(times[0][1], times[2][1])
        walls.append(times[1][0] / base_w)
        cpus.append(times[1][1] / base_c)
        out["subject_s"] = min(out["subject_s"], times[1][0])
        out["baseline_s"] = min(out["baseline_s"], base_w)
    out.update(ratio=statistics.median(walls), ratio_cpu=statistics.median(cpus), result=result)
    return out


def close(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.allclose(a, b, rtol=1e-9, atol=0))


def bench_beer_batch(runs: int, repeats: int) -> dict:
    """The engine (``BatchModel`` stepped, every summary metric as one array per metric)
    and ``run_batch`` (that, and one summary dict per run, as compare and sweeps take
    them), each against the loop in rounds of their own."""
    scenario = Scenario.preset("beer-game").with_overrides(
        {"network.policy_params": {"theta": THETA, "alpha_s": ALPHA, "beta": BETA,
                                   "desired_stock": DESIRED}}  # the fitted rule, as the loop
    )  # fmt: skip
    network, regime = scenario.network(), scenario.regime("opaque")
    pairs = [("opaque", s) for s in range(runs)]

    def engine() -> dict[str, np.ndarray]:
        model = BatchModel(
            network,
            regimes=[regime] * runs,
            seeds=range(runs),
            validated=True,
            horizon=scenario.steps,
            warm_up=scenario.warm_up,
            variables=(),
        )
        return model.run().summaries()  # fmt: skip

    run_batch(scenario, pairs[:10])  # warm the imports
    arrays = paired(engine, lambda: beer_numpy(runs), repeats)
    timing = paired(lambda: run_batch(scenario, pairs), lambda: beer_numpy(runs), repeats)
    _, cpu, _ = best(lambda: run_batch(scenario, pairs), 1)
    results, base = timing["result"], beer_numpy(runs)
    same = close(np.array([r.summary["total_cost"] for r in results]), base["total_cost"])
    same &= close(np.array([r.summary["bullwhip_tier4"] for r in results]), base["bullwhip_tier4"])
    same &= close(arrays["result"]["total_cost"], base["total_cost"])
    return {"runs": runs, "engine_s": arrays["subject_s"], "engine_ratio": arrays["ratio"],
            "engine_ratio_cpu": arrays["ratio_cpu"], "batch_s": timing["subject_s"],
            "batch_cpu_s": cpu, "loop_s": timing["baseline_s"], "ratio": timing["ratio"],
            "ratio_cpu": timing["ratio_cpu"], "same_chain": same}  # fmt: skip


def bench_compare(repeats: int, service: bool = False) -> dict:
    """The default compare: 10 pairs x 2 regimes x 200 periods (``service``: at equal
    service, as ``pullchain compare`` runs the default preset, each regime tuned first)."""
    scenario = Scenario.preset("default")
    chosen = None if service else False
    compare(scenario, replications=2, service=False)
    wall, cpu, fast = best(lambda: compare(scenario, service=chosen, engine="batch"), repeats)
    base_wall, base_cpu, slow = best(lambda: compare(scenario, service=chosen, engine="agents"), 1)
    same = fast.runs.equals(slow.runs)
    runs = sum(t.runs for t in fast.tunings.values()) if service else len(fast.runs)
    return {"batch_s": wall, "batch_cpu_s": cpu, "agents_s": base_wall, "runs": runs,
            "agents_cpu_s": base_cpu, "speedup": base_wall / wall, "same_table": same}  # fmt: skip


LAYERED = """
import json, resource, sys, time
from pullchain.network import layered_network
from pullchain.runs.scenarios import Scenario
engine, reps, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
start = time.perf_counter()
scenario = Scenario({"steps": steps, "warm_up": 20, "network": {"builder": "layered",
    "n_suppliers": 10, "n_brands": 50, "n_retailers": 200, "n_consumers": 10000, "seed": 0}})
if engine == "batch":
    from pullchain.runs.batch import run_batch
    results = run_batch(scenario, [("opaque", s) for s in range(reps)])
    cost = results[0].summary["total_cost"]
else:
    model = scenario.model(regime="opaque", seed=0, record_consumers=False)
    model.run_model()
    cost = model.summary()["total_cost"]
wall = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"wall_s": wall, "peak_mib": peak, "cost": cost}))
"""


def bench_layered(reps: int, steps: int) -> dict:
    def child(engine: str, n: int) -> dict:
        out = subprocess.run(
            [sys.executable, "-c", LAYERED, engine, str(n), str(steps)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return json.loads(out.stdout)

    batch = child("batch", reps)
    agent = child("agents", 1)
    return {"replications": reps, "steps": steps, "batch_s": batch["wall_s"],
            "batch_peak_mib": batch["peak_mib"], "agent_one_run_s": agent["wall_s"],
            "agent_peak_mib": agent["peak_mib"],
            "agent_estimate_s": agent["wall_s"] * reps,
            "speedup": agent["wall_s"] * reps / batch["wall_s"],
            "same_first_run": abs(batch["cost"] - agent["cost"]) <= 1e-9 * abs(agent["cost"]),
            }  # fmt: skip


def bench_agent_beer(repeats: int) -> dict:
    from pullchain.network import beer_game
    from pullchain.runs.model import SupplyChainModel

    def agent():
        model = SupplyChainModel(beer_game(), horizon=1000, warm_up=0, rng=1)
        model.run_model()
        return model

    timing = paired(agent, lambda: beer_python(1000), repeats)
    model, (cost, _) = timing["result"], beer_python(1000)
    same = abs(model.summary()["total_cost"] - cost) <= 1e-9 * cost
    built, _, _ = best(lambda: SupplyChainModel(beer_game(), horizon=36, warm_up=0, rng=1),
                       repeats)  # fmt: skip
    short = SupplyChainModel(beer_game(), horizon=36, warm_up=0, rng=1)
    short.run_model()
    summarised, _, _ = best(short.summary, repeats)
    return {"agent_s": timing["subject_s"], "loop_s": timing["baseline_s"],
            "ratio": timing["ratio"], "ratio_cpu": timing["ratio_cpu"], "same_chain": same,
            "build_36_ms": 1000 * built, "summary_36_ms": 1000 * summarised}  # fmt: skip


SWEEP = """
scenario = "beer-game"
replications = {replications}
seed = 1
[parameters]
"network.lead_time" = [1, 2, 3, 4]
"""


def bench_sweep(runs: int) -> dict:
    from pullchain.runs.sweep import parse_sweep, run_sweep

    sweep = parse_sweep(SWEEP.format(replications=runs // 8))
    out = {"runs": sweep.n_runs}
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 2):
            start = time.perf_counter()
            run_sweep(sweep, Path(tmp) / f"w{workers}", workers=workers)
            out[f"wall_{workers}_s"] = time.perf_counter() - start
    out["efficiency"] = out["wall_1_s"] / out["wall_2_s"] / 2
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes: a smoke run")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    quick = args.quick
    load = os.getloadavg()[0]
    print(f"load average before: {load:.2f} on {os.cpu_count()} cores (a shared machine: "
          "other work skews wall times; the ratios and CPU times less)")  # fmt: skip
    figures = {}

    beer = figures["beer_batch"] = bench_beer_batch(1000 if quick else 10_000, 3 if quick else 5)
    print(f"\n1. {beer['runs']:,} beer-game runs of 36 weeks, one core: minimal numpy loop "
          f"{beer['loop_s']:.3f} s; batch engine (every summary metric, as arrays) "
          f"{beer['engine_s']:.3f} s, ratio {beer['engine_ratio']:.2f}x (CPU "
          f"{beer['engine_ratio_cpu']:.2f}x; target <= 5x); run_batch (and a summary dict per "
          f"run) {beer['batch_s']:.3f} s (CPU {beer['batch_cpu_s']:.3f} s; target < 1 s), ratio "
          f"{beer['ratio']:.2f}x (CPU {beer['ratio_cpu']:.2f}x); same chain: "
          f"{beer['same_chain']}")  # fmt: skip

    cmp = figures["compare"] = bench_compare(3 if quick else 5)
    print(f"2. default compare (10 pairs x 2 regimes x 200 periods): batch {cmp['batch_s']:.3f} s"
          f" (CPU {cmp['batch_cpu_s']:.3f} s; target < 0.5 s); agents {cmp['agents_s']:.2f} s; "
          f"{cmp['speedup']:.1f}x faster; same table: {cmp['same_table']}")  # fmt: skip
    tuned = figures["compare_at_equal_service"] = bench_compare(1, service=True)
    print(f"   ... at equal service, as `pullchain compare` runs the default preset now "
          f"({tuned['runs']} runs: each regime tuned to a fill rate of 0.98): batch "
          f"{tuned['batch_s']:.2f} s (CPU {tuned['batch_cpu_s']:.2f} s); agents "
          f"{tuned['agents_s']:.1f} s; {tuned['speedup']:.1f}x faster; same table: "
          f"{tuned['same_table']}")  # fmt: skip

    agent = figures["agent_beer"] = bench_agent_beer(5 if quick else 15)
    print(f"4. agent model, beer game 1000 periods: {1000 * agent['agent_s']:.1f} ms; minimal "
          f"pure-Python loop {1000 * agent['loop_s']:.2f} ms; ratio {agent['ratio']:.1f}x "
          f"(CPU {agent['ratio_cpu']:.1f}x; target <= 13x); same chain: {agent['same_chain']}; "
          f"a 36-week game builds in {agent['build_36_ms']:.2f} ms and summarises in "
          f"{agent['summary_36_ms']:.2f} ms")  # fmt: skip

    runs = 2_000 if quick else 10_000
    sw = figures["sweep"] = bench_sweep(runs)
    print(f"5. pullchain sweep, {sw['runs']:,} beer-game runs: 1 worker {sw['wall_1_s']:.1f} s, "
          f"2 workers {sw['wall_2_s']:.1f} s; parallel efficiency "
          f"{100 * sw['efficiency']:.0f} %")  # fmt: skip

    reps, steps = (10, 50) if quick else (100, 200)
    lay = figures["layered"] = bench_layered(reps, steps)
    print(f"3. layered network, 10,000 consumers, {lay['replications']} replications x "
          f"{lay['steps']} periods: batch {lay['batch_s']:.0f} s, peak {lay['batch_peak_mib']:.0f}"
          f" MiB; one agent-model run {lay['agent_one_run_s']:.0f} s (peak "
          f"{lay['agent_peak_mib']:.0f} MiB), so {lay['replications']} of them about "
          f"{lay['agent_estimate_s']:.0f} s: {lay['speedup']:.0f}x; first run the same: "
          f"{lay['same_first_run']}")  # fmt: skip

    print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1, default=float) + "\n")


if __name__ == "__main__":
    main()
