"""The outbox store and the delivery loop: crash windows, audit exactly once, stopping."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from smtp_server import ADMIN, Server, add_people, transition_event
from sqlalchemy import select

from workflow.audit import trail
from workflow.audit.words import Action
from workflow.core.settings import Settings
from workflow.mail import delivery, outbox_admin
from workflow.mail import outbox as mail
from workflow.storage.db import Database
from workflow.storage.models import AuditEvent, OutboxMessage

NOW = datetime(2024, 11, 22, 10, 0, tzinfo=UTC)
LEASE = timedelta(minutes=10)


class MovableClock:
    """A real clock the test moves by hand (delivery due times depend on it)."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


def seed(db: Database, settings: Settings, n: int, at: datetime = NOW, *,
         people: bool = True) -> list[int]:
    """Queue ``n`` test messages due at ``at`` (adding the people first if asked)."""
    with db.write() as s:
        if people:
            add_people(s, NOW)
        event = transition_event(s, at, type("R", (), {"id": None})(), "seed")
        rows = mail.queue_messages(
            s, settings=settings, now=at, kind="mail_test", event=event, response_id=None,
            actor=ADMIN, recipients=[mail.Recipient(f"r{i}", f"r{i}.{at:%H%M}@x.example")
                                     for i in range(n)],
            context={"opcc_name": "OPCC", "response_id": None, "actor": "t", "transport": "x"})
        return [r.id or 0 for r in rows]


def sent_events(db: Database) -> Counter[int]:
    """How many MAIL_SENT events name each outbox id."""
    with db.read() as s:
        payloads = s.scalars(select(AuditEvent.payload).where(
            AuditEvent.action == Action.MAIL_SENT.value))
        return Counter(json.loads(p)["outbox"] for p in payloads)


def test_recorded_but_unaudited_sends_are_audited_once_by_the_next_run(
        db: Database, settings: Settings) -> None:
    """A dispatcher that recorded sends and died before auditing them leaves them "sent";
    the next run's recover writes one MAIL_SENT event each (naming the original worker),
    never sends them again, and a late audit by the dead worker adds nothing."""
    ids = seed(db, settings, 3)
    store = delivery.SqlOutboxStore(db, settings)
    items = store.claim(worker="dead", now=NOW, limit=10, lease=LEASE)
    assert [i.id for i in items] == ids
    try:
        assert all(store.record_sent(i, worker="dead", now=NOW) for i in items[:2])
    finally:
        store.close()
    assert sent_events(db) == Counter()  # the crash window: recorded, not audited

    later = NOW + LEASE + timedelta(minutes=1)  # PostgreSQL recovers only expired leases
    again = delivery.SqlOutboxStore(db, settings)
    again.recover(worker="heir", now=later)
    again.audit_sent(items[:2], worker="dead", now=later)  # the dead one, too late
    assert sent_events(db) == Counter({ids[0]: 1, ids[1]: 1})
    with db.read() as s:
        payload = json.loads(s.scalars(select(AuditEvent.payload).where(
            AuditEvent.action == Action.MAIL_SENT.value)).first() or "{}")
        status = {i: st for i, st in s.execute(select(OutboxMessage.id, OutboxMessage.status))}
    assert (payload["worker"], payload["recovered_by"], payload["attempt"]) == ("dead", "heir", 1)
    # Only the unrecorded one may go again; the recorded ones are never claimed again.
    assert [i.id for i in again.claim(worker="heir", now=later, limit=10, lease=LEASE)] == [ids[2]]
    assert (status[ids[0]], status[ids[1]]) == ("sent", "sent")
    assert trail.verify(db).ok


@pytest.mark.parametrize("db_url", [pytest.param("postgresql", marks=pytest.mark.postgresql)],
                         indirect=True)  # the case is PostgreSQL's own
def test_live_owner_audits_its_own_sends_before_the_lease_ends(db: Database,
                                                               settings: Settings) -> None:
    """While a lease runs, another dispatcher's recover leaves the owner's unaudited sends
    alone (PostgreSQL); the owner then audits each once."""
    ids = seed(db, settings, 2)
    owner, other = delivery.SqlOutboxStore(db, settings), delivery.SqlOutboxStore(db, settings)
    items = owner.claim(worker="owner", now=NOW, limit=10, lease=LEASE)
    try:
        for item in items:
            owner.record_sent(item, worker="owner", now=NOW)
    finally:
        owner.close()
    other.recover(worker="other", now=NOW + timedelta(minutes=1))
    assert sent_events(db) == Counter()
    owner.audit_sent(items, worker="owner", now=NOW + timedelta(minutes=2))
    assert sent_events(db) == Counter({i: 1 for i in ids})


async def _until(condition: Callable[[], bool], what: str, limit: float = 20.0) -> None:
    """Short real polling for something another thread does (never for time passing)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def _smtp(settings: Settings, server: Server) -> Settings:
    return settings.model_copy(update={"smtp_host": server.host, "smtp_port": server.port,
                                       "smtp_security": "none", "smtp_timeout": 5.0,
                                       "mail_batch_size": 2})


def test_run_dispatcher_delivers_as_mail_arrives_and_falls_due(
        db: Database, settings: Settings, smtp_server: Server) -> None:
    """The loop delivers what was queued before it started (several batches), mail queued
    while it runs, and mail that only falls due once the clock moves; each exactly once."""
    cfg, clock = _smtp(settings, smtp_server), MovableClock(NOW)
    first = seed(db, settings, 5)
    received = smtp_server.handler.message_ids

    async def scenario() -> int:
        stop = asyncio.Event()
        task = asyncio.create_task(delivery.run_dispatcher(db, cfg, clock, stop,
                                                         poll_seconds=0.02))
        await _until(lambda: len(received()) == len(first), "the first five")
        seed(db, settings, 1, people=False)  # queued while the loop runs
        await _until(lambda: len(received()) == len(first) + 1, "the sixth")
        seed(db, settings, 2, at=NOW + timedelta(hours=1), people=False)  # not due yet
        assert outbox_admin.due_count(db, clock) == 0
        clock.at = NOW + timedelta(hours=1)
        await _until(lambda: len(received()) == len(first) + 3, "the later two")
        stop.set()
        return await asyncio.wait_for(task, timeout=5)

    assert asyncio.run(scenario()) == 8
    ids = Counter(received())
    assert len(ids) == 8
    assert max(ids.values()) == 1
    assert sent_events(db) == Counter({i: 1 for i in range(1, 9)})
    assert trail.verify(db).ok


def test_run_dispatcher_stops_promptly_mid_wait(db: Database, settings: Settings,
                                                smtp_server: Server) -> None:
    """Asked to stop during an hour-long poll wait, the loop returns at once."""
    cfg = _smtp(settings, smtp_server)

    async def scenario() -> float:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        task = asyncio.create_task(delivery.run_dispatcher(db, cfg, MovableClock(NOW), stop,
                                                         poll_seconds=3600))
        await asyncio.sleep(0.2)  # let the first (empty) pass finish and the wait begin
        asked = loop.time()
        stop.set()
        await asyncio.wait_for(task, timeout=5)
        return loop.time() - asked

    assert asyncio.run(scenario()) < 1.0


def test_run_dispatcher_keeps_going_when_the_server_is_down(db: Database,
                                                            settings: Settings) -> None:
    """A refused connection is logged and retried on the next pass; nothing is lost and the
    loop still stops when asked."""
    seed(db, settings, 1)
    cfg = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": 9,
                                      "smtp_security": "none", "smtp_timeout": 1.0})

    async def scenario() -> int:
        stop = asyncio.Event()
        task = asyncio.create_task(delivery.run_dispatcher(db, cfg, MovableClock(NOW), stop,
                                                         poll_seconds=0.02))
        await asyncio.sleep(0.2)
        stop.set()
        return await asyncio.wait_for(task, timeout=5)

    assert asyncio.run(scenario()) == 0
    assert outbox_admin.outbox_counts(db)["pending"] == 1
