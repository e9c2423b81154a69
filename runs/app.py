"""The browser app: the opaque and the transparent chain side by side, and a sweep explorer.

Start it with ``pullchain app`` (see docs/app.md); Solara serves this module:
``routes`` holds the two pages, ``Layout`` wraps both and owns the session's state.

Every browser session gets its own ``Session`` (made by ``Layout`` with
``use_memo`` and handed down through a Solara context), hence its own two models:
nothing about a run lives in a module global.
"""

from __future__ import annotations

import html
import math
import os
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ipyvuetify
import solara
import traitlets

from pullchain.network.errors import ConfigError
from pullchain.network.regimes import REGIMES

from . import plugins as plugin_loader
from .app_charts import all_specs, counted_from, headline
from .app_controls import regime_controls, shared_regimes
from .app_explorer import (
    filter_frame,
    list_sweeps,
    load_manifest,
    load_results,
    load_timeseries,
    report_figures,
)
from .app_export import export_csv, export_png
from .app_network import sharing_text
from .app_play import Player
from .app_server import ENV_PLUGINS, ENV_RESULTS, ENV_SCENARIO
from .app_state import (
    ALLOCATIONS_SHOWN,
    DEMANDS_SHOWN,
    FORECASTS_SHOWN,
    POLICY_SCENARIO,
    Controls,
    Pair,
    apply_controls,
    mechanism_knobs,
    mechanism_on,
    mechanism_overrides,
    presets,
    scenario_facts,
    with_mechanism,
)
from .app_sweeps import (
    REGIME,
    SweepInfo,
    metric_choices,
    paired_spec,
    run_labels,
    sweep_info,
    sweep_tiers,
    timeseries_spec,
    values_spec,
)
from .game_page import GamePage
from .palette import regime_color
from .scenarios import Scenario

MECHANISM_PANELS: list[Callable[..., Any]] = []
"""Extra control panels, shown under "Mechanisms" in the sidebar.

Each is a Solara component called as ``panel(controls=<solara.Reactive[Controls]>,
scenario=<Scenario>)``; it adds its scenario overrides to the pending knobs with
``controls.set(controls.value.changed(extra=(*other, ("path", value))))`` and they
apply on Reset, like every knob. ``scenario`` is the chosen scenario as its file
says. The app's own panels (fads, rationing and gaming, batching, promotions,
disruptions, make-to-order) are appended below, after their definitions.
"""


def load_plugins() -> None:
    """The plug-ins ``pullchain app --plugin`` named (checked there), and installed ones."""
    plugin_loader.load_installed()
    specs = [s for s in os.environ.get(ENV_PLUGINS, "").split(os.pathsep) if s]
    plugin_loader.load_all(specs)


load_plugins()


def start_scenario() -> str:
    """The scenario the app opens with: ``pullchain app SCENARIO``, else ``default``."""
    return os.environ.get(ENV_SCENARIO) or "default"


def results_root() -> Path:
    """The folder the sweep explorer may read (``pullchain app --results DIR``)."""
    return Path(os.environ.get(ENV_RESULTS) or "sweeps").resolve()


def choices(current: str) -> list[str]:
    """The scenarios to pick from: the presets, and the file the app was started with."""
    names = presets()
    return names if current in names else [current, *names]


# -- per-session state ----------------------------------------------------------------------
SPEEDS: dict[str, float] = {
    "1 period/s": 1.0,
    "2 periods/s": 2.0,
    "5 periods/s": 5.0,
    "10 periods/s": 10.0,
    "25 periods/s": 25.0,
}
"""Play's speeds, in periods per second. Where drawing a period takes longer than the
speed allows, a tick runs several periods and draws once (up to ``MAX_PER_TICK``)."""
DEFAULT_SPEED = "5 periods/s"
MAX_PER_TICK = 10
END_TICK = 0.3
"""Run to the end: seconds of stepping between two redraws."""


def page_connected() -> Callable[[], bool]:
    """For the session being rendered now: whether a browser page of it is still connected.

    Solara keeps a session whose page went away without closing (a laptop shut, a lost
    connection) until it is culled; Play must not keep running its chains meanwhile.
    Outside Solara's server (tests, notebooks) it is always true.
    """
    try:
        from solara.server import kernel_context

        context = kernel_context.get_current_context()
        connected = kernel_context.PageStatus.CONNECTED
    except Exception:
        return lambda: True

    def check() -> bool:
        status = getattr(context, "page_status", None)
        return not isinstance(status, dict) or connected in status.values()

    return check


class Session:
    """One browser session's chains, knobs and play state.

    ``tick`` is the one reactive value that changes when the chains advance (a step, a
    tick of Play, a move of the scrubber): one render per change, never two.
    """

    def __init__(
        self, scenario: str | None = None, connected: Callable[[], bool] | None = None
    ) -> None:
        name = scenario or start_scenario()
        self.lock = threading.RLock()  # the play thread and button clicks both step
        self.preset = solara.reactive(name)
        self.error = solara.reactive(None)
        self.tick = solara.reactive(0)
        self.playing = solara.reactive(False)
        self.speed = solara.reactive(DEFAULT_SPEED)
        self._ticks = 0
        self._last_tick = 0.0
        self._shown: int | None = None
        self._to_end = False
        try:
            base = Scenario.load(name)
            start = Controls.from_scenario(base)
            pair = Pair.build(base)
        except ConfigError as err:  # a bad file given on the command line
            self.error.set(str(err))
            base = Scenario.preset("default")
            start = Controls.from_scenario(base)
            pair = Pair.build(base)
            self.preset.set("default")
        self.start = solara.reactive(start)  # the knobs as the chosen scenario sets them
        self.controls = solara.reactive(start)  # the knobs as the user left them
        self.applied = solara.reactive(start)  # the knobs of the running chains
        self.pair = solara.reactive(pair)
        self.player = Player(
            self._play_tick, self._interval, self._stopped, connected or (lambda: True)
        )

    # drawing --------------------------------------------------------------------------
    def _publish(self) -> None:
        """Tell the page that the chains moved: one render."""
        with self.lock:
            self._ticks += 1
            ticks = self._ticks
        self.tick.set(ticks)

    # actions ----------------------------------------------------------------------------
    @property
    def shown(self) -> int | None:
        """The period the page shows: None while it follows the chains, a recorded
        period once the scrubber or Back went into the history."""
        return self._shown

    def _advance(self, n: int) -> bool:
        """``n`` periods forward: through the recorded history first (a replay), then by
        stepping both chains. Returns whether there is more to show. Under the lock."""
        pair = self.pair.value
        if self._shown is not None:
            self._shown += n
            if self._shown >= pair.period:
                self._shown = None
            return True
        if not pair.running:
            return False
        pair.step(n)
        return pair.running

    def step(self, n: int = 1) -> None:
        """Step: the next period (of the history, if the page shows a past one)."""
        with self.lock:
            self._advance(n)
        self._publish()

    def back(self) -> None:
        """Back: the period before the one shown (the chains themselves stay where they are)."""
        self.pause()
        with self.lock:
            now = self.pair.value.period if self._shown is None else self._shown
            self._shown = max(now - 1, 0)
        self._publish()

    def show(self, period: int | None) -> None:
        """The scrubber: show recorded period ``period`` (None or the last: follow)."""
        with self.lock:
            last = self.pair.value.period
            if period is None or period >= last:
                self._shown = None
            else:
                self._shown = max(int(period), 0)
        self._publish()

    def play(self) -> None:
        if not self.can_advance:
            return
        self._last_tick = time.monotonic()
        self.playing.set(True)
        self.player.play()

    def run_to_end(self) -> None:
        """Run both chains to the horizon, drawing a few times a second on the way."""
        if not self.pair.value.running:
            return
        self._to_end = True
        self.play()

    def pause(self) -> None:
        self.player.pause()
        self._to_end = False
        self.playing.set(False)

    @property
    def can_advance(self) -> bool:
        return self._shown is not None or self.pair.value.running

    def _interval(self) -> float:
        if self._to_end:
            return 0.0
        return 1.0 / SPEEDS.get(self.speed.peek(), SPEEDS[DEFAULT_SPEED])

    def _play_tick(self) -> bool:
        """One tick of Play: the periods the speed asks for since the last tick (Run to
        the end: as many as fit in ``END_TICK`` seconds), then one redraw."""
        now = time.monotonic()
        with self.lock:
            if self._to_end:
                self._shown = None
                more = True
                while more and time.monotonic() - now < END_TICK:
                    more = self._advance(1)
            else:
                rate = SPEEDS.get(self.speed.peek(), SPEEDS[DEFAULT_SPEED])
                n = min(MAX_PER_TICK, max(1, round(rate * (now - self._last_tick))))
                more = self._advance(n)
        self._last_tick = now
        self._publish()
        return more

    def _stopped(self, error: BaseException | None) -> None:
        if error is not None:
            traceback.print_exception(error)
            self.error.set(f"playing stopped: {type(error).__name__}: {error}")
        self._to_end = False
        self.playing.set(False)

    def close(self) -> None:
        """The session's page is gone for good: stop playing."""
        self.player.pause()
        self.player.join(timeout=5)

    def choose(self, name: str) -> None:
        """Pick another scenario: its knobs show at once, the chains change on Reset."""
        try:
            start = Controls.from_scenario(Scenario.load(name))
        except ConfigError as err:
            self.error.set(str(err))
            return
        self.preset.set(name)
        self.start.set(start)
        self.controls.set(start)

    def reset(self) -> None:
        """Rebuild both chains with the knobs as they are now; a bad combination is
        shown as a message and the running chains stay."""
        self.pause()
        with self.lock:
            try:
                scenario = apply_controls(self.preset.value, self.controls.value, self.start.value)
                pair = Pair.build(scenario, self.controls.value.service or None)
            except ConfigError as err:
                self.error.set(str(err))
                return
            except Exception as err:  # never a traceback in the page
                traceback.print_exc()
                self.error.set(f"could not build the chains: {type(err).__name__}: {err}")
                return
            self.error.set(None)
            self._shown = None
            self.pair.set(pair)
            self.applied.set(self.controls.value)
        self._publish()

    @property
    def pending(self) -> bool:
        return self.controls.value != self.applied.value


session_context = solara.create_context(None)


def use_session() -> Session:
    session = solara.use_context(session_context)
    if session is None:  # a page rendered on its own (tests): a session of its own
        session = solara.use_memo(Session, [])
    return session


@solara.component
def Layout(children: list | None = None, session: Session | None = None):
    """The app's frame: title, page tabs, and this session's state for both pages
    (a new ``Session`` per browser session, unless one is given)."""
    state = solara.use_memo(lambda: session or Session(connected=page_connected()), [])
    solara.use_effect(lambda: state.close, [])  # the page closed: stop playing
    session_context.provide(state)
    route, routes = solara.use_route()
    bar = []
    if len(routes) > 1:  # page tabs named by the routes' labels
        index = routes.index(route) if route in routes else 0
        with solara.AppBar() as app_bar, solara.lab.Tabs(value=index, align="center"):
            for r in routes:
                solara.lab.Tab(r.label or r.path, path_or_route=r)
        bar = [app_bar]
    solara.AppLayout(children=[*bar, *(children or [])], title="pullchain", navigation=True)


# -- widgets --------------------------------------------------------------------------------
_CHART_VUE = """
<template>
  <div style="width: 100%; overflow-x: auto"><div ref="plotElement"></div></div>
</template>
<script>
module.exports = {
  created() {
    this.view = null;
    this.token = 0;
    this.vegaLoaded = this.loadVega();
  },
  mounted() {
    this.embed().catch((e) => console.error('pullchain chart:', e));
    // drawn again at the new width when the page is resized (a projector, a sidebar)
    this.observer = new ResizeObserver(() => {
      clearTimeout(this.resizing);
      this.resizing = setTimeout(() => {
        if (Math.abs(this.$el.clientWidth - (this.fitted || 0)) > 4) {
          this.embed().catch((e) => console.error('pullchain chart:', e));
        }
      }, 150);
    });
    this.observer.observe(this.$el);
  },
  destroyed() {
    if (this.view) { this.view.finalize(); }
    if (this.observer) { this.observer.disconnect(); }
    clearTimeout(this.resizing);
  },
  watch: {
    spec() {
      this.overhead = undefined;  // another chart: measure its axes and legends again
      this.remeasured = undefined;
      this.embed().catch((e) => console.error('pullchain chart:', e));
    },
    datasets() { this.update().catch((e) => console.error('pullchain chart:', e)); },
  },
  methods: {
    copy(x) { return JSON.parse(JSON.stringify(x)); },
    sized(spec) {
      // usermeta.fit (app_style.fit): share the container's width among the panels;
      // the room axes and legends take is the spec's guess until measured once drawn
      const fit = spec.usermeta && spec.usermeta.fit;
      const width = this.$el.clientWidth;
      if (!fit || !width) { return spec; }
      const reserve = this.overhead === undefined ? fit.reserve : this.overhead;
      const each = Math.max(120, Math.floor((width - reserve) / fit.columns));
      if (spec.facet) { spec.spec.width = each; } else { spec.width = each; }
      this.fitted = width;
      this.each = each * fit.columns;
      return spec;
    },
    overflows() {
      // drawn wider than its container: measure what axes and legends took, draw again
      const canvas = this.$refs.plotElement.querySelector('canvas');
      if (!canvas || this.each === undefined) { return false; }
      const drawn = canvas.getBoundingClientRect().width;
      if (drawn <= this.$el.clientWidth + 1 || this.remeasured === this.fitted) { return false; }
      this.overhead = Math.ceil(drawn - this.each) + 2;
      this.remeasured = this.fitted;
      return true;
    },
    async embed() {
      const token = ++this.token;
      const {embed} = await this.vegaLoaded;
      const shown = this.datasets;
      const spec = this.sized(this.copy(this.spec));
      spec.datasets = this.copy(shown);
      const result = await embed(this.$refs.plotElement, spec);
      if (token !== this.token) { result.view.finalize(); return; }
      if (this.view) { this.view.finalize(); }
      this.view = result.view;
      if (this.overflows()) { return this.embed(); }
      this.drawn();
      if (this.datasets !== shown) { this.update(); }
    },
    drawn() {
      // a mark for tests and benchmarks: the time this chart last finished drawing
      this.$refs.plotElement.dataset.drawn = performance.now().toFixed(1);
    },
    async update() {
      const view = this.view;
      if (!view) { return; }  // the embedding under way picks the new data up
      const {vega} = await this.vegaLoaded;
      for (const [name, rows] of Object.entries(this.datasets)) {
        view.change(name, vega.changeset().remove(vega.truthy).insert(this.copy(rows)));
      }
      await view.runAsync();
      this.drawn();
    },
    async loadVega() {
      if (!window.requirejs) {
        await new Promise((resolve, reject) => {
          const script = document.createElement('script');
          script.src = `${this.getCdn()}/requirejs@2.3.6/require.js`;
          script.onload = resolve;
          script.onerror = reject;
          document.head.appendChild(script);
        });
      }
      require.config({map: {'*': {
        'vega': `${this.getCdn()}/vega@5/build/vega.min.js`,
        'vega-lite': `${this.getCdn()}/vega-lite@5/build/vega-lite.min.js`,
        'vega-embed': `${this.getCdn()}/vega-embed@6/build/vega-embed.min.js`,
      }}});
      return await new Promise((resolve, reject) => {
        require(['vega', 'vega-lite', 'vega-embed'],
                (vega, vl, embed) => resolve({vega, embed}), reject);
      });
    },
    getCdn() {
      if (window.solara) { return window.solara.cdn; }
      let base = document.body.dataset.baseUrl || document.baseURI;
      return (base.endsWith('/') ? base : base + '/') + '_solara/cdn';
    },
  },
}
</script>
"""


class Spec:
    """A chart's Vega-Lite specification, opaque to Solara's renderer.

    Reacton walks every list and dict among a component's arguments (looking for
    elements) and copies them, at every render: walking the charts' thousands of rows
    took about half of a Step's render on the default scenario (92 ms, 49 ms without).
    Wrapped, they are passed by reference and compared by identity, one ``Spec`` per
    drawing; ``LiveChart`` sends the rows.
    """

    __slots__ = ("spec",)

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec


def _rows_json(value: Spec | None, widget: Any) -> dict[str, Any]:
    """What the browser gets of a ``Spec``: its rows, as the dataset ``table``."""
    return {"table": value.spec.get("data", {}).get("values", [])} if value else {}


class LiveChart(ipyvuetify.VuetifyTemplate):
    """A Vega-Lite chart that swaps its data in place when only the data change.

    Solara's own ``VegaLite`` widget embeds the whole chart again on every change
    (Vega-Lite compiles it anew, after a 100 ms debounce): about 60-100 ms per chart
    in Chromium here. This one embeds once per ``spec`` and hands new rows of the
    ``datasets`` to the running Vega view, which redraws in a few milliseconds.
    The front-end files are the ones Solara loads (vega@5, vega-lite@5, vega-embed@6).
    """

    template = traitlets.Unicode(_CHART_VUE).tag(sync=True)
    spec = traitlets.Dict().tag(sync=True)
    datasets = traitlets.Any(None).tag(sync=True, to_json=_rows_json)
    """A ``Spec``; the browser receives its rows (``_rows_json``)."""


@solara.component
def Chart(spec: Spec | dict, name: str):
    """A Vega-Lite chart (hover shows the numbers); ``name`` tags it for tests.

    The rows in ``spec["data"]["values"]`` go to the browser as a named dataset, so
    that a step that leaves the rest of the specification alone sends and redraws only
    rows. Pass a ``Spec``: a dict is walked, copied and compared by the renderer at
    every render.
    """
    given = spec if isinstance(spec, Spec) else None
    # a dict: wrapped once per distinct value, so rows equal to the last are not sent again
    kept = solara.use_memo(lambda: None if given else Spec(spec), [None if given else spec])
    box = given or kept
    static = {**box.spec, "data": {"name": "table"}}
    with solara.Div(classes=[f"pullchain-chart-{name}"]):
        LiveChart.element(spec=static, datasets=box)


def _fmt(value: float) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.2f}"


@dataclass(frozen=True, eq=False)
class Frame:
    """What the page shows at one moment, read from both chains under the session's lock
    (so that a play thread stepping them meanwhile cannot tear it)."""

    period: int
    """The period shown (the last one run, unless the scrubber went back)."""
    last: int
    """The last period run."""
    horizon: int
    running: bool
    counted_from: int
    """Periods the headline leaves out (the warm-up, once past it)."""
    warm_up: int
    specs: dict[str, Spec]
    figures: dict[str, dict[str, float]]
    sharing: tuple[str, ...]
    """Who shares and uses the data, per regime that shares any."""
    service: str | None
    """At equal service: the tuned safety factors, in words (else None)."""

    @classmethod
    def of(cls, pair: Pair, shown: int | None = None) -> Frame:
        models = pair.at(shown)
        first = next(iter(models.values()))
        service = None
        if pair.factors:
            factors = ", ".join(f"{r} {z:.2f}" for r, z in pair.factors.items())
            service = (
                f"At equal service: each chain's safety factor z tuned to a {pair.service:.1%} "
                f"consumer fill rate over the scenario's replications ({factors})"
            )
        return cls(
            period=first.recorder.rows,
            last=pair.period,
            horizon=pair.horizon,
            running=pair.running,
            counted_from=counted_from(first),
            warm_up=first.warm_up,
            specs={k: Spec(v) for k, v in all_specs(pair, shown).items()},
            figures={r: headline(m) for r, m in models.items()},
            sharing=tuple(t for m in models.values() if (t := sharing_text(m))),
            service=service,
        )

    @property
    def can_advance(self) -> bool:
        return self.running or self.period < self.last


@solara.component
def Headline(frame: Frame):
    """Running bullwhip per tier, fill rate and cost of both chains, as a small table."""
    if frame.service:
        solara.Text(frame.service)
    figures = frame.figures
    keys = list(dict.fromkeys(k for f in figures.values() for k in f))
    if not keys:
        solara.Text("Step a few periods to see bullwhip ratios, fill rate and cost.")
        return
    cell = "padding:1px 10px"
    head = "".join(
        f"<th style='{cell};color:{regime_color(r, i)}'>{html.escape(r)}</th>"
        for i, r in enumerate(figures)
    )
    body = "".join(
        f"<tr><td>{html.escape(k)}</td>"
        + "".join(
            f"<td style='text-align:right;{cell}'>{_fmt(f.get(k))}</td>" for f in figures.values()
        )
        + "</tr>"
        for k in keys
    )
    warm = frame.counted_from
    note = f"after the warm-up ({warm} periods, shaded)" if warm else "from period 1"
    solara.HTML(
        tag="div",
        unsafe_innerHTML=(
            "<table class='pullchain-headline' style='border-collapse:collapse;font-size:13px'>"
            f"<tr><th style='text-align:left'>{html.escape(note)}</th>{head}</tr>{body}</table>"
            "<div style='font-size:12px;color:#666'>bullwhip: variance of a tier's orders "
            "over the variance of consumer demand (1 = no amplification)</div>"
        ),
    )


# -- mechanism panels -----------------------------------------------------------------------
def use_mechanism(
    name: str, controls: solara.Reactive[Controls], scenario: Scenario
) -> tuple[bool, dict[str, Any], Callable[[Any], None], Callable[[str], Callable[[Any], None]]]:
    """A mechanism panel's state: (on, knobs, set_on, knob setter).

    On or off is read from ``controls.extra`` (so picking another scenario, which
    resets the knobs, turns every mechanism off); the knobs the user moved are kept in
    the panel, and written to ``controls.extra`` only while the mechanism is on.
    """
    chosen = solara.use_reactive({})
    knobs = mechanism_knobs(name, scenario, chosen.value)
    on = mechanism_on(controls.value, name)

    def write(values: dict[str, Any]) -> None:
        over = mechanism_overrides(name, scenario, values)
        controls.set(with_mechanism(controls.value, name, over))

    def set_on(value: Any) -> None:
        if value is None:
            return
        if value:
            write(knobs)
        else:
            controls.set(with_mechanism(controls.value, name, None))

    def knob(key: str) -> Callable[[Any], None]:
        def update(value: Any) -> None:
            if value is None:
                return
            mine = {**chosen.value, key: value}
            chosen.set(mine)
            if mechanism_on(controls.value, name):
                write(mechanism_knobs(name, scenario, mine))

        return update

    return on, knobs, set_on, knob


_PANEL_STYLE = {"border-left": "3px solid #bbb", "padding-left": "8px", "margin": "4px 0"}


@solara.component
def FadPanel(controls: solara.Reactive[Controls], scenario: Scenario):
    """Fad demand (boom and fade) on the current network, with an end of season."""
    on, k, set_on, knob = use_mechanism("fad", controls, scenario)
    facts = scenario_facts(scenario)
    with solara.Column(gap="0px", style=_PANEL_STYLE, classes=["pullchain-mechanism-fad"]):
        solara.Switch(label="Fad / obsolescence", value=on, on_value=set_on)
        if not on:
            return
        solara.SliderFloat(
            f"Fad peak: {k['peak']:g}x mean demand",
            value=k["peak"],
            min=1.0,
            max=8.0,
            step=0.5,
            on_value=knob("peak"),
        )
        solara.SliderInt(
            f"Fad start: period {k['start']}",
            value=k["start"],
            min=0,
            max=max(facts.steps - 1, 1),
            on_value=knob("start"),
        )
        solara.SliderFloat(
            f"Fad fade: {k['fade']:g} periods",
            value=k["fade"],
            min=1.0,
            max=40.0,
            step=1.0,
            on_value=knob("fade"),
        )
        season = k["season"]
        solara.SliderInt(
            f"Season ends {season} after peak" if season > 0 else "Season ends: never (0)",
            value=season,
            min=0,
            max=60,
            on_value=knob("season"),
        )
        solara.InputFloat(
            "Salvage value per unit written off", value=k["salvage"], on_value=knob("salvage")
        )


@solara.component
def RationingPanel(controls: solara.Reactive[Controls], scenario: Scenario):
    """Brands' capacity, their allocation rule, and retailers' shortage gaming."""
    on, k, set_on, knob = use_mechanism("rationing", controls, scenario)
    with solara.Column(gap="0px", style=_PANEL_STYLE, classes=["pullchain-mechanism-rationing"]):
        solara.Switch(label="Rationing & gaming", value=on, on_value=set_on)
        if not on:
            return
        solara.SliderFloat(
            f"Gaming: orders up to {k['gaming']:g}x (1 = off)",
            value=k["gaming"],
            min=1.0,
            max=4.0,
            step=0.25,
            on_value=knob("gaming"),
        )
        solara.InputText(
            "Brands' capacity, units per period (empty = unlimited)",
            value=k["capacity"],
            on_value=knob("capacity"),
            continuous_update=False,
        )
        solara.Select(
            "Allocation when short",
            values=list(ALLOCATIONS_SHOWN),
            value=k["allocation"],
            on_value=knob("allocation"),
        )
        if not scenario_facts(scenario).n_brands:
            solara.Text("(this network has no brands: the capacity does nothing)")


@solara.component
def BatchingPanel(controls: solara.Reactive[Controls], scenario: Scenario):
    """Retailers' order cycle, full batches and fixed order cost."""
    on, k, set_on, knob = use_mechanism("batching", controls, scenario)
    with solara.Column(gap="0px", style=_PANEL_STYLE, classes=["pullchain-mechanism-batching"]):
        solara.Switch(label="Batching", value=on, on_value=set_on)
        if not on:
            return
        solara.SliderInt(
            f"Review period: {k['review_period']} periods",
            value=k["review_period"],
            min=1,
            max=12,
            on_value=knob("review_period"),
        )
        solara.InputFloat(
            "Batch size, units (0 = none)", value=k["batch_size"], on_value=knob("batch_size")
        )
        solara.InputFloat(
            "Order cost, money per order", value=k["order_cost"], on_value=knob("order_cost")
        )


@solara.component
def PromotionPanel(controls: solara.Reactive[Controls], scenario: Scenario):
    """Brands' price promotions and retailers' forward buying."""
    on, k, set_on, knob = use_mechanism("promotion", controls, scenario)
    with solara.Column(gap="0px", style=_PANEL_STYLE, classes=["pullchain-mechanism-promotion"]):
        solara.Switch(label="Promotions", value=on, on_value=set_on)
        if not on:
            return
        solara.SliderInt(
            f"Promotion every {k['every']} periods",
            value=k["every"],
            min=2,
            max=52,
            on_value=knob("every"),
        )
        solara.SliderInt(
            f"Promotion length: {k['length']} periods",
            value=k["length"],
            min=1,
            max=10,
            on_value=knob("length"),
        )
        solara.SliderFloat(
            f"Promotion discount: {k['discount']:.0%}",
            value=k["discount"],
            min=0.0,
            max=0.5,
            step=0.05,
            on_value=knob("discount"),
        )
        solara.InputFloat(
            "Forward buy, periods of demand", value=k["forward_buy"], on_value=knob("forward_buy")
        )
        if not scenario_facts(scenario).n_brands:
            solara.Text("(this network has no brands: nobody runs a promotion)")


@solara.component
def DisruptionPanel(controls: solara.Reactive[Controls], scenario: Scenario):
    """An outage of one supplier or brand, and optionally random brand outages."""
    on, k, set_on, knob = use_mechanism("disruption", controls, scenario)
    facts = scenario_facts(scenario)
    with solara.Column(gap="0px", style=_PANEL_STYLE, classes=["pullchain-mechanism-disruption"]):
        solara.Switch(label="Disruption", value=on, on_value=set_on)
        if not on:
            return
        solara.Select(
            "Outage of", values=list(facts.outage_firms), value=k["node"], on_value=knob("node")
        )
        solara.InputInt("Outage start, period", value=k["start"], on_value=knob("start"))
        solara.InputInt("Outage duration, periods", value=k["duration"], on_value=knob("duration"))
        if facts.n_brands:
            solara.SliderFloat(
                f"Random brand outages: {k['rate']:.1%}/period",
                value=k["rate"],
                min=0.0,
                max=0.05,
                step=0.001,
                on_value=knob("rate"),
            )
        solara.Text("(replaces the scenario's own disruptions)")


@solara.component
def MakeToOrderPanel(controls: solara.Reactive[Controls], scenario: Scenario):
    """Retailers and brands make (buy) to order; consumers pre-order and wait."""
    on, k, set_on, knob = use_mechanism("make_to_order", controls, scenario)
    with solara.Column(
        gap="0px", style=_PANEL_STYLE, classes=["pullchain-mechanism-make-to-order"]
    ):
        solara.Switch(label="Make-to-order", value=on, on_value=set_on)
        if not on:
            return
        solara.SliderFloat(
            f"Pre-order share: {k['preorder_share']:.0%}",
            value=k["preorder_share"],
            min=0.0,
            max=1.0,
            step=0.05,
            on_value=knob("preorder_share"),
        )
        solara.InputInt(
            "Patience: periods a pre-order waits (-1 = forever)",
            value=k["patience"],
            on_value=knob("patience"),
        )


MECHANISM_PANELS.extend(
    [FadPanel, RationingPanel, BatchingPanel, PromotionPanel, DisruptionPanel, MakeToOrderPanel]
)


def _chosen_scenario(session: Session) -> Scenario:
    """The chosen scenario as its file says (what the panels' overrides apply to)."""
    try:
        return Scenario.load(session.preset.value)
    except ConfigError:
        return session.pair.value.scenario


FIXED_KNOBS = ("share_sales", "share_stock", "delay", "participation")
"""The knobs the panel draws with widgets of their own; every other knob a regime declares
is drawn from its declaration (``app_controls``)."""


@solara.component
def RegimeKnobs(session: Session, scenario: Scenario):
    """The chosen regime's other declared knobs (vmi's band, a plug-in regime's own), one
    widget each, as their declarations say."""
    c = session.controls.value
    moved = dict(c.knobs)
    try:
        current = scenario.regime(c.regime).knobs()
    except ConfigError:
        return
    values = {**current, **moved}
    for knob in regime_controls(c.regime, values):
        if knob.name in FIXED_KNOBS:
            continue

        def update(value: Any, name: str = knob.name) -> None:
            if value is None:
                return
            mine = {**dict(session.controls.value.knobs), name: value}
            session.controls.set(session.controls.value.changed(knobs=tuple(mine.items())))

        if knob.kind == "checkbox":
            solara.Checkbox(label=knob.label, value=knob.value, on_value=update)
        elif knob.kind == "select":
            solara.Select(knob.label, values=list(knob.choices), value=knob.value, on_value=update)
        elif knob.kind == "slider" and knob.integer:
            solara.SliderInt(
                f"{knob.label}: {knob.value}", value=knob.value, min=int(knob.minimum),
                max=int(knob.maximum), on_value=update,
            )  # fmt: skip
        elif knob.kind == "slider":
            solara.SliderFloat(
                f"{knob.label}: {knob.value:g}", value=knob.value, min=knob.minimum,
                max=knob.maximum, step=knob.step, on_value=update,
            )  # fmt: skip
        else:
            solara.InputFloat(knob.label, value=knob.value, on_value=update)


@solara.component
def ControlsPanel(session: Session):
    """Scenario, regime knobs, lead time, forecast, demand, seed, mechanisms; applied on
    Reset."""
    c = session.controls.value
    scenario = solara.use_memo(
        lambda: _chosen_scenario(session), dependencies=[session.preset.value]
    )

    def set_knob(**kw: Any) -> Callable[[Any], None]:
        (name,) = kw

        def update(value: Any) -> None:
            if value is None:
                return
            session.controls.set(session.controls.value.changed(**{name: value}))

        return update

    solara.Select(
        "Scenario",
        values=choices(session.preset.value),
        value=session.preset.value,
        on_value=session.choose,
    )
    solara.Text(f"Information sharing (the {c.regime} chain; opaque shares nothing)")
    solara.Select(
        "Regime set against opaque",
        values=list(dict.fromkeys([c.regime, *shared_regimes()])),
        value=c.regime,
        on_value=set_knob(regime=1),
    )
    takes = set(REGIMES.declared(c.regime)) if c.regime in REGIMES else set()
    if "share_sales" in takes:
        solara.Checkbox(
            label="share point-of-sale data", value=c.share_sales, on_value=set_knob(share_sales=1)
        )
    if "share_stock" in takes:
        solara.Checkbox(
            label="share stock positions", value=c.share_stock, on_value=set_knob(share_stock=1)
        )
    if "delay" in takes:
        solara.SliderInt(
            f"Delay of shared data: {c.delay} periods",
            value=c.delay,
            min=0,
            max=12,
            on_value=set_knob(delay=1),
        )
    if "participation" in takes:
        solara.SliderFloat(
            f"Participation: {c.participation:.0%} of firms",
            value=c.participation,
            min=0.0,
            max=1.0,
            step=0.05,
            on_value=set_knob(participation=1),
        )
    RegimeKnobs(session, scenario)
    solara.Text("Chain")
    solara.SliderInt(
        f"Lead time: {c.lead_time} periods (every firm-to-firm edge)",
        value=c.lead_time,
        min=0,
        max=12,
        on_value=set_knob(lead_time=1),
    )
    solara.Select(
        "Forecast",
        values=[POLICY_SCENARIO, *FORECASTS_SHOWN],
        value=c.forecast,
        on_value=set_knob(forecast=1),
    )
    solara.SliderInt(
        f"Moving-average window: {c.window} periods",
        value=c.window,
        min=1,
        max=24,
        on_value=set_knob(window=1),
        disabled=c.forecast != "moving_average",
    )
    demands = list(dict.fromkeys([c.demand, *DEMANDS_SHOWN]))
    solara.Select("Demand pattern", values=demands, value=c.demand, on_value=set_knob(demand=1))
    solara.InputInt("Seed", value=c.seed, on_value=set_knob(seed=1))
    solara.InputInt("Periods", value=c.steps, on_value=set_knob(steps=1))
    solara.InputFloat(
        "Equal service: consumer fill rate (0 = off; tuning takes seconds)",
        value=c.service,
        on_value=set_knob(service=1),
    )
    with solara.Details("Mechanisms", expand=bool(MECHANISM_PANELS)):
        if MECHANISM_PANELS:
            for panel in MECHANISM_PANELS:
                panel(controls=session.controls, scenario=scenario)
        else:
            solara.Text("Demand fads, rationing and disruptions will appear here.")
    if session.pending:
        solara.Info("Changed: press Reset to rebuild both chains with these settings.", dense=True)


TOOLBAR_STYLE = {
    "position": "sticky",
    "top": "-12px",  # the scrolling pane's padding: nothing shows above the toolbar
    "z-index": "5",
    "background": "white",
    "padding": "12px 0 4px 0",
    "margin-top": "-12px",
    "border-bottom": "1px solid #ddd",
}
"""The toolbar stays on screen while the charts scroll under it (a projector shows
720 pixels: the buttons must not scroll away)."""


@solara.component
def Toolbar(session: Session, frame: Frame):
    """Back / Step / Play / Pause / Run to the end / Reset, the speed, the period and
    the scrubber over the recorded periods, downloads."""
    pair = session.pair.value
    playing = session.playing.value
    with solara.Column(gap="0px", style=TOOLBAR_STYLE, classes=["pullchain-toolbar"]):
        with solara.Row(gap="6px", style={"align-items": "center", "flex-wrap": "wrap"}):
            solara.Button(
                "Back",
                icon_name="mdi-step-backward",
                on_click=session.back,
                disabled=frame.period == 0,
                small=True,
            )
            solara.Button(
                "Step",
                icon_name="mdi-step-forward",
                on_click=session.step,
                disabled=playing or not frame.can_advance,
                color="primary",
                small=True,
            )
            if playing:
                solara.Button("Pause", icon_name="mdi-pause", on_click=session.pause, small=True)
            else:
                solara.Button(
                    "Play",
                    icon_name="mdi-play",
                    on_click=session.play,
                    disabled=not frame.can_advance,
                    small=True,
                )
            solara.Button(
                "Run to the end",
                icon_name="mdi-skip-forward",
                on_click=session.run_to_end,
                disabled=playing or not frame.running,
                small=True,
            )
            solara.Button(
                "Reset",
                icon_name="mdi-restore",
                on_click=session.reset,
                color="warning" if session.pending else None,
                small=True,
            )
            with solara.Div(style={"width": "130px"}):
                solara.Select("Speed", values=list(SPEEDS), value=session.speed, dense=True)
            solara.Text(
                f"Period {frame.period} of {frame.horizon}",
                classes=["pullchain-period"],
                style={"font-size": "18px", "font-weight": "bold", "margin": "0 8px"},
            )
            if frame.period < frame.last:
                solara.Text(f"(looking back: run to {frame.last})", style={"color": "#b35900"})
        with solara.Row(gap="8px", style={"align-items": "center"}):
            with solara.Div(style={"flex": "1 1 auto"}, classes=["pullchain-scrubber"]):
                solara.SliderInt(
                    "",
                    value=frame.period,
                    min=0,
                    max=max(frame.last, 1),
                    on_value=session.show,
                    disabled=playing or frame.last == 0,
                    thumb_label=True,
                )
            name = f"pullchain-{pair.scenario.name}-period{frame.last}"
            solara.FileDownload(
                lambda: export_csv(pair),
                filename=f"{name}.csv",
                label="Data (CSV)",
                mime_type="text/csv",
            )
            solara.FileDownload(
                lambda: export_png(pair),
                filename=f"{name}.png",
                label="Charts (PNG)",
                mime_type="image/png",
            )


@solara.component
def ChainsPage():
    """The two chains side by side: one set of buttons for both."""
    session = use_session()
    solara.Title("pullchain: two chains")
    with solara.Sidebar():
        ControlsPanel(session)
    Chains(session)


@solara.component
def Chains(session: Session):
    """Everything that moves when the chains do (a component of its own, so that a
    step draws this and not the knobs in the sidebar)."""
    pair = session.pair.value
    tick = session.tick.value

    def take() -> Frame:
        with session.lock:
            return Frame.of(pair, session.shown)

    frame = solara.use_memo(take, dependencies=[pair, tick])
    specs = frame.specs
    Toolbar(session, frame)
    if session.error.value:
        solara.Error(session.error.value)
    regimes = " vs ".join(pair.regimes)
    solara.Text(
        f"{pair.scenario.name}: {regimes}, seed {pair.scenario.seed}, the same consumer "
        "demand in both",
        style={"color": "#555"},
    )
    Headline(frame)
    for line in frame.sharing:
        solara.Text(line, classes=["pullchain-sharing"], style={"display": "block"})
    Chart(specs["network"], "network")
    Chart(specs["orders"], "orders")
    Chart(specs["stock"], "stock")
    Chart(specs["backlog"], "backlog")
    with solara.Columns([1, 1]):
        Chart(specs["cost"], "cost")
        Chart(specs["fill"], "fill")


# -- sweep explorer -------------------------------------------------------------------------
NONE = "(none)"
_MENU = {"width": "230px"}
"""A menu of the explorer: several to a line, so the chart starts high on a projector."""


@solara.component
def SweepsPage():
    """Pick a sweep results folder; filter its runs by what it varied; see a metric by
    parameter or the paired regime difference with its 95 % interval, in panels; one
    run's recorded time series; the report's figures."""
    root = results_root()
    names = list_sweeps(root)
    chosen = solara.use_reactive(names[0] if names else None)
    filters = solara.use_reactive({})
    solara.Title("pullchain: sweep explorer")

    def load() -> tuple[Any, Any, str | None]:
        if chosen.value is None:
            return None, None, None
        try:
            return load_results(root, chosen.value), load_manifest(root, chosen.value), None
        except ConfigError as err:
            return None, None, str(err)
        except Exception as err:
            return None, None, f"could not read {chosen.value}: {type(err).__name__}: {err}"

    frame, manifest, problem = solara.use_memo(load, dependencies=[chosen.value])
    solara.Text(f"Results folder: {root}")
    if not names:
        solara.Info(
            f"No sweep results in {root}. Run a sweep into a folder there, or start the app "
            "with --results DIR."
        )
        return
    with solara.Div(style={"max-width": "480px"}):
        solara.Select(
            "Sweep",
            values=names,
            value=chosen.value,
            on_value=lambda v: (chosen.set(v), filters.set({})),
        )
    if problem:
        solara.Error(problem)
        return
    for note in frame.attrs.get("damaged", []) if frame is not None else []:
        solara.Warning(f"Left out {note}")
    figures = report_figures(root, chosen.value)
    if frame is not None and len(frame) and REGIME in frame:
        info = sweep_info(frame, manifest)
        with solara.Row(style={"flex-wrap": "wrap", "align-items": "center"}):
            for p in info.choices:
                values = sorted(map(str, frame[p].dropna().unique()))
                with solara.Div(style=_MENU):
                    solara.SelectMultiple(
                        p,
                        values=filters.value.get(p, []),
                        all_values=values,
                        on_value=lambda v, p=p: filters.set({**filters.value, p: v}),
                    )
            view = filter_frame(frame, filters.value)
            solara.Text(f"{len(view)} of {len(frame)} runs match the filters")
        if info.metrics and info.choices and len(view):
            SweepChart(view, info)
        elif not info.choices:
            solara.Info("This sweep varied nothing: one cell, one regime.")
        solara.FileDownload(
            lambda: view.to_csv(index=False),
            filename=f"{chosen.value}.csv",
            label="Filtered runs (CSV)",
            mime_type="text/csv",
        )
        RunSeries(root, chosen.value, view, info, manifest)
    elif not figures:
        solara.Warning(f"{chosen.value} holds no results table and no figures yet.")
    if figures:
        solara.Text("Report figures (as the sweep's report drew them; filters do not apply)")
        for path in figures:
            with solara.Card(str(path.relative_to(root))):
                fmt = {".svg": "svg+xml", ".jpg": "jpeg"}.get(path.suffix.lower())
                # an <img>, never inline markup: a figure file cannot run script in the page
                solara.Image(
                    path.read_bytes(), format=fmt or path.suffix.lower()[1:], width="720px"
                )


@solara.component
def SweepChart(view: Any, info: SweepInfo):
    """The explorer's chart: a metric by parameter, or the paired difference."""
    shows = ["metric by parameter"]
    if len(info.regimes) > 1:
        shows.append(f"paired difference against {info.regimes[0]}")
    show = solara.use_reactive(shows[-1])
    metric = solara.use_reactive(None)
    x_axis = solara.use_reactive(None)
    color = solara.use_reactive(None)
    facet = solara.use_reactive(NONE)
    paired = show.value != shows[0] and len(shows) > 1
    labels = metric_choices(info)
    names = {m: label for label, m in labels.items()}
    first = "total_cost" if "total_cost" in info.metrics else info.metrics[0]
    m = metric.value if metric.value in info.metrics else first
    axes = [p for p in info.choices if not (paired and p == REGIME)] or list(info.choices)
    x = x_axis.value if x_axis.value in axes else axes[0]
    colours = [p for p in info.choices if p != x and not (paired and p == REGIME)]
    if paired and len(info.regimes) > 2:
        colours.append(REGIME)
    default = REGIME if REGIME in colours and not paired else NONE
    col = color.value if color.value in [*colours, NONE] else default
    panels = [p for p in info.parameters if p not in (x, col)]
    fac = facet.value if facet.value in panels else NONE
    with solara.Row(style={"flex-wrap": "wrap"}):
        with solara.Div(style=_MENU):
            solara.Select("Show", values=shows, value=show.value, on_value=show.set)
        with solara.Div(style=_MENU):
            solara.Select(
                "Metric",
                values=list(labels),
                value=names[m],
                on_value=lambda label: metric.set(labels.get(label)),
            )
        with solara.Div(style=_MENU):
            solara.Select("Against", values=axes, value=x, on_value=x_axis.set)
        with solara.Div(style=_MENU):
            solara.Select("Colour by", values=[NONE, *colours], value=col, on_value=color.set)
        if panels:
            with solara.Div(style=_MENU):
                solara.Select("Panels by", values=[NONE, *panels], value=fac, on_value=facet.set)
    chosen = (None if col == NONE else col), (None if fac == NONE else fac)
    if paired:
        Chart(Spec(paired_spec(view, info, m, x, *chosen)), "sweep")
    else:
        Chart(Spec(values_spec(view, info, m, x, *chosen)), "sweep")


@solara.component
def RunSeries(root: Path, name: str, view: Any, info: SweepInfo, manifest: Any):
    """One run's recorded time series, picked among the filtered runs."""
    series = solara.use_memo(lambda: load_timeseries(root, name), dependencies=[name])
    tiers = solara.use_memo(lambda: sweep_tiers(manifest), dependencies=[name])
    picked = solara.use_reactive(None)
    with solara.Details("One run over time", expand=False):
        if not len(series):
            solara.Text(
                "This sweep kept no time series (a sweep file's [record] timeseries = true "
                "keeps them)."
            )
            return
        runs = run_labels(view, info)
        if not runs:
            solara.Text("No run matches the filters.")
            return
        label = picked.value if picked.value in runs else next(iter(runs))
        solara.Select("Run", values=list(runs), value=label, on_value=picked.set)
        rows = series[series["run_key"] == runs[label]]
        if not len(rows):
            solara.Text("This run has no recorded time series (it failed, or is not done).")
            return
        Chart(Spec(timeseries_spec(rows, label, *tiers)), "run")


routes = [
    solara.Route(path="/", component=ChainsPage, label="Two chains", layout=Layout),
    solara.Route(path="sweeps", component=SweepsPage, label="Sweep explorer"),
    solara.Route(path="game", component=GamePage, label="Classroom game"),
]


@solara.component
def App(page: str = "chains", session: Session | None = None):
    """One page in the app's frame, for ``solara.render`` in tests and notebooks.

    (Not named ``Page``: Solara would take it for the app and ignore ``routes``.)
    """
    Layout(children=[ChainsPage() if page == "chains" else SweepsPage()], session=session)
