"""A reader's sign-in link works one working day by default, to the same London time on the
next working day (over a weekend and a bank holiday), and the mail says until when. How
many working days is the office's setting, kept in the database and changed only by an
admin's audited ``s55 office set sign-in-link-days``; a bad value is refused in one line
with the database unchanged. Both databases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import select

from tests.factories import ADMIN, AUDITOR, add_people, as_delivered, record_office, snapshot
from workflow.audit.words import Action
from workflow.core.errors import InvalidInputError
from workflow.core.settings import Settings
from workflow.links import action_links
from workflow.people import office
from workflow.responses import approvals
from workflow.responses.service import Workflow
from workflow.storage.db import Database
from workflow.storage.models import ActionLink, AuditEvent, OutboxMessage

BASE = "https://s55.opcc.example"


@pytest.fixture
def wf(keyed_db: Database, settings: Settings) -> Workflow:
    workflow = Workflow(keyed_db, settings.model_copy(update={
        "base_url": BASE, "audit_key_file": keyed_db.audit_key_file}))
    add_people(workflow)
    record_office(workflow)
    return workflow


def ask(wf: Workflow, at: datetime) -> tuple[datetime, str]:
    """A sign-in link asked for at ``at``: when it expires, and its mail's text."""
    with time_machine.travel(at, tick=False):
        approvals.request_sign_in(wf, AUDITOR)
    with wf.db.read() as s:
        link = s.scalars(select(ActionLink).order_by(ActionLink.id.desc())).first()  # type: ignore[union-attr]
        mail = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "sign_in_link")
                         .order_by(OutboxMessage.id.desc())).first()  # type: ignore[union-attr]
        assert link is not None
        assert mail is not None
        return link.expires_at, as_delivered(wf.db, mail)[0]


@pytest.mark.parametrize(("asked", "until", "words"), [
    # Tuesday 16:00 BST: Wednesday 16:00
    (datetime(2024, 10, 15, 15, 0, tzinfo=UTC), datetime(2024, 10, 16, 15, 0, tzinfo=UTC),
     "until 16 October 2024 at 16:00"),
    # Friday: Monday
    (datetime(2024, 10, 11, 15, 0, tzinfo=UTC), datetime(2024, 10, 14, 15, 0, tzinfo=UTC),
     "until 14 October 2024 at 16:00"),
    # Friday before the summer bank holiday: Tuesday
    (datetime(2024, 8, 23, 8, 30, tzinfo=UTC), datetime(2024, 8, 27, 8, 30, tzinfo=UTC),
     "until 27 August 2024 at 09:30"),
    # Friday 25 October (BST): Monday 28 October at the same London time (GMT)
    (datetime(2024, 10, 25, 9, 0, tzinfo=UTC), datetime(2024, 10, 28, 10, 0, tzinfo=UTC),
     "until 28 October 2024 at 10:00"),
])
def test_one_working_day_by_default(wf: Workflow, asked: datetime, until: datetime,
                                    words: str) -> None:
    expires, text = ask(wf, asked)
    assert expires == until
    assert f"it works once, {words}, UK time" in text


def test_the_link_stops_working_when_the_day_is_over(wf: Workflow) -> None:
    _, text = ask(wf, datetime(2024, 10, 11, 15, 0, tzinfo=UTC))
    token = text.split(f"{BASE}/l/")[1].split()[0]
    with time_machine.travel(datetime(2024, 10, 14, 15, 0, tzinfo=UTC), tick=False):
        with pytest.raises(action_links.LinkRefusedError) as refused:
            approvals.sign_in(wf, token)
    assert str(refused.value).startswith("this link expired on 14 October 2024 at 16:00")
    with time_machine.travel(datetime(2024, 10, 14, 14, 59, tzinfo=UTC), tick=False):
        assert approvals.sign_in(wf, token).email == AUDITOR


def test_an_admin_lengthens_it_audited(wf: Workflow) -> None:
    default = {r["setting"]: r for r in office.show(wf)}["sign-in-link-days"]
    assert (default["value"], default["set_by"], default["default"]) == ("1", None, True)
    changed = office.change(wf, "sign-in-link-days", "3", ADMIN, "auditors travel")
    assert (changed.was, changed.now) == ("1", "3")
    with wf.db.read() as s:
        event = s.scalars(select(AuditEvent).where(
            AuditEvent.action == Action.OFFICE_SET.value).order_by(AuditEvent.id.desc())).first()  # type: ignore[union-attr]
    assert event is not None
    assert (event.actor, event.reason) == (ADMIN, "auditors travel")
    expires, text = ask(wf, datetime(2024, 10, 11, 15, 0, tzinfo=UTC))  # Friday: Wednesday
    assert expires == datetime(2024, 10, 16, 15, 0, tzinfo=UTC)
    shown = {r["setting"]: r for r in office.show(wf)}["sign-in-link-days"]
    assert (shown["value"], shown["set_by"]) == ("3", ADMIN)


@pytest.mark.parametrize(("raw", "why"), [
    ("0", "'0' is not a whole number of working days from 1 to 10"),
    ("11", "'11' is not a whole number of working days from 1 to 10"),
    ("two", "'two' is not a whole number of working days from 1 to 10"),
    ("１", "'１' is not a whole number of working days from 1 to 10"),
])
def test_a_bad_number_is_refused_and_nothing_changes(wf: Workflow, raw: str,
                                                     why: str) -> None:
    before = snapshot(wf)
    with pytest.raises(InvalidInputError) as refused:
        office.change(wf, "sign-in-link-days", raw, ADMIN, "why not")
    assert str(refused.value).endswith(why)
    assert "\n" not in str(refused.value)
    assert snapshot(wf) == before
