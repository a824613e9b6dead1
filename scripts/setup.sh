#!/usr/bin/env bash
# Create .venv (or reuse it) and install s55 with its test tools. Sourced by demo.sh/test.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${S55_VENV:-$ROOT/.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT[test]"
export PATH="$VENV/bin:$PATH"
