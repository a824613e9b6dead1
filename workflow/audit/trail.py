"""The audit log: append-only events chained by SHA-256, and its verification.

Each event's hash covers the previous event's hash and every field of the event, so
an edited, deleted, inserted or reordered row breaks the chain from that point on.
Appends are serialised (a PostgreSQL advisory lock; SQLite's ``BEGIN IMMEDIATE``
already holds the write lock) so concurrent writers never fork the chain. The
database refuses UPDATE and DELETE outright (triggers in the initial migration).
"""

from __future__ import annotations

import hashlib
import json
import socket
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import BindParameter, bindparam, func, insert, null, select, text
from sqlalchemy import event as sa_event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlmodel import col

from workflow.audit.words import Action, Channel, Identity
from workflow.core.characters import check_visible
from workflow.core.limits import check_length
from workflow.core.os_account import os_account
from workflow.storage.db import KEYRING_KEY, RETRY_ATTEMPTS, XID_KEY, Database, backoff

if TYPE_CHECKING:
    from workflow.keys.audit_key import Keyring
from workflow.storage.models import AuditEvent
from workflow.storage.rows import built
from workflow.storage.tables import AUDIT_EVENT

GENESIS = "0" * 64
#: Arbitrary but fixed key for the chain's advisory lock ("s55" on a phone keypad).
_CHAIN_LOCK_KEY = 755
_SEP = "\x1f"  # ASCII unit separator: cannot be typed into a field by accident
_HEAD_KEY = "s55_audit_head"


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_head(session: Session, transaction: Any) -> None:
    # The cached head (and the id) are only valid inside the transaction that holds
    # the chain lock.
    if transaction.parent is None:
        session.info.pop(_HEAD_KEY, None)
        session.info.pop(XID_KEY, None)


@dataclass(frozen=True)
class Provenance:
    """Where an event came from: the channel, the operating-system account and host that
    wrote it, how the actor is known, and whom the actor acted for (if anyone)."""

    channel: str
    account: str
    host: str
    identity: str = Identity.SYSTEM
    on_behalf_of: str | None = None
    #: The personal link that authorised a web act: its id goes into the event's payload
    #: (``"link"``), inside the hash and the signature.
    link: int | None = None

    @classmethod
    def here(cls, channel: Channel | str, identity: Identity | str = Identity.SYSTEM
             ) -> Provenance:
        """This process, acting through ``channel``."""
        return cls(str(channel), os_account(), socket.gethostname(), str(identity))

    def known_as(self, identity: Identity | str) -> Provenance:
        return replace(self, identity=str(identity))

    def acting_for(self, email: str | None) -> Provenance:
        return replace(self, on_behalf_of=email)

    def through_link(self, link_id: int | None) -> Provenance:
        return replace(self, link=link_id)

    @classmethod
    def of(cls, event: AuditEvent) -> Provenance:
        """The provenance an appended event was written with."""
        return cls(event.channel or "", event.account or "", event.host or "",
                   event.identity or Identity.SYSTEM, event.on_behalf_of)


def canonical_payload(payload: Mapping[str, Any] | None) -> str:
    """The one JSON text a payload is stored and hashed as."""
    return json.dumps(payload or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)


def _at_text(at: datetime) -> str:
    return at.isoformat(timespec="microseconds")


def chain_hash(prev_hash: str, fields: tuple[Any, ...]) -> str:
    """SHA-256 over the previous hash and the event's fields, in column order."""
    parts = [prev_hash, *("" if f is None else str(f) for f in fields)]
    return hashlib.sha256(_SEP.join(parts).encode()).hexdigest()


def _row(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The stored columns of an event, before it is chained (``append``'s keywords)."""
    by: Provenance = spec["by"]
    payload = spec.get("payload")
    if by.link is not None:
        payload = {**(payload or {}), "link": by.link}
    return {"response_id": spec.get("response_id"), "at": spec["at"].astimezone(UTC),
            "actor": spec["actor"], "action": str(spec["action"]), "trigger": spec.get("trigger"),
            "from_state": spec.get("from_state"), "to_state": spec.get("to_state"),
            "reason": spec.get("reason"), "payload": canonical_payload(payload),
            "channel": by.channel, "account": by.account, "host": by.host,
            "identity": str(by.identity), "on_behalf_of": by.on_behalf_of}


#: The provenance columns (migration 0003), hashed after the original nine fields.
PROVENANCE_COLUMNS = ("channel", "account", "host", "identity", "on_behalf_of")


def _chain(row: dict[str, Any], prev: str) -> str:
    """Link ``row`` after ``prev``: set its prev_hash and hash; returns the hash."""
    row["prev_hash"] = prev
    row["hash"] = chain_hash(prev, (
        row["response_id"], _at_text(row["at"]), row["actor"], row["action"], row["trigger"],
        row["from_state"], row["to_state"], row["reason"], row["payload"],
        *(row[c] for c in PROVENANCE_COLUMNS)))
    return str(row["hash"])


_TABLE: Any = AUDIT_EVENT
_HEAD = select(_TABLE.c.hash).order_by(_TABLE.c.id.desc()).limit(1)
_INSERT = insert(_TABLE).returning(_TABLE.c.id)
_LOCK = text("SELECT pg_advisory_xact_lock(:k) AS locked, txid_current() AS xid")


def _sign(session: Session, row: dict[str, Any]) -> None:
    """The HMAC of the event's hash under the audit key, when one is configured: someone
    with only database access can recompute hashes, never this."""
    ring = session.info.get(KEYRING_KEY)
    if ring is not None:
        row["key_id"], row["mac"] = ring.sign(row["hash"])


def head_locked(session: Session) -> str:
    """The chain's head, read under the chain lock (taken by the first append of a
    transaction and held until it ends, so the head stays ours)."""
    prev = session.info.get(_HEAD_KEY)
    if prev is None:
        if session.get_bind().dialect.name == "postgresql":
            # The transaction id rides along: Database.run needs it before the commit,
            # and asking here saves a round trip while the lock is held.
            session.info[XID_KEY] = session.execute(
                _LOCK, {"k": _CHAIN_LOCK_KEY}).one().xid
        prev = session.execute(_HEAD).scalar() or GENESIS
    return str(prev)


def append(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: Action | str,
    response_id: int | None = None,
    trigger: str | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str | None = None,
    payload: Mapping[str, Any] | None = None,
    by: Provenance,
) -> AuditEvent:
    """Append one event to the chain inside the caller's transaction; returns it with its id.

    ``by`` says where the event came from (channel, account, host, identity,
    on-behalf-of); it is hashed with the rest. The chain lock is held until the caller's
    transaction ends, so call this as late in the transaction as the work allows.
    """
    if reason:  # every reason s55 keeps passes here: within --help's length, all visible
        check_visible(check_length(reason, "reason", "--reason"), "--reason")
    row = _row({"response_id": response_id, "at": at, "actor": actor, "action": action,
                "trigger": trigger, "from_state": from_state, "to_state": to_state,
                "reason": reason, "payload": payload, "by": by})
    # Core statements on the session's connection: the ORM layer would cost more than
    # everything else an append does.
    head = _chain(row, head_locked(session))
    _sign(session, row)
    event_id = session.connection().execute(_INSERT, row).scalar_one()
    session.info[_HEAD_KEY] = head
    return built(AuditEvent, {**row, "id": event_id})  # the record of what was written


def append_many(session: Session, events: Sequence[Mapping[str, Any]]) -> None:
    """Append several events, in order, with one ``executemany`` INSERT.

    Each mapping holds ``append``'s keyword arguments (``by`` included). The chain is exactly what
    ``append`` called once per event would make (same lock, same hashes); this only
    saves the per-event cost (the mail dispatcher audits each group of sends this way:
    ~0.03 ms an event instead of ~0.25 ms through model objects and RETURNING).
    """
    if not events:
        return
    rows = [_row(spec) for spec in events]
    prev = head_locked(session)
    for row in rows:
        prev = _chain(row, prev)
        _sign(session, row)
    # No RETURNING: asking for the ids in order makes SQLAlchemy send one INSERT per
    # row on SQLite, which costs more than everything else here together.
    session.execute(insert(_TABLE), rows)
    session.info[_HEAD_KEY] = prev


def authentic(event: AuditEvent, ring: Keyring) -> str | None:
    """None when one stored event is as s55 wrote it: its hash recomputed from its fields
    (and the hash before it), and its HMAC under the audit key; else why not. For a single
    event a decision rests on (a link's issuing event), without walking the chain."""
    fields: tuple[Any, ...] = (
        event.response_id, _at_text(event.at.astimezone(UTC)), event.actor, event.action,
        event.trigger, event.from_state, event.to_state, event.reason, event.payload)
    if event.channel is not None:  # events before migration 0003 hashed nine fields
        fields += tuple(getattr(event, c) for c in PROVENANCE_COLUMNS)
    if chain_hash(event.prev_hash, fields) != event.hash:
        return "its content does not match its hash"
    return ring.check(event.key_id, event.hash, event.mac)


def events_for(session: Session, response_id: int) -> list[AuditEvent]:
    """Every event of one response, oldest first."""
    stmt = (select(AuditEvent).where(col(AuditEvent.response_id) == response_id)
            .order_by(col(AuditEvent.id)))
    return list(session.scalars(stmt))


@dataclass(frozen=True)
class Head:
    hash: str
    count: int
    last_id: int | None


def head(db: Database) -> Head:
    """The newest hash and the number of events (keep it outside the database)."""
    with db.read() as s:
        row = s.execute(
            select(col(AuditEvent.hash), col(AuditEvent.id))
            .order_by(col(AuditEvent.id).desc()).limit(1)
        ).first()
        count = s.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    return Head(hash=row[0] if row else GENESIS, count=count, last_id=row[1] if row else None)


@dataclass(frozen=True)
class Broken:
    event_id: int
    problem: str


@dataclass(frozen=True)
class Verification:
    count: int
    head: str
    broken: Broken | None
    head_found: bool | None  # None when no head was asked about
    signed: int | None = None  # events whose HMAC was checked; None: no key given

    @property
    def ok(self) -> bool:
        return self.broken is None and self.head_found is not False


_E = AUDIT_EVENT.c
#: What verification reads of each event, in this order (``rows`` yields the driver's
#: tuples): id, the chained fields, the provenance, the key and its HMAC.
VERIFIED_COLUMNS = (_E.id, _E.prev_hash, _E.hash, _E.response_id, _E.at, _E.actor, _E.action,
                    _E.trigger, _E.from_state, _E.to_state, _E.reason, _E.payload,
                    *(_E[c] for c in PROVENANCE_COLUMNS), _E.key_id, _E.mac)
# Written into the text: the driver's cursor gets no parameters.
_AFTER: BindParameter[int] = bindparam("after", literal_execute=True)


@lru_cache(maxsize=16)
def _verify_query(dialect: Dialect, present: frozenset[str]) -> SQLCompiler:
    """The events after ``:after`` in id order, compiled for ``dialect`` once. A database
    (or a backup) from before provenance or the keyed chain were recorded lacks their
    columns: NULL stands in for each column not ``present``."""
    columns = [c if c.name in present else null().label(c.name) for c in VERIFIED_COLUMNS]
    stmt = select(*columns).where(_E.id > _AFTER).order_by(_E.id)
    return stmt.compile(dialect=dialect)


def _at_from_sqlite(stored: str) -> str:
    # SQLAlchemy stores SQLite datetimes as naive-UTC "YYYY-MM-DD HH:MM:SS.ffffff"
    # (UTCDateTime), so the canonical ISO text is a rewrite, not a parse.
    return stored.replace(" ", "T", 1) + "+00:00"


def _at_from_aware(value: datetime) -> str:
    return _at_text(value.astimezone(UTC))


def _rows_after(db: Database, after: int, batch: int) -> Iterator[Any]:
    """The events after id ``after`` as raw driver rows, oldest first, streamed (a 2M-row
    chain never sits in memory: a server-side cursor on PostgreSQL)."""
    with db.read_engine.connect() as conn:
        present = frozenset(c["name"] for c in sa_inspect(conn).get_columns(AUDIT_EVENT.name))
        sql = _verify_query(conn.dialect, present).construct_expanded_state(
            {"after": int(after)}).statement
        if db.is_sqlite:  # the driver's cursor itself: SQLAlchemy's rows cost a third more
            driver = conn.connection.dbapi_connection
            cursor = driver.cursor()  # type: ignore[union-attr]  # SQLAlchemy: None once detached
            try:
                cursor.execute(sql)
                while chunk := cursor.fetchmany(batch):
                    yield from chunk
            finally:
                cursor.close()
            return
        yield from conn.execution_options(stream_results=True, max_row_buffer=batch) \
            .exec_driver_sql(sql)


def rows(db: Database, batch: int = 20_000, after: int = 0) -> Iterator[Any]:
    """Every event as a raw driver row (``VERIFIED_COLUMNS``), oldest first.

    A connection lost part-way (a terminated PostgreSQL backend, say) is opened again and
    the walk goes on after the last event read, as ``Database.run`` retries a transaction;
    a fault that is not transient, or one that persists, ends it as there. ``after``: start
    after the event with this id.
    """
    attempt = 0
    while True:
        try:
            for row in _rows_after(db, after, batch):
                yield row
                after = row[0]
            return
        except DBAPIError as exc:
            attempt += 1
            db.give_up_unless_transient(exc, attempt, RETRY_ATTEMPTS)
            time.sleep(backoff(attempt))


def verify(db: Database, expected_head: str | None = None, ring: Keyring | None = None,
           each: Callable[[Any], None] | None = None, *,
           after: Head | None = None) -> Verification:
    """Walk the whole chain; report the first broken link and whether ``expected_head`` is in
    it. With the audit ``ring``, every event from the key's first one must also carry a
    valid HMAC: someone with database access alone can re-hash, never re-sign. ``each``
    is given every event that verified (its raw row), in order: the replay rides along on
    the one read of the log. ``after``: walk only the events after that head, trusting it
    (its ``count`` events were verified before); the count returned includes them."""
    prev, count, found, signed = GENESIS, 0, False, 0
    if after is not None:
        prev, count = after.hash, after.count
    sha, sep = hashlib.sha256, _SEP
    at_text = _at_from_sqlite if db.is_sqlite else _at_from_aware

    def broken(event_id: int, problem: str) -> Verification:
        # With a key, how far the signatures were checked: every event before the break.
        return Verification(count, prev, Broken(event_id, problem), None,
                            signed if ring is not None else None)

    for row in rows(db, after=after.last_id or 0 if after is not None else 0):
        event_id, prev_hash, stored = row[0], row[1], row[2]
        if prev_hash != prev:
            return broken(event_id, "does not follow the event before it (an event was "
                          "removed, inserted or reordered)")
        fields = [prev, "" if row[3] is None else str(row[3]), at_text(row[4])]
        # Events written before migration 0003 carry no provenance (channel is NULL) and
        # were hashed over the first nine fields only.
        fields += ["" if f is None else f for f in row[5:12 if row[12] is None else 17]]
        if sha(sep.join(fields).encode()).hexdigest() != stored:
            return broken(event_id, "content does not match its hash (the event was altered)")
        if ring is not None and event_id >= ring.since:
            problem = ring.check(row[17], stored, row[18])
            if problem:
                return broken(event_id, f"{problem}: the event was written or re-hashed "
                              "without the audit key")
            signed += 1
        if each is not None:
            each(row)
        prev = stored
        count += 1
        if stored == expected_head:
            found = True
    return Verification(count, prev, None, found if expected_head is not None else None,
                        signed if ring is not None else None)
