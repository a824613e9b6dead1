"""No reminder asks someone again, within the office's quiet working days (two unless an
admin sets another number), for what the mail of the transition into the response's state
has just asked them: the reminder is recorded as superseded by that mail, and the next
reminder of another rule, or for other people, still goes.

Norfolk's deadline is Wed 4 Dec 2024; the "force's comments outstanding" reminder
(force-input-d28, to the force liaison) is due on Wed 6 Nov.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from states import State
from states.escalations import LONDON, Dates, Moment, plan
from states.workdays import WorkingDays
from tests.factories import ADMIN, FORCE, PCC, answer_all, norfolk, record_office
from workflow.audit.words import Action
from workflow.core.bank_holidays import england_and_wales
from workflow.core.errors import InvalidInputError
from workflow.core.settings import Settings
from workflow.escalations import sweep as escalation
from workflow.escalations.listing import plan_ahead
from workflow.escalations.plan import (
    Ask,
    after_working_days,
    load_policy,
    repeats_ask,
    split_quiet,
)
from workflow.people import office
from workflow.responses import content
from workflow.responses.service import Workflow
from workflow.storage.db import Database
from workflow.storage.models import AuditEvent, EscalationFiring, OfficeSetting

D = date(2024, 12, 4)
D28 = date(2024, 11, 6)  # a Wednesday
POLICY = load_policy(Settings(policy_file=None))
WORKING = england_and_wales()


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=LONDON)


@pytest.fixture
def traveller() -> Iterator[Any]:
    with time_machine.travel(at(date(2024, 10, 10)), tick=False) as t:
        yield t


@pytest.fixture
def wf(db: Database, settings: Settings, traveller: Any) -> Workflow:
    wf = Workflow(db, settings)
    record_office(wf)
    return wf


def _response(wf: Workflow) -> int:
    rid = norfolk(wf)
    answer_all(wf, rid)
    content.edit_text(wf, rid, "pcc_response", "I welcome this report.", PCC)
    return rid


def _asked_on(wf: Workflow, traveller: Any, day: date, rid: int | None = None) -> int:
    """The Norfolk response, its force asked for comments on ``day`` at 10:00."""
    rid = _response(wf) if rid is None else rid
    traveller.move_to(at(day))
    wf.fire(rid, "request_force_input", ADMIN)
    return rid


def _sweep_on(wf: Workflow, traveller: Any, day: date) -> escalation.SweepReport:
    traveller.move_to(at(day))
    return escalation.sweep(wf.db, wf.settings, wf.clock)


def _superseded_events(wf: Workflow) -> list[dict[str, Any]]:
    with wf.db.read() as s:
        return [json.loads(e.payload) for e in s.scalars(select(AuditEvent).where(
            AuditEvent.action == str(Action.ESCALATION_SUPERSEDED)))]  # type: ignore[arg-type]


def test_the_request_mail_counts_as_the_ask(wf: Workflow, traveller: Any) -> None:
    """Asked on Mon 4 Nov: the reminder due two working days later is not sent but
    recorded as superseded by the request, naming both; it is never sent later."""
    rid = _asked_on(wf, traveller, date(2024, 11, 4))
    report = _sweep_on(wf, traveller, D28)
    assert report.fired == []
    assert [(f.response_id, f.rule_id, f.status) for f in report.superseded] == [
        (rid, "force-input-d28", "superseded")]
    [payload] = _superseded_events(wf)
    assert (payload["rule"], payload["superseded_by"], payload["due_on"]) == (
        "force-input-d28", "request_force_input", "2024-11-06")
    assert datetime.fromisoformat(payload["asked_at"]) == at(date(2024, 11, 4))
    assert _sweep_on(wf, traveller, D28 + timedelta(days=1)).fired == []


@pytest.mark.parametrize(("asked", "status"), [(date(2024, 11, 4), "held back"),
                                               (date(2024, 11, 1), "planned")])
def test_the_plan_says_a_reminder_is_held_back(wf: Workflow, traveller: Any, asked: date,
                                               status: str) -> None:
    """``s55 escalations plan`` shows, from the day of the request, what the sweep will do."""
    rid = _asked_on(wf, traveller, asked)
    rows = plan_ahead(wf, rid, days=10)
    assert [(r["rule"], r["day"], r["status"]) for r in rows] == [
        ("force-input-d28", "2024-11-06", status)]
    traveller.move_to(at(D28))
    assert [r["status"] for r in plan_ahead(wf, rid, days=0)] == [
        "held back" if status == "held back" else "due now"]


def test_a_reminder_three_working_days_on_is_sent(wf: Workflow, traveller: Any) -> None:
    """Asked on Fri 1 Nov: Wed 6 Nov is the third working day after, so the reminder goes."""
    _asked_on(wf, traveller, date(2024, 11, 1))
    report = _sweep_on(wf, traveller, D28)
    assert [(f.rule_id, f.recipients) for f in report.fired] == [
        ("force-input-d28", (FORCE, ADMIN))]
    assert report.superseded == []


@pytest.mark.parametrize(("days", "sent"), [(0, True), (3, False)])
def test_the_quiet_days_are_the_offices_setting(wf: Workflow, traveller: Any, days: int,
                                                 sent: bool) -> None:
    """An admin sets the quiet days (0: none); the sweep reads the database's value."""
    rid = _response(wf)
    office.change(wf, "reminder-quiet-days", str(days), ADMIN, "as the office agreed")
    _asked_on(wf, traveller, date(2024, 11, 1), rid)
    report = _sweep_on(wf, traveller, D28)
    assert bool(report.fired) is sent
    assert bool(report.superseded) is not sent


@pytest.mark.parametrize("raw", ["-1", "11", "two", "2.5", "", "٣"])
def test_a_bad_number_of_quiet_days_is_refused(wf: Workflow, raw: str) -> None:
    """One line naming the setting and the range; the database unchanged."""
    _response(wf)
    with wf.db.read() as s:
        before = [(r.name, r.value) for r in s.scalars(select(OfficeSetting))]
    with pytest.raises(InvalidInputError) as caught:
        office.change(wf, "reminder-quiet-days", raw, ADMIN, "as the office agreed")
    assert "reminder-quiet-days" in str(caught.value)
    assert "\n" not in str(caught.value)
    with wf.db.read() as s:
        assert [(r.name, r.value) for r in s.scalars(select(OfficeSetting))] == before


def test_a_reminder_for_others_is_not_held_back(wf: Workflow, traveller: Any) -> None:
    """The response moved on to the PCC on Mon 18 Nov (the PCC asked to sign off); the
    chief executive's "not yet signed off" reminder of Wed 20 Nov goes all the same."""
    rid = _asked_on(wf, traveller, date(2024, 11, 1))
    _sweep_on(wf, traveller, D28)
    traveller.move_to(at(date(2024, 11, 18)))
    wf.fire(rid, "submit_force_input", FORCE)
    report = _sweep_on(wf, traveller, date(2024, 11, 20))
    assert [f.rule_id for f in report.fired] == ["signoff-d14"]
    with wf.db.read() as s:
        statuses = {(f.rule_id, f.status) for f in s.scalars(select(EscalationFiring))}
    assert statuses == {("force-input-d28", "fired"), ("signoff-d14", "fired")}


# -- the planner's pure parts ----------------------------------------------------------------

def test_working_days_after_skip_weekends_and_bank_holidays() -> None:
    assert after_working_days(WORKING, date(2024, 11, 1), 2) == date(2024, 11, 5)
    assert after_working_days(WORKING, date(2024, 12, 24), 1) == date(2024, 12, 27)
    assert after_working_days(WORKING, date(2024, 11, 4), 0) == date(2024, 11, 4)


def _firing() -> Any:
    dates = Dates(State.FORCE_INPUT, D, None, None, D - timedelta(days=5))
    p = plan(dates, POLICY, frozenset(), Moment.at(at(D28), 9, WORKING))
    assert p.due is not None
    return p


@pytest.mark.parametrize(("asked", "to", "quiet"), [
    (date(2024, 11, 4), {FORCE}, True),   # two working days before
    (date(2024, 11, 1), {FORCE}, False),  # three
    (date(2024, 11, 7), {FORCE}, True),   # the ask came after the reminder's day
    (date(2024, 11, 4), {ADMIN}, False),  # someone else was asked
])
def test_repeats_ask(asked: date, to: set[str], quiet: bool) -> None:
    p = _firing()
    ask = Ask("request_force_input", at(asked), frozenset(to))
    assert repeats_ask(p.due, State.FORCE_INPUT, ask, frozenset({FORCE}), 2, WORKING) is quiet
    assert not repeats_ask(p.due, State.FORCE_INPUT, ask, frozenset({FORCE}), 0, WORKING)
    assert not repeats_ask(p.due, State.FORCE_INPUT, None, frozenset({FORCE}), 2, WORKING)
    assert not repeats_ask(p.due, State.FORCE_INPUT, ask, frozenset(), 2, WORKING)


def test_holding_back_the_due_one_lets_the_next_most_severe_fire() -> None:
    """Due: publish-d7 over signoff-d14. Holding back publish-d7 makes signoff-d14 due;
    holding back neither changes nothing."""
    dates = Dates(State.PCC_SIGNOFF, D, None, None, D - timedelta(days=5))
    p = plan(dates, POLICY, frozenset(), Moment.at(at(D - timedelta(days=7)), 9, WORKING))
    assert p.due is not None
    assert [f.rule.id for f in p.superseded] == ["signoff-d14"]
    kept, held = split_quiet(p, lambda f: f.rule.id == "publish-d7")
    assert (kept.due and kept.due.rule.id, kept.superseded, [f.rule.id for f in held]) == (
        "signoff-d14", (), ["publish-d7"])
    assert split_quiet(p, lambda f: False) == (p, ())
    kept, held = split_quiet(p, lambda f: True)
    assert (kept.due, len(held)) == (None, 2)


def test_every_day_counts_without_working_days() -> None:
    assert after_working_days(WorkingDays(weekends=False), date(2024, 11, 1), 2) == date(
        2024, 11, 3)
