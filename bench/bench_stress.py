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
import hashlib
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
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import Rounds, alternate, durability, fresh_database
from bench.common import report as report_ratio
from bench.stress import ADMIN, ROOT, seed

#: Response columns a transition's audit payload may set (dates travel as ISO text).
DATE_COLUMNS = frozenset({"force_input_due", "published_on"})


def _ready_then_wait(db: Any, go: str) -> None:
    """Connect, say so, and wait for the start: no process imports or connects in the
    timed part (eight processes importing s55 take seconds of both cores)."""
    from sqlalchemy import text

    import workflow.mail.queue  # noqa: F401  (a transition's first mail would import Jinja)

    with db.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    Path(f"{go}.{os.getpid()}").touch()
    while not Path(go).exists():
        time.sleep(0.005)


def ours(url: str, seed_: int, ops: int, responses: int, base: int,
         go: str) -> dict[str, Any]:
    """``ops`` operations of the stress mix on responses ``base + 1 .. base + responses``;
    latencies and what became of them."""
    from bench.stress import _one_op
    from workflow.config import Settings
    from workflow.errors import S55Error
    from workflow.service import Workflow
    from workflow.storage.db import Database

    rng = random.Random(seed_)
    wf = Workflow(Database(url), Settings(database_url=url))
    _ready_then_wait(wf.db, go)
    lat, outcomes = [], Counter[str]()
    for _ in range(ops):
        t = time.perf_counter()
        try:
            outcomes[_one_op(wf, rng, base + rng.randint(1, responses))] += 1
        except S55Error as exc:
            outcomes[f"refused:{type(exc).__name__}"] += 1
        lat.append(time.perf_counter() - t)
    return {"latencies": lat, "outcomes": outcomes}


def written(url: str, after_id: int) -> list[dict[str, Any]]:
    """Our writers' transactions, oldest first, as the rows each one wrote."""
    from sqlalchemy import text

    from workflow.storage.db import Database

    db = Database(url)
    with db.engine.connect() as conn:
        events = conn.execute(text(
            "SELECT id, response_id, at, actor, action, trigger, from_state, to_state, reason, "
            "payload FROM audit_event WHERE id > :a ORDER BY id"), {"a": after_id}).mappings().all()
        outbox = conn.execute(text(
            "SELECT event_id, kind, sender, recipient, subject, body_text, body_html "
            "FROM outbox WHERE event_id > :a ORDER BY id"), {"a": after_id}).mappings().all()
    db.dispose()
    mails: dict[int, list[dict[str, Any]]] = {}
    for row in outbox:
        mails.setdefault(row["event_id"], []).append(
            {k: v for k, v in row.items() if k != "event_id"})
    txns: list[dict[str, Any]] = []
    for e in events:
        event = {k: (v.isoformat() if isinstance(v, datetime) else v)
                 for k, v in e.items() if k != "id"}
        if e["action"] == "mail_queued":  # written in its cause's transaction, after it
            txns[-1]["mail_events"].append(event)
            continue
        payload = json.loads(e["payload"])
        change: dict[str, Any] = {}
        rec = None
        if e["action"] == "transition":
            change = {"state": e["to_state"], **payload}
        elif "recommendation" in payload:
            rec = [payload["recommendation"], payload["field"], payload["value"]]
        else:
            change = {payload["field"]: payload["value"]}
        txns.append({"rid": e["response_id"], "event": event, "change": change, "rec": rec,
                     "outbox": mails.get(e["id"], []), "mail_events": []})
    return txns


def statements() -> dict[str, Any]:
    """The replay's statements, built once per process; every value is a bound parameter.

    The compare-and-set updates name no SET columns: Core derives them from the keys of
    the parameters given (one compiled form per set of keys, cached).
    """
    from sqlalchemy import bindparam, insert, select, text, update

    from workflow.storage.models import (
        AuditEvent,
        InspectionReport,
        OutboxMessage,
        Person,
        Recommendation,
        Response,
    )

    r: Any = Response.__table__  # type: ignore[attr-defined]
    rep: Any = InspectionReport.__table__  # type: ignore[attr-defined]
    rec: Any = Recommendation.__table__  # type: ignore[attr-defined]
    ev: Any = AuditEvent.__table__  # type: ignore[attr-defined]
    out: Any = OutboxMessage.__table__  # type: ignore[attr-defined]
    person: Any = Person.__table__  # type: ignore[attr-defined]
    return {
        "state": select(r.c.state).where(r.c.id == bindparam("rid")),
        "version": select(r.c.version).where(r.c.id == bindparam("rid")),
        "move": update(r).where(r.c.id == bindparam("b_rid"), r.c.version == bindparam("b_v")),
        "rec": update(rec).where(rec.c.response_id == bindparam("b_rid"),
                                 rec.c.number == bindparam("b_number")),
        "lock": text("SELECT pg_advisory_xact_lock(755)"),
        "head": select(ev.c.hash).order_by(ev.c.id.desc()).limit(1),
        "event": insert(ev).returning(ev.c.id),
        "events": insert(ev),
        "outbox": insert(out),
        "person": select(person).where(person.c.email == bindparam("email")),
        "response": select(r, rep).join(rep, rep.c.id == r.c.report_id)
        .where(r.c.id == bindparam("rid")),
        "recs": select(rec).where(rec.c.response_id == bindparam("rid")),
    }


def raw(url: str, work: list[dict[str, Any]], offset: int, go: str,
        serialised: bool) -> dict[str, Any]:
    """Replay ``work`` (transactions, and refusals as ``{"refusal": rid}``) with prebuilt
    Core statements, on response ``rid + offset``. ``serialised=False`` leaves out the
    chain lock."""
    from workflow.storage.db import Database

    sql = statements()
    db = Database(url)
    _ready_then_wait(db, go)
    lat = []
    for item in work:
        t = time.perf_counter()
        rid = item.get("refusal", item.get("rid", 0)) + offset
        if "refusal" in item or item["event"]["action"] == "transition":
            with db.read_engine.connect() as conn:  # the harness's pick, as on our side
                conn.execute(sql["state"], {"rid": rid}).scalar_one()
        if "refusal" in item:
            with db.read_engine.connect() as conn:
                conn.execute(sql["person"], {"email": ADMIN}).first()
                conn.execute(sql["response"], {"rid": rid}).first()
                conn.execute(sql["recs"], {"rid": rid}).all()
            lat.append(time.perf_counter() - t)
            continue
        now = datetime.now(UTC)
        with db.engine.begin() as conn:
            version = conn.execute(sql["version"], {"rid": rid}).scalar_one()
            change = {k: date.fromisoformat(v) if k in DATE_COLUMNS and v else v
                      for k, v in item["change"].items()}
            conn.execute(sql["move"], {"b_rid": rid, "b_v": version, "version": version + 1,
                                       "updated_at": now, **change})
            if item["rec"]:
                number, field, value = item["rec"]
                conn.execute(sql["rec"], {"b_rid": rid, "b_number": number, field: value})
            if serialised:
                conn.execute(sql["lock"])
            head = conn.execute(sql["head"]).scalar() or "0" * 64
            chain = _chained([item["event"], *item["mail_events"]], head, rid, now)
            first = conn.execute(sql["event"], chain[0]).scalar_one()
            if item["outbox"]:
                conn.execute(sql["outbox"], [
                    {**m, "event_id": first, "response_id": rid, "dedupe_key": f"{first}:{i}",
                     "message_id": f"<{first}.{i}@s55>", "status": "pending", "attempts": 0,
                     "next_attempt_at": now, "created_at": now}
                    for i, m in enumerate(item["outbox"])])
                conn.execute(sql["events"], chain[1:])
        lat.append(time.perf_counter() - t)
    return {"latencies": lat}


def _chained(events: list[dict[str, Any]], prev: str, rid: int,
             now: datetime) -> list[dict[str, Any]]:
    """The events as rows of response ``rid`` at ``now``, each hashed after the one before."""
    rows = []
    for e in events:
        row = {**e, "response_id": rid, "at": now, "prev_hash": prev}
        row["hash"] = prev = hashlib.sha256(
            "\x1f".join(str(v) for v in row.values()).encode()).hexdigest()
        rows.append(row)
    return rows


def deal(txns: list[dict[str, Any]], refusals: int, n: int) -> list[list[dict[str, Any]]]:
    """``txns`` in our order with ``refusals`` spread among them at random, dealt
    round-robin to ``n`` processes."""
    rng = random.Random(55)
    work: list[dict[str, Any]] = list(txns)
    for t in rng.choices(txns or [{"rid": 1}], k=refusals):
        work.insert(rng.randint(0, len(work)), {"refusal": t["rid"]})
    return [work[i::n] for i in range(n)]


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
