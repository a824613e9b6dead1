"""Planning every open response's escalations vs one raw query selecting the open responses.

Ours is ``workflow.escalations.sweep.plans``: read the open responses (state index) and their
firings (unique index) through the driver's own cursor, then run the pure planner for
each - the due firing, what it supersedes, and the next firing instant - as a sweep does
before it writes anything. The baseline is the same kind of read and nothing else: a
pooled connection's raw DBAPI cursor runs one query for the open responses' dates (its
WHERE the partial index's, word for word) and fetches every row. Rounds alternate
(``bench.common.alternate``), each side making ``--calls`` calls a round (one call takes
about a millisecond: too short to time alone on a shared machine); the median of the
per-round ratios is reported.

The database holds ``total`` responses of which ``open`` are open, and a firing history
for the finished ones (two firings each), as after 20 years of use. Run at 10k and 100k
total with the same open count: our time should follow the open count, not the total.

    .venv/bin/python -m bench.bench_escalations [--backend sqlite|postgresql|both]
                                                 [--total 100000] [--open 500] [--rounds 30]
                                                 [--calls 5]
"""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert, select

from bench.common import alternate, fresh_database, report, timed
from bench.dataset import responses
from workflow.core.settings import Settings
from workflow.escalations.plan import load_policy, moment_at, plans
from workflow.storage.db import Database
from workflow.storage.models import EscalationFiring
from workflow.storage.tables import IS_OPEN, RESPONSE

TODAY = date(2025, 3, 3)
NOW = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
_R = RESPONSE.c
RAW = select(_R.id, _R.state, _R.deadline, _R.published_on, _R.force_input_due,
             _R.signoff_due).where(IS_OPEN)


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


def raw_sql(db: Database) -> str:
    """``RAW`` as the text the baseline's cursor runs (compiled once, as ours is)."""
    return str(RAW.compile(db.read_engine, compile_kwargs={"literal_binds": True}))


def baseline(db: Database, sql: str) -> int:
    """The open responses' dates through a raw cursor; how many there are."""
    conn = db.read_engine.raw_connection()  # from the pool, as ours takes one
    try:
        cursor = conn.cursor()
        cursor.execute(sql)
        count = len(cursor.fetchall())
        cursor.close()
    finally:
        conn.close()  # back to the pool (rolled back)
    return count


def run(backend: str, total: int, open_count: int, rounds: int,
        calls: int) -> tuple[float, float]:
    with fresh_database(backend) as url:
        db = Database(url)
        responses(db, total, open_count, today=TODAY)
        history(db, total, open_count)
        policy = load_policy(Settings(database_url=url))
        moment = moment_at(Settings(database_url=url), NOW)  # working days, as a sweep
        planned = plans(db, policy, moment)
        sql = raw_sql(db)
        assert len(planned) == baseline(db, sql) == open_count
        due = sum(p.due is not None for p in planned.values())
        baseline(db, sql)  # warm the caches and the connection pool (plans ran above)

        def ours_side() -> float:
            return timed(lambda: [plans(db, policy, moment) for _ in range(calls)]) \
                * 1000 / calls

        def baseline_side() -> float:
            return timed(lambda: [baseline(db, sql) for _ in range(calls)]) * 1000 / calls

        result = alternate({"ours": ours_side, "baseline": baseline_side}, rounds)
        report(f"plan {open_count} open of {total:,} responses on {backend} ({due} due now; "
               f"a round's figure: the mean of {calls} calls)",
               "ms", result, higher_is_better=False, target="<= 3")
        ours, base = result.median("ours"), result.median("baseline")
        db.dispose()
        return ours, base


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", default="both", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--total", type=int, default=100_000,
                        help="responses in the large database (the small one holds a tenth)")
    parser.add_argument("--open", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--calls", type=int, default=5, help="calls per side in a round")
    args = parser.parse_args()
    small_total = args.total // 10
    for backend in (["sqlite", "postgresql"] if args.backend == "both" else [args.backend]):
        small = run(backend, small_total, args.open, args.rounds, args.calls)
        large = run(backend, args.total, args.open, args.rounds, args.calls)
        many = run(backend, args.total, args.open * 4, args.rounds, args.calls)
        print(f"growth on {backend}, {small_total:,} -> {args.total:,} total with {args.open} "
              "open: ours "
              f"{large[0] / small[0]:.2f}x, baseline {large[1] / small[1]:.2f}x")
        print(f"growth on {backend}, {args.open} -> {args.open * 4} open of {args.total:,}: ours "
              f"{many[0] / large[0]:.2f}x, baseline {many[1] / large[1]:.2f}x")


if __name__ == "__main__":
    main()
