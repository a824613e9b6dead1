"""The full check of the record, one way for everyone who states it (``s55 audit verify``
and the auditor's report): the hash chain from the first event, every HMAC under the audit
key when one is given, and every row equal to the replay of its events.

One read of the log: the replay is fed each event as the chain verifies it; a broken
chain stops that walk, and the replay then reads the whole log itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workflow.assurance import replay
from workflow.assurance.difference import Difference
from workflow.audit import trail
from workflow.keys.audit_key import Keyring
from workflow.storage.db import Database


@dataclass(frozen=True)
class FullCheck:
    """What one full check found: the chain's verification, the rows that differ from
    their replay, the replay itself, and the id of the last event the chain verified."""

    result: trail.Verification
    differences: list[Difference]
    replayed: replay.Replay
    last_id: int | None

    @property
    def ok(self) -> bool:
        return self.result.ok and not self.differences

    def problems(self) -> list[str]:
        """Each problem found, one line each (none when ``ok``)."""
        out = []
        if self.result.broken is not None:
            out.append(f"audit chain broken at event {self.result.broken.event_id}: "
                       f"{self.result.broken.problem}")
        elif self.result.head_found is False:
            out.append("the given head is not in the chain: history was rewritten")
        return out + [d.describe() for d in self.differences]


def full_check(db: Database, ring: Keyring | None, kept: str | None = None) -> FullCheck:
    """Run the full check (``kept``: a head hash kept outside that the chain must hold)."""
    done = replay.Replay()
    last: list[int] = []

    def each(row: Any) -> None:
        done.row(row)
        last[:] = [row[0]]

    result = trail.verify(db, kept, ring, each=each)
    differences = (replay.differences(db, done, ring) if result.broken is None
                   else replay.verify(db, ring))
    return FullCheck(result, differences, done, last[0] if last else None)
