"""docs/scenarios.md stays honest: every field, argument, name and parameter is documented,
and every preset (and the worked example) parses, builds and runs."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from pullchain.network.params import declared
from pullchain.network.regimes import regime_knobs
from pullchain.network.schema import EDGE_DEFAULTS, NODE_DEFAULTS
from pullchain.runs import reference
from pullchain.runs.scenarios import (
    BUILDERS,
    DEFAULTS,
    TOP_LEVEL,
    Scenario,
    preset_names,
)

DOC = Path(__file__).resolve().parents[1] / "docs" / "scenarios.md"
TEXT = DOC.read_text(encoding="utf-8")
REGISTRIES = reference._registries()  # every registry, its built-in classes loaded


def _cells(text: str) -> set[str]:
    """Every cell of every Markdown table, stripped of spaces and backticks."""
    cells = set()
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("|") and line.endswith("|"):
            for cell in line.strip("|").split("|"):
                cells.add(cell.strip().strip("`").strip())
    return cells


CELLS = _cells(TEXT)


def documented(name: str) -> bool:
    """``name`` appears as `name` in backticks or as a whole table cell."""
    return f"`{name}`" in TEXT or name in CELLS


def test_the_table_reader_sees_tables_and_backticks():
    assert "field" in CELLS
    assert not documented("no_such_field_anywhere")


@pytest.mark.parametrize("kind", sorted(NODE_DEFAULTS))
def test_every_node_attribute_of_every_kind_is_documented(kind):
    assert documented(kind)
    missing = [k for k in NODE_DEFAULTS[kind] if not documented(k)]
    assert not missing, f"{kind} attributes missing from {DOC.name}: {missing}"


def test_every_edge_attribute_is_documented():
    missing = [k for k in [*EDGE_DEFAULTS, "lead_time", "label"] if not documented(k)]
    assert not missing


def test_every_top_level_field_and_its_default_is_documented():
    missing = [k for k in TOP_LEVEL if not documented(k)]
    assert not missing
    for key, value in DEFAULTS.items():
        row = next(line for line in TEXT.splitlines() if line.startswith(f"| `{key}` |"))
        assert f"`{value}`" in row, f"{key}: default {value} not in its row: {row}"


def test_every_regime_knob_is_documented():
    knobs = set(regime_knobs())
    missing = [k for k in knobs if not documented(k)]
    assert not missing


@pytest.mark.parametrize("builder", sorted(BUILDERS))
def test_every_builder_and_argument_is_documented(builder):
    assert f'builder = "{builder}"' in TEXT
    missing = [p for p in inspect.signature(BUILDERS[builder]).parameters if not documented(p)]
    assert not missing, f"arguments of {builder} missing: {missing}"
    assert 'builder = "file"' in TEXT and documented("path")


@pytest.mark.parametrize("builder", sorted(BUILDERS))
def test_builder_defaults_in_the_docs_match_the_signatures(builder):
    """Each builder's table gives every argument's default as the signature has it."""
    section = TEXT.split(f'### `builder = "{builder}"`', 1)[1].split("\n### ", 1)[0]
    for name, param in inspect.signature(BUILDERS[builder]).parameters.items():
        row = next(line for line in section.splitlines() if line.startswith(f"| `{name}` |"))
        default = param.default
        if default is None or isinstance(default, dict):
            continue  # described in words: "{}", a named preset, "steady state"
        shown = f'"{default}"' if isinstance(default, str) else str(default).lower()
        assert f"`{shown}`" in row, f"{builder}.{name}: default {shown} not in row {row}"


def test_the_generated_tables_are_current():
    """The reference tables are written from the declarations: regenerate them with
    ``python -m pullchain.runs.reference docs/scenarios.md`` after changing one."""
    assert reference.render(TEXT) == TEXT, (
        "run: python -m pullchain.runs.reference docs/scenarios.md"
    )


def builtins(registry) -> list[str]:
    """pullchain's own names (a plug-in a test loaded is none of the docs' business)."""
    return [n for n in registry if registry.get(n).__module__.startswith("pullchain.")]


@pytest.mark.parametrize("what", sorted(REGISTRIES))
def test_every_registered_name_and_parameter_is_documented(what):
    registry = REGISTRIES[what]
    for name in builtins(registry):
        assert documented(name), f"{what} {name!r} is not documented"
        missing = [p for p in declared(registry.get(name)) if not documented(p)]
        assert not missing, f"parameters of {what} {name!r} missing: {missing}"


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_parses_builds_and_steps(name):
    scenario = Scenario.preset(name)
    model = scenario.model()
    for _ in range(3):
        model.step()
    assert model.steps == 3
    assert len(model.timeseries()) > 0


def test_the_worked_example_parses_builds_and_steps(tmp_path):
    block = re.search(r"`mine\.toml`.*?```toml\n(.*?)```", TEXT, re.S)
    assert block, "the worked example is missing"
    path = tmp_path / "mine.toml"
    path.write_text(block.group(1), encoding="utf-8")
    scenario = Scenario.from_file(path)
    G = scenario.network()
    by_label = {d["label"]: d for _, d in G.nodes(data=True)}
    assert by_label["retailer 1"]["policy"] == "sterman"
    assert by_label["retailer 2"]["policy_params"]["forecast"] == "exponential_smoothing"
    assert G.nodes[0]["capacity"] == 150.0
    assert by_label["brand 1"]["capacity"] == 200.0
    for regime in ("opaque", scenario.shared_regime):
        model = scenario.model(regime=regime)
        for _ in range(3):
            model.step()


def test_extending_names_every_example_plugin_and_pastes_current_output():
    from pullchain.runs import plugins

    root = DOC.parent.parent
    extending = (root / "docs" / "extending.md").read_text(encoding="utf-8")
    readme = (root / "examples" / "README.md").read_text(encoding="utf-8")
    files = sorted(p.name for p in (root / "examples" / "plugins").glob("*.py"))
    assert files == ["noisy_pos.py", "perishable.py", "pout.py", "switching.py"]
    for name in files:
        assert f"`{name}`" in extending and f"`{name}`" in readme, name
    with plugins.scoped():  # the agent-classes table as `pullchain params` prints it now
        plugins.load_all([str(root / "examples" / "plugins" / f)
                          for f in ("switching.py", "perishable.py")])  # fmt: skip
        assert reference.agent_classes() in extending
