"""The browser app without a browser: Solara's renderer, the data behind the charts,
the sweep explorer's folder guard, and the ``pullchain app`` command line.

Browser tests (a real Chromium) are in test_app_browser.py.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

solara = pytest.importorskip("solara", reason="the app extra (pip install 'pullchain[app]')")
import ipyvuetify as v  # noqa: E402

from pullchain.network.errors import ConfigError  # noqa: E402
from pullchain.runs import app, app_data  # noqa: E402
from pullchain.runs.app_data import Controls, NetworkView, Pair  # noqa: E402
from pullchain.runs.scenarios import Scenario  # noqa: E402


@pytest.fixture(autouse=True)
def _scenario(monkeypatch, tmp_path):
    monkeypatch.setenv(app.ENV_SCENARIO, "default")
    monkeypatch.setenv(app.ENV_RESULTS, str(tmp_path / "sweeps"))


def render(page: str = "chains") -> tuple:
    """Render the app's frame around one page: (render context, the page's Session)."""
    session = app.Session()
    _, rc = solara.render(app.App(page=page, session=session), handle_error=False)
    return rc, session


def click(rc, label: str) -> None:
    (button,) = [b for b in rc.find(v.Btn).widgets if label in b.children]
    button.click()


def period_text(rc) -> str:
    return rc.find(v.Html, class_="pullchain-period").widget.children[0]


def widget(rc, kind, label_start: str):
    """The one widget of ``kind`` whose label starts with ``label_start``."""
    found = [w for w in rc.find(kind).widgets if (w.label or "").startswith(label_start)]
    assert len(found) == 1, [w.label for w in rc.find(kind).widgets]
    return found[0]


def type_into(field, text: str) -> None:
    field.v_model = text
    field.fire_event("focusout", None)


# -- wiring ---------------------------------------------------------------------------------
def test_step_advances_both_chains_in_lockstep():
    rc, session = render()
    assert period_text(rc) == "Period 0 of 200"
    click(rc, "Step")
    click(rc, "Step")
    assert period_text(rc) == "Period 2 of 200"
    models = session.pair.value.models
    assert list(models) == ["opaque", "transparent"]
    assert [m.recorder.rows for m in models.values()] == [2, 2]
    # the same consumer demand in both chains (same seed, common random numbers)
    demand = [m.recorder.demand_series() for m in models.values()]
    np.testing.assert_array_equal(demand[0], demand[1])


def test_controls_reach_both_models_on_reset():
    rc, session = render()
    click(rc, "Step")
    widget(rc, v.Slider, "Lead time").v_model = 5
    widget(rc, v.Slider, "Delay of shared data").v_model = 2
    widget(rc, v.Slider, "Participation").v_model = 0.5
    widget(rc, v.Checkbox, "share stock").v_model = False
    widget(rc, v.Select, "Forecast").v_model = "exponential_smoothing"
    widget(rc, v.Select, "Demand pattern").v_model = "seasonal"
    type_into(widget(rc, v.TextField, "Seed"), "7")
    type_into(widget(rc, v.TextField, "Periods"), "60")
    assert session.pending
    # nothing changes before Reset
    assert session.pair.value.period == 1
    click(rc, "Reset")
    assert not session.error.value
    assert period_text(rc) == "Period 0 of 60"
    pair = session.pair.value
    opaque, shared = pair.models.values()
    for model in (opaque, shared):
        assert {lane.lead_time for lane in model.lanes.values() if lane.lead_time} == {5}
        assert model._seed == 7
        assert model.horizon == 60
        assert type(model.consumers[0].demand_process).__name__ == "SeasonalDemand"
        firm = model.firms[0]
        assert type(firm.policy.forecast).__name__ == "ExponentialSmoothing"
    assert shared.regime.delay == 2
    assert shared.regime.participation == 0.5
    assert shared.regime.share_stock is False
    assert shared.regime.share_sales is True
    assert opaque.regime.name == "opaque"
    assert not session.pending
    click(rc, "Step")
    assert [m.recorder.rows for m in pair.models.values()] == [1, 1]


def test_reset_with_untouched_knobs_rebuilds_the_same_run():
    rc, session = render()
    for _ in range(3):
        click(rc, "Step")
    before = session.pair.value
    click(rc, "Reset")
    after = session.pair.value
    assert after is not before
    assert period_text(rc) == "Period 0 of 200"
    for _ in range(3):
        click(rc, "Step")
    for regime in before.models:
        np.testing.assert_array_equal(
            before.models[regime].recorder.firms.series("ordered"),
            after.models[regime].recorder.firms.series("ordered"),
        )


def test_a_bad_combination_is_a_message_not_a_traceback():
    rc, session = render()
    old = session.pair.value
    type_into(widget(rc, v.TextField, "Periods"), "0")
    click(rc, "Reset")
    assert session.pair.value is old  # the running chains stay
    messages = [w for w in rc.find(v.Alert).widgets if w.type == "error"]
    assert len(messages) == 1
    text = str(messages[0].children)
    assert "Traceback" not in text
    assert "steps: got 0" in text


def test_scenario_choice_updates_the_knobs_and_applies_on_reset():
    rc, session = render()
    widget(rc, v.Select, "Scenario").v_model = "beer-game"
    assert session.controls.value.demand == "step"
    assert session.pair.value.scenario.name == "default"
    click(rc, "Reset")
    assert session.pair.value.scenario.name == "beer-game"
    assert period_text(rc) == "Period 0 of 36"


def test_each_session_has_its_own_models():
    (rc1, s1), (rc2, s2) = render(), render()
    assert s1 is not s2
    assert s1.pair.value.models["opaque"] is not s2.pair.value.models["opaque"]
    click(rc1, "Step")
    click(rc1, "Step")
    assert period_text(rc1) == "Period 2 of 200"
    assert period_text(rc2) == "Period 0 of 200"
    assert s2.pair.value.period == 0


def test_sweep_page_renders_without_results(tmp_path):
    rc, _ = render("sweeps")
    texts = [w.children for w in rc.find(v.Alert).widgets]
    assert any("No sweep results" in str(t) for t in texts)


# -- the charts' data -----------------------------------------------------------------------
def test_controls_untouched_change_nothing():
    for name in ("default", "beer-game", "serial"):
        scenario = Scenario.preset(name)
        start = Controls.from_scenario(scenario)
        assert start.overrides(scenario, start) == {}
        assert app_data.apply_controls(name, start, start) == scenario


def test_forecast_choice_leaves_a_scenario_policy_alone():
    scenario = Scenario.preset("beer-game")  # Sterman's rule: no forecast knob applies
    start = Controls.from_scenario(scenario)
    assert start.forecast == app_data.POLICY_SCENARIO
    assert start.changed(window=9).overrides(scenario, start) == {}
    over = start.changed(forecast="naive").overrides(scenario, start)
    assert over["firms.policy"] == "order_up_to"
    assert over["firms.policy_params"]["forecast"] == "naive"


def test_specs_are_json_and_follow_the_steps():
    pair = Pair.build(Scenario.preset("default"))
    specs = app_data.all_specs(pair)
    assert set(specs) == {"network", "orders", "stock", "backlog", "cost", "fill"}
    json.dumps(specs)  # what the browser receives
    pair.step(4)
    orders = app_data.orders_spec(pair)["data"]["values"]
    assert {r["regime"] for r in orders} == {"opaque", "transparent"}
    assert max(r["period"] for r in orders) == 4
    assert {r["series"] for r in orders} >= {"consumer demand", "retailers", "suppliers"}


def test_small_network_is_drawn_firm_by_firm():
    pair = Pair.build(Scenario.preset("beer-game"))
    view = pair.view
    assert view.consumer_mode == "each"
    labels = [n["label"] for n in view.nodes]
    assert labels[:4] == ["factory", "distributor", "wholesaler", "retailer"]
    assert [n["x"] for n in view.nodes] == [0, 1, 2, 3, 4]  # left to right, consumers last
    # two tiers of distributors (wholesaler, distributor): told apart, none lost
    assert list(app_data.tier_labels(pair.models["opaque"]).values()) == [
        "retailers",
        "distributors (tier 2)",
        "distributors (tier 3)",
        "suppliers",
    ]
    pair.step(2)
    assert len(app_data.series(pair.models["opaque"])["orders"]) == 4
    nodes, edges = view.state(pair.models["opaque"])
    assert len(nodes) == 5 and len(edges) == 4
    assert sum(e["in_transit"] for e in edges) > 0  # the beer game starts with goods moving


def test_large_network_is_thinned_and_aggregated():
    scenario = Scenario.preset("default").with_overrides(
        {
            "network.n_suppliers": 30,
            "network.n_brands": 60,
            "network.n_retailers": 110,
            "network.n_consumers": 300,
        }
    )
    model = scenario.model()
    view = NetworkView(model)
    assert view.consumer_mode == "per retailer"
    per_column: dict[int, int] = {}
    for node in view.nodes:
        per_column[node["x"]] = per_column.get(node["x"], 0) + 1
    assert max(per_column.values()) <= app_data.MAX_PER_TIER
    assert sum(n["members"] for n in view.nodes if n["kind"] != "consumer") == len(model.firms)
    assert sum(n["members"] for n in view.nodes if n["kind"] == "consumer") == sum(
        len(list(model.network.predecessors(c.node))) for c in model.consumers
    )
    model.step()
    nodes, edges = view.state(model)
    firm_nodes = [n for n in nodes if n["kind"] != "consumer"]
    on_hand = sum(f.on_hand for f in model.firms)
    assert sum(n["on_hand"] for n in firm_nodes) == pytest.approx(on_hand, abs=1.0)
    in_transit = sum(lane.in_transit for lane in model.lanes.values())
    assert sum(e["in_transit"] for e in edges) == pytest.approx(in_transit, abs=1.0)


def test_downloads():
    pair = Pair.build(Scenario.preset("beer-game"))
    pair.step(5)
    table = pd.read_csv(__import__("io").BytesIO(app_data.export_csv(pair)))
    assert set(table["regime"]) == {"opaque", "transparent"}
    assert table["step"].max() == 5
    png = app_data.export_png(pair)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


# -- the sweep explorer's folder guard ------------------------------------------------------
def _sweep(folder):
    (folder / "results").mkdir(parents=True)
    frame = pd.DataFrame(
        {
            "run_key": [f"k{i}" for i in range(8)],
            "status": ["ok"] * 8,
            "regime": ["opaque", "transparent"] * 4,
            "network.lead_time": [1, 1, 1, 1, 4, 4, 4, 4],
            "replication": [0, 0, 1, 1, 0, 0, 1, 1],
            "total_cost": np.linspace(100.0, 200.0, 8),
            "fill_rate": np.linspace(0.9, 1.0, 8),
        }
    )
    frame.to_parquet(folder / "results" / "part-0.parquet")
    return frame


def test_results_folder_refuses_escapes(tmp_path):
    root = tmp_path / "sweeps"
    _sweep(root / "good")
    secret = tmp_path / "secret"
    _sweep(secret)
    (root / "link-out").symlink_to(secret)
    (root / "link-in").symlink_to(root / "good")
    assert app_data.list_sweeps(root) == ["good", "link-in"]
    for name in ("../secret", str(secret), "link-out", "good/../../secret", "/etc"):
        with pytest.raises(ConfigError):
            app_data.load_results(root, name)
        with pytest.raises(ConfigError):
            app_data.report_figures(root, name)
    assert len(app_data.load_results(root, "good")) == 8
    assert len(app_data.load_results(root, "link-in")) == 8
    # a figure file that links out of the folder is not shown
    (root / "good" / "fig.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (root / "good" / "leak.png").symlink_to(secret / "results" / "part-0.parquet")
    assert [p.name for p in app_data.report_figures(root, "good")] == ["fig.png"]
    assert app_data.list_sweeps(tmp_path / "missing") == []


def test_sweep_explorer_filters_by_parameter(tmp_path):
    root = tmp_path / "sweeps"
    _sweep(root / "lead")
    frame = app_data.load_results(root, "lead")
    params, metrics = app_data.split_columns(frame)
    assert params == ["regime", "network.lead_time"]
    assert metrics == ["total_cost", "fill_rate"]
    view = app_data.filter_frame(frame, {"network.lead_time": ["4"], "regime": []})
    assert len(view) == 4 and set(view["network.lead_time"]) == {4}
    spec = app_data.sweep_spec(view, "total_cost", "network.lead_time", "regime")
    json.dumps(spec)
    rc, _ = render("sweeps")
    assert [w.v_model for w in rc.find(v.Select).widgets if w.label == "Sweep"] == ["lead"]
    assert any("8 of 8 runs" in str(w.children) for w in rc.find(v.Html).widgets)


# -- the command line -----------------------------------------------------------------------
def _pullchain(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pullchain.runs.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "100"},
    )


def test_app_command_help_and_bad_input():
    out = _pullchain("app", "--help")
    assert out.returncode == 0 and "--results" in out.stdout and "127.0.0.1" in out.stdout
    out = _pullchain("app", "no-such-scenario", "--port", "1")
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "scenario" in out.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = _pullchain("app", "--port", str(port))
    assert out.returncode == 2 and "--port" in out.stderr


def test_server_command_is_offline_and_quiet():
    from pullchain.runs import app_server

    cmd = app_server.command("127.0.0.1", 9999)
    assert cmd[-8:] == [
        "--host",
        "127.0.0.1",
        "--port",
        "9999",
        "--production",
        "--no-open",
        "--log-level",
        "warning",
    ]
    env = app_server.environment("beer-game", app_server.Path("/tmp/r"))
    assert env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"
    assert env["SOLARA_ASSETS_PROXY_CACHE_DIR"] == str(app_server.cdn_cache_dir())
    assert env[app.ENV_SCENARIO] == "beer-game" and env[app.ENV_RESULTS] == "/tmp/r"
