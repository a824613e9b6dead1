"""The parser against the real Norfolk response: every field checked against values
copied by hand from tests/data/norfolk-asb-spotlight-2024.md (never from the parser).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from workflow.documents.model import ChecklistItem, ParsedDocument, WarningKind
from workflow.documents.parse import parse_document

#: A byte-for-byte copy of tests/data/norfolk-asb-spotlight-2024.md.
FIXTURE = Path(__file__).parents[2] / "data" / "norfolk-asb-spotlight-2024.md"

# Copied by hand from the fixture.
TITLE = "The policing response to antisocial behaviour: PEEL spotlight report"
LINK_LABEL = ("The policing response to antisocial behaviour: PEEL spotlight report - His "
              "Majesty's Inspectorate of Constabulary and Fire & Rescue Services "
              "(justiceinspectorates.gov.uk)")
REC_TEXT = {
    1: "By 31 March 2025, forces should review their processes for recording antisocial "
       "behaviour to make sure all antisocial behaviour and associated crime are recorded "
       "correctly.",
    2: "By 30 September 2025, forces should make sure personnel are appropriately trained to "
       "identify and record antisocial behaviour and associated crime when they are first "
       "reported.",
    3: "By 31 March 2025, forces should:\n\n"
       "- review their risk assessment processes for antisocial behaviour cases to make sure "
       "that risks are properly assessed from initial contact to case closure; and\n"
       "- make sure completed risk assessments are retained in line with management of "
       "police information guidelines.",
    4: "By 31 December 2024, forces should:\n\n"
       "- make sure all antisocial behaviour problem-solving plans fully specify the problem, "
       "contain sufficient detail, are effectively supervised; and\n"
       "- evaluate all antisocial behaviour problem-solving plans for an outcome in line with "
       "National Police Chiefs' Council Neighbourhood Policing Outcome and Performance "
       "Guidelines.",
    8: "By 30 September 2025, forces should give all neighbourhood policing teams antisocial "
       "behaviour training that makes best use of the College of Policing's antisocial "
       "behaviour guidance and resources.",
}
REC_DUE = {1: date(2025, 3, 31), 2: date(2025, 9, 30), 3: date(2025, 3, 31),
           4: date(2024, 12, 31), 8: date(2025, 9, 30)}
# (first words, last words, paragraph count) of the force's answer to each recommendation.
FORCE_ANSWER = {
    1: ("The Constabulary has a National Crime/Incident Recording Standards Compliance Board",
        "accurate recording of antisocial behaviour and associated crime by Control Room staff.",
        3),
    2: ("As referenced above, all staff who work in our Contact and Control Room",
        "the critical importance of maintaining operational capacity.", 2),
    3: ("The Constabulary's current risk assessment process, which commences",
        'the victims most in need of police support are identified and responded to quickly."*',
        4),
    4: ("The Constabulary has a dedicated Problem-Solving Team",
        "driven through the Neighbourhood Policing Improvement Board.", 5),
    8: ("Beat Managers and their Sergeants who form our Safer Neighbourhood Teams",
        "Progress against this recommendation will be monitored by the Neighbourhood Policing "
        "Improvement Board.", 4),
}


@pytest.fixture(scope="module")
def doc() -> ParsedDocument:
    return parse_document(FIXTURE.read_text(encoding="utf-8"), path=str(FIXTURE))


def _paragraphs(text: str | None) -> list[str]:
    assert text is not None
    return [p for p in text.split("\n\n") if p.strip()]


class TestNorfolkFields:
    def test_metadata(self, doc: ParsedDocument) -> None:
        """Title, dates, publication types, forces and link are read as the document states."""
        assert doc.title == TITLE
        assert doc.published == date(2024, 10, 10)
        assert doc.publication_types == "Anti-social behaviour, PEEL and spotlight"
        assert doc.police_forces == "All local forces in England and Wales"
        assert doc.link is not None
        assert doc.link.url == "https://justiceinspectorates.gov.uk"
        assert doc.link.label == LINK_LABEL
        assert doc.force == "Norfolk"

    def test_deadline_stated_vs_statutory(self, doc: ParsedDocument) -> None:
        """The stated 5 Dec 2024 is kept as stated; 4 Dec 2024 (publication + 55) is the
        deadline, and the mismatch is a warning on line 31 naming both dates and the rule."""
        assert doc.stated_deadline == date(2024, 12, 5)
        assert doc.deadline == date(2024, 12, 4)
        [w] = [w for w in doc.warnings if "deadline" in w.message]
        assert w.line == 31
        assert w.kind is WarningKind.NOTICE
        assert "5 December 2024" in w.message
        assert "4 December 2024" in w.message
        assert "s55(5A)" in w.message
        assert "publication + 55 days" in w.message

    def test_key_findings(self, doc: ParsedDocument) -> None:
        """Key findings keep every paragraph and the bullet list as Markdown."""
        paras = _paragraphs(doc.key_findings)
        assert paras[0].startswith("This HMICFRS report brings together findings")
        assert paras[-1].endswith("was inconsistent or missing entirely.")
        # 1 paragraph, the bullet list (a blank line after its first item splits it in
        # two chunks), 18 paragraphs after it (one split mid-sentence in the original).
        assert len(paras) == 21
        assert "- a request for promising practice to all forces by the College of Policing" \
            in doc.key_findings  # type: ignore[operator]
        assert "Poorer-performing forces often had poor-quality data and inadequate IT systems," \
            "\n\nand lacked expertise" in doc.key_findings  # type: ignore[operator]

    def test_recommendations_numbers_text_and_due_dates(self, doc: ParsedDocument) -> None:
        """Recommendations keep their published numbers 1, 2, 3, 4, 8, text with bullets, and
        the due date from "By <date>,"."""
        assert [r.number for r in doc.recommendations] == [1, 2, 3, 4, 8]
        for r in doc.recommendations:
            assert r.text == REC_TEXT[r.number]
            assert r.due_date == REC_DUE[r.number]
        assert doc.recommendation(1).line == 83
        assert doc.recommendation(8).line == 105

    def test_recommendations_intro(self, doc: ParsedDocument) -> None:
        assert doc.recommendations_intro == (
            "Eight recommendations are made within the report, five of which are directed at "
            "Chief Constables and forces nationally.")

    def test_force_answers_without_repeated_recommendation(self, doc: ParsedDocument) -> None:
        """Each force answer starts after the repeated (often bold) recommendation text."""
        for r in doc.recommendations:
            first, last, count = FORCE_ANSWER[r.number]
            assert r.force_response is not None
            assert r.force_response.startswith(first), r.number
            assert r.force_response.rstrip().endswith(last), r.number
            assert len(_paragraphs(r.force_response)) == count, r.number
            assert "forces should" not in r.force_response.split("\n\n")[0]

    def test_areas_for_improvement(self, doc: ParsedDocument) -> None:
        assert doc.afi_statement == "There are no areas for improvement made."
        assert doc.areas_for_improvement == ()

    def test_chief_constable_overall(self, doc: ParsedDocument) -> None:
        paras = _paragraphs(doc.cc_response)
        assert len(paras) == 6
        assert paras[0].startswith('This spotlight report by His Majesty\'s Inspectorate of '
                                   'Constabulary and Fire and Rescue Services (HMICFRS) '
                                   'entitled "*The policing response to antisocial behaviour*"')
        assert paras[-1] == (
            "We have completed an early review of our current position against each of the "
            "recommendations that HMICFRS have set for all police forces to determine the "
            "actions that we might need to take to help us to achieve the standards outlined, "
            "within the timeframes that have been specified. Our initial response to these "
            "recommendations is summarised below.")

    def test_pcc_response(self, doc: ParsedDocument) -> None:
        """The PCC's text is kept as written, smart quotes included."""
        paras = _paragraphs(doc.pcc_response)
        assert len(paras) == 4
        assert paras[0].startswith("As the HMICFRS report \u201cThe policing response to "
                                   "antisocial behaviour: PEEL spotlight report\u201d "
                                   "acknowledges")
        assert paras[-1].endswith("I will be paying attention to the means by which more of "
                                  "these services can be provided in the county.")

    def test_office_use_plain_list(self, doc: ParsedDocument) -> None:
        """The plain list of a published document: forwarding and publication done, the
        portal submission not shown (a notice at line 207 says so)."""
        c = doc.checklist
        assert not c.marked
        assert c.ticked == {ChecklistItem.FORWARDED_TO_CHIEF_CONSTABLE,
                            ChecklistItem.FORWARDED_TO_PANEL,
                            ChecklistItem.PUBLISHED_ON_WEBSITE}
        assert c.lines == {ChecklistItem.FORWARDED_TO_CHIEF_CONSTABLE: 204,
                           ChecklistItem.FORWARDED_TO_PANEL: 205,
                           ChecklistItem.PUBLISHED_ON_WEBSITE: 206,
                           ChecklistItem.SUBMITTED_ON_PORTAL: 207}
        assert [w.line for w in doc.warnings if "portal" in w.message] == [207]

    def test_nothing_unplaced(self, doc: ParsedDocument) -> None:
        """The fixture has nothing the importer could not place or had to guess."""
        assert [w for w in doc.warnings if w.kind is not WarningKind.NOTICE] == []
        assert len(doc.warnings) == 2
