"""The browser app in a real browser: Debian's Chromium driven by Playwright.

The app is started as a user starts it (``pullchain app --port <free port>``, in a
child process) and polled until it answers. A missing browser is a failure, not a
skip: a skipped browser test proves nothing. Set up with ``./dev.sh test`` (it
installs Chromium with apt when run as root, and fills Solara's front-end cache).

The harness (``AppServer``, ``launch_browser``, ``open_app``, ``step_timed``) is
reused by benchmarks/bench_app.py.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("solara", reason="the app extra (pip install 'pullchain[app]')")
playwright_api = pytest.importorskip("playwright.sync_api", reason="the test extra")

CHROMIUM = os.environ.get("PULLCHAIN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 720}
"""A projector's screen: every page must fit it without clipping a chart."""
SCREENSHOTS = os.environ.get("PULLCHAIN_SCREENSHOTS")
"""A folder to keep the screenshots in (they go to pytest's tmp_path otherwise)."""


# -- harness --------------------------------------------------------------------------------
class AppServer:
    """``pullchain app SCENARIO --port N --results DIR`` in a child process."""

    def __init__(self, scenario: str = "default", results: Path | None = None) -> None:
        from pullchain.runs.app_server import free_port

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        script = Path(sys.executable).with_name("pullchain")
        cmd = [str(script)] if script.exists() else [sys.executable, "-m", "pullchain.runs.cli"]
        cmd += ["app", scenario, "--port", str(self.port)]
        if results is not None:
            cmd += ["--results", str(results)]
        self.log = io.BytesIO()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def wait(self, timeout: float = 90.0) -> AppServer:
        from pullchain.runs.app_server import wait_until_up

        try:
            wait_until_up(self.url, timeout=timeout, proc=self.proc)
        except RuntimeError:
            self.stop()
            raise RuntimeError(f"the app did not start:\n{self.output()}") from None
        return self

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # pullchain app stops its Solara server on SIGTERM
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def output(self) -> str:
        return self.proc.stdout.read().decode(errors="replace") if self.proc.stdout else ""

    def __enter__(self) -> AppServer:
        return self.wait()

    def __exit__(self, *exc) -> None:
        self.stop()


def launch_browser(playwright):
    """Debian's Chromium; a missing browser fails the test run."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"no Chromium at {CHROMIUM}: install it (apt-get install chromium, or ./dev.sh test "
            "as root) or point PULLCHAIN_CHROMIUM at one. The browser tests are not skipped."
        )
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


class Console:
    """Collects console errors and page errors of one page."""

    def __init__(self, page) -> None:
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))


def open_app(page, url: str, timeout: float = 60_000) -> None:
    """Load the app and wait until the chains and their charts are drawn."""
    page.goto(url)
    page.locator(".pullchain-period").wait_for(timeout=timeout)
    page.locator(".pullchain-chart-orders canvas").wait_for(timeout=timeout)


def period(page) -> int:
    """The period the page shows ("Period 3 of 200" -> 3)."""
    return int(page.locator(".pullchain-period").inner_text().split()[1])


_CLICK = """(label) => {
    const button = [...document.querySelectorAll('button')]
        .find(b => b.textContent.trim() === label);
    const start = performance.now();
    button.click();
    return start;
}"""
_DRAWN = """() => [performance.now(),
    [...document.querySelectorAll('[class*="pullchain-chart-"] [data-drawn]')]
        .map(e => +e.dataset.drawn)]"""


def step_timed(page, quiet_ms: float = 300, timeout: float = 30.0) -> float:
    """Press Step; return the milliseconds until every chart has drawn the new period.

    Each chart marks the time it last finished drawing (``data-drawn``, set by
    ``app.LiveChart`` after Vega has rendered); the end is the latest mark once the
    period shown has advanced and no chart has drawn again for ``quiet_ms``.
    """
    before = period(page)
    start = page.evaluate(_CLICK, "Step")
    deadline = time.monotonic() + timeout
    while period(page) == before:
        if time.monotonic() > deadline:
            raise TimeoutError("the period did not advance")
        page.wait_for_timeout(10)
    while True:
        now, drawn = page.evaluate(_DRAWN)
        if drawn and min(drawn) > start and now - max(drawn) >= quiet_ms:
            return max(drawn) - start
        if time.monotonic() > deadline:
            raise TimeoutError("the charts did not all draw the new period")
        page.wait_for_timeout(15)


def blank(png: bytes) -> bool:
    """True when a screenshot is (nearly) one colour."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("L")
    histogram = image.histogram()
    return max(histogram) > 0.98 * sum(histogram)


_CLIPPED = """() => {
    const out = [];
    const width = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth > width + 1) {
        out.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} > ${width}`);
    }
    for (const chart of document.querySelectorAll('[class*="pullchain-chart-"]')) {
        const box = chart.getBoundingClientRect();
        for (const canvas of chart.querySelectorAll('canvas')) {
            const c = canvas.getBoundingClientRect();
            if (c.right > box.right + 1 || c.right > width + 1 || c.left < -1) {
                out.push(`${chart.className}: drawn ${c.left}-${c.right}, room ${box.left}-` +
                         `${Math.min(box.right, width)}`);
            }
        }
    }
    return out;
}"""


def clipped(page) -> list[str]:
    """Charts drawn wider than their place on the page (and a page wider than the window)."""
    return page.evaluate(_CLIPPED)


def wait_drawn(page, name: str, timeout: float = 30_000) -> None:
    """Wait until chart ``name`` has drawn (its canvas exists and is marked drawn)."""
    page.locator(f".pullchain-chart-{name} [data-drawn] canvas").wait_for(timeout=timeout)


def keep(name: str, png: bytes, tmp_path: Path) -> Path:
    folder = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(png)
    return path


# -- fixtures -------------------------------------------------------------------------------
def _sweep_folder(root: Path) -> Path:
    """A small sweep folder in the layout of runs.store, with one report figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    folder = root / "lead-time"
    (folder / "results").mkdir(parents=True)
    (folder / "figures").mkdir()
    n = 12
    pd.DataFrame(
        {
            "run_key": [f"k{i}" for i in range(n)],
            "status": ["ok"] * n,
            "regime": ["opaque", "transparent"] * (n // 2),
            "network.lead_time": np.repeat([1, 2, 4], n // 3),
            "replication": np.tile([0, 0, 1, 1], n // 4),
            "total_cost": np.linspace(100.0, 300.0, n),
        }
    ).to_parquet(folder / "results" / "part-0.parquet")
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([1, 2, 4], [1.0, 2.0, 3.0])
    fig.savefig(folder / "figures" / "gain.png")
    plt.close(fig)
    return root


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    results = _sweep_folder(tmp_path_factory.mktemp("sweeps"))
    with AppServer("default", results) as app:
        yield app


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        chromium = launch_browser(p)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.console = Console(page)
    yield page
    context.close()


# -- tests ----------------------------------------------------------------------------------
CHARTS = ("network", "orders", "stock", "backlog", "cost", "fill")


def test_page_loads_steps_and_plays_and_fits_a_projector(server, page, tmp_path):
    open_app(page, server.url)
    assert period(page) == 0
    page.get_by_text("Period 0 of 200").wait_for()
    chart = page.locator(".pullchain-chart-orders")
    before = chart.screenshot()
    page.get_by_role("button", name="Step").click()
    page.get_by_text("Period 1 of 200").wait_for()
    ms = step_timed(page)
    assert period(page) == 2
    assert ms < 5000
    after = chart.screenshot()
    assert after != before, "the orders chart did not change after stepping"
    page.get_by_role("button", name="Play").click()
    page.wait_for_function(
        "() => +document.querySelector('.pullchain-period').innerText.split(' ')[1] >= 5",
        timeout=30_000,
    )
    page.get_by_role("button", name="Pause").click()
    page.get_by_role("button", name="Play").wait_for()
    stopped = period(page)
    page.wait_for_timeout(800)
    assert period(page) == stopped, "Pause did not stop the chains"
    for name in CHARTS:
        wait_drawn(page, name)
    shot = page.screenshot()
    path = keep("app-chains-1280x720.png", shot, tmp_path)
    assert not blank(shot), f"blank screenshot: {path}"
    assert clipped(page) == [], f"clipped charts at 1280x720 (see {path})"
    # the charts scroll under the toolbar, which stays on screen
    page.locator(".pullchain-chart-fill").scroll_into_view_if_needed()
    toolbar = page.locator(".pullchain-toolbar").bounding_box()
    assert 0 <= toolbar["y"] < VIEWPORT["height"] - toolbar["height"]
    keep("app-chains-scrolled-1280x720.png", page.screenshot(), tmp_path)
    assert page.console.errors == []


def test_back_and_the_scrubber_go_through_the_history(server, page):
    open_app(page, server.url)
    for _ in range(4):
        step_timed(page, quiet_ms=100)
    page.get_by_role("button", name="Back").click()
    page.get_by_text("Period 3 of 200").wait_for()
    page.get_by_text("(looking back: run to 4)").wait_for()
    scrubber = page.locator(".pullchain-scrubber [role=slider]")
    scrubber.focus()
    scrubber.press("ArrowLeft")
    scrubber.press("ArrowLeft")
    page.get_by_text("Period 1 of 200").wait_for()
    page.get_by_role("button", name="Step").click()  # forward through the history
    page.get_by_text("Period 2 of 200").wait_for()
    scrubber.press("End")  # back to the last period run
    page.get_by_text("Period 4 of 200").wait_for()
    assert page.get_by_text("looking back").count() == 0
    assert page.console.errors == []


def test_lead_time_and_reset_change_the_charts(server, page):
    open_app(page, server.url)
    chart = page.locator(".pullchain-chart-orders")
    for _ in range(6):
        step_timed(page, quiet_ms=150)
    before = chart.screenshot()
    page.get_by_text("Lead time: 3 periods").wait_for()
    slider = page.locator(".v-navigation-drawer [role=slider]").nth(2)  # delay, participation
    slider.focus()
    for _ in range(3):
        slider.press("ArrowRight")
    page.get_by_text("Lead time: 6 periods").wait_for()
    page.get_by_text("press Reset").wait_for()
    page.get_by_role("button", name="Reset").click()
    page.get_by_text("Period 0 of 200").wait_for()
    for _ in range(6):
        step_timed(page, quiet_ms=150)
    assert period(page) == 6
    assert chart.screenshot() != before, "a longer lead time left the orders chart unchanged"
    assert page.console.errors == []


def test_two_sessions_each_have_their_own_models(server, browser):
    first = browser.new_context(viewport=VIEWPORT).new_page()
    second = browser.new_context(viewport=VIEWPORT).new_page()
    try:
        open_app(first, server.url)
        open_app(second, server.url)
        for _ in range(3):
            step_timed(first, quiet_ms=150)
        assert period(first) == 3
        second.wait_for_timeout(300)
        assert period(second) == 0
        step_timed(second, quiet_ms=150)
        assert (period(first), period(second)) == (3, 1)
    finally:
        first.context.close()
        second.context.close()


def quick_clicks(page, label: str, double: bool = False) -> None:
    """Click (or double-click) the toolbar button ``label`` if it is there; it may be gone
    by the time the click lands (the run ended, a click swapped Play and Pause)."""
    button = page.get_by_role("button", name=label)
    if not button.count():
        return
    with contextlib.suppress(playwright_api.TimeoutError):
        (button.dblclick if double else button.click)(timeout=2_000)


SESSIONS = 6
STALL_S = 20.0
"""A playing session whose period has not moved for this long has stalled."""
PLAY_TIMEOUT_S = 240.0


def test_concurrent_sessions_play_200_periods_without_a_stall(server, browser):
    """Six sessions play the whole run at once, each with two quick Pause-Play double
    clicks on the way (what froze Play before: issue 12). Fails on any stall."""
    pages = [browser.new_context(viewport=VIEWPORT).new_page() for _ in range(SESSIONS)]
    try:
        for p in pages:
            p.console = Console(p)
            open_app(p, server.url, timeout=120_000)
            p.locator(".pullchain-toolbar .v-select").click()
            p.get_by_role("option", name="25 periods/s").click()
        for p in pages:
            p.get_by_role("button", name="Play").click()
        start = time.monotonic()
        last = dict.fromkeys(range(SESSIONS), (-1, start))
        poked = dict.fromkeys(range(SESSIONS), 0)
        while True:
            now = time.monotonic()
            shown = [period(p) for p in pages]
            if all(k == 200 for k in shown):
                break
            assert now - start < PLAY_TIMEOUT_S, f"not all at 200 in time: {shown}"
            for i, (p, k) in enumerate(zip(pages, shown, strict=True)):
                if k != last[i][0]:
                    last[i] = (k, now)
                elif k < 200 and now - last[i][1] > STALL_S:
                    buttons = p.locator(".pullchain-toolbar button").all_inner_texts()
                    raise AssertionError(f"session {i} stalled at period {k}: {buttons}")
                if k < 200 and poked[i] < 2 and k >= 40 + 60 * poked[i]:
                    poked[i] += 1
                    quick_clicks(p, "Pause", double=True)  # Pause, then Play at once
                if k < 200:
                    quick_clicks(p, "Play")  # if the double click's second click missed
            pages[0].wait_for_timeout(250)
        for i, p in enumerate(pages):
            assert p.get_by_role("button", name="Play").is_disabled(), f"session {i}"
            assert p.console.errors == [], f"session {i}: {p.console.errors}"
    finally:
        for p in pages:
            p.context.close()


def test_sweep_explorer_shows_results_and_figures(server, page, tmp_path):
    page.goto(server.url + "sweeps")
    page.get_by_text("12 of 12 runs match the filters").wait_for(timeout=60_000)
    wait_drawn(page, "sweep")
    page.locator("img").first.wait_for()
    shot = page.screenshot()
    path = keep("app-sweeps-1280x720.png", shot, tmp_path)
    assert not blank(shot)
    assert clipped(page) == [], f"clipped charts at 1280x720 (see {path})"
    assert page.console.errors == []
