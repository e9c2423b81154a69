"""The command line, run as a user runs it: in a subprocess, looking at the files."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ENV = {**os.environ, "PYTHONHASHSEED": "0"}


def pullchain(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pullchain.runs.cli", *args],
        capture_output=True, text=True, cwd=cwd, env=ENV, timeout=300,
    )  # fmt: skip


def test_help_on_every_command_has_examples():
    for command in ([], ["run"], ["compare"], ["scenarios"]):
        result = pullchain(*command, "--help")
        assert result.returncode == 0
        assert "usage: pullchain" in result.stdout
        if command:
            assert "examples:" in result.stdout


def test_no_command_help_shows_a_doubled_percent_sign():
    from pullchain.runs.cli import build_parser

    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # argparse keeps them only here
    for name, command in commands.items():
        text = command.format_help()  # a raw description is printed as written: 95%% stays
        assert "%%" not in text, name


def test_scenarios_lists_and_shows_the_presets():
    listed = pullchain("scenarios")
    assert listed.returncode == 0
    for name in ("default", "beer-game", "serial"):
        assert name in listed.stdout
    shown = pullchain("scenarios", "show", "beer-game")
    assert shown.returncode == 0
    assert 'builder = "beer_game"' in shown.stdout


def test_compare_shows_transparency_lowers_upstream_bullwhip_and_cost(tmp_path):
    plot = tmp_path / "cmp.png"
    result = pullchain("compare", "--json", "--plot", str(plot))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    rows = {row["metric"]: row for row in data["metrics"]}
    assert data["regimes"] == ["opaque", "transparent"]
    top = max(int(m.removeprefix("bullwhip_tier")) for m in rows if m.startswith("bullwhip_tier"))
    for metric in (f"bullwhip_tier{top}", "total_cost"):
        row = rows[metric]
        assert row["transparent"] < row["opaque"]
        assert row["ci_high"] < 0  # the whole 95% interval of the paired change is below zero
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert plot.stat().st_size > 50_000  # four panels of lines, not a blank canvas


def test_compare_table_is_readable():
    result = pullchain("compare", "serial", "--replications", "3", "--steps", "200")
    assert result.returncode == 0, result.stderr
    assert "95% CI" in result.stdout
    assert "bullwhip_tier4" in result.stdout
    assert result.stderr == ""  # piped: no progress bar


def test_run_folder_reproduces_bit_for_bit(tmp_path):
    out = tmp_path / "first"
    first = pullchain("run", "--steps", "60", "--seed", "3", "--out", str(out), "--json")
    assert first.returncode == 0, first.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "scenario.toml", "summary.json", "timeseries.parquet"
    ]  # fmt: skip
    again = pullchain("run", str(out / "scenario.toml"), "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == json.loads(first.stdout)
    assert json.loads((out / "summary.json").read_text()) == json.loads(first.stdout)


def test_run_writes_a_tidy_timeseries(tmp_path):
    import pandas as pd

    out = tmp_path / "run"
    result = pullchain("run", "beer-game", "--out", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    frame = pd.read_parquet(out / "timeseries.parquet")
    assert len(frame) == 36 * 5  # four firms and the consumer market, every week
    assert {"step", "agent_id", "kind", "tier", "on_hand", "ordered"} <= set(frame.columns)


def test_json_prints_only_json():
    result = pullchain("run", "--steps", "30", "--json")
    assert result.returncode == 0
    json.loads(result.stdout)


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["run", "no-such-file.toml"], "scenario"),
        (["run", "nosuch"], "scenario"),
        (["run", "--regime", "foggy"], "regime"),
        (["run", "--seed", "1.5"], "--seed"),
        (["run", "--seed", "-4"], "--seed"),
        (["run", "--steps", "ten"], "--steps"),
        (["run", "--set", "network.lead_time=-1"], "lead_time"),
        (["run", "--set", "steps=abc"], "steps"),
        (["run", "--set", "firms.polcy=sterman"], "firms.polcy"),
        (["run", "--set", "regime.participation=2"], "participation"),
        (["run", "--set", "nonsense"], "--set"),
        (["compare", "--replications", "1"], "--replications"),
        (["compare", "--plot", "figure.gif"], "--plot"),
    ],
)
def test_bad_input_exits_2_with_one_line_naming_it(args, names, tmp_path):
    out = tmp_path / "out"
    result = pullchain(*args, "--out", str(out))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert names in lines[0]
    assert "Traceback" not in result.stderr
    assert not out.exists()  # nothing half-written
    assert result.stdout == ""


def test_a_typo_in_a_scenario_file_names_the_field(tmp_path):
    text = pullchain("scenarios", "show", "serial").stdout.replace("steps = 1000", "stpes = 1000")
    path = tmp_path / "typo.toml"
    path.write_text(text)
    result = pullchain("run", str(path))
    assert result.returncode == 2
    assert "stpes" in result.stderr


def test_an_existing_output_folder_with_files_is_refused_before_running(tmp_path):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = pullchain("run", "--out", str(out))
    assert result.returncode == 2
    assert "--out" in result.stderr
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_the_installed_command_exists():
    exe = Path(sys.executable).parent / "pullchain"
    result = subprocess.run([str(exe), "--version"], capture_output=True, text=True)
    assert result.returncode == 0
    assert result.stdout.startswith("pullchain ")


def test_the_comparison_figure_has_its_four_panels():
    from pullchain.runs.compare import compare
    from pullchain.runs.plots import comparison_figure
    from pullchain.runs.scenarios import Scenario

    scenario = Scenario.preset("beer-game")
    figure = comparison_figure(compare(scenario, replications=2))
    titles = [ax.get_title() for ax in figure.axes]
    assert titles == [
        "Orders placed per tier: opaque",
        "Orders placed per tier: transparent",
        "Stock on hand per tier",
        "Cost per run (mean and 95% CI of pairs)",
    ]
    orders = figure.axes[0]
    labels = [line.get_label() for line in orders.get_lines()]
    assert labels == ["consumer demand", "retailer", "wholesaler", "distributor", "factory"]
    # the same colour per tier as the browser app's charts
    from matplotlib.colors import to_hex

    from pullchain.runs.palette import TIER_COLORS

    colors = [to_hex(line.get_color()) for line in orders.get_lines()]
    assert colors[1:] == list(TIER_COLORS[:4])
    assert figure.axes[0].get_ylim() == figure.axes[1].get_ylim()  # one scale for both


def test_params_prints_the_declared_reference_tables(capsys):
    from pullchain.runs import cli

    assert cli.main(["params", "regimes"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| regime | parameter |") and "`vmi`" in out and "`band`" in out
    assert cli.main(["params"]) == 0
    assert "## agent-classes" in capsys.readouterr().out
    assert cli.main(["params", "nonsense"]) == 2
    assert "one of firms, consumers" in capsys.readouterr().err


def test_a_change_in_per_cent_of_a_round_off_zero_is_not_defined():
    """A mean of 1e-15 units is round-off of zero: its change in per cent is n/a, not a
    ratio of two residues (make-to-order's retailers hold nothing, to the last bits)."""
    from pullchain.runs.compare import change_pct

    assert math.isnan(change_pct(1e-16, 2e-15)) and math.isnan(change_pct(1.0, 0.0))
    assert change_pct(1.0, 4.0) == 25.0 and change_pct(-3e-10, 1e-6) == pytest.approx(-0.03)
