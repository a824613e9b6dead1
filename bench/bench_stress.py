"""Throughput of the stress mix on PostgreSQL: ours vs prebuilt Core writing the same rows.

Each of our writer processes runs the stress run's operations (``bench.stress``): on
a response picked at random from its round's pool, a random legal or illegal trigger
fired by the right or a wrong person, or a content edit - each through ``Workflow``,
one transaction (load, checks, compare-and-set, chained audit event, rendered mail
queued with its audit events), or a refusal that writes nothing.

What our writers wrote is then read back, transaction by transaction: the response
row's new values, the transition or edit event, its outbox rows and mail-queued
events. The baseline processes replay exactly those rows on a pool of their own with
SQLAlchemy Core statements built once per process and run with bound parameters on
plain connections: the version read and compare-and-set update, the events chained
under the same advisory lock (or the chain would fork) and the outbox rows; each
refusal as the reads that refused it (person, response with its report,
recommendations). Before a transition or a refusal both sides read the response's
state (the harness's pick of a trigger; edits pick none). A third set replays the same
work without the chain lock: that forks the chain, so it is no audit log, but shows
how far this machine lets any writers scale (with two cores, four client processes and
their four backends already share them). Both write through s55's engine: the server's
``synchronous_commit`` (printed) on both sides.

For each count of processes (1, 2, 4, 8) one database holds a fresh pool of responses
per side and round. Rounds alternate the sides' order (``bench.common.alternate``);
a replay that runs before our side in its round replays our previous round's work
(the same seeds, so the same mix). The median of the per-round ratios is reported, with
the cores kept busy beside each side.

    python -m bench.bench_stress [--ops 150] [--responses 200] [--procs 1,2,4,8] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import Rounds, alternate, durability, fresh_database
from bench.common import report as report_ratio
from bench.stress import ROOT, seed
from bench.stress_replay import deal, raw, ready_then_wait, written


def ours(url: str, seed_: int, ops: int, responses: int, base: int,
         go: str) -> dict[str, Any]:
    """``ops`` operations of the stress mix on responses ``base + 1 .. base + responses``;
    latencies and what became of them."""
    from bench.stress import _one_op
    from workflow.core.errors import S55Error
    from workflow.core.settings import Settings
    from workflow.responses.service import Workflow
    from workflow.storage.db import Database

    rng = random.Random(seed_)
    wf = Workflow(Database(url), Settings(database_url=url))
    ready_then_wait(wf.db, go)
    lat, outcomes = [], Counter[str]()
    for _ in range(ops):
        t = time.perf_counter()
        try:
            outcomes[_one_op(wf, rng, base + rng.randint(1, responses))] += 1
        except S55Error as exc:
            outcomes[f"refused:{type(exc).__name__}"] += 1
        lat.append(time.perf_counter() - t)
    return {"latencies": lat, "outcomes": outcomes}


def _spawn(args: dict[str, Any]) -> subprocess.Popen[bytes]:
    spec = Path(f"{args['out']}.spec")  # a file: a replay is too long for a command line
    spec.write_text(json.dumps(args, default=str))
    return subprocess.Popen([sys.executable, "-m", "bench.bench_stress", "--worker", str(spec)],
                            cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def _cpu() -> tuple[int, int]:
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def race(workers: list[dict[str, Any]]) -> tuple[float, list[float], float, list[dict[str, Any]]]:
    """Run one process per worker spec at once; (operations per second, latencies, share
    of the machine's cores busy meanwhile, each worker's output)."""
    with tempfile.TemporaryDirectory() as tmp:
        go = f"{tmp}/go"
        procs = [_spawn({**w, "go": go, "out": f"{tmp}/{i}"}) for i, w in enumerate(workers)]
        while not all(Path(f"{go}.{p.pid}").exists() for p in procs):
            if any(p.poll() is not None for p in procs):
                raise SystemExit("a worker process failed before the start")
            time.sleep(0.01)
        time.sleep(0.5)  # let the machine settle after the imports
        start, cpu0 = time.perf_counter(), _cpu()
        Path(go).touch()
        for p in procs:
            assert p.wait(timeout=1800) == 0
        elapsed, cpu1 = time.perf_counter() - start, _cpu()
        outputs = [json.loads(Path(f"{tmp}/{i}").read_text()) for i in range(len(workers))]
    lat = [x for out in outputs for x in out["latencies"]]
    return len(lat) / elapsed, lat, (cpu1[0] - cpu0[0]) / (cpu1[1] - cpu0[1]), outputs


def last_event_id(url: str) -> int:
    from sqlalchemy import text

    from workflow.storage.db import Database

    db = Database(url)
    with db.engine.connect() as conn:
        value = conn.execute(text("SELECT coalesce(max(id), 0) FROM audit_event")).scalar_one()
    db.dispose()
    return int(value)


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000


Run = tuple[float, list[float], float, list[dict[str, Any]]]
#: The sides, as reported, and the worker kind each runs.
SIDES = {"ours": "ours", "baseline": "raw", "no lock": "unserialised"}


def measure(n: int, ops: int, responses: int,
            rounds: int) -> tuple[Rounds, dict[str, list[Run]], str]:
    """Every side with ``n`` processes for ``rounds`` alternated rounds, one database;
    each side's figures, its runs, and the durability both sides wrote under."""
    with fresh_database("postgresql") as url:
        published = datetime.now(UTC).date() - timedelta(days=10)
        seed(url, len(SIDES) * rounds * responses, published)  # a pool per side and round
        after = last_event_id(url)
        pools = iter(range(len(SIDES) * rounds))
        runs: dict[str, list[Run]] = {side: [] for side in SIDES}
        latest: dict[str, Any] = {}  # our side's last work: its transactions and pool
        replayed: list[tuple[int, int]] = []  # (our pool, the replay's pool)

        def ours_side() -> float:
            pool = next(pools)
            before = last_event_id(url)
            run = race([{"kind": "ours", "url": url, "seed": 1000 * n + i, "ops": ops,
                         "responses": responses, "base": pool * responses} for i in range(n)])
            txns = written(url, before)
            latest.update(txns=txns, refusals=n * ops - len(txns), pool=pool)
            runs["ours"].append(run)
            return run[0]

        def replay(side: str) -> Callable[[], float]:
            def run_side() -> float:
                pool = next(pools)
                run = race([{"kind": SIDES[side], "url": url, "work": share,
                             "offset": (pool - latest["pool"]) * responses}
                            for share in deal(latest["txns"], latest["refusals"], n)])
                replayed.append((latest["pool"], pool))
                runs[side].append(run)
                return run[0]
            return run_side

        # Round 0 starts with our side, so a replay always has work to replay.
        result = alternate({"ours": ours_side, "baseline": replay("baseline"),
                            "no lock": replay("no lock")}, rounds)
        counts = rows_per_pool(url, after, responses)
        wrong = {(a, b): (counts.get(a), counts.get(b)) for a, b in replayed
                 if counts.get(a) != counts.get(b)}
        assert not wrong, f"a replay wrote other rows than ours (events, outbox): {wrong}"
        from workflow.storage.db import Database

        db = Database(url)
        settled = durability(db)
        db.dispose()
    return result, runs, settled


def rows_per_pool(url: str, after_id: int, responses: int) -> dict[int, tuple[int, int]]:
    """(audit events, outbox rows) written in each pool of responses since ``after_id``."""
    from sqlalchemy import text

    from workflow.storage.db import Database

    db = Database(url)
    counts: dict[int, list[int]] = {}
    with db.engine.connect() as conn:
        for column, table, where in ((0, "audit_event", "id > :a"),
                                     (1, "outbox", "event_id > :a")):
            for pool, count in conn.execute(text(
                    f"SELECT (response_id - 1) / :r, count(*) FROM {table} WHERE {where} "
                    "GROUP BY 1"), {"a": after_id, "r": responses}):
                counts.setdefault(pool, [0, 0])[column] = count
    db.dispose()
    return {pool: (e, o) for pool, (e, o) in counts.items()}


def describe(n: int, result: Rounds, runs: dict[str, list[Run]]) -> float:
    """Print one count of processes; returns the median of the per-round ratios."""
    outcomes: Counter[str] = Counter()
    for out in runs["ours"][-1][3]:
        outcomes.update(out["outcomes"])
    total = sum(outcomes.values())
    changed = outcomes["transition"] + outcomes["edit"]
    print(f"{n} writer process(es); our last round: {total} operations ("
          f"{outcomes['transition']} transitions, {outcomes['edit']} edits, "
          f"{total - changed} refused)")
    for side, side_runs in runs.items():
        lat = [x for run in side_runs for x in run[1]]
        busy = statistics.median(run[2] for run in side_runs)
        ops_s = result.median(side)
        print(f"  {side:9} {ops_s:8.1f} ops/s ({ops_s * changed / total:6.1f} changes/s)  "
              f"p50 {pct(lat, 50):6.1f} ms  p95 {pct(lat, 95):6.1f} ms  cores busy {busy:4.0%}")
    return report_ratio(f"stress mix, {n} writer process(es) a side", "ops/s", result,
                        higher_is_better=True, target=">= 0.4 at 4")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ops", type=int, default=150, help="operations per process")
    parser.add_argument("--responses", type=int, default=200, help="responses in a pool")
    parser.add_argument("--procs", default="1,2,4,8")
    parser.add_argument("--rounds", type=int, default=3, help="alternated rounds per count")
    parser.add_argument("--worker")
    args = parser.parse_args()
    if args.worker:
        w = json.loads(Path(args.worker).read_text())
        out = ours(w["url"], w["seed"], w["ops"], w["responses"], w["base"], w["go"]) \
            if w["kind"] == "ours" else \
            raw(w["url"], w["work"], w["offset"], w["go"], serialised=w["kind"] == "raw")
        Path(w["out"]).write_text(json.dumps(out))
        return
    counts = [int(x) for x in args.procs.split(",")]
    results: dict[int, tuple[Rounds, dict[str, list[Run]]]] = {}
    for n in counts:
        result, runs, settled = measure(n, args.ops, args.responses, args.rounds)
        if n == counts[0]:
            print(f"durability (every side): {settled}")
        results[n] = (result, runs)
        describe(n, result, runs)
    if 1 in results:
        one, one_runs = results[1]
        cores = os.cpu_count() or 1
        busy = statistics.median(run[2] for run in one_runs["ours"])
        print(f"one writer keeps {busy * cores:.2f} of this machine's {cores} cores busy "
              f"(its client and its PostgreSQL backend take turns): more writers can add about "
              f"{1 / busy:.2f}x its throughput here, beyond {cores} they only share the cores")
        for n in counts[1:]:
            r = results[n][0]
            print(f"scaling at {n}: " + ", ".join(
                f"{side} {r.median(side) / one.median(side):.2f}x" for side in SIDES)
                + " their own single writer (target for ours at 4: >= 2x)")


if __name__ == "__main__":
    main()
