"""Planning every open response's escalations vs one raw query selecting the open responses.

Ours is ``workflow.escalations.sweep.plans``: read the open responses (state index) and their
firings (unique index), then run the pure planner for each - the due firing, what it
supersedes, and the next firing instant - as a sweep does before it writes anything.
The baseline is one raw SQL query returning the same open rows, nothing else.

The database holds ``total`` responses of which ``open`` are open, and a firing history
for the finished ones (two firings each), as after 20 years of use. Run at 10k and 100k
total with the same open count: our time should follow the open count, not the total.

    .venv/bin/python -m bench.bench_escalations [--backend sqlite|postgresql|both]
                                                 [--open 500] [--repeat 30]
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert

from bench.common import fresh_database, report, timed
from bench.dataset import responses
from workflow.config import Settings
from workflow.escalations.sweep import OPEN_STATES, load_policy, moment_at, plans
from workflow.storage.db import Database
from workflow.storage.models import EscalationFiring

TODAY = date(2025, 3, 3)
NOW = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
RAW = ("SELECT id, state, deadline, published_on, force_input_due, signoff_due "
       "FROM response WHERE state IN ({})").format(", ".join(f"'{s}'" for s in OPEN_STATES))


def history(db: Database, total: int, open_count: int, batch: int = 20_000) -> None:
    """Two fired escalations for every finished response (publish-d7 and portal-p7)."""
    closed = total - open_count
    with db.engine.begin() as conn:
        for lo in range(0, closed, batch):
            rows = [{"response_id": i + 1, "rule_id": rule, "occurrence": 0,
                     "due_on": TODAY - timedelta(days=30), "fired_at": NOW, "status": "fired"}
                    for i in range(lo, min(lo + batch, closed))
                    for rule in ("publish-d7", "portal-p7")]
            conn.execute(insert(EscalationFiring), rows)
        conn.exec_driver_sql("ANALYZE")


def medians(ours: Callable[[], object], base: Callable[[], object],
            repeat: int) -> tuple[float, float]:
    """Median times of both, run alternately so that both see the same machine load."""
    ours(), base()  # warm the caches and the connection pool
    times = [(timed(ours), timed(base)) for _ in range(repeat)]
    return statistics.median(t[0] for t in times), statistics.median(t[1] for t in times)


def baseline(db: Database) -> int:
    with db.read_engine.connect() as conn:
        return len(conn.exec_driver_sql(RAW).fetchall())


def run(backend: str, total: int, open_count: int, repeat: int) -> tuple[float, float]:
    with fresh_database(backend) as url:
        db = Database(url)
        responses(db, total, open_count, today=TODAY)
        history(db, total, open_count)
        policy = load_policy(Settings(database_url=url))
        moment = moment_at(Settings(database_url=url), NOW)  # working days, as a sweep
        planned = plans(db, policy, moment)
        assert len(planned) == baseline(db) == open_count
        due = sum(p.due is not None for p in planned.values())
        ours, base = medians(lambda: plans(db, policy, moment), lambda: baseline(db), repeat)
        report(f"plan {open_count} open of {total:,} responses on {backend} "
               f"({due} due now; median of {repeat})", "ms", ours * 1000, base * 1000,
               higher_is_better=False, target="<= 3")
        db.dispose()
        return ours, base


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", default="both", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--open", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    for backend in (["sqlite", "postgresql"] if args.backend == "both" else [args.backend]):
        small = run(backend, 10_000, args.open, args.repeat)
        large = run(backend, 100_000, args.open, args.repeat)
        many = run(backend, 100_000, args.open * 4, args.repeat)
        print(f"growth on {backend}, 10k -> 100k total with {args.open} open: ours "
              f"{large[0] / small[0]:.2f}x, baseline {large[1] / small[1]:.2f}x")
        print(f"growth on {backend}, {args.open} -> {args.open * 4} open of 100k: ours "
              f"{many[0] / large[0]:.2f}x, baseline {many[1] / large[1]:.2f}x")

if __name__ == "__main__":
    main()
