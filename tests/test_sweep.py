"""Parameter sweeps: checked first, same results on every backend, nothing lost when killed.

One small sweep (8 cells x 2 regimes x 12 replications = 192 short runs, half of them
with a test policy that raises at period 3) serves every test. Its in-process result
is the reference; the command line with local processes, a Dask LocalCluster, a sweep
whose driver is SIGKILLed and resumed, and one whose worker is SIGKILLed must all
give exactly the same table (timing columns aside).
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from pullchain.runs import cli, plugins
from pullchain.runs.store import TIMING_COLUMNS, read_manifest, read_results, read_timeseries
from pullchain.runs.sweep import load_sweep, rerun, run_sweep
from pullchain.runs.sweep_file import _expand_range, run_key

ENV = {**os.environ, "PYTHONHASHSEED": "0"}


@pytest.fixture(scope="module", autouse=True)
def forget_plugins():
    """The plug-ins these sweeps load in this process are forgotten after the module."""
    with plugins.scoped():
        yield


BOOM = '''
from pullchain.agents.policies import POLICIES, OrderingPolicy


@POLICIES.register("boom_at_3")
class BoomAt3(OrderingPolicy):
    """Orders the signal, and raises at period 3 (a bug in a researcher's rule)."""

    def __init__(self, **params):
        self.params = params

    def order(self, s):
        if s.period == 3:
            raise RuntimeError("boom at period 3")
        return s.observation.demand_signal
'''

SWEEP = """
scenario = "serial"
plugins = ["boom.py"]
replications = 12
seed = 11

[set]
steps = 100
warm_up = 10

[parameters]
"network.lead_time" = [1, 3]
"network.policy" = ["order_up_to", "boom_at_3"]
"regime.participation" = { start = 0.5, stop = 1.0, num = 2 }

[record]
timeseries = true
every = 10
"""
TOTAL = 8 * 2 * 12


def write_sweep(folder: Path, text: str = SWEEP, name: str = "sweep.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "boom.py").write_text(BOOM)
    path = folder / name
    path.write_text(text)
    return path


def pullchain(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pullchain.runs.cli", *args],
        capture_output=True, text=True, env=ENV, timeout=300, **kwargs,
    )  # fmt: skip


def comparable(out: Path) -> pd.DataFrame:
    # The traceback column names source lines: it changes when the code does, not the results.
    frame = read_results(out).drop(columns=[*TIMING_COLUMNS, "traceback"])
    return frame.sort_values("run_key").reset_index(drop=True)


def raw_rows(out: Path) -> pa.Table:
    """Every row of every results file, without read_results' defensive dedupe."""
    parts = sorted((out / "results").glob("part-*.parquet"))
    schema = pa.unify_schemas([ds.dataset(p).schema for p in parts])
    return ds.dataset([str(p) for p in parts], schema=schema, format="parquet").to_table()


@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory) -> Path:
    return write_sweep(tmp_path_factory.mktemp("sweepfile"))


@pytest.fixture(scope="module")
def reference(sweep_file, tmp_path_factory) -> Path:
    """The sweep run in this process, uninterrupted."""
    out = tmp_path_factory.mktemp("ref") / "out"
    outcome = run_sweep(load_sweep(sweep_file), out, workers=1)
    assert outcome.ran == TOTAL and outcome.complete
    return out


def assert_same_results(out: Path, reference: Path) -> None:
    pd.testing.assert_frame_equal(comparable(out), comparable(reference))
    pd.testing.assert_frame_equal(read_timeseries(out), read_timeseries(reference))


# -- the reference run itself ----------------------------------------------------------------------
def test_every_run_once_pairs_share_seeds_and_failures_are_recorded(reference):
    frame = read_results(reference)
    assert len(frame) == TOTAL and frame["run_key"].is_unique
    assert raw_rows(reference).num_rows == TOTAL
    # Seeds: one per replication, shared by every cell and regime of it (paired demand).
    seeds = frame.groupby("replication")["seed"].nunique()
    assert (seeds == 1).all() and frame.groupby("seed")["replication"].nunique().max() == 1
    ok = frame[frame["status"] == "ok"]
    for _, pair in ok.groupby(["cell", "replication"]):
        assert sorted(pair["regime"]) == ["opaque", "transparent"]
        assert pair["demand_mean"].nunique() == 1  # the same consumer demand
    # The raising policy: recorded as failed, with its error and its seed; the rest ran.
    boom = frame[frame["network.policy"] == "boom_at_3"]
    assert len(boom) == TOTAL // 2 and (boom["status"] == "failed").all()
    assert boom["error"].eq("RuntimeError: boom at period 3").all()
    assert boom["traceback"].str.contains("boom at period 3").all()
    assert boom["seed"].notna().all() and boom["total_cost"].isna().all()
    assert (ok["network.policy"] == "order_up_to").all() and len(ok) == TOTAL // 2
    assert ok["total_cost"].notna().all() and ok["error"].isna().all()
    # Parameter columns keep their types; params holds them as JSON for rerun.
    assert frame["network.lead_time"].dtype == np.int64
    assert frame["regime.participation"].dtype == np.float64
    assert json.loads(frame["params"].iloc[0]) == {
        "network.lead_time": 1,
        "network.policy": "order_up_to",
        "regime.participation": 0.5,
    }
    # Time series every 10 steps, for the runs that finished.
    ts = read_timeseries(reference)
    assert set(ts["run_key"]) == set(ok["run_key"])
    steps = ts.groupby("run_key")["step"].apply(list)
    assert steps.map(lambda s: s == list(range(10, 101, 10))).all()
    manifest = read_manifest(reference)
    assert manifest["sweep_text"] == SWEEP
    assert manifest["runs"] == TOTAL and manifest["cells"] == 8
    assert {"numpy", "mesa", "networkx", "pandas", "pyarrow", "dask"} <= set(manifest["packages"])
    assert "created" in manifest and manifest["python"].startswith("3.")
    (boom,) = manifest["plugins"]
    assert boom["name"] == "boom" and boom["kind"] == "file" and len(boom["sha256"]) == 64
    assert "boom_at_3" in boom["text"] and boom["spec"].endswith("boom.py")
    assert (reference / "scenario.toml").read_text().startswith("name = ")


def test_one_agent_model_per_run_gives_the_same_table(sweep_file, reference, tmp_path):
    # The reference ran each cell as one batch (engine "auto"); the raising policy's cells
    # fell back to the agent model. Every run on the agent model: the very same table.
    out = tmp_path / "agents"
    outcome = run_sweep(load_sweep(sweep_file), out, workers=1, engine="agents")
    assert outcome.ran == TOTAL
    assert_same_results(out, reference)


def test_rerun_reproduces_a_row_bit_for_bit(reference):
    frame = read_results(reference)
    ok = frame[frame["status"] == "ok"]
    rows = [ok.iloc[0], ok.iloc[-1], ok[ok["regime"] == "transparent"].iloc[3]]
    for row in rows:
        model = rerun(row, reference)
        for metric, value in model.summary().items():
            expected = row[metric]
            assert value == expected or (math.isnan(value) and math.isnan(expected)), metric
    failed = frame[frame["status"] == "failed"].iloc[0]
    with pytest.raises(RuntimeError, match="boom at period 3"):
        rerun(failed, reference)


def test_results_folder_is_plain_parquet(reference):
    table = raw_rows(reference)
    assert table.num_rows == TOTAL
    assert set(table.column_names) >= {"run_key", "regime", "seed", "status", "total_cost"}


def test_run_key_depends_on_params_regime_and_replication():
    key = run_key({"a": 1, "b": 2.0}, "opaque", 0)
    assert key == run_key({"b": 2.0, "a": 1}, "opaque", 0)
    others = [
        run_key({"a": 1, "b": 2.0}, "transparent", 0),
        run_key({"a": 1, "b": 2.0}, "opaque", 1),
        run_key({"a": 2, "b": 2.0}, "opaque", 0),
    ]
    assert len({key, *others}) == 4


def test_ranges_expand():
    assert _expand_range("p", {"start": 0, "stop": 1, "num": 5}) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert _expand_range("p", {"start": 1, "stop": 5, "num": 3}) == [1, 3, 5]
    assert _expand_range("p", {"start": 0, "stop": 6, "step": 2}) == [0, 2, 4, 6]
    assert _expand_range("p", {"start": 0, "stop": 0.3, "step": 0.1}) == [0.0, 0.1, 0.2, 0.3]
    assert _expand_range("p", {"start": 3, "stop": 1, "step": -1}) == [3, 2, 1]


# -- backends --------------------------------------------------------------------------------------
def test_cli_with_local_processes_then_report(sweep_file, reference, tmp_path, capsys):
    out = tmp_path / "local"
    result = pullchain("sweep", str(sweep_file), "--out", str(out), "--workers", "2")
    assert result.returncode == 0, result.stderr
    assert f"{TOTAL} runs" in result.stdout and "96 failed" in result.stdout
    assert "2 local worker processes" in result.stderr
    assert_same_results(out, reference)
    assert len(list((out / "results").glob("part-*.parquet"))) > 4  # written in chunks

    assert cli.main(["sweep", str(sweep_file), "--out", str(out)]) == 0  # nothing left to do
    assert f"{TOTAL} were done before" in capsys.readouterr().out
    assert raw_rows(out).num_rows == TOTAL

    figs = tmp_path / "figs"
    shown = pullchain("report", str(out), "--out", str(figs), "--json")
    assert shown.returncode == 0, shown.stderr
    names = sorted(p.name for p in figs.iterdir())
    assert names == [
        "gain-network.lead_time.png",
        "gain-network.policy.png",
        "gain-regime.participation.png",
    ]
    for name in names:
        assert (figs / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads(shown.stdout)
    assert data["baseline"] == "opaque" and data["runs"] == TOTAL and data["failed"] == 96
    assert len(data["figures"]) == 3
    cells = [c for c in data["cells"] if c["params"]["network.policy"] == "order_up_to"]
    assert len(cells) == 4
    for cell in cells:
        cost = cell["metrics"]["total_cost"]
        assert cost["n"] == 12 and cost["ci_low"] <= cost["change"] <= cost["ci_high"]
    # lead time 3, everyone sharing: transparency cuts the upstream bullwhip, clearly
    best = next(c for c in cells if c["params"]["network.lead_time"] == 3
                and c["params"]["regime.participation"] == 1.0)  # fmt: skip
    assert best["metrics"]["bullwhip_top"]["ci_high"] < 0
    boom = [c for c in data["cells"] if c["params"]["network.policy"] == "boom_at_3"]
    assert all(c["metrics"]["total_cost"]["n"] == 0 for c in boom)

    assert cli.main(["report", str(out)]) == 0
    text = capsys.readouterr().out
    assert "total_cost: transparent - opaque" in text and "95% CI" in text
    assert "96 failed" in text


def test_report_draws_a_heatmap_when_two_parameters_vary(reference, tmp_path):
    from pullchain.runs.report import paired_table, save_figures
    from pullchain.runs.store import read_results

    frame = read_results(reference)
    frame = frame[frame["network.policy"] == "order_up_to"]
    params = ["network.lead_time", "regime.participation"]
    table = paired_table(frame, params, ["opaque", "transparent"])
    assert len(table) == 4 * 4 and (table["n"] == 12).all()
    written = save_figures(frame, table, params, ["opaque", "transparent"], tmp_path / "figs")
    assert sorted(p.name for p in written) == [
        "gain-network.lead_time.png",
        "gain-regime.participation.png",
        "heatmap-network.lead_time-regime.participation.png",
    ]


def test_dask_local_cluster_gives_the_same_results(sweep_file, reference, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:  # fmt: skip
        out = tmp_path / "dask"
        result = pullchain(
            "sweep", str(sweep_file), "--out", str(out), "--scheduler", cluster.scheduler_address
        )
    assert result.returncode == 0, result.stderr
    assert "Dask scheduler" in result.stderr
    assert_same_results(out, reference)


# -- killed and resumed ----------------------------------------------------------------------------
def start_sweep(sweep_file: Path, out: Path, log: Path) -> subprocess.Popen:
    with log.open("w") as fh:
        return subprocess.Popen(
            [sys.executable, "-m", "pullchain.runs.cli", "sweep", str(sweep_file),
             "--out", str(out), "--workers", "2"],
            stdout=fh, stderr=subprocess.STDOUT, env=ENV,
        )  # fmt: skip


def wait_for_parts(out: Path, proc: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any((out / "results").glob("part-*.parquet")):
            return
        assert proc.poll() is None, log.read_text()
        time.sleep(0.005)
    raise AssertionError("no chunk was written")


def worker_processes(psutil, driver):
    """The pool's workers: the fork server's children (or the driver's, under spawn)."""
    tree = driver.children(recursive=True)
    forked = [p for p in tree if p.ppid() != driver.pid]
    return forked or [p for p in tree if "resource_tracker" not in " ".join(p.cmdline())]


def test_driver_killed_midway_then_resumed_runs_everything_exactly_once(
    sweep_file, reference, tmp_path
):
    psutil = pytest.importorskip("psutil")
    out, log = tmp_path / "killed", tmp_path / "log.txt"
    proc = start_sweep(sweep_file, out, log)
    wait_for_parts(out, proc, log)
    everything = psutil.Process(proc.pid).children(recursive=True)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len(read_results(out))
    assert 0 < done < TOTAL, "the sweep must be cut off midway"
    # Its workers notice the driver is gone and exit: nothing is left running.
    _, alive = psutil.wait_procs(everything, timeout=10)
    assert not alive

    result = pullchain("sweep", str(sweep_file), "--out", str(out), "--workers", "2")
    assert result.returncode == 0, result.stderr
    assert f"{done} were done before" in result.stdout
    assert raw_rows(out).num_rows == TOTAL  # no row written twice
    assert_same_results(out, reference)


def test_worker_killed_midway_the_sweep_recovers_and_loses_nothing(sweep_file, reference, tmp_path):
    psutil = pytest.importorskip("psutil")
    out, log = tmp_path / "worker-killed", tmp_path / "log.txt"
    proc = start_sweep(sweep_file, out, log)
    wait_for_parts(out, proc, log)
    workers = worker_processes(psutil, psutil.Process(proc.pid))
    assert len(workers) == 2
    os.kill(workers[0].pid, signal.SIGKILL)
    assert proc.wait(timeout=120) == 0, log.read_text()
    assert "a worker process died" in log.read_text()  # it was killed mid-sweep
    assert len(read_results(out)) == TOTAL
    assert raw_rows(out).num_rows == TOTAL  # the lost chunks ran again, once
    assert_same_results(out, reference)


# -- bad input fails before any run ----------------------------------------------------------------
BAD = {
    "unknown parameter": (
        ('"network.lead_time" = [1, 3]', '"network.lead_tme" = [1, 3]'),
        'parameters."network.lead_tme"',
    ),
    "empty list": (('"network.lead_time" = [1, 3]', '"network.lead_time" = []'), "non-empty"),
    "wrong type": (
        ('"network.lead_time" = [1, 3]', '"network.lead_time" = ["one", "three"]'),
        "parameters.\"network.lead_time\": got 'one'",
    ),
    "mixed types": (('"network.lead_time" = [1, 3]', '"network.lead_time" = [1, "x"]'), "one type"),
    "bad range": (
        ("num = 2 }", "step = -0.5 }"),
        'parameters."regime.participation".step',
    ),
    "range without num or step": (("stop = 1.0, num = 2 }", "stop = 1.0 }"), "either num or step"),
    "replications not a number": (("replications = 12", 'replications = "ten"'), "replications"),
    "unknown regime": (("seed = 11", 'seed = 11\nregimes = ["opaque", "glass"]'), "regimes"),
    "unknown field": (("seed = 11", "seed = 11\nrepetitions = 3"), "repetitions"),
    "unknown scenario": (('scenario = "serial"', 'scenario = "nope.toml"'), "scenario"),
    "a service of 1": (("seed = 11", "seed = 11\nservice = 1.0"), "service"),
    "service twice": (("warm_up = 10", "warm_up = 10\nservice = 0.9"), "service"),
    "tuned and varied": (
        ('"network.lead_time" = [1, 3]', '"network.lead_time" = [1, 3]\nsafety_factor = [0, 1]'),
        "safety_factor",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_sweep_file_fails_before_any_run(case, tmp_path, capsys):
    (old, new), needle = BAD[case]
    assert old in SWEEP
    text = SWEEP.replace(old, new)
    if case in ("service twice", "tuned and varied"):  # and a target at the top
        text = text.replace("seed = 11", "seed = 11\nservice = 0.9")
    path = write_sweep(tmp_path, text)
    out = tmp_path / "out"
    assert cli.main(["sweep", str(path), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pullchain: error: ") and err.count("\n") == 1
    assert needle in err
    assert not out.exists()


def test_an_unreachable_scheduler_fails_before_any_run(sweep_file, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["sweep", str(sweep_file), "--out", str(out), "--scheduler", "tcp://127.0.0.1:1"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "--scheduler" in err and "tcp://127.0.0.1:1" in err
    assert not out.exists()


def test_resuming_with_a_different_sweep_file_names_the_difference(reference, tmp_path, capsys):
    changed = write_sweep(tmp_path, SWEEP.replace("replications = 12", "replications = 13"))
    assert cli.main(["sweep", str(changed), "--out", str(reference), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "`replications` differs" in err
    assert len(read_results(reference)) == TOTAL


def test_a_combination_invalid_at_build_time_is_recorded_as_failed(tmp_path):
    (tmp_path / "base.toml").write_text(
        'name = "short"\nsteps = 40\nwarm_up = 10\n[network]\nbuilder = "serial"\nn_stages = 2\n'
    )
    text = """
scenario = "base.toml"
replications = 2
[parameters]
steps = [20, 40]
warm_up = [5, 30]
"""
    path = write_sweep(tmp_path, text)
    out = tmp_path / "out"
    said: list[str] = []
    outcome = run_sweep(load_sweep(path), out, workers=1, say=said.append)
    assert outcome.ran == 16 and outcome.failed == 4
    assert said[0].endswith("; running 16 in this process")  # not "on in this process"
    frame = read_results(out)
    bad = frame[(frame["steps"] == 20) & (frame["warm_up"] == 30)]
    assert (bad["status"] == "failed").all() and len(bad) == 4
    assert bad["error"].str.startswith("ConfigError: warm_up: got 30").all()
    assert (frame.drop(bad.index)["status"] == "ok").all()


def test_the_docs_name_every_sweep_field_and_the_example_parses():
    from pullchain.runs.sweep_file import RANGE_FIELDS, RECORD_FIELDS, SWEEP_FIELDS

    root = Path(__file__).resolve().parents[1]
    doc = (root / "docs" / "sweeps.md").read_text(encoding="utf-8")
    for name in SWEEP_FIELDS - {"set", "parameters", "record"}:
        assert f"`{name}`" in doc, name
    for name in ("[set]", "[parameters]", *(f"[record] {f}" for f in RECORD_FIELDS)):
        assert name in doc, name
    for name in RANGE_FIELDS:
        assert name in doc
    example = load_sweep(root / "examples" / "sweep-lead-time.toml")
    assert example.describe() == (
        "9 cells x 2 regimes x 10 replications = 180 runs, "
        "each cell and regime first tuned to its service target"
    )
    assert example.base.steps == 120 and example.record_every == 5


# -- at equal service: each cell and regime tuned to the target before its runs -------------------
TUNED = """
scenario = "default"
replications = 2
seed = 5
service = 0.95

[set]
steps = 60
warm_up = 20
"firms.policy_params" = { window = 4, service_level = 0.95 }

[parameters]
"network.lead_time" = [1, 2]

[record]
timeseries = true
every = 20
"""


def test_a_tuned_sweep_tunes_each_cell_and_regime_and_resumes_to_the_same_table(tmp_path):
    from pullchain.runs.service import TOLERANCE

    path = write_sweep(tmp_path, TUNED)
    sweep = load_sweep(path)
    assert sweep.tunes and sweep.describe().endswith("tuned to its service target")
    out = tmp_path / "out"
    outcome = run_sweep(sweep, out, workers=1)
    assert outcome.ran == 8 and outcome.failed == 0
    frame = read_results(out)
    for _, group in frame.groupby(["cell", "regime"]):
        assert group["tuned_safety_factor"].nunique() == 1
        assert abs(group["fill_rate"].mean() - 0.95) <= TOLERANCE
        assert (group["tuning_runs"] % 2 == 0).all()  # whole evaluations of both replications
    row = frame.iloc[5]
    assert rerun(row, out).summary()["total_cost"] == row["total_cost"]
    series = read_timeseries(out)
    assert set(series["run_key"]) == set(frame["run_key"])

    # One group lost (its results file gone): resuming runs and tunes it again, identically.
    before = comparable(out)
    parts = sorted((out / "results").glob("part-*.parquet"))
    assert len(parts) == 4  # one file per cell and regime
    parts[2].unlink()
    again = run_sweep(load_sweep(path), out, workers=1)
    assert again.ran == 2 and again.done_before == 6
    pd.testing.assert_frame_equal(comparable(out), before)
