"""Golden comparison: every preset's results, to prove a change keeps them bit for bit.

    .venv/bin/python benchmarks/golden.py write golden.json   # before the change
    .venv/bin/python benchmarks/golden.py check golden.json   # after it: exit 1 on a difference

For each preset, under opaque and its shared regime, on the preset's first two
replication seeds: the summary, and a digest of every recorded firm and consumer
value (exact bits). ``check`` prints each metric that moved, with its relative change.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys

from pullchain.runs.compare import replication_seeds
from pullchain.runs.scenarios import Scenario, preset_names


def results() -> dict[str, dict]:
    out = {}
    for name in preset_names():
        scenario = Scenario.preset(name)
        for regime in ("opaque", scenario.shared_regime):
            for seed in replication_seeds(scenario.seed, 2):
                model = scenario.model(regime=regime, seed=seed)
                model.run_model()
                rec = model.recorder
                digest = hashlib.sha256()
                for group in (rec.firms, rec.consumers):
                    digest.update(group.data[: group.rows].tobytes())
                digest.update(rec.demand_series().tobytes())
                out[f"{name}/{regime}/{seed}"] = {
                    "summary": {k: float(v) for k, v in model.summary().items()},
                    "series": digest.hexdigest(),
                }
    return out


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def main() -> int:
    action, path = sys.argv[1], sys.argv[2]
    now = results()
    if action == "write":
        with open(path, "w") as f:
            json.dump(now, f, indent=1, sort_keys=True)
        print(f"wrote {len(now)} runs to {path}")
        return 0
    with open(path) as f:
        before = json.load(f)
    moved = 0
    for key, run in before.items():
        series_same = run["series"] == now[key]["series"]
        for metric, old in run["summary"].items():
            new = now[key]["summary"].get(metric, math.nan)
            if not same(old, new):
                moved += 1
                rel = abs(new - old) / max(abs(old), 1e-300)
                print(f"{key}: {metric} {old!r} -> {new!r} (relative {rel:.2e})")
        if not series_same:
            moved += 1
            print(f"{key}: recorded series differ")
    verdict = f"{moved} differences" if moved else "all identical bit for bit"
    print(f"{len(before)} runs: {verdict}")
    return 1 if moved else 0


if __name__ == "__main__":
    sys.exit(main())
