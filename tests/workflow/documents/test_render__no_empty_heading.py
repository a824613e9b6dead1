"""The document a PCC signs never prints a heading with nothing under it: areas for
improvement with the force's response to each, "There are no areas for improvement made."
when there are none (the published layout's words), "Police Forces" showing the
response's force when the report names none. Rendered and imported back, the areas and
answers are the same (generated areas, and the real import on both databases); a
fingerprint recorded under the text before these defaults still verifies."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from factories import ADMIN, PCC, norfolk_report
from hypothesis import example, given, settings
from hypothesis import strategies as st
from journey_support import (
    AREAS,
    SIGNING,
    empty_headings,
    frozen_at,
    ready_to_sign,
    register,
    with_areas,
)

from workflow.assurance import replay
from workflow.documents import signature
from workflow.documents.model import NO_AREAS, NO_RECOMMENDATIONS
from workflow.documents.parse import parse_document
from workflow.documents.render import ResponseView, render_response, render_view
from workflow.responses import content
from workflow.responses.importing import import_document
from workflow.responses.service import Workflow
from workflow.storage.models import (
    AreaForImprovement,
    InspectionReport,
    Recommendation,
    Response,
)

_signing = frozen_at(SIGNING)


def test_the_signed_document_has_every_area_and_no_empty_heading(wf_empty: Workflow) -> None:
    register(wf_empty)
    ready_to_sign(wf_empty, 1)
    wf_empty.fire(1, "sign_off", PCC)
    md, html = render_response(wf_empty.db, 1, "md"), render_response(wf_empty.db, 1, "html")
    assert empty_headings(md) == []
    for n, text in AREAS.items():
        assert f"### Area for Improvement {n}\n\n{text}\n" in md
        assert f"**{text}**\n\nThe force's answer to area {n}.\n" in md
        assert f'<h3 id="cc-afi-{n}">Area for Improvement {n}</h3>' in html
        assert f"The force's answer to area {n}." in html


def test_without_areas_the_document_says_so_in_the_published_words(wf_empty: Workflow) -> None:
    """No areas and no statement: the Norfolk response's sentence, in both formats; an empty
    "Police Forces" shows the response's force."""
    register(wf_empty, norfolk_report(afi_statement=None, police_forces=""))
    md, html = render_response(wf_empty.db, 1, "md"), render_response(wf_empty.db, 1, "html")
    assert f"## Areas For Improvement\n\n{NO_AREAS}\n" in md
    assert f"<p>{NO_AREAS}</p>" in html
    assert "### Police Forces:\n\nNorfolk\n" in md
    assert "<dt>Police Forces:</dt><dd>Norfolk</dd>" in html
    ready_to_sign(wf_empty, 1)
    wf_empty.fire(1, "sign_off", PCC)
    assert empty_headings(render_response(wf_empty.db, 1, "md")) == []


def test_without_recommendations_the_document_says_so(wf_empty: Workflow) -> None:
    register(wf_empty, with_areas(recommendations=[]))
    md = render_response(wf_empty.db, 1, "md")
    assert f"## Recommendations\n\n{NO_RECOMMENDATIONS}\n" in md


def test_rendered_and_imported_back_the_areas_and_answers_are_the_same(wf_empty: Workflow,
                                                                        tmp_path: Path) -> None:
    """The real path: signed in s55, rendered, imported as another force's response."""
    register(wf_empty)
    ready_to_sign(wf_empty, 1)
    wf_empty.fire(1, "sign_off", PCC)
    path = tmp_path / "signed.md"
    path.write_text(render_response(wf_empty.db, 1, "md"), encoding="utf-8")
    other = import_document(wf_empty.db, path, actor=ADMIN, force="Suffolk").response_id
    with wf_empty.db.engine.connect() as conn:
        from sqlalchemy import text

        rows = conn.execute(text("SELECT response_id, number, text, force_response FROM "
                                 "area_for_improvement ORDER BY response_id, number")).all()
    mine = [r[1:] for r in rows if r[0] == 1]
    assert mine == [(n, t, f"The force's answer to area {n}.") for n, t in AREAS.items()]
    assert [r[1:] for r in rows if r[0] == other] == mine
    assert replay.verify(wf_empty.db) == []


# -- generated areas, rendered and parsed back (pure) -----------------------------------------

WORDS = ("force", "should", "improve", "its", "records", "victims", "officers", "review",
         "every", "case", "plan", "data", "partners", "training", "risk", "custody", "and",
         "the", "with", "quickly", "detainees", "assessments", "will")
SENTENCE = st.lists(st.sampled_from(WORDS), min_size=2, max_size=14).map(
    lambda ws: " ".join(ws).capitalize() + ".")
PARAGRAPHS = st.lists(SENTENCE, min_size=1, max_size=3).map("\n\n".join)
AREA_SETS = st.dictionaries(st.integers(min_value=1, max_value=60),
                            st.tuples(SENTENCE, PARAGRAPHS), max_size=7)


def _view(areas: dict[int, tuple[str, str]]) -> ResponseView:
    report = InspectionReport(id=1, title="An inspection of custody", published_on=date(2024,
                              10, 10), publication_types="Custody", police_forces="",
                              link="https://www.justiceinspectorates.gov.uk/hmicfrs/custody/",
                              link_label="", created_at=datetime(2024, 10, 10, tzinfo=UTC))
    response = Response(id=1, report_id=1, force="Norfolk", state="pcc_signoff",
                        deadline=date(2024, 12, 4), signoff_due=date(2024, 11, 20),
                        key_findings="Findings.", cc_response="The force agrees.",
                        pcc_response="I welcome it.", created_at=report.created_at,
                        updated_at=report.created_at)
    recs = [Recommendation(response_id=1, number=2, text="By 31 March 2025, forces should act.",
                           force_response="Done.")]
    items = [AreaForImprovement(response_id=1, number=n, text=t, force_response=a)
             for n, (t, a) in sorted(areas.items())]
    return ResponseView(response=response, report=report, recommendations=recs,
                        areas_for_improvement=items, checklist=dict.fromkeys(
                            ("forwarded_to_chief_constable", "forwarded_to_panel",
                             "published_on_website", "submitted_on_portal"), False),
                        link_label="",
                        recommendations_intro=None)


@settings(max_examples=40, deadline=None)
@given(AREA_SETS)
# The force's section repeats an area's text in bold: "**The force should ...**" was once
# read as the Chief Constable's heading, and the force's answer lost.
@example({4: ("The force should review every case.", "It will.")})
@example({})
def test_any_areas_round_trip_through_the_published_layout(
        areas: dict[int, tuple[str, str]]) -> None:
    view = _view(areas)
    md = render_view(view, "md").split("### For Office Use Only:")[0]
    assert empty_headings(md) == []
    doc = parse_document(md)
    assert [(a.number, a.text, a.force_response) for a in doc.areas_for_improvement] == [
        (n, t, a) for n, (t, a) in sorted(areas.items())]
    assert doc.afi_statement == (None if areas else NO_AREAS)
    assert doc.police_forces == "Norfolk"


# -- the text as an older version printed it -------------------------------------------------

def test_a_fingerprint_recorded_before_the_defaults_still_verifies(
        wf_empty: Workflow, monkeypatch: pytest.MonkeyPatch) -> None:
    """Events written when the text printed an empty "Police Forces" and no statement
    (text version 2) are checked against that text, never called forged."""
    def as_before(session: Any, loaded: Any) -> dict[str, Any]:
        return {"fingerprint": signature.fingerprint(session, loaded, 2), "text_version": 2}

    with monkeypatch.context() as patched:
        patched.setattr(signature, "seal", as_before)
        register(wf_empty, norfolk_report(afi_statement=None, police_forces=""))
        content.edit_text(wf_empty, 1, "key_findings", "Findings, as then.", ADMIN)
    with wf_empty.db.read() as s:
        assert signature.fingerprint(s, 1, 2) != signature.fingerprint(s, 1)
    assert replay.verify(wf_empty.db) == []


def test_the_check_finds_an_empty_heading() -> None:
    """What the tests above rely on: the check sees a heading with nothing under it."""
    assert empty_headings("## A\n\n### B\n\nb\n\n## C\n\n\n## D\n\nd\n\n### E\n") == [
        "## C", "### E"]
