"""The approvers' link tokens never rest in the database: the outbox holds a
placeholder naming the link, the dispatcher fills in the token (derived from the audit
key) as it sends. Real databases, real aiosmtpd, a real dump of every table."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from link_support import BASE, LINK, _during, assert_mail_without_a_link  # noqa: F401 - _during is autouse
from smtp_server import Server
from sqlalchemy import select
from sqlalchemy.engine import make_url

from tests.factories import ADMIN, FORCE, NORFOLK_RECS, PCC, norfolk, snapshot
from workflow.audit import trail
from workflow.core.errors import S55Error
from workflow.core.settings import Settings
from workflow.keys import audit_key, link_tokens
from workflow.links import action_links
from workflow.mail import delivery
from workflow.responses import approvals
from workflow.responses.service import Workflow
from workflow.storage.db import Database
from workflow.storage.models import ActionLink, AuditEvent, OutboxMessage


@pytest.fixture
def wf_linked_smtp(keyed_db: Database, settings: Settings, smtp_server: Server) -> Workflow:
    """The service with links on (base URL, audit key) and mail to a local SMTP server."""
    return Workflow(keyed_db, settings.model_copy(update={
        "base_url": BASE, "audit_key_file": keyed_db.audit_key_file,
        "smtp_host": smtp_server.host, "smtp_port": smtp_server.port,
        "smtp_security": "none", "smtp_timeout": 5.0}))


def deliver(wf_linked_smtp: Workflow, db: Database | None = None) -> None:
    report = delivery.deliver_pending(db or wf_linked_smtp.db, wf_linked_smtp.settings,
                                      wf_linked_smtp.clock)
    assert report.error is None


def delivered(smtp: Server, to: str) -> list[str]:
    """Every link token in the mail ``to`` received (text and HTML parts), oldest first."""
    found: list[str] = []
    for got in smtp.handler.received:
        if to in got.recipients:
            text, html = (p.get_content() for p in got.message.get_payload())
            assert LINK.findall(html) == LINK.findall(text)
            found += LINK.findall(text)
    return found


def dump(db: Database) -> str:
    """The whole database as text: SQLite's ``.dump``, or ``pg_dump`` (every table, every
    column, as a backup would hold them)."""
    url = make_url(db.url)
    if db.is_sqlite:
        with sqlite3.connect(str(url.database)) as conn:
            return "\n".join(conn.iterdump())
    libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return subprocess.run(["pg_dump", "--data-only", "--inserts", libpq], check=True,
                          capture_output=True, text=True).stdout


def test_a_full_journey_leaves_no_usable_token_in_the_database(
        wf_linked_smtp: Workflow, smtp_server: Server) -> None:
    """Mail to the force liaison, then to the PCC, delivered to aiosmtpd: each delivered
    link works, and no delivered token is anywhere in a dump of the database, where each
    stored mail holds its placeholder instead; ``audit verify`` still checks every row."""
    rid = norfolk(wf_linked_smtp)
    wf_linked_smtp.fire(rid, "request_force_input", ADMIN)
    deliver(wf_linked_smtp)
    force = delivered(smtp_server, FORCE)
    assert len(force) == 1
    for n in NORFOLK_RECS:
        approvals.edit_recommendation(wf_linked_smtp, force[0], n, "force_response", f"Answer {n}.")
    approvals.fire(wf_linked_smtp, force[0], "submit_force_input")
    deliver(wf_linked_smtp)
    pcc = delivered(smtp_server, PCC)
    assert len(pcc) == 1
    approvals.edit_text(wf_linked_smtp, pcc[0], "pcc_response", "I welcome the report.")
    assert approvals.fire(wf_linked_smtp, pcc[0], "sign_off").state == "forwarded_to_panel"
    deliver(wf_linked_smtp)

    text = dump(wf_linked_smtp.db)
    assert "action_link" in text  # the dump holds the tables...
    assert "s55-link." in text  # ...and the mail as stored
    for token in force + pcc:
        assert token not in text
    with wf_linked_smtp.db.read() as s:
        stored = s.scalars(select(OutboxMessage).where(
            OutboxMessage.recipient.in_([FORCE, PCC]),  # type: ignore[attr-defined]
            OutboxMessage.kind.in_(["request_force_input", "submit_force_input"])  # type: ignore[attr-defined]
        )).all()
        assert len(s.scalars(select(ActionLink)).all()) == 2
    assert len(stored) == 2
    for row in stored:
        assert row.status == "sent"
        assert LINK.search(row.body_text) is None
        assert re.search(re.escape(BASE) + r"/l/" + link_tokens.PLACEHOLDER.pattern,
                         row.body_text)
        assert re.search(r'href="' + re.escape(BASE) + "/l/" + link_tokens.PLACEHOLDER.pattern,
                         row.body_html or "")
    assert trail.verify(wf_linked_smtp.db).ok


def test_outbox_show_shows_the_placeholder_never_the_token(
        wf_linked_smtp: Workflow, smtp_server: Server, run) -> None:  # type: ignore[no-untyped-def]
    rid = norfolk(wf_linked_smtp)
    wf_linked_smtp.fire(rid, "request_force_input", ADMIN)
    with wf_linked_smtp.db.read() as s:
        row = s.scalars(select(OutboxMessage).where(OutboxMessage.recipient == FORCE)).one()
    deliver(wf_linked_smtp)
    token = delivered(smtp_server, FORCE)[0]
    shown = run("outbox", "show", str(row.id))
    assert shown.exit_code == 0, shown.output
    assert token not in shown.output
    assert "s55-link." in shown.output


@pytest.mark.slow
def test_a_key_rotation_does_not_break_links_already_mailed(
        wf_linked_smtp: Workflow, smtp_server: Server) -> None:
    """Mail queued before ``s55 audit rotate-key`` and sent after it is filled in under the
    key its link was issued with (kept in the key file); links issued after the rotation
    use the new key."""
    rid = norfolk(wf_linked_smtp)
    wf_linked_smtp.fire(rid, "request_force_input", ADMIN)  # queued under the first key
    assert wf_linked_smtp.db.audit_key_file is not None
    ring = audit_key.rotate(wf_linked_smtp.db.audit_key_file)
    deliver(wf_linked_smtp, Database(wf_linked_smtp.db.url,
                                     audit_key_file=wf_linked_smtp.db.audit_key_file))
    token = delivered(smtp_server, FORCE)[0]
    assert action_links.read(wf_linked_smtp.db, wf_linked_smtp.clock, token).person_email == FORCE

    after = Workflow(Database(wf_linked_smtp.db.url,
                                   audit_key_file=wf_linked_smtp.db.audit_key_file),
                 wf_linked_smtp.settings, wf_linked_smtp.clock)
    for n in NORFOLK_RECS:
        approvals.edit_recommendation(after, token, n, "force_response", f"Answer {n}.")
    approvals.fire(after, token, "submit_force_input")  # the PCC's link: the new key
    with wf_linked_smtp.db.read() as s:
        body = s.scalars(select(OutboxMessage.body_text).where(
            OutboxMessage.recipient == PCC)).one()
    assert f"s55-link.{ring.current}." in body
    deliver(wf_linked_smtp, Database(wf_linked_smtp.db.url,
                                     audit_key_file=wf_linked_smtp.db.audit_key_file))
    pcc = delivered(smtp_server, PCC)[0]
    assert action_links.read(wf_linked_smtp.db, wf_linked_smtp.clock, pcc).person_email == PCC


@pytest.mark.slow
def test_a_running_daemon_follows_a_key_rotation_made_by_another_process(
        wf_linked_smtp: Workflow, smtp_server: Server) -> None:
    """One long-lived ``Database`` (the daemon's) reads the key file, then
    ``s55 audit rotate-key`` runs in another process: the daemon's next events are signed
    with the new key, and mail another process queued under the new key is sent, not
    refused as forged (it was, while the daemon kept the keys it read at start)."""
    daemon = Database(wf_linked_smtp.db.url, audit_key_file=wf_linked_smtp.db.audit_key_file)
    rid = norfolk(wf_linked_smtp)
    wf_linked_smtp.fire(rid, "request_force_input", ADMIN)
    deliver(wf_linked_smtp, daemon)  # the daemon has read the key file
    assert delivered(smtp_server, FORCE)
    rotated = subprocess.run(
        [str(Path(sys.executable).parent / "s55"), "audit", "rotate-key", "--yes"],
        env={**os.environ, "S55_DATABASE_URL": wf_linked_smtp.db.url,
             "S55_AUDIT_KEY_FILE": str(wf_linked_smtp.db.audit_key_file)},
        capture_output=True, text=True, timeout=120)
    assert rotated.returncode == 0, rotated.stderr
    new_key = audit_key.load(wf_linked_smtp.db.audit_key_file or "").current

    other = Workflow(Database(wf_linked_smtp.db.url,
                                   audit_key_file=wf_linked_smtp.db.audit_key_file),
                 wf_linked_smtp.settings, wf_linked_smtp.clock)
    token = delivered(smtp_server, FORCE)[0]
    for n in NORFOLK_RECS:
        approvals.edit_recommendation(other, token, n, "force_response", f"Answer {n}.")
    approvals.fire(other, token, "submit_force_input")  # queued under the new key
    deliver(wf_linked_smtp, daemon)
    with wf_linked_smtp.db.read() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.recipient == PCC)).all()
        assert [r.status for r in rows] == ["sent"], [r.last_error for r in rows]
        signed = s.scalars(select(AuditEvent.key_id).where(
            AuditEvent.action == "mail_sent").order_by(AuditEvent.id.desc())).first()
    assert signed == new_key  # the daemon's own event after the rotation
    latest = delivered(smtp_server, PCC)[0]
    assert action_links.read(wf_linked_smtp.db, wf_linked_smtp.clock, latest).person_email == PCC


def test_a_dispatcher_without_the_key_refuses_the_message_saying_so(
        wf_linked_smtp: Workflow, smtp_server: Server) -> None:
    """A dispatcher run without the audit key (S55_AUDIT_KEY_FILE unset) cannot fill in
    a link: that message is not sent (never a link that cannot work); it is dead and its
    error names the key and what to do. (A key file replaced by another is refused
    earlier: the event that queued the mail no longer verifies.)"""
    rid = norfolk(wf_linked_smtp)
    wf_linked_smtp.fire(rid, "request_force_input", ADMIN)
    kid = audit_key.load(wf_linked_smtp.db.audit_key_file or "").current
    deliver(wf_linked_smtp, Database(wf_linked_smtp.db.url))
    assert delivered(smtp_server, FORCE) == []
    with wf_linked_smtp.db.read() as s:
        row = s.scalars(select(OutboxMessage).where(OutboxMessage.recipient == FORCE)).one()
    assert row.status == "dead"
    assert f"issued under audit key {kid}" in (row.last_error or "")
    assert "S55_AUDIT_KEY_FILE" in (row.last_error or "")
    assert "s55 outbox retry" in (row.last_error or "")


def test_without_an_audit_key_no_link_is_issued(db: Database, settings: Settings,
                                                tmp_path: Path) -> None:
    """No audit key: the mail asks the reader to reply (an admin records it on the
    command line) and no link row is written; a fresh link for one issued while there was
    a key is refused, saying what to set, and nothing is written."""
    wf_linked_smtp = Workflow(db, settings.model_copy(update={"base_url": BASE}))
    rid = norfolk(wf_linked_smtp)
    wf_linked_smtp.fire(rid, "request_force_input", ADMIN)
    assert_mail_without_a_link(db, FORCE)

    key = tmp_path / "audit.key"
    ring = audit_key.create(key)
    keyed = Workflow(Database(db.url, audit_key_file=key), wf_linked_smtp.settings,
                     wf_linked_smtp.clock)
    keyed.fire(rid, "return_to_draft", ADMIN, reason="redraft")
    keyed.fire(rid, "request_force_input", ADMIN)
    with db.read() as s:
        row = s.scalars(select(OutboxMessage).where(OutboxMessage.recipient == FORCE)
                        .order_by(OutboxMessage.id.desc())).first()  # type: ignore[attr-defined]
    assert row is not None
    token = LINK.findall(link_tokens.fill(row.body_text, ring, row.dedupe_key))[0]
    before = snapshot(wf_linked_smtp)
    with pytest.raises(S55Error, match="S55_AUDIT_KEY_FILE"):
        approvals.resend(wf_linked_smtp, token)
    assert snapshot(wf_linked_smtp) == before


def test_a_placeholder_copied_into_another_mail_opens_nothing(tmp_path: Path) -> None:
    """The token is bound to the outbox row (event and recipient): a placeholder pasted
    into content that reaches someone else's mail fills in a token no link has."""
    ring = audit_key.create(tmp_path / "k.key")
    place = link_tokens.placeholder(ring)
    mine = link_tokens.token_for(ring, place, "7:liaison@norfolk.example")
    assert link_tokens.token_for(ring, place, "7:liaison@norfolk.example") == mine
    assert link_tokens.token_for(ring, place, "9:pcc@norfolk.example") != mine
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", mine)
    with pytest.raises(link_tokens.LinkKeyError, match="not in the audit key file"):
        link_tokens.token_for(audit_key.create(tmp_path / "other.key"), place, "7:x@y.example")
