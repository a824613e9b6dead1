"""One recipient's undeliverable address never stops a transition.

The transition commits, the others' mail is queued, and the bad recipient's message is
an outbox row recorded ``dead`` with the reason, a ``mail_dead`` audit event naming it,
and the admins' ``mail_dead`` alert. Both databases; values written by hand.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select

from states.escalations import LONDON
from tests.factories import ADMIN, FORCE, norfolk, snapshot
from workflow.audit import trail
from workflow.audit.words import Action
from workflow.responses.service import Workflow
from workflow.storage.models import AuditEvent, OutboxMessage, Person, Response

NOW = datetime(2024, 10, 10, 10, 0, tzinfo=LONDON)
#: Accepted by s55 before entry checks: non-ASCII needs SMTPUTF8, which we cannot assume.
BAD = "jösé@exämple.example"


def _add_force_person(wf_frozen: Workflow, email: str, name: str = "Uni Liaison") -> None:
    """Straight into the table, as an older s55 (or a hand edit) left it."""
    with wf_frozen.db.write() as s:
        s.add(Person(name=name, email=email, roles=["force"], created_at=NOW))


def _outbox(wf_frozen: Workflow) -> list[tuple[str, str, str, str | None]]:
    with wf_frozen.db.read() as s:
        return [(m.kind, m.recipient, m.status, m.last_error) for m in s.scalars(
            select(OutboxMessage).order_by(OutboxMessage.id))]  # type: ignore[arg-type]


def _events(wf_frozen: Workflow, action: Action) -> list[dict[str, object]]:
    with wf_frozen.db.read() as s:
        return [json.loads(e.payload) for e in s.scalars(select(AuditEvent).where(
            AuditEvent.action == str(action)).order_by(AuditEvent.id))]  # type: ignore[arg-type]


def test_a_bad_address_does_not_stop_the_transition(wf_frozen: Workflow) -> None:
    rid = norfolk(wf_frozen)
    _add_force_person(wf_frozen, BAD)
    wf_frozen.fire(rid, "request_force_input", ADMIN)
    with wf_frozen.db.read() as s:
        assert s.get(Response, rid).state == "force_input"  # type: ignore[union-attr]
    reason = (f"Uni Liaison has no valid email address: refusing To header {BAD!r}: "
              "is not a single plain address local@domain")
    assert _outbox(wf_frozen) == [
        ("request_force_input", FORCE, "pending", None),
        ("request_force_input", BAD, "dead", reason),
        ("mail_dead", ADMIN, "pending", None),
    ]
    (queued,) = _events(wf_frozen, Action.MAIL_QUEUED)[:1]
    assert [o["to"] for o in queued["outbox"]] == [FORCE]  # type: ignore[attr-defined]
    (dead,) = _events(wf_frozen, Action.MAIL_DEAD)
    assert (dead["outbox"], dead["to"], dead["attempts"], dead["error"]) == (2, BAD, 0, reason)
    with wf_frozen.db.read() as s:
        alert = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "mail_dead")).one()
    assert alert.subject == "[s55 #1] Mail could not be delivered to jösé@exämple.example"
    assert "marked dead without trying" in alert.body_text
    assert "s55 outbox show 2" in alert.body_text
    assert trail.verify(wf_frozen.db).ok


def test_an_empty_address_is_named_by_the_person(wf_frozen: Workflow) -> None:
    """No address at all: the row names the person, so an auditor sees who was missed."""
    rid = norfolk(wf_frozen)
    _add_force_person(wf_frozen, "", name="No Mail")
    wf_frozen.fire(rid, "request_force_input", ADMIN)
    assert [(k, r, st) for k, r, st, _ in _outbox(wf_frozen)] == [
        ("request_force_input", FORCE, "pending"),
        ("request_force_input", "(no address: No Mail)", "dead"),
        ("mail_dead", ADMIN, "pending"),
    ]


def test_a_bad_admin_address_makes_no_alert_loop(wf_frozen: Workflow) -> None:
    """The alert to an admin with a bad address is itself dead, and alerts nobody more."""
    rid = norfolk(wf_frozen)
    _add_force_person(wf_frozen, BAD)
    with wf_frozen.db.write() as s:
        s.add(Person(name="Second Admin", email="bad admin@x.example", roles=["admin"],
                     created_at=NOW))
    wf_frozen.fire(rid, "request_force_input", ADMIN)
    assert [(k, r, st) for k, r, st, _ in _outbox(wf_frozen)] == [
        ("request_force_input", FORCE, "pending"),
        ("request_force_input", BAD, "dead"),
        ("mail_dead", ADMIN, "pending"),
        ("mail_dead", "bad admin@x.example", "dead"),
    ]
    assert [e["to"] for e in _events(wf_frozen, Action.MAIL_DEAD)] == [BAD, "bad admin@x.example"]


def test_retrying_a_message_to_an_unusable_address_is_refused(wf_frozen: Workflow, run) -> None:  # type: ignore[no-untyped-def]
    """The message died at queueing because its address is unusable: a retry would only
    send it to die again, so ``s55 outbox retry`` refuses it in one line, saying what to
    do, and changes nothing."""
    rid = norfolk(wf_frozen)
    _add_force_person(wf_frozen, BAD)
    wf_frozen.fire(rid, "request_force_input", ADMIN)
    dead = [i for i, row in enumerate(_outbox(wf_frozen), 1) if row[1] == BAD]
    assert dead == [2]
    before = snapshot(wf_frozen)
    result = run("outbox", "retry", "2", actor=ADMIN)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines == [f"Error: outbox message 2 cannot be retried: its address {BAD!r} is "
                     "unusable (refusing To header "
                     f"{BAD!r}: is not a single plain address local@domain); correct the "
                     "person's address with `s55 people edit EMAIL --email NEW --reason ...` "
                     "so that their next mail reaches them, and tell them of this one "
                     "yourself"]
    assert snapshot(wf_frozen) == before
