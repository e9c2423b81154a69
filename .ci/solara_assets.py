#!/usr/bin/env python3
"""Fill Solara's CDN cache from the npm registry, for machines that reach no CDN.

Solara's server fetches its JavaScript from a public CDN through ``/_solara/cdn/...``
and keeps each file under ``<cache>/<package>@<version>/...``. Where no CDN is
reachable the page stays blank, unless the cache is filled beforehand: this script
``npm pack``s each package, unpacks it and moves it to ``<cache>/<package>@<version>``.
It skips packages already there, so running it again costs nothing.

A user with internet needs none of this: Solara fills the cache itself on first use.

    python .ci/solara_assets.py [CACHE_DIR]     (default: <sys.prefix>/share/solara-cdn)

The list is read for solara 1.64.1 (``solara/server/templates/solara.html.j2`` and
``solara/widgets/vue/*.vue``); the project pins that version. After an upgrade,
re-derive it (``grep -rhoE "[a-z@/-]+@[0-9][^/\\"' ]*" site-packages/solara``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

SOLARA_VERSION = "1.64.1"
PACKAGES = [
    "@widgetti/solara-vuetify-app@10.1.1",
    "@widgetti/solara-vuetify3-app@5.2.0",
    "@widgetti/vue-grid-layout@2.3.13-alpha.2",
    "requirejs@2.3.6",
    "font-awesome@4.5.0",
    "vega@5",
    "vega-lite@5",
    "vega-embed@6",
    "mermaid@10.8.0",
]


def default_cache_dir() -> Path:
    """Where ``pullchain app`` points Solara's cache (see pullchain.runs.app)."""
    env = os.environ.get("SOLARA_ASSETS_PROXY_CACHE_DIR")
    return Path(env) if env else Path(sys.prefix) / "share" / "solara-cdn"


def fetch(spec: str, cache: Path, npm: str) -> bool:
    """Put one package in the cache; False if it was there already."""
    target = cache / spec
    if (target / "package.json").is_file():
        return False
    with tempfile.TemporaryDirectory(prefix="solara-asset-") as tmp:
        out = subprocess.run(
            [npm, "pack", spec, "--silent", "--pack-destination", tmp],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            raise SystemExit(f"solara_assets: npm pack {spec} failed:\n{out.stderr.strip()}")
        tgz = next(Path(tmp).glob("*.tgz"))
        with tarfile.open(tgz) as tar:
            tar.extractall(tmp, filter="data")
        # npm tarballs hold one top-level folder, usually package/
        roots = [p for p in Path(tmp).iterdir() if p.is_dir()]
        if len(roots) != 1:
            raise SystemExit(f"solara_assets: unexpected layout in {tgz.name}: {roots}")
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_name(f".{target.name}.partial")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.move(str(roots[0]), staging)
        staging.rename(target)  # whole or not at all: a half copy is never taken for done
    return True


def main(argv: list[str]) -> int:
    cache = Path(argv[1]) if len(argv) > 1 else default_cache_dir()
    try:
        from importlib.metadata import version

        solara_version = version("solara")
    except Exception:
        solara_version = None
    if solara_version and solara_version != SOLARA_VERSION:
        print(
            f"solara_assets: warning: solara {solara_version} is installed, the list is for "
            f"{SOLARA_VERSION}; re-derive it if the page stays blank",
            file=sys.stderr,
        )
    missing = [s for s in PACKAGES if not (cache / s / "package.json").is_file()]
    if not missing:
        return 0
    npm = shutil.which("npm")
    if npm is None:
        print(
            "solara_assets: npm not found; install Node.js, or run where a CDN is reachable "
            f"(missing in {cache}: {', '.join(missing)})",
            file=sys.stderr,
        )
        return 1
    print(f"solara_assets: fetching {len(missing)} packages into {cache}", file=sys.stderr)
    for spec in missing:
        fetch(spec, cache, npm)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
