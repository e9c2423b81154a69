"""Plug-ins: loaded from files, modules and installed packages, recorded with every output,
loaded again by a re-run; a bad one is exit 2 in one line, with nothing half written."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pullchain.agents.policies import POLICIES
from pullchain.network.errors import ConfigError
from pullchain.runs import plugins
from pullchain.runs.scenarios import Scenario

RULE = '''
from pullchain.agents.policies import POLICIES, OrderingPolicy
from pullchain.network.params import Param


@POLICIES.register("{name}")
class Twice(OrderingPolicy):
    """Orders `factor` times the signal."""

    params = {{"factor": Param(2.0, "orders are this many times the signal", minimum=0)}}

    def order(self, s):
        return self.factor * s.observation.demand_signal
'''


@pytest.fixture(autouse=True)
def forget():
    """Whatever a test loads is forgotten after it (registries, modules, records)."""
    with plugins.scoped():
        yield


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def pullchain(*args: str, cwd: Path | None = None, env: dict | None = None):
    return subprocess.run(
        [sys.executable, "-m", "pullchain.runs.cli", *args],
        capture_output=True, text=True, timeout=300, cwd=cwd, env=env,
    )  # fmt: skip


def test_a_file_loads_once_under_its_name_and_again_is_harmless(tmp_path):
    path = write(tmp_path, "twice_rule.py", RULE.format(name="twice"))
    first = plugins.load(str(path))
    again = plugins.load("twice_rule.py", folder=tmp_path)
    assert first is again and first.name == "twice_rule" and first.kind == "file"
    assert "twice" in POLICIES and sys.modules["twice_rule"].Twice is POLICIES.get("twice")
    assert len(first.sha256) == 64 and first.spec == str(path)


def test_a_copy_elsewhere_is_harmless_and_another_file_of_that_name_is_refused(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one = write(tmp_path / "a", "copied_rule.py", RULE.format(name="copied"))
    two = write(tmp_path / "b", "copied_rule.py", RULE.format(name="copied"))
    assert plugins.load(str(one)).sha256 == plugins.load(str(two)).sha256
    other = write(tmp_path, "copied_rule.py", RULE.format(name="another"))
    with pytest.raises(ConfigError, match="rename one"):
        plugins.load(str(other))


def test_one_plugin_file_imports_another_in_either_order(tmp_path):
    write(tmp_path, "base_rule.py", RULE.format(name="base_twice"))
    write(tmp_path, "derived_rule.py", """
        from base_rule import Twice
        from pullchain.agents.policies import POLICIES


        @POLICIES.register("thrice")
        class Thrice(Twice):
            params = {**Twice.params}
            params["factor"] = params["factor"].__class__(3.0, "three times")
    """)  # fmt: skip
    plugins.load_all(["derived_rule.py", "base_rule.py"], folder=tmp_path)
    assert POLICIES.create("thrice", {}).factor == 3.0
    assert issubclass(POLICIES.get("thrice"), POLICIES.get("base_twice"))


def test_a_reimported_plugin_registers_again_without_complaint(tmp_path):
    path = write(tmp_path, "again_rule.py", RULE.format(name="again"))
    plugins.load(str(path))
    path.write_text(RULE.format(name="again") + "\n# edited\n", encoding="utf-8")
    plugins.load(str(path))  # the same file, changed: imported again, registered again
    assert POLICIES.get("again") is sys.modules["again_rule"].Twice


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("def broken(:\n", "SyntaxError"),
        ("raise RuntimeError('no licence')\n", "RuntimeError: no licence"),
        ("import sys\nsys.exit(3)\n", "SystemExit(3)"),
        ("import no_such_dependency_here\n", "No module named 'no_such_dependency_here'"),
    ],
)
def test_a_bad_plugin_file_is_one_config_error_and_takes_back_its_registrations(
    tmp_path, text, words
):
    path = write(tmp_path, "bad_rule.py", RULE.format(name="half_done") + text)
    with pytest.raises(ConfigError) as err:
        plugins.load(str(path))
    assert err.value.field == "--plugin" and err.value.value == str(path)
    assert words in str(err.value)
    assert "half_done" not in POLICIES and "bad_rule" not in sys.modules


def test_a_plugin_file_named_like_a_module_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="rename it"):
        plugins.load(str(write(tmp_path, "json.py", "x = 1\n")))


def test_the_scenario_loads_its_own_plugins_relative_to_itself(tmp_path):
    write(tmp_path, "twice_rule.py", RULE.format(name="twice"))
    scenario = write(tmp_path, "s.toml", """
        plugins = ["twice_rule.py"]
        steps = 20
        warm_up = 2
        [network]
        builder = "serial"
        [firms]
        policy = "twice"
        policy_params = { factor = 1.5 }
    """)  # fmt: skip
    s = Scenario.from_file(scenario)
    assert [p.name for p in s.plugins] == ["twice_rule"]
    model = s.model()
    assert all(f.policy.factor == 1.5 for f in model.firms)
    assert s.resolved().data["plugins"] == [str(tmp_path / "twice_rule.py")]


def test_an_unknown_name_says_how_to_add_one():
    with pytest.raises(ConfigError) as err:
        Scenario({"network": {"builder": "serial"}, "firms": {"policy": "nope"}})
    assert "POLICIES.register" in err.value.expected and "--plugin" in err.value.expected


# -- through the command line ---------------------------------------------------------------
SCENARIO = """
steps = 30
warm_up = 5
[network]
builder = "serial"
[firms]
policy = "twice"
"""


def test_run_records_the_plugin_and_its_scenario_runs_again_bit_for_bit(tmp_path):
    (tmp_path / "rules").mkdir()
    rule = write(tmp_path / "rules", "twice_rule.py", RULE.format(name="twice"))
    write(tmp_path, "s.toml", SCENARIO)
    out = tmp_path / "out"
    done = pullchain("run", "s.toml", "--plugin", "rules/twice_rule.py", "--out", "out",
                     "--json", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    (record,) = summary["plugins"]
    assert record["name"] == "twice_rule" and record["spec"] == str(rule)
    assert record["sha256"] == plugins._sha(rule.read_text())
    again = pullchain("run", str(out / "scenario.toml"), "--json", cwd="/")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == summary  # bit for bit, the plug-in recorded the same
    rule.unlink()
    gone = pullchain("run", str(out / "scenario.toml"))
    assert gone.returncode == 2 and len(gone.stderr.strip().splitlines()) == 1
    assert "plugins" in gone.stderr and "twice_rule.py" in gone.stderr
    assert "does not exist" in gone.stderr


@pytest.mark.parametrize(
    ("plugin", "words"),
    [
        ("no_such_plugin_module", "No module named 'no_such_plugin_module'"),
        ("missing.py", "does not exist"),
        ("syntax.py", "SyntaxError"),
        ("raises.py", "ValueError: bad"),
        ("exits.py", "SystemExit(1)"),
    ],
)
@pytest.mark.parametrize("command", ["run", "compare", "sweep"])
def test_a_bad_plugin_is_exit_2_in_one_line_with_nothing_written(tmp_path, plugin, words, command):
    write(tmp_path, "syntax.py", "def f(:\n")
    write(tmp_path, "raises.py", "raise ValueError('bad')\n")
    write(tmp_path, "exits.py", "raise SystemExit(1)\n")
    write(tmp_path, "sweep.toml", 'scenario = "serial"\nreplications = 2\n')
    target = ["sweep.toml"] if command == "sweep" else ["serial"]
    done = pullchain(command, *target, "--plugin", plugin, "--out", "out", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pullchain: error: --plugin: got")
    assert plugin in lines[0] and words in lines[0]
    assert not (tmp_path / "out").exists()


def test_a_bad_class_parameter_is_exit_2_in_one_line(tmp_path):
    write(tmp_path, "twice_rule.py", RULE.format(name="twice"))
    done = pullchain("run", "serial", "--plugin", "twice_rule.py", "--set", "firms.policy=twice",
                     "--set", "firms.policy_params={ factor = -1.0 }", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert "policy.factor: got -1.0, expected a number >= 0" in line


def test_an_installed_plugin_is_found_by_its_entry_point(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    write(site, "acme_rules.py", RULE.format(name="acme_twice"))
    info = site / "acme_rules-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-rules\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text("[pullchain.plugins]\nacme = acme_rules\n")
    (info / "top_level.txt").write_text("acme_rules\n")
    env = {**__import__("os").environ, "PYTHONPATH": str(site)}
    args = ["--set", "firms.policy=acme_twice", "--set", "firms.policy_params={}"]
    done = pullchain("run", "serial", *args, "--steps", "20", "--json", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    (record,) = json.loads(done.stdout)["plugins"]
    assert record == {"name": "acme_rules", "spec": "acme_rules", "kind": "entry point",
                      "version": "1.2.3", "sha256": None}  # fmt: skip
