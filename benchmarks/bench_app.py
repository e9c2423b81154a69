"""Browser app speed: time from pressing Step to the charts updated, in a real browser.

Run from the repository root (needs the test extra and Chromium, as the browser tests)::

    .venv/bin/python benchmarks/bench_app.py              # default and a 500-firm network
    .venv/bin/python benchmarks/bench_app.py --steps 30 --json bench-app.json

It reuses the browser tests' harness (tests/test_app_browser.py): ``pullchain app``
started as a user starts it, Debian's Chromium through Playwright, at 1280x720. For
each scenario it opens the page, steps a few periods to warm up, then presses Step
``--steps`` times; each time is from the click (in the page's JavaScript clock) to
the last change inside any chart, once the period shown has advanced and the charts
have stayed still for a moment. Targets: under 150 ms for ``default``, under 1 s for
the 500-firm network. The server's own share (stepping both chains and building the
chart data) is shown beside it, from Python, for the same scenarios.

Memory per session: the server's resident memory with one page open, then with
``--sessions`` more (each stepped 20 periods), per added session; and again once
they are closed.
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

from tests.test_app_browser import (  # noqa: E402
    VIEWPORT,
    AppServer,
    Console,
    launch_browser,
    open_app,
    step_timed,
)

LARGE = {
    "network.n_suppliers": 50,
    "network.n_brands": 100,
    "network.n_retailers": 350,
    "network.n_consumers": 1000,
}
"""500 firms (50 suppliers, 100 brands, 350 retailers) and 1,000 consumers."""
TARGETS_MS = {"default": 150.0, "layered-500": 1000.0}


def large_scenario(folder: Path) -> Path:
    from pullchain.runs.scenarios import Scenario

    scenario = Scenario.preset("default").with_overrides({**LARGE, "name": "layered-500"})
    path = folder / "layered-500.toml"
    path.write_text(scenario.to_toml())
    return path


def server_side_ms(scenario: str, steps: int) -> dict[str, float]:
    """Stepping both chains and building every chart's data, per period, in Python."""
    from pullchain.runs import app_charts, app_state
    from pullchain.runs.scenarios import Scenario

    pair = app_state.Pair.build(Scenario.load(scenario))
    pair.step(3)
    step, specs = [], []
    for _ in range(steps):
        t0 = time.perf_counter()
        pair.step()
        t1 = time.perf_counter()
        app_charts.all_specs(pair)
        t2 = time.perf_counter()
        step.append(1000 * (t1 - t0))
        specs.append(1000 * (t2 - t1))
    return {"step_ms": statistics.median(step), "chart_data_ms": statistics.median(specs)}


def browser_ms(browser, scenario: str, steps: int, warm_up: int = 3) -> list[float]:
    with AppServer(scenario) as server:
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        console = Console(page)
        open_app(page, server.url, timeout=120_000)
        for _ in range(warm_up):
            step_timed(page, quiet_ms=300)
        times = [step_timed(page, quiet_ms=300) for _ in range(steps)]
        context.close()
        if console.errors:
            print(f"  console errors: {console.errors}", file=sys.stderr)
        return times


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _server_pid(parent: int) -> int:
    """The Solara server: the child of ``pullchain app`` (Linux /proc)."""
    for task in Path(f"/proc/{parent}/task").iterdir():
        children = (task / "children").read_text().split()
        if children:
            return int(children[0])
    raise RuntimeError("no server process under pullchain app")


def session_memory(browser, sessions: int) -> dict[str, float]:
    """Server memory (MiB): one page, ``sessions`` more open, and once they are closed."""
    import gc

    with AppServer("default") as server:
        pid = _server_pid(server.proc.pid)
        first = browser.new_context(viewport=VIEWPORT)
        open_app(first.new_page(), server.url, timeout=120_000)
        time.sleep(1)
        one = _rss_mib(pid)
        contexts = []
        for _ in range(sessions):
            context = browser.new_context(viewport=VIEWPORT)
            page = context.new_page()
            open_app(page, server.url, timeout=120_000)
            page.locator(".pullchain-toolbar .v-select").click()
            page.get_by_role("option", name="25 periods/s").click()
            page.get_by_role("button", name="Play").click()
            page.wait_for_function(
                "() => +document.querySelector('.pullchain-period').innerText.split(' ')[1] >= 20",
                timeout=120_000,
            )
            page.get_by_role("button", name="Pause").click()
            contexts.append(context)
        time.sleep(1)
        many = _rss_mib(pid)
        for context in contexts:
            context.close()
        first.close()
        gc.collect()
        time.sleep(3)
        closed = _rss_mib(pid)
    return {
        "one_session_mib": one,
        "sessions": sessions,
        "with_sessions_mib": many,
        "per_session_mib": (many - one) / sessions,
        "after_close_mib": closed,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=15, help="timed steps per scenario")
    parser.add_argument("--sessions", type=int, default=8, help="sessions for the memory")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    rows = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = launch_browser(p)
        scenarios = {"default": "default", "layered-500": str(large_scenario(Path(tmp)))}
        for name, scenario in scenarios.items():
            times = browser_ms(browser, scenario, args.steps)
            server = server_side_ms(scenario, args.steps)
            row = {
                "scenario": name,
                "steps": len(times),
                "median_ms": statistics.median(times),
                "p90_ms": sorted(times)[int(0.9 * (len(times) - 1))],
                "max_ms": max(times),
                "target_ms": TARGETS_MS[name],
                **server,
            }
            rows.append(row)
        memory = session_memory(browser, args.sessions)
        browser.close()
    print("Step -> charts updated, in Chromium (ms)")
    print(f"  {'scenario':<12} {'median':>8} {'p90':>8} {'max':>8} {'target':>8}   "
          f"server: {'step':>6} {'charts':>7}")  # fmt: skip
    for r in rows:
        verdict = "ok" if r["median_ms"] < r["target_ms"] else "OVER"
        print(
            f"  {r['scenario']:<12} {r['median_ms']:>8.0f} {r['p90_ms']:>8.0f} {r['max_ms']:>8.0f}"
            f" {r['target_ms']:>8.0f}   {'':>7} {r['step_ms']:>6.1f} {r['chart_data_ms']:>7.1f}"
            f"   {verdict}"
        )
    print(
        f"Server memory: {memory['one_session_mib']:.0f} MiB with one page, "
        f"{memory['with_sessions_mib']:.0f} MiB with {memory['sessions']} more "
        f"({memory['per_session_mib']:.1f} MiB a session), "
        f"{memory['after_close_mib']:.0f} MiB once they are closed"
    )
    if args.json:
        args.json.write_text(json.dumps({"steps": rows, "memory": memory}, indent=2) + "\n")
    return 0 if all(r["median_ms"] < r["target_ms"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
