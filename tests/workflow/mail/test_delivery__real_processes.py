"""Real dispatcher processes: killed mid-batch and restarted; two at once on PostgreSQL.

The claim in both: every queued message reaches the SMTP server exactly once, counted
by Message-ID on the receiving side.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from smtp_server import ADMIN, Server, add_people, transition_event
from sqlalchemy import select

from workflow.audit import trail
from workflow.audit.words import Action
from workflow.core.settings import Settings
from workflow.mail import outbox as mail
from workflow.storage.db import Database
from workflow.storage.models import AuditEvent, OutboxMessage

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2024, 11, 22, 10, 0, tzinfo=UTC)

WORKER = """
import sys
from datetime import datetime
from workflow.mail import delivery
from workflow.core.clock import FixedClock
from workflow.core.settings import Settings
from workflow.storage.db import Database

settings = Settings()  # S55_* from the environment, as the CLI would
db = Database(settings.database_url)
report = delivery.deliver_pending(db, settings, FixedClock(datetime.fromisoformat(sys.argv[1])),
                              worker=sys.argv[2])
print(report.sent, report.error)
"""


def seed(db: Database, settings: Settings, n: int) -> set[str]:
    with db.write() as s:
        add_people(s, NOW)
        event = transition_event(s, NOW, type("R", (), {"id": None})(), "seed")
        rows = mail.queue_messages(
            s, settings=settings, now=NOW, kind="mail_test", event=event, response_id=None,
            actor=ADMIN, context={"opcc_name": "OPCC", "response_id": None, "actor": "t",
                                  "transport": "x"},
            recipients=[mail.Recipient(f"r{i}", f"r{i}@x.example") for i in range(n)])
        return {r.message_id for r in rows}


def spawn(db_url: str, server: Server, at: datetime, worker: str,
          batch: int) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "S55_DATABASE_URL": db_url,
           "S55_SMTP_HOST": server.host, "S55_SMTP_PORT": str(server.port),
           "S55_SMTP_SECURITY": "none", "S55_MAIL_BATCH_SIZE": str(batch)}
    return subprocess.Popen([sys.executable, "-c", WORKER, at.isoformat(), worker], env=env,
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def statuses(db: Database) -> Counter[str]:
    with db.read() as s:
        return Counter(s.scalars(select(OutboxMessage.status)))


def test_killed_mid_batch_then_restarted(db: Database, db_url: str, settings: Settings,
                                         smtp_server: Server) -> None:
    """A dispatcher SIGKILLed while the server holds message 23 (unacknowledged) has
    recorded the 22 before it; a restart delivers the rest: no loss, no duplicate, and
    every send audited exactly once (the 22 by the restart's recovery)."""
    expected = seed(db, settings, 60)
    kill_at = 23
    proc: list[subprocess.Popen[str]] = []

    def on_data(n: int) -> str | None:
        if n == kill_at:
            os.kill(proc[0].pid, signal.SIGKILL)
            return "451 4.3.0 the client is gone anyway"
        return None

    smtp_server.handler.on_data = on_data
    proc.append(spawn(db_url, smtp_server, NOW, "first", batch=25))
    proc[0].communicate(timeout=120)
    assert proc[0].returncode == -signal.SIGKILL
    assert len(smtp_server.handler.received) == kill_at - 1
    assert statuses(db)["sent"] == kill_at - 1  # "sent" committed before the next DATA

    smtp_server.handler.on_data = None
    # Past the first one's lease (10 min): PostgreSQL reclaims its claims by expiry;
    # on SQLite the lock file proves the first is gone and its claims are recovered.
    second = spawn(db_url, smtp_server, NOW + timedelta(minutes=11), "second", batch=25)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    ids = Counter(smtp_server.handler.message_ids())
    assert set(ids) == expected
    assert max(ids.values()) == 1
    assert statuses(db) == Counter({"sent": 60})
    assert trail.verify(db).ok
    assert sent_events(db) == Counter({i: 1 for i in range(1, 61)})


def sent_events(db: Database) -> Counter[int]:
    """How many MAIL_SENT events name each outbox id."""
    with db.read() as s:
        return Counter(json.loads(p)["outbox"] for p in s.scalars(
            select(AuditEvent.payload).where(AuditEvent.action == Action.MAIL_SENT.value)))


@pytest.mark.parametrize("db_url", [pytest.param("postgresql", marks=pytest.mark.postgresql)],
                         indirect=True)  # the case is PostgreSQL's own
def test_two_dispatchers_on_postgresql_never_double_send(db: Database, db_url: str,
                                                         settings: Settings,
                                                         smtp_server: Server) -> None:
    """Two dispatcher processes against one PostgreSQL outbox (SKIP LOCKED claims) deliver
    every message exactly once between them."""
    expected = seed(db, settings, 300)
    procs = [spawn(db_url, smtp_server, NOW, f"w{i}", batch=10) for i in range(2)]
    for p in procs:
        _out, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
    ids = Counter(smtp_server.handler.message_ids())
    assert set(ids) == expected
    assert max(ids.values()) == 1
    assert statuses(db) == Counter({"sent": 300})
    assert trail.verify(db).ok
    assert sent_events(db) == Counter({i: 1 for i in range(1, 301)})
    with db.read() as s:
        workers = Counter(json.loads(p)["worker"] for p in s.scalars(
            select(AuditEvent.payload).where(AuditEvent.action == Action.MAIL_SENT.value)))
    # Both really worked the same outbox at once (else the claim above would be vacuous).
    assert len(workers) == 2, dict(workers)
