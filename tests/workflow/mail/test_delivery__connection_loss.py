"""Delivery while the database connection is lost: terminated backends are retried.

Backends are terminated with ``pg_terminate_backend`` from a separate connection, and
only ours: ``application_name = 's55'`` in this test's own database (other test runs
share the server). The claim: every message reaches the SMTP server exactly once
(Message-IDs counted there), every send is audited once, and nothing raises.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from typing import Any

import psycopg
import pytest
from smtp_server import Server
from sqlalchemy import event, select, update
from sqlmodel import col

from tests.workflow.mail.test_store__crash_windows import LEASE, NOW, seed, sent_events
from workflow.audit import trail
from workflow.audit.words import Action
from workflow.core.clock import FixedClock
from workflow.core.settings import Settings
from workflow.mail import delivery
from workflow.storage.db import Database
from workflow.storage.models import AuditEvent, OutboxMessage

postgresql_only = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


class Terminator:
    """Terminates every s55 backend of one database (never another database's)."""

    def __init__(self, db: Database) -> None:
        self.url = db.url.replace("postgresql+psycopg://", "postgresql://")
        self.kills: Counter[str] = Counter()

    def __call__(self, why: str) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            # The timeout (ms) makes pg_terminate_backend wait until the backend is gone,
            # so the statement the dispatcher sends next really meets a dead connection.
            row = conn.execute(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) "
                "FROM pg_stat_activity WHERE application_name = 's55' "
                "AND datname = current_database() AND pid <> pg_backend_pid()").fetchone()
        assert row is not None
        assert row[0] > 0, f"no s55 backend to terminate at {why}"
        self.kills[why] += 1


def arm(db: Database, kill: Terminator) -> None:
    """Terminate the backends at chosen points of the dispatcher's transactions: under
    the first claim, under the first audit insert, and during the second audit's COMMIT."""
    seen: Counter[str] = Counter()
    commit_armed: list[bool] = [False]

    def before_cursor_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("UPDATE outbox SET status=") and "RETURNING" in statement:
            seen["claim"] += 1
            if seen["claim"] == 1:
                kill("claim")
        elif statement.startswith("INSERT INTO audit_event"):
            seen["audit"] += 1
            if seen["audit"] == 1:
                kill("audit insert")
            elif seen["audit"] == 2:
                commit_armed[0] = True

    def commit(conn: Any) -> None:  # runs just before the COMMIT is sent
        if commit_armed[0]:
            commit_armed[0] = False
            kill("commit")

    event.listen(db.engine, "before_cursor_execute", before_cursor_execute)
    event.listen(db.engine, "commit", commit)


@postgresql_only
@pytest.mark.postgresql
@pytest.mark.slow
def test_terminated_backends_lose_double_and_raise_nothing(
        db: Database, settings: Settings, smtp_server: Server,
        caplog: pytest.LogCaptureFixture) -> None:
    """Backends terminated under a claim, under an audit insert, during an audit's COMMIT
    and (twice, from the SMTP server mid-DATA) under the kept "sent" connection: the run
    reports every message sent and no error, each arrived exactly once, each send has
    exactly one MAIL_SENT event (no duplicates), and the audit chain verifies."""
    n = 30
    expected = seed(db, settings, n)
    with db.read() as s:
        message_ids = set(s.scalars(select(col(OutboxMessage.message_id))))
    kill = Terminator(db)
    arm(db, kill)
    smtp_server.handler.on_data = lambda i: kill(f"DATA {i}") if i in (4, 17) else None
    cfg = settings.model_copy(update={"smtp_host": smtp_server.host,
                                      "smtp_port": smtp_server.port, "smtp_security": "none",
                                      "smtp_timeout": 5.0, "mail_batch_size": 5})
    caplog.set_level(logging.INFO)

    report = delivery.deliver_pending(db, cfg, FixedClock(NOW), worker="w")

    assert kill.kills == Counter({"claim": 1, "audit insert": 1, "commit": 1,
                                  "DATA 4": 1, "DATA 17": 1})
    assert (report.sent, report.processed, report.error) == (n, n, None)
    received = Counter(smtp_server.handler.message_ids())
    assert set(received) == message_ids
    assert max(received.values()) == 1
    assert sent_events(db) == Counter({i: 1 for i in expected})
    with db.read() as s:
        payloads = [json.loads(p) for p in s.scalars(select(col(AuditEvent.payload)).where(
            col(AuditEvent.action) == Action.MAIL_SENT.value))]
        statuses = Counter(s.scalars(select(col(OutboxMessage.status))))
        unaudited = s.scalars(select(col(OutboxMessage.id)).where(
            col(OutboxMessage.claimed_by).is_not(None))).all()
    assert not [p for p in payloads if p.get("duplicate") or p.get("recovered_by")]
    assert statuses == Counter({"sent": n})
    assert unaudited == []
    assert trail.verify(db).ok
    # Not vacuous: both retry paths really ran (the transactions and the kept connection).
    messages = [r.getMessage() for r in caplog.records]
    assert sum("transient database error" in m for m in messages) >= 3
    assert sum("connection lost recording outbox" in m for m in messages) >= 2


def test_recording_a_send_again_gives_the_same_answer(db: Database, settings: Settings) -> None:
    """The "sent" statement may be run again after its connection died (the first run may
    have committed before the reply was lost): the second run still answers "ours", so
    the send is audited once, not as a duplicate; a message another worker has taken over
    still answers False."""
    ids = seed(db, settings, 2)
    store = delivery.SqlOutboxStore(db, settings)
    first, second = store.claim(worker="w", now=NOW, limit=10, lease=LEASE)
    try:
        assert store.record_sent(first, worker="w", now=NOW)
        assert store.record_sent(first, worker="w", now=NOW)  # the repeat after a loss
        with db.write() as s:  # the lease ran out and another worker took #2 over
            s.execute(update(OutboxMessage).where(col(OutboxMessage.id) == second.id)
                      .values(claimed_by="other"))
        assert not store.record_sent(second, worker="w", now=NOW)
    finally:
        store.close()
    store.audit_sent([first], worker="w", now=NOW)
    assert sent_events(db) == Counter({ids[0]: 1})
    with db.read() as s:
        row = s.get(OutboxMessage, ids[0])
        assert row is not None
        assert (row.status, row.attempts, row.claimed_by) == ("sent", 1, None)
