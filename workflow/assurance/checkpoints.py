"""Checkpoints of the audit chain kept outside the database, and proving them against it.

A checkpoint (``workflow.responses.checkpoint`` takes one, and says what its line holds)
is appended to ``S55_CHECKPOINT_FILE`` and mailed to every auditor: daily by the daemon, on
request (``s55 audit checkpoint``) and with every sign-off and publication. So a cut tail,
an emptied log or a re-forged history is caught by ``s55 audit verify --checkpoints`` from
copies nobody with database access can reach: the event at position ``count`` must still
have hash ``head``.
"""

from __future__ import annotations

import email
import email.policy
import mailbox
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from workflow.core import files
from workflow.core.errors import InvalidInputError
from workflow.keys import audit_key
from workflow.responses.checkpoint import CHECKPOINTER, Checkpoint, append_line, record_event, take
from workflow.storage.db import Database
from workflow.storage.tables import AUDIT_EVENT

if TYPE_CHECKING:
    from workflow.audit.trail import Provenance
    from workflow.core.settings import Settings
    from workflow.responses.service import Workflow

_LINE = re.compile(r"s55-checkpoint v1 count=(?P<count>\d{1,12}) head=(?P<head>[0-9a-f]{64}) "
                   r"at=(?P<at>\S+)(?: key=(?P<key>[0-9a-f]{16}) mac=(?P<mac>[0-9a-f]{64}))?")
_EVENTS: Any = AUDIT_EVENT
#: The most a checkpoint file, mailbox or message is read to (a year of daily lines is
#: 70 kB; mailboxes hold the messages around them).
MAX_SOURCE_BYTES = 200 * 1024 * 1024


def make(db: Database, at: datetime, ring: audit_key.Keyring | None) -> Checkpoint:
    """The checkpoint of the log as it is now (the last event by id)."""
    return db.query(lambda s: take(s, at, ring))


def keyring(settings: Settings) -> audit_key.Keyring | None:
    """The audit keyring the settings name, or None when no key is configured."""
    return audit_key.load(settings.audit_key_file) if settings.audit_key_file else None


def record(wf: Workflow, actor: str | None) -> tuple[Checkpoint, int]:
    """Take a checkpoint now: appended to ``S55_CHECKPOINT_FILE`` (first, so a checkpoint
    is kept even if the database then fails), then a ``checkpoint`` event and its mail to
    every auditor, in one transaction. The checkpoint and how many auditors were mailed.
    """
    from states import Role
    from workflow.responses.service import require_role

    # Refuse an unknown or unentitled actor before anything is written.
    require_role(wf.identify(actor).person, {Role.ADMIN, Role.AUDITOR}, "take an audit checkpoint")
    ring = keyring(wf.settings)
    cp = make(wf.db, wf.clock.now(), ring)
    if wf.settings.checkpoint_file is not None:
        append_line(wf.settings.checkpoint_file, cp.line())

    def work(s: Any) -> int:
        acting = wf.acting(s, actor)
        return record_event(s, wf.settings, cp, acting.person.email, acting.by)

    return cp, wf.db.run(work)


def daily(db: Database, settings: Settings, now: datetime, actor: str,
          by: Provenance) -> Checkpoint | None:
    """The daemon's checkpoint: one each London day, whichever daemon gets there first
    (the check runs under the chain lock, so two daemons never both take one); None when
    today's was already taken."""
    from workflow.audit.trail import head_locked
    from workflow.audit.words import Action
    from workflow.core.clock import LONDON

    ring = keyring(settings)
    midnight = datetime.combine(now.astimezone(LONDON).date(), time(), LONDON)

    def work(s: Any) -> Checkpoint | None:
        head_locked(s)  # the chain lock first: appends (and other daemons) wait for us
        # A sign-off's or a publication's checkpoint does not stand for the day's.
        last = s.execute(select(func.max(_EVENTS.c.at)).where(
            _EVENTS.c.action == Action.CHECKPOINT.value,
            _EVENTS.c.actor != CHECKPOINTER)).scalar()
        if last is not None and _aware(last) >= midnight:
            return None
        cp = take(s, now, ring)
        record_event(s, settings, cp, actor, by)
        return cp

    cp = db.run(work)
    if cp is not None and settings.checkpoint_file is not None:
        append_line(settings.checkpoint_file, cp.line())
    return cp


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):  # SQLite's naive UTC text
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse(text: str) -> Iterator[Checkpoint]:
    """Every checkpoint line in ``text`` (a file, a message body), in order."""
    for m in _LINE.finditer(text):
        try:
            at = datetime.fromisoformat(m["at"])
        except ValueError:
            continue
        yield Checkpoint(int(m["count"]), m["head"], at, m["key"], m["mac"])


def read_sources(path: str | Path) -> list[Checkpoint]:
    """Checkpoints from a checkpoint file, an mbox, one ``.eml`` or a folder of ``.eml``."""
    p = Path(path)
    emls = files.listing(p, ".eml")
    if emls is not None:
        return [cp for eml in emls
                for cp in _from_message(files.read_bytes(eml, MAX_SOURCE_BYTES))]
    data = files.read_bytes(p, MAX_SOURCE_BYTES)
    if data.startswith(b"From "):
        return [cp for msg in _mbox(data) for cp in _from_message(msg)]
    if p.suffix == ".eml":
        return _from_message(data)
    return list(parse(data.decode("utf-8", errors="replace")))


def _mbox(data: bytes) -> list[bytes]:
    """The messages of an mbox read already (the bytes read once, within the limit, are the
    ones parsed: ``mailbox`` reads only files, so they go to a private temporary one)."""
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".mbox") as tmp:
        tmp.write(data)
        tmp.flush()
        box = mailbox.mbox(tmp.name, create=False)
        try:
            return [msg.as_bytes() for msg in box]
        finally:
            box.close()


def _from_message(data: bytes) -> list[Checkpoint]:
    msg = email.message_from_bytes(data, policy=email.policy.default)
    texts = [part.get_content() for part in msg.walk()
             if part.get_content_type() == "text/plain"]
    return [cp for text in texts for cp in parse(str(text))]


@dataclass(frozen=True)
class Finding:
    checkpoint: Checkpoint
    problem: str | None  # None: the checkpoint is in the chain

    def describe(self) -> str:
        cp = self.checkpoint
        where = f"checkpoint of {cp.count} events at {cp.at:%Y-%m-%d %H:%M}"
        return f"{where}: {self.problem or 'in the chain'}"


def prove(db: Database, checkpoints: Iterable[Checkpoint],
          ring: audit_key.Keyring | None) -> list[Finding]:
    """For each checkpoint: is the event at its position still the one with its hash?"""
    wanted = sorted({cp.count for cp in checkpoints if cp.count > 0})
    hashes: dict[int, str] = {}
    if wanted:
        with db.read() as s:
            rows = s.execute(select(_EVENTS.c.hash).order_by(_EVENTS.c.id))
            for position, (h,) in enumerate(rows, 1):
                if position in wanted:
                    hashes[position] = h
                if position >= wanted[-1]:
                    break
    return [Finding(cp, _problem(cp, hashes, ring)) for cp in checkpoints]


def _problem(cp: Checkpoint, hashes: dict[int, str], ring: audit_key.Keyring | None) -> str | None:
    if ring is not None and cp.key:
        bad = ring.check(cp.key, cp.body(), cp.mac)
        if bad:
            return f"the checkpoint itself is forged ({bad})"
    if cp.count == 0:
        return None
    if cp.count not in hashes:
        return (f"the log now holds fewer events: event {cp.count} is gone (a cut tail or an "
                "emptied log)")
    if hashes[cp.count] != cp.head:
        return (f"event {cp.count} no longer has hash {cp.head[:16]}...: the history up to it "
                "was rewritten")
    return None


def check_head_text(head: str) -> str:
    """``head`` if it is a SHA-256 hex digest, else a one-line refusal."""
    if not re.fullmatch(r"[0-9a-f]{64}", head.strip().lower()):
        raise InvalidInputError("--head", f"{head[:80]!r} is not a SHA-256 hash (64 hex digits, "
                                "as `s55 audit head` prints)")
    return head.strip().lower()
