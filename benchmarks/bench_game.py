"""Classroom game speed: a player's order -> the next week shown, in real browsers.

Run from the repository root (needs the test extra and Chromium, as the browser tests)::

    .venv/bin/python benchmarks/bench_game.py               # 8 players, 12 timed weeks
    .venv/bin/python benchmarks/bench_game.py --weeks 20 --json bench-game.json

It reuses the browser tests' harness (tests/test_game_browser.py): ``pullchain app``
started as a user starts it, Debian's Chromium through Playwright, one browser
context per player. Two cases, in one run:

- **baseline**: one player alone (a solo game: the computer plays three roles);
- **8 players**: two beer games of four players, eight sessions open at once.

Each week every player orders; the week is timed from the moment the last player
of a game presses Enter (in the page's clock) to the moment the *last* page of that
game shows the next week (each page records when its week changed, with a
MutationObserver, on the same clock). Target: under 300 ms median with 8 players.
The figure is also given as a ratio to the baseline. Memory per session: the
server's resident memory (the ``pullchain app`` process and its Solara child,
from /proc, so Linux only) before the sessions open and with all of them open,
over their number. The server's own share of a week (the last order taken,
checked, replayed and written) is timed in Python beside it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.test_game_browser import (  # noqa: E402
    PROJECTOR,
    GameServer,
    launch_browser,
)

TARGET_MS = 300.0
ROLES = ["retailer", "wholesaler", "distributor", "factory"]
WATCH = """() => {
    window.__weeks = {};
    const mark = () => {
        const w = document.querySelector('.pullchain-game-week');
        if (w && !(w.innerText in window.__weeks))
            window.__weeks[w.innerText] = performance.timeOrigin + performance.now();
    };
    new MutationObserver(mark).observe(document.body,
        {subtree: true, childList: true, characterData: true});
    mark();
}"""
NOW = "() => performance.timeOrigin + performance.now()"


def rss_kib(pid: int) -> int:
    """Resident memory of a process and all its descendants, KiB (Linux /proc)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += int(
                next(ln.split()[1] for ln in status.splitlines() if ln.startswith("VmRSS"))
            )
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError, StopIteration):
            continue
    return total


def open_player(browser, url: str):
    page = browser.new_context(viewport=PROJECTOR).new_page()
    page.goto(url)
    return page


def seat(page, role: str) -> None:
    page.get_by_role("button", name=f"Play the {role}").click(timeout=60_000)
    page.get_by_text(f"You are the {role}").wait_for(timeout=30_000)


def play(games: list[list], weeks: int, warm_up: int = 2) -> list[float]:
    """Every player orders each week; per game and week, ms from the last Enter to the
    last page showing the next week. The first ``warm_up`` weeks are not kept."""
    for pages in games:
        for page in pages:
            page.locator(".pullchain-order-form[data-off='no'] input").wait_for(timeout=30_000)
            page.evaluate(WATCH)
    times = []
    for week in range(1, weeks + 1):
        shown = f"Week {week + 1} of"
        pressed = []
        for pages in games:
            for page in pages[:-1]:
                _enter(page, week, 4 + week % 3)
            last = pages[-1]
            form = last.locator(f".pullchain-order-form[data-week='{week}'][data-off='no'] input")
            form.fill(str(4 + week % 3))
            pressed.append(last.evaluate(NOW))
            form.press("Enter")
        for pages, t0 in zip(games, pressed, strict=True):
            ends = []
            for page in pages:
                page.wait_for_function(
                    f"() => Object.keys(window.__weeks).some(k => k.startsWith('{shown}'))",
                    timeout=30_000,
                )
                marks = page.evaluate("() => window.__weeks")
                ends.append(next(v for k, v in marks.items() if k.startswith(shown)))
            if week > warm_up:
                times.append(max(ends) - t0)
    return times


def _enter(page, week: int, units: int) -> None:
    form = page.locator(f".pullchain-order-form[data-week='{week}'][data-off='no'] input")
    form.fill(str(units))
    form.press("Enter")


def server_share_ms(weeks: int) -> float:
    """In Python: the last order of a 4-player week taken, replayed and written (median)."""
    from pullchain.runs.game import Settings
    from pullchain.runs.game_store import GameStore, Hub

    with tempfile.TemporaryDirectory() as tmp:
        game = Hub(GameStore(tmp)).create(Settings.create("beer-game", ROLES))
        game.start_round()
        out = []
        for week in range(weeks):
            for role in ROLES[:-1]:
                game.submit(role, week, "5")
            t0 = time.perf_counter()
            game.submit(ROLES[-1], week, "5")
            game.round.view(ROLES[0], week + 1)  # the replay the next page draw needs
            out.append(1000 * (time.perf_counter() - t0))
        return statistics.median(out)


def started_game(folder: Path, weeks: int) -> str:
    """A four-player beer game written to the server's folder with round 1 started (the
    server loads it when the first player opens it); returns its code."""
    from pullchain.runs.game import Settings
    from pullchain.runs.game_store import GameStore, Hub

    game = Hub(GameStore(folder)).create(Settings.create("beer-game", ROLES, weeks=weeks))
    game.start_round()
    return game.code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", type=int, default=14, help="weeks played (2 are warm-up)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = launch_browser(p)
        with GameServer(Path(tmp)) as server:
            warm = open_player(browser, server.game_url)  # the first page loads the modules
            warm.get_by_role("button", name="Play solo").wait_for(timeout=60_000)
            warm.context.close()
            time.sleep(1.0)
            idle = rss_kib(server.proc.pid)
            games = []
            for _ in range(2):
                code = started_game(Path(tmp), args.weeks + 1)
                pages = []
                for role in ROLES:
                    page = open_player(browser, f"{server.game_url}?code={code}")
                    seat(page, role)
                    pages.append(page)
                games.append(pages)
            time.sleep(1.0)
            opened = rss_kib(server.proc.pid)
            eight = play(games, args.weeks)
            played = rss_kib(server.proc.pid)
            for pages in games:
                for page in pages:
                    page.context.close()
            solo = open_player(browser, server.game_url)
            solo.get_by_role("button", name="Play solo").click(timeout=60_000)
            baseline = play([[solo]], args.weeks)
            solo.context.close()
        browser.close()
    share = server_share_ms(args.weeks)
    rows = {
        "baseline_1_player_median_ms": statistics.median(baseline),
        "players_8_median_ms": statistics.median(eight),
        "players_8_p90_ms": sorted(eight)[int(0.9 * (len(eight) - 1))],
        "players_8_max_ms": max(eight),
        "ratio_8_to_1": statistics.median(eight) / statistics.median(baseline),
        "target_ms": TARGET_MS,
        "weeks_timed": len(eight),
        "server_share_ms": share,
        "rss_idle_mib": idle / 1024,
        "rss_8_sessions_mib": opened / 1024,
        "rss_after_play_mib": played / 1024,
        "mib_per_session": (opened - idle) / 1024 / 8,
    }
    print("Classroom game: a player's last order -> every page of the game shows the next week")
    print(f"  1 player (baseline)   median {rows['baseline_1_player_median_ms']:6.0f} ms")
    print(
        f"  8 players (2 games)   median {rows['players_8_median_ms']:6.0f} ms   "
        f"p90 {rows['players_8_p90_ms']:.0f}   max {rows['players_8_max_ms']:.0f}   "
        f"{rows['ratio_8_to_1']:.2f}x the baseline   target {TARGET_MS:.0f} ms: "
        f"{'ok' if rows['players_8_median_ms'] < TARGET_MS else 'OVER'}"
        f"   ({rows['weeks_timed']} game-weeks)"
    )
    print(f"  server's share of a week (order taken, replayed, written): {share:.1f} ms")
    print(
        f"  server memory: {rows['rss_idle_mib']:.0f} MiB idle, {rows['rss_8_sessions_mib']:.0f}"
        f" MiB with 8 player sessions open ({rows['mib_per_session']:.1f} MiB a session), "
        f"{rows['rss_after_play_mib']:.0f} MiB after {args.weeks} weeks"
    )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0 if rows["players_8_median_ms"] < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
