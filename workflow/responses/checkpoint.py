"""Taking a checkpoint of the audit chain: the line, the ``checkpoint`` event and the mail
to every auditor, in the caller's transaction (``workflow.assurance.checkpoints`` reads them
back and proves them against the log).

A checkpoint is one line: how many events the log held, the hash of the last one, when, and
(with the audit key) an HMAC over those, so nobody without the key can plant one:

    s55-checkpoint v1 count=1204 head=<64 hex> at=2026-11-29T09:00:00+00:00 key=<id> mac=<hex>

Besides the daemon's daily one and ``s55 audit checkpoint``, one is taken in the same
transaction as every ``sign_off`` and ``publish`` (``after``), covering that event: a tail
cut later to remove a sign-off or a publication falls below a checkpoint the auditors
already hold.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from workflow.audit.trail import Provenance, append
from workflow.audit.words import Action, Identity
from workflow.core.errors import InvalidInputError, S55Error
from workflow.core.settings import Settings
from workflow.keys import audit_key
from workflow.storage.db import KEYRING_KEY
from workflow.storage.tables import AUDIT_EVENT

log = logging.getLogger("s55.audit")
_EVENTS: Any = AUDIT_EVENT
#: The actor of the checkpoints s55 takes itself after a sign-off or a publication.
CHECKPOINTER = "s55-checkpoint"
#: The triggers whose transaction also takes a checkpoint.
CHECKPOINTED = frozenset({"sign_off", "publish"})


@dataclass(frozen=True)
class Checkpoint:
    count: int
    head: str
    at: datetime
    key: str | None = None
    mac: str | None = None

    def body(self) -> str:
        return f"count={self.count} head={self.head} at={self.at.isoformat()}"

    def line(self) -> str:
        signed = f" key={self.key} mac={self.mac}" if self.key else ""
        return f"s55-checkpoint v1 {self.body()}{signed}"


def take(s: Any, at: datetime, ring: audit_key.Keyring | None) -> Checkpoint:
    """The checkpoint of the log as ``s`` sees it now (the last event by id)."""
    count = s.execute(select(func.count()).select_from(_EVENTS)).scalar_one()
    head = s.execute(select(_EVENTS.c.hash).order_by(_EVENTS.c.id.desc()).limit(1)).scalar()
    cp = Checkpoint(count, head or "0" * 64, at)
    if ring is None:
        return cp
    key, mac = ring.sign(cp.body())
    return Checkpoint(cp.count, cp.head, cp.at, key, mac)


def record_event(s: Any, settings: Settings, cp: Checkpoint, actor: str,
                 by: Provenance) -> int:
    """The ``checkpoint`` event and its mail to every auditor; how many were mailed."""
    from states import Role
    from workflow.mail.compose import prepare_alert
    from workflow.mail.outbox import write_prepared
    from workflow.mail.recipients import people_with_role

    auditors = people_with_role(s, Role.AUDITOR.value)
    prepared = prepare_alert(
        s, settings=settings, now=cp.at, kind="audit_checkpoint", roles=[Role.AUDITOR],
        actor=actor, context={"line": cp.line(), "count": cp.count, "head": cp.head,
                              "signed": cp.key is not None, "key": cp.key}) if auditors else None
    event = append(s, at=cp.at, actor=actor, action=Action.CHECKPOINT,
                   payload={"count": cp.count, "head": cp.head, "at": cp.at.isoformat(),
                            "key": cp.key, "mailed_to": len(auditors)}, by=by)
    if prepared is not None:
        write_prepared(s, prepared, event)
    return len(auditors)


def after(s: Any, settings: Settings, now: datetime, by: Provenance) -> Checkpoint:
    """A checkpoint covering everything ``s`` appended so far (a sign-off or a
    publication), its event and the auditors' mail, in the same transaction; signed with
    the key that signs the events. The caller files the line once it has committed
    (``file``)."""
    cp = take(s, now, s.info.get(KEYRING_KEY))
    record_event(s, settings, cp, CHECKPOINTER,
                 Provenance(by.channel, by.account, by.host, Identity.SYSTEM))
    return cp


def append_line(path: Path, line: str) -> None:
    """Append one line and flush it to disk (the file only ever grows)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as exc:
        raise InvalidInputError("S55_CHECKPOINT_FILE", f"{path}: cannot append: "
                                f"{exc.strerror}") from None
    try:
        os.write(fd, (line + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)


def file(settings: Settings, cp: Checkpoint) -> None:
    """Append a checkpoint taken with a committed change to ``S55_CHECKPOINT_FILE``, if
    set. The change stands whatever happens here (the auditors' mail carries the line
    too), so a file that cannot be written is logged, not raised."""
    if settings.checkpoint_file is None:
        return
    try:
        append_line(settings.checkpoint_file, cp.line())
    except S55Error as exc:
        log.error("audit checkpoint not filed (it was mailed to the auditors): %s", exc)
