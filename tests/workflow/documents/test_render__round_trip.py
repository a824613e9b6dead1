"""Rendering responses as the published document (Markdown and HTML), and the round trip
fixture -> import -> render -> import."""

from __future__ import annotations

import re
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
import time_machine

from tests.factories import ADMIN, FORCE, PCC, add_people, answer_all, norfolk_report
from workflow.core.errors import InvalidInputError, NotFoundError
from workflow.core.settings import Settings
from workflow.documents.model import ParsedDocument
from workflow.documents.parse import parse_document
from workflow.documents.render import TemplateError, render_response
from workflow.responses import content
from workflow.responses.importing import import_document
from workflow.responses.service import Workflow
from workflow.storage.db import Database

FIXTURE = Path(__file__).parents[2] / "data" / "norfolk-asb-spotlight-2024.md"
NORFOLK = FIXTURE.read_text(encoding="utf-8")
MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"


@pytest.fixture
def imported(wf: Workflow) -> int:
    return import_document(wf.db, FIXTURE, actor=ADMIN, force="Norfolk").response_id


def data(doc: ParsedDocument) -> dict[str, Any]:
    """What a document holds, without how it was written (lines, warnings, the stated
    deadline - the renderer states the statutory one - and whether boxes had marks)."""
    d = asdict(doc)
    for key in ("warnings", "stated_deadline", "published_line"):
        d.pop(key)
    d["checklist"] = sorted(doc.checklist.ticked)
    for item in (*d["recommendations"], *d["areas_for_improvement"]):
        item.pop("line")
    return d


def _plain_lines(text: str) -> list[str]:
    """Non-blank lines without heading/list/bold markup."""
    out = []
    for line in text.split("\n"):
        s = re.sub(r"^#+\s*|^-\s+|\*\*", "", line.strip()).strip()
        if s:
            out.append(s)
    return out


class TestRoundTrip:
    def test_render_then_parse_gives_the_same_data(self, wf: Workflow, imported: int) -> None:
        """Fixture -> import -> render md -> parse equals parsing the fixture itself."""
        rendered = render_response(wf.db, imported, "md")
        assert data(parse_document(rendered)) == data(parse_document(NORFOLK))

    def test_reimport_gives_the_same_rows(self, wf: Workflow, imported: int, tmp_path: Path,
                                          sqlite_template: Path) -> None:
        """Importing the rendered document into a fresh database stores the same report,
        response, recommendations and checklist; rendering that again is identical."""
        rendered = render_response(wf.db, imported, "md")
        path = tmp_path / "rendered.md"
        path.write_text(rendered, encoding="utf-8")
        shutil.copy(sqlite_template, tmp_path / "second.db")
        url = f"sqlite:///{tmp_path / 'second.db'}"
        second = Database(url)
        try:
            add_people(Workflow(second, Settings(database_url=url)))
            result = import_document(second, path, actor=ADMIN, force="Norfolk")
            assert render_response(second, result.response_id, "md") == rendered
            assert [w.message for w in result.warnings if "deadline" in w.message] == []
        finally:
            second.dispose()

    def test_rendered_markdown_keeps_the_fixture_text(self, wf: Workflow,
                                                      imported: int) -> None:
        """Every heading, recommendation number, date and paragraph line of the fixture is in
        the rendered Markdown - except the stated deadline (the statutory 4 December 2024
        replaces 5 December 2024) and the office-use lines, which are regenerated with
        tick marks from the audit log."""
        rendered = render_response(wf.db, imported, "md")
        kept = set(_plain_lines(rendered))
        office = NORFOLK.index("For Office Use Only")
        missing = [line for line in _plain_lines(NORFOLK[:office])
                   if line not in kept and line != "5 December 2024"]
        assert missing == []
        for n in (1, 2, 3, 4, 8):
            assert len(re.findall(rf"^### Recommendation {n}$", rendered, re.M)) == 2
        dates = set(re.findall(rf"\b\d{{1,2}} (?:{MONTHS}) \d{{4}}\b", NORFOLK))
        assert dates - set(re.findall(rf"\b\d{{1,2}} (?:{MONTHS}) \d{{4}}\b", rendered)) == {
            "5 December 2024"}
        assert "### Section 55 Response Deadline:\n\n4 December 2024\n" in rendered

    def test_section_order_is_the_fixtures(self, wf: Workflow, imported: int) -> None:
        rendered = render_response(wf.db, imported, "md")
        order = ["response to inspections", "Inspection Title:", "Published on:",
                 "Publication Types:", "Police Forces:", "Link to Report:",
                 "Section 55 Response Deadline:", "Key Findings", "## Recommendations",
                 "Areas For Improvement", "Chief Constable response", "PCC response",
                 "For Office Use Only"]
        positions = [rendered.index(h) for h in order]
        assert positions == sorted(positions)


class TestChecklist:
    def test_imported_ticks_come_from_checklist_events(self, wf: Workflow,
                                                       imported: int) -> None:
        rendered = render_response(wf.db, imported, "md")
        assert "- [x] Response forwarded to the Chief Constable." in rendered
        assert "- [x] Response forwarded to the Norfolk Police and Crime Panel." in rendered
        assert "- [x] Response published on the OPCC website." in rendered
        assert "- [ ] Response submitted on the HMICFRS Monitoring Portal." in rendered

    def test_a_new_draft_has_no_ticks(self, wf: Workflow) -> None:
        rid = norfolk_draft(wf)
        rendered = render_response(wf.db, rid, "md")
        assert rendered.count("- [ ] Response") == 4

    def test_transitions_tick_the_boxes(self, wf: Workflow) -> None:
        """sign_off ticks both forwarding boxes, publish the website box with its URL,
        submit_to_portal the portal box with its reference."""
        rid = norfolk_draft(wf)
        with time_machine.travel("2024-10-14 10:00:00+01:00", tick=False):
            answer_all(wf, rid)
            content.edit_text(wf, rid, "pcc_response", "I welcome this report.", PCC)
            wf.fire(rid, "request_force_input", ADMIN)
            wf.fire(rid, "submit_force_input", FORCE)
            wf.fire(rid, "sign_off", PCC)
            md = render_response(wf.db, rid, "md")
            assert "- [x] Response forwarded to the Chief Constable." in md
            assert "- [x] Response forwarded to the Norfolk Police and Crime Panel." in md
            assert "- [ ] Response published on the OPCC website." in md
            wf.fire(rid, "publish", ADMIN, params={"url": "https://opcc.example/asb"})
            wf.fire(rid, "submit_to_portal", ADMIN, params={"portal_reference": "HMI-42"})
        md = render_response(wf.db, rid, "md")
        assert "- [x] Response published on the OPCC website: <https://opcc.example/asb>." in md
        assert "- [x] Response submitted on the HMICFRS Monitoring Portal (reference HMI-42)." \
            in md
        html = render_response(wf.db, rid, "html")
        assert '<a href="https://opcc.example/asb">' in html
        # The rendered document reads back as fully done.
        assert len(parse_document(md).checklist.ticked) == 4


def norfolk_draft(wf: Workflow) -> int:
    """The Norfolk report registered through the service (people already added)."""
    return content.add_report(wf, norfolk_report(), ADMIN).id or 0


class TestHtml:
    def test_standalone_page_without_external_assets(self, wf: Workflow,
                                                     imported: int) -> None:
        html = render_response(wf.db, imported, "html")
        assert html.startswith("<!DOCTYPE html>")
        assert '<html lang="en-GB">' in html
        assert '<meta charset="utf-8">' in html
        for external in ("<link", "<script", " src=", "@import", "url("):
            assert external not in html

    def test_html_is_autoescaped(self, wf: Workflow) -> None:
        """Markup typed into a response is shown as text, never run."""
        rid = norfolk_draft(wf)
        content.edit_text(wf, rid, "pcc_response",
                          'I <script>alert("x")</script> & <b>welcome</b> it.', PCC)
        html = render_response(wf.db, rid, "html")
        assert "<script>" not in html
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
        assert "&amp; &lt;b&gt;welcome&lt;/b&gt;" in html

    def test_javascript_links_are_not_rendered(self, wf: Workflow) -> None:
        rid = norfolk_draft(wf)
        content.edit_text(wf, rid, "pcc_response", "[click](javascript:alert(1))", PCC)
        assert 'href="javascript' not in render_response(wf.db, rid, "html")


class TestTemplates:
    def test_an_organisation_can_override_a_template(self, wf: Workflow, imported: int,
                                                     tmp_path: Path) -> None:
        (tmp_path / "response.md.j2").write_text(
            "# {{ v.force }} response to {{ report.title }}\n")
        out = render_response(wf.db, imported, "md", template_dir=tmp_path)
        assert out == ("# Norfolk response to The policing response to antisocial behaviour: "
                       "PEEL spotlight report\n")
        # HTML still comes from ours.
        assert "<!DOCTYPE html>" in render_response(wf.db, imported, "html",
                                                    template_dir=tmp_path)

    def test_a_broken_override_is_a_one_line_error(self, wf: Workflow, imported: int,
                                                   tmp_path: Path) -> None:
        (tmp_path / "response.md.j2").write_text("{{ v.no_such_thing }}\n")
        with pytest.raises(TemplateError, match=r"^template response\.md\.j2: "
                           r"UndefinedError: .*no_such_thing"):
            render_response(wf.db, imported, "md", template_dir=tmp_path)

    def test_unknown_format(self, wf: Workflow, imported: int) -> None:
        with pytest.raises(InvalidInputError, match="'pdf' is not one of md, html"):
            render_response(wf.db, imported, "pdf")  # type: ignore[arg-type]

    def test_unknown_response(self, wf: Workflow) -> None:
        with pytest.raises(NotFoundError, match="no response 999"):
            render_response(wf.db, 999, "md")

