"""Mail bound into the chain: a pending outbox row whose recipient or body was
changed behind s55's back is never sent: it goes dead with the admins alerted, and
``s55 audit verify`` names it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text

from tests.factories import ADMIN, FORCE, norfolk
from workflow.assurance import replay
from workflow.core.clock import SystemClock
from workflow.core.settings import Settings
from workflow.mail import delivery
from workflow.responses.service import Workflow
from workflow.storage.db import Database
from workflow.storage.models import OutboxMessage


def test_an_altered_pending_message_is_refused_and_reported(db: Database, settings: Settings,
                                                            smtp_server: Any) -> None:
    wf = Workflow(db, settings)
    rid = norfolk(wf)
    wf.fire(rid, "request_force_input", ADMIN)
    with db.read() as s:
        row = s.scalars(select(OutboxMessage).where(OutboxMessage.recipient == FORCE)).one()  # type: ignore[arg-type]
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE outbox SET recipient = 'attacker@evil.example', "
                          "body_text = 'Pay the invoice here' WHERE id = :i"), {"i": row.id})
    assert replay.verify(db)[0].describe() == (
        f"response {rid}: outbox {row.id}: recipient, subject or body differ from what event "
        f"#{row.queued_event_id} queued (changed behind s55's back)")
    smtp = settings.model_copy(update={"smtp_host": smtp_server.host, "smtp_port":
                                       smtp_server.port, "smtp_security": "none"})
    report = delivery.deliver_pending(db, smtp, SystemClock())
    assert report.error is None
    delivery.deliver_pending(db, smtp, SystemClock())  # the admins' alert goes next
    delivered = [r for got in smtp_server.handler.received for r in got.recipients]
    assert "attacker@evil.example" not in delivered
    assert delivered == [ADMIN]
    with db.read() as s:
        refused = s.get(OutboxMessage, row.id)
        alerts = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "mail_dead")).all()
    assert refused is not None
    assert (refused.status, refused.last_error) == (
        "dead", f"refused: recipient, subject or body differ from what event "
                f"#{row.queued_event_id} queued (changed behind s55's back)")
    assert [a.recipient for a in alerts] == [ADMIN]


def test_untouched_mail_is_sent_and_verifies(db: Database, settings: Settings) -> None:
    wf = Workflow(db, settings)
    rid = norfolk(wf)
    wf.fire(rid, "request_force_input", ADMIN)
    report = delivery.deliver_pending(db, settings, SystemClock())
    assert report.error is None
    assert report.sent >= 1
    assert replay.verify(db) == []
