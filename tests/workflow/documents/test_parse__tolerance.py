"""What real documents do, as small variants of the Norfolk fixture: each either reads as the
same data, or reports exactly what it could not place (with line numbers). Property tests:
no document makes the importer raise anything but ``DocumentError``."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.workflow.documents.test_render__round_trip import data
from workflow.documents.model import DocumentError, ParsedDocument, WarningKind
from workflow.documents.parse import parse_document
from workflow.responses.importing import read_document

FIXTURE = Path(__file__).parents[2] / "data" / "norfolk-asb-spotlight-2024.md"
NORFOLK = FIXTURE.read_text(encoding="utf-8") + "\n"  # the fixture ends without one
HEADING = re.compile(r"^(#+) (.*)$", re.M)


def parse(text: str) -> ParsedDocument:
    return parse_document(text, path="variant.md")


def same_as_fixture(text: str) -> None:
    assert data(parse(text)) == data(parse(NORFOLK))


def section(name: str) -> tuple[int, int]:
    """Character span of the fixture's section whose heading contains ``name``, up to the
    next heading of the same or a higher level."""
    m = next(m for m in HEADING.finditer(NORFOLK) if name in m.group(0))
    level = len(m.group(1))
    nxt = next((n for n in HEADING.finditer(NORFOLK, m.end())
                if len(n.group(1)) <= level and "Recommendation " not in n.group(2)),
               None)
    return m.start(), nxt.start() if nxt else len(NORFOLK)


def without(name: str) -> str:
    a, b = section(name)
    return NORFOLK[:a] + NORFOLK[b:]


def non_notice(doc: ParsedDocument) -> list[tuple[int | None, WarningKind]]:
    return [(w.line, w.kind) for w in doc.warnings if w.kind is not WarningKind.NOTICE]


class TestSameData:
    """Variants that must read exactly as the fixture does, with no new warnings."""

    @pytest.mark.parametrize("variant", [
        pytest.param(lambda t: HEADING.sub(lambda m: f"{m[1]} {m[2].replace('**', '')}", t),
                     id="no-bold-headings"),
        pytest.param(lambda t: HEADING.sub(
            lambda m: f"{m[1]} **{m[2].replace('**', '')}**", t), id="all-bold-headings"),
        pytest.param(lambda t: t.replace("\n\n", "\n\n\n\n"), id="extra-blank-lines"),
        pytest.param(lambda t: t.replace("\n", "\r\n"), id="crlf"),
        pytest.param(lambda t: "\ufeff" + t.lstrip("\n"), id="bom-no-leading-blanks"),
        pytest.param(lambda t: HEADING.sub(lambda m: f"{'#' * (len(m[1]) % 3 + 1)} {m[2]}", t),
                     id="other-heading-levels"),
        pytest.param(lambda t: HEADING.sub(lambda m: f"{m[1]} {m[2].replace(chr(39), '’')}",
                                           t), id="smart-quotes-in-headings"),
        pytest.param(lambda t: re.sub(r"^#+ (.*:)$", r"**\1**", t, flags=re.M),
                     id="bold-paragraphs-as-field-headings"),
        pytest.param(lambda t: re.sub(r"^### (Published on:)\n\n(.*)$", r"**\1** \2", t,
                                      flags=re.M), id="label-and-value-on-one-line"),
        pytest.param(lambda t: re.sub(r"^### (Inspection Title:)\n\n(.*)$", r"### \1 \2", t,
                                      flags=re.M), id="value-on-the-heading-line"),
    ])
    def test_variant(self, variant: object) -> None:
        text = variant(NORFOLK)  # type: ignore[operator]
        assert text != NORFOLK
        same_as_fixture(text)
        assert non_notice(parse(text)) == []

    def test_pcc_before_chief_constable(self) -> None:
        a, b = section("Chief Constable response")
        c, d = section("PCC response")
        assert b == c
        same_as_fixture(NORFOLK[:a] + NORFOLK[c:d] + NORFOLK[a:b] + NORFOLK[d:])

    def test_areas_for_improvement_before_recommendations(self) -> None:
        a, b = section("## Recommendations")
        c, d = section("Areas For Improvement")
        assert b == c
        same_as_fixture(NORFOLK[:a] + NORFOLK[c:d] + NORFOLK[a:b] + NORFOLK[d:])

    def test_recommendation_heading_in_the_pcc_section_is_its_note(self) -> None:
        """s55(5B): "Recommendation N" under the PCC's heading is the PCC's explanation for
        recommendation N (its note), at any heading level; the overall response stays."""
        text = NORFOLK.replace("### **For Office Use Only:**",
                               "## Recommendation 2\n\nNo further action: the force's "
                               "plan covers it.\n\n#### Why\n\nSee above.\n\n"
                               "### **Recommendation 8**\n\n- one\n- two\n\n"
                               "### **For Office Use Only:**")
        doc = parse(text)
        assert doc.recommendation(2).pcc_note == ("No further action: the force's plan covers "
                                                  "it.\n\n#### Why\n\nSee above.")
        assert doc.recommendation(8).pcc_note == "- one\n- two"
        assert [r.pcc_note for r in doc.recommendations if r.number not in (2, 8)] == [None] * 3
        assert doc.pcc_response == parse(NORFOLK).pcc_response
        assert non_notice(doc) == []
        fixture = data(parse(NORFOLK))
        for rec in fixture["recommendations"]:
            rec["pcc_note"] = data(doc)["recommendations"][[1, 2, 3, 4, 8].index(
                rec["number"])]["pcc_note"]
        assert data(doc) == fixture  # nothing else moved

    def test_sub_heading_inside_the_pcc_response_is_its_text(self) -> None:
        """A deeper heading inside a free-text section is part of that text, not lost."""
        text = NORFOLK.replace("I welcome the many useful observations",
                               "#### Training\n\nI welcome the many useful observations")
        doc = parse(text)
        assert "#### Training\n\nI welcome" in (doc.pcc_response or "")
        assert non_notice(doc) == []


class TestReported:
    """Variants the importer reads with a warning naming the line, never silently."""

    @pytest.mark.parametrize(("name", "field"), [("Key Findings", "key_findings"),
                                                 ("Areas For Improvement", "afi_statement"),
                                                 ("PCC response", "pcc_response")])
    def test_absent_section_is_none(self, name: str, field: str) -> None:
        doc = parse(without(name))
        assert getattr(doc, field) is None
        assert non_notice(doc) == []
        assert [r.number for r in doc.recommendations] == [1, 2, 3, 4, 8]

    def test_without_recommendations_section_the_bold_text_is_used(self) -> None:
        """Recommendations found only in the force's section take their text from its bold
        paragraph (a reported guess); one without bold text is reported as textless."""
        doc = parse(without("## Recommendations"))
        assert [r.number for r in doc.recommendations] == [1, 2, 3, 4, 8]
        assert doc.recommendation(1).text.startswith("By 31 March 2025, forces should review")
        assert doc.recommendation(1).force_response.startswith(  # type: ignore[union-attr]
            "The Constabulary has a National")
        assert doc.recommendation(3).text == ""
        lines = NORFOLK.split("\n")
        rec3 = next(i for i, x in enumerate(lines) if x == "### Recommendation 3" and i > 120)
        warned = {w.line for w in doc.warnings if w.kind is WarningKind.AMBIGUOUS}
        removed = len(NORFOLK[slice(*section("## Recommendations"))].split("\n")) - 1
        assert rec3 + 1 - removed in warned
        assert len(warned) == 5

    def test_unknown_section_is_reported_with_its_lines(self) -> None:
        text = NORFOLK.replace("## Areas For Improvement", "## Notes for the file\n\nDraft "
                               "two.\n\nSeen by the CEO.\n\n## Areas For Improvement")
        doc = parse(text)
        [w] = [w for w in doc.warnings if w.kind is WarningKind.UNPLACED]
        assert w.line == 109
        assert "'Notes for the file' (lines 109-113)" in w.message
        same = data(doc)
        assert same == data(parse(NORFOLK))  # the rest is untouched

    def test_text_before_the_first_heading(self) -> None:
        doc = parse("DRAFT - not for circulation\n" + NORFOLK)
        assert [(w.line, w.kind) for w in doc.warnings if w.kind != "notice"] == [
            (1, WarningKind.UNPLACED)]

    def test_an_unknown_recommendation_in_the_pcc_section_is_unplaced(self) -> None:
        """A PCC note for a recommendation the report does not make (Norfolk has 1-4 and 8)
        is reported with its lines, never attached to another one."""
        text = NORFOLK.replace("My observations tell me",
                               "### Recommendation 5\n\nNo action.\n\nMy observations tell me")
        doc = parse(text)
        assert non_notice(doc) == [(200, WarningKind.UNPLACED)]
        [w] = [w for w in doc.warnings if w.kind is WarningKind.UNPLACED]
        assert w.message == ("'Recommendation 5 (in the PCC response, but the report makes no "
                             "recommendation 5)' (lines 200-204) is not part of a Section 55 "
                             "response layout; it was not imported")
        assert [r.pcc_note for r in doc.recommendations] == [None] * 5

    def test_a_second_note_for_one_recommendation_is_refused(self) -> None:
        text = NORFOLK.replace("### **For Office Use Only:**", "### Recommendation 2\n\nA.\n\n"
                               "### Recommendation 2\n\nB.\n\n### **For Office Use Only:**")
        with pytest.raises(DocumentError, match=r"^variant\.md:206: duplicated recommendation "
                           r"number 2 in the PCC's response \(first at line 202\)$"):
            parse(text)

    def test_partly_repeated_recommendation_is_kept_and_reported(self) -> None:
        text = NORFOLK.replace(
            "- **evaluate all antisocial behaviour problem-solving plans for an outcome in line "
            "with National Police Chiefs' Council Neighbourhood Policing Outcome and "
            "Performance Guidelines.**\n", "")
        doc = parse(text)
        assert doc.recommendation(4).force_response.startswith(  # type: ignore[union-attr]
            "By 31 December 2024, forces should:")
        assert non_notice(doc) == [(162, WarningKind.AMBIGUOUS)]

    def test_office_line_naming_no_step(self) -> None:
        doc = parse(NORFOLK + "\n- Filed in the cabinet.")
        assert non_notice(doc) == [(209, WarningKind.UNPLACED)]  # 208 is blank

    def test_month_only_due_date_is_a_reported_reading(self) -> None:
        doc = parse(NORFOLK.replace("By 30 September 2025, forces should give",
                                    "By September 2025, forces should give"))
        assert str(doc.recommendation(8).due_date) == "2025-09-30"
        assert non_notice(doc) == [(107, WarningKind.AMBIGUOUS)]

    def test_other_force_heading(self) -> None:
        assert parse(NORFOLK.replace("Norfolk's", "Suffolk\u2019s")).force == "Suffolk"


# -- property tests -----------------------------------------------------------------
LINES = NORFOLK.split("\n")
NOISE = st.sampled_from([
    "### Recommendation 3", "## Recommendations", "### Published on:", "- [x] Portal",
    "By 31 Smarch 2025, forces should", "### Recommendation", "## **Recommendation 8**",
    "**Inspection Title:** x", "# Areas For Improvement", "### Area for improvement 2",
    "- \u2612 panel", "    code", "```", "> quote", "<div>", "---", "***", "[x](y)",
    "### Section 55 Response Deadline: 31 December 9999", "### Published on: 1 Jan 1",
    "Recommendation 99999999999999999999", "=====", "1. item", "",
])


@st.composite
def mutated(draw: st.DrawFn) -> str:
    lines = list(LINES)
    for _ in range(draw(st.integers(1, 8))):
        i = draw(st.integers(0, len(lines)))
        op = draw(st.sampled_from(["delete", "insert", "duplicate", "noise-text"]))
        if op == "delete" and lines:
            del lines[min(i, len(lines) - 1)]
        elif op == "insert":
            lines.insert(i, draw(NOISE))
        elif op == "duplicate" and lines:
            lines.insert(i, lines[min(i, len(lines) - 1)])
        else:
            lines.insert(i, draw(st.text(max_size=40)))
    return "\n".join(lines)


def only_document_errors(text: str) -> None:
    """Parsed (with unique numbers and a deadline after publication) or a one-line
    DocumentError; any other exception fails the test."""
    problem = ""
    try:
        doc = parse(text)
    except DocumentError as exc:
        problem = str(exc)
    else:
        assert doc.deadline >= doc.published
        assert len({r.number for r in doc.recommendations}) == len(doc.recommendations)
    assert "\n" not in problem


@settings(max_examples=300, deadline=None)
@given(mutated())
@pytest.mark.slow
def test_mutated_fixtures_raise_only_document_errors(text: str) -> None:
    """Lines deleted, duplicated or inserted anywhere: a ParsedDocument or a DocumentError."""
    only_document_errors(text)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_arbitrary_text_raises_only_document_errors(text: str) -> None:
    only_document_errors(text)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000) | mutated().map(lambda t: t.encode("utf-8")))
@pytest.mark.slow
def test_arbitrary_files_raise_only_document_errors(data_: bytes) -> None:
    """Any bytes on disk: read and parsed, or refused with a DocumentError."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "x.md"
        path.write_bytes(data_)
        try:
            parse(read_document(path))
        except DocumentError:
            pass
