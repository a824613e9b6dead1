"""The transition service on real databases: row, audit events and outbox, every time."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import time_machine
from sqlalchemy import func, select

from states import BY_TRIGGER, TRIGGERS, State
from states.words import state_words, trigger_done
from tests.factories import (
    ADMIN,
    AUDITOR,
    CHIEF_EXEC,
    FORCE,
    NORFOLK_DEADLINE,
    PANEL,
    PCC,
    answer_all,
    norfolk,
    snapshot,
)
from workflow.audit import trail
from workflow.core.errors import (
    GuardError,
    InvalidInputError,
    MissingReasonError,
    NotEditableError,
    NotFoundError,
    RoleError,
    StaleVersionError,
    TriggerNotAllowedError,
    UnknownTriggerError,
)
from workflow.responses import content
from workflow.responses.service import Workflow
from workflow.storage.models import AuditEvent, OutboxMessage, Response

# The Norfolk report came out on 10 Oct 2024; officers work on it in October/November.
DURING = "2024-10-14 10:00:00+01:00"

#: Who fires each trigger in the happy path, and its parameters.
HAPPY: dict[str, tuple[str, dict[str, Any]]] = {
    "request_force_input": (ADMIN, {}),
    "submit_force_input": (FORCE, {}),
    "sign_off": (PCC, {}),
    "publish": (ADMIN, {"url": "https://www.norfolk-pcc.gov.uk/s55/asb-spotlight"}),
    "submit_to_portal": (ADMIN, {"portal_reference": "HMI-2024-0457"}),
}


@pytest.fixture
def rid(wf_empty: Workflow) -> int:
    with time_machine.travel(DURING, tick=False):
        return norfolk(wf_empty)


def count(wf_empty: Workflow, model: type) -> int:
    with wf_empty.db.read() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def state_of(wf_empty: Workflow, rid: int) -> str:
    with wf_empty.db.read() as s:
        row = s.get(Response, rid)
        assert row is not None
        return row.state


def drive(wf_empty: Workflow, rid: int, until: State) -> None:
    """Walk the happy path until the response is in ``until``."""
    with time_machine.travel(DURING, tick=False):
        answer_all(wf_empty, rid)
        content.edit_text(wf_empty, rid, "pcc_response", "I welcome this report.", PCC)
    for trigger, (actor, params) in HAPPY.items():
        if state_of(wf_empty, rid) == until.value:
            return
        with time_machine.travel("2024-11-20 10:00:00+00:00", tick=False):
            wf_empty.fire(rid, trigger, actor, params=params)
    assert state_of(wf_empty, rid) == until.value


class TestHappyPath:
    def test_norfolk_through_every_state(self, wf_empty: Workflow, rid: int) -> None:
        """Each trigger moves the row, appends one transition event and queues its mail."""
        drive(wf_empty, rid, State.DRAFT)
        seen = []
        for trigger, (actor, params) in HAPPY.items():
            events_before, mail_before = count(wf_empty, AuditEvent), count(wf_empty, OutboxMessage)
            with time_machine.travel("2024-11-20 10:00:00+00:00", tick=False):
                row = wf_empty.fire(rid, trigger, actor, params=params)
            assert row.state == BY_TRIGGER[trigger].dest.value
            with wf_empty.db.read() as s:
                last = trail.events_for(s, rid)
            transitions = [e for e in last if e.action == "transition"]
            assert transitions[-1].trigger == trigger
            assert transitions[-1].actor == actor
            assert transitions[-1].to_state == row.state
            assert count(wf_empty, AuditEvent) > events_before
            assert count(wf_empty, OutboxMessage) > mail_before, f"{trigger} queued no mail"
            seen.append(row.state)
        assert seen == ["force_input", "pcc_signoff", "forwarded_to_panel", "published",
                        "portal_submitted"]
        assert trail.verify(wf_empty.db).ok

    def test_publish_records_url_date_and_on_time(self, wf_empty: Workflow, rid: int) -> None:
        drive(wf_empty, rid, State.FORWARDED_TO_PANEL)
        with time_machine.travel("2024-12-04 16:00:00+00:00", tick=False):
            row = wf_empty.fire(rid, "publish", ADMIN, params=HAPPY["publish"][1])
        assert row.published_on == NORFOLK_DEADLINE
        assert row.published_url == HAPPY["publish"][1]["url"]

    def test_request_force_input_defaults_to_d_minus_28(self, wf_empty: Workflow, rid: int) -> None:
        """s55(4): the date the force must comment by is recorded (default D-28)."""
        with time_machine.travel(DURING, tick=False):
            row = wf_empty.fire(rid, "request_force_input", ADMIN)
        assert row.force_input_due == date(2024, 11, 6)

    def test_request_force_input_takes_a_date(self, wf_empty: Workflow, rid: int) -> None:
        with time_machine.travel(DURING, tick=False):
            row = wf_empty.fire(rid, "request_force_input", ADMIN,
                          params={"force_input_due": "1 November 2024"})
        assert row.force_input_due == date(2024, 11, 1)

    def test_send_back_and_resubmit(self, wf_empty: Workflow, rid: int) -> None:
        drive(wf_empty, rid, State.PCC_SIGNOFF)
        with time_machine.travel(DURING, tick=False):
            wf_empty.fire(rid, "return_to_force", PCC, reason="Rec 2 answer is too thin")
            assert state_of(wf_empty, rid) == "force_input"
            wf_empty.fire(rid, "submit_force_input", FORCE)
            wf_empty.fire(rid, "return_to_draft", ADMIN, reason="Redraft after panel chat")
        with wf_empty.db.read() as s:
            reasons = [e.reason for e in trail.events_for(s, rid) if e.action == "transition"]
        assert "Rec 2 answer is too thin" in reasons
        assert "Redraft after panel chat" in reasons
        assert state_of(wf_empty, rid) == "draft"

    def test_mark_not_required_closes_with_its_reason(self, wf_empty: Workflow, rid: int) -> None:
        with time_machine.travel(DURING, tick=False):
            row = wf_empty.fire(rid, "mark_not_required", ADMIN,
                          reason="Duplicated by our force-specific PEEL report")
        assert row.state == "not_required"
        assert row.closed_reason == "Duplicated by our force-specific PEEL report"


REFUSALS = [(t, s) for t in TRIGGERS for s in State if s not in BY_TRIGGER[t].sources
            and s in (State.DRAFT, State.FORCE_INPUT, State.PCC_SIGNOFF,
                      State.FORWARDED_TO_PANEL, State.PUBLISHED, State.PORTAL_SUBMITTED)]


@pytest.mark.parametrize(("trigger", "state"), REFUSALS, ids=[f"{t}-{s}" for t, s in REFUSALS])
def test_illegal_trigger_is_refused_and_changes_nothing(wf_empty: Workflow, rid: int, trigger: str,
                                                        state: State) -> None:
    """A trigger from the wrong state names the allowed ones; row, audit and outbox unchanged."""
    drive(wf_empty, rid, state)
    before = snapshot(wf_empty)
    actor, params = HAPPY.get(trigger, (ADMIN, {}))
    with pytest.raises(TriggerNotAllowedError) as err:
        wf_empty.fire(rid, trigger, actor, reason="because", params=params)
    assert str(err.value).startswith(f"Response {rid} cannot be {trigger_done(trigger)}: it is "
                                     f"{state_words(state.value)}")
    assert "_" not in str(err.value)  # no trigger or state identifier
    assert snapshot(wf_empty) == before


class TestRefusals:
    """Each refusal: one clear message, and the database exactly as it was."""

    def refused(self, wf_empty: Workflow, exc: type[Exception], fn: Any, *args: Any,
                **kwargs: Any) -> str:
        before = snapshot(wf_empty)
        with pytest.raises(exc) as err:
            fn(*args, **kwargs)
        assert snapshot(wf_empty) == before
        message = str(err.value)
        assert "\n" not in message
        return message

    def test_unknown_response(self, wf_empty: Workflow, rid: int) -> None:
        msg = self.refused(wf_empty, NotFoundError, wf_empty.fire, 999, "request_force_input",
                           ADMIN)
        assert msg == "no response 999"

    def test_unknown_person(self, wf_empty: Workflow, rid: int) -> None:
        msg = self.refused(wf_empty, NotFoundError, wf_empty.fire, rid, "request_force_input",
                           "nobody@example.org")
        assert msg == "no person nobody@example.org"

    def test_unknown_trigger(self, wf_empty: Workflow, rid: int) -> None:
        msg = self.refused(wf_empty, UnknownTriggerError, wf_empty.fire, rid, "approve", ADMIN)
        assert msg.startswith("unknown trigger 'approve'; triggers: request_force_input")

    @pytest.mark.parametrize("actor", [FORCE, PCC, PANEL, AUDITOR, CHIEF_EXEC])
    def test_actor_without_the_role(self, wf_empty: Workflow, rid: int, actor: str) -> None:
        msg = self.refused(wf_empty, RoleError, wf_empty.fire, rid, "request_force_input", actor)
        assert msg.startswith(f"{actor} may not ask the force for its comments on response {rid}: "
                              "needs role admin, holds ")

    def test_only_the_pcc_signs_off(self, wf_empty: Workflow, rid: int) -> None:
        drive(wf_empty, rid, State.PCC_SIGNOFF)
        msg = self.refused(wf_empty, RoleError, wf_empty.fire, rid, "sign_off", ADMIN)
        assert "needs role pcc, holds admin" in msg

    def test_submit_force_input_needs_every_recommendation_answered(self, wf_empty: Workflow,
                                                                   rid: int) -> None:
        with time_machine.travel(DURING, tick=False):
            wf_empty.fire(rid, "request_force_input", ADMIN)
            content.edit_recommendation(wf_empty, rid, 1, "force_response", "Done.", FORCE)
        msg = self.refused(wf_empty, GuardError, wf_empty.fire, rid, "submit_force_input", FORCE)
        assert msg == (f"Response {rid} cannot be submitted with the force's comments yet: "
                       "recommendation(s) 2, 3, 4, 8 have no response from the force")

    def test_sign_off_needs_the_pcc_response(self, wf_empty: Workflow, rid: int) -> None:
        drive(wf_empty, rid, State.PCC_SIGNOFF)
        content.edit_text(wf_empty, rid, "pcc_response", "   ", PCC)
        msg = self.refused(wf_empty, GuardError, wf_empty.fire, rid, "sign_off", PCC)
        assert msg == f"Response {rid} cannot be signed off yet: the PCC response is empty"

    def test_sign_off_needs_every_recommendation_explained(self, wf_empty: Workflow,
                                                           rid: int) -> None:
        """s55(5B): a recommendation added after force input blocks sign-off until explained."""
        drive(wf_empty, rid, State.PCC_SIGNOFF)
        content.add_recommendation(wf_empty, rid, {"number": 9, "text": "By 1 May 2025, do X."},
                                   ADMIN)
        msg = self.refused(wf_empty, GuardError, wf_empty.fire, rid, "sign_off", PCC)
        assert "recommendation(s) 9 lack an explanation" in msg
        assert "s55(5B)" in msg

    @pytest.mark.parametrize("trigger", ["return_to_draft", "mark_not_required"])
    @pytest.mark.parametrize("reason", [None, "", "   "])
    def test_missing_reason(self, wf_empty: Workflow, rid: int, trigger: str,
                            reason: str | None) -> None:
        if trigger == "return_to_draft":
            with time_machine.travel(DURING, tick=False):
                wf_empty.fire(rid, "request_force_input", ADMIN)
        msg = self.refused(wf_empty, MissingReasonError, wf_empty.fire, rid, trigger, ADMIN,
                           reason=reason)
        assert msg == f"Response {rid} cannot be {trigger_done(trigger)} without a reason"

    @pytest.mark.parametrize(("params", "message"), [
        ({}, "record the publication of response 1: needs url (--url)"),
        ({"url": "www.example.org/x"}, "url: 'www.example.org/x' is not an http(s) URL"),
        ({"url": "https://x.example/a\r\nBcc: evil@x"}, "is not an http(s) URL"),
        ({"url": "https://x.example/", "published_on": "2024-02-31"},
         "published on: 2024-02-31 is not a real date"),
        ({"url": "https://x.example/", "published_on": "2024-10-01"},
         "published on: 1 October 2024 is before the report itself was published "
         "(10 October 2024)"),
        ({"url": "https://x.example/", "published_on": "2030-01-01"},
         "published on: 1 January 2030 is in the future"),
        ({"url": "https://x.example/", "portal_reference": "X"},
         "record the publication of response 1: does not take portal_reference"),
    ])
    def test_bad_publish_parameters(self, wf_empty: Workflow, rid: int, params: dict[str, str],
                                    message: str) -> None:
        drive(wf_empty, rid, State.FORWARDED_TO_PANEL)
        with time_machine.travel("2024-11-25 12:00:00+00:00", tick=False):
            msg = self.refused(wf_empty, InvalidInputError, wf_empty.fire, rid, "publish", ADMIN,
                               params=params)
        assert message in msg

    @pytest.mark.parametrize(("due", "message"), [
        ("31 February 2025", "cannot read '31 February 2025' as a date"),
        ("2024-11-31", "2024-11-31 is not a real date"),
        ("2024-10-01", "1 October 2024 is in the past"),
        ("2024-12-25", "25 December 2024 is after the statutory deadline, 4 December 2024"),
    ])
    def test_bad_force_input_due(self, wf_empty: Workflow, rid: int, due: str,
                                 message: str) -> None:
        with time_machine.travel(DURING, tick=False):
            msg = self.refused(wf_empty, InvalidInputError, wf_empty.fire, rid,
                               "request_force_input",
                               ADMIN, params={"force_input_due": due})
        assert msg.startswith("force input due date: ")
        assert message in msg

    def test_submit_to_portal_needs_a_reference(self, wf_empty: Workflow, rid: int) -> None:
        drive(wf_empty, rid, State.PUBLISHED)
        msg = self.refused(wf_empty, InvalidInputError, wf_empty.fire, rid, "submit_to_portal",
                           ADMIN,
                           params={"portal_reference": "  "})
        assert msg == ("record the portal submission of response 1: needs portal reference "
                       "(--portal-reference)")

    def test_stale_version(self, wf_empty: Workflow, rid: int) -> None:
        """An officer acting on what they loaded at version 1 is told it changed since."""
        with time_machine.travel(DURING, tick=False):
            content.edit_text(wf_empty, rid, "key_findings", "Revised findings.", ADMIN)
            msg = self.refused(wf_empty, StaleVersionError, wf_empty.fire, rid,
                               "request_force_input",
                               ADMIN, expected_version=1)
        assert msg == (f"response {rid} changed since loaded (loaded version 1, now version 2);"
                       " reload it and try again")

    def test_signed_off_content_cannot_be_edited(self, wf_empty: Workflow, rid: int) -> None:
        drive(wf_empty, rid, State.FORWARDED_TO_PANEL)
        msg = self.refused(wf_empty, NotEditableError, content.edit_text, wf_empty, rid,
                           "pcc_response",
                           "new words", ADMIN)
        assert msg == ("The PCC's response of response 1 cannot be edited: it was signed off; to "
                       "change it, reopen the response giving a reason, then edit it and sign "
                       "it off again")


class TestDeadlineOverride:
    def test_override_is_audited_with_reason(self, wf_empty: Workflow, rid: int) -> None:
        change = content.override_deadline(wf_empty, rid, "2024-12-11", "HMICFRS republished the "
                                           "report on 17 Oct", ADMIN)
        assert (change.old, change.new, change.statutory) == (
            NORFOLK_DEADLINE, date(2024, 12, 11), NORFOLK_DEADLINE)
        with wf_empty.db.read() as s:
            row = s.get(Response, rid)
            assert row is not None
            assert row.deadline_overridden
            assert row.signoff_due == date(2024, 11, 27)
            last = trail.events_for(s, rid)[-1]
        assert last.action == "deadline_override"
        assert "republished" in (last.reason or "")

    def test_override_needs_a_reason(self, wf_empty: Workflow, rid: int) -> None:
        before = snapshot(wf_empty)
        with pytest.raises(MissingReasonError):
            content.override_deadline(wf_empty, rid, "2024-12-11", " ", ADMIN)
        assert snapshot(wf_empty) == before

    @pytest.mark.parametrize(("day", "message"), [
        ("2024-10-09", "deadline: 2024-10-09 is before the report was published (2024-10-10)"),
        ("2024-02-30", "deadline: 2024-02-30 is not a real date"),
        ("next week", "deadline: cannot read 'next week' as a date (use YYYY-MM-DD)"),
    ])
    def test_impossible_deadlines(self, wf_empty: Workflow, rid: int, day: str,
                                  message: str) -> None:
        before = snapshot(wf_empty)
        with pytest.raises(InvalidInputError) as err:
            content.override_deadline(wf_empty, rid, day, "typo", ADMIN)
        assert str(err.value) == message
        assert snapshot(wf_empty) == before


def test_the_deadline_cannot_move_once_signed_off(wf_empty: Workflow, rid: int) -> None:
    """The signed text states the deadline: overriding it after sign-off would make the
    text differ from what the PCC signed, so it is refused and nothing changes."""
    drive(wf_empty, rid, State.FORWARDED_TO_PANEL)
    before = snapshot(wf_empty)
    with pytest.raises(NotEditableError) as info:
        content.override_deadline(wf_empty, rid, "2024-12-11", "republished", ADMIN)
    assert str(info.value) == (f"The deadline of response {rid} cannot be edited: it was "
                               "signed off; to change it, reopen the response giving a "
                               "reason, then edit it and sign it off again")
    assert info.value.cli_hint == f"s55 reopen {rid} --reason WHY"
    assert snapshot(wf_empty) == before

