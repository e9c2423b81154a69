"""The inventory-service frontier: both regimes over a range of safety factors, one figure."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from pullchain.network.errors import ConfigError
from pullchain.runs.cli import main
from pullchain.runs.frontier import Frontier, frontier, parse_factors
from pullchain.runs.plots import frontier_figure, save_frontier_figure
from pullchain.runs.scenarios import Scenario

from .test_cli import pullchain
from .test_service import small


@pytest.fixture(scope="module")
def traced() -> Frontier:
    return frontier(small(service=0.97), factors=(0.0, 1.0, 2.0), replications=3)


def test_each_regime_buys_more_service_with_more_stock_on_the_same_seeds(traced):
    table = traced.table()
    assert len(table) == 2 * 3
    for regime in ("opaque", "transparent"):
        points = table[table.regime == regime].sort_values("safety_factor")
        assert all(np.diff(points.fill_rate) > 0)
        assert all(np.diff(points.on_hand_mean) > 0)
        assert (points.fill_rate_ci > 0).all() and (points.on_hand_mean_ci > 0).all()
    runs = traced.runs
    assert len(runs) == 2 * 3 * 3
    seeds = runs.groupby(["regime", "safety_factor"]).seed.apply(tuple)
    assert seeds.nunique() == 1  # every point on the same demand


def test_the_distance_between_the_curves_is_read_off_each_curve(traced):
    points = traced.table()
    opaque = points[points.regime == "opaque"].sort_values("safety_factor")
    middle = float(opaque.fill_rate.iloc[:2].mean())
    expected = float(opaque.on_hand_mean.iloc[:2].mean())  # halfway between two points
    assert traced.at_fill("opaque", middle) == pytest.approx(expected)
    assert math.isnan(traced.at_fill("opaque", 0.01))  # outside the range traced
    # On this chain sharing data needs less stock for the same service.
    assert traced.at_fill("transparent", 0.97) < traced.at_fill("opaque", 0.97)


def test_the_figure_has_both_panels_and_is_written(traced, tmp_path):
    fig = frontier_figure(traced)
    axes = fig.get_axes()
    assert len(axes) == 2
    assert axes[0].get_yscale() == "logit" and axes[1].get_xscale() == "logit"
    assert "stock" in axes[0].get_xlabel() and "cost" in axes[1].get_ylabel()
    path = save_frontier_figure(traced, tmp_path / "frontier.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 60_000


@pytest.mark.parametrize(
    ("text", "values"), [("0,0.5,1", (0.0, 0.5, 1.0)), ("0:1:0.25", (0, 0.25, 0.5, 0.75, 1))]
)
def test_factors_from_the_command_line(text, values):
    assert parse_factors(text) == pytest.approx(values)


@pytest.mark.parametrize(
    "text", ["0:1", "1:0:0.5", "a,b", "0:1:0", "0:inf:1", "-inf:0:1", "0:3:1e-320", "0:1e9:1"]
)
def test_bad_factors_are_config_errors(text):
    with pytest.raises(ConfigError):  # an endless or huge range too, before it is listed
        parse_factors(text)


def test_one_factor_or_no_firm_that_takes_one_is_refused():
    with pytest.raises(ConfigError):
        frontier(small(), factors=(1.0,))
    with pytest.raises(ConfigError) as err:
        frontier(Scenario.preset("beer-game"), factors=(0.0, 1.0))
    assert err.value.field == "safety_factor"


def test_the_command_line_prints_and_writes_the_frontier(tmp_path, capsys):
    args = ["frontier", "--steps", "90", "--set", "warm_up=30", "--replications", "2"]
    args += ["--set", "firms.policy_params={ window = 4, service_level = 0.95 }"]
    out, plot = tmp_path / "front", tmp_path / "f.png"
    code = main([*args, "--factors", "0,1,2", "--service", "0.97", "--out", str(out),
                 "--plot", str(plot), "--quiet"])  # fmt: skip
    assert code == 0
    text = capsys.readouterr().out
    assert "inventory-service frontier" in text and "at a fill rate of 97.0%" in text
    record = json.loads((out / "frontier.json").read_text())
    assert len(record["points"]) == 6 and record["service"] == 0.97
    assert pd.read_parquet(out / "runs.parquet").shape[0] == 2 * 3 * 2
    assert plot.stat().st_size > 50_000
    bad = pullchain("frontier", "beer-game", "--factors", "0,1")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1


def test_a_service_outside_the_curves_prints_n_a_not_nan(capsys):
    args = ["frontier", "--steps", "60", "--set", "warm_up=20", "--replications", "2"]
    assert main([*args, "--factors", "0,0.5", "--service", "0.9999", "--quiet"]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert "transparent n/a (n/a, n/a)" in last and "nan" not in last
