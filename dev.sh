#!/usr/bin/env bash
# Set up pullchain in ./.venv (first use, or when pyproject.toml changed) and run it.
#
#   ./dev.sh compare [ARGS]   the main job: opaque vs transparent on the default scenario
#   ./dev.sh test [ARGS]      lint, then the whole test suite (what CI runs)
#   ./dev.sh pullchain ARGS   any pullchain command
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

command=${1:-compare}
shift || true
case "$command" in
  setup) setup test ;;
  compare) setup "" && exec "$VENV/bin/pullchain" compare "$@" ;;
  pullchain) setup "" && exec "$VENV/bin/pullchain" "$@" ;;
  test)
    setup test
    "$VENV/bin/ruff" check .
    "$VENV/bin/ruff" format --check .
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  *)
    echo "usage: ./dev.sh compare|test|pullchain|setup [ARGS]" >&2
    exit 2
    ;;
esac
