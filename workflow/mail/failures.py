"""What the outbox store does after a failed send: ``mark_failed`` (pending again, retried
at ``retry_at``) and ``mark_dead`` (given up, the admins alerted), each with its audit
event."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from notifications.dispatcher import OutboxItem
from states import Role
from workflow.audit import trail
from workflow.audit.trail import Provenance
from workflow.audit.words import Action
from workflow.core.settings import Settings
from workflow.mail.errors import MailError
from workflow.mail.queue import queue_alert
from workflow.mail.write import MAILER
from workflow.storage.db import Database
from workflow.storage.tables import AUDIT_EVENT, OUTBOX

log = logging.getLogger("s55.mail")

_T: Table = OUTBOX
_C = _T.c


def _alerted_before(s: Session, item: OutboxItem, error: str) -> bool:
    """Whether this row already died for this same reason (its admins were told then)."""
    response = AUDIT_EVENT.c.response_id
    payloads = s.scalars(select(AUDIT_EVENT.c.payload).where(
        AUDIT_EVENT.c.action == Action.MAIL_DEAD.value,
        response.is_(None) if item.response_id is None else response == item.response_id))
    return any(p.get("outbox") == item.id and p.get("error") == error
               for p in map(json.loads, payloads))


class FailedSends:
    """The failure half of ``SqlOutboxStore`` (its base): each method one ``Database.run``."""

    db: Database
    settings: Settings
    by: Provenance

    def _finish(self, s: Session, item: OutboxItem, **values: Any) -> bool:
        res = s.execute(update(_T).where(_C.id == item.id, _C.status == "sending").values(
            attempts=item.attempts + 1, claimed_by=None, claimed_until=None, **values))
        return bool(res.rowcount)  # type: ignore[attr-defined]

    def mark_failed(self, item: OutboxItem, *, worker: str, now: datetime, error: str,
                    retry_at: datetime) -> None:
        def mark_failed(s: Session) -> None:
            self._finish(s, item, status="pending", next_attempt_at=retry_at, last_error=error)
            trail.append(s, at=now, actor=MAILER, action=Action.MAIL_FAILED,
                         response_id=item.response_id, payload={
                             "outbox": item.id, "to": item.mail.recipient, "kind": item.kind,
                             "attempt": item.attempts + 1, "error": error,
                             "retry_at": retry_at.isoformat(), "worker": worker},
                         by=self.by)

        self.db.run(mark_failed)

    def mark_dead(self, item: OutboxItem, *, worker: str, now: datetime, error: str) -> None:
        def mark_dead(s: Session) -> MailError | None:
            """Returns why the admins could not be alerted (logged once, after the commit)."""
            told = _alerted_before(s, item, error)
            self._finish(s, item, status="dead", last_error=error)
            event = trail.append(s, at=now, actor=MAILER, action=Action.MAIL_DEAD,
                                 response_id=item.response_id, payload={
                                     "outbox": item.id, "to": item.mail.recipient,
                                     "kind": item.kind, "attempts": item.attempts + 1,
                                     "error": error, "worker": worker}, by=self.by)
            if item.kind == "mail_dead" or told:
                # An alert about an alert would loop; the same row dead again for the same
                # reason (retried, refused again) was told already. The audit event stands.
                return None
            try:
                with s.begin_nested():
                    queue_alert(s, settings=self.settings, now=now, kind="mail_dead",
                                roles=[Role.ADMIN], event=event, actor=MAILER,
                                response_id=item.response_id, context={
                                    "outbox_id": item.id,
                                    "dead_recipient": item.mail.recipient,
                                    "dead_subject": item.mail.subject,
                                    "attempts": item.attempts + 1, "error": error})
            except MailError as exc:
                return exc
            return None

        problem = self.db.run(mark_dead)
        if problem is not None:
            log.error("no admin alert for dead outbox %s: %s", item.id, problem)
