"""Queueing mail in the caller's transaction: prepared messages written into the outbox as
caused by an event (one INSERT, a repeat for the same event a no-op, the MAIL_QUEUED
digests), a message dead at once recorded and the admins alerted.

One ``OutboxMessage`` per recipient, with a dedupe key ``<event id>:<recipient>`` and a
Message-ID derived from it, so a rolled-back transition leaves no mail. ``queue_messages`` and
``queue_alert`` compose and write in one call.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from notifications.message import message_id_for
from states import Role
from workflow.audit import trail
from workflow.audit.words import Action
from workflow.core.settings import Settings
from workflow.mail.compose import Prepared, prepare_alert, prepare_messages
from workflow.mail.digest import mail_digest, mail_of
from workflow.mail.errors import MailError
from workflow.mail.recipients import Recipient, reply_contact
from workflow.storage.models import (
    AuditEvent,
    OutboxMessage,
)
from workflow.storage.tables import OUTBOX

log = logging.getLogger("s55.mail")
MAILER = "s55-mailer"  # the actor of delivery audit events


_OUTBOX: Any = OUTBOX
_POINT = (update(_OUTBOX).where(_OUTBOX.c.id == bindparam("oid"))
          .values(queued_event_id=bindparam("queued")))


def dedupe_key(event_id: int, recipient: str) -> str:
    """An outbox row's dedupe key: the event that caused it and its recipient."""
    return f"{event_id}:{recipient}"


def write_prepared(session: Session, prepared: Prepared, event: AuditEvent) -> list[OutboxMessage]:
    """Add the prepared messages to the outbox as caused by ``event``; the ones added.

    The dedupe key is ``<event id>:<recipient>``, so writing twice for one event adds
    nothing. A MAIL_QUEUED audit event records the queued ids.
    """
    for row, values in zip(prepared.rows, prepared.values, strict=True):
        key = dedupe_key(event.id or 0, row.recipient)
        bound = {"event_id": event.id or 0, "dedupe_key": key,
                 "message_id": message_id_for(key, row.sender)}
        values.update(bound)
        for name, value in bound.items():
            setattr(row, name, value)
    added = _insert_new(session, prepared.rows, prepared.values)
    if prepared.links is not None and added:
        prepared.links.write(session, event, {r.dedupe_key: r.id or 0 for r in added})
    rows = [r for r in added if r.status != "dead"]
    if rows:
        queued = trail.append(
            session, at=rows[0].created_at, actor=prepared.actor, action=Action.MAIL_QUEUED,
            response_id=prepared.response_id, by=trail.Provenance.of(event),
            payload={"kind": prepared.kind, "cause_event": event.id,
                     "outbox": [{"id": r.id, "to": r.recipient, "digest": mail_digest(mail_of(r))}
                                for r in rows]})
        # The row points at the event holding its digest (a row changed behind s55's back
        # no longer matches it, and the dispatcher refuses to send it).
        session.connection().execute(_POINT, [{"oid": r.id, "queued": queued.id} for r in rows])
    for row in added:
        if row.status == "dead":
            _record_dead(session, prepared, event, row)
    return added


def _record_dead(session: Session, prepared: Prepared, event: AuditEvent,
                 row: OutboxMessage) -> None:
    """A message that could never be sent (no address it can carry): a MAIL_DEAD event
    naming the outbox row and why, and the admins' ``mail_dead`` alert, as the dispatcher
    does for a message that failed delivery. No alert about an alert (that would loop),
    and none when nobody can receive it: the event and the dead row stand."""
    dead = trail.append(session, at=row.created_at, actor=MAILER, action=Action.MAIL_DEAD,
                        response_id=prepared.response_id, by=trail.Provenance.of(event),
                        payload={"outbox": row.id, "to": row.recipient, "kind": row.kind,
                                 "attempts": 0, "error": row.last_error,
                                 "cause_event": event.id})
    if row.kind == "mail_dead" or prepared.settings is None:
        return
    try:  # reads only: a refusal here has written nothing
        alert = prepare_alert(session, settings=prepared.settings, now=row.created_at,
                              kind="mail_dead", roles=[Role.ADMIN], actor=MAILER,
                              response_id=prepared.response_id, context={
                                  "outbox_id": row.id,
                                  # the bad address may hold a line break: shown, not obeyed
                                  "dead_recipient": "".join(
                                      c if c.isprintable() else "?" for c in row.recipient),
                                  "dead_subject": row.subject, "attempts": 0,
                                  "error": row.last_error})
    except MailError as exc:
        log.error("no admin alert for dead outbox %s: %s", row.id, exc)
        return
    write_prepared(session, alert, dead)


#: The outbox INSERT, built once per dialect (its dialect's module loaded on first use:
#: a SQLite process never imports SQLAlchemy's PostgreSQL dialect, ~20 ms).
_INSERT_NEW: dict[str, Any] = {}


def _insert_statement(dialect: str) -> Any:
    stmt = _INSERT_NEW.get(dialect)
    if stmt is None:
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            base: Any = sqlite_insert(_OUTBOX)
        else:
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            base = pg_insert(_OUTBOX)
        stmt = _INSERT_NEW[dialect] = (
            base.on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(_OUTBOX.c.id, _OUTBOX.c.dedupe_key))
    return stmt


def _insert_new(session: Session, rows: list[OutboxMessage],
                values: list[dict[str, Any]]) -> list[OutboxMessage]:
    """Insert the rows (``values``: their columns) whose dedupe key is new, in one
    statement; the inserted ones, with ids.

    ``INSERT ... ON CONFLICT (dedupe_key) DO NOTHING`` (both dialects have it) makes a
    repeat for the same event a no-op without a read first.
    """
    if not rows:
        return []
    conn = session.connection()
    # Core on the session's connection: the ORM's bulk-insert layer would double the cost.
    stmt = _insert_statement(conn.dialect.name)
    ids = dict((key, id_) for id_, key in conn.execute(stmt, values))
    for row in rows:
        row.id = ids.get(row.dedupe_key)
    return [r for r in rows if r.id is not None]


def queue_messages(session: Session, *, settings: Settings, now: datetime, kind: str,
                   context: Mapping[str, Any], recipients: Sequence[Recipient],
                   event: AuditEvent, response_id: int | None, actor: str,
                   action: str | None = None) -> list[OutboxMessage]:
    """Render ``kind`` for each recipient and add one outbox row each, in this transaction.

    ``prepare_messages`` then ``write_prepared``: everything is rendered and checked
    before the first row is written.
    """
    prepared = prepare_messages(settings=settings, now=now, kind=kind, context=context,
                                recipients=recipients, response_id=response_id, actor=actor,
                                reply_to=reply_contact(session, settings), action=action)
    return write_prepared(session, prepared, event)


def queue_alert(session: Session, *, settings: Settings, now: datetime, kind: str,
                context: Mapping[str, Any], roles: Iterable[str], event: AuditEvent,
                actor: str, response_id: int | None = None) -> list[OutboxMessage]:
    """Queue ``kind`` to everyone holding ``roles`` (escalations, admin alerts)."""
    prepared = prepare_alert(session, settings=settings, now=now, kind=kind, context=context,
                             roles=roles, actor=actor, response_id=response_id)
    return write_prepared(session, prepared, event)
