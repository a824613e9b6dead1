"""No trigger or state identifier reaches a person: every state and trigger has its words,
and the refusals people read (any trigger from any state) and every mail s55 sends about a
response (to each role, in each state) say them in words only."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest

from notifications.render import KINDS, render
from states import TRIGGERS, State
from states.words import (
    STATE_NAMES,
    STATE_WORDS,
    TRIGGER_DO,
    TRIGGER_DONE,
    TRIGGER_PAST,
)
from workflow.core.errors import (
    GuardError,
    MissingReasonError,
    NotEditableError,
    SeparationOfDutiesError,
    TriggerNotAllowedError,
)

IDENTIFIERS = re.compile(r"\b(" + "|".join(sorted(
    {s.value for s in State if "_" in s.value} | {t for t in TRIGGERS if "_" in t},
    key=len, reverse=True)) + r")\b")


@pytest.mark.parametrize("table", [STATE_WORDS, STATE_NAMES])
def test_every_state_has_words(table: dict[str, str]) -> None:
    assert set(table) == {s.value for s in State}


@pytest.mark.parametrize("table", [TRIGGER_DONE, TRIGGER_DO, TRIGGER_PAST])
def test_every_trigger_has_words(table: dict[str, str]) -> None:
    assert set(TRIGGERS) <= set(table)


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("trigger", TRIGGERS)
def test_refusals_say_states_and_triggers_in_words(trigger: str, state: State) -> None:
    messages = [
        TriggerNotAllowedError(1, trigger, state.value, list(TRIGGERS)),
        GuardError(1, trigger, state.value, ["the PCC response is empty"]),
        MissingReasonError(trigger, 1),
        NotEditableError(1, state.value, "the key findings"),
        SeparationOfDutiesError("p@x.example", trigger, 1, "submitted the force's comments"),
    ]
    for message in map(str, messages):
        assert not IDENTIFIERS.search(message), message


CONTEXT: dict[str, Any] = {
    "opcc_name": "OPCC for Lancashire", "force": "Lancashire", "recipient_name": "Sam",
    "response_id": 3, "report_title": "Custody inspection", "report_link": "",
    "report_published": date(2026, 11, 12), "deadline": date(2027, 1, 6),
    "force_input_due": date(2026, 12, 9), "signoff_due": date(2026, 12, 23),
    "published_url": "https://opcc.example/r", "published_on": date(2026, 12, 7),
    "portal_reference": "HMI-1", "reason": "More detail.", "actor": "Ann Admin",
    "response": {"key_findings": "k", "cc_response": "c", "pcc_response": "p",
                 "afi_statement": None},
    "recommendations": [{"number": 1, "text": "Do better.", "due_date": None,
                         "force_response": "Done.", "pcc_note": None}],
    "areas": [], "today": date(2026, 12, 7),
    "contact": {"name": "Ann Admin", "email": "ann@opcc.example"},
    "waiting_on": "force liaison", "rule_id": "F-1", "summary": "Force comments outstanding",
    "severity": "reminder", "urgent": False, "occurrence": 0, "due_day": date(2026, 12, 9),
    "moved_from": None, "moved_because": None, "notify_roles": ["force"], "cc_roles": [],
    "superseded": [],
}
ABOUT_A_RESPONSE = [k for k in KINDS if k.startswith("escalation_") or k in (
    "request_force_input", "submit_force_input", "return_to_force", "return_to_draft",
    "sign_off", "publish", "submit_to_portal", "reopen", "mark_not_required")]


@pytest.mark.parametrize("role", ["admin", "force", "pcc", "chief_executive", "panel"])
@pytest.mark.parametrize("kind", ABOUT_A_RESPONSE)
def test_mail_says_states_and_triggers_in_words(kind: str, role: str) -> None:
    for state in State:
        out = render(kind, {**CONTEXT, "state": state.value, "recipient_roles": [role]})
        for part in (out.subject, out.text, out.html):
            found = IDENTIFIERS.search(part)
            assert found is None, f"{kind} to {role} in {state.value}: {found}"
