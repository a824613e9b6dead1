"""`s55 audit verify` over 2,000,000 events vs a plain sqlite3 + hashlib loop, same run.

The baseline reads the same rows with the sqlite3 module and recomputes the same
SHA-256 chain (same canonical form), with nothing else: no SQLAlchemy, no types.

    python -m bench.bench_verify [--events 2000000]
"""

from __future__ import annotations

import argparse
import hashlib
import sqlite3
import tempfile
from pathlib import Path

from bench.common import report, timed
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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "audit.db"
        db = Database(f"sqlite:///{path}")
        schema.upgrade(db)
        head = audit_events(db, args.events)
        results: dict[str, object] = {}
        t_ours = timed(lambda: results.setdefault("ours", audit.verify(db)))
        t_base = timed(lambda: results.setdefault("base", baseline(path)))
        ours = results["ours"]
        assert ours.ok, ours  # type: ignore[attr-defined]
        assert (ours.count, ours.head) == (args.events, head)  # type: ignore[attr-defined]
        assert results["base"] == (args.events, head)
        db.dispose()
    report(f"audit verify over {args.events:,} events (SQLite)", "events/s",
           args.events / t_ours, args.events / t_base, higher_is_better=True, target=">= 0.5")


if __name__ == "__main__":
    main()
