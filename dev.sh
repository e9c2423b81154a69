#!/usr/bin/env bash
# Set up pullchain in ./.venv (first use, or when pyproject.toml changed) and run it.
#
#   ./dev.sh compare [ARGS]   the main job: opaque vs transparent on the default scenario
#   ./dev.sh test [ARGS]      lint, then the whole test suite (what CI runs)
#   ./dev.sh pullchain ARGS   any pullchain command
#   ./dev.sh app [ARGS]       the browser app (docs/app.md)
#   ./dev.sh setup            only set up
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv

# A Python >= 3.12 (Mesa >= 3.4 needs it): on PATH first, then pyenv's versions.
find_python() {
  local candidates=(python3.14 python3.13 python3.12 python3 python)
  local root
  if command -v pyenv >/dev/null 2>&1 && root=$(pyenv root 2>/dev/null); then
    for p in "$root"/versions/3.1[2-9]*/bin/python3; do candidates+=("$p"); done
  fi
  for p in "${candidates[@]}"; do
    if command -v "$p" >/dev/null 2>&1 &&
      "$p" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      command -v "$p"
      return 0
    fi
  done
  return 1
}

setup() {
  local extras=$1
  local stamp="$VENV/.pullchain-$extras"
  local want
  want=$(cat pyproject.toml | sha256sum | cut -c1-16)
  if [ -x "$VENV/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  # Plain pullchain is part of every extra: a venv set up for the tests runs the rest too.
  if [ -z "$extras" ] && [ -x "$VENV/bin/python" ] &&
    grep -qx "$want" "$VENV"/.pullchain-* 2>/dev/null; then
    return 0
  fi
  if [ ! -x "$VENV/bin/python" ] ||
    ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
    local python
    if ! python=$(find_python); then
      echo "dev.sh: pullchain needs Python 3.12 or newer, and none was found on PATH or in pyenv." >&2
      echo "  Install one (python.org, your package manager, or 'pyenv install 3.12') and retry." >&2
      exit 2
    fi
    echo "dev.sh: creating $VENV with $python ($("$python" --version))" >&2
    rm -rf "$VENV"
    "$python" -m venv "$VENV"
  fi
  echo "dev.sh: installing pullchain${extras:+ with [$extras]} into $VENV" >&2
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -e ".${extras:+[$extras]}"
  rm -f "$VENV"/.pullchain-*
  echo "$want" >"$stamp"
}

# The browser app's front-end files and, for its tests, a browser. Both once, idempotently.
# Solara fetches its JavaScript from a CDN; where none is reachable, fill its cache from the
# npm registry (.ci/solara_assets.py; docs/app.md). Chromium comes from Debian's apt.
setup_app_assets() {
  "$VENV/bin/python" .ci/solara_assets.py "$PWD/$VENV/share/solara-cdn" ||
    echo "dev.sh: could not fetch Solara's front-end files; the app needs a CDN then" >&2
  if [ "${1:-}" = browser ] && ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "dev.sh: installing chromium (apt) for the browser tests" >&2
      { apt-get install -y -qq chromium >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null; }; } ||
        echo "dev.sh: could not install chromium; the browser tests will fail" >&2
    else
      echo "dev.sh: no chromium on PATH; the browser tests need it (apt-get install chromium)" >&2
    fi
  fi
}

command=${1:-compare}
shift || true
case "$command" in
  setup) setup test ;;
  compare) setup "" && exec "$VENV/bin/pullchain" compare "$@" ;;
  pullchain) setup "" && exec "$VENV/bin/pullchain" "$@" ;;
  app) setup app && setup_app_assets && exec "$VENV/bin/pullchain" app "$@" ;;
  test)
    setup test
    setup_app_assets browser
    "$VENV/bin/ruff" check .
    "$VENV/bin/ruff" format --check .
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  *)
    echo "usage: ./dev.sh compare|test|pullchain|app|setup [ARGS]" >&2
    exit 2
    ;;
esac
