"""Reply-To: replies reach a person (``S55_MAIL_REPLY_TO``, else the first admin).

Delivered through a real aiosmtpd server; the header is read from what the server got.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from smtp_server import Server, add_people, transition_event
from sqlalchemy import select
from typer.testing import CliRunner

from notifications.errors import HeaderInjectionError
from notifications.message import Mail, message_bytes
from tests.factories import norfolk_report, snapshot
from workflow.cli import app
from workflow.core.clock import FixedClock
from workflow.core.settings import Settings
from workflow.mail import delivery, digest
from workflow.mail import outbox as mail
from workflow.responses import content
from workflow.responses.service import Workflow
from workflow.storage.db import Database
from workflow.storage.models import OutboxMessage

NOW = datetime(2024, 10, 14, 9, 0, tzinfo=UTC)
LATER = FixedClock(datetime(2025, 1, 1, tzinfo=UTC))
FORCE = "liaison@norfolk.police.uk"
BEA = "bea.admin@norfolk-pcc.gov.uk"  # the admin with the lowest id
ABE = "abe.admin@norfolk-pcc.gov.uk"  # an admin added later (first by name and address)
#: A force liaison first, so the lowest-id admin is not simply the first person.
PEOPLE = [("Force Liaison", FORCE, ["force"]), ("Bea Admin", BEA, ["admin"]),
          ("Abe Admin", ABE, ["admin"])]


def smtp(settings: Settings, server: Server, **more: object) -> Settings:
    return settings.model_copy(update={"smtp_host": server.host, "smtp_port": server.port,
                                       "smtp_security": "none", "smtp_timeout": 5.0, **more})


def request_force_input(db: Database, settings: Settings) -> None:
    """The Norfolk report registered by Bea, and the force asked for its comments."""
    with db.write() as s:
        add_people(s, NOW, PEOPLE)
    wf = Workflow(db, settings)
    with time_machine.travel(NOW, tick=False):
        rid = content.add_report(wf, norfolk_report(), BEA).id or 0
        wf.fire(rid, "request_force_input", BEA)


def test_replies_reach_the_admin_with_the_lowest_id(db: Database, settings: Settings,
                                                    smtp_server: Server) -> None:
    """Unset, the Reply-To is the admin with the lowest id when the mail was queued; the
    body names that person as the one a reply reaches."""
    request_force_input(db, settings)
    report = delivery.deliver_pending(db, smtp(settings, smtp_server), LATER)
    assert (report.sent, report.error) == (1, None)
    (got,) = smtp_server.handler.received
    assert got.recipients == [FORCE]
    assert got.message["Reply-To"] == BEA
    text = got.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f"Your reply goes to Bea Admin ({BEA}), who records it in s55." in text


def test_configured_reply_to_is_used(db: Database, settings: Settings,
                                     smtp_server: Server) -> None:
    """``S55_MAIL_REPLY_TO`` replaces the first admin (a shared mailbox needs no person)."""
    request_force_input(db, settings.model_copy(
        update={"mail_reply_to": "s55-replies@norfolk-pcc.gov.uk"}))
    delivery.deliver_pending(db, smtp(settings, smtp_server), LATER)
    (got,) = smtp_server.handler.received
    assert got.message["Reply-To"] == "s55-replies@norfolk-pcc.gov.uk"
    text = got.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Your reply goes to s55-replies@norfolk-pcc.gov.uk, who records it in s55." in text


def test_the_message_sent_is_the_one_queued(db: Database, settings: Settings,
                                            smtp_server: Server) -> None:
    """The Reply-To is stored with the outbox row: changing the setting after queueing
    does not change the message that goes out."""
    request_force_input(db, settings)
    with db.read() as s:
        (row,) = s.scalars(select(OutboxMessage)).all()
    assert row.reply_to == BEA
    delivery.deliver_pending(db, smtp(settings, smtp_server,
                                    mail_reply_to="someone-else@norfolk-pcc.gov.uk"), LATER)
    (got,) = smtp_server.handler.received
    assert got.message["Reply-To"] == BEA


def test_alerts_carry_the_reply_to_too(db: Database, settings: Settings) -> None:
    """Escalations and admin alerts (queue_alert) are queued with the same Reply-To."""
    with db.write() as s:
        add_people(s, NOW, PEOPLE)
        event = transition_event(s, NOW, type("R", (), {"id": None})(), "x")
        rows = mail.queue_alert(s, settings=settings, now=NOW, kind="mail_dead",
                                roles=["admin"], event=event, actor="s55", context={
                                    "outbox_id": 1, "dead_recipient": "z@x.example",
                                    "dead_subject": "S", "attempts": 8, "error": "550"})
    assert [(r.recipient, r.reply_to) for r in rows] == [(BEA, BEA), (ABE, BEA)]


def test_no_admin_and_no_setting_means_no_reply_to(db: Database, settings: Settings) -> None:
    """With nobody to reach, a message carries no Reply-To rather than a made-up one."""
    with db.write() as s:
        add_people(s, NOW, [("Force Liaison", FORCE, ["force"])])
        event = transition_event(s, NOW, type("R", (), {"id": None})(), "x")
        (row,) = mail.queue_messages(
            s, settings=settings, now=NOW, kind="mail_test", event=event, response_id=None,
            actor="s55", recipients=[mail.Recipient("Force Liaison", FORCE)],
            context={"opcc_name": "OPCC", "response_id": None, "actor": "t", "transport": "x"})
    assert row.reply_to is None
    assert b"Reply-To" not in message_bytes(digest.mail_of(row))


def test_reply_to_cannot_inject_headers() -> None:
    """A Reply-To with CR/LF (or more than one plain address) never reaches the wire."""
    for bad in ("a@b.example\r\nBcc: all@x.example", "Ann <a@b.example>",
                "a@b.example, c@d.example"):
        with pytest.raises(HeaderInjectionError, match="Reply-To"):
            message_bytes(Mail("s55@opcc.example", "x@y.example", "S", "t", "<p>h</p>", "<i@d>",
                               NOW, reply_to=bad))


@pytest.mark.parametrize(("value", "line"), [
    ("ann@opcc.example\r\nBcc: all@x.example",
     "Error: settings do not load: S55_MAIL_REPLY_TO: 'ann@opcc.example\\r\\nBcc: "
     "all@x.example' is not one plain address local@domain"),
    ("Ann Admin <ann@opcc.example>",
     "Error: settings do not load: S55_MAIL_REPLY_TO: 'Ann Admin <ann@opcc.example>' is not "
     "one plain address local@domain"),
    ("ann@opcc.example, bob@opcc.example",
     "Error: settings do not load: S55_MAIL_REPLY_TO: 'ann@opcc.example, bob@opcc.example' is "
     "not one plain address local@domain"),
    ("", "Error: settings do not load: S55_MAIL_REPLY_TO: '' is not one plain address "
     "local@domain"),
])
def test_bad_setting_is_one_line(db: Database, db_url: str, settings: Settings, value: str,
                                 line: str) -> None:
    """A bad ``S55_MAIL_REPLY_TO``: exit 1, one line naming it, nothing changed."""
    with db.write() as s:
        add_people(s, NOW, PEOPLE)
    wf = Workflow(db, settings)
    with time_machine.travel(NOW, tick=False):
        content.add_report(wf, norfolk_report(), BEA)
    before = snapshot(wf)
    result = CliRunner().invoke(app, ["request-force-input", "1"], env={
        "S55_DATABASE_URL": db_url, "S55_ACTOR": BEA, "S55_MAIL_REPLY_TO": value})
    assert result.exit_code == 1
    assert result.stderr.strip() == line
    assert snapshot(wf) == before
