"""A sent message is never sent again, whatever its status column says: the ``mail_sent``
event decides. A row set back to ``pending`` by SQL is refused by the dispatcher (nothing
reaches the SMTP server, the row is dead saying why, the admins are told) and named by
``s55 audit verify``, as is a row marked ``sent`` by SQL that no event sent. Through a real
SMTP server, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from audit_support import verify
from link_support import _during  # noqa: F401 - autouse: officers work in October 2024
from smtp_server import Server
from sqlalchemy import select, text
from typer.testing import CliRunner

from tests.factories import ADMIN, FORCE, norfolk, snapshot
from workflow.audit import trail
from workflow.cli import app
from workflow.core.clock import FixedClock
from workflow.core.settings import Settings
from workflow.mail import delivery
from workflow.responses.service import Workflow
from workflow.storage.db import Database
from workflow.storage.models import OutboxMessage

LATER = FixedClock(datetime(2024, 10, 14, 12, 0, tzinfo=UTC))


def smtp(settings: Settings, server: Server) -> Settings:
    return settings.model_copy(update={"smtp_host": server.host, "smtp_port": server.port,
                                       "smtp_security": "none", "smtp_timeout": 5.0})


def the_liaisons_mail(db: Database) -> OutboxMessage:
    with db.read() as s:
        return s.scalars(select(OutboxMessage).where(OutboxMessage.recipient == FORCE)).one()


@pytest.fixture
def sent(db: Database, settings: Settings, smtp_server: Server) -> Workflow:
    """The force liaison's request went out once, through the SMTP server."""
    wf = Workflow(db, settings)
    wf.fire(norfolk(wf), "request_force_input", ADMIN)
    report = delivery.deliver_pending(db, smtp(settings, smtp_server), LATER)
    assert (report.sent, report.error) == (1, None)
    assert the_liaisons_mail(db).status == "sent"
    return wf


def test_a_sent_row_set_back_to_pending_is_refused_and_named(
        sent: Workflow, smtp_server: Server) -> None:
    db = sent.db
    row = the_liaisons_mail(db)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE outbox SET status = 'pending', attempts = 0, sent_at = NULL "
                          "WHERE id = :i"), {"i": row.id})
        sent_by = conn.execute(text("SELECT id FROM audit_event WHERE action = 'mail_sent' "
                                    "AND payload LIKE :p"), {"p": f'%"outbox":{row.id},%'}
                               ).scalar()
    named = (f"Error: outbox {row.id}: status is 'pending' in the row, but event #{sent_by} "
             "sent it: it must never be sent again")
    found = verify(db)
    assert found.exit_code == 1
    assert named in found.stderr
    before = [r.recipients for r in smtp_server.handler.received]
    delivery.deliver_pending(db, smtp(sent.settings, smtp_server), LATER)
    delivery.deliver_pending(db, smtp(sent.settings, smtp_server), LATER)  # the admins' alert
    to_liaison = [r for r in smtp_server.handler.received if r.recipients == [FORCE]]
    assert len(to_liaison) == 1  # the one sending, never a second
    after = the_liaisons_mail(db)
    assert after.status == "dead"
    assert after.last_error == (f"refused: event #{sent_by} recorded this message as sent "
                                "already (its status was set back behind s55's back)")
    [alert] = [r for r in smtp_server.handler.received[len(before):]
               if r.recipients == [ADMIN]]
    told = alert.message.get_body(("plain",)).get_content()  # type: ignore[attr-defined]
    assert "recorded this message as sent already" in told
    assert trail.verify(db).ok
    assert named.replace("'pending'", "'dead'") in verify(db).stderr
    before_retry = snapshot(sent)
    retried = CliRunner().invoke(app, ["outbox", "retry", str(row.id)], env={
        "S55_DATABASE_URL": db.url, "S55_IDENTITY": "claimed", "S55_ACTOR": ADMIN})
    assert (retried.exit_code, retried.stderr) == (1, (
        f"Error: cannot retry outbox message {row.id} while it is sent already (event "
        f"#{sent_by})\n"))
    assert snapshot(sent) == before_retry


def test_a_row_marked_sent_by_sql_is_named(db: Database, settings: Settings) -> None:
    """A message suppressed by setting its status to ``sent``: no event sent it."""
    wf = Workflow(db, settings)
    wf.fire(norfolk(wf), "request_force_input", ADMIN)
    row = the_liaisons_mail(db)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE outbox SET status = 'sent' WHERE id = :i"), {"i": row.id})
    found = verify(db)
    assert found.exit_code == 1
    assert f"Error: outbox {row.id}: status is 'sent' in the row, but no event sent it" in \
        found.stderr
