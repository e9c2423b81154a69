"""``pullchain app``: start Solara's server on the app module, in a child process.

The server runs ``solara run pullchain.runs.app --production --no-open`` with
telemetry off and Solara's front-end cache pointed at ``cdn_cache_dir()``. That
cache is filled from the CDN on first use where a CDN is reachable; on a machine
without one, fill it beforehand with ``python .ci/solara_assets.py`` (``./dev.sh``
does it), see docs/app.md.

This process only waits for the server: it never imports Solara (memory that
would sit idle beside the server's own copy), hence the settings the app reads live
here.
"""

from __future__ import annotations

import errno
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from pullchain.network.errors import ConfigError

from .scenarios import Scenario

APP_MODULE = "pullchain.runs.app"
CACHE_ENV = "SOLARA_ASSETS_PROXY_CACHE_DIR"
ENV_SCENARIO = "PULLCHAIN_APP_SCENARIO"
"""The scenario the app opens with (set from ``pullchain app SCENARIO``)."""
ENV_RESULTS = "PULLCHAIN_APP_RESULTS"
"""The folder the sweep explorer reads (``--results DIR``)."""
ENV_PLUGINS = "PULLCHAIN_APP_PLUGINS"
"""The plug-ins the app loads (``--plugin``), separated by ``os.pathsep``."""
CULL_ENV = "SOLARA_KERNEL_CULL_TIMEOUT"
SESSION_KEPT = "2m"
"""How long the server keeps a session whose page went away without closing (a lost
connection; a reload or a closed tab ends it at once), so that a page that reconnects
finds its chains. Solara's default is a day, and every such session keeps its chains."""


def cdn_cache_dir() -> Path:
    """Where Solara keeps its front-end files: $SOLARA_ASSETS_PROXY_CACHE_DIR, else
    ``<environment>/share/solara-cdn`` (inside .venv for a development set-up)."""
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else Path(sys.prefix) / "share" / "solara-cdn"


def command(host: str, port: int) -> list[str]:
    """The server command line."""
    return [
        sys.executable,
        "-m",
        "solara",
        "run",
        APP_MODULE,
        "--host",
        host,
        "--port",
        str(port),
        "--production",
        "--no-open",
        "--log-level",
        "warning",
    ]


def environment(
    scenario: str,
    results: Path,
    games: Path | None = None,
    join: str | None = None,
    plugins: list[str] = (),
) -> dict[str, str]:
    """The server's environment: the scenario, results folder, games folder, the
    address players join a game at and the plug-ins, for the app; Solara's settings (no
    telemetry, the CDN cache, sessions kept ``SESSION_KEPT`` after their page went away
    unless $SOLARA_KERNEL_CULL_TIMEOUT says otherwise)."""
    from .game_store import ENV_GAMES, ENV_JOIN

    env = dict(os.environ)
    env[ENV_SCENARIO] = scenario
    env[ENV_RESULTS] = str(results)
    if games is not None:
        env[ENV_GAMES] = str(games)
    if join is not None:
        env[ENV_JOIN] = join
    env[ENV_PLUGINS] = os.pathsep.join(plugins)
    env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"
    env[CACHE_ENV] = str(cdn_cache_dir())
    env.setdefault(CULL_ENV, SESSION_KEPT)
    # Solara warns on each page load that a plain-http cookie cannot be samesite=none:
    # expected on a loopback address, so not worth a screenful each time.
    quiet = "ignore:Cookies with samesite=none:UserWarning"
    env["PYTHONWARNINGS"] = ",".join(filter(None, [env.get("PYTHONWARNINGS"), quiet]))
    return env


def lan_address() -> str:
    """This machine's address on its local network, as players' browsers reach it (the
    interface a route out would use; nothing is sent). 'this-machine' if there is none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            return s.getsockname()[0]
        except OSError:
            return "this-machine"


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _check_port(host: str, port: int) -> None:
    """The server can listen on ``host:port``: the host is this machine's, the port free."""
    if not 1 <= port <= 65535:
        raise ConfigError("--port", port, "a port from 1 to 65535")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as err:
        expected = "an address or name of this machine to listen on, e.g. 127.0.0.1"
        raise ConfigError("--host", host, f"{expected} ({err})") from None
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will
        try:
            s.bind(address)
        except OSError as err:
            if err.errno == errno.EADDRNOTAVAIL:
                expected = "an address of this machine to listen on, e.g. 127.0.0.1"
                raise ConfigError("--host", host, f"{expected} ({err.strerror})") from None
            raise ConfigError("--port", port, f"a free port on {host} ({err.strerror})") from None


def wait_until_up(url: str, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    """Poll ``url`` until it answers; RuntimeError if the server died or took too long."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the app server exited with status {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the app did not answer at {url} within {timeout:.0f} s")


def start(
    scenario: str = "default",
    host: str = "127.0.0.1",
    port: int = 8765,
    results: Path | None = None,
    games: Path | None = None,
    plugins: list[str] = (),
) -> subprocess.Popen:
    """Check the input, then start the server in a child process (returns at once).
    ``plugins`` (loaded here already) are loaded again by the server."""
    if importlib.util.find_spec("solara") is None:  # looked for, not imported
        raise ConfigError(
            "pullchain app", "(solara missing)", 'the app extra: pip install "pullchain[app]"'
        )
    Scenario.load(scenario)  # a bad scenario fails here, in one line, not in the page
    _check_port(host, port)
    results = (results or Path("sweeps")).resolve()
    if games is not None:
        from .game_store import GameStore

        games = GameStore(games).folder  # a folder that cannot be written fails here
    scenario_arg = scenario if not Path(scenario).exists() else str(Path(scenario).resolve())
    join = join_address(host, port)
    env = environment(scenario_arg, results, games, join, list(plugins))
    return subprocess.Popen(command(host, port), env=env)


def join_address(host: str, port: int) -> str | None:
    """Where players on the local network open the game, when the server listens beyond
    this machine (``--host 0.0.0.0`` or an address); None on loopback."""
    if host in ("127.0.0.1", "::1", "localhost"):
        return None
    shown = lan_address() if host in ("0.0.0.0", "::") else host
    return f"http://{shown}:{port}/game"


def serve(
    scenario: str = "default",
    host: str = "127.0.0.1",
    port: int = 8765,
    results: Path | None = None,
    games: Path | None = None,
    plugins: list[str] = (),
) -> int:
    """Start the app, print its address once it answers, and wait until it stops."""
    proc = start(scenario, host, port, results, games, plugins)

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM: stop the server too, as Ctrl-C does

    signal.signal(signal.SIGTERM, stop)
    shown = "localhost" if host in ("127.0.0.1", "::1") else host
    url = f"http://{shown}:{port}/"
    try:
        wait_until_up(f"http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}/", proc=proc)
        print(f"pullchain app: open {url} (Ctrl-C to stop)", flush=True)
        join = join_address(host, port)
        if join is not None:
            print(f"pullchain app: players on this network join a game at {join}", flush=True)
        return proc.wait()
    except KeyboardInterrupt:
        return 0
    except RuntimeError as err:
        print(f"pullchain app: {err}", file=sys.stderr)
        return 1
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
