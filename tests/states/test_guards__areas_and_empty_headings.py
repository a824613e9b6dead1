"""The guards a real office meets: every area for improvement answered before the force's
comments go to the PCC, and nothing the signed document would print as an empty heading;
and the way back after sign-off (pure: the table and the machine)."""

from __future__ import annotations

import pytest

from states import BY_TRIGGER, EDITABLE, AreaView, RecommendationView, Snapshot, State
from states.machine import fire, mermaid

DOCUMENT = {"key_findings": "Findings.", "publication_types": "PEEL",
            "report_link": "https://www.justiceinspectorates.gov.uk/hmicfrs/"}
RECS = [RecommendationView(1, "The force will act.", None)]


def test_the_force_answers_every_area_before_submitting() -> None:
    """An area without the force's response stops submit_force_input, naming it."""
    areas = [AreaView(1, "Answered."), AreaView(2, None), AreaView(5, "  ")]
    snap = Snapshot(None, RECS, areas, response_id=3)
    assert fire(State.FORCE_INPUT, "submit_force_input", snap) is None
    problems = [g.problem(snap) for g in BY_TRIGGER["submit_force_input"].guards]
    assert [p for p in problems if p] == [
        "area(s) for improvement 2, 5 have no response from the force"]
    answered = Snapshot(None, RECS, [AreaView(1, "a"), AreaView(2, "b")])
    assert fire(State.FORCE_INPUT, "submit_force_input", answered) is State.PCC_SIGNOFF


@pytest.mark.parametrize(("missing", "named"), [
    ("key_findings", "key findings (s55 edit 7 key_findings --file FILE)"),
    ("publication_types", "publication types (s55 report edit 7 publication_types TYPES)"),
    ("report_link", "the report's link (s55 report edit 7 link URL)"),
])
def test_sign_off_names_each_heading_the_document_would_print_empty(missing: str,
                                                                    named: str) -> None:
    snap = Snapshot("The PCC's words.", RECS, **{**DOCUMENT, missing: " "}, response_id=7)
    assert fire(State.PCC_SIGNOFF, "sign_off", snap) is None
    [problem] = [p for g in BY_TRIGGER["sign_off"].guards if (p := g.problem(snap))]
    assert problem == f"the document would print these headings empty: {named}"


def test_every_empty_heading_is_named_at_once() -> None:
    """With nothing to show, all of them, and the Chief Constable's response (with no
    recommendation or area, nothing else fills its heading)."""
    snap = Snapshot("The PCC's words.", [], response_id=2)
    [problem] = [p for g in BY_TRIGGER["sign_off"].guards if (p := g.problem(snap))]
    assert problem == (
        "the document would print these headings empty: key findings (s55 edit 2 "
        "key_findings --file FILE), publication types (s55 report edit 2 publication_types "
        "TYPES), the report's link (s55 report edit 2 link URL), the Chief Constable's "
        "response (s55 edit 2 cc_response --file FILE)")
    with_areas = Snapshot("The PCC's words.", [], [AreaView(1, "Done.")], **DOCUMENT)
    assert fire(State.PCC_SIGNOFF, "sign_off", with_areas) is State.FORWARDED_TO_PANEL


def test_reopen_is_the_way_back_after_sign_off_and_before_publication() -> None:
    spec = BY_TRIGGER["reopen"]
    assert (spec.sources, spec.dest, spec.needs_reason) == (
        (State.FORWARDED_TO_PANEL,), State.PCC_SIGNOFF, True)
    assert {r.value for r in spec.roles} == {"admin", "pcc"}
    assert State.FORWARDED_TO_PANEL not in EDITABLE
    assert State.PCC_SIGNOFF in EDITABLE
    assert fire(State.FORWARDED_TO_PANEL, "reopen", Snapshot(None, [])) is State.PCC_SIGNOFF
    assert "    forwarded_to_panel --> pcc_signoff: reopen (reason) [admin, pcc]" in (
        mermaid().splitlines())
