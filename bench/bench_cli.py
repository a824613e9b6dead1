"""Cold start of `s55 --help` and `s55 list` vs `python -c "import sqlmodel"`, same run.

`s55 list` runs against a SQLite file holding 100,000 responses of which 500 are open.
Each command is a fresh process; the figure is the median of --runs runs.

    python -m bench.bench_cli [--runs 7] [--total 100000] [--open 500]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import report
from bench.dataset import responses
from workflow.clock import SystemClock, london_today
from workflow.storage import schema
from workflow.storage.db import Database


def median_seconds(cmd: list[str], env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--total", type=int, default=100_000)
    parser.add_argument("--open", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'big.db'}"
        db = Database(url)
        schema.upgrade(db)
        responses(db, args.total, args.open, today=london_today(SystemClock()))
        db.dispose()
        env = {**os.environ, "S55_DATABASE_URL": url, "COLUMNS": "120"}
        s55 = [sys.executable, "-m", "workflow.cli"]
        base = median_seconds([sys.executable, "-c", "import sqlmodel"], env, args.runs)
        help_t = median_seconds([*s55, "--help"], env, args.runs)
        list_t = median_seconds([*s55, "list"], env, args.runs)
        out = subprocess.run([*s55, "list", "--json"], env=env, check=True,
                             capture_output=True, text=True).stdout
        assert out.count('"id"') == args.open, "list did not show every open response"
    report("`s55 --help` cold start", "s", help_t, base, higher_is_better=False,
           target="<= 0.6")
    report(f"`s55 list` cold start ({args.total} responses, {args.open} open)", "s", list_t,
           base, higher_is_better=False, target="<= 1.5")


if __name__ == "__main__":
    main()
