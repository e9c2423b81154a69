"""The classroom game in a real browser: Debian's Chromium driven by Playwright.

One server (``pullchain app`` in a child process, as in test_app_browser.py) with a
games folder of the test's own. What must hold: a solo game played to the end,
surviving a reload half way; two players in two browser contexts, each shown only
its role's numbers, under opaque and under transparent; every game page at
1280x720 (a projector) without its charts cut off at the side; eight sessions
playing at once without a stall. The harness (``GameServer``, ``order``) is
reused by benchmarks/bench_game.py.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

pytest.importorskip("solara", reason="the app extra (pip install 'pullchain[app]')")
playwright_api = pytest.importorskip("playwright.sync_api", reason="the test extra")

from tests.test_app_browser import AppServer, Console, blank, keep, launch_browser  # noqa: E402

PROJECTOR = {"width": 1280, "height": 720}
WEEK = ".pullchain-game-week"
OPEN = ".pullchain-order-form[data-off='no']"
"""The order form, where there is an order to place."""
ORDER = f"{OPEN} input"


# -- harness --------------------------------------------------------------------------------
class GameServer(AppServer):
    """``pullchain app beer-game`` keeping its games in ``folder``."""

    def __init__(self, folder: Path) -> None:
        from pullchain.runs.game_store import ENV_GAMES

        self.folder = folder
        before = os.environ.get(ENV_GAMES)
        os.environ[ENV_GAMES] = str(folder)  # the child inherits it
        try:
            super().__init__("beer-game")
        finally:
            if before is None:
                os.environ.pop(ENV_GAMES, None)
            else:
                os.environ[ENV_GAMES] = before
        self.game_url = self.url + "game"

    def create(self, humans, **options):
        """A game made on disk as the facilitator's form makes it (the server loads it
        on first use); returns (code, host key)."""
        from pullchain.runs.game import Settings
        from pullchain.runs.game_store import GameStore, Hub

        game = Hub(GameStore(self.folder)).create(Settings.create("beer-game", humans, **options))
        return game.code, game.host_key


def week_of(page) -> int:
    """The week the player's page shows ("Week 3 of 36" -> 3)."""
    return int(page.locator(WEEK).inner_text().split()[1])


def order(page, units: int | str, timeout: float = 15_000) -> int:
    """Type an order into the field of the week there is one for and press Enter; wait
    until that field is no longer open (the order was taken); returns the week."""
    form = page.locator(OPEN)
    form.wait_for(timeout=timeout)
    week = int(form.get_attribute("data-week"))
    field = form.locator("input")
    field.fill(str(units))
    field.press("Enter")
    try:
        page.wait_for_function(
            "(w) => !document.querySelector(`.pullchain-order-form[data-week='${w}']"
            "[data-off='no']`)",
            arg=week,
            timeout=timeout,
        )
    except playwright_api.TimeoutError:
        shown = page.inner_text("body")
        raise AssertionError(f"order {units} in week {week} not taken; the page: {shown}") from None
    return week


def not_cut_off(page) -> list[str]:
    """What reaches beyond the right edge of the window (nothing, on a good page)."""
    return page.evaluate(
        """() => {
            const width = window.innerWidth, out = [];
            if (document.documentElement.scrollWidth > width + 1)
                out.push('page ' + document.documentElement.scrollWidth);
            for (const c of document.querySelectorAll('[class*="pullchain-chart-"] canvas')) {
                const r = c.getBoundingClientRect();
                if (r.right > width + 1) out.push(c.closest('[class*=pullchain-chart-]')
                    .className + ' ' + Math.round(r.right));
            }
            return out;
        }"""
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with GameServer(tmp_path_factory.mktemp("games")) as app:
        yield app


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        chromium = launch_browser(p)
        yield chromium
        chromium.close()


def new_page(browser):
    page = browser.new_context(viewport=PROJECTOR).new_page()
    page.console = Console(page)
    return page


def shot(page, name: str, tmp_path: Path) -> None:
    """Keep a screenshot of the window as a projector shows it; check it is not blank
    and that no chart is cut off at the side."""
    page.wait_for_timeout(400)  # the page settles (Solara dims it while it redraws)
    png = page.screenshot()
    path = keep(name, png, tmp_path)
    assert not blank(png), f"blank screenshot: {path}"
    assert not_cut_off(page) == [], f"cut off at 1280 px: {path}"


# -- tests ----------------------------------------------------------------------------------
def test_a_solo_game_is_played_to_the_end_and_survives_a_reload(server, browser, tmp_path):
    page = new_page(browser)
    page.goto(server.game_url)
    page.get_by_role("button", name="Play solo").wait_for(timeout=60_000)
    shot(page, "game-lobby.png", tmp_path)
    page.get_by_role("button", name="Play solo").click()
    page.locator(WEEK).wait_for(timeout=30_000)
    assert page.locator(WEEK).inner_text() == "Week 1 of 36"
    for week in range(1, 13):
        order(page, 4 + week % 5)
    assert week_of(page) == 13
    cost = page.locator(".pullchain-game-cost").inner_text()
    page.reload()  # the same address: the same seat, the same week, the same numbers
    page.locator(WEEK).wait_for(timeout=30_000)
    assert week_of(page) == 13
    assert page.locator(".pullchain-game-cost").inner_text() == cost
    page.locator(".pullchain-chart-game-history canvas").wait_for()
    shot(page, "game-player.png", tmp_path)
    for bad in ["lots", "-2", "7.5", "99999999"]:  # refused, with a message; nothing breaks
        page.locator(ORDER).fill(bad)
        page.get_by_role("button", name="Place order").click()
        page.locator(".pullchain-game-problem").wait_for(timeout=5_000)
        assert week_of(page) == 13
    for _ in range(13, 37):
        order(page, 8)
    page.get_by_text("Round 1 is over").wait_for(timeout=10_000)
    page.get_by_role("button", name="Start round 2").click()
    page.get_by_text("Round 2 of 2: transparent").wait_for(timeout=10_000)
    for _ in range(36):
        order(page, 8)
    page.get_by_text("The game is over").wait_for(timeout=10_000)
    page.get_by_role("button", name="See the debrief").click()
    page.locator(".pullchain-chart-debrief-cost canvas").wait_for(timeout=30_000)
    page.locator(".pullchain-chart-debrief-orders canvas").wait_for()
    text = page.inner_text("body")
    assert "round 1 (opaque)" in text and "round 2 (transparent)" in text and "team" in text
    shot(page, "game-debrief.png", tmp_path)
    assert page.console.errors == []
    page.context.close()


def test_two_players_each_see_only_their_role(server, browser, tmp_path):
    code, host = server.create(["retailer", "distributor"], weeks=2, timeout=0)
    boss = new_page(browser)
    boss.goto(f"{server.game_url}?code={code}&host={host}")
    boss.locator(".pullchain-code").wait_for(timeout=60_000)
    assert boss.locator(".pullchain-code").inner_text() == code
    players = {}
    for role, name in (("retailer", "Ana"), ("distributor", "Ben")):
        page = new_page(browser)
        page.goto(server.game_url)
        page.get_by_label("Game code (on the projector)").fill(code.lower())
        page.get_by_role("button", name="Join").click()
        page.get_by_label("Your name (optional)").fill(name)
        if role == "distributor":
            shot(page, "game-join.png", tmp_path)
        page.get_by_role("button", name=f"Play the {role}").click()
        page.get_by_text(f"You are the {role}").wait_for(timeout=30_000)
        players[role] = page
    boss.get_by_text("Ana").wait_for(timeout=10_000)
    shot(boss, "game-facilitator.png", tmp_path)
    boss.get_by_role("button", name="Start round 1").click()
    for page in players.values():
        page.locator(ORDER).wait_for(timeout=10_000)
    retailer, distributor = players["retailer"], players["distributor"]
    for page in (retailer, distributor):  # opaque: orders, stock, no one else's data
        text = page.inner_text("body")
        assert "on hand" in text and "backlog (you owe)" in text
        assert "consumer demand" not in text and "stock position" not in text
    assert "orders from the consumers" in retailer.inner_text(".pullchain-game-view")
    assert "orders from the wholesaler" in distributor.inner_text(".pullchain-game-view")
    for _ in range(2):
        order(retailer, 6)
        order(distributor, 5)
    boss.get_by_role("button", name="Start round 2").wait_for(timeout=10_000)
    boss.get_by_role("button", name="Start round 2").click()
    # transparent: the distributor sees the stock below it this same week, after its order
    distributor.get_by_text("Waiting for the retailer to order").wait_for(timeout=10_000)
    text = retailer.inner_text(".pullchain-game-view")  # it sees its consumers anyway
    assert "orders from the consumers" in text and "stock position" not in text
    order(retailer, 7)
    distributor.locator(ORDER).wait_for(timeout=10_000)
    text = distributor.inner_text(".pullchain-game-view")
    assert "consumer demand for your goods" in text
    assert "retailer: stock position" in text and "wholesaler: stock position" in text
    assert "factory" not in text  # the factory is above it: not seen
    for page in (boss, *players.values()):
        assert page.console.errors == []
        page.context.close()


def test_eight_sessions_playing_at_once_do_not_stall(server, browser):
    """Two four-player games, eight browser sessions, six weeks: every week each
    session orders, and every page must show the next week within a bound."""
    roles = ["retailer", "wholesaler", "distributor", "factory"]
    pages = []
    for _ in range(2):
        code, host = server.create(roles, weeks=8)
        for role in roles:
            page = new_page(browser)
            page.goto(f"{server.game_url}?code={code}")
            page.get_by_role("button", name=f"Play the {role}").click(timeout=60_000)
            page.get_by_text(f"You are the {role}").wait_for(timeout=30_000)
            pages.append(page)
        boss = new_page(browser)
        boss.goto(f"{server.game_url}?code={code}&host={host}")
        boss.get_by_role("button", name="Start round 1").click(timeout=60_000)
        boss.context.close()
    for page in pages:
        page.locator(ORDER).wait_for(timeout=15_000)
    started = time.monotonic()
    for week in range(1, 7):
        for page in pages:
            field = page.locator(f".pullchain-order-form[data-week='{week}'][data-off='no'] input")
            field.fill(str(4 + week))
            field.press("Enter")
        for page in pages:  # a stall fails here: 15 s for the next week to show
            page.wait_for_function(
                f"() => document.querySelector('{WEEK}')?.innerText === 'Week {week + 1} of 8'",
                timeout=15_000,
            )
    assert time.monotonic() - started < 120
    for page in pages:
        assert page.console.errors == []
        page.context.close()
