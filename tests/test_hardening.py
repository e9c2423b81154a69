"""Hostile but realistic input: refused before it can hang or exhaust the machine, one line
and exit 2 for every user mistake, every run exactly once, nothing read from outside.

Each case of issue 13 is a test here. The hangs run in one subprocess under an
address-space limit and a timeout, so a regression fails the test instead of taking the
machine down; the other cases call the command line in this process.
"""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pullchain.network import limits
from pullchain.network.builders import serial_chain
from pullchain.network.errors import ConfigError
from pullchain.network.io import write_network
from pullchain.runs import cli, store
from pullchain.runs.model import SupplyChainModel
from pullchain.runs.scenarios import Scenario
from pullchain.runs.sweep import load_sweep, rerun, run_sweep

ENV = {**os.environ, "PYTHONHASHSEED": "0"}
for _name in [k for k in ENV if k.startswith("PULLCHAIN_MAX_")]:
    del ENV[_name]
MEMORY = 1536 * 2**20  # a run of the default scenario needs well under 1 GiB
BIG = str(10**400)


def one_line_error(err: str, *needles: str) -> str:
    """The one line a user mistake prints; asserts there is no traceback."""
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert re.match(r"pullchain( \w+)?: error: ", lines[0]), err  # argparse names the command
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def main(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = cli.main(list(argv))
    except SystemExit as exit:  # argparse's usage errors
        code = exit.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def refused(capsys, *argv: str, names: tuple[str, ...] = ()) -> str:
    """Run the command line here; it must exit 2 with one line naming ``names``."""
    code, out, err = main(capsys, *argv)
    assert code == 2, err
    assert out == ""
    return one_line_error(err, *names)


# -- hangs and runaway memory: refused at once, under a memory limit ----------------------------
SEVEN_FIELDS = 'scenario = "serial"\n[parameters]\n' + "".join(
    f'"{field}" = [{", ".join(str(v) for v in values)}]\n'
    for field, values in [
        ("network.lead_time", range(1, 11)),
        ("network.order_delay", range(10)),
        ("network.initial_stock", range(100, 110)),
        ("network.n_stages", range(2, 12)),
        ("regime.delay", range(10)),
        ("steps", range(200, 210)),
        ("warm_up", range(10)),
    ]
)
HUGE_RANGES = """scenario = "serial"
[parameters]
"network.lead_time" = {start = 0, stop = 99999, step = 1}
"network.initial_stock" = {start = 0, stop = 1, num = 100000}
"""
BILLION_REPLICATIONS = 'scenario = "serial"\nreplications = 1000000000\n'
DOTTED = "a" + ".a" * 50_000 + " = 1\n"  # 100 KB: tomllib is quadratic in the parts

HANGS = {
    "sweep of 7 fields x 10 values": (["sweep", "{dir}/seven.toml"], "PULLCHAIN_MAX_RUNS"),
    "sweep of 2 fields x 100,000 values": (["sweep", "{dir}/huge.toml"], "PULLCHAIN_MAX_RUNS"),
    "replications = 1e9 in a sweep": (["sweep", "{dir}/billion.toml"], "PULLCHAIN_MAX_RUNS"),
    "replications = 1e9 in a scenario": (
        ["compare", "--set", "replications=1000000000"],
        "PULLCHAIN_MAX_RUNS",
    ),
    "--replications 1e9": (["compare", "--replications", "1000000000"], "PULLCHAIN_MAX_RUNS"),
    "network.n_consumers = 1e8": (
        ["run", "--set", "network.n_consumers=100000000"],
        "network.n_consumers",
    ),
    "lead_time = 1e9": (["run", "--set", "network.lead_time=1000000000"], "PULLCHAIN_MAX_DELAY"),
    "policy_params.window = 1e9": (
        ["run", "--set", "firms.policy_params={window = 1000000000}"],
        "PULLCHAIN_MAX_WINDOW",
    ),
    "policy_params.error_window = 1e9": (
        ["run", "--set", "firms.policy_params={safety_factor = 1, error_window = 1000000000}"],
        "PULLCHAIN_MAX_WINDOW",
    ),
    "regime.delay = 1e9": (
        ["run", "--regime", "transparent", "--set", "regime.delay=1000000000"],
        "PULLCHAIN_MAX_DELAY",
    ),
    "--steps 1e12": (["run", "--steps", "1000000000000"], "PULLCHAIN_MAX_RECORD_BYTES"),
    "100 KB TOML of 50,000 dotted-key parts": (["run", "{dir}/dotted.toml"], "PULLCHAIN_MAX_DEPTH"),
    "a sweep file of 50,000 dotted-key parts": (
        ["sweep", "{dir}/dotted-sweep.toml"],
        "PULLCHAIN_MAX_DEPTH",
    ),
}

RUNNER = """
import contextlib, io, json, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, ({memory}, {memory}))
from pullchain.runs.cli import main

results = {{}}
for name, argv in json.loads(sys.argv[1]).items():
    out, err = io.StringIO(), io.StringIO()
    start = time.monotonic()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit:
            code = exit.code
    seconds = time.monotonic() - start
    results[name] = {{"code": code, "out": out.getvalue(), "err": err.getvalue(), "s": seconds}}
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def hang_results(tmp_path_factory) -> tuple[dict, Path]:
    """Every hang case, in one subprocess limited to 1.5 GiB and 120 s."""
    folder = tmp_path_factory.mktemp("hangs")
    (folder / "seven.toml").write_text(SEVEN_FIELDS)
    (folder / "huge.toml").write_text(HUGE_RANGES)
    (folder / "billion.toml").write_text(BILLION_REPLICATIONS)
    (folder / "dotted.toml").write_text(DOTTED)
    (folder / "dotted-sweep.toml").write_text(DOTTED)
    cases = {}
    for name, (argv, _) in HANGS.items():
        argv = [a.replace("{dir}", str(folder)) for a in argv]
        cases[name] = [*argv, "--out", str(folder / "out" / name.replace(" ", "_"))]
    (folder / "out").mkdir()
    result = subprocess.run(
        [sys.executable, "-c", RUNNER.format(memory=MEMORY), json.dumps(cases)],
        capture_output=True, text=True, env=ENV, timeout=120, cwd=folder,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), folder


@pytest.mark.parametrize("case", list(HANGS))
def test_what_would_hang_or_exhaust_memory_is_refused_at_once(case, hang_results):
    results, folder = hang_results
    got = results[case]
    assert got["code"] == 2, got
    assert got["out"] == ""
    line = one_line_error(got["err"], HANGS[case][1])
    assert "to go beyond" in line or "far beyond" in line  # it says how to raise the limit
    assert got["s"] < 20
    assert list((folder / "out").iterdir()) == []  # nothing written


def test_a_raised_limit_is_obeyed_and_a_bad_setting_named(monkeypatch, capsys):
    monkeypatch.setenv("PULLCHAIN_MAX_AGENTS", "20")
    refused(capsys, "run", "--steps", "30", names=("PULLCHAIN_MAX_AGENTS=", "at most 20 agents"))
    monkeypatch.setenv("PULLCHAIN_MAX_AGENTS", "200")
    assert main(capsys, "run", "--steps", "30")[0] == 0
    monkeypatch.setenv("PULLCHAIN_MAX_AGENTS", "lots")
    refused(capsys, "run", "--steps", "30", names=("PULLCHAIN_MAX_AGENTS", "'lots'"))


def test_a_long_lead_time_or_delay_within_the_limit_costs_nothing():
    network = serial_chain(3, lead_time=limits.DELAY.default, initial_stock=5.0)
    model = SupplyChainModel(
        network, regime="transparent", info_delay=limits.DELAY.default, horizon=40, rng=1
    )
    model.run_model()
    assert all(len(lane.shipments) <= 40 for lane in model.lanes.values())
    assert len(model.regime.board.pos) <= 64  # rows for the periods run, not the delay
    assert model.ledger()["entered"] > 0


def test_limits_travel_with_a_sweep_task_to_its_worker(tmp_path):
    from pullchain.runs.execute import Task, run_chunk

    sweep = load_sweep(write(tmp_path / "s.toml", LEAD_SWEEP))
    runs = [r for r in sweep.runs() if r.params_dict["network.lead_time"] == 3][:2]
    args = (sweep.base, runs, 0, [])
    assert {row["status"] for row, _ in run_chunk(Task(*args))} == {"ok"}
    rows = [row for row, _ in run_chunk(Task(*args, {"PULLCHAIN_MAX_DELAY": "2"}))]
    assert all("PULLCHAIN_MAX_DELAY" in row["error"] for row in rows)


# -- exit 2 and one line for the user's own input -------------------------------------------------
def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


BAD_RUNS = {
    "demand_params that are not a table": (
        ["--set", "consumers.demand_params=lots"],
        "consumers.demand_params",
    ),
    "a 400-digit lead time": (["--set", f"network.lead_time={BIG}"], "network.lead_time"),
    "a 400-digit stock": (["--set", f"firms.initial_stock={BIG}"], "initial_stock"),
    "a 400-digit seed": (["--seed", BIG], "--seed"),
    "a 5,000-digit number": (["--set", "regime.delay=" + "9" * 5000], "regime.delay"),
    "a 400-digit --steps": (["--steps", BIG], "--steps"),
    "batch_size = 1e-320": (["--set", "kinds.retailer.batch_size=1e-320"], "batch_size"),
    "demand of 1e300": (
        ["--set", "consumers.demand_params={mean = 1e300, std = 1e300}"],
        "PULLCHAIN_MAX_QUANTITY",
    ),
    "initial_stock = 1e308": (["--set", "firms.initial_stock=1e308"], "initial_stock"),
    "label = 12": (["--set", "kinds.retailer.label=12"], "kinds.retailer.label"),
    "a --set value nested 5,000 deep": (
        ["--set", "consumers.demand_params=" + "[" * 5000 + "]" * 5000],
        "PULLCHAIN_MAX_DEPTH",
    ),
    "a --set path of 50,000 parts": (["--set", "a" + ".a" * 50_000 + "=1"], "PULLCHAIN_MAX_DEPTH"),
}


@pytest.mark.parametrize("case", list(BAD_RUNS))
def test_bad_values_exit_2_with_one_line(case, tmp_path, capsys):
    args, name = BAD_RUNS[case]
    out = tmp_path / "out"
    refused(capsys, "run", "--steps", "30", *args, "--out", str(out), names=(name,))
    assert not out.exists()


def test_deeply_nested_files_are_refused_before_parsing(tmp_path, capsys):
    toml = write(tmp_path / "deep.toml", "x = " + "[" * 5000 + "]" * 5000 + "\n")
    refused(capsys, "run", str(toml), names=("PULLCHAIN_MAX_DEPTH",))
    deep = write(tmp_path / "deep.json", "[" * 200_000 + "]" * 200_000)
    scenario = write(tmp_path / "net.toml", f'[network]\nbuilder = "file"\npath = "{deep}"\n')
    refused(capsys, "run", str(scenario), names=("deep.json", "PULLCHAIN_MAX_DEPTH"))


def test_graphml_whose_embedded_json_is_a_list(tmp_path, capsys):
    path = tmp_path / "net.graphml"
    write_network(serial_chain(3), path)
    text = path.read_text()
    key = text.split('attr.name="pullchain_json"')[0].rsplit('id="', 1)[1].split('"')[0]
    start = text.index(f'<data key="{key}">') + len(f'<data key="{key}">')
    text = text[:start] + "[1, 2]" + text[text.index("</data>", start) :]
    path.write_text(text)
    scenario = write(tmp_path / "g.toml", f'[network]\nbuilder = "file"\npath = "{path}"\n')
    refused(capsys, "run", str(scenario), names=("net.graphml", "pullchain_json"))


def test_a_sweep_range_with_a_tiny_step(tmp_path, capsys):
    text = 'scenario = "serial"\n[parameters]\n"network.initial_stock" = '
    sweep = write(tmp_path / "s.toml", text + "{start = 0, stop = 1, step = 1e-320}\n")
    refused(capsys, "sweep", str(sweep), "--out", str(tmp_path / "o"), names=("step",))
    assert not (tmp_path / "o").exists()


def test_a_byte_order_mark_is_read_as_the_editor_meant(tmp_path, capsys):
    text = 'name = "bom"\nsteps = 30\nwarm_up = 5\n[network]\nbuilder = "serial"\n'
    plain = write(tmp_path / "plain.toml", text)
    bom = tmp_path / "bom.toml"
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode())
    first = main(capsys, "run", str(plain), "--json")
    second = main(capsys, "run", str(bom), "--json")
    assert first[0] == second[0] == 0
    assert json.loads(first[1]) == json.loads(second[1])
    sweep = tmp_path / "s.toml"
    sweep.write_bytes(b"\xef\xbb\xbf" + b'scenario = "plain.toml"\nreplications = 1\n')
    assert load_sweep(sweep).n_runs == 2


def test_app_port_and_host_are_checked_and_named(capsys):
    refused(capsys, "app", "--port", "70000", names=("--port", "65535"))
    pytest.importorskip("solara")
    line = refused(capsys, "app", "--host", "999.999.1.1", "--port", "8799", names=("--host",))
    assert "--port" not in line


def test_control_characters_in_keys_never_reach_the_terminal(capsys):
    line = refused(capsys, "run", "--set", "firms.\x1b[31mpolcy\x07=x", names=("firms.",))
    assert "\x1b" not in line and "\x07" not in line and "\\x1b[31mpolcy" in line
    code, _, err = main(capsys, "run", "--set", 'nodes."\u202eevil".policy=x')
    assert code == 2 and "\u202e" not in err and "\\u202e" in err


def test_a_plugin_that_calls_sys_exit_exits_2_with_one_line(tmp_path, capsys):
    write(tmp_path / "quits.py", "import sys\nsys.exit(3)\n")
    sweep = write(tmp_path / "s.toml", 'scenario = "serial"\nplugins = ["quits.py"]\n')
    out = tmp_path / "out"
    refused(capsys, "sweep", str(sweep), "--out", str(out), names=("plugins", "SystemExit(3)"))
    assert not out.exists()


def test_a_scheduler_address_without_a_port_number_is_refused_at_once(tmp_path, capsys):
    sweep = write(tmp_path / "s.toml", LEAD_SWEEP)
    start = time.monotonic()
    refused(capsys, "sweep", str(sweep), "--out", str(tmp_path / "o"), "--scheduler",
            "tcp://127.0.0.1:http", names=("--scheduler", "port"))  # fmt: skip
    assert time.monotonic() - start < 5
    assert not (tmp_path / "o").exists()


SILENT_SCHEDULER = """
import socket, sys, threading, time
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(8)
accepted = []
threading.Thread(target=lambda: [accepted.append(listener.accept()) for _ in iter(int, 1)],
                 daemon=True).start()
from pullchain.network.errors import ConfigError
from pullchain.runs.backends import connect
start = time.monotonic()
try:
    connect(f"tcp://127.0.0.1:{listener.getsockname()[1]}", timeout=2)
except ConfigError as err:
    print(f"{time.monotonic() - start:.2f}", err)
"""


def test_a_scheduler_that_accepts_and_never_answers_fails_within_the_timeout():
    result = subprocess.run(
        [sys.executable, "-c", SILENT_SCHEDULER],
        capture_output=True, text=True, env=ENV, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    seconds, message = result.stdout.split(" ", 1)
    assert float(seconds) < 8 and "answers within 2 s" in message
    assert result.stderr == ""  # a clean close: no traceback from a client's destructor


# -- the machine: a full disk, a read-only folder -------------------------------------------------
LEAD_SWEEP = """
scenario = "serial"
replications = 2
[set]
steps = 40
warm_up = 5
[parameters]
"network.lead_time" = [1, 2, 3]
"""


def disk_full(monkeypatch, after: int) -> None:
    """The disk fills after ``after`` files: each later write lands on /dev/full, a real
    ENOSPC from the operating system."""
    real = os.fdopen
    written = []

    def fdopen(fd, mode="r", *args, **kwargs):
        if "w" not in mode:
            return real(fd, mode, *args, **kwargs)
        written.append(fd)
        if len(written) <= after:
            return real(fd, mode, *args, **kwargs)
        os.close(fd)
        return open("/dev/full", mode, *args, **kwargs)

    monkeypatch.setattr(store.os, "fdopen", fdopen)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_stops_a_sweep_with_one_line_and_loses_nothing(tmp_path, monkeypatch, capsys):
    sweep = write(tmp_path / "s.toml", LEAD_SWEEP)
    out = tmp_path / "out"
    with monkeypatch.context() as patch:
        disk_full(patch, after=4)  # the manifest, the scenario, two chunks of two runs
        refused(capsys, "sweep", str(sweep), "--out", str(out), "--workers", "1", "--quiet",
                names=("--out", "No space left on device", "resumes"))  # fmt: skip
    assert len(store.read_results(out)) == 4
    assert not list(out.rglob(".*.tmp"))  # no half-written file left behind
    code, text, _ = main(capsys, "sweep", str(sweep), "--out", str(out), "--workers", "1")
    assert code == 0 and "4 were done before" in text
    assert_exactly_once(out, 12)


def test_a_read_only_output_folder_is_one_line(tmp_path, monkeypatch, capsys):
    sweep = write(tmp_path / "s.toml", LEAD_SWEEP)

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(tmp_path / "run"))

    monkeypatch.setattr(Path, "mkdir", read_only)
    line = refused(capsys, "run", "--steps", "20", "--out", str(tmp_path / "run"))
    assert "Read-only file system" in line and str(tmp_path / "run") in line
    refused(capsys, "sweep", str(sweep), "--out", str(tmp_path / "sw"),
            names=("Read-only file system",))  # fmt: skip


def test_files_are_created_with_the_users_umask(tmp_path, capsys):
    old = os.umask(0o022)
    try:
        assert main(capsys, "run", "--steps", "20", "--out", str(tmp_path / "run"))[0] == 0
        store.atomic_write_bytes(tmp_path / "x.bin", b"x")
        os.umask(0o077)
        store.atomic_write_bytes(tmp_path / "private.bin", b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "run").stat().st_mode & 0o777 == 0o755
    assert {p.stat().st_mode & 0o777 for p in (tmp_path / "run").iterdir()} == {0o644}
    assert (tmp_path / "x.bin").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "private.bin").stat().st_mode & 0o777 == 0o600


# -- damaged sweep folders -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lead_folder(tmp_path_factory) -> Path:
    """A finished small sweep, in this process: copy it to damage it."""
    folder = tmp_path_factory.mktemp("lead")
    sweep = load_sweep(write(folder / "s.toml", LEAD_SWEEP))
    run_sweep(sweep, folder / "out", workers=1)
    return folder


def copy_of(lead_folder: Path, tmp_path: Path) -> tuple[Path, Path]:
    import shutil

    out = tmp_path / "out"
    shutil.copytree(lead_folder / "out", out, symlinks=True)
    return lead_folder / "s.toml", out


def parts(out: Path) -> list[Path]:
    return sorted((out / "results").glob("part-*.parquet"))


def foreign_table(path: Path) -> None:
    pq.write_table(pa.table({"x": [1, 2, 3]}), path)


def tampered_table(path: Path) -> None:  # rows of another sweep: its keys, our names
    table = pq.read_table(path).to_pandas()
    table["params"] = table["params"].str.replace(": 1", ": 7").str.replace(": 2", ": 7")
    pq.write_table(pa.Table.from_pandas(table, preserve_index=False), path)


DAMAGE = {
    "corrupt": lambda p: p.write_bytes(p.read_bytes()[:40] + b"\x00" * 500 + p.read_bytes()[-40:]),
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
    "empty": lambda p: p.write_bytes(b""),
    "foreign": foreign_table,
    "another sweep's rows": tampered_table,
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_report_and_resume_survive_a_damaged_chunk(damage, lead_folder, tmp_path, capsys):
    sweep, out = copy_of(lead_folder, tmp_path)
    victim = parts(out)[0]
    lost = len(pq.read_table(victim))
    DAMAGE[damage](victim)
    code, text, err = main(capsys, "report", str(out))
    assert code == 0 and f"{12 - lost} runs" in text and f"{lost} not run yet" in text
    assert victim.name in err and "Traceback" not in err  # named, left out
    code, text, err = main(capsys, "sweep", str(sweep), "--out", str(out), "--workers", "1")
    assert code == 0, err
    assert victim.name in err and "quarantine" in err
    assert f"ran {lost} now" in text
    (moved,) = (out / "quarantine" / "results").iterdir()
    assert moved.name.endswith(victim.name)
    assert_exactly_once(out, 12)


def assert_exactly_once(out: Path, total: int) -> pd.DataFrame:
    """Every run of the folder once in its Parquet files, with no defensive dedupe."""
    keys = [
        k for p in parts(out) for k in pq.read_table(p, columns=["run_key"])["run_key"].to_pylist()
    ]
    assert len(keys) == total and len(set(keys)) == total
    frame = store.read_results(out)
    assert len(frame) == total
    return frame


MANIFESTS = {
    "{}": "{}",
    "[]": "[]",
    "regimes = 5": json.dumps(
        {"spec": {"parameters": {}, "regimes": 5, "replications": 2, "seed": 1}}
    ),
    "not JSON": "{\n",
}


@pytest.mark.parametrize("manifest", list(MANIFESTS))
def test_a_bad_manifest_is_a_clear_error(manifest, lead_folder, tmp_path, capsys):
    sweep, out = copy_of(lead_folder, tmp_path)
    (out / "manifest.json").write_text(MANIFESTS[manifest])
    refused(capsys, "report", str(out), names=("manifest.json",))
    refused(capsys, "sweep", str(sweep), "--out", str(out), names=("manifest.json",))
    with pytest.raises(ConfigError, match=r"manifest\.json"):
        rerun(store.read_results(lead_folder / "out").iloc[0], out)


def test_no_symbolic_link_is_followed_out_of_a_sweep_folder(lead_folder, tmp_path, capsys):
    from pullchain.runs import app_explorer

    root = tmp_path / "sweeps"
    secret = tmp_path / "secret"
    _, linked_results = copy_of(lead_folder, root)  # root/out: results/ links outside
    _, outside = copy_of(lead_folder, secret)
    os.rename(linked_results / "results", tmp_path / "moved")
    (linked_results / "results").symlink_to(outside / "results")
    _, linked_chunk = copy_of(lead_folder, root / "two")  # root/two/out: one chunk links out
    victim = parts(linked_chunk)[0]
    victim.unlink()
    victim.symlink_to(parts(outside)[0])

    assert app_explorer.load_results(root, "out").empty
    frame = app_explorer.load_results(root, "two/out")
    assert len(frame) == 12 - len(pq.read_table(parts(outside)[0]))
    assert victim.name in " ".join(frame.attrs["damaged"])
    code, _, err = main(capsys, "report", str(linked_chunk))
    assert code == 0 and victim.name in err and "symbolic link" in err
    assert main(capsys, "report", str(linked_results))[0] == 2  # nothing it may read

    (linked_chunk / "manifest.json").rename(tmp_path / "m.json")
    (linked_chunk / "manifest.json").symlink_to(tmp_path / "m.json")
    refused(capsys, "report", str(linked_chunk), names=("symbolic link",))


def test_resume_quarantines_a_linked_chunk_and_never_touches_its_target(
    lead_folder, tmp_path, capsys
):
    sweep, out = copy_of(lead_folder, tmp_path / "a")
    _, outside = copy_of(lead_folder, tmp_path / "b")
    victim, target = parts(out)[0], parts(outside)[0]
    before = target.read_bytes()
    victim.unlink()
    victim.symlink_to(target)
    code, _, err = main(capsys, "sweep", str(sweep), "--out", str(out), "--workers", "1")
    assert code == 0 and "symbolic link" in err
    assert target.read_bytes() == before
    assert_exactly_once(out, 12)


def test_a_folder_of_the_old_double_sweep_bug_is_repaired_on_resume(lead_folder, tmp_path, capsys):
    sweep, out = copy_of(lead_folder, tmp_path)
    first = parts(out)[0]
    (first.parent / "part-99999-copy.parquet").write_bytes(first.read_bytes())
    code, _, err = main(capsys, "sweep", str(sweep), "--out", str(out), "--workers", "1")
    assert code == 0 and "written twice" in err
    assert_exactly_once(out, 12)


# -- every run exactly once ------------------------------------------------------------------------
SLOW_SWEEP = """
scenario = "serial"
replications = 6
[set]
steps = 400
warm_up = 20
[parameters]
"network.lead_time" = [1, 2, 3, 4]
"""


def pullchain(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pullchain.runs.cli", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
    )  # fmt: skip


def wait_for(condition, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


HOLDER = """
import sys, time
from pathlib import Path
from pullchain.runs.folder_lock import FolderLock
Path(sys.argv[1]).mkdir(exist_ok=True)
with FolderLock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(300)
"""


def test_a_sweep_is_refused_while_a_live_process_holds_its_folder(tmp_path):
    # Deterministic: the holder is alive for as long as the refusal takes, however fast
    # or slow the machine is.
    sweep = write(tmp_path / "s.toml", SLOW_SWEEP)
    out = tmp_path / "out"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(out)], stdout=subprocess.PIPE, text=True, env=ENV
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        proc = pullchain("sweep", str(sweep), "--out", str(out), "--workers", "1")
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 2, err
        one_line_error(err, "--out", f"pid {holder.pid}", "is writing into it")
        assert not (out / "results").exists()  # the refused sweep wrote nothing
    finally:
        holder.kill()
        holder.communicate()


def test_the_same_sweep_started_twice_on_one_folder_runs_every_run_once(tmp_path):
    # The two race: the second is refused while the first writes, or, if the first
    # finished before it looked, finds every run done. Either way each run is there once.
    sweep = write(tmp_path / "s.toml", SLOW_SWEEP)
    out = tmp_path / "out"
    both = [pullchain("sweep", str(sweep), "--out", str(out), "--workers", "1") for _ in "ab"]
    try:
        results = [proc.communicate(timeout=300) for proc in both]
    finally:
        for proc in both:
            if proc.poll() is None:
                proc.kill()
    codes = [proc.returncode for proc in both]
    assert sorted(codes) in ([0, 0], [0, 2]), results
    if sorted(codes) == [0, 2]:
        winner, loser = (0, 1) if codes[0] == 0 else (1, 0)
        one_line_error(results[loser][1], "--out", f"pid {both[winner].pid}", "is writing into it")
    assert not (out / ".pullchain.lock").exists()
    assert_exactly_once(out, 48)


def test_a_killed_sweeps_lock_is_taken_over_and_every_run_runs_once(tmp_path, capsys):
    sweep = write(tmp_path / "s.toml", LEAD_SWEEP.replace("steps = 40", "steps = 300"))
    out = tmp_path / "out"
    first = pullchain("sweep", str(sweep), "--out", str(out), "--workers", "1")
    wait_for(lambda: len(parts(out)) >= 1, first)
    first.send_signal(signal.SIGKILL)
    first.communicate()
    assert (out / ".pullchain.lock").exists() and len(parts(out)) < 12
    code, _, err = main(capsys, "sweep", str(sweep), "--out", str(out), "--workers", "1")
    assert code == 0, err
    assert f"pid {first.pid}" in err and "taking over the lock" in err
    assert_exactly_once(out, 12)


def test_a_lock_held_on_another_machine_is_refused_and_says_what_to_remove(tmp_path, capsys):
    sweep = write(tmp_path / "s.toml", LEAD_SWEEP)
    out = tmp_path / "out"
    out.mkdir()
    holder = {"host": "elsewhere-" + socket.gethostname(), "pid": 1, "started": "then"}
    (out / ".pullchain.lock").write_text(json.dumps(holder))
    refused(capsys, "sweep", str(sweep), "--out", str(out), names=("elsewhere-", "remove"))
    assert [p.name for p in out.iterdir()] == [".pullchain.lock"]


KILLER = """
import os, signal, sys, time
import psutil
driver = psutil.Process(int(sys.argv[1]))
kills = 0
while driver.is_running() and driver.status() != psutil.STATUS_ZOMBIE:
    for p in driver.children(recursive=True):
        try:
            if "resource_tracker" not in " ".join(p.cmdline()) and p.ppid() != driver.pid:
                p.kill()  # a worker forked by the fork server: the OOM killer's victim
                kills += 1
        except psutil.Error:
            pass
    time.sleep(0.05)
print(kills)
"""


def test_a_worker_killed_again_and_again_every_run_ends_ok_after_resume(tmp_path, capsys):
    pytest.importorskip("psutil")
    sweep = write(tmp_path / "s.toml", LEAD_SWEEP.replace("steps = 40", "steps = 300"))
    reference = tmp_path / "ref"
    run_sweep(load_sweep(sweep), reference, workers=1)
    out = tmp_path / "out"
    driver = pullchain("sweep", str(sweep), "--out", str(out), "--workers", "2")
    killer = subprocess.run(
        [sys.executable, "-c", KILLER, str(driver.pid)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    _, err = driver.communicate(timeout=60)
    assert driver.returncode == 0, err
    assert int(killer.stdout) >= 3, killer.stderr
    died = store.read_results(out)["error"].fillna("")
    assert died.str.startswith("WorkerDied").any()  # the kills did their harm

    code, _, err = main(capsys, "sweep", str(sweep), "--out", str(out), "--workers", "2")
    assert code == 0 and "whose worker process died" in err
    frame = assert_exactly_once(out, 12)
    assert (frame["status"] == "ok").all()
    drop = ["elapsed_s", "worker", "traceback"]
    pd.testing.assert_frame_equal(
        frame.drop(columns=drop).sort_values("run_key").reset_index(drop=True),
        store.read_results(reference)
        .drop(columns=drop)
        .sort_values("run_key")
        .reset_index(drop=True),
    )


def test_a_run_whose_worker_dies_is_retried_a_bounded_number_of_times(
    lead_folder, tmp_path, capsys
):
    sweep, out = copy_of(lead_folder, tmp_path)
    victim = parts(out)[0]
    table = pq.read_table(victim).to_pandas()
    table.loc[0, ["status", "error"]] = ["failed", "WorkerDied: killed"]
    pq.write_table(pa.Table.from_pandas(table, preserve_index=False), victim)
    key = table.loc[0, "run_key"]
    store.write_json(out / store.RETRIES, {key: int(limits.RETRIES.default)})
    code, text, err = main(capsys, "sweep", str(sweep), "--out", str(out))
    assert code == 0 and "stay failed" in err and "12 were done before" in text
    store.write_json(out / store.RETRIES, {key: int(limits.RETRIES.default) - 1})
    code, text, err = main(capsys, "sweep", str(sweep), "--out", str(out), "--workers", "1")
    assert code == 0 and "ran 1 now" in text
    assert json.loads((out / store.RETRIES).read_text()) == {key: int(limits.RETRIES.default)}
    assert (assert_exactly_once(out, 12)["status"] == "ok").all()


# -- security -------------------------------------------------------------------------------------
MARKED = """
import os
from pathlib import Path
Path(os.environ["PULLCHAIN_TEST_MARK"]).write_text("ran")
from pullchain.agents.policies import POLICIES, OrderUpTo
POLICIES.register("marked_order_up_to", replace=True)(type("Marked", (OrderUpTo,), {}))
"""
MARKED_SWEEP = """
scenario = "serial"
plugins = ["marked.py"]
replications = 2
[set]
steps = 30
warm_up = 5
[parameters]
"network.policy" = ["marked_order_up_to"]
"""
RERUN = """
import json, sys
import pandas as pd
from pullchain.network.errors import ConfigError
from pullchain.runs.sweep import rerun
row = pd.read_parquet(sys.argv[1]).iloc[0]
try:
    model = rerun(row, sys.argv[2], trust_code=sys.argv[3] == "trust")
    print(json.dumps(bool(model.summary()["total_cost"] == row["total_cost"])))
except ConfigError as err:
    print(json.dumps(str(err)))
"""


def test_rerun_runs_no_code_from_a_folder_unless_trusted(tmp_path):
    mark = tmp_path / "mark"
    env = {**ENV, "PULLCHAIN_TEST_MARK": str(mark)}
    write(tmp_path / "marked.py", MARKED)
    sweep = write(tmp_path / "s.toml", MARKED_SWEEP)
    out = tmp_path / "out"
    made = subprocess.run(
        [sys.executable, "-m", "pullchain.runs.cli", "sweep", str(sweep), "--out", str(out),
         "--workers", "1"], capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    mark.unlink()
    row = tmp_path / "row.parquet"
    store.read_results(out).to_parquet(row)

    def again(trust: str):
        result = subprocess.run(
            [sys.executable, "-c", RERUN, str(row), str(out), trust],
            capture_output=True, text=True, env=env, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    refusal = again("no")
    assert "trust_code=True" in refusal and "marked_order_up_to" in refusal
    assert not mark.exists()  # the folder's code was not run
    assert again("trust") is True and mark.exists()


def test_pyarrow_floor_excludes_the_vulnerable_release():
    from importlib.metadata import version

    from packaging.requirements import Requirement

    root = Path(__file__).resolve().parents[1]
    text = (root / "pyproject.toml").read_text()
    line = next(ln for ln in text.splitlines() if ln.strip().startswith('"pyarrow'))
    requirement = Requirement(line.strip().strip(",").strip('"'))
    assert not requirement.specifier.contains("14.0.0")  # CVE-2023-47248
    assert requirement.specifier.contains("14.0.1")
    assert requirement.specifier.contains(version("pyarrow"))


def test_messages_escape_control_characters_of_a_key():
    err = ConfigError("nodes.\x1b]0;owned\x07", "\x1b[2J", "a known field")
    assert "\x1b" not in str(err) and "\x07" not in str(err)


def test_scenario_from_python_nested_too_deep_is_a_config_error():
    data: dict = {}
    inner = data
    for _ in range(5000):
        inner["a"] = {}
        inner = inner["a"]
    with pytest.raises(ConfigError, match="PULLCHAIN_MAX_DEPTH"):
        Scenario(data)


def test_report_leaves_out_damage_but_reads_the_rest_through_the_explorer(lead_folder, tmp_path):
    from pullchain.runs import app_explorer

    _, out = copy_of(lead_folder, tmp_path / "sweeps")
    parts(out)[0].write_bytes(b"not parquet")
    frame = app_explorer.load_results(tmp_path / "sweeps", "out")
    assert 0 < len(frame) < 12 and frame.attrs["damaged"]


def test_a_thread_safe_limit_override_leaves_other_threads_alone():
    seen = []

    def other() -> None:
        seen.append(limits.AGENTS.value())

    with limits.applied({"PULLCHAIN_MAX_AGENTS": "7"}):
        assert limits.AGENTS.value() == 7
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert seen == [limits.AGENTS.default] and limits.AGENTS.value() == limits.AGENTS.default


def test_text_depth_skips_strings_and_comments():
    text = textwrap.dedent(
        """
        title = "[[[[{{{{ not nested"
        # [[[[[[[[[[ a comment
        lit = '[[[['
        multi = \"\"\"
        [[[[[[
        \"\"\"
        [a.b]
        c = [1.5, {d = 2}]
        """
    )
    assert limits.text_depth(text) == 2
    assert limits.text_depth("a" + ".b" * 10 + " = 1") == 10
    assert limits.text_depth('k = "unclosed [[[[\n[x]') == 1


def test_every_limit_is_documented_with_its_default():
    doc = (Path(__file__).resolve().parents[1] / "docs" / "scenarios.md").read_text()
    rows = {
        line.split("|")[1].strip(" `"): line
        for line in doc.splitlines()
        if line.startswith("| `PULLCHAIN_MAX_")
    }
    assert set(rows) == {limit.env for limit in limits.ALL}
    for limit in limits.ALL:
        default = rows[limit.env].split("|")[2].strip()
        assert default in (limit.format(limit.default), f"{limit.default:g}"), limit.env
