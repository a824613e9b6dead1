"""A mail's subject and body name the same date for the same thing: the statutory deadline is
always called that, with the same days to it in both; a date the OPCC asked for is labelled
as the date asked for, never left to pass for the deadline."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest

from notifications.render import render

DEADLINE = date(2027, 1, 6)
ASKED = date(2026, 12, 9)

CONTEXT: dict[str, Any] = {
    "opcc_name": "OPCC for Lancashire", "force": "Lancashire", "recipient_name": "Fay Force",
    "response_id": 3, "report_title": "Custody inspection", "report_link": "",
    "report_published": date(2026, 11, 12), "deadline": DEADLINE,
    "force_input_due": ASKED, "signoff_due": date(2026, 12, 23),
    "published_url": "https://opcc.example/r", "published_on": None, "portal_reference": None,
    "reason": "More detail on recommendation 2.", "actor": "Ann Admin",
    "state": "force_input",
    "response": {"key_findings": "k", "cc_response": "c", "pcc_response": None,
                 "afi_statement": None},
    "recommendations": [{"number": 1, "text": "Do better.", "due_date": None,
                         "force_response": None, "pcc_note": None}],
    "areas": [],
    "today": date(2026, 12, 7), "recipient_roles": ["force"],
    "contact": {"name": "Ann Admin", "email": "ann@opcc.example"},
    "waiting_on": "force liaison", "rule_id": "F-1", "summary": "Force comments outstanding",
    "severity": "reminder", "urgent": False, "occurrence": 0, "due_day": ASKED,
    "moved_from": None, "moved_because": None, "notify_roles": ["force"], "cc_roles": [],
    "superseded": [],
}

#: Mail about an open response, and the state each is sent in.
OPEN_KINDS = {
    "request_force_input": "force_input", "return_to_force": "force_input",
    "submit_force_input": "pcc_signoff", "return_to_draft": "draft",
    "sign_off": "forwarded_to_panel", "reopen": "pcc_signoff",
    "escalation_draft": "draft", "escalation_force_input": "force_input",
    "escalation_signoff": "pcc_signoff", "escalation_publish": "forwarded_to_panel",
    "escalation_overdue": "forwarded_to_panel",
}
DATE = r"\d{1,2} (January|February|March|April|May|June|July|August|September|October|" \
       r"November|December) \d{4}"


@pytest.mark.parametrize("today", [date(2026, 12, 7), DEADLINE, date(2027, 1, 9)])
@pytest.mark.parametrize("kind", sorted(OPEN_KINDS))
def test_the_subject_names_the_statutory_deadline_as_the_body_does(kind: str,
                                                                   today: date) -> None:
    """The subject's date is the statutory deadline, labelled so, and the body gives the
    same date and the same days to it under the same label."""
    out = render(kind, {**CONTEXT, "state": OPEN_KINDS[kind], "today": today})
    found = re.search(rf"\(statutory deadline ({DATE}), ([^)]+)\)", out.subject)
    assert found, out.subject
    assert found.group(1) == "6 January 2027"
    assert f"\nStatutory deadline: 6 January 2027 ({found.group(3)})\n" in out.text
    for part in (out.subject, out.text, out.html):
        assert "days left" not in part
        assert not re.search(r"-\d+ day", part)


def test_the_forces_request_labels_the_date_asked_for() -> None:
    """The force's request: the subject's date is the statutory deadline; the date the
    OPCC asked for is a different date, and the body says which is which."""
    out = render("request_force_input", CONTEXT)
    assert out.subject == ("[s55 #3] Force comments requested: Custody inspection "
                           "(statutory deadline 6 January 2027, due in 30 days)")
    assert "\nBy:  9 December 2026 (due in 2 days), the date the OPCC asked for\n" in out.text
    assert "\nStatutory deadline: 6 January 2027 (due in 30 days)\n" in out.text
    assert "9 December 2026 (due in 2 days), the date the OPCC asked for" in out.html


def test_the_publication_mail_says_how_early_in_subject_and_body() -> None:
    """Published 30 days early: both the subject and the body say so, never "0 days late"."""
    out = render("publish", {**CONTEXT, "state": "published",
                             "published_on": date(2026, 12, 7), "today": date(2026, 12, 7)})
    assert out.subject == "[s55 #3] Published 30 days early: Custody inspection"
    assert "\nStatutory deadline: 6 January 2027 (published 30 days early)\n" in out.text
    assert "30 days before the statutory deadline of 6 January 2027" in out.text
    assert "0 days late" not in out.subject + out.text + out.html
