"""The classroom game without a browser: input, the decision doorway, timing, timeouts,
rounds on the same demand, and storage (replay after a restart, codes, atomic files).

The game's page is tested in test_game_page.py (Solara's renderer) and
test_game_browser.py (Chromium).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from pullchain.network.errors import ConfigError
from pullchain.runs.game import (
    BY_COMPUTER,
    BY_PLAYER,
    Game,
    OrderError,
    PlayerOrders,
    Settings,
    parse_order,
)
from pullchain.runs.game_store import CODE_ALPHABET, GameStore, Hub, clean_code
from pullchain.runs.scenarios import Scenario


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def beer(humans=("retailer",), **options) -> Settings:
    return Settings.create("beer-game", humans, **options)


def play_week(game: Game, orders: dict[str, str]) -> None:
    week = game.round.week
    for role, text in orders.items():
        game.submit(role, week, text)


# -- input ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "value"), [("8", 8.0), (" 12 ", 12.0), ("8.0", 8.0), ("0", 0)])
def test_a_whole_number_of_units_is_accepted(text, value):
    assert parse_order(text) == value


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "Type the number"),
        ("eight", "is not a number"),
        ("-3", "cannot be negative"),
        ("7.5", "Whole units only"),
        ("1000001", "At most 1,000 units"),
        ("nan", "finite"),
        ("inf", "finite"),
        ("1e400", "finite"),
        ("9" * 40, "not a number"),
        (None, "Type the number"),
    ],
)
def test_bad_input_is_refused_with_a_message(text, says):
    with pytest.raises(OrderError, match=says):
        parse_order(text)


def test_fractions_are_fine_where_the_game_allows_them():
    assert parse_order("7.5", integer=False) == 7.5


# -- settings -------------------------------------------------------------------------------
def test_roles_are_named_as_the_scenario_names_them():
    assert beer().roles.names == ["retailer", "wholesaler", "distributor", "factory"]


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"humans": ("brewer",)}, "humans"),
        ({"humans": ()}, "humans"),
        ({"humans": ("retailer", "retailer")}, "humans"),
        ({"weeks": 0}, "weeks"),
        ({"timeout": -1}, "timeout"),
        ({"computer_policy": "nonsense"}, "computer_policy"),
        ({"computer_policy": "player"}, "computer_policy"),
        ({"rounds": ("opaque", "murky")}, "rounds"),
        ({"knobs": {"delay": -1}}, "regime.delay"),
        ({"knobs": {"colour": 1}}, "regime.colour"),
        ({"max_order": 0}, "max_order"),
    ],
)
def test_bad_settings_name_the_field(options, field):
    humans = options.pop("humans", ("retailer",))
    with pytest.raises(ConfigError) as err:
        beer(humans, **options)
    assert err.value.field.startswith(field)


def test_a_network_too_large_for_a_game_is_refused():
    big = Scenario.preset("default").with_overrides({"network.n_retailers": 80})
    with pytest.raises(ConfigError, match="at most 60 firms in a classroom game's network"):
        Settings.create(big, ["retailer 1"])


# -- the doorway ----------------------------------------------------------------------------
def test_entered_orders_reach_the_model_through_the_policy():
    game = Game("T", "k", beer(("retailer", "factory")))
    game.start_round()
    for week, (r, f) in enumerate([("8", "4"), ("0", "12"), ("5", "5")]):
        play_week(game, {"retailer": r, "factory": f})
        assert game.round.week == week + 1
    model = game.round.replay().model
    ordered = model.recorder.firms.series("ordered")
    assert ordered[:3, 0].tolist() == [8.0, 0.0, 5.0]
    assert ordered[:3, 3].tolist() == [4.0, 12.0, 5.0]
    assert isinstance(model.firms[0].policy, PlayerOrders)


def test_a_player_who_orders_what_the_rule_would_costs_what_the_rule_does():
    """PlayerOrders is a faithful doorway: typing the rule's own order every week gives
    the computer's benchmark, to the cent."""
    game = Game("T", "k", beer(("wholesaler",), integer_orders=False))
    game.start_round()
    rnd = game.round
    while not rnd.over:
        view = rnd.view("wholesaler", rnd.week)
        game.submit("wholesaler", rnd.week, repr(max(view.suggestion, 0.0)))
    played = rnd.replay().model.recorder.firms.series("period_cost")
    bench = rnd.benchmark().recorder.firms.series("period_cost")
    np.testing.assert_array_equal(played, bench)


def test_the_view_is_the_firms_own_state_and_observation():
    game = Game("T", "k", beer(("wholesaler",)))
    game.start_round()
    view = game.round.view("wholesaler", 0)
    firm = game.round.replay().model.firms[1]
    assert (view.orders, view.on_hand, view.backlog) == (4.0, 12.0, 0.0)
    assert view.received == 4.0 and view.shipped == 4.0
    assert view.consumer_demand is None and view.positions == ()  # opaque
    assert firm.policy.views[0] == view


def test_under_transparency_the_view_shows_consumer_sales_and_stock_below():
    game = Game("T", "k", beer(("distributor",)))
    game.start_round()
    while not game.round.over:
        play_week(game, {"distributor": "4"})
    game.start_round()  # round 2, transparent
    assert game.round.regime == "transparent"
    view = game.round.view("distributor", 0)
    assert view.consumer_demand == 4.0
    assert [i for i, _ in view.positions] == [0, 1]  # the retailer and the wholesaler


# -- timing ---------------------------------------------------------------------------------
def _views_shown_before_and_after(game: Game, order_of_entry: list[str]):
    """Each week: every player's view as shown when it could first order, and the same
    week's view once the whole week has been played."""
    shown, final = [], []
    rnd = game.round
    while not rnd.over:
        week = rnd.week
        seen = {}
        for role in order_of_entry:
            assert rnd.ready(role), f"{role} must be able to order in week {week}"
            seen[role] = rnd.view(role, week)
            game.submit(role, week, str(3 + week % 5))
        shown.append(seen)
        final.append({r: rnd.view(r, week) for r in order_of_entry})
    return shown, final


def test_no_player_sees_an_order_that_has_not_been_entered():
    """A view shown before others have ordered is the view the week really had."""
    game = Game("T", "k", beer(("retailer", "wholesaler", "distributor", "factory")))
    for _ in game.rounds:
        game.start_round()
        shown, final = _views_shown_before_and_after(
            game, ["retailer", "wholesaler", "distributor", "factory"]
        )
        assert shown == final


def test_under_opaque_everybody_orders_at_once():
    game = Game("T", "k", beer(("retailer", "wholesaler", "distributor", "factory")))
    assert all(not deps for deps in game.rounds[0].waits_for.values())


def test_under_transparency_a_player_waits_for_the_orders_it_sees_the_same_week():
    game = Game("T", "k", beer(("retailer", "distributor")))
    assert game.rounds[1].waits_for == {"retailer": set(), "distributor": {"retailer"}}
    game.start_round()
    while not game.round.over:
        play_week(game, {"retailer": "4", "distributor": "4"})
    game.start_round()
    rnd = game.round
    assert not rnd.ready("distributor") and rnd.view("distributor", 0) is None
    with pytest.raises(OrderError, match="Wait for"):
        game.submit("distributor", 0, "4")
    game.submit("retailer", 0, "9")
    assert rnd.ready("distributor")
    retailer = rnd.view("retailer", 0)
    position = retailer.on_hand - retailer.backlog + retailer.on_order + 9.0  # with its order
    assert rnd.view("distributor", 0).positions[0] == (0, position)


def test_with_no_order_delay_a_player_waits_for_the_order_it_receives_that_week():
    scenario = Scenario.preset("beer-game").with_overrides({"network.order_delay": 0})
    settings = Settings.create(scenario, ["retailer", "distributor"], rounds=("opaque",))
    game = Game("T", "k", settings)
    assert game.round.waits_for == {"retailer": set(), "distributor": {"retailer"}}
    game.start_round()
    shown, final = _views_shown_before_and_after(game, ["retailer", "distributor"])
    assert shown == final


# -- timeouts -------------------------------------------------------------------------------
def test_after_the_timeout_the_computer_orders_for_the_late_and_says_so():
    clock = Clock()
    game = Game("T", "k", beer(("retailer", "wholesaler"), timeout=30), clock=clock)
    game.start_round()
    game.submit("retailer", 0, "6")
    clock.now += 29
    assert not game.tick() and game.round.week == 0
    assert game.deadline("wholesaler") == pytest.approx(1.0)
    clock.now += 2
    assert game.tick()
    assert game.round.week == 1
    entry = game.round.orders[0]["wholesaler"]
    assert entry.by == BY_COMPUTER
    assert entry.order == pytest.approx(game.round.view("wholesaler", 0).suggestion)
    assert game.round.orders[0]["retailer"].by == BY_PLAYER
    assert game.deadline("wholesaler") == pytest.approx(30.0)  # a new week, a new clock


def test_a_waiting_player_gets_the_full_time_once_its_numbers_are_in():
    clock = Clock()
    game = Game("T", "k", beer(("retailer", "distributor"), timeout=10), clock=clock)
    game.start_round()
    game.computer_orders(all_late=True)
    while not game.round.over:
        game.computer_orders(all_late=True)
    game.start_round()  # transparent: the distributor waits for the retailer
    assert game.deadline("distributor") is None
    clock.now += 8
    game.submit("retailer", 0, "4")
    assert game.deadline("distributor") == pytest.approx(10.0)


def test_the_facilitator_can_let_the_computer_order_for_everyone_late_now():
    game = Game("T", "k", beer(("retailer", "distributor")))
    game.start_round()
    assert game.computer_orders(all_late=True) == ["retailer", "distributor"]
    assert game.round.week == 1


# -- rounds ---------------------------------------------------------------------------------
def test_rounds_run_on_the_same_consumer_demand():
    game = Game("T", "k", beer(("retailer",)))
    for _ in game.rounds:
        game.start_round()
        while not game.round.over:
            play_week(game, {"retailer": "5"})
    assert game.status == "finished"
    demands = [rnd.replay().model.recorder.demand_series() for rnd in game.rounds]
    np.testing.assert_array_equal(demands[0], demands[1])
    assert [rnd.regime for rnd in game.rounds] == ["opaque", "transparent"]


def test_no_order_outside_a_round_in_play():
    game = Game("T", "k", beer())
    with pytest.raises(OrderError, match="not being played"):
        game.submit("retailer", 0, "4")
    game.start_round()
    game.submit("retailer", 0, "4")
    with pytest.raises(OrderError, match="That week is over"):
        game.submit("retailer", 0, "4")


def test_seats_are_taken_once():
    game = Game("T", "k", beer(("retailer", "factory")))
    token = game.take_seat("retailer", "  Ana   B ")
    assert game.seat_of(token) == "retailer" and game.seats["retailer"].name == "Ana B"
    assert game.seat_of("forged") is None and game.seat_of(None) is None
    with pytest.raises(ConfigError):
        game.take_seat("retailer", "Bo")
    with pytest.raises(ConfigError):
        game.take_seat("wholesaler", "Bo")  # the computer plays it


# -- storage --------------------------------------------------------------------------------
def test_a_restarted_server_rebuilds_the_game_exactly(tmp_path):
    first = Hub(GameStore(tmp_path))
    game = first.create(beer(("retailer", "wholesaler"), timeout=60))
    seat = game.take_seat("retailer", "Ana")
    game.start_round()
    for week in range(7):
        play_week(game, {"retailer": str(week), "wholesaler": "4"})
    game.submit("retailer", 7, "12")
    game.computer_orders(all_late=True)
    before = game.round.replay().model.recorder.firms.data.copy()

    again = Hub(GameStore(tmp_path)).get(game.code.lower())  # a new process; any case
    assert again is not game and again.seat_of(seat) == "retailer"
    assert again.round.orders == game.round.orders
    assert again.round.orders[7]["wholesaler"].by == BY_COMPUTER
    np.testing.assert_array_equal(again.round.replay().model.recorder.firms.data, before)
    assert again.is_host(game.host_key) and not again.is_host("guess")


def test_writes_are_atomic_and_private(tmp_path):
    store = GameStore(tmp_path / "games")
    game = Hub(store).create(beer())
    game.start_round()
    play_week(game, {"retailer": "4"})
    files = sorted(p.name for p in store.folder.iterdir())
    assert files == [f"{game.code}.json"]  # no temporary file left behind
    assert json.loads((store.folder / files[0]).read_text())["rounds"][0]["orders"][0] == {
        "week": 0,
        "role": "retailer",
        "order": 4.0,
        "by": "player",
    }
    assert store.folder.stat().st_mode & 0o077 == 0


def test_codes_are_short_and_cannot_name_another_file(tmp_path):
    store = GameStore(tmp_path)
    codes = {store.new_code() for _ in range(50)}
    assert len(codes) == 50 and all(len(c) == 6 and set(c) <= set(CODE_ALPHABET) for c in codes)
    hub = Hub(store)
    for bad in ["../etc/passwd", "..", "/tmp/x", "ABC", "ABCDEFG", "abcde!", "", None, "0OIL1U"]:
        assert hub.get(bad) is None
        with pytest.raises(ValueError):
            store.path(bad)
    assert clean_code(" ab-cd ef ") == "ABCDEF"


def test_a_broken_game_file_is_one_clear_error(tmp_path):
    store = GameStore(tmp_path)
    game = Hub(store).create(beer())
    (store.folder / f"{game.code}.json").write_text("{not json")
    with pytest.raises(ConfigError, match="game file"):
        Hub(store).get(game.code)
    record = game.to_record()
    for bad, field in [({"order": -4}, "order"), ({"by": "x"}, "by"), ({"week": 99}, "week")]:
        item = {"week": 0, "role": "retailer", "order": 4, "by": "player", **bad}
        record["rounds"][0]["orders"] = [item]
        (store.folder / f"{game.code}.json").write_text(json.dumps(record))
        with pytest.raises(ConfigError, match=field):
            Hub(store).get(game.code)
