"""The classroom game's pages without a browser (Solara's renderer): the wiring of every
page, bad input refused in the page, and no information leak through the page.

Browser tests of the same pages (a real Chromium) are in test_game_browser.py.
"""

from __future__ import annotations

import json
import time

import pytest

solara = pytest.importorskip("solara", reason="the app extra (pip install 'pullchain[app]')")
import ipyvuetify as v  # noqa: E402

from pullchain.agents.firms import Retailer  # noqa: E402
from pullchain.runs import game_page  # noqa: E402
from pullchain.runs.game import Game, Settings  # noqa: E402
from pullchain.runs.game_store import ENV_GAMES, hub  # noqa: E402


@pytest.fixture(autouse=True)
def _games(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_GAMES, str(tmp_path / "games"))


@solara.component
def Browser(start: str, seen: list):
    """The game route with an address bar the test can read (``seen``)."""
    search, set_search = solara.use_state(start)
    seen.append(search)
    game_page.GamePage(search=search, navigate=set_search)


def open_page(search: str = ""):
    seen: list[str] = []
    box, rc = solara.render(Browser(search, seen), handle_error=False)
    return box, rc, seen


def buttons(rc) -> list[str]:
    return [" ".join(map(str, b.children)) for b in rc.find(v.Btn).widgets]


def click(rc, label: str) -> None:
    (button,) = [b for b in rc.find(v.Btn).widgets if label in " ".join(map(str, b.children))]
    button.click()


def page_text(widget) -> str:
    """Everything a page shows: its texts, labels, HTML and the data of its charts."""
    out: list[str] = []

    def walk(w) -> None:
        for name in ("unsafe_innerHTML", "value", "label", "v_model", "description"):
            value = getattr(w, name, None)
            if isinstance(value, str) and value and value != "!!disabled!!":
                out.append(value)
        for name in ("datasets", "spec"):
            value = getattr(w, name, None)
            if isinstance(value, dict) and value:
                out.append(json.dumps(value, sort_keys=True))
        for child in getattr(w, "children", None) or []:
            if isinstance(child, str):
                out.append(child)
            elif hasattr(child, "keys"):
                walk(child)

    walk(widget)
    return "\n".join(out)


def eventually(check, seconds: float = 5.0) -> bool:
    """True once ``check()`` is: a change to a game draws its pages again from their
    watcher threads too, so the drawing may land a moment after the click."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def type_order(rc, text: str) -> None:
    """Enter (or the button): the field sends what is typed with the event."""
    field = rc.find(game_page.OrderField).widget
    field.vue_submit({"week": field.week, "typed": text})


# -- wiring ---------------------------------------------------------------------------------
def test_solo_from_the_lobby_to_the_next_week():
    box, rc, seen = open_page()
    assert {"Join", "Play solo", "Create the game"} <= set(buttons(rc))
    click(rc, "Play solo")
    assert "code=" in seen[-1] and "seat=" in seen[-1] and "host=" in seen[-1]
    assert "Week 1 of 36" in page_text(box)
    assert "You are the retailer" in page_text(box)
    type_order(rc, "8")
    assert eventually(lambda: "Week 2 of 36" in page_text(box))
    rc.close()


@pytest.mark.parametrize(
    ("typed", "says"),
    [("eight", "is not a number"), ("-1", "cannot be negative"), ("2.5", "Whole units only"),
     ("5000", "At most 1,000"), ("", "Type the number")],
)  # fmt: skip
def test_bad_input_is_a_message_in_the_page(typed, says):
    box, rc, _ = open_page()
    click(rc, "Play solo")
    type_order(rc, typed)
    text = page_text(box)
    assert says in text and "Week 1 of 36" in text
    type_order(rc, "4")  # and the page still takes a good order
    assert eventually(lambda: "Week 2 of 36" in page_text(box))
    rc.close()


def test_the_facilitator_creates_a_game_and_players_join_it():
    box, rc, seen = open_page()
    click(rc, "Create the game")
    assert "host=" in seen[-1]
    text = page_text(box)
    code = dict(part.split("=") for part in seen[-1].split("&"))["code"]
    assert len(code) == 6 and code in text and "waiting for Start" in text
    game = hub().get(code)
    assert game.settings.humans == ("retailer", "wholesaler", "distributor", "factory")
    assert game.settings.timeout == 60

    player_box, player, player_seen = open_page(f"code={code.lower()}")
    name = player.find(v.TextField, label="Your name (optional)").widget
    name.v_model = "Ana"
    click(player, "Play the wholesaler")
    assert "seat=" in player_seen[-1]
    assert game.seats["wholesaler"].name == "Ana"
    assert "Round 1 starts when the facilitator presses Start" in page_text(player_box)
    assert eventually(lambda: "Ana" in page_text(box))  # drawn again by its watcher
    click(rc, "Start round 1")
    assert eventually(lambda: "Week 1 of 36" in page_text(player_box))
    assert eventually(lambda: any("orders for the late" in b for b in buttons(rc)))
    click(rc, "The computer orders for the late now")
    assert game.round.week == 1
    rc.close()
    player.close()


def test_wrong_codes_and_keys_are_messages():
    game = hub().create(Settings.create("beer-game", ["retailer"]))
    for search, says in [
        ("code=ZZZZZZ", "There is no game"),
        ("code=../../etc", "There is no game"),
        (f"code={game.code}&host=guess", "not the key"),
        (f"code={game.code}&seat=guess", "This seat is not in this game"),
    ]:
        box, rc, _ = open_page(search)
        assert says in page_text(box), search
        rc.close()


def test_the_debrief_is_the_facilitators_until_the_game_is_over():
    game = hub().create(Settings.create("beer-game", ["retailer"], weeks=3))
    seat = game.take_seat("retailer")
    game.start_round()
    game.computer_orders(all_late=True)
    box, rc, _ = open_page(f"code={game.code}&seat={seat}&debrief=1")
    assert "opens once the game is over" in page_text(box)
    rc.close()
    box, rc, _ = open_page(f"code={game.code}&host={game.host_key}&debrief=1")
    text = page_text(box)
    assert "Debrief of game" in text and "team" in text and "not shown here" in text
    for label in ("Every week (CSV)", "Costs (CSV)", "Charts (PNG)"):
        assert any(label in b for b in buttons(rc)), label
    rc.close()


# -- no information leak through the page ---------------------------------------------------
class Meddler(Retailer):
    """After ordering in week 6 (period 5), changes what an opaque chain keeps private:
    its own stock, and the till's record of consumer sales."""

    def step(self) -> None:
        super().step()
        if self.model.period == 5:
            self.on_hand += 50.0
            board = self.model.regime.board
            board.pos[5 % board.depth] += 30.0


def wholesaler_page(regime: str, meddle: bool) -> str:
    """The wholesaler's page in week 6 of a round played under ``regime``."""
    settings = Settings.create("beer-game", ["wholesaler"], rounds=(regime,))
    game = Game("T", "k", settings)
    if meddle:
        game.round.model_kwargs = {"agent_classes": {"retailer": Meddler}}
    seat = game.take_seat("wholesaler")
    game.start_round()
    for week in range(5):
        game.submit("wholesaler", week, str(4 + week))
    box, rc = solara.render(
        game_page.PlayerPage(game, "wholesaler", lambda q: None, {"seat": seat}),
        handle_error=False,
    )
    text = page_text(box)
    rc.close()
    assert "Week 6 of 36" in text
    return text


def test_an_opaque_players_page_shows_nothing_it_may_not_see():
    assert wholesaler_page("opaque", meddle=True) == wholesaler_page("opaque", meddle=False)


def test_a_transparent_players_page_does_show_it():  # the control: the test can fail
    plain = wholesaler_page("transparent", meddle=False)
    meddled = wholesaler_page("transparent", meddle=True)
    assert plain != meddled
    assert "consumer demand for your goods" in meddled
    assert "retailer: stock position" in meddled


def test_a_games_folder_that_cannot_be_written_is_one_line_and_exit_2(tmp_path, capsys):
    from pullchain.runs import cli
    from pullchain.runs.app_server import free_port

    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    status = cli.main(["app", "--port", str(free_port()), "--games", str(blocked / "games")])
    err = capsys.readouterr().err
    assert status == 2 and err.startswith("pullchain: error: --games:") and err.count("\n") == 1
