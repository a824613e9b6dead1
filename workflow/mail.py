"""The workflow side of mail: who gets what, the outbox rows, delivery and its CLI helpers.

Mail is queued in the caller's transaction (one ``OutboxMessage`` per recipient, with
a dedupe key ``<event id>:<recipient>`` and a Message-ID derived from it), so a
rolled-back transition leaves no mail. ``deliver_pending`` hands the outbox to the
``notifications`` dispatcher through ``SqlOutboxStore``; claims use ``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, and on SQLite (which has no such thing) a lock file next to
the database allows one dispatcher at a time.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import socket
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from notifications.dispatcher import DeliveryReport, Dispatcher, OutboxItem
from notifications.errors import NotificationError
from notifications.message import Mail, check_address, message_bytes, message_id_for
from notifications.render import render
from notifications.transports.base import Transport
from notifications.transports.smtp import SMTPTransport
from notifications.transports.spool import SpoolTransport
from states import Role
from workflow import audit
from workflow.audit import Action
from workflow.clock import LONDON, Clock
from workflow.config import Settings
from workflow.db import Database
from workflow.errors import InvalidInputError, NotFoundError, S55Error, UnknownTriggerError
from workflow.models import (
    AreaForImprovement,
    AuditEvent,
    InspectionReport,
    OutboxMessage,
    Person,
    Recommendation,
    Response,
)

log = logging.getLogger("s55.mail")
MAILER = "s55-mailer"  # the actor of delivery audit events
STATUSES = ("pending", "sending", "sent", "dead")

#: Who must hear about each trigger (roles, in the order mail is queued). ``publish``
#: also sends the s55(6) copy to HMICFRS and the Home Office (addresses in Settings).
ROUTES: dict[str, tuple[Role, ...]] = {
    "request_force_input": (Role.FORCE,),
    "submit_force_input": (Role.PCC,),
    "return_to_force": (Role.FORCE,),
    "return_to_draft": (Role.ADMIN,),
    # This email *is* the forwarding: the role `force` is the Chief Constable's office.
    "sign_off": (Role.PANEL, Role.FORCE),
    "publish": (Role.ADMIN, Role.PANEL),
    "submit_to_portal": (Role.ADMIN,),
    "mark_not_required": (Role.ADMIN,),
}


class MailError(S55Error):
    """Root of the workflow's mail errors."""


class RecipientsMissingError(MailError):
    """Nobody holds a role a message must go to; the trigger is refused."""

    def __init__(self, action: str, role: str) -> None:
        self.action, self.role = action, role
        super().__init__(f"cannot {action}: nobody holds the role {role} to receive its mail; "
                         f"add a person with that role first")


class PersonWithoutEmailError(MailError):
    def __init__(self, person: str, action: str) -> None:
        self.person, self.action = person, action
        super().__init__(f"cannot {action}: {person} has no valid email address")


class MailRefusedError(MailError):
    """A message could not be built (header injection, template error)."""

    def __init__(self, action: str, problem: NotificationError) -> None:
        self.action, self.problem = action, problem
        super().__init__(f"cannot {action}: {problem}")


class OutboxStateError(MailError):
    def __init__(self, outbox_id: int, status: str, action: str) -> None:
        self.outbox_id, self.status = outbox_id, status
        super().__init__(f"cannot {action} outbox message {outbox_id} while it is {status}")


class DispatcherLockedError(MailError):
    def __init__(self, lock: Path, holder: str) -> None:
        self.lock, self.holder = lock, holder
        super().__init__(f"another mail dispatcher ({holder}) holds {lock}; only one may run "
                         "against a SQLite database")


class MailTestError(MailError):
    def __init__(self, address: str, problem: str) -> None:
        self.address, self.problem = address, problem
        super().__init__(f"test mail to {address} failed: {problem}")


@dataclass(frozen=True)
class Recipient:
    name: str
    email: str


# -- recipients and queueing -------------------------------------------------------------

def people_with_role(session: Session, role: str) -> list[Person]:
    """Everyone holding ``role``, by id (roles are a small JSON list per person)."""
    people = session.scalars(select(Person).order_by(Person.id)).all()  # type: ignore[arg-type]
    return [p for p in people if role in (p.roles or [])]


def resolve(session: Session, roles: Iterable[str], action: str) -> list[Recipient]:
    """One recipient per address holding any of ``roles``; raises if a role has nobody."""
    found: dict[str, Recipient] = {}
    for role in roles:
        people = people_with_role(session, str(role))
        if not people:
            raise RecipientsMissingError(action, str(role))
        for p in people:
            try:
                check_address((p.email or "").strip(), "To")
            except NotificationError:
                raise PersonWithoutEmailError(p.name, action) from None
            found.setdefault(p.email.strip().lower(), Recipient(p.name, p.email.strip().lower()))
    return list(found.values())


def recipients_for(session: Session, trigger: str, settings: Settings) -> list[Recipient]:
    """Who ``trigger``'s mail goes to (check this before changing anything)."""
    if trigger not in ROUTES:
        raise UnknownTriggerError(trigger, ROUTES)
    return resolve(session, ROUTES[trigger], trigger)


def queue_messages(session: Session, *, settings: Settings, now: datetime, kind: str,
                   context: Mapping[str, Any], recipients: Sequence[Recipient],
                   event: AuditEvent, response_id: int | None, actor: str,
                   action: str | None = None) -> list[OutboxMessage]:
    """Render ``kind`` for each recipient and add one outbox row each, in this transaction.

    The dedupe key is ``<event id>:<recipient>``, so queueing twice for one event adds
    nothing. Everything is rendered and checked before the first row is written. A
    MAIL_QUEUED audit event records the queued ids.
    """
    action = action or kind
    rows: list[OutboxMessage] = []
    try:
        sender = check_address(settings.mail_from, "From")
        for rcpt in recipients:
            rendered = render(kind, {**context, "recipient_name": rcpt.name},
                              override_dir=settings.template_dir)
            key = f"{event.id}:{rcpt.email}"
            row = OutboxMessage(
                event_id=event.id or 0, response_id=response_id, dedupe_key=key,
                message_id=message_id_for(key, sender), kind=kind, sender=sender,
                recipient=rcpt.email, subject=rendered.subject, body_text=rendered.text,
                body_html=rendered.html, status="pending", attempts=0, next_attempt_at=now,
                created_at=now)
            message_bytes(_mail(row))  # every header checked now, not at 3 a.m. in the dispatcher
            rows.append(row)
    except NotificationError as exc:
        raise MailRefusedError(action, exc) from exc
    existing = set(session.scalars(select(OutboxMessage.dedupe_key).where(
        OutboxMessage.dedupe_key.in_([r.dedupe_key for r in rows]))))  # type: ignore[attr-defined]
    rows = [r for r in rows if r.dedupe_key not in existing]
    session.add_all(rows)
    session.flush()
    if rows:
        audit.append(session, at=now, actor=actor, action=Action.MAIL_QUEUED,
                     response_id=response_id, payload={
                         "kind": kind, "cause_event": event.id,
                         "outbox": [{"id": r.id, "to": r.recipient} for r in rows]})
    return rows


def queue_alert(session: Session, *, settings: Settings, now: datetime, kind: str,
                context: Mapping[str, Any], roles: Iterable[str], event: AuditEvent,
                actor: str, response_id: int | None = None) -> list[OutboxMessage]:
    """Queue ``kind`` to everyone holding ``roles`` (escalations, admin alerts)."""
    recipients = resolve(session, roles, f"send {kind}")
    base = {"opcc_name": settings.opcc_name, "force": settings.force,
            "response_id": response_id}
    return queue_messages(session, settings=settings, now=now, kind=kind,
                          context={**base, **context}, recipients=recipients, event=event,
                          response_id=response_id, actor=actor)


def _as_dict(row: Any, names: Iterable[str]) -> dict[str, Any]:
    return {n: getattr(row, n) for n in names}


def transition_context(session: Session, settings: Settings, now: datetime, response: Response,
                       report: InspectionReport, actor: str,
                       reason: str | None) -> dict[str, Any]:
    """Everything any transition template may use (plain values, no ORM objects)."""
    recs = session.scalars(select(Recommendation).where(
        Recommendation.response_id == response.id).order_by(Recommendation.number)).all()  # type: ignore[arg-type]
    areas = session.scalars(select(AreaForImprovement).where(
        AreaForImprovement.response_id == response.id).order_by(AreaForImprovement.number)).all()  # type: ignore[arg-type]
    actor_person = session.scalars(select(Person).where(Person.email == actor)).first()
    return {
        "opcc_name": settings.opcc_name, "force": response.force or settings.force,
        "response_id": response.id, "report_title": report.title, "report_link": report.link,
        "report_published": report.published_on, "deadline": response.deadline,
        "days_left": (response.deadline - now.astimezone(LONDON).date()).days,
        "force_input_due": response.force_input_due, "signoff_due": response.signoff_due,
        "published_url": response.published_url, "published_on": response.published_on,
        "portal_reference": response.portal_reference, "reason": reason,
        "actor": actor_person.name if actor_person else actor,
        "response": _as_dict(response, ("key_findings", "cc_response", "pcc_response",
                                        "afi_statement")),
        "recommendations": [_as_dict(r, ("number", "text", "due_date", "force_response",
                                         "pcc_note")) for r in recs],
        "areas": [_as_dict(a, ("number", "text", "force_response")) for a in areas],
    }


def queue_for_transition(session: Session, *, settings: Settings, now: datetime,
                         response: Response, report: InspectionReport, trigger: str,
                         event: AuditEvent, actor_email: str,
                         reason: str | None) -> list[OutboxMessage]:
    """Queue the mail of one transition inside the caller's transaction.

    Raises ``RecipientsMissingError``/``PersonWithoutEmailError``/``MailRefusedError``
    before writing anything; the caller's rollback then undoes the transition too.
    """
    recipients = recipients_for(session, trigger, settings)
    # The service moves the row with an UPDATE statement: read what it wrote.
    session.refresh(response)
    context = transition_context(session, settings, now, response, report, actor_email, reason)
    rows = queue_messages(session, settings=settings, now=now, kind=trigger, context=context,
                          recipients=recipients, event=event, response_id=response.id,
                          actor=actor_email, action=f"{trigger} response {response.id}")
    if trigger == "publish":  # s55(6): copies to the inspectorate and the Secretary of State
        copies = [Recipient("colleagues at HMICFRS", settings.hmicfrs_email.strip().lower()),
                  Recipient("colleagues at the Home Office",
                            settings.home_office_email.strip().lower())]
        rows += queue_messages(session, settings=settings, now=now, kind="publish_copy",
                               context=context, recipients=copies, event=event,
                               response_id=response.id, actor=actor_email,
                               action=f"{trigger} response {response.id}")
    return rows


def _mail(row: OutboxMessage) -> Mail:
    return Mail(sender=row.sender, recipient=row.recipient, subject=row.subject,
                body_text=row.body_text, body_html=row.body_html, message_id=row.message_id,
                date=row.created_at)


# -- the outbox store the dispatcher uses ------------------------------------------------

def _item(row: Any) -> OutboxItem:
    return OutboxItem(id=row.id, kind=row.kind, sender=row.sender, recipient=row.recipient,
                      subject=row.subject, body_text=row.body_text, body_html=row.body_html,
                      message_id=row.message_id, created_at=row.created_at,
                      attempts=row.attempts, response_id=row.response_id)


_O = OutboxMessage
_ID: Any = _O.id  # typed Any: SQLModel column attributes confuse mypy


class SqlOutboxStore:
    """``notifications.dispatcher.OutboxStore`` over our database; one transaction a call."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db, self.settings = db, settings

    def recover(self, *, worker: str, now: datetime) -> int:
        """SQLite: the lock file proves we are the only dispatcher, so any claim is an
        orphan of a killed one. PostgreSQL: claims expire with their lease instead."""
        if not self.db.is_sqlite:
            return 0
        with self.db.write() as s:
            res = s.execute(update(_O).where(_O.status == "sending").values(  # type: ignore[arg-type]
                status="pending", claimed_by=None, claimed_until=None))
            return int(res.rowcount or 0)  # type: ignore[attr-defined]

    def claim(self, *, worker: str, now: datetime, limit: int,
              lease: timedelta) -> list[OutboxItem]:
        due = or_(and_(_O.status == "pending", _O.next_attempt_at <= now),  # type: ignore[arg-type]
                  and_(_O.status == "sending", _O.claimed_until < now))  # type: ignore[arg-type,operator]
        with self.db.write() as s:
            stmt = select(_O).where(due).order_by(_ID).limit(limit)
            if not self.db.is_sqlite:
                # Several dispatchers: each skips rows another has locked (SQLite has no
                # FOR UPDATE; SQLAlchemy would silently drop it there - PITFALLS).
                stmt = stmt.with_for_update(skip_locked=True)
            rows = list(s.scalars(stmt))
            if rows:
                s.execute(update(_O).where(_ID.in_([r.id for r in rows])).values(
                    status="sending", claimed_by=worker, claimed_until=now + lease))
            return [_item(r) for r in rows]

    def _finish(self, s: Session, item: OutboxItem, **values: Any) -> bool:
        res = s.execute(update(_O).where(_ID == item.id, _O.status == "sending").values(  # type: ignore[arg-type]
            attempts=item.attempts + 1, claimed_by=None, claimed_until=None, **values))
        return bool(res.rowcount)  # type: ignore[attr-defined]

    def mark_sent(self, items: Sequence[OutboxItem], *, worker: str, now: datetime) -> None:
        """One transaction; one MAIL_SENT event per response in the group (per message
        when ``mail_record_every`` is 1, the default)."""
        by_response: dict[int | None, list[OutboxItem]] = {}
        for item in items:
            by_response.setdefault(item.response_id, []).append(item)
        with self.db.write() as s:
            for response_id, group in by_response.items():
                sent = []
                for item in group:
                    first = self._finish(s, item, status="sent", sent_at=now, last_error=None)
                    if not first:  # a lease expired and another dispatcher got there too
                        log.warning("outbox %s was already finished elsewhere", item.id)
                    sent.append({"outbox": item.id, "to": item.recipient, "kind": item.kind,
                                 "message_id": item.message_id, "attempt": item.attempts + 1,
                                 **({} if first else {"duplicate": True})})
                payload = {**sent[0], "worker": worker} if len(sent) == 1 else {
                    "sent": sent, "worker": worker}
                audit.append(s, at=now, actor=MAILER, action=Action.MAIL_SENT,
                             response_id=response_id, payload=payload)

    def mark_failed(self, item: OutboxItem, *, worker: str, now: datetime, error: str,
                    retry_at: datetime) -> None:
        with self.db.write() as s:
            self._finish(s, item, status="pending", next_attempt_at=retry_at, last_error=error)
            audit.append(s, at=now, actor=MAILER, action=Action.MAIL_FAILED,
                         response_id=item.response_id, payload={
                             "outbox": item.id, "to": item.recipient, "kind": item.kind,
                             "attempt": item.attempts + 1, "error": error,
                             "retry_at": retry_at.isoformat(), "worker": worker})

    def mark_dead(self, item: OutboxItem, *, worker: str, now: datetime, error: str) -> None:
        with self.db.write() as s:
            self._finish(s, item, status="dead", last_error=error)
            event = audit.append(s, at=now, actor=MAILER, action=Action.MAIL_DEAD,
                                 response_id=item.response_id, payload={
                                     "outbox": item.id, "to": item.recipient, "kind": item.kind,
                                     "attempts": item.attempts + 1, "error": error,
                                     "worker": worker})
            if item.kind == "mail_dead":
                return  # an alert about an alert would loop; the audit event stands
            try:
                with s.begin_nested():
                    queue_alert(s, settings=self.settings, now=now, kind="mail_dead",
                                roles=[Role.ADMIN], event=event, actor=MAILER,
                                response_id=item.response_id, context={
                                    "outbox_id": item.id, "dead_recipient": item.recipient,
                                    "dead_subject": item.subject, "attempts": item.attempts + 1,
                                    "error": error})
            except MailError as exc:
                log.error("no admin alert for dead outbox %s: %s", item.id, exc)

    def release(self, items: Sequence[OutboxItem], *, worker: str) -> None:
        with self.db.write() as s:
            s.execute(update(_O).where(_ID.in_([i.id for i in items]),
                                       _O.claimed_by == worker,  # type: ignore[arg-type]
                                       _O.status == "sending").values(  # type: ignore[arg-type]
                status="pending", claimed_by=None, claimed_until=None))


# -- delivery ----------------------------------------------------------------------------

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


def default_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@contextmanager
def dispatcher_lock(db: Database) -> Iterator[None]:
    """On SQLite, hold ``<database>.dispatcher.lock`` (flock) for the run; else nothing.

    The kernel drops the lock when the process dies, so a killed dispatcher never
    blocks its successor.
    """
    path = make_url(db.url).database if db.is_sqlite else None
    if not path or path == ":memory:":
        yield
        return
    lock = Path(path + ".dispatcher.lock")
    with open(lock, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            raise DispatcherLockedError(lock, fh.read().strip() or "unknown") from None
        try:
            fh.truncate(0)
            fh.write(default_worker())
            fh.flush()
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


async def adeliver_pending(db: Database, settings: Settings, clock: Clock, *,
                           worker: str | None = None, limit: int | None = None,
                           progress: Callable[[int], None] | None = None,
                           transport: Transport | None = None) -> DeliveryReport:
    """``deliver_pending`` for callers already inside an event loop (the scheduler)."""
    worker = worker or default_worker()
    with dispatcher_lock(db):
        dispatcher = Dispatcher(SqlOutboxStore(db, settings), transport or make_transport(settings),
                                clock=clock.now, worker=worker,
                                max_attempts=settings.mail_max_attempts,
                                batch_size=settings.mail_batch_size, progress=progress,
                                record_every=settings.mail_record_every)
        report = await dispatcher.run(limit=limit)
    if report.error and report.released:
        with db.write() as s:  # one event for the outage, not one per waiting message
            audit.append(s, at=clock.now(), actor=MAILER, action=Action.MAIL_FAILED,
                         payload={"error": report.error, "left_pending": report.released,
                                  "worker": worker})
    return report


def deliver_pending(db: Database, settings: Settings, clock: Clock, *,
                    worker: str | None = None, limit: int | None = None,
                    progress: Callable[[int], None] | None = None,
                    transport: Transport | None = None) -> DeliveryReport:
    """Deliver every due outbox message now (``s55 mail send``); returns what happened.

    ``progress`` is called with the number processed so far (for a progress bar whose
    total is ``due_count``). A connection failure does not raise: the report's
    ``error`` says why and the messages stay pending. Raises ``DispatcherLockedError``
    when another dispatcher runs against the same SQLite file.
    """
    return asyncio.run(adeliver_pending(db, settings, clock, worker=worker, limit=limit,
                                        progress=progress, transport=transport))


# -- CLI helpers (s55 outbox ..., s55 mail ...) ------------------------------------------

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
    stmt = select(_O).order_by(_ID.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(_O.status == status)  # type: ignore[arg-type]
    if response_id is not None:
        stmt = stmt.where(_O.response_id == response_id)  # type: ignore[arg-type]
    with db.read() as s:
        return [_row(m) for m in s.scalars(stmt)]


def outbox_counts(db: Database) -> dict[str, int]:
    """How many messages are in each status (all four keys present)."""
    with db.read() as s:
        got = dict(s.execute(select(_O.status, func.count()).group_by(_O.status)).all())  # type: ignore[arg-type]
    return {st: int(got.get(st, 0)) for st in STATUSES}


def due_count(db: Database, clock: Clock) -> int:
    """Messages ``deliver_pending`` would try now (the progress bar's total)."""
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(_O).where(
            _O.status == "pending", _O.next_attempt_at <= clock.now())).scalar_one())  # type: ignore[arg-type]


def show_outbox(db: Database, outbox_id: int) -> tuple[OutboxRow, str]:
    """One message and its full rendered text (.eml, as it is sent)."""
    with db.read() as s:
        m = s.get(OutboxMessage, outbox_id)
        if m is None:
            raise NotFoundError("outbox message", outbox_id)
        return _row(m), message_bytes(_mail(m)).decode("utf-8", "replace")


def retry_outbox(db: Database, outbox_id: int, *, clock: Clock, actor: str) -> OutboxRow:
    """Make a dead (or waiting) message due now, with a fresh attempt count; audited.

    Refuses sent messages (that would send twice) and ones being delivered.
    """
    now = clock.now()
    with db.write() as s:
        m = s.get(OutboxMessage, outbox_id)
        if m is None:
            raise NotFoundError("outbox message", outbox_id)
        if m.status not in ("dead", "pending"):
            raise OutboxStateError(outbox_id, m.status, "retry")
        before = (m.status, m.attempts)
        m.status, m.attempts, m.next_attempt_at = "pending", 0, now
        s.flush()
        audit.append(s, at=now, actor=actor, action=Action.MAIL_RETRY, response_id=m.response_id,
                     payload={"outbox": m.id, "to": m.recipient, "was": before[0],
                              "attempts_before": before[1]})
        return _row(m)


def send_test(db: Database, settings: Settings, clock: Clock, address: str, *,
              actor: str) -> str:
    """Send one test message straight through the configured transport (not the outbox).

    Returns the transport's description; raises ``MailTestError`` saying what failed.
    """
    now = clock.now()
    transport = make_transport(settings)
    try:
        to = check_address(address.strip())
        sender = check_address(settings.mail_from, "From")
        rendered = render("mail_test", {"opcc_name": settings.opcc_name, "response_id": None,
                                        "recipient_name": to, "actor": actor,
                                        "transport": transport.description},
                          override_dir=settings.template_dir)
        mail = Mail(sender=sender, recipient=to, subject=rendered.subject, body_text=rendered.text,
                    body_html=rendered.html, date=now,
                    message_id=message_id_for(f"test:{to}:{now.isoformat()}", sender))
        asyncio.run(_send_one(transport, mail))
    except NotificationError as exc:
        with db.write() as s:
            audit.append(s, at=now, actor=actor, action=Action.MAIL_FAILED,
                         payload={"test": True, "to": address, "error": str(exc)})
        raise MailTestError(address, str(exc)) from exc
    with db.write() as s:
        audit.append(s, at=now, actor=actor, action=Action.MAIL_SENT,
                     payload={"test": True, "to": to, "message_id": mail.message_id,
                              "via": transport.description})
    return transport.description


async def _send_one(transport: Transport, mail: Mail) -> None:
    await transport.open()
    try:
        await transport.send(mail.sender, mail.recipient, message_bytes(mail))
    finally:
        await transport.close()
