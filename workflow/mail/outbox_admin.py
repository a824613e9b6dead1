"""The CLI's side of the outbox: list, show, count, retry, a test send, the transport.

Kept apart from ``workflow.mail.delivery`` (which delivers) so each module stays small;
``workflow.mail.delivery`` imports this module, never the reverse. ``make_transport`` lives
here because the test send and delivery both use it. Reads go through ``Database.query`` and
writes through ``Database.run``, so a terminated backend is retried instead of surfacing as
a driver error.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from notifications.errors import NotificationError
from notifications.message import Mail, check_address, message_bytes, message_id_for
from notifications.render import render
from notifications.transports.base import Transport
from notifications.transports.smtp import SMTPTransport
from notifications.transports.spool import SpoolTransport
from workflow.audit import trail
from workflow.audit.trail import Provenance
from workflow.audit.words import Action
from workflow.core.clock import Clock
from workflow.core.errors import InvalidInputError, NotFoundError
from workflow.core.settings import Settings
from workflow.identity.office import in_force
from workflow.mail.digest import mail_of, sent_by, tampered
from workflow.mail.errors import (
    MailTestError,
    OutboxStateError,
    RefusedRetryError,
    UnusableAddressError,
)
from workflow.mail.recipients import reply_contact
from workflow.storage.db import Database
from workflow.storage.models import OutboxMessage
from workflow.storage.tables import OUTBOX

STATUSES = ("pending", "sending", "sent", "dead")

_T: Table = OUTBOX
_C = _T.c
_ID: Any = OutboxMessage.id  # typed Any: SQLModel column attributes confuse mypy


def make_transport(settings: Settings) -> Transport:
    """SMTP when ``S55_SMTP_HOST`` is set, else the spool folder (the embedded default)."""
    if not settings.smtp_host:
        return SpoolTransport(settings.spool_dir)
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return SMTPTransport(settings.smtp_host, settings.smtp_port,
                         security=settings.smtp_security, username=settings.smtp_username,
                         password=password, timeout=settings.smtp_timeout,
                         ca_file=settings.smtp_ca_file)


def transport_description(settings: Settings) -> str:
    """Where mail goes, for ``s55 outbox`` ("spool folder spool (no SMTP host configured)")."""
    return make_transport(settings).description


@dataclass(frozen=True)
class OutboxRow:
    """One outbox message as ``s55 outbox list/show`` prints it (``asdict`` for --json)."""

    id: int
    status: str
    kind: str
    recipient: str
    subject: str
    attempts: int
    response_id: int | None
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None
    message_id: str

    def as_json(self) -> dict[str, Any]:
        return {k: v.isoformat() if isinstance(v, datetime) else v
                for k, v in asdict(self).items()}


def _row(m: OutboxMessage) -> OutboxRow:
    return OutboxRow(id=m.id or 0, status=m.status, kind=m.kind, recipient=m.recipient,
                     subject=m.subject, attempts=m.attempts, response_id=m.response_id,
                     created_at=m.created_at, next_attempt_at=m.next_attempt_at,
                     sent_at=m.sent_at, last_error=m.last_error, message_id=m.message_id)


def list_outbox(db: Database, *, status: str | None = None, response_id: int | None = None,
                limit: int = 200) -> list[OutboxRow]:
    """Newest first; ``status`` one of pending, sending, sent, dead."""
    if status is not None and status not in STATUSES:
        raise InvalidInputError("outbox status", f"{status!r} is not one of {', '.join(STATUSES)}")
    stmt = select(OutboxMessage).order_by(_ID.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(_C.status == status)
    if response_id is not None:
        stmt = stmt.where(_C.response_id == response_id)
    return db.query(lambda s: [_row(m) for m in s.scalars(stmt)])


def outbox_counts(db: Database) -> dict[str, int]:
    """How many messages are in each status (all four keys present)."""
    got: dict[str, int] = db.query(lambda s: {status: count for status, count in s.execute(
        select(_C.status, func.count()).group_by(_C.status))})
    return {st: int(got.get(st, 0)) for st in STATUSES}


def due_count(db: Database, clock: Clock) -> int:
    """Messages ``deliver_pending`` would try now (the progress bar's total)."""
    now = clock.now()
    return db.query(lambda s: int(s.execute(select(func.count()).select_from(_T).where(
        _C.status == "pending", _C.next_attempt_at <= now)).scalar_one()))


def show_outbox(db: Database, outbox_id: int) -> tuple[OutboxRow, str]:
    """One message and its full rendered text (.eml, as it is sent)."""

    def read(s: Session) -> tuple[OutboxRow, str]:
        m = s.get(OutboxMessage, outbox_id)
        if m is None:
            raise NotFoundError("outbox message", outbox_id)
        return _row(m), message_bytes(mail_of(m)).decode("utf-8", "replace")

    return db.query(read)


def _check_retriable(s: Session, m: OutboxMessage) -> None:
    """Refuses a retry that could only die again: an unusable address, or a row the
    dispatcher refuses to send (changed since its event queued it)."""
    try:
        check_address(m.recipient, "To")
    except NotificationError as exc:  # dead at queueing: the address was never usable
        raise UnusableAddressError(m.id or 0, m.recipient, str(exc)) from None
    why = tampered(s, [m]).get(m.id or 0)
    if why is not None:
        raise RefusedRetryError(m.id or 0, why)


def retry_outbox(db: Database, outbox_id: int, *, clock: Clock, actor: str,
                 by: Provenance) -> OutboxRow:
    """Make a dead (or waiting) message due now, with a fresh attempt count; audited.

    ``actor`` is an active person the caller has identified (``Workflow.identify``),
    ``by`` how. Refuses sent messages (that would send twice) and ones being delivered.
    """
    now = clock.now()

    def retry(s: Session) -> OutboxRow:
        m = s.get(OutboxMessage, outbox_id)
        if m is None:
            raise NotFoundError("outbox message", outbox_id)
        if m.status not in ("dead", "pending"):
            raise OutboxStateError(outbox_id, m.status, "retry")
        sent = sent_by(s, [m]).get(outbox_id)
        if sent is not None:  # whatever its status says: the log decides
            raise OutboxStateError(outbox_id, f"sent already (event #{sent})", "retry")
        _check_retriable(s, m)
        before = (m.status, m.attempts)
        m.status, m.attempts, m.next_attempt_at = "pending", 0, now
        s.flush()
        trail.append(s, at=now, actor=actor, action=Action.MAIL_RETRY, response_id=m.response_id,
                     payload={"outbox": m.id, "to": m.recipient, "was": before[0],
                              "attempts_before": before[1]}, by=by)
        return _row(m)

    return db.run(retry)


def send_test(db: Database, settings: Settings, clock: Clock, address: str, *,
              actor: str, by: Provenance) -> str:
    """Send one test message straight through the configured transport (not the outbox).

    ``actor`` is an active person the caller has identified, ``by`` how.
    Returns one line saying what was sent to whom: the recipient, the sender, the server
    (the transport's description) and the Message-ID; raises ``MailTestError`` saying, in
    one line, why it could not be sent.
    """
    now = clock.now()
    transport = make_transport(settings)
    contact = db.query(lambda s: reply_contact(s, settings))
    office = db.query(lambda s: in_force(s, settings))
    try:
        to = check_address(address.strip())
        sender = check_address(settings.mail_from, "From")
        rendered = render("mail_test", {"opcc_name": office.name, "response_id": None,
                                        "recipient_name": to, "actor": actor,
                                        "transport": transport.description},
                          override_dir=settings.template_dir)
        mail = Mail(sender=sender, recipient=to, subject=rendered.subject, body_text=rendered.text,
                    body_html=rendered.html, date=now,
                    message_id=message_id_for(f"test:{to}:{now.isoformat()}", sender),
                    reply_to=contact.email if contact else None)
        asyncio.run(_send_one(transport, mail))  # sent once, outside any retried transaction
    except NotificationError as exc:
        error = str(exc)
        db.run(lambda s: trail.append(s, at=now, actor=actor, action=Action.MAIL_FAILED,
                                      payload={"test": True, "to": address, "error": error},
                                      by=by))
        raise MailTestError(address, error, transport.description) from exc
    db.run(lambda s: trail.append(s, at=now, actor=actor, action=Action.MAIL_SENT,
                                  payload={"test": True, "to": to, "message_id": mail.message_id,
                                           "via": transport.description}, by=by))
    return (f"sent a test message to {to} from {sender} via {transport.description}, "
            f"Message-ID {mail.message_id}")


async def _send_one(transport: Transport, mail: Mail) -> None:
    await transport.open()
    try:
        await transport.send(mail.sender, mail.recipient, message_bytes(mail))
    finally:
        await transport.close()
