"""Delivery against a real aiosmtpd server: parts, TLS, AUTH, refusals, retries, outages."""

from __future__ import annotations

import json
import socket
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from smtp_server import (
    ADMIN,
    PASSWORD,
    USER,
    RecordingHandler,
    Server,
    add_people,
    add_response,
    free_port,
    queue_for_transition,
    start_server,
    transition_event,
)
from sqlalchemy import select

from states import TRIGGERS
from workflow.audit import trail
from workflow.audit.trail import Provenance
from workflow.audit.words import Action
from workflow.core.clock import FixedClock
from workflow.core.errors import NotFoundError
from workflow.core.settings import Settings
from workflow.mail import delivery, outbox_admin
from workflow.mail import errors as mail_errors
from workflow.mail import outbox as mail
from workflow.storage.db import Database
from workflow.storage.models import AuditEvent, OutboxMessage

NOW = datetime(2024, 11, 22, 10, 0, tzinfo=UTC)


#: Where the tests' own events come from (the CLI identifies the person first).
BY = Provenance.here("cli", "claimed")

def smtp(settings: Settings, server: Server | None = None, port: int | None = None,
         **more: object) -> Settings:
    return settings.model_copy(update={"smtp_host": "127.0.0.1",
                                       "smtp_port": port or (server.port if server else 0),
                                       "smtp_security": "none", "smtp_timeout": 5.0, **more})


def seed(db: Database, settings: Settings, recipients: list[str],
         people: list[tuple[str, str, list[str]]] | None = None) -> list[int]:
    """Admins exist (for alerts); one ``mail_test`` message queued per recipient."""
    with db.write() as s:
        add_people(s, NOW, people)
        event = transition_event(s, NOW, type("R", (), {"id": None})(), "seed")
        rows = mail.queue_messages(
            s, settings=settings, now=NOW, kind="mail_test", event=event, response_id=None,
            actor=ADMIN, recipients=[mail.Recipient(r, r) for r in recipients],
            context={"opcc_name": "OPCC", "response_id": None, "actor": "t", "transport": "x"})
        return [r.id or 0 for r in rows]


def rows(db: Database) -> dict[str, OutboxMessage]:
    with db.read() as s:
        return {m.recipient: m for m in s.scalars(select(OutboxMessage))}


def actions(db: Database) -> Counter[str]:
    with db.read() as s:
        return Counter(s.scalars(select(AuditEvent.action)))


def deliver(db: Database, settings: Settings, at: datetime = NOW) -> delivery.DeliveryReport:
    return delivery.deliver_pending(db, settings, FixedClock(at))


def test_every_lifecycle_email_arrives(db: Database, settings: Settings,
                                       smtp_server: Server) -> None:
    """Every trigger's mail reaches exactly its recipients once, with the queued subject,
    the stable Message-ID and both a text and an HTML part; each send is audited."""
    with db.write() as s:
        add_people(s, NOW)
        report, response = add_response(s, NOW)
        response.published_url, response.published_on = "https://opcc.example/r", NOW.date()
        response.portal_reference = "HMI-1"
        for trigger in TRIGGERS:
            event = transition_event(s, NOW, response, trigger)
            queue_for_transition(s, settings=settings, now=NOW, response=response,
                                 report=report, trigger=trigger, event=event,
                                 actor_email=ADMIN, reason="r")
    with db.read() as s:
        queued = {m.message_id: m for m in s.scalars(select(OutboxMessage))}
    report_ = deliver(db, smtp(settings, smtp_server))
    assert (report_.sent, report_.error) == (len(queued), None)
    got = smtp_server.handler.received
    assert sorted(r.message_id for r in got) == sorted(queued)
    for r in got:
        row = queued[r.message_id]
        assert r.recipients == [row.recipient]
        assert r.message["Subject"] == row.subject
        assert r.message.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in r.message.get_payload()] == ["text/plain",
                                                                          "text/html"]
    assert all(m.status == "sent" and m.sent_at is not None for m in rows(db).values())
    assert actions(db)[Action.MAIL_SENT.value] == len(queued)
    assert trail.verify(db).ok


def test_starttls_with_the_servers_ca(db: Database, settings: Settings,
                                      smtp_tls_server: Server) -> None:
    """STARTTLS to a server whose self-signed certificate is given as the CA file works."""
    seed(db, settings, ["a@x.example"])
    cfg = smtp(settings, smtp_tls_server, smtp_security="starttls",
               smtp_ca_file=smtp_tls_server.cert)
    assert deliver(db, cfg).sent == 1
    assert len(smtp_tls_server.handler.received) == 1


def test_starttls_refuses_an_unknown_certificate(db: Database, settings: Settings,
                                                 smtp_tls_server: Server) -> None:
    """Without the CA the certificate is refused; the message stays pending, unattempted."""
    seed(db, settings, ["a@x.example"])
    report = deliver(db, smtp(settings, smtp_tls_server, smtp_security="starttls"))
    assert report.sent == 0
    assert "certificate" in (report.error or "").lower()
    row = rows(db)["a@x.example"]
    assert (row.status, row.attempts) == ("pending", 0)


def test_implicit_tls(db: Database, settings: Settings, smtp_implicit_tls_server: Server) -> None:
    """Implicit TLS (the port-465 style) delivers when security is 'tls'."""
    seed(db, settings, ["a@x.example"])
    cfg = smtp(settings, smtp_implicit_tls_server, smtp_security="tls",
               smtp_ca_file=smtp_implicit_tls_server.cert)
    assert deliver(db, cfg).sent == 1


def test_auth_accepted(db: Database, settings: Settings, smtp_auth_server: Server) -> None:
    """AUTH with the right username and password (from the environment) delivers."""
    seed(db, settings, ["a@x.example"])
    cfg = smtp(settings, smtp_auth_server, smtp_security="starttls", smtp_username=USER,
               smtp_ca_file=smtp_auth_server.cert, smtp_password=_secret(PASSWORD))
    assert deliver(db, cfg).sent == 1


def _secret(value: str) -> SecretStr:
    return SecretStr(value)


def test_auth_rejected_keeps_mail_and_hides_password(db: Database, settings: Settings,
                                                     smtp_auth_server: Server) -> None:
    """A rejected login stops the run with a clear error; mail stays pending and the
    password appears in neither the error nor the audit log."""
    seed(db, settings, ["a@x.example"])
    cfg = smtp(settings, smtp_auth_server, smtp_security="starttls", smtp_username=USER,
               smtp_ca_file=smtp_auth_server.cert, smtp_password=_secret("wrong-Pa55word"))
    report = deliver(db, cfg)
    assert "login as opcc-mailer rejected" in (report.error or "")
    assert rows(db)["a@x.example"].status == "pending"
    with db.read() as s:
        payloads = " ".join(s.scalars(select(AuditEvent.payload)))
    assert "wrong-Pa55word" not in payloads + (report.error or "")


def test_rejected_recipient_dies_others_go(db: Database, settings: Settings,
                                           smtp_server: Server) -> None:
    """A 5xx for one recipient kills that message only: the others are delivered, the dead
    one is audited and the admins are alerted (and the alert itself is delivered)."""
    seed(db, settings, ["a@x.example", "bad@x.example", "c@x.example"])
    smtp_server.handler.reject.add("bad@x.example")
    report = deliver(db, smtp(settings, smtp_server))
    assert (report.sent, report.dead) == (3, 1)  # a, c and the admin alert
    got = {r.recipients[0]: r for r in smtp_server.handler.received}
    assert set(got) == {"a@x.example", "c@x.example", ADMIN}
    assert "bad@x.example" in got[ADMIN].message["Subject"]
    dead = rows(db)["bad@x.example"]
    assert dead.status == "dead"
    assert "550" in (dead.last_error or "")
    assert actions(db)[Action.MAIL_DEAD.value] == 1


def test_temporary_failure_backs_off_then_delivers(db: Database, settings: Settings,
                                                   smtp_server: Server) -> None:
    """A 4xx leaves the message pending with a backoff; it is not retried before then,
    and is delivered once afterwards."""
    seed(db, settings, ["a@x.example"])
    smtp_server.handler.defer["a@x.example"] = 1
    cfg = smtp(settings, smtp_server)
    assert deliver(db, cfg).retrying == 1
    row = rows(db)["a@x.example"]
    assert row.status == "pending"
    assert row.attempts == 1
    assert NOW + timedelta(seconds=30) <= row.next_attempt_at < NOW + timedelta(seconds=60)
    assert deliver(db, cfg, NOW + timedelta(seconds=29)).processed == 0
    assert deliver(db, cfg, NOW + timedelta(minutes=1)).sent == 1
    assert smtp_server.handler.message_ids() == [row.message_id]
    assert actions(db)[Action.MAIL_FAILED.value] == 1


def test_dead_after_max_attempts(db: Database, settings: Settings, smtp_server: Server) -> None:
    """After mail_max_attempts temporary failures the message is dead and admins alerted."""
    seed(db, settings, ["a@x.example"])
    smtp_server.handler.defer["a@x.example"] = 99
    cfg = smtp(settings, smtp_server, mail_max_attempts=3)
    at = NOW
    for _ in range(3):
        deliver(db, cfg, at)
        at += timedelta(hours=7)  # beyond any backoff
    row = rows(db)["a@x.example"]
    assert (row.status, row.attempts) == ("dead", 3)
    assert [r.recipients for r in smtp_server.handler.received] == [[ADMIN]]
    assert actions(db)[Action.MAIL_FAILED.value] == 2


def test_server_down_then_up_delivers_once(db: Database, settings: Settings) -> None:
    """Connection refused: nothing is lost or counted as an attempt; once the server is
    up the message goes exactly once."""
    seed(db, settings, ["a@x.example", "b@x.example"])
    port = free_port()
    cfg = smtp(settings, port=port)
    report = deliver(db, cfg)
    assert report.sent == 0
    assert "cannot connect" in (report.error or "")
    assert {(m.status, m.attempts) for m in rows(db).values()} == {("pending", 0)}
    server = start_server(RecordingHandler(), port=port)
    try:
        assert deliver(db, cfg).sent == 2
        assert deliver(db, cfg).processed == 0
        assert sorted(server.handler.message_ids()) == sorted(m.message_id
                                                             for m in rows(db).values())
    finally:
        server.stop()


def test_connection_dropped_mid_batch(db: Database, settings: Settings,
                                      smtp_server: Server) -> None:
    """The server drops the connection during message 3: the dispatcher reconnects and
    resumes, and every message arrives exactly once."""
    seed(db, settings, [f"r{i}@x.example" for i in range(6)])
    smtp_server.handler.drop_at_data.add(3)
    report = deliver(db, smtp(settings, smtp_server))
    assert report.sent == 6
    ids = smtp_server.handler.message_ids()
    assert sorted(ids) == sorted(m.message_id for m in rows(db).values())


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections but never says a word."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(5)
    yield sock.getsockname()[1]
    sock.close()


def test_server_timeout_keeps_mail(db: Database, settings: Settings, silent_port: int) -> None:
    """A server that never greets times out with a clear error; mail stays pending."""
    seed(db, settings, ["a@x.example"])
    report = deliver(db, smtp(settings, port=silent_port, smtp_timeout=0.5))
    assert "cannot connect" in (report.error or "")
    assert rows(db)["a@x.example"].status == "pending"


def test_spool_is_the_default(db: Database, settings: Settings) -> None:
    """With no SMTP host, mail is written as .eml files to the spool folder, once each."""
    seed(db, settings, ["a@x.example", "b@x.example"])
    assert "spool folder" in outbox_admin.transport_description(settings)
    assert deliver(db, settings).sent == 2
    files = sorted(Path(settings.spool_dir).glob("*.eml"))
    assert len(files) == 2
    raw = files[0].read_bytes()
    assert b"X-Envelope-To:" in raw
    assert b"Message-ID: <s55." in raw


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the case is SQLite's own
def test_second_sqlite_dispatcher_refused(db: Database, settings: Settings) -> None:
    """On SQLite only one dispatcher may run: a second gets a clear error naming the lock."""
    with delivery.dispatcher_lock(db), pytest.raises(mail_errors.DispatcherLockedError,
                                                 match="dispatcher.lock"):
        deliver(db, settings)


def test_retry_list_show(db: Database, settings: Settings, smtp_server: Server) -> None:
    """A dead message can be retried (audited) and then goes; a sent one cannot be retried."""
    (bad,) = seed(db, settings, ["bad@x.example"])
    smtp_server.handler.reject.add("bad@x.example")
    cfg = smtp(settings, smtp_server)
    deliver(db, cfg)
    assert [r.id for r in outbox_admin.list_outbox(db, status="dead")] == [bad]
    row, eml = outbox_admin.show_outbox(db, bad)
    assert row.status == "dead"
    assert "Subject: [s55] Test message" in eml
    smtp_server.handler.reject.clear()
    retried = outbox_admin.retry_outbox(db, bad, clock=FixedClock(NOW), actor=ADMIN, by=BY)
    assert retried.status == "pending"
    assert deliver(db, cfg).sent == 1
    with pytest.raises(mail_errors.OutboxStateError,
                       match=f"outbox message {bad} while it is sent"):
        outbox_admin.retry_outbox(db, bad, clock=FixedClock(NOW), actor=ADMIN, by=BY)
    with pytest.raises(NotFoundError):
        outbox_admin.show_outbox(db, 999)
    assert outbox_admin.outbox_counts(db)["sent"] == 2  # the message and the admin alert
    assert json.dumps(outbox_admin.list_outbox(db)[0].as_json())
    assert actions(db)[Action.MAIL_RETRY.value] == 1


def test_mail_test_command(db: Database, settings: Settings, smtp_server: Server) -> None:
    """`mail test` sends straight through the transport and audits it; a bad server errors."""
    assert "SMTP 127.0.0.1" in outbox_admin.send_test(db, smtp(settings, smtp_server),
                                              FixedClock(NOW), "ops@x.example", actor=ADMIN,
                                              by=BY)
    (got,) = smtp_server.handler.received
    assert got.recipients == ["ops@x.example"]
    assert got.message.get_content_type() == "multipart/alternative"
    with pytest.raises(mail_errors.MailTestError, match="ops@x.example"):
        outbox_admin.send_test(db, smtp(settings, port=free_port()), FixedClock(NOW),
                               "ops@x.example",
                       actor=ADMIN, by=BY)
