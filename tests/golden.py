"""Golden results: what every preset and every built-in default gives today, bit for bit.

``tests/golden.json`` holds, for each case, the run's summary and a SHA-256 of every
series the recorder keeps (each firm's and consumer's variables, consumer demand). A
refactoring must leave every case unchanged; a change of a default that is meant to move
results regenerates the file, on purpose, with::

    python -m tests.golden          # rewrite tests/golden.json from the current code

and says so in its commit.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from pullchain.network.builders import beer_game, layered_network, serial_chain
from pullchain.runs.model import SupplyChainModel
from pullchain.runs.recorder import CONSUMER_VARIABLES, FIRM_VARIABLES
from pullchain.runs.scenarios import Scenario, preset_names

from .helpers import theory_chain

FILE = Path(__file__).with_name("golden.json")

POLICIES = {
    "order_up_to": {},
    "order_up_to_es": {"forecast": "exponential_smoothing", "alpha": 0.4, "safety_periods": 1},
    "order_up_to_naive": {"forecast": "naive", "safety_stock": 5},
    "order_up_to_constant": {"forecast": "constant"},
    "base_stock": {},
    "s_S": {},
    "r_Q": {},
    "sterman": {},
    "make_to_order": {},
    "echelon_base_stock": {},
    # issue 9: adaptive safety stock and the board game's rules
    "order_up_to_z": {"safety_factor": 1.5, "error_window": 10},
    "order_up_to_csl": {"service_level": 0.95},
    "order_up_to_fill": {"fill_rate": 0.98, "forecast": "exponential_smoothing"},
    "base_stock_z": {"safety_factor": 1.0},
    "echelon_base_stock_csl": {"service_level": 0.9},
    "sterman_board": {"hold_periods": 4, "integer": True},
}
DEMANDS = {
    "constant": {},
    "step": {},
    "normal": {},
    "poisson": {},
    "ar1": {},
    "seasonal": {"std": 1.0},
    "fad": {"std": 1.0},
    "replay": {"series": [4.0, 9.0, 12.0, 3.0]},
}
ALLOCATIONS = ("proportional", "fcfs", "equal", "need")


def fingerprint(model: SupplyChainModel) -> dict[str, Any]:
    """The summary and a hash of every recorded series of a finished run."""
    digest = hashlib.sha256()
    rec = model.recorder
    for name in FIRM_VARIABLES:
        digest.update(np.ascontiguousarray(rec.firms.series(name)).tobytes())
    for name in CONSUMER_VARIABLES:
        digest.update(np.ascontiguousarray(rec.consumers.series(name)).tobytes())
    digest.update(np.ascontiguousarray(rec.demand_series()).tobytes())
    return {"summary": model.summary(), "series_sha256": digest.hexdigest()}


def _run(network=None, **kwargs: Any) -> dict[str, Any]:
    model = SupplyChainModel(network, **kwargs)
    model.run_model()
    return fingerprint(model)


def cases() -> dict[str, Callable[[], dict[str, Any]]]:
    """Every golden case by name, each a function that runs it."""
    out: dict[str, Callable[[], dict[str, Any]]] = {}
    for name in preset_names():
        scenario = Scenario.preset(name)
        for regime in ("opaque", scenario.shared_regime):

            def preset(scenario=scenario, regime=regime):
                model = scenario.model(regime=regime)
                model.run_model()
                return fingerprint(model)

            out[f"preset {name} {regime}"] = preset
    out["model default opaque"] = lambda: _run(horizon=120, rng=3)
    out["model default transparent"] = lambda: _run(regime="transparent", horizon=120, rng=3)
    for policy, params in POLICIES.items():
        name = policy
        for suffix in ("_es", "_naive", "_constant", "_z", "_csl", "_fill", "_board"):
            name = name.removesuffix(suffix)
        for regime in ("opaque", "transparent"):
            out[f"policy {policy} {regime}"] = lambda n=name, p=params, r=regime: _run(
                layered_network(
                    n_consumers=8, seed=4, policy=n, policy_params=p, demand_params={"std": 4.0}
                ),
                regime=r,
                horizon=80,
                rng=5,
            )
    for demand, params in DEMANDS.items():
        out[f"demand {demand}"] = lambda d=demand, p=params: _run(
            serial_chain(3, demand=d, demand_params=p), horizon=60, rng=6
        )
    for rule in ALLOCATIONS:

        def short(rule=rule):
            G = layered_network(n_consumers=10, seed=2, demand_params={"std": 5.0})
            for node, kind in G.nodes(data="kind"):
                if kind == "brand":
                    G.nodes[node]["capacity"] = 30.0
                if kind != "consumer":
                    G.nodes[node]["allocation"] = rule
                if kind == "retailer":
                    G.nodes[node]["gaming"] = 2.0
            return _run(G, regime="transparent", horizon=80, rng=7)

        out[f"allocation {rule}"] = short
    # The theory tests' chains, short: the same code paths, exactly.
    for regime in ("opaque", "transparent"):
        out[f"theory chain {regime}"] = lambda r=regime: _run(
            theory_chain(4, lead_time=2, window=5), regime=r, horizon=400, warm_up=100, rng=7
        )
        out[f"beer game {regime}"] = lambda r=regime: _run(
            beer_game(), regime=r, horizon=36, warm_up=0, rng=1
        )

    def pipeline():
        G = layered_network(n_consumers=8, seed=4)
        for node, kind in G.nodes(data="kind"):
            if kind != "consumer":
                G.nodes[node]["in_transit_holding"] = True
        return _run(G, horizon=60, rng=3)

    out["in-transit holding"] = pipeline
    out["theory base stock"] = lambda: _run(
        theory_chain(3, policy="base_stock", policy_params={}), horizon=300, warm_up=100, rng=7
    )
    out["knobs delay 2 participation 0.5"] = lambda: _run(
        layered_network(seed=1), regime="transparent", info_delay=2, participation=0.5, rng=2,
        horizon=100,
    )  # fmt: skip
    return out


def compute() -> dict[str, dict[str, Any]]:
    return {name: run() for name, run in cases().items()}


def same(a: Any, b: Any) -> bool:
    """Equal bit for bit, NaN equal to NaN."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def write() -> None:
    FILE.write_text(json.dumps(compute(), indent=1, sort_keys=True) + "\n", encoding="utf-8")


def read() -> dict[str, dict[str, Any]]:
    return json.loads(FILE.read_text(encoding="utf-8"))


if __name__ == "__main__":
    write()
    print(f"wrote {FILE} ({len(read())} cases)", file=sys.stderr)
