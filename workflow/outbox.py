"""The outbox: claiming, delivery, the dispatcher lock and the CLI's outbox helpers.

``deliver_pending`` hands the outbox to the ``notifications`` dispatcher through
``SqlOutboxStore``. Claims are one ``UPDATE … RETURNING`` whose row choice uses ``FOR
UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite (which has no such thing) a lock file next
to the database allows one dispatcher at a time.

What a crash can cost (the dispatcher docstring has the protocol):
- "sent" is committed per message, before the next message's DATA, by one statement
  on a connection kept for the run (~0.05 ms on SQLite, ~0.15 ms on PostgreSQL, against
  ~0.4 ms / ~1-4 ms through a session transaction). A dispatcher killed at any point
  resends at most the one message the server was holding, with the same Message-ID.
- That statement commits without waiting for the disk: SQLite runs with
  ``synchronous=NORMAL`` (``workflow.db``), and on PostgreSQL the connection sets
  ``synchronous_commit = off``. A *database server* crash or power loss (not a
  dispatcher crash) can therefore forget the last fraction of a second of "sent"
  records; those messages go again, recognisable by their Message-ID. Every audit
  transaction (at least each ``audit_every`` messages) is an ordinary durable commit,
  which flushes the earlier records with it, so the window never exceeds one group.
- Sends are audited one event per message, written together after each group; a row
  recorded "sent" whose event is not written yet keeps ``claimed_by`` set, and the next
  run's ``recover`` writes the missing events (``"recovered_by"`` in the payload).
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Table, and_, func, or_, select, update
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
from workflow.clock import Clock
from workflow.config import Settings
from workflow.db import Database
from workflow.errors import InvalidInputError, NotFoundError
from workflow.mail import (
    MAILER,
    DispatcherLockedError,
    MailError,
    MailTestError,
    OutboxStateError,
    queue_alert,
)
from workflow.models import OutboxMessage

log = logging.getLogger("s55.mail")
STATUSES = ("pending", "sending", "sent", "dead")

_O = OutboxMessage
_T: Table = OutboxMessage.__table__  # type: ignore[attr-defined]
_C = _T.c
_ID: Any = _O.id  # typed Any: SQLModel column attributes confuse mypy
_ITEM_COLUMNS = (_C.id, _C.kind, _C.sender, _C.recipient, _C.subject, _C.body_text,
                 _C.body_html, _C.message_id, _C.created_at, _C.attempts, _C.response_id)


def _item(row: Any) -> OutboxItem:
    return OutboxItem(id=row.id, kind=row.kind, sender=row.sender, recipient=row.recipient,
                      subject=row.subject, body_text=row.body_text, body_html=row.body_html,
                      message_id=row.message_id, created_at=row.created_at,
                      attempts=row.attempts, response_id=row.response_id)


def _sent_event(item: OutboxItem, *, worker: str, now: datetime,
                **more: Any) -> dict[str, Any]:
    return {"at": now, "actor": MAILER, "action": Action.MAIL_SENT,
            "response_id": item.response_id,
            "payload": {"outbox": item.id, "to": item.recipient, "kind": item.kind,
                        "message_id": item.message_id, "attempt": item.attempts + 1,
                        "worker": worker, **more}}


class _SentWriter:
    """A connection kept for one run that commits each "sent" as a single statement.

    Plain DBAPI on purpose: through a SQLAlchemy connection the same commit costs ~0.4
    ms on SQLite (the ``BEGIN IMMEDIATE`` hook, the commit bookkeeping), and a Core
    ``AUTOCOMMIT`` connection still runs that hook and so never commits. Here SQLite is in
    autocommit mode (``workflow.db`` sets ``isolation_level = None``), so the UPDATE is
    its own transaction; PostgreSQL gets autocommit and ``synchronous_commit = off`` (see
    the module docstring for what that trades). The connection is discarded afterwards,
    never returned to the pool with those settings.
    """

    def __init__(self, db: Database) -> None:
        dialect = db.engine.dialect
        self._at = _C.sent_at.type.bind_processor(dialect) or (lambda value: value)
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        self.sql = (f"UPDATE outbox SET status = 'sent', sent_at = {mark}, attempts = {mark} "
                    f"WHERE id = {mark} AND status = 'sending' AND claimed_by = {mark}")
        self.raw = db.engine.raw_connection()
        conn: Any = self.raw.dbapi_connection
        if db.is_sqlite:
            conn.isolation_level = None
        else:
            self.raw.rollback()
            conn.autocommit = True
            conn.execute("SET synchronous_commit = off")
        self.cursor = self.raw.cursor()

    def mark(self, item: OutboxItem, worker: str, now: datetime) -> bool:
        self.cursor.execute(self.sql, (self._at(now), item.attempts + 1, item.id, worker))
        return self.cursor.rowcount == 1

    def close(self) -> None:
        self.cursor.close()
        self.raw.invalidate()


class SqlOutboxStore:
    """``notifications.dispatcher.OutboxStore`` over our database.

    Every method runs in the dispatcher's one store thread and commits before it returns.
    """

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db, self.settings = db, settings
        self._writer: _SentWriter | None = None

    def recover(self, *, worker: str, now: datetime) -> int:
        """Audit sends a dead dispatcher recorded but did not audit; on SQLite also return
        its claims to pending (the lock file proves it is gone; on PostgreSQL claims expire
        with their lease instead). Returns the number of claims returned."""
        with self.db.write() as s:
            self._audit_orphans(s, worker=worker, now=now)
            if not self.db.is_sqlite:
                return 0
            res = s.execute(update(_T).where(_C.status == "sending").values(
                status="pending", claimed_by=None, claimed_until=None))
            return int(res.rowcount or 0)  # type: ignore[attr-defined]

    def _audit_orphans(self, s: Session, *, worker: str, now: datetime) -> None:
        stmt = select(*_ITEM_COLUMNS, _C.claimed_by, _C.sent_at).where(
            _C.status == "sent", _C.claimed_by.is_not(None)).order_by(_C.id)
        if not self.db.is_sqlite:  # only leases that ran out: a live owner audits its own
            stmt = stmt.where(_C.claimed_until < now).with_for_update(skip_locked=True)
        rows = s.execute(stmt).all()
        if not rows:
            return
        s.execute(update(_T).where(_C.id.in_([r.id for r in rows])).values(
            claimed_by=None, claimed_until=None))
        # ``attempts`` was already counted when "sent" was recorded.
        audit.append_many(s, [_sent_event(
            replace(_item(r), attempts=r.attempts - 1), worker=r.claimed_by, now=now,
            sent_at=r.sent_at.isoformat(), recovered_by=worker) for r in rows])
        log.warning("audited %d send(s) a stopped dispatcher had not audited", len(rows))

    def claim(self, *, worker: str, now: datetime, limit: int,
              lease: timedelta) -> list[OutboxItem]:
        """One statement: lease up to ``limit`` due messages, oldest first."""
        due = or_(and_(_C.status == "pending", _C.next_attempt_at <= now),
                  and_(_C.status == "sending", _C.claimed_until < now))
        pick = select(_C.id).where(due).order_by(_C.id).limit(limit)
        if not self.db.is_sqlite:
            # Several dispatchers: each skips rows another has locked (SQLite has no
            # FOR UPDATE; SQLAlchemy would silently drop it there - PITFALLS).
            pick = pick.with_for_update(skip_locked=True)
        stmt = update(_T).where(_C.id.in_(pick.scalar_subquery())).values(
            status="sending", claimed_by=worker, claimed_until=now + lease,
        ).returning(*_ITEM_COLUMNS)
        with self.db.write() as s:
            return sorted((_item(r) for r in s.execute(stmt)), key=lambda i: i.id)

    def record_sent(self, item: OutboxItem, *, worker: str, now: datetime) -> bool:
        """Commit "sent" for one message; ``claimed_by`` stays set until it is audited."""
        if self._writer is None:
            self._writer = _SentWriter(self.db)
        return self._writer.mark(item, worker, now)

    def audit_sent(self, items: Sequence[OutboxItem], *, worker: str, now: datetime,
                   duplicates: Sequence[OutboxItem] = ()) -> None:
        """One transaction: release the audit marker of ``items`` still holding ours and
        write their MAIL_SENT events (and one per duplicate send)."""
        with self.db.write() as s:
            mine = set(s.scalars(update(_T).where(
                _C.id.in_([i.id for i in items]), _C.status == "sent",
                _C.claimed_by == worker).values(claimed_by=None, claimed_until=None
                                                ).returning(_C.id))) if items else set()
            events = [_sent_event(i, worker=worker, now=now) for i in items if i.id in mine]
            events += [_sent_event(i, worker=worker, now=now, duplicate=True)
                       for i in duplicates]
            audit.append_many(s, events)

    def _finish(self, s: Session, item: OutboxItem, **values: Any) -> bool:
        res = s.execute(update(_T).where(_C.id == item.id, _C.status == "sending").values(
            attempts=item.attempts + 1, claimed_by=None, claimed_until=None, **values))
        return bool(res.rowcount)  # type: ignore[attr-defined]

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
            s.execute(update(_T).where(_C.id.in_([i.id for i in items]),
                                       _C.claimed_by == worker,
                                       _C.status == "sending").values(
                status="pending", claimed_by=None, claimed_until=None))

    def close(self) -> None:
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.close()


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
                                batch_size=settings.mail_batch_size, progress=progress)
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


async def run_dispatcher(db: Database, settings: Settings, clock: Clock,
                         stop_event: asyncio.Event, poll_seconds: float = 30.0, *,
                         worker: str | None = None,
                         transport: Transport | None = None) -> int:
    """Deliver due mail until ``stop_event`` is set (the scheduler daemon runs this beside
    APScheduler); returns the number of messages processed.

    Each pass delivers at most one batch (``mail_batch_size``), so a stop is noticed
    within one batch even with a long backlog; a full batch is followed straight away by
    the next, anything less by a wait of ``poll_seconds`` that the stop cuts short. A
    pass that fails (database down, another dispatcher holding the SQLite lock) is
    logged and tried again after the wait: the loop only ends when asked to.
    """
    worker = worker or default_worker()
    processed = 0
    while not stop_event.is_set():
        batch = settings.mail_batch_size
        try:
            report = await adeliver_pending(db, settings, clock, worker=worker, limit=batch,
                                            transport=transport)
        except DispatcherLockedError as exc:
            log.info("mail dispatcher waiting: %s", exc)
            report = DeliveryReport()
        except Exception:  # the daemon's entry point: log, wait, try again
            log.exception("mail delivery pass failed; trying again in %ss", poll_seconds)
            report = DeliveryReport()
        processed += report.processed
        if report.processed >= batch and not report.error:
            continue  # more may be due now
        try:
            await asyncio.wait_for(stop_event.wait(), timeout=poll_seconds)
        except TimeoutError:
            pass
    return processed


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


def _mail(row: OutboxMessage) -> Mail:
    return Mail(sender=row.sender, recipient=row.recipient, subject=row.subject,
                body_text=row.body_text, body_html=row.body_html, message_id=row.message_id,
                date=row.created_at)


def list_outbox(db: Database, *, status: str | None = None, response_id: int | None = None,
                limit: int = 200) -> list[OutboxRow]:
    """Newest first; ``status`` one of pending, sending, sent, dead."""
    if status is not None and status not in STATUSES:
        raise InvalidInputError("outbox status", f"{status!r} is not one of {', '.join(STATUSES)}")
    stmt = select(_O).order_by(_ID.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(_C.status == status)
    if response_id is not None:
        stmt = stmt.where(_C.response_id == response_id)
    with db.read() as s:
        return [_row(m) for m in s.scalars(stmt)]


def outbox_counts(db: Database) -> dict[str, int]:
    """How many messages are in each status (all four keys present)."""
    with db.read() as s:
        got: dict[str, int] = {status: count for status, count in s.execute(
            select(_C.status, func.count()).group_by(_C.status))}
    return {st: int(got.get(st, 0)) for st in STATUSES}


def due_count(db: Database, clock: Clock) -> int:
    """Messages ``deliver_pending`` would try now (the progress bar's total)."""
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(_T).where(
            _C.status == "pending", _C.next_attempt_at <= clock.now())).scalar_one())


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
