"""`s55 audit verify` (chain, HMACs, replay, fingerprints) vs a plain sqlite3 loop, same run.

The planned scale is 2,000,000 events (43 forces for 20 years; ``--events 2000000`` or
``S55_BENCH_EVENTS``); the default is a quicker 200,000. The log is ``bench.verify_data``'s:
ten events a response, three of them content changes recording the fingerprint after them,
every event signed.

Ours: ``trail.verify`` with the audit key, the replay fed each event on that one read
(``replay.Replay``), then ``replay.differences`` against the rows: what ``s55 audit
verify`` runs. The baseline does the same work with the sqlite3 module, hashlib and hmac
and nothing of s55's but the template: the same SHA-256 chain, the HMAC of every event,
the same replay (state, version, deadlines, content, recommendations, the report) with
the fingerprint after each content change (the same Jinja template rendered, its text
hashed), then every response and recommendation row compared. Rounds alternate
(``bench.common.alternate``); the median of the per-round ratios is reported. Both sides
only read (no durability setting is involved).

    python -m bench.bench_verify [--events 2000000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from bench import verify_baseline
from bench.common import alternate, report, timed
from bench.verify_data import build
from workflow.assurance import replay
from workflow.audit import trail
from workflow.keys import audit_key
from workflow.storage import schema
from workflow.storage.db import Database


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int,
                        default=int(os.environ.get("S55_BENCH_EVENTS", "200000")))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "audit.db"
        db = Database(f"sqlite:///{path}")
        schema.upgrade(db)
        ring = audit_key.create(Path(tmp) / "audit.key")
        head = build(db, args.events, ring)
        count = trail.head(db).count

        def ours() -> float:
            found: list[tuple[trail.Verification, list[replay.Difference]]] = []

            def run() -> None:
                done = replay.Replay()
                result = trail.verify(db, ring=ring, each=done.row)
                found.append((result, replay.differences(db, done)))

            elapsed = timed(run)
            result, differences = found[0]
            assert result.ok, result
            assert (result.count, result.head, result.signed) == (count, head, count)
            assert differences == [], differences[:3]
            return count / elapsed

        def base() -> float:
            found: list[tuple[int, str, int]] = []
            elapsed = timed(lambda: found.append(verify_baseline.verify(path, ring.keys)))
            assert found[0] == (count, head, 0), found[0]
            return count / elapsed

        rounds = alternate({"ours": ours, "baseline": base}, args.rounds)
        db.dispose()
    report(f"audit verify with replay and HMACs over {count:,} events (SQLite)", "events/s",
           rounds, higher_is_better=True, target=">= 0.8")


if __name__ == "__main__":
    main()
