#!/usr/bin/env bash
# Install s55 with its test tools and run the whole suite (lint, types, tests) on SQLite
# and, where it answers (always under CI=true), the local PostgreSQL.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"
ruff check states workflow notifications tests bench
mypy
python -m pytest "$@"
