"""Queueing mail for transitions: recipients by role, outbox rows, refusals that change nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from smtp_server import (
    ADMIN,
    FORCE,
    PANEL,
    PCC,
    add_people,
    add_response,
    queue_for_transition,
    transition_event,
)
from sqlalchemy import func, select

from notifications.render import KINDS
from states import TRIGGERS
from workflow.audit.words import Action
from workflow.core.settings import Settings
from workflow.mail import errors as mail_errors
from workflow.mail import outbox as mail
from workflow.mail import recipients
from workflow.storage.db import Database
from workflow.storage.models import AuditEvent, OutboxMessage, Person

NOW = datetime(2024, 11, 22, 10, 0, tzinfo=UTC)  # 12 days before the 4 Dec 2024 deadline

EXPECTED = {
    "request_force_input": {FORCE},
    "submit_force_input": {PCC},
    "return_to_force": {FORCE},
    "return_to_draft": {ADMIN},
    "sign_off": {PANEL, FORCE},
    "publish": {ADMIN, PANEL, "s55-comments@hmicfrs.invalid", "s55-comments@homeoffice.invalid"},
    "submit_to_portal": {ADMIN},
    "reopen": {PCC, PANEL, FORCE},
    "mark_not_required": {ADMIN},
}


def _queue(db: Database, settings: Settings, trigger: str, *, people: bool = True,
           title: str | None = None, reason: str | None = "Because.") -> list[OutboxMessage]:
    with db.write() as s:
        if people:
            add_people(s, NOW)
        _report, response = (add_response(s, NOW) if title is None
                             else add_response(s, NOW, title=title))
        response.published_url, response.published_on = "https://opcc.example/r/1", NOW.date()
        response.portal_reference = "HMI-42"
        event = transition_event(s, NOW, response, trigger)
        return queue_for_transition(s, settings=settings, now=NOW, response=response,
                                    report=_report, trigger=trigger, event=event,
                                    actor_email=ADMIN, reason=reason)


def _counts(db: Database) -> tuple[int, int]:
    with db.read() as s:
        return (s.execute(select(func.count()).select_from(OutboxMessage)).scalar_one(),
                s.execute(select(func.count()).select_from(AuditEvent)).scalar_one())


def test_every_trigger_has_a_route_and_templates() -> None:
    """Every lifecycle trigger is routed to someone and has its templates."""
    assert set(recipients.ROUTES) == set(TRIGGERS)
    assert set(TRIGGERS) <= set(KINDS)


@pytest.mark.parametrize("trigger", TRIGGERS)
def test_transition_queues_one_row_per_recipient(db: Database, settings: Settings,
                                                 trigger: str) -> None:
    """Each trigger queues one pending row per recipient, keyed event:recipient, plus a
    MAIL_QUEUED audit event listing them."""
    rows = _queue(db, settings, trigger)
    assert {r.recipient for r in rows} == EXPECTED[trigger]
    with db.read() as s:
        stored = s.scalars(select(OutboxMessage)).all()
        queued = s.scalars(select(AuditEvent).where(
            AuditEvent.action == Action.MAIL_QUEUED.value)).all()
    assert len(stored) == len(EXPECTED[trigger])
    assert all(r.status == "pending" and r.attempts == 0 for r in stored)
    assert all(r.dedupe_key == f"{r.event_id}:{r.recipient}" for r in stored)
    assert len({r.message_id for r in stored}) == len(stored)
    assert sum(len(json.loads(e.payload)["outbox"]) for e in queued) == len(stored)
    assert all("#1" in r.subject or r.kind == "publish_copy" for r in stored)


def test_request_force_input_says_what_is_asked(db: Database, settings: Settings) -> None:
    """The force's mail lists recommendations by published number with due dates, the
    force-input due date and the days left to the s55 deadline."""
    (row,) = _queue(db, settings, "request_force_input")
    for n in (1, 2, 3, 4, 8):
        assert f"Recommendation {n}" in row.body_text
    assert "Recommendation 5" not in row.body_text
    assert "due 31 December 2024" in row.body_text
    assert "6 November 2024" in row.body_text  # force input due
    assert "(statutory deadline 4 December 2024, due in 12 days)" in row.subject
    assert "Statutory deadline: 4 December 2024 (due in 12 days)" in row.body_text
    assert "Dear Force Liaison" in row.body_text


def test_sign_off_carries_the_signed_off_response(db: Database, settings: Settings) -> None:
    """The sign-off mail is the forwarding: it carries the PCC response, escaped in HTML."""
    rows = _queue(db, settings, "sign_off")
    for row in rows:
        assert "I welcome the report & its <recommendations>." in row.body_text
        assert "I welcome the report &amp; its &lt;recommendations&gt;." in row.body_html
        assert "Force answer 8." in row.body_text


def test_send_backs_carry_the_reason(db: Database, settings: Settings) -> None:
    """return_to_force tells the force why."""
    (row,) = _queue(db, settings, "return_to_force", reason="Rec 4 answer is missing.")
    assert "Reason: Rec 4 answer is missing." in row.body_text


@pytest.mark.parametrize("trigger", ["request_force_input", "sign_off", "submit_force_input"])
def test_missing_role_refused_before_anything_is_written(db: Database, settings: Settings,
                                                         trigger: str) -> None:
    """Nobody holding a needed role: the error names trigger and role; the whole
    transaction (transition event included) rolls back, leaving no mail and no event."""
    with pytest.raises(mail_errors.RecipientsMissingError, match=trigger) as info:
        _queue(db, settings, trigger, people=False)
    assert info.value.role in {"force", "pcc", "panel"}
    assert _counts(db) == (0, 0)


def test_person_without_email_is_recorded_dead(db: Database, settings: Settings) -> None:
    """A recipient whose email is empty does not refuse the trigger: their message is
    recorded dead, naming the person (test_delivery__bad_address.py has the rest)."""
    with db.write() as s:
        s.add(Person(name="No Mail", email="", roles=["pcc"], created_at=NOW))
    (row,) = _queue(db, settings, "submit_force_input", people=False)
    assert (row.recipient, row.status) == ("(no address: No Mail)", "dead")
    assert row.last_error is not None
    assert row.last_error.startswith("No Mail has no valid email address")


def test_header_injection_in_title_refused(db: Database, settings: Settings) -> None:
    """A report title with CR/LF cannot add headers: the trigger is refused, nothing written."""
    with pytest.raises(mail_errors.MailRefusedError, match="line feed|carriage return"):
        _queue(db, settings, "submit_force_input", title="ASB\r\nBcc: evil@x.example")
    assert _counts(db) == (0, 0)


def test_queueing_twice_for_one_event_adds_nothing(db: Database, settings: Settings) -> None:
    """The dedupe key makes queueing idempotent per (event, recipient)."""
    with db.write() as s:
        add_people(s, NOW)
        report, response = add_response(s, NOW)
        event = transition_event(s, NOW, response, "submit_force_input")
        kw = dict(settings=settings, now=NOW, response=response, report=report,
                  trigger="submit_force_input", event=event, actor_email=ADMIN, reason=None)
        first = queue_for_transition(s, **kw)  # type: ignore[arg-type]
        second = queue_for_transition(s, **kw)  # type: ignore[arg-type]
    assert len(first) == 1
    assert second == []
    assert _counts(db)[0] == 1


def test_rolled_back_transition_leaves_no_mail(db: Database, settings: Settings) -> None:
    """Mail is part of the caller's transaction: an error after queueing leaves nothing."""

    class AfterQueueError(Exception):
        pass

    def fire() -> None:
        with db.write() as s:
            add_people(s, NOW)
            report, response = add_response(s, NOW)
            event = transition_event(s, NOW, response, "submit_force_input")
            queue_for_transition(s, settings=settings, now=NOW, response=response,
                                 report=report, trigger="submit_force_input", event=event,
                                 actor_email=ADMIN, reason=None)
            raise AfterQueueError

    with pytest.raises(AfterQueueError):
        fire()
    assert _counts(db) == (0, 0)


def test_queue_alert_is_generic(db: Database, settings: Settings) -> None:
    """queue_alert sends any kind to everyone holding the roles given."""
    with db.write() as s:
        add_people(s, NOW, [("A", "a@x.example", ["admin"]), ("B", "b@x.example",
                                                               ["admin", "pcc"])])
        event = transition_event(s, NOW, type("R", (), {"id": None})(), "x")
        rows = mail.queue_alert(s, settings=settings, now=NOW, kind="mail_dead",
                                roles=["admin", "pcc"], event=event, actor="s55", context={
                                    "outbox_id": 1, "dead_recipient": "z@x.example",
                                    "dead_subject": "S", "attempts": 8, "error": "550"})
    assert sorted(r.recipient for r in rows) == ["a@x.example", "b@x.example"]
