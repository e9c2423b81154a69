"""The browser app without a browser: Solara's renderer, the data behind the charts,
the sweep explorer's folder guard, and the ``pullchain app`` command line.

Browser tests (a real Chromium) are in test_app_browser.py.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pandas as pd
import pytest

solara = pytest.importorskip("solara", reason="the app extra (pip install 'pullchain[app]')")
import ipyvuetify as v  # noqa: E402

from pullchain.network.errors import ConfigError  # noqa: E402
from pullchain.runs import (  # noqa: E402
    app,
    app_charts,
    app_explorer,
    app_export,
    app_network,
    app_state,
    app_style,
)
from pullchain.runs.app_network import NetworkView  # noqa: E402
from pullchain.runs.app_state import Controls, Pair  # noqa: E402
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


def test_the_fad_panel_and_the_headline_agree():
    """The fad's dip in fill rate is in the table: the fad starts after the warm-up, and
    the fill-rate chart is counted as the table counts it (its last point)."""
    base = Scenario.preset("default")
    knobs = app_state.mechanism_knobs("fad", base, {})
    assert knobs["start"] > base.warm_up
    pair = Pair.build(base.with_overrides(app_state.mechanism_overrides("fad", base, knobs)))
    pair.step(120)
    for model in pair.models.values():
        table = app_charts.headline(model)["fill rate (share of demand served from stock)"]
        line = app_charts.series(model)["fill_rate"]
        assert table == pytest.approx(line[-1])
        assert table < 0.95  # the fad's stock-outs are counted
    fad = [r for r in app_charts.fill_spec(pair)["data"]["values"] if r.get("band") == "fad"]
    assert [(r["start"], r["end"]) for r in fad] == [(60.5, 95.5)]  # shaded: 3 fade times


def test_the_page_says_who_shares_the_data():
    rc, session = render()

    def said() -> list[str]:
        return [w.children[0] for w in rc.find(v.Html, class_="pullchain-sharing").widgets]

    assert said() == ["transparent: every firm shares and uses the data"]
    widget(rc, v.Slider, "Participation").v_model = 0.5
    click(rc, "Reset")
    (line,) = said()
    assert line.startswith("transparent: 6 of 11 firms share and use the data (retailers ")
    nodes = [
        r
        for r in app_charts.all_specs(session.pair.value)["network"]["data"]["values"]
        if r["layer"] == "node" and r["kind"] != "consumer"
    ]
    # drawn too: a thick ring for each firm that shares, none in the opaque chain
    assert sum(r["sharing"] for r in nodes if r["regime"] == "transparent") == 6
    assert sum(r["sharing"] for r in nodes if r["regime"] == "opaque") == 0


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


def test_play_pause_and_play_again_keep_one_player(monkeypatch):
    monkeypatch.setitem(app.SPEEDS, app.DEFAULT_SPEED, 200.0)
    rc, session = render()
    click(rc, "Play")
    deadline = time.monotonic() + 20
    while session.pair.value.period < 3:
        assert time.monotonic() < deadline, "Play did not advance"
        time.sleep(0.01)
    for _ in range(20):  # the clicks that froze the old play loop
        session.pause()
        session.play()
    start = session.pair.value.period
    while session.pair.value.period < start + 3:
        assert time.monotonic() < deadline, "Play stalled after Pause and Play"
        time.sleep(0.01)
    assert sum(t.name == "pullchain-play" for t in threading.enumerate()) == 1
    click(rc, "Pause")
    session.player.join(5)
    stopped = session.pair.value.period
    assert period_text(rc) == f"Period {stopped} of 200"
    assert [b for b in rc.find(v.Btn).widgets if "Play" in b.children]
    rc.close()  # the page closed for good: nothing keeps playing
    assert not session.player.playing


def test_back_and_the_scrubber_show_the_recorded_history():
    rc, session = render()
    for _ in range(6):
        click(rc, "Step")
    live = session.pair.value
    ordered = live.models["opaque"].recorder.firms.series("ordered").copy()
    click(rc, "Back")
    click(rc, "Back")
    assert period_text(rc) == "Period 4 of 200"
    assert live.period == 6  # the chains stay where they are
    scrubber = rc.find(v.Slider, label="").widget  # the scrubber has no label
    assert (scrubber.v_model, scrubber.max) == (4, 6)
    scrubber.v_model = 1
    assert period_text(rc) == "Period 1 of 200"
    click(rc, "Step")  # forward through the history: a replay, no new period run
    assert period_text(rc) == "Period 2 of 200" and live.period == 6
    for _ in range(5):
        click(rc, "Step")  # back at the last period, then new ones
    assert period_text(rc) == "Period 7 of 200" and live.period == 7
    np.testing.assert_array_equal(
        live.models["opaque"].recorder.firms.series("ordered")[:6], ordered
    )


def test_run_to_the_end_runs_every_period():
    rc, session = render()
    click(rc, "Run to the end")
    session.player.join(60)
    assert period_text(rc) == "Period 200 of 200"
    assert not session.playing.value
    (play,) = [b for b in rc.find(v.Btn).widgets if "Play" in b.children]
    assert play.disabled  # nothing left to play, unless the scrubber goes back
    session.show(190)
    assert period_text(rc) == "Period 190 of 200"
    (play,) = [b for b in rc.find(v.Btn).widgets if "Play" in b.children]
    assert not play.disabled  # the last ten periods can be replayed


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
        assert app_state.apply_controls(name, start, start) == scenario


def test_forecast_choice_leaves_a_scenario_policy_alone():
    scenario = Scenario.preset("beer-game")  # Sterman's rule: no forecast knob applies
    start = Controls.from_scenario(scenario)
    assert start.forecast == app_state.POLICY_SCENARIO
    assert start.changed(window=9).overrides(scenario, start) == {}
    over = start.changed(forecast="naive").overrides(scenario, start)
    assert over["firms.policy"] == "order_up_to"
    assert over["firms.policy_params"]["forecast"] == "naive"


def test_specs_are_json_and_follow_the_steps():
    pair = Pair.build(Scenario.preset("default"))
    specs = app_charts.all_specs(pair)
    assert set(specs) == {"network", "orders", "stock", "backlog", "cost", "fill"}
    json.dumps(specs)  # what the browser receives
    pair.step(4)
    rows = app_charts.orders_spec(pair)["data"]["values"]
    orders = [r for r in rows if "band" not in r]
    assert {r["regime"] for r in orders} == {"opaque", "transparent"}
    assert max(r["period"] for r in orders) == 4
    assert {r["series"] for r in orders} >= {"consumer demand", "retailers", "suppliers"}
    # the warm-up is shaded in both panels
    assert [(r["regime"], r["band"], r["end"]) for r in rows if "band" in r] == [
        ("opaque", "warm-up", 50.5),
        ("transparent", "warm-up", 50.5),
    ]


def test_one_colour_per_tier_and_per_regime_on_every_chart():
    from pullchain.runs import palette

    pair = Pair.build(Scenario.preset("default"))
    pair.step(3)
    specs = app_charts.all_specs(pair)
    tiers = {"retailers": "#ff7f0e", "brands": "#2ca02c", "suppliers": "#d62728"}
    for name in ("orders", "stock", "backlog"):
        color = specs[name]["spec"]["layer"][1]["encoding"]["color"]["scale"]
        got = dict(zip(color["domain"], color["range"], strict=True))
        assert {k: got[k] for k in tiers} == tiers, name
    assert got.get("consumer demand", palette.DEMAND_COLOR) == palette.DEMAND_COLOR
    for name in ("cost", "fill"):
        color = specs[name]["layer"][1]["encoding"]["color"]["scale"]
        assert color["range"] == [palette.REGIME_COLORS[r] for r in color["domain"]], name
    # the network rings each firm in its tier's colour, and names the tiers in it
    network = specs["network"]["data"]["values"]
    rings = {(r["kind"], r["ink"]) for r in network if r["layer"] == "node"}
    assert rings == {("retailer", tiers["retailers"]), ("brand", tiers["brands"])} | {
        ("supplier", tiers["suppliers"]),
        ("consumer", palette.KIND_COLORS["consumer"]),
    }
    labels = {r["label"]: r["ink"] for r in network if r["layer"] == "column"}
    assert labels == {**tiers, "consumers": palette.KIND_COLORS["consumer"]}


def test_the_past_is_drawn_as_it_was():
    pair = Pair.build(Scenario.preset("default"))
    pair.step(12)
    then = app_charts.all_specs(pair, 5)
    replay = Pair.build(Scenario.preset("default"))
    replay.step(5)
    assert then == app_charts.all_specs(replay)
    assert app_charts.headline(pair.at(5)["opaque"]) == app_charts.headline(replay.models["opaque"])


def test_role_names_come_from_the_scenario():
    default = Scenario.preset("default").model(regime="opaque")
    assert app_style.role_names(default) == {1: "retailers", 2: "brands", 3: "suppliers"}
    # a Topology works as well as a model; tiers that would read the same are numbered
    beer = Scenario.preset("beer-game").model(regime="opaque")
    topology = beer.topology
    for node in topology.firms:
        topology.graph.nodes[node]["label"] = "stage"
    assert app_style.role_names(topology) == {
        1: "stage (tier 1)",
        2: "stage (tier 2)",
        3: "stage (tier 3)",
        4: "stage (tier 4)",
    }


def test_tier_colours_follow_the_palette():
    from pullchain.runs import palette

    default = Scenario.preset("default").model(regime="opaque")
    assert app_style.tier_colors(default) == {
        1: palette.KIND_COLORS["retailer"],
        2: palette.KIND_COLORS["brand"],
        3: palette.KIND_COLORS["supplier"],
    }
    # the beer game has two tiers of distributors: colours by tier number, all different
    beer = app_style.tier_colors(Scenario.preset("beer-game").model(regime="opaque"))
    assert list(beer.values()) == list(palette.TIER_COLORS[:4])


def test_small_network_is_drawn_firm_by_firm():
    pair = Pair.build(Scenario.preset("beer-game"))
    view = pair.view
    assert view.consumer_mode == "each"
    labels = [n["label"] for n in view.nodes]
    assert labels[:4] == ["factory", "distributor", "wholesaler", "retailer"]
    assert [n["x"] for n in view.nodes] == [0, 1, 2, 3, 4]  # left to right, consumers last
    # the roles as the scenario names them, not "distributors (tier 2/3)"
    assert app_style.role_names(pair.models["opaque"]) == {
        1: "retailer",
        2: "wholesaler",
        3: "distributor",
        4: "factory",
    }
    # long role names side by side are drawn a line apart, so that none overlap
    labels = [
        r
        for r in app_charts.all_specs(pair)["network"]["data"]["values"]
        if r["layer"] == "column" and r["regime"] == "opaque"
    ]
    assert [r["label"] for r in labels] == [
        "factory",
        "distributor",
        "wholesaler",
        "retailer",
        "consumers",
    ]
    heights = [r["y"] for r in labels]
    assert all(a != b for a, b in itertools.pairwise(heights))
    pair.step(2)
    assert len(app_charts.series(pair.models["opaque"])["orders"]) == 4
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
    assert max(per_column.values()) <= app_network.MAX_PER_TIER
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
    table = pd.read_csv(__import__("io").BytesIO(app_export.export_csv(pair)))
    assert set(table["regime"]) == {"opaque", "transparent"}
    assert table["step"].max() == 5
    png = app_export.export_png(pair)
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
    assert app_explorer.list_sweeps(root) == ["good", "link-in"]
    for name in ("../secret", str(secret), "link-out", "good/../../secret", "/etc"):
        with pytest.raises(ConfigError):
            app_explorer.load_results(root, name)
        with pytest.raises(ConfigError):
            app_explorer.report_figures(root, name)
    assert len(app_explorer.load_results(root, "good")) == 8
    assert len(app_explorer.load_results(root, "link-in")) == 8
    # a figure file that links out of the folder is not shown
    (root / "good" / "fig.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (root / "good" / "leak.png").symlink_to(secret / "results" / "part-0.parquet")
    assert [p.name for p in app_explorer.report_figures(root, "good")] == ["fig.png"]
    assert app_explorer.list_sweeps(tmp_path / "missing") == []


TINY_SWEEP = """
scenario = "default"
regimes = ["opaque", "transparent"]
replications = 3
seed = 7

[set]
steps = 30
warm_up = 10
"network.n_brands" = 3

[parameters]
"network.lead_time" = [1, 3]
"regime.delay" = [0, 2]
"firms.holding_cost" = [0.5]

[record]
timeseries = true
every = 2
"""


@pytest.fixture(scope="module")
def tiny_sweep(tmp_path_factory):
    """A real sweep folder (2 x 2 cells, one parameter listed with one value, 2 regimes,
    3 replications, time series), written by ``run_sweep`` in this process."""
    from pullchain.runs.sweep import run_sweep
    from pullchain.runs.sweep_file import parse_sweep

    root = tmp_path_factory.mktemp("sweeps")
    run_sweep(parse_sweep(TINY_SWEEP), root / "tiny", workers=1)
    return root


def test_sweep_explorer_offers_only_what_the_sweep_varied(tiny_sweep, monkeypatch):
    from pullchain.runs import app_sweeps

    frame = app_explorer.load_results(tiny_sweep, "tiny")
    info = app_sweeps.sweep_info(frame, app_explorer.load_manifest(tiny_sweep, "tiny"))
    # firms.holding_cost was listed with one value: a constant, never a filter or an axis
    assert info.parameters == ("network.lead_time", "regime.delay")
    assert info.choices == ("network.lead_time", "regime.delay", "regime")
    assert info.regimes == ("opaque", "transparent")
    assert "periods" not in info.metrics  # the same in every run
    # the same from the table alone (a folder without a manifest)
    assert app_sweeps.sweep_info(frame).parameters == info.parameters
    monkeypatch.setenv(app.ENV_RESULTS, str(tiny_sweep))
    rc, _ = render("sweeps")
    filters = [w.label for w in rc.find(v.Autocomplete).widgets] or [
        w.label for w in rc.find(v.Select).widgets if w.multiple
    ]
    assert filters == ["network.lead_time", "regime.delay", "regime"]
    assert any("24 of 24 runs" in str(w.children) for w in rc.find(v.Html).widgets)


def test_sweep_explorer_never_pools_the_regimes(tiny_sweep):
    from pullchain.runs import app_sweeps

    frame = app_explorer.load_results(tiny_sweep, "tiny")
    info = app_sweeps.sweep_info(frame, app_explorer.load_manifest(tiny_sweep, "tiny"))
    by_regime = app_sweeps.values_spec(frame, info, "total_cost", "network.lead_time", "regime")
    assert "facet" not in by_regime  # one line per regime
    by_delay = app_sweeps.values_spec(
        frame, info, "total_cost", "network.lead_time", "regime.delay"
    )
    assert by_delay["facet"]["column"]["field"] == "regime"  # a panel per regime
    panels = app_sweeps.values_spec(
        frame, info, "total_cost", "network.lead_time", "regime.delay", "firms.holding_cost"
    )
    json.dumps(panels)


def test_paired_differences_have_their_95_percent_intervals(tiny_sweep):
    from pullchain.runs import app_sweeps
    from pullchain.runs.compare import paired_interval

    frame = app_explorer.load_results(tiny_sweep, "tiny")
    info = app_sweeps.sweep_info(frame, app_explorer.load_manifest(tiny_sweep, "tiny"))
    table = app_sweeps.paired_differences(frame, info, "total_cost", ["network.lead_time"])
    assert list(table["network.lead_time"]) == [1, 3] and set(table["pairs"]) == {6}
    # by hand: transparent - opaque within each (cell, replication), lead time 3
    cut = frame[frame["network.lead_time"] == 3].set_index(["cell", "replication", "regime"])
    cost = cut["total_cost"].unstack("regime")
    mean, half = paired_interval((cost["transparent"] - cost["opaque"]).to_numpy())
    row = table[table["network.lead_time"] == 3].iloc[0]
    assert (row["difference"], row["low"], row["high"]) == pytest.approx(
        (mean, mean - half, mean + half)
    )
    spec = app_sweeps.paired_spec(frame, info, "total_cost", "network.lead_time", "regime.delay")
    assert {r["regime.delay"] for r in spec["data"]["values"]} == {0, 2}
    assert "pooled" not in spec["title"]["subtitle"]  # nothing else varied
    json.dumps(spec)


def test_sweep_explorer_shows_a_run_over_time(tiny_sweep):
    from pullchain.runs import app_sweeps

    frame = app_explorer.load_results(tiny_sweep, "tiny")
    manifest = app_explorer.load_manifest(tiny_sweep, "tiny")
    info = app_sweeps.sweep_info(frame, manifest)
    series = app_explorer.load_timeseries(tiny_sweep, "tiny")
    runs = app_sweeps.run_labels(frame, info)
    label, key = next(iter(runs.items()))
    assert label == "opaque, network.lead_time = 1, regime.delay = 0, replication 0"
    roles, colors = app_sweeps.sweep_tiers(manifest)
    assert roles == {1: "retailers", 2: "brands", 3: "suppliers"}
    spec = app_sweeps.timeseries_spec(series[series["run_key"] == key], label, roles, colors)
    rows = spec["data"]["values"]
    assert {r["series"] for r in rows} >= {"consumer demand", "orders of the suppliers"}
    assert sorted({r["period"] for r in rows}) == list(range(2, 31, 2))
    with pytest.raises(ConfigError):
        app_explorer.load_timeseries(tiny_sweep, "../elsewhere")


def test_sweep_explorer_reads_a_folder_without_a_manifest(tmp_path):
    root = tmp_path / "sweeps"
    _sweep(root / "lead")
    frame = app_explorer.load_results(root, "lead")
    params, metrics = app_explorer.split_columns(frame)
    assert params == ["regime", "network.lead_time"]
    assert metrics == ["total_cost", "fill_rate"]
    view = app_explorer.filter_frame(frame, {"network.lead_time": ["4"], "regime": []})
    assert len(view) == 4 and set(view["network.lead_time"]) == {4}
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
    # a page gone without closing is kept minutes, not Solara's default of a day
    assert env["SOLARA_KERNEL_CULL_TIMEOUT"] == app_server.SESSION_KEPT == "2m"


def test_the_app_command_does_not_import_solara():
    """``pullchain app`` only waits for its server: Solara is imported there, not here."""
    code = (
        "import subprocess, sys; from pullchain.runs import cli, app_server; "
        "subprocess.Popen = lambda *a, **k: None; "  # start() as cmd_app calls it, no server
        "app_server.start('default', port=app_server.free_port()); "
        "print('solara' in sys.modules, 'ipyvuetify' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# -- mechanism panels -----------------------------------------------------------------------
def switch(rc, label: str):
    return widget(rc, v.Switch, label)


def nodes_of(model, kind: str) -> list[dict]:
    return [d for _, d in model.network.nodes(data=True) if d["kind"] == kind]


def reset_and_check(rc, session) -> None:
    click(rc, "Reset")
    assert not session.error.value, session.error.value
    assert not session.pending


def error_text(rc) -> str:
    messages = [w for w in rc.find(v.Alert).widgets if w.type == "error"]
    assert len(messages) == 1
    text = str(messages[0].children)
    assert "Traceback" not in text
    return text


def _fad_on(rc):
    widget(rc, v.Slider, "Fad peak").v_model = 4.0
    widget(rc, v.Slider, "Season ends").v_model = 15


def _fad_check(model):
    (demand,) = {d["demand"] for d in nodes_of(model, "consumer")}
    assert demand == "fad"
    params = nodes_of(model, "consumer")[0]["demand_params"]
    # the fad starts after the warm-up (50), where the headline counts it
    assert params == {"base": 10.0, "peak": 40.0, "start": 60, "rise": 5, "fade": 10.0, "end": 80}
    assert type(model.consumers[0].demand_process).__name__ == "FadDemand"
    assert {d["season_end"] for d in nodes_of(model, "retailer")} == {80}


def _fad_default(model):
    assert {d["demand"] for d in nodes_of(model, "consumer")} == {"normal"}
    assert {f.season_end for f in model.firms} == {-1}


def _rationing_on(rc):
    widget(rc, v.Slider, "Gaming").v_model = 2.5
    type_into(widget(rc, v.TextField, "Brands' capacity"), "150")
    widget(rc, v.Select, "Allocation when short").v_model = "need"


def _rationing_check(model):
    assert {d["gaming"] for d in nodes_of(model, "retailer")} == {2.5}
    assert {d["capacity"] for d in nodes_of(model, "brand")} == {150.0}
    assert {d["allocation"] for d in nodes_of(model, "brand")} == {"need"}
    assert {f.capacity for f in model.firms if f.kind == "brand"} == {150.0}


def _rationing_default(model):
    assert {d["gaming"] for d in nodes_of(model, "retailer")} == {1.0}
    assert {d["capacity"] for d in nodes_of(model, "brand")} == {float("inf")}
    assert {d["allocation"] for d in nodes_of(model, "brand")} == {"proportional"}


def _batching_on(rc):
    widget(rc, v.Slider, "Review period").v_model = 6


def _batching_check(model):
    retailers = nodes_of(model, "retailer")
    assert {(d["review_period"], d["batch_size"], d["order_cost"]) for d in retailers} == {
        (6, 100.0, 50.0)
    }
    assert {f.order_cost for f in model.firms if f.kind == "retailer"} == {50.0}


def _batching_default(model):
    retailers = nodes_of(model, "retailer")
    assert {(d["review_period"], d["batch_size"], d["order_cost"]) for d in retailers} == {
        (1, 0.0, 0.0)
    }


def _promotion_on(rc):
    widget(rc, v.Slider, "Promotion every").v_model = 10


def _promotion_check(model):
    brands = nodes_of(model, "brand")
    assert {
        (d["promotion_every"], d["promotion_length"], d["promotion_discount"]) for d in brands
    } == {(10, 2, 0.15)}
    assert {d["forward_buy"] for d in nodes_of(model, "retailer")} == {3.0}
    kinds = dict(model.network.nodes(data="kind"))
    assert {ln.promotion for (a, _), ln in model.lanes.items() if kinds[a] == "brand"} == {
        (10, 2, 0.15)
    }


def _promotion_default(model):
    assert {d["promotion_discount"] for d in nodes_of(model, "brand")} == {0.0}
    assert {d["forward_buy"] for d in nodes_of(model, "retailer")} == {0.0}


def _disruption_on(rc):
    widget(rc, v.Select, "Outage of").v_model = "brand 2"
    type_into(widget(rc, v.TextField, "Outage start"), "30")
    type_into(widget(rc, v.TextField, "Outage duration"), "5")


def _disruption_check(model):
    (event,) = model.disruptions.events
    assert model.network.nodes[event.target]["label"] == "brand 2"
    assert (event.kind, event.start, event.duration) == ("outage", 30, 5)


def _disruption_default(model):
    assert not model.disruptions


def _mto_on(rc):
    widget(rc, v.Slider, "Pre-order share").v_model = 0.5


def _mto_check(model):
    for kind in ("retailer", "brand"):
        assert {d["policy"] for d in nodes_of(model, kind)} == {"make_to_order"}
    assert {type(f.policy).__name__ for f in model.firms if f.kind != "supplier"} == {"MakeToOrder"}
    consumers = nodes_of(model, "consumer")
    assert sum(d["backorder"] for d in consumers) == len(consumers) // 2
    assert {d["patience"] for d in consumers if d["backorder"]} == {6}


def _mto_default(model):
    assert {type(f.policy).__name__ for f in model.firms} == {"OrderUpTo"}
    assert all(d["backorder"] for d in nodes_of(model, "consumer"))


PANELS = {
    # switch: (set knobs, check a model, check the default, bad field, bad value, message)
    "Fad / obsolescence": (
        _fad_on, _fad_check, _fad_default, "Salvage value", "-1", "salvage_value"
    ),
    "Rationing & gaming": (
        _rationing_on, _rationing_check, _rationing_default, "Brands' capacity", "0", "capacity"
    ),
    "Batching": (
        _batching_on, _batching_check, _batching_default, "Batch size", "-5", "batch_size"
    ),
    "Promotions": (
        _promotion_on, _promotion_check, _promotion_default, "Forward buy", "-1", "forward_buy"
    ),
    "Disruption": (
        _disruption_on, _disruption_check, _disruption_default, "Outage duration", "0", "duration"
    ),
    "Make-to-order": (_mto_on, _mto_check, _mto_default, "Patience", "-5", "patience"),
}  # fmt: skip


@pytest.mark.parametrize("label", list(PANELS))
def test_mechanism_panel_reaches_both_models_and_turns_off(label):
    set_knobs, check, default, bad_field, bad_value, message = PANELS[label]
    rc, session = render()
    assert not switch(rc, label).v_model  # off by default: the textbook chain
    for model in session.pair.value.models.values():
        default(model)
    switch(rc, label).v_model = True
    set_knobs(rc)
    assert session.pending
    reset_and_check(rc, session)
    assert switch(rc, label).v_model
    for model in session.pair.value.models.values():
        check(model)
    # a bad value: a message in the page, the running chains stay
    running = session.pair.value
    type_into(widget(rc, v.TextField, bad_field), bad_value)
    click(rc, "Reset")
    assert session.pair.value is running
    assert message in error_text(rc)
    # off again: the scenario as its file says
    switch(rc, label).v_model = False
    assert session.controls.value.extra == ()
    reset_and_check(rc, session)
    assert not [w for w in rc.find(v.Alert).widgets if w.type == "error"]
    for model in session.pair.value.models.values():
        default(model)
    assert session.pair.value.scenario == Scenario.preset("default")


def test_mechanisms_combine_and_a_new_scenario_turns_them_off():
    rc, session = render()
    switch(rc, "Batching").v_model = True
    switch(rc, "Make-to-order").v_model = True
    widget(rc, v.Slider, "Review period").v_model = 3  # moved while on: rewritten
    reset_and_check(rc, session)
    for model in session.pair.value.models.values():
        assert {d["review_period"] for d in nodes_of(model, "retailer")} == {3}
        assert {d["policy"] for d in nodes_of(model, "brand")} == {"make_to_order"}
    widget(rc, v.Select, "Scenario").v_model = "beer-game"
    assert session.controls.value.extra == ()
    assert not switch(rc, "Batching").v_model
    # the beer game has no brands: the outage firm list is its own
    switch(rc, "Disruption").v_model = True
    assert widget(rc, v.Select, "Outage of").v_model == "factory"
    reset_and_check(rc, session)
    (event,) = session.pair.value.models["opaque"].disruptions.events
    assert session.pair.value.models["opaque"].network.nodes[event.target]["label"] == "factory"


def test_disruption_shows_recovery_and_felt_tiers():
    rc, session = render()
    switch(rc, "Disruption").v_model = True
    type_into(widget(rc, v.TextField, "Outage start"), "5")
    type_into(widget(rc, v.TextField, "Periods"), "40")
    reset_and_check(rc, session)

    def table() -> str:
        return " ".join(
            w.unsafe_innerHTML
            for w in rc.find(solara.widgets.HTML).widgets
            if "pullchain-headline" in (w.unsafe_innerHTML or "")
        )

    recovery = "periods until consumers are served again"
    session.step(4)
    assert table() and recovery not in table()  # not struck yet
    session.step(20)
    assert recovery in table()
    assert "periods until the shock reached the retailers" in table()
    assert "recovery_time" not in table() and "felt_tier" not in table()  # plain words
    figures = app_charts.headline(session.pair.value.models["opaque"])
    summary = session.pair.value.models["opaque"].summary(warm_up=0)
    assert figures[recovery] == pytest.approx(summary["recovery_time"], nan_ok=True)
    assert figures["periods until the shock reached the suppliers"] == pytest.approx(
        summary["felt_tier3"], nan_ok=True
    )
    # the outage is shaded on the charts from its first period
    outage = app_charts.orders_spec(session.pair.value)["data"]["values"]
    assert {(r["band"], r["start"]) for r in outage if r.get("band") == "outage"} == {
        ("outage", 5.5)
    }


def test_mechanism_overrides_are_checked_by_the_scenario():
    scenario = Scenario.preset("default")
    start = Controls.from_scenario(scenario)
    for name in app_state.MECHANISM_PATHS:
        knobs = app_state.mechanism_knobs(name, scenario, {})
        over = app_state.mechanism_overrides(name, scenario, knobs)
        assert set(over) <= set(app_state.MECHANISM_PATHS[name])
        controls = app_state.with_mechanism(start, name, over)
        assert app_state.mechanism_on(controls, name)
        scenario.with_overrides(controls.overrides(scenario, start))  # valid as it comes
        assert app_state.with_mechanism(controls, name, None) == start
    # text in the capacity field that is no number is named by the scenario's check
    over = app_state.mechanism_overrides(
        "rationing", scenario, {"gaming": 2.0, "capacity": "lots", "allocation": "fcfs"}
    )
    with pytest.raises(ConfigError, match="capacity"):
        scenario.with_overrides(over)
    assert app_state.mechanism_overrides(
        "rationing", scenario, {"gaming": 2.0, "capacity": " ", "allocation": "fcfs"}
    )["kinds.brand.capacity"] == float("inf")


# -- equal service ----------------------------------------------------------------------------
def test_at_equal_service_both_chains_run_at_the_factors_compare_tunes():
    from pullchain.runs.compare import replication_seeds
    from pullchain.runs.service import tune_service

    scenario = Scenario.preset("default").with_overrides(
        {"steps": 60, "warm_up": 20, "replications": 2,
         "firms.policy_params": {"window": 4, "service_level": 0.95}}
    )  # fmt: skip
    pair = Pair.build(scenario, 0.95)
    seeds = replication_seeds(scenario.seed, 2)
    for regime, model in pair.models.items():
        expected = tune_service(scenario, 0.95, regime=regime, seeds=seeds).safety_factor
        assert pair.factors[regime] == expected
        firms = [d for _, d in model.network.nodes(data=True) if d["kind"] != "consumer"]
        assert {d["policy_params"]["safety_factor"] for d in firms} == {expected}
    assert Pair.build(scenario).factors == {}  # without a target, the firms' own settings
    assert Controls.from_scenario(scenario).service == 0.0


def test_the_service_control_rebuilds_the_chains_tuned(monkeypatch):
    def quick(scenario, service, regimes):  # the search itself is tested above
        return dict.fromkeys(regimes, 0.5)

    monkeypatch.setattr(app_state, "tuned_factors", quick)
    rc, session = render()
    type_into(widget(rc, v.TextField, "Equal service"), "0.97")
    assert session.controls.value.service == 0.97
    click(rc, "Reset")
    assert session.error.value is None
    assert session.pair.value.factors == {"opaque": 0.5, "transparent": 0.5}
    assert session.pair.value.service == 0.97


# -- the regime choice and its knobs, drawn from the declarations ------------------------------
def test_controls_are_read_from_the_declarations():
    from pullchain.runs.app_controls import regime_controls, shared_regimes

    assert shared_regimes() == ["transparent", "vmi"]  # every registered regime but opaque
    by_name = {c.name: c for c in regime_controls("transparent")}
    assert by_name["share_sales"].kind == "checkbox" and by_name["share_sales"].value is True
    assert (by_name["delay"].minimum, by_name["delay"].maximum) == (0, 12)  # no max: a span
    assert by_name["participation"].kind == "slider" and by_name["participation"].step == 0.05
    vmi = {c.name: c for c in regime_controls("vmi")}
    assert vmi["band"].kind == "select" and vmi["band"].choices == ("min_max", "order_up_to")
    assert vmi["window"].integer and vmi["window"].minimum == 1
    assert vmi["max_cover"].kind == "number"  # unbounded above: typed, not slid
    assert regime_controls("opaque") == []


def test_the_regime_against_opaque_is_a_choice_with_its_own_knobs():
    rc, session = render()
    assert widget(rc, v.Select, "Regime set against opaque").v_model == "transparent"
    widget(rc, v.Select, "Regime set against opaque").v_model = "vmi"
    assert session.controls.value.regime == "vmi"
    labels = [w.label for w in rc.find(v.Select).widgets]
    assert "band" in labels  # vmi's own knob, drawn from its declaration
    assert not [w for w in rc.find(v.Checkbox).widgets if w.label.startswith("share")]
    widget(rc, v.Select, "band").v_model = "min_max"
    assert dict(session.controls.value.knobs) == {"band": "min_max"}
    click(rc, "Reset")
    pair = session.pair.value
    assert pair.regimes == ("opaque", "vmi") and pair.models["vmi"].regime.band == "min_max"
