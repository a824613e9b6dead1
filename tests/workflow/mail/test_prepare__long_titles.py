"""Long report titles in mail subjects: shortened with an ellipsis, never refused.

HMICFRS titles run past 200 characters; the subject keeps its ``[s55 #ID]`` prefix and
its tail (the days-left phrase) and cuts the title to fit the 250-character limit. The
body carries the title whole. Expected subjects are written out by hand.
"""

from __future__ import annotations

from datetime import date, datetime
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from notifications.render import render_subject, shorten
from states.escalations import LONDON
from tests.factories import ADMIN, add_people, norfolk_report
from workflow.core.clock import SystemClock
from workflow.core.settings import Settings
from workflow.escalations import sweep as escalation
from workflow.mail.delivery import deliver_pending
from workflow.responses import content
from workflow.responses.service import Workflow
from workflow.storage.models import OutboxMessage

#: 217 characters, as HMICFRS titles of joint inspections run.
TITLE = ("An inspection of how well the police and partner agencies use digital forensics in "
         "their investigations, and of how well police and the Crown Prosecution Service "
         "work together to make sure victims of crime get justice")
#: The first 199 characters of TITLE: what is left once the ellipsis takes the 200th.
CUT_199 = ("An inspection of how well the police and partner agencies use digital forensics "
           "in their investigations, and of how well police and the Crown Prosecution "
           "Service work together to make sure victims of")


def test_the_title_is_217_characters() -> None:
    assert len(TITLE) == 217
    assert TITLE.startswith(CUT_199)
    assert len(CUT_199) == 199


def _rid(wf_frozen: Workflow) -> int:
    add_people(wf_frozen)
    return content.add_report(wf_frozen, norfolk_report(title=TITLE), ADMIN).id or 0


def _outbox(wf_frozen: Workflow, kind: str) -> list[OutboxMessage]:
    with wf_frozen.db.read() as s:
        return list(s.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)))


def _delivered_subjects(settings: Settings) -> list[str]:
    return [str(message_from_bytes(f.read_bytes(), policy=policy.default)["Subject"])
            for f in sorted(Path(settings.spool_dir).glob("*.eml"))]


def test_request_force_input_with_a_217_character_title(wf_frozen: Workflow) -> None:
    """The transition succeeds; its subject is 250 characters, the title cut before
    "crime" with an ellipsis, prefix and days-left phrase whole; the body has it all."""
    rid = _rid(wf_frozen)
    assert rid == 1
    wf_frozen.fire(rid, "request_force_input", ADMIN)
    prefix, suffix = ("[s55 #1] Force comments requested: ",
                      " (statutory deadline 4 December 2024, due in 55 days)")
    expected = prefix + shorten(TITLE, 250 - len(prefix) - len(suffix)) + suffix
    assert len(expected) <= 250
    assert expected.endswith(f"\u2026{suffix}")
    (row,) = _outbox(wf_frozen, "request_force_input")
    assert row.subject == expected
    assert TITLE in row.body_text
    report = deliver_pending(wf_frozen.db, wf_frozen.settings, SystemClock())
    assert report.sent == 1
    assert _delivered_subjects(wf_frozen.settings) == [expected]


def test_overdue_escalation_with_a_217_character_title(wf_frozen: Workflow,
                                                       settings: Settings) -> None:
    """On the deadline day the overdue alert goes out with the title cut to fit."""
    _rid(wf_frozen)
    with time_machine.travel(datetime(2024, 12, 4, 9, 30, tzinfo=LONDON), tick=False):
        escalation.sweep(wf_frozen.db, wf_frozen.settings, wf_frozen.clock)
        rows = _outbox(wf_frozen, "escalation_overdue")
        assert rows
        prefix, suffix = ("[s55 #1] Deadline today: ",
                          " (statutory deadline 4 December 2024, due today)")
        expected = prefix + shorten(TITLE, 250 - len(prefix) - len(suffix)) + suffix
        assert len(expected) <= 250
        assert expected.startswith(f"{prefix}{CUT_199[:150]}")
        assert {r.subject for r in rows} == {expected}
        assert all(TITLE in r.body_text for r in rows)
        deliver_pending(wf_frozen.db, wf_frozen.settings, SystemClock())
    assert set(_delivered_subjects(settings)) == {expected}


def _ctx(**extra: Any) -> dict[str, Any]:
    return {"response_id": 7, "report_title": TITLE, "deadline": date(2024, 12, 4),
            "today": date(2024, 12, 1), "force": "Norfolk", "opcc_name": "Norfolk OPCC",
            "published_on": date(2024, 12, 2), "urgent": True, **extra}


@pytest.mark.parametrize("kind", ["request_force_input", "submit_force_input", "return_to_force",
                                  "return_to_draft", "sign_off", "publish", "publish_copy",
                                  "submit_to_portal", "mark_not_required", "escalation_draft",
                                  "escalation_force_input", "escalation_signoff",
                                  "escalation_publish", "escalation_overdue",
                                  "escalation_portal"])
def test_every_titled_subject_fits(kind: str) -> None:
    """Every kind naming the report fits a title three times the limit, ending as it would."""
    short = render_subject(kind, _ctx(report_title="Short title"))
    long = render_subject(kind, _ctx(report_title=TITLE * 3))
    assert len(long) <= 250
    head, _, tail = short.partition("Short title")
    assert long.startswith(head + TITLE[:20])
    assert long.endswith("\u2026" + tail)


def test_mail_dead_subject_fits_a_long_address() -> None:
    """An undeliverable address of any length still makes an admin alert that can be sent."""
    subject = render_subject("mail_dead", {"response_id": 3, "dead_recipient": "x" * 300})
    assert subject == "[s55 #3] Mail could not be delivered to " + "x" * 209 + "\u2026"
