"""The classroom game's pages (Solara): lobby, join, player, facilitator, debrief.

The app serves them at ``/game``; the query string says which page::

    /game                          create a game, play solo, or join one with its code
    /game?code=K7R2PQ              join: take a role nobody has taken
    /game?code=K7R2PQ&seat=...     a player's page (the seat is the browser's secret)
    /game?code=K7R2PQ&host=...     the facilitator's page (the host key is theirs)
    ...&debrief=1                  the debrief (the facilitator's, or anyone's once over)

Everything lives in the game (``runs.game``), shared by every browser session that
plays it and kept on disk (``runs.game_store``); a page only reads it and sends
what a person does. A player's numbers are drawn from that role's ``View`` (its
``Situation`` and ``Observation``) and its own recorded cost, nothing else, so the
no-leak test reaches this page. Each page watches its game in a thread of its
own (``use_game``) and is drawn again as soon as anyone changes the game.
"""

from __future__ import annotations

import html
import os
import threading
import time
import traceback
import urllib.parse
from collections.abc import Callable
from typing import Any

import ipyvuetify
import solara
import traitlets

from pullchain.agents.policies import POLICIES
from pullchain.network.errors import ConfigError

from . import game_debrief
from .app_style import vega_spec
from .game import BY_COMPUTER, Game, OrderError, Roles, Settings, View
from .game_store import ENV_JOIN, Hub, clean_code, hub
from .palette import DEMAND_COLOR, regime_color
from .scenarios import Scenario, preset_names

STATUS_TEXT = {
    "lobby": "waiting for Start",
    "playing": "being played",
    "between rounds": "round over",
    "finished": "game over",
}
WATCH_SECONDS = 0.5
"""A page's watcher wakes at least this often (to apply timeouts and tick countdowns)."""
OWN_RULE = "(each role's own rule in the scenario)"
ROUND_CHOICES = {
    "opaque, then transparent": ("opaque", "transparent"),
    "opaque only": ("opaque",),
    "transparent only": ("transparent",),
}
REGIME_TEXT = {
    "opaque": "you see only the orders your customers send you",
    "transparent": "you also see consumer sales and the stock positions below you, "
    "the week they happen",
}
CSS = """
.pullchain-game { font-size: 18px; max-width: 1240px; }
.pullchain-game h1 { font-size: 34px; margin: 4px 0; }
.pullchain-game .pullchain-tiles { display: flex; flex-wrap: wrap; gap: 10px; margin: 8px 0; }
.pullchain-game .pullchain-tile { border: 2px solid #ddd; border-radius: 8px; padding: 4px 12px;
  min-width: 150px; }
.pullchain-game .pullchain-tile .v { font-size: 40px; font-weight: 700; line-height: 1.1; }
.pullchain-game .pullchain-tile .k { font-size: 15px; color: #444; }
.pullchain-order-input input { font-size: 44px !important; max-height: 64px !important;
  font-weight: 700; }
.pullchain-order-input { max-width: 260px; }
.pullchain-code { font-size: 96px; font-family: monospace; font-weight: 700;
  letter-spacing: 0.12em; line-height: 1; }
.pullchain-game table.pullchain-seats td, .pullchain-game table.pullchain-seats th,
.pullchain-game table.pullchain-debrief td, .pullchain-game table.pullchain-debrief th {
  padding: 3px 12px; font-size: 17px; text-align: left; }
.pullchain-game table td.num { text-align: right; font-variant-numeric: tabular-nums; }
"""


# -- helpers ----------------------------------------------------------------------------------
def number(value: float | None) -> str:
    """A quantity as a class reads it: whole numbers without decimals, else one."""
    if value is None:
        return "n/a"
    if abs(value - round(value)) < 1e-9:
        return f"{round(value):,}"
    return f"{value:,.1f}"


def parse_query(search: str | None) -> dict[str, str]:
    """The query string's first values, short ones only (nothing else is ever needed)."""
    pairs = urllib.parse.parse_qsl(search or "", keep_blank_values=False)[:8]
    return {k: v for k, v in pairs if len(k) < 16 and len(v) < 64}


def query(**params: Any) -> str:
    return urllib.parse.urlencode({k: v for k, v in params.items() if v})


def use_game(game: Game, countdown: bool = False) -> int:
    """Draw the component again whenever ``game`` changes, whoever changed it (this
    page's own clicks included: the watcher, woken at once, draws it), and each second
    while a countdown shows; also applies the game's timeout. Returns the version drawn.
    """
    version, set_version = solara.use_state(game.version)
    _, set_second = solara.use_state(0)

    def watch(cancel: threading.Event) -> None:
        seen = game.version
        while not cancel.is_set():
            game.wait(seen, WATCH_SECONDS)
            game.tick()
            now = game.version
            if now != seen:
                seen = now
                set_version(now)
            elif countdown and game.settings.timeout and game.status == "playing":
                set_second(int(time.monotonic()))  # a new second: the countdown redraws

    solara.use_thread(watch, dependencies=[game.code, countdown], intrusive_cancel=False)
    return version


def tiles(items: list[tuple[str, str]], name: str) -> None:
    """Big numbers, each with its label underneath: legible from the back of a room."""
    cells = "".join(
        f"<div class='pullchain-tile'><div class='v'>{html.escape(v)}</div>"
        f"<div class='k'>{html.escape(k)}</div></div>"
        for k, v in items
    )
    solara.HTML(tag="div", unsafe_innerHTML=cells, classes=["pullchain-tiles", f"pullchain-{name}"])


def table(header: list[str], rows: list[list[str]], name: str, numeric: set[int] = frozenset()):
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td class='num'>{html.escape(c)}</td>"
            if i in numeric
            else f"<td>{html.escape(c)}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    solara.HTML(
        tag="table", unsafe_innerHTML=f"<tr>{head}</tr>{body}", classes=[f"pullchain-{name}"]
    )


def chart(spec: dict, name: str) -> None:
    from .app import Chart  # the app's live chart (app.py imports this module first)

    Chart(spec, name)


# -- the page ---------------------------------------------------------------------------------
@solara.component
def GamePage(search: str | None = None, navigate: Callable[[str], None] | None = None):
    """The game route: the query string picks the page (``search``/``navigate`` stand in
    for the browser's address in tests)."""
    router = solara.use_router()
    if search is None:
        search = router.search
    if navigate is None:
        base = "/" + "/".join(p for p in router.parts if p) if router.parts else "/game"

        def navigate(q: str) -> None:
            router.push(f"{base}?{q}" if q else base)

    solara.Title("pullchain: classroom game")
    solara.Style(CSS)
    q = parse_query(search)
    with solara.Column(classes=["pullchain-game"]):
        try:
            games = hub()
        except ConfigError as err:
            solara.Error(str(err))
            return
        if not q.get("code"):
            Lobby(games, navigate)
            return
        try:
            game = games.get(q["code"])
        except ConfigError as err:
            solara.Error(f"This game's file cannot be read: {err}")
            return
        if game is None:
            solara.Error(f"There is no game with the code {q['code'][:12]!r}: check the code.")
            Lobby(games, navigate)
            return
        role = game.seat_of(q.get("seat"))
        host = game.is_host(q.get("host"))
        if q.get("seat") and role is None:
            solara.Error("This seat is not in this game. Join again with the code.")
            JoinPage(game, navigate)
        elif q.get("host") and not host:
            solara.Error("This is not the key to this game's controls.")
        elif q.get("debrief"):
            DebriefPage(game, host=host, back=lambda: navigate(_strip_debrief(q)))
        elif host and role is None:
            FacilitatorPage(game, navigate, q)
        elif role is not None:
            PlayerPage(game, role, navigate, q, host=host)
        else:
            JoinPage(game, navigate)


def _strip_debrief(q: dict[str, str]) -> str:
    return query(**{k: v for k, v in q.items() if k != "debrief"})


# -- lobby ------------------------------------------------------------------------------------
@solara.component
def Lobby(games: Hub, navigate: Callable[[str], None]):
    """Join with a code, play solo, or set up a game for a class."""
    code, set_code = solara.use_state("")
    problem, set_problem = solara.use_state(None)
    solara.HTML(tag="h1", unsafe_innerHTML="The beer game, in your browser")
    solara.HTML(
        tag="p",
        unsafe_innerHTML=(
            "Take a role in a supply chain, order each week, and see in the debrief what "
            "sharing data changes. Round 1 is played <b>opaque</b> (you see only your "
            "customers' orders), round 2 <b>transparent</b> (everyone sees consumer sales "
            "and the stock below them), on the same consumer demand."
        ),
    )
    with solara.Card("Join a game"):
        with solara.Row(style={"align-items": "center"}):
            solara.InputText(
                "Game code (on the projector)",
                value=code,
                on_value=set_code,
                continuous_update=True,
                classes=["pullchain-join-code"],
            )

            def join() -> None:
                clean = clean_code(code)
                if clean is None:
                    set_problem("A game code has six letters and digits, e.g. K7R2PQ.")
                    return
                try:
                    found = games.get(clean)
                except ConfigError as err:
                    set_problem(f"This game's file cannot be read: {err}")
                    return
                if found is None:
                    set_problem(f"There is no game with the code {clean}.")
                    return
                navigate(query(code=clean))

            solara.Button("Join", on_click=join, color="primary")
        if problem:
            solara.Error(problem)
    SoloCard(games, navigate)
    CreateCard(games, navigate)


@solara.component
def SoloCard(games: Hub, navigate: Callable[[str], None]):
    """One person, one role of the beer game, the computer plays the rest."""
    roles = solara.use_memo(lambda: role_list(_scenario_or_none("beer-game")), [])
    role, set_role = solara.use_state(roles[0])
    problem, set_problem = solara.use_state(None)

    def start() -> None:
        try:
            game = games.create(Settings.create("beer-game", [role]))
        except Exception as err:  # a folder that cannot be written; never a traceback
            set_problem(_problem(err))
            return
        seat = game.take_seat(role, "solo")
        game.start_round()
        navigate(query(code=game.code, seat=seat, host=game.host_key))

    with solara.Card("Play solo"):
        solara.Text("You play one role of the beer game; the computer plays the others.")
        with solara.Row(style={"align-items": "center"}):
            solara.Select("Your role", values=roles, value=role, on_value=set_role)
            solara.Button("Play solo", on_click=start, color="primary")
        if problem:
            solara.Error(problem)


@solara.component
def CreateCard(games: Hub, navigate: Callable[[str], None]):
    """The facilitator's form: scenario, roles for people, the computer's rule, rounds
    and their knobs, weeks, seed, timeout, what players may type."""
    scenario, set_scenario = solara.use_state("beer-game")
    base = solara.use_memo(lambda: _scenario_or_none(scenario), [scenario])
    roles = solara.use_memo(lambda: role_list(base), [base])
    humans, set_humans = solara.use_state(roles)
    rule, set_rule = solara.use_state(OWN_RULE)
    rounds, set_rounds = solara.use_state(next(iter(ROUND_CHOICES)))
    share_sales, set_sales = solara.use_state(True)
    share_stock, set_stock = solara.use_state(True)
    delay, set_delay = solara.use_state(0)
    weeks, set_weeks = solara.use_state(base.steps if base else 36)
    seed, set_seed = solara.use_state(base.seed if base else 1)
    timeout, set_timeout = solara.use_state(60)
    whole, set_whole = solara.use_state(True)
    max_order, set_max = solara.use_state(1000)
    reference, set_reference = solara.use_state("")
    source, set_source = solara.use_state("")
    problem, set_problem = solara.use_state(None)

    def choose(name: str) -> None:
        set_scenario(name)
        picked = _scenario_or_none(name)
        set_humans(role_list(picked))
        if picked is not None:
            set_weeks(picked.steps)
            set_seed(picked.seed)

    def create() -> None:
        try:
            ref = float(reference) if str(reference).strip() else None
        except ValueError:
            set_problem(f"reference cost: got {reference!r}, expected a number or nothing")
            return
        try:
            settings = Settings.create(
                scenario,
                [r for r in roles if r in humans],
                weeks=weeks,
                seed=seed,
                computer_policy=None if rule == OWN_RULE else rule,
                rounds=ROUND_CHOICES[rounds],
                knobs={"share_sales": share_sales, "share_stock": share_stock, "delay": delay},
                timeout=float(timeout or 0),
                integer_orders=whole,
                max_order=float(max_order or 0),
                reference_cost=ref,
                reference_label=source,
            )
            game = games.create(settings)
        except Exception as err:  # a bad combination, a folder that cannot be written
            set_problem(_problem(err))
            return
        navigate(query(code=game.code, host=game.host_key))

    with solara.Card("Set up a game for a class"):
        solara.Select("Scenario", values=preset_names(), value=scenario, on_value=choose)
        if base is None:
            solara.Error(f"The scenario {scenario!r} cannot be played.")
            return
        solara.SelectMultiple(
            "Roles played by people", values=humans, all_values=roles, on_value=set_humans
        )
        solara.Select(
            "The computer plays the other roles with",
            values=[OWN_RULE, *[p for p in POLICIES if p != "player"]],
            value=rule,
            on_value=set_rule,
        )
        solara.Select("Rounds", values=list(ROUND_CHOICES), value=rounds, on_value=set_rounds)
        with solara.Row(style={"flex-wrap": "wrap", "align-items": "center"}):
            solara.Text("Transparent round:")
            solara.Checkbox(label="share consumer sales", value=share_sales, on_value=set_sales)
            solara.Checkbox(label="share stock positions", value=share_stock, on_value=set_stock)
            solara.SliderInt(
                f"delay of shared data: {delay} weeks",
                value=delay,
                min=0,
                max=8,
                on_value=set_delay,
            )
        with solara.Row(style={"flex-wrap": "wrap"}):
            solara.InputInt("Weeks per round", value=weeks, on_value=set_weeks)
            solara.InputInt("Seed (the same demand in every round)", value=seed, on_value=set_seed)
            solara.InputInt("Seconds to order (0: no limit)", value=timeout, on_value=set_timeout)
            solara.InputInt("Largest order", value=max_order, on_value=set_max)
            solara.Checkbox(label="whole units only", value=whole, on_value=set_whole)
        with solara.Row(style={"flex-wrap": "wrap"}):
            solara.InputText(
                "Reference team cost (optional)", value=reference, on_value=set_reference
            )
            solara.InputText("its source", value=source, on_value=set_source)
        solara.Button("Create the game", on_click=create, color="primary")
        if problem:
            solara.Error(problem)


def _problem(err: Exception) -> str:
    """A message for the page: a ConfigError as it is, anything else named (and logged)."""
    if isinstance(err, ConfigError):
        return str(err)
    traceback.print_exc()
    return f"could not create the game: {type(err).__name__}: {err}"


def _scenario_or_none(name: str) -> Scenario | None:
    try:
        return Scenario.load(name)
    except ConfigError:
        return None


def role_list(scenario: Scenario | None) -> list[str]:
    """The roles of a scenario's network (none for a scenario that cannot be read)."""
    return [] if scenario is None else Roles(scenario.network()).names


# -- joining ----------------------------------------------------------------------------------
@solara.component
def JoinPage(game: Game, navigate: Callable[[str], None]):
    """The roles people play in this game: take one nobody has taken."""
    use_game(game)
    name, set_name = solara.use_state("")
    problem, set_problem = solara.use_state(None)
    solara.HTML(tag="h1", unsafe_innerHTML=f"Game {html.escape(game.code)}: take a role")
    solara.InputText("Your name (optional)", value=name, on_value=set_name, continuous_update=True)
    for role in game.settings.humans:
        seat = game.seats.get(role)
        with solara.Row(style={"align-items": "center"}):
            solara.Text(role, style={"font-size": "24px", "min-width": "180px"})
            if seat is None:

                def take(role: str = role) -> None:
                    try:
                        token = game.take_seat(role, name)
                    except ConfigError:
                        set_problem(f"Someone has just taken the {role}: pick another role.")
                        return
                    navigate(query(code=game.code, seat=token))

                solara.Button(f"Play the {role}", on_click=take, color="primary")
            else:
                solara.Text(f"taken{' by ' + seat.name if seat.name else ''}")
    if problem:
        solara.Error(problem)
    if len(game.seats) == len(game.settings.humans):
        solara.Info("Every role is taken. Ask the facilitator to join as an extra player.")


# -- a player's page --------------------------------------------------------------------------
@solara.component
def PlayerPage(
    game: Game, role: str, navigate: Callable[[str], None], q: dict[str, str], host: bool = False
):
    """One role's week: what it sees, the order it places, its weeks so far."""
    use_game(game, countdown=True)
    with game.lock:
        rnd = game.round
        status = game.status
        week = rnd.week
        view = rnd.view(role, week) if status == "playing" else None
        history = [rnd.view(role, w) for w in range(week)]
        mine = [rnd.entered(w)[role] for w in range(week)]
        entry = rnd.entered(week).get(role) if status == "playing" else None
        waiting = sorted(rnd.waits_for[role] & set(rnd.pending()), key=game.settings.humans.index)
        others = [r for r in rnd.pending() if r != role]
        cost = rnd.own_cost(role)
        left = game.deadline(role)
    roles = game.settings.roles
    weeks = game.settings.weeks
    shown_week = min(week + 1, weeks)
    with solara.Row(style={"align-items": "baseline", "gap": "32px", "flex-wrap": "wrap"}):
        solara.HTML(
            tag="h1",
            unsafe_innerHTML=f"You are the {html.escape(role)}",
            classes=["pullchain-game-role"],
        )
        solara.Text(
            f"Week {shown_week} of {weeks}",
            classes=["pullchain-game-week"],
            style={"font-size": "30px", "font-weight": "bold"},
        )
    solara.Text(
        f"Round {game.current + 1} of {len(game.rounds)}: {rnd.regime} "
        f"({REGIME_TEXT.get(rnd.regime, 'as this regime lets you see')})",
        classes=["pullchain-game-round"],
        style={"font-size": "20px", "color": regime_color(rnd.regime)},
    )

    # Each part in a box of its own, so that what changes inside one (a message that
    # comes and goes) does not shift the others: a shifted chart would be drawn anew.
    with solara.Column(gap="8px", classes=["pullchain-game-now"]):
        if status == "lobby":
            solara.Info(f"Round {game.current + 1} starts when the facilitator presses Start.")
        elif status == "playing":
            if view is None:
                names = " and the ".join(waiting) or "players below you"
                solara.Info(
                    f"Waiting for the {names} to order: this round you see their orders or "
                    "stock the same week, so your numbers come once they have ordered."
                )
            else:
                tiles(view_tiles(view, role, roles, rnd.regime), "game-view")
            # The same field all round (a new one each week would be slower to draw): off
            # while there is nothing to order, cleared by itself when the week changes.
            OrderForm(game, role, week, left, disabled=view is None or entry is not None)
            if entry is not None:
                waiting_on = ", ".join(others) or "nobody"
                solara.Success(
                    f"You ordered {number(entry.order)} this week. Waiting for: {waiting_on}.",
                    classes=["pullchain-game-ordered"],
                )
        elif status == "between rounds":
            solara.Info(f"Round {game.current + 1} is over. Your cost in it: {number(cost)}.")
            if host:
                solara.Button(
                    f"Start round {game.current + 2}",
                    on_click=game.start_round,
                    color="primary",
                )
            else:
                solara.Text(f"The facilitator starts round {game.current + 2}.")
        else:
            solara.Success(f"The game is over. Your cost in the last round: {number(cost)}.")
            solara.Button(
                "See the debrief",
                color="primary",
                on_click=lambda: navigate(query(**q, debrief="1")),
            )
    with solara.Column(gap="4px", classes=["pullchain-game-past"]):
        if history:
            solara.Text(
                f"Your cost so far this round: {number(cost)}",
                style={"font-size": "20px"},
                classes=["pullchain-game-cost"],
            )
            chart(history_spec(history, mine, role, roles, weeks), "game-history")
            late = [w + 1 for w, e in enumerate(mine) if e.by == BY_COMPUTER]
            if late:
                weeks_late = ", ".join(map(str, late))
                solara.Text(f"The computer ordered for you in week {weeks_late}.")


_ORDER_VUE = """
<template>
  <div class="pullchain-order-form" :data-week="week" :data-off="disabled ? 'yes' : 'no'"
       style="display: flex; align-items: center; gap: 16px; flex-wrap: wrap">
    <v-text-field v-model="typed" :label="label" class="pullchain-order-input" autofocus
                  hide-details :disabled="disabled"
                  @keyup.enter="submit({week: week, typed: typed})"></v-text-field>
    <v-btn color="primary" x-large style="font-size: 22px" :disabled="disabled"
           @click="submit({week: week, typed: typed})">
      Place order
    </v-btn>
  </div>
</template>
<script>
module.exports = {
  data() { return { typed: "" }; },
  watch: { week() { this.typed = ""; } },
}
</script>
"""


class OrderField(ipyvuetify.VuetifyTemplate):
    """The order field and its button. Enter and the click send what is typed, and the
    week it was typed for, with the event itself: a synced ``v_model`` can reach the
    server after the key that should send it (widget updates wait for the previous
    one, events do not), and the order taken must be the one on the screen."""

    template = traitlets.Unicode(_ORDER_VUE).tag(sync=True)
    label = traitlets.Unicode("Your order this week").tag(sync=True)
    week = traitlets.Int(0).tag(sync=True)
    """The week (from 1) the field orders for; the field clears itself when it changes."""
    disabled = traitlets.Bool(False).tag(sync=True)

    def vue_submit(self, data: Any) -> None:
        handler = getattr(self, "handler", None)
        if handler is not None and isinstance(data, dict):
            handler(data.get("week"), data.get("typed"))


@solara.component
def OrderForm(
    game: Game,
    role: str,
    week: int,
    left: float | None,
    disabled: bool = False,
):
    """A big field for the order (Enter or the button sends it); a refused input is a
    message under it, and the page stays as it was."""
    problem, set_problem = solara.use_state(None)

    def place(shown_week: Any, typed: Any) -> None:
        if disabled:
            return
        try:  # the week the player saw: if it has just ended, the game says so
            week_seen = int(shown_week) - 1 if isinstance(shown_week, int) else week
            game.submit(role, week_seen, typed)
        except OrderError as err:
            set_problem(str(err))
            return
        set_problem(None)

    latest = solara.use_ref(place)
    latest.current = place
    # One root whatever is shown: a message added as a sibling would draw the field anew,
    # unbound (the handler is bound once, when the field is made).
    with solara.Column(gap="4px"):
        with solara.Row(style={"align-items": "center", "gap": "16px", "flex-wrap": "wrap"}):
            field = OrderField.element(week=week + 1, disabled=disabled)

            def bind() -> None:
                solara.get_widget(field).handler = lambda w, typed: latest.current(w, typed)

            solara.use_effect(bind, [])
            if left is not None:
                solara.Text(
                    f"{left:.0f} s left",
                    classes=["pullchain-game-clock"],
                    style={"font-size": "22px"},
                )
        if problem:
            solara.Error(problem, classes=["pullchain-game-problem"])


def view_tiles(view: View, role: str, roles: Any, regime: str) -> list[tuple[str, str]]:
    """The big numbers of a player's week, from its ``View`` only."""
    customers = " and the ".join(roles.customers[role]) or "your customers"
    items = [
        (f"orders from the {customers}", number(view.orders)),
        ("delivered to you", number(view.received)),
        ("you shipped", number(view.shipped)),
        ("on hand", number(view.on_hand)),
        ("backlog (you owe)", number(view.backlog)),
        ("on order", number(view.on_order)),
    ]
    if view.consumer_demand is not None:
        items.append(("consumer demand for your goods", number(view.consumer_demand)))
    for index, position in view.positions:
        items.append((f"{roles.name(index)}: stock position", number(position)))
    return items


def history_spec(history: list[View], mine: list, role: str, roles: Roles, weeks: int) -> dict:
    """A player's weeks so far: orders received (black) and placed, on hand and backlog
    (dashed), in the role's colour."""
    rows = [  # one row a week, folded into series by Vega-Lite (a quarter of the rows)
        {
            "week": view.period + 1,
            "orders received": view.orders,
            "your orders": entry.order,
            "on hand": view.on_hand,
            "backlog": view.backlog,
        }
        for view, entry in zip(history, mine, strict=True)
    ]
    mine_color = roles.colors[role]
    series = ["orders received", "your orders", "on hand", "backlog"]
    panel = "indexof(['orders received', 'your orders'], datum.series) >= 0 ? 'orders' : 'stock'"
    return vega_spec(
        data={"values": rows},
        transform=[
            {"fold": series, "as": ["series", "value"]},
            {"calculate": panel, "as": "panel"},
        ],
        facet=game_debrief.column_facet("panel"),
        spec={
            "width": 470,
            "height": 200,
            "mark": {"type": "line", "strokeWidth": 2.5, "point": True},
            "encoding": {
                "x": {"field": "week", "type": "quantitative", "scale": {"domain": [1, weeks]}},
                "y": {"field": "value", "type": "quantitative", "title": "units"},
                "color": {
                    "field": "series",
                    "type": "nominal",
                    "title": None,
                    "scale": {
                        "domain": series,
                        "range": [DEMAND_COLOR, mine_color, mine_color, mine_color],
                    },
                    "legend": {"orient": "bottom", "labelFontSize": 14},
                },
                "strokeDash": {
                    "field": "series",
                    "type": "nominal",
                    "scale": {"domain": series, "range": [[1, 0], [1, 0], [1, 0], [5, 3]]},
                    "legend": None,
                },
                "tooltip": [{"field": "series"}, {"field": "week"}, {"field": "value"}],
            },
        },
        resolve={"scale": {"y": "independent"}},
        config=game_debrief.PROJECTOR_CONFIG,
    )


# -- the facilitator --------------------------------------------------------------------------
@solara.component
def FacilitatorPage(game: Game, navigate: Callable[[str], None], q: dict[str, str]):
    """The code for the projector, who has joined and ordered, and the controls. No
    player's numbers are shown here until the debrief."""
    use_game(game, countdown=True)
    with game.lock:
        rnd = game.round
        status = game.status
        week = rnd.week
        pending = set(rnd.pending())
        rows = []
        for role in game.settings.roles:
            if role not in game.settings.humans:
                rows.append([role, f"the computer ({game.settings.rule_of(role)} rule)", ""])
                continue
            seat = game.seats.get(role)
            who = (seat.name or "a player") if seat else "nobody yet"
            if status != "playing":
                state = ""
            elif role not in pending:
                state = "ordered"
            elif not rnd.ready(role):
                state = "waits for the orders below"
            else:
                left = game.deadline(role)
                state = "to order" + (f" ({left:.0f} s left)" if left is not None else "")
            rows.append([role, who, state])
    join = os.environ.get(ENV_JOIN) or "this address, ending in /game,"
    solara.Text(f"Players join at {join} with the code:", style={"font-size": "22px"})
    solara.HTML(tag="div", unsafe_innerHTML=html.escape(game.code), classes=["pullchain-code"])
    shown_week = min(week + 1, game.settings.weeks)
    solara.Text(
        f"{game.settings.scenario_name}: round {game.current + 1} of {len(game.rounds)} "
        f"({rnd.regime}), week {shown_week} of {game.settings.weeks}: {STATUS_TEXT[status]}",
        classes=["pullchain-game-status"],
        style={"font-size": "22px", "font-weight": "bold"},
    )
    table(["role", "played by", "this week"], rows, "seats")
    with solara.Row(style={"flex-wrap": "wrap"}):
        if status == "lobby":
            solara.Button(
                f"Start round {game.current + 1}",
                on_click=game.start_round,
                color="primary",
            )
        elif status == "between rounds":
            solara.Button(
                f"Start round {game.current + 2}",
                on_click=game.start_round,
                color="primary",
            )
        elif status == "playing":
            solara.Button(
                "The computer orders for the late now",
                on_click=lambda: game.computer_orders(all_late=True),
            )
        solara.Button(
            "Open the debrief (shows every role's numbers)",
            on_click=lambda: navigate(query(**q, debrief="1")),
        )
    timeout = game.settings.timeout
    solara.Text(
        f"Each player has {timeout:.0f} s to order once their numbers are in; then the "
        "computer's rule orders for them (shown as the computer's)."
        if timeout
        else "No time limit: the week waits for every player (or press the button above)."
    )
    solara.Text("Keep this page's address: it is the only key to these controls.")


# -- the debrief ------------------------------------------------------------------------------
@solara.component
def DebriefPage(game: Game, host: bool, back: Callable[[], None]):
    """Each round against the computer's play, side by side; downloads."""
    version = use_game(game)
    allowed = host or game.finished
    rounds = solara.use_memo(lambda: game_debrief.results(game) if allowed else [], [version])
    if not allowed:
        solara.Warning("The debrief opens once the game is over.")
        return
    solara.HTML(tag="h1", unsafe_innerHTML=f"Debrief of game {html.escape(game.code)}")
    with solara.Row(style={"flex-wrap": "wrap", "align-items": "center"}):
        solara.Button("Back", on_click=back)
        if rounds:
            Downloads(game)
    if not rounds:
        solara.Info("Nothing to debrief yet: no week has been played.")
        return
    chart(game_debrief.orders_spec(rounds), "debrief-orders")
    chart(game_debrief.stock_spec(rounds), "debrief-stock")
    chart(game_debrief.cost_spec(game, rounds), "debrief-cost")
    summary = game_debrief.summary_table(game, rounds)
    header, rows = cost_columns(summary, rounds)
    table(header, rows, "debrief", numeric=set(range(2, len(header))))
    ref = game.settings.reference_cost
    if ref is not None:
        label = game.settings.reference_label or "given by the facilitator"
        team = summary[summary["role"] == game_debrief.TEAM]
        ratios = ", ".join(
            f"round {r}: {c / ref:.2f}" for r, c in zip(team["round"], team["cost"], strict=True)
        )
        solara.Text(f"Reference team cost: {number(ref)} ({label}); the team's over it: {ratios}.")
    else:
        solara.Text(
            "Sterman (1989) had real teams play this game; his average team cost is not "
            "shown here, as no source we could check gives the figure. The facilitator can "
            "enter a published figure as the reference cost."
        )
    bullwhip = game_debrief.bullwhip_table(rounds)
    tiers = list(dict.fromkeys(bullwhip["tier"]))
    head = ["bullwhip of"]
    for r in rounds:
        head += [f"round {r.number} ({r.regime}): your team", "the computer"]
    cells = []
    for tier in tiers:
        row = [tier]
        for r in rounds:
            b = bullwhip[(bullwhip["round"] == r.number) & (bullwhip["tier"] == tier)].iloc[0]
            row += [_ratio(b["bullwhip"]), _ratio(b["computer's bullwhip"])]
        cells.append(row)
    table(head, cells, "debrief-bullwhip", numeric=set(range(1, len(head))))
    solara.Text("Bullwhip: the variance of a tier's orders over the variance of consumer demand.")


def cost_columns(summary: Any, rounds: list) -> tuple[list[str], list[list[str]]]:
    """The cost table with the rounds side by side: a row per role and one for the team."""
    header = ["cost of", "played by"]
    for r in rounds:
        header += [f"round {r.number} ({r.regime})", "the computer", "ratio"]
    rows = []
    for role in dict.fromkeys(summary["role"]):
        mine = summary[summary["role"] == role]
        row = [role, " / ".join(dict.fromkeys(mine["played by"]))]
        for r in rounds:
            line = mine[mine["round"] == r.number].iloc[0]
            row += [
                number(line["cost"]),
                number(line["computer's cost"]),
                _ratio(line["cost / computer's"]),
            ]
        rows.append(row)
    return header, rows


@solara.component
def Downloads(game: Game):
    """The debrief as files: every week (CSV), the costs (CSV), the charts (PNG)."""
    with solara.Row(style={"flex-wrap": "wrap"}):
        _downloads(game)


def _downloads(game: Game) -> None:
    solara.FileDownload(
        lambda: game_debrief.export_csv(game, "weekly"),
        filename=f"game-{game.code}-weeks.csv",
        label="Every week (CSV)",
        mime_type="text/csv",
    )
    solara.FileDownload(
        lambda: game_debrief.export_csv(game, "summary"),
        filename=f"game-{game.code}-summary.csv",
        label="Costs (CSV)",
        mime_type="text/csv",
    )
    solara.FileDownload(
        lambda: game_debrief.export_png(game),
        filename=f"game-{game.code}.png",
        label="Charts (PNG)",
        mime_type="image/png",
    )


def _ratio(value: float) -> str:
    return "n/a" if value != value else f"{value:.2f}"
