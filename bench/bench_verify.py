"""`s55 audit verify` over 2,000,000 events vs a plain sqlite3 + hashlib loop, same run.

The baseline reads the same rows with the sqlite3 module and recomputes the same
SHA-256 chain (same canonical form), with nothing else: no SQLAlchemy, no types. Rounds
alternate between the sides (``bench.common.alternate``); the median of the per-round
ratios is reported. Both sides only read (no durability setting is involved).

    python -m bench.bench_verify [--events 2000000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import hashlib
import sqlite3
import tempfile
from pathlib import Path

from bench.common import alternate, report, timed
from bench.dataset import audit_events
from workflow import audit
from workflow.storage import schema
from workflow.storage.db import Database


def baseline(path: Path) -> tuple[int, str]:
    conn = sqlite3.connect(path)
    prev, count = audit.GENESIS, 0
    sha = hashlib.sha256
    for row in conn.execute(
        "SELECT id, prev_hash, hash, response_id, at, actor, action, trigger, from_state, "
        "to_state, reason, payload FROM audit_event ORDER BY id"
    ):
        if row[1] != prev:
            raise SystemExit(f"baseline: chain broken at {row[0]}")
        at = row[4].replace(" ", "T") + "+00:00"  # stored naive UTC text
        fields = [prev, "" if row[3] is None else str(row[3]), at]
        fields += ["" if f is None else f for f in row[5:]]
        if sha("\x1f".join(fields).encode()).hexdigest() != row[2]:
            raise SystemExit(f"baseline: hash mismatch at {row[0]}")
        prev, count = row[2], count + 1
    conn.close()
    return count, prev


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "audit.db"
        db = Database(f"sqlite:///{path}")
        schema.upgrade(db)
        head = audit_events(db, args.events)

        def ours() -> float:
            result: list[audit.Verification] = []
            elapsed = timed(lambda: result.append(audit.verify(db)))
            assert result[0].ok, result[0]
            assert (result[0].count, result[0].head) == (args.events, head)
            return args.events / elapsed

        def base() -> float:
            result: list[tuple[int, str]] = []
            elapsed = timed(lambda: result.append(baseline(path)))
            assert result[0] == (args.events, head)
            return args.events / elapsed

        rounds = alternate({"ours": ours, "baseline": base}, args.rounds)
        db.dispose()
    report(f"audit verify over {args.events:,} events (SQLite)", "events/s", rounds,
           higher_is_better=True, target=">= 0.8")


if __name__ == "__main__":
    main()
