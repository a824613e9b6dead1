"""The guards on the machine's transitions: what sign-off needs, which triggers need a reason."""

from __future__ import annotations

from states import BY_TRIGGER, TRANSITIONS, State
from states.guards import RecommendationView, Snapshot
from states.machine import fire

#: Every guard satisfied: what the document prints under each heading is there.
DOCUMENT = {"key_findings": "Findings.", "publication_types": "PEEL",
            "report_link": "https://www.justiceinspectorates.gov.uk/hmicfrs/"}


def test_guard_refuses_sign_off_without_pcc_response() -> None:
    """The machine's own guard says no (returns None), so no caller can skip it."""
    empty = Snapshot(pcc_response="  ", recommendations=[])
    assert fire(State.PCC_SIGNOFF, "sign_off", empty) is None


def test_s55_5b_explanation_may_come_from_a_pcc_note() -> None:
    snap = Snapshot("comments", [RecommendationView(4, None, "No action: not for this force.")],
                    **DOCUMENT)
    assert fire(State.PCC_SIGNOFF, "sign_off", snap) is State.FORWARDED_TO_PANEL
    unexplained = Snapshot("comments", [RecommendationView(4, None, None)])
    problem = BY_TRIGGER["sign_off"].guards[1].problem(unexplained)
    assert problem is not None
    assert "recommendation(s) 4" in problem
    assert "s55(5B)" in problem


def test_send_backs_and_closure_need_a_reason() -> None:
    needing = {t.trigger for t in TRANSITIONS if t.needs_reason}
    assert needing == {"return_to_force", "return_to_draft", "reopen", "mark_not_required"}
