"""Equal service: both regimes tuned to one consumer fill rate before they are compared.

- Each regime's tuned chain-wide safety factor reaches the target within the tolerance
  (the mean fill rate over the paired replications).
- The tuner is deterministic for a seed: the same factors, the same runs, bit for bit.
- A target no safety factor reaches is one clear ConfigError, after a bounded search;
  a target of 1 (or 0) is refused before any run.
- The scenario's ``service`` and ``safety_factor`` fields, and the command line.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from pullchain.network.errors import ConfigError
from pullchain.runs.cli import main
from pullchain.runs.compare import compare, replication_seeds
from pullchain.runs.scenarios import Scenario
from pullchain.runs.service import TOLERANCE, Z_LIMIT, tune_service

from .test_cli import pullchain

ADAPTIVE = {"forecast": "moving_average", "window": 4, "service_level": 0.95}


def small(**overrides) -> Scenario:
    """The default chain, shortened, its firms on adaptive safety stock."""
    base = {"steps": 90, "warm_up": 30, "replications": 3, "firms.policy_params": ADAPTIVE}
    return Scenario.preset("default").with_overrides({**base, **overrides})


def test_both_regimes_reach_the_target_and_are_compared_there():
    comparison = compare(small(), service=0.97)
    assert set(comparison.tunings) == {"opaque", "transparent"}
    runs = comparison.runs
    for regime, tuning in comparison.tunings.items():
        assert tuning.reached
        assert abs(tuning.fill_rate - 0.97) <= TOLERANCE
        mine = runs[runs.regime == regime]
        assert (mine.safety_factor == tuning.safety_factor).all()
        assert mine.fill_rate.mean() == pytest.approx(tuning.fill_rate, rel=1e-12)
        assert tuning.runs == len(tuning.evaluations) * 3 and tuning.runs <= 3 * 12
    table = comparison.table()
    assert abs(table.loc["fill_rate", "change"]) <= 2 * TOLERANCE
    assert comparison.service == 0.97


def test_the_tuner_is_deterministic_for_a_seed():
    seeds = replication_seeds(5, 3)
    one = tune_service(small(), 0.96, regime="opaque", seeds=seeds)
    two = tune_service(small(), 0.96, regime="opaque", seeds=seeds)
    assert one.record() == two.record()
    assert [e.summaries for e in one.evaluations] == [e.summaries for e in two.evaluations]


def test_a_target_above_what_the_chain_can_serve_is_a_clear_error_after_a_bounded_search():
    # Suppliers that can make half of what consumers ask: no safety stock fills the gap.
    scenario = small(**{"kinds.supplier.capacity": 150.0, "consumers.backorder": False})
    runs = []
    with pytest.raises(ConfigError) as err:
        tune_service(
            scenario, 0.95, regime="opaque", seeds=replication_seeds(1, 2), progress=runs.append
        )
    assert err.value.field == "service"
    assert f"at a safety factor of {Z_LIMIT:g}" in err.value.expected
    assert sum(runs) == 2 * 4  # z = 0, 2, 4, 8: the bracket, widened, then given up (runs)


@pytest.mark.parametrize("target", [1.0, 0.0, 1.5, "high"])
def test_an_impossible_target_is_refused_before_any_run(target):
    runs = []
    with pytest.raises(ConfigError) as err:
        compare(small(**{"consumers.backorder": False}), service=target, progress=runs.append)
    assert err.value.field == "service" and not runs


def test_the_scenarios_service_field_asks_compare_for_equal_service():
    via_field = compare(small(service=0.96))
    via_argument = compare(small(), service=0.96)
    assert via_field.runs.equals(via_argument.runs)
    off = compare(small(service=0.96), service=False)
    assert not off.tunings and "safety_factor" not in off.runs


def test_the_chain_wide_safety_factor_replaces_each_firms_own_target():
    G = small(safety_factor=1.25).network()
    firms = [d for _, d in G.nodes(data=True) if d["kind"] != "consumer"]
    for attrs in firms:
        assert attrs["policy_params"]["safety_factor"] == 1.25
        assert "service_level" not in attrs["policy_params"]
    with pytest.raises(ConfigError) as err:
        Scenario.preset("beer-game").with_overrides({"safety_factor": 1.0})
    assert err.value.field == "safety_factor"
    with pytest.raises(ConfigError):
        small(safety_factor="lots")


def test_the_tuned_run_is_the_scenario_with_its_factor():
    """A tuned row is reproduced by running the scenario with that safety factor."""
    comparison = compare(small(), service=0.97)
    row = comparison.runs.iloc[1]
    again = small(safety_factor=row.safety_factor).model(regime=row.regime, seed=int(row.seed))
    again.run_model()
    assert again.summary()["total_cost"] == row.total_cost


def test_the_command_line_compares_at_equal_service(capsys):
    args = ["--steps", "90", "--replications", "3", "--set", "warm_up=30"]
    params = "firms.policy_params={ forecast = 'moving_average', window = 4, service_level = 0.95 }"
    assert main(["compare", *args, "--set", params, "--service", "0.97", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["service"] == 0.97
    for regime in ("opaque", "transparent"):
        tuning = data["tuning"][regime]
        assert tuning["reached"] and abs(tuning["fill_rate"] - 0.97) <= TOLERANCE
        assert tuning["runs"] == 3 * len(tuning["evaluations"])
    assert main(["compare", *args, "--set", params, "--service", "0.97", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "safety factor z" in text and "fill rate reached" in text
    assert main(["compare", *args, "--set", "service=0.97", "--service", "off", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["tuning"] is None


def test_an_impossible_target_on_the_command_line_is_one_line_and_exit_2():
    bad = pullchain("compare", "--steps", "60", "--set", "warm_up=10", "--service", "1.0")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "service" in bad.stderr


def test_fill_rate_rises_with_the_safety_factor_on_common_random_numbers():
    """What the search relies on: on the same seeds, more safety stock serves better."""
    seeds = replication_seeds(3, 2)

    def fill(z: float) -> float:
        rates = []
        for seed in seeds:
            model = small(safety_factor=z).model(regime="opaque", seed=seed)
            model.run_model()
            rates.append(model.summary()["fill_rate"])
        return float(np.mean(rates))

    fills = [fill(z) for z in (0.0, 0.5, 1.0, 2.0)]
    assert all(np.diff(fills) > 0), fills
