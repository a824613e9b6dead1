"""The audit verdict the readers' pages show, kept cheap and said exactly.

A *full check* is ``s55 audit verify``'s: the chain from the first event, every HMAC
from the audit key's first event (when this server has the key), and every response row
equal to the replay of its events. It runs on the first page that shows the verdict and
again once the last one is older than ``FULL_EVERY`` (that page waits for it: at two
million events, a few seconds once an hour).

Between full checks each page load checks only what is new: that the event the last
check ended on still has the hash it had (a rewrite of the chain up to there changes
it), then the chain and HMACs of every event after it. What this cannot see until the
next full check is an edit of an older event that leaves the last checked one alone, or
a response row changed without an event: the page says so, with the time of the full
check, and ``s55 audit verify`` runs the full check at any time.

The state is per app (per server process) and only moves forward while the chain
verifies; once a check fails the verdict stays "not verified" until a full check passes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select

from states.words import when
from workflow.assurance import replay
from workflow.audit import trail
from workflow.core.clock import Clock
from workflow.keys.audit_key import Keyring
from workflow.storage.db import Database
from workflow.storage.tables import AUDIT_EVENT

#: How old the last full check may be before a page load runs the next one.
FULL_EVERY = timedelta(hours=1)
_HASH_OF = select(AUDIT_EVENT.c.hash).where(AUDIT_EVENT.c.id == bindparam("id"))


@dataclass(frozen=True)
class Verdict:
    ok: bool
    lines: list[str]


@dataclass
class ChainWatch:
    """What this process last verified of the audit chain."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    #: The head of the last verified stretch: (hash, count, last event id).
    head: trail.Head | None = None
    signed: int | None = None
    full_at: datetime | None = None
    full_count: int = 0
    full_lines: list[str] = field(default_factory=list)
    since_at: datetime | None = None
    broken: list[str] = field(default_factory=list)

    def verdict(self, db: Database, ring: Keyring | None, clock: Clock) -> Verdict:
        """The verdict now: a full check if due, else the new events only."""
        with self.lock:
            now = clock.now()
            if self.full_at is None or now - self.full_at >= FULL_EVERY:
                self._full(db, ring, now)
            elif not self.broken:
                self._since(db, ring, now)
            return Verdict(not self.broken, self._lines(ring))

    def _full(self, db: Database, ring: Keyring | None, now: datetime) -> None:
        last: list[int] = []
        result = trail.verify(db, None, ring, each=lambda row: last.__setitem__(
            slice(None), [row[0]]))
        differences = replay.verify(db, ring) if result.broken is None else []
        self.full_at, self.since_at, self.full_count = now, None, result.count
        self.head = trail.Head(result.head, result.count, last[0] if last else None)
        self.signed = result.signed
        self.broken = _broken_lines(result) + [d.describe() for d in differences]
        self.full_lines = [] if self.broken else [
            "Rows OK: every response equals the replay of its events."]

    def _since(self, db: Database, ring: Keyring | None, now: datetime) -> None:
        head = self.head
        assert head is not None  # set by the full check
        if head.last_id is not None:
            with db.read() as s:
                stored = s.scalar(_HASH_OF, {"id": head.last_id})
            if stored != head.hash:
                self.broken = [f"Audit chain broken at event {head.last_id}: it no longer "
                               "has the hash it had when it was checked (the chain up to it "
                               "was rewritten, or it was removed)."]
                return
        last: list[int] = []
        result = trail.verify(db, None, ring, each=lambda row: last.__setitem__(
            slice(None), [row[0]]), after=head)
        if result.broken is not None:
            self.broken = _broken_lines(result)
            return
        self.since_at = now
        if last:
            self.head = trail.Head(result.head, result.count, last[0])
            if self.signed is not None and result.signed is not None:
                self.signed += result.signed

    def _lines(self, ring: Keyring | None) -> list[str]:
        assert self.head is not None
        assert self.full_at is not None
        full = _when(self.full_at)
        if self.broken:
            return ["NOT VERIFIED.", *self.broken,
                    f"(Last full check {full}; `s55 audit verify` shows the whole verdict.)"]
        lines = [f"Audit chain OK: {self.head.count} events, head {self.head.hash}."]
        if ring is None:
            lines.append("Signatures not checked: no audit key is configured for this server.")
        else:
            lines.append(f"Signatures OK: {self.signed} events signed with the audit key.")
        lines += self.full_lines
        lines.append(f"Full check (chain from the first event, signatures, rows equal their "
                     f"replay) of the first {self.full_count} events: {full}.")
        if self.head.count > self.full_count and self.since_at is not None:
            lines.append(f"Events {self.full_count + 1} to {self.head.count}: chain and "
                         f"signatures checked {_when(self.since_at)}, "
                         "when this page was loaded.")
        lines.append("An edit of an event older than the last check, or of a row without an "
                     "event, shows at the next full check (hourly here, or run `s55 audit "
                     "verify`).")
        return lines


def _broken_lines(result: trail.Verification) -> list[str]:
    if result.broken is None:
        return []
    return [f"Audit chain broken at event {result.broken.event_id}: "
            f"{result.broken.problem}."]


def _when(at: datetime) -> str:
    """London time to the minute, as every page and mail gives it (``states.words``)."""
    return when(at)
