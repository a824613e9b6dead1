"""The outbox store the dispatcher drives (``SqlOutboxStore``): claiming (each claimed
row's personal links filled in with their tokens), recording and auditing sends, and after
a failed send ``mark_failed`` (pending again, retried at ``retry_at``) or ``mark_dead``
(given up, the admins alerted), each with its audit event.

Claims are one ``UPDATE … RETURNING`` whose row choice uses ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL; on SQLite (which has no such thing) a lock file next to the database
(``workflow.mail.delivery.dispatcher_lock``) allows one dispatcher at a time.

What a crash can cost (the dispatcher docstring has the protocol):
- "sent" is committed per message, before the next message's DATA, by one statement
  on a connection kept for the run (~0.05 ms on SQLite, ~0.15 ms on PostgreSQL, against
  ~0.4 ms / ~1-4 ms through a session transaction). A dispatcher killed at any point
  resends at most the one message the server was holding, with the same Message-ID.
- That statement commits without waiting for the disk: SQLite runs with
  ``synchronous=NORMAL`` (``workflow.storage.db``), and on PostgreSQL the connection sets
  ``synchronous_commit = off``. A *database server* crash or power loss (not a
  dispatcher crash) can therefore forget the last fraction of a second of "sent"
  records; those messages go again, recognisable by their Message-ID. Every audit
  transaction (at least each ``audit_every`` messages) is an ordinary durable commit,
  which flushes the earlier records with it, so the window never exceeds one group.
- Sends are audited one event per message, written together after each group; a row
  recorded "sent" whose event is not written yet keeps ``claimed_by`` set, and the next
  run's ``recover`` writes the missing events (``"recovered_by"`` in the payload).

A lost connection (a terminated backend, a restarted server) or a deadlock is retried,
never surfaced: every transaction here runs through ``Database.run``/``Database.query``
(each function given to them only touches its session - no mail is sent inside one), and
the "sent" statement reconnects and runs again; it is written so that running it twice
gives the same answer (``_SentWriter``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Result, Table, and_, bindparam, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from notifications.dispatcher import OutboxItem
from states import Role
from workflow.audit import trail
from workflow.audit.trail import Provenance
from workflow.audit.words import Action, Channel
from workflow.core.errors import DatabaseError
from workflow.core.settings import Settings
from workflow.keys import audit_key, link_tokens
from workflow.mail.digest import already_sent, mail_of, tampered
from workflow.mail.errors import MailError
from workflow.mail.outbox import MAILER, queue_alert
from workflow.storage.db import KEYRING_KEY, RETRY_ATTEMPTS, RETRY_SQLSTATES, Database, backoff
from workflow.storage.tables import AUDIT_EVENT, OUTBOX

log = logging.getLogger("s55.mail")

_T: Table = OUTBOX
_C = _T.c
_ITEM_COLUMNS = (_C.id, _C.kind, _C.sender, _C.recipient, _C.reply_to, _C.subject,
                 _C.body_text, _C.body_html, _C.message_id, _C.created_at, _C.attempts,
                 _C.response_id, _C.queued_event_id, _C.dedupe_key, _C.event_id)


# "Sent", if the row is still ours: besides a row ``sending`` under our claim it matches
# the row our own earlier run already made ``sent`` (``_SentWriter`` says why).
_MARK_SENT = (update(OUTBOX)
              .where(_C.id == bindparam("oid"), _C.claimed_by == bindparam("worker"),
                     or_(_C.status == "sending",
                         and_(_C.status == "sent", _C.sent_at == bindparam("at"))))
              .values(status="sent", sent_at=bindparam("at"), attempts=bindparam("tries")))
_MARK_SENT_PARAMS = ("oid", "worker", "at", "tries")


def _sent_event(item: OutboxItem, *, worker: str, now: datetime, by: Provenance,
                **more: Any) -> dict[str, Any]:
    return {"at": now, "actor": MAILER, "action": Action.MAIL_SENT, "by": by,
            "response_id": item.response_id,
            "payload": {"outbox": item.id, "to": item.mail.recipient, "kind": item.kind,
                        "message_id": item.mail.message_id, "attempt": item.attempts + 1,
                        "worker": worker, **more}}


def _rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE matched (``Session.execute`` is typed to return a ``Result``; an
    UPDATE's is a ``CursorResult``, which counts them)."""
    return int(cast(CursorResult[Any], result).rowcount or 0)


def _alerted_before(s: Session, item: OutboxItem, error: str) -> bool:
    """Whether this row already died for this same reason (its admins were told then)."""
    response = AUDIT_EVENT.c.response_id
    payloads = s.scalars(select(AUDIT_EVENT.c.payload).where(
        AUDIT_EVENT.c.action == Action.MAIL_DEAD.value,
        response.is_(None) if item.response_id is None else response == item.response_id))
    return any(p.get("outbox") == item.id and p.get("error") == error
               for p in map(json.loads, payloads))


class _SentWriter:
    """A connection kept for one run that commits each "sent" as a single statement.

    Plain DBAPI on purpose: through a SQLAlchemy connection the same commit costs ~0.4
    ms on SQLite (the ``BEGIN IMMEDIATE`` hook, the commit bookkeeping), and a Core
    ``AUTOCOMMIT`` connection still runs that hook and so never commits. Here SQLite is in
    autocommit mode (``workflow.storage.db`` sets ``isolation_level = None``), so the UPDATE is
    its own transaction; PostgreSQL gets autocommit and ``synchronous_commit = off`` (see
    the module docstring for what that trades). The connection is discarded afterwards,
    never returned to the pool with those settings.

    A connection lost under the statement is replaced and the statement run again. That
    is safe because it is written to be repeated: besides a row still ``sending`` under
    our claim it also matches the row our own earlier run already made ``sent`` (same
    worker, same ``sent_at``). A plain "where status = 'sending'" would change nothing the
    second time, but it would answer "0 rows" when the first run committed and only its
    reply was lost - read as "another dispatcher took it over", that audits the send as a
    duplicate and leaves it for ``recover`` to audit again.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        dialect = db.engine.dialect
        self._errors = dialect.loaded_dbapi.Error
        self._at: Callable[[Any], Any] = (_C.sent_at.type.bind_processor(dialect)
                                          or (lambda value: value))
        compiled = _MARK_SENT.compile(dialect=dialect)
        self.sql = compiled.string
        # The statement's own constants, and the order of its parameters where the driver
        # takes them by position (SQLite) rather than by name (psycopg).
        self._constants = compiled.construct_params(dict.fromkeys(_MARK_SENT_PARAMS))
        self._order = compiled.positiontup
        self.raw: Any = None  # connected by the first ``mark``, again after a loss
        self.cursor: Any = None

    def _connect(self) -> None:
        self.raw = self.db.engine.raw_connection()
        conn: Any = self.raw.dbapi_connection
        if self.db.is_sqlite:
            conn.isolation_level = None
        else:
            self.raw.rollback()
            conn.autocommit = True
            conn.execute("SET synchronous_commit = off")
        self.cursor = self.raw.cursor()

    def mark(self, item: OutboxItem, worker: str, now: datetime) -> bool:
        """Commit "sent" for ``item``; False if ``worker`` no longer holds its claim.

        Runs on the event loop's thread (``Dispatcher``): the waits between attempts
        (``time.sleep``, well under a second each, only after a lost connection) block
        the loop briefly, which is acceptable - the SMTP conversation is waiting for
        this record anyway.

        Raises:
            DatabaseError: the connection was lost on every attempt.
        """
        values = {**self._constants, "oid": item.id, "worker": worker, "at": self._at(now),
                  "tries": item.attempts + 1}
        params = tuple(values[k] for k in self._order) if self._order else values
        for attempt in range(1, RETRY_ATTEMPTS + 1):
            try:
                if self.cursor is None:
                    self._connect()
                self.cursor.execute(self.sql, params)
                return bool(self.cursor.rowcount == 1)
            except (self._errors, DBAPIError) as exc:
                if not self._lost(exc):
                    raise
                if attempt == RETRY_ATTEMPTS:
                    raise DatabaseError(f"database unreachable after {attempt} attempts to "
                                        f"record outbox {item.id} as sent: {exc}") from exc
                log.info("connection lost recording outbox %s as sent (attempt %d of %d), "
                         "reconnecting: %s", item.id, attempt, RETRY_ATTEMPTS, exc)
            self._discard()
            time.sleep(backoff(attempt))
        raise AssertionError("unreachable")  # the last attempt returns or raises

    def _lost(self, exc: Any) -> bool:
        """The connection is gone (or could not be made again), or PostgreSQL rolled the
        statement back (a deadlock): running it again is safe."""
        if self.cursor is None or isinstance(exc, DBAPIError):
            return True  # raised while connecting
        return bool(self.db.engine.dialect.is_disconnect(exc, self.raw.dbapi_connection,
                                                         self.cursor)
                    or getattr(exc, "sqlstate", None) in RETRY_SQLSTATES)

    def _discard(self) -> None:
        """Drop the connection (closed, never returned to the pool with our settings)."""
        cursor, raw, self.cursor, self.raw = self.cursor, self.raw, None, None
        if cursor is not None:
            try:
                cursor.close()
            except self._errors:
                pass  # the connection is gone: nothing to close on the server's side
        if raw is not None:
            raw.invalidate()

    def close(self) -> None:
        self._discard()


class SqlOutboxStore:
    """``notifications.dispatcher.OutboxStore`` over our database.

    Every method runs in the dispatcher's one store thread and commits before it returns
    (``record_sent`` excepted: see ``_SentWriter``). Each transaction is a ``Database.run``,
    run again on a lost connection or a deadlock; ``Database.run`` waits between attempts
    with ``time.sleep``, which here blocks the store's thread, not the event loop.
    """

    def __init__(self, db: Database, settings: Settings, by: Provenance | None = None) -> None:
        self.db, self.settings = db, settings
        #: The dispatcher's provenance on every event it writes.
        self.by = by or Provenance.here(Channel.DISPATCHER)
        self._writer: _SentWriter | None = None
        #: The rows refused at claiming (dead, never sent), with why, for the run's report.
        self.refused: dict[int, str] = {}

    def recover(self, *, worker: str, now: datetime) -> int:
        """Audit sends a dead dispatcher recorded but did not audit; on SQLite also return
        its claims to pending (the lock file proves it is gone; on PostgreSQL claims expire
        with their lease instead). Returns the number of claims returned."""

        def recover(s: Session) -> tuple[int, int]:
            audited = self._audit_orphans(s, worker=worker, now=now)
            if not self.db.is_sqlite:
                return audited, 0
            res = s.execute(update(_T).where(_C.status == "sending").values(
                status="pending", claimed_by=None, claimed_until=None))
            return audited, _rowcount(res)

        audited, returned = self.db.run(recover)
        if audited:
            log.warning("audited %d send(s) a stopped dispatcher had not audited", audited)
        return returned

    def _audit_orphans(self, s: Session, *, worker: str, now: datetime) -> int:
        stmt = select(*_ITEM_COLUMNS, _C.claimed_by, _C.sent_at).where(
            _C.status == "sent", _C.claimed_by.is_not(None)).order_by(_C.id)
        if not self.db.is_sqlite:  # only leases that ran out: a live owner audits its own
            stmt = stmt.where(_C.claimed_until < now).with_for_update(skip_locked=True)
        rows = s.execute(stmt).all()
        if not rows:
            return 0
        s.execute(update(_T).where(_C.id.in_([r.id for r in rows])).values(
            claimed_by=None, claimed_until=None))
        # ``attempts`` was already counted when "sent" was recorded.
        trail.append_many(s, [_sent_event(
            replace(_item(r), attempts=r.attempts - 1), worker=r.claimed_by, now=now, by=self.by,
            sent_at=r.sent_at.isoformat(), recovered_by=worker) for r in rows])
        return len(rows)

    def claim(self, *, worker: str, now: datetime, limit: int,
              lease: timedelta) -> list[OutboxItem]:
        """One statement: lease up to ``limit`` due messages, oldest first."""
        due = or_(and_(_C.status == "pending", _C.next_attempt_at <= now),
                  and_(_C.status == "sending", _C.claimed_until < now))
        pick = select(_C.id).where(due).order_by(_C.id).limit(limit)
        if not self.db.is_sqlite:
            # Several dispatchers: each skips rows another has locked. SQLite has no
            # FOR UPDATE and SQLAlchemy silently drops ``with_for_update()`` there, so
            # SQLite relies on its single writer instead.
            pick = pick.with_for_update(skip_locked=True)
        stmt = update(_T).where(_C.id.in_(pick.scalar_subquery())).values(
            status="sending", claimed_by=worker, claimed_until=now + lease,
        ).returning(*_ITEM_COLUMNS)

        def claim(s: Session) -> tuple[list[OutboxItem], dict[int, str]]:
            rows = list(s.execute(stmt))
            refused = {**already_sent(s, rows), **tampered(s, rows)}
            items, unfilled = _deliverable([r for r in rows if r.id not in refused],
                                           s.info.get(KEYRING_KEY), self.db.audit_key_file)
            items += [_item(r) for r in rows if r.id in refused]
            return sorted(items, key=lambda i: i.id), {**unfilled, **refused}

        items, refused = self.db.run(claim)
        for item in items:
            if item.id in refused:  # never sent: dead, the admins told why
                log.error("outbox %s %s", item.id, refused[item.id])
                self.mark_dead(item, worker=worker, now=now, error=refused[item.id])
                self.refused[item.id] = refused[item.id]
        return [i for i in items if i.id not in refused]

    def record_sent(self, item: OutboxItem, *, worker: str, now: datetime) -> bool:
        """Commit "sent" for one message; ``claimed_by`` stays set until it is audited."""
        if self._writer is None:
            self._writer = _SentWriter(self.db)
        return self._writer.mark(item, worker, now)

    def audit_sent(self, items: Sequence[OutboxItem], *, worker: str, now: datetime,
                   duplicates: Sequence[OutboxItem] = ()) -> None:
        """One transaction: release the audit marker of ``items`` still holding ours and
        write their MAIL_SENT events (and one per duplicate send)."""

        def audit_sent(s: Session) -> None:
            mine = set(s.scalars(update(_T).where(
                _C.id.in_([i.id for i in items]), _C.status == "sent",
                _C.claimed_by == worker).values(claimed_by=None, claimed_until=None
                                                ).returning(_C.id))) if items else set()
            events = [_sent_event(i, worker=worker, now=now, by=self.by)
                      for i in items if i.id in mine]
            events += [_sent_event(i, worker=worker, now=now, by=self.by, duplicate=True)
                       for i in duplicates]
            trail.append_many(s, events)

        self.db.run(audit_sent)


    def _finish(self, s: Session, item: OutboxItem, **values: Any) -> bool:
        res = s.execute(update(_T).where(_C.id == item.id, _C.status == "sending").values(
            attempts=item.attempts + 1, claimed_by=None, claimed_until=None, **values))
        return bool(_rowcount(res))

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


    def release(self, items: Sequence[OutboxItem], *, worker: str) -> None:
        self.db.run(lambda s: s.execute(update(_T).where(
            _C.id.in_([i.id for i in items]), _C.claimed_by == worker,
            _C.status == "sending").values(status="pending", claimed_by=None,
                                           claimed_until=None)))

    def close(self) -> None:
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.close()


def _item(row: Any) -> OutboxItem:
    return OutboxItem(id=row.id, kind=row.kind, mail=mail_of(row), attempts=row.attempts,
                      response_id=row.response_id)


def _deliverable(rows: Sequence[Any], ring: audit_key.Keyring | None,
                 key_file: Any) -> tuple[list[OutboxItem], dict[int, str]]:
    """The claimed rows as their readers get them, each link placeholder filled in with its
    token (``workflow.keys.link_tokens``), and the rows whose link cannot be (why). A key
    the cached keyring lacks (rotated since this process read it) is read afresh."""
    needed = {k for r in rows for k in link_tokens.key_ids(f"{r.body_text}\n{r.body_html}")}
    if needed and key_file is not None and (ring is None or not needed <= ring.keys.keys()):
        try:
            ring = audit_key.load(key_file)
        except audit_key.AuditKeyError as exc:
            log.error("cannot fill in personal links: %s", exc)
    items, refused = [], {}
    for r in rows:
        item = _item(r)
        try:
            mail = replace(item.mail, body_text=link_tokens.fill(r.body_text, ring, r.dedupe_key),
                           body_html=r.body_html and link_tokens.fill(r.body_html, ring,
                                                                    r.dedupe_key))
        except link_tokens.LinkKeyError as exc:
            refused[r.id] = f"refused: {exc}"
            items.append(item)
            continue
        items.append(replace(item, mail=mail))
    return items, refused
