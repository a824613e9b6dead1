#!/usr/bin/env bash
# Install s55 with its test tools and run the whole suite (lint, types, tests) on SQLite
# and, where it answers (always under CI=true), the local PostgreSQL. The first run also
# installs Debian's chromium for the browser tests (as root; otherwise it says the command).
# `--fast` is the fast lane: lint, types and every test not marked slow (no subprocess
# races, browsers or large data), spread over the cores; other arguments go to pytest.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "installing Debian's chromium for the browser tests (first run only)..."
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  else
    echo "The browser tests need Debian's chromium: sudo apt-get install -y chromium" >&2
    exit 1
  fi
fi
ruff check states workflow notifications tests bench
mypy
fast=()
if [ "${1:-}" = "--fast" ]; then
  shift
  fast=(-m "not slow" -n auto)
fi
python -m pytest "${fast[@]}" "$@"
