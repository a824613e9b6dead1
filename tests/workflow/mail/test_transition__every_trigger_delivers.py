"""End to end: every lifecycle trigger fired through ``Workflow.fire`` delivers its mail.

Each step fires one trigger, runs ``deliver_pending`` against a real aiosmtpd server and
checks what arrived: recipients, subject, both parts, and the values the transition
itself just wrote (the queued mail reads the response as the service left it, with no
reload).
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import Message
from typing import Any

import time_machine
from smtp_server import Server

from states import TRIGGERS
from tests.factories import (
    ADMIN,
    AUDITOR,
    FORCE,
    PANEL,
    PCC,
    answer_all,
    norfolk,
    norfolk_report,
)
from workflow.audit import trail
from workflow.core.clock import FixedClock
from workflow.mail import delivery
from workflow.responses import content
from workflow.responses.service import Workflow

DURING = "2024-10-14 10:00:00+01:00"
LATER = FixedClock(datetime(2025, 1, 1, tzinfo=UTC))  # everything queued is due
TITLE = norfolk_report().title
URL = "https://www.norfolk-pcc.gov.uk/s55/asb-spotlight"
COPIES = {"s55-comments@hmicfrs.invalid", "s55-comments@homeoffice.invalid"}
#: A sign-off and a publication also mail the auditors a checkpoint of the audit chain.
CHECKPOINTED = {"sign_off", "publish"}

#: (trigger, actor, reason, params, who must receive it, text the body must carry)
STEPS: list[tuple[str, str, str | None, dict[str, Any], set[str], str]] = [
    ("request_force_input", ADMIN, None, {}, {FORCE}, "6 November 2024"),
    ("submit_force_input", FORCE, None, {}, {PCC}, TITLE),
    ("return_to_force", PCC, "Rec 2 answer is too thin", {}, {FORCE},
     "Rec 2 answer is too thin"),
    ("submit_force_input", FORCE, None, {}, {PCC}, TITLE),
    ("return_to_draft", ADMIN, "Redraft after the panel's comments", {}, {ADMIN},
     "Redraft after the panel's comments"),
    ("request_force_input", ADMIN, None, {"force_input_due": "1 November 2024"}, {FORCE},
     "1 November 2024"),
    ("submit_force_input", FORCE, None, {}, {PCC}, TITLE),
    # The signer's receipt carries the text as signed.
    ("sign_off", PCC, None, {}, {PANEL, FORCE, PCC}, "I welcome this report."),
    ("reopen", ADMIN, "A typo in the PCC's words", {}, {PCC, PANEL, FORCE},
     "A typo in the PCC's words"),
    ("sign_off", PCC, None, {}, {PANEL, FORCE, PCC}, "I welcome this report."),
    ("publish", ADMIN, None, {"url": URL}, {ADMIN, PANEL} | COPIES, URL),
    ("submit_to_portal", ADMIN, None, {"portal_reference": "HMI-2024-0457"}, {ADMIN},
     "HMI-2024-0457"),
]


def _parts(message: Message) -> dict[str, str]:
    return {p.get_content_type(): p.get_content() for p in message.iter_parts()}  # type: ignore[attr-defined]


def _deliver_and_check(wf_empty: Workflow, server: Server, rid: int, trigger: str,
                       recipients: set[str], carries: str) -> None:
    before = len(server.handler.received)
    cfg = wf_empty.settings.model_copy(update={"smtp_host": server.host, "smtp_port": server.port,
                                         "smtp_security": "none"})
    report = delivery.deliver_pending(wf_empty.db, cfg, LATER)
    got = server.handler.received[before:]
    if trigger in CHECKPOINTED:
        recipients = recipients | {AUDITOR}
    assert (report.sent, report.error) == (len(recipients), None), trigger
    assert sorted(r.recipients[0] for r in got) == sorted(recipients), trigger
    for r in got:
        subject = str(r.message["Subject"])
        if trigger in CHECKPOINTED and r.recipients[0] == AUDITOR:
            assert subject.startswith("[s55] Audit checkpoint"), (trigger, subject)
            continue
        if r.recipients[0] not in COPIES:
            assert TITLE in subject, (trigger, subject)
            assert f"#{rid}" in subject, (trigger, subject)
        parts = _parts(r.message)
        assert set(parts) == {"text/plain", "text/html"}, trigger
        assert carries in parts["text/plain"], (trigger, r.recipients)
        assert "<html" in parts["text/html"].lower(), trigger


def test_every_trigger_delivers_its_mail(wf_empty: Workflow, smtp_server: Server) -> None:
    """Through a full lifecycle (send-backs included), each fired trigger's mail reaches
    exactly its recipients with the report title and response id in the subject, a text
    and an HTML part, and the values that very transition wrote (force-input due date,
    published URL, portal reference)."""
    with time_machine.travel(DURING, tick=False):
        rid = norfolk(wf_empty)
        answer_all(wf_empty, rid)
        content.edit_text(wf_empty, rid, "pcc_response", "I welcome this report.", PCC)
    fired = set()
    for trigger, actor, reason, params, recipients, carries in STEPS:
        with time_machine.travel("2024-10-20 10:00:00+01:00", tick=False):
            wf_empty.fire(rid, trigger, actor, reason=reason, params=params)
        _deliver_and_check(wf_empty, smtp_server, rid, trigger, recipients, carries)
        fired.add(trigger)
    assert fired == set(TRIGGERS) - {"mark_not_required"}
    assert trail.verify(wf_empty.db).ok


def test_mark_not_required_delivers_its_mail(wf_empty: Workflow, smtp_server: Server) -> None:
    """Closing a response as not required tells the admins why."""
    with time_machine.travel(DURING, tick=False):
        rid = norfolk(wf_empty)
        wf_empty.fire(rid, "mark_not_required", ADMIN,
                reason="Duplicated by our force-specific PEEL report")
    _deliver_and_check(wf_empty, smtp_server, rid, "mark_not_required", {ADMIN},
                       "Duplicated by our force-specific PEEL report")
