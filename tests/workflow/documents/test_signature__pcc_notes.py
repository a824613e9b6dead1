"""The PCC's s55(5B) notes in the published document: Police Act 1996 s55(5B) wants, for each
recommendation, the action taken or proposed or why none; where the force's response does not
give it, the PCC's note does (sign-off accepts either). So the note is published: rendered
under the PCC's section (Markdown and HTML), imported back from there, fingerprinted with the
rest of the text, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import time_machine
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from tests.factories import ADMIN, FORCE, PCC, norfolk_report, snapshot
from tests.workflow.documents.test_render__round_trip import NORFOLK, norfolk_draft
from workflow.assurance import replay
from workflow.documents import signature
from workflow.documents.parse import parse_document
from workflow.documents.render import ResponseView, render_response, render_view
from workflow.documents.signature import TextChangedError
from workflow.responses import content
from workflow.responses.importing import import_document
from workflow.responses.service import Workflow
from workflow.storage.models import (
    AuditEvent,
    InspectionReport,
    OutboxMessage,
    Recommendation,
    Response,
)

PCC_HEADING = "## PCC response to report and any Recommendations/Areas for Improvement"
OFFICE = "### For Office Use Only:"
NOTE_2 = "No further action: the force's plan already covers this.\n\n- one\n- two"
NOTE_8 = "I will ask the Chief Constable for a progress report by March 2025."


def noted(wf: Workflow) -> int:
    """The Norfolk draft with a PCC response and notes on recommendations 8 and 2."""
    # A labelled link: a bare one renders as <url>, which reads back with the URL as label.
    rid = content.add_report(wf, norfolk_report(link_label="the report"), ADMIN).id or 0
    content.edit_text(wf, rid, "pcc_response", "I welcome this report.", PCC)
    content.edit_recommendation(wf, rid, 8, "pcc_note", NOTE_8, PCC)
    content.edit_recommendation(wf, rid, 2, "pcc_note", NOTE_2, PCC)
    return rid


def pcc_section(md: str) -> str:
    return md[md.index(PCC_HEADING):md.index(OFFICE)]


class Items(HTMLParser):
    """Each ``section.item`` of the section labelled ``parent``: its id, its h3's text, the
    tags inside it, and its text after the h3."""

    def __init__(self, parent: str) -> None:
        super().__init__()
        self.parent, self.items = parent, []  # type: ignore[var-annotated]
        self.stack: list[str | None] = []  # aria-labelledby of each open <section>
        self.tags: list[str] = []  # every start tag on the page
        self._in_h3 = False

    def _inside(self) -> dict[str, Any] | None:
        if len(self.stack) >= 2 and self.stack[-2] == self.parent and self.items:
            return self.items[-1]  # type: ignore[no-any-return]
        return None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        a = dict(attrs)
        if tag == "section":
            self.stack.append(a.get("aria-labelledby"))
            if len(self.stack) >= 2 and self.stack[-2] == self.parent:
                self.items.append({"id": a.get("aria-label"), "class": a.get("class"),
                                   "h3": "", "tags": [], "text": ""})
            return
        item = self._inside()
        if item is not None:
            item["tags"].append(tag)
            self._in_h3 = tag == "h3"

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self.stack.pop()
        elif tag == "h3":
            self._in_h3 = False

    def handle_data(self, data: str) -> None:
        item = self._inside()
        if item is not None:
            item["h3" if self._in_h3 else "text"] += data


def items(html: str, parent: str = "pcc-response") -> Items:
    parser = Items(parent)
    parser.feed(html)
    return parser


class TestRender:
    def test_markdown_shows_each_note_under_the_pcc_section(self, wf: Workflow) -> None:
        """After the PCC's overall response, one "### Recommendation N" per noted
        recommendation, in number order, with the note as written."""
        md = render_response(wf.db, noted(wf), "md")
        assert pcc_section(md) == (f"{PCC_HEADING}\n\nI welcome this report.\n\n"
                                   f"### Recommendation 2\n\n{NOTE_2}\n\n"
                                   f"### Recommendation 8\n\n{NOTE_8}\n\n")

    def test_html_shows_each_note_as_an_item_of_the_pcc_section(self, wf: Workflow) -> None:
        """The same structure as the Chief Constable's items: a section with an h3 and the
        note as HTML."""
        page = items(render_response(wf.db, noted(wf), "html"))
        assert [(i["id"], i["class"], i["h3"]) for i in page.items] == [
            ("PCC's explanation on recommendation 2", "item", "Recommendation 2"),
            ("PCC's explanation on recommendation 8", "item", "Recommendation 8")]
        two, eight = page.items
        assert two["tags"] == ["h3", "p", "ul", "li", "li"]
        assert " ".join(two["text"].split()) == ("No further action: the force's plan already "
                                                 "covers this. one two")
        assert eight["tags"] == ["h3", "p"]
        assert eight["text"].strip() == NOTE_8
        cc = items(render_response(wf.db, 1, "html"), "cc-response")
        assert [i["id"] for i in cc.items] == [
            f"Chief Constable's response to recommendation {n}" for n in (1, 2, 3, 4, 8)]

    def test_a_note_is_escaped_in_html(self, wf: Workflow) -> None:
        """Markup in a note is shown as text, never run."""
        rid = norfolk_draft(wf)
        content.edit_recommendation(wf, rid, 3, "pcc_note",
                                    'No action <script>alert("x")</script> & <b>why</b>.', PCC)
        html = render_response(wf.db, rid, "html")
        page = items(html)
        assert "script" not in page.tags
        assert "<script>" not in html
        [item] = page.items
        assert item["h3"] == "Recommendation 3"
        assert item["text"].strip() == 'No action <script>alert("x")</script> & <b>why</b>.'
        assert "No action &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; " \
            "&lt;b&gt;why&lt;/b&gt;." in html

    def test_norfolk_without_notes_is_unchanged(self, wf: Workflow) -> None:
        """No note: the PCC's section is its overall response alone, as the fixture's."""
        rid = import_document(wf.db, Path(__file__).parents[2] / "data" /
                              "norfolk-asb-spotlight-2024.md", actor=ADMIN,
                              force="Norfolk").response_id
        md = render_response(wf.db, rid, "md")
        pcc = parse_document(NORFOLK).pcc_response
        assert pcc_section(md) == f"{PCC_HEADING}\n\n{pcc}\n\n"
        assert items(render_response(wf.db, rid, "html")).items == []


def _norfolk_with_notes() -> str:
    return NORFOLK.replace("### **For Office Use Only:**",
                           f"### Recommendation 8\n\n{NOTE_8}\n\n### **Recommendation 2**\n\n"
                           f"{NOTE_2}\n\n### **For Office Use Only:**")


class TestImport:
    def test_import_stores_each_note(self, wf: Workflow, tmp_path: Path) -> None:
        """A "Recommendation N" heading in the PCC's section is N's note; the imported event
        records it, so the replay of the log (fingerprint included) agrees with the rows."""
        path = tmp_path / "noted.md"
        path.write_text(_norfolk_with_notes(), encoding="utf-8")
        result = import_document(wf.db, path, actor=ADMIN, force="Norfolk")
        with wf.db.read() as s:
            notes = dict(s.execute(select(Recommendation.number, Recommendation.pcc_note)
                                   .order_by(Recommendation.number)).all())  # type: ignore[arg-type]
            resp = s.get(Response, result.response_id)
            event = s.scalars(select(AuditEvent).where(AuditEvent.action == "imported")).one()
        assert notes == {1: None, 2: NOTE_2, 3: None, 4: None, 8: NOTE_8}
        assert resp is not None
        assert resp.pcc_response == parse_document(NORFOLK).pcc_response
        assert [w for w in result.warnings if w.kind != "notice"] == []
        row = json.loads(event.payload)["row"]
        assert [r["pcc_note"] for r in row["recommendations"]] == [None, NOTE_2, None, None,
                                                                   NOTE_8]
        assert replay.verify(wf.db) == []
        assert pcc_section(render_response(wf.db, result.response_id, "md")).endswith(
            f"### Recommendation 2\n\n{NOTE_2}\n\n### Recommendation 8\n\n{NOTE_8}\n\n")

    def test_render_then_import_gives_the_same_notes(self, wf: Workflow, tmp_path: Path) -> None:
        """Draft with notes -> render -> import (a second response of Norfolk's): the same
        recommendations, notes and force responses, and the same document again."""
        rid = noted(wf)
        content.edit_recommendation(wf, rid, 8, "force_response", "The force's plan.", FORCE)
        md = render_response(wf.db, rid, "md")
        path = tmp_path / "rendered.md"
        path.write_text(md, encoding="utf-8")
        again = import_document(wf.db, path, actor=ADMIN, force="Norfolk", again="round trip")

        def recs(response_id: int) -> list[tuple[Any, ...]]:
            with wf.db.read() as s:
                return [(r.number, r.text, r.due_date, r.force_response, r.pcc_note)
                        for r in s.scalars(select(Recommendation).where(
                            Recommendation.response_id == response_id)  # type: ignore[arg-type]
                            .order_by(Recommendation.number))]  # type: ignore[arg-type]

        assert recs(again.response_id) == recs(rid)
        assert render_response(wf.db, again.response_id, "md") == md
        assert replay.verify(wf.db) == []


# -- generated responses: render -> parse keeps every note --------------------------------
WORDS = st.sampled_from(["the", "force", "will", "review", "plan", "action", "no", "further",
                         "because", "partners", "2025", "(see", "above)", "report", "it's"])
# Sentences open with a word ("2025." alone would be an empty ordered-list item).
FIRST = st.sampled_from(["The", "No", "Partners", "This", "It's"])
SENTENCE = st.builds(lambda a, w: " ".join([a, *w]) + ".", FIRST,
                     st.lists(WORDS, max_size=8))
PARAGRAPH = st.lists(SENTENCE, min_size=1, max_size=3).map(" ".join)
BULLETS = st.lists(SENTENCE, min_size=1, max_size=3).map(
    lambda items: "\n".join(f"- {i}" for i in items))
BODY = st.lists(PARAGRAPH | BULLETS, min_size=1, max_size=3).map("\n\n".join)


@st.composite
def views(draw: st.DrawFn) -> ResponseView:
    numbers = draw(st.lists(st.integers(1, 40), min_size=1, max_size=5, unique=True))
    # A recommendation's text is repeated in bold in the force's section, where bold "The
    # force ..." would read as that section's heading: texts open as HMICFRS's do.
    recs = [Recommendation(response_id=1, number=n, text="Forces should " + draw(PARAGRAPH),
                           force_response=draw(st.none() | BODY), pcc_note=draw(st.none() | BODY))
            for n in sorted(numbers)]
    report = InspectionReport(title="A report", published_on=date(2024, 10, 10),
                              publication_types="PEEL", police_forces="All forces",
                              link="https://example.org/r")
    response = Response(report_id=1, force="Norfolk", deadline=date(2024, 12, 4),
                        signoff_due=date(2024, 11, 20), pcc_response=draw(st.none() | BODY))
    return ResponseView(response=response, report=report, recommendations=recs,
                        areas_for_improvement=[], checklist={}, link_label="",
                        recommendations_intro=None)


@settings(max_examples=150, deadline=None)
@given(views())
@pytest.mark.slow
def test_generated_notes_survive_render_and_parse(view: ResponseView) -> None:
    """Any mix of notes, force responses and none: parsing the rendered Markdown gives back
    each recommendation's text, force response and note, and the PCC's overall response."""
    view.checklist.update(dict.fromkeys(("forwarded_to_chief_constable", "forwarded_to_panel",
                                         "published_on_website", "submitted_on_portal"), False))
    doc = parse_document(render_view(view, "md"))
    assert [(r.number, r.text, r.force_response, r.pcc_note) for r in doc.recommendations] == [
        (r.number, r.text, r.force_response, r.pcc_note) for r in view.recommendations]
    assert doc.pcc_response == view.response.pcc_response
    assert [w for w in doc.warnings if w.kind != "notice"] == []


# -- the fingerprint covers the notes -------------------------------------------------------
def to_sign_off(wf: Workflow) -> int:
    """Force responses to all, the PCC's note on 3, then signed off (at version 10: created,
    five answers, the PCC's text, the note, request and submit)."""
    rid = norfolk_draft(wf)
    with time_machine.travel("2024-10-14 10:00:00+01:00", tick=False):
        for n in (1, 2, 3, 4, 8):
            content.edit_recommendation(wf, rid, n, "force_response", f"Answer {n}.", FORCE)
        content.edit_text(wf, rid, "pcc_response", "I welcome this report.", PCC)
        content.edit_recommendation(wf, rid, 3, "pcc_note", "No action: see 2.", PCC)
        wf.fire(rid, "request_force_input", ADMIN)
        wf.fire(rid, "submit_force_input", FORCE)
        wf.fire(rid, "sign_off", PCC)
    return rid


def test_a_note_edit_records_the_fingerprint_the_replay_agrees_with(wf: Workflow) -> None:
    """``rec note`` changes the published text: its event's fingerprint is new, and the
    replay of the log computes the same one."""
    rid = norfolk_draft(wf)
    content.edit_recommendation(wf, rid, 3, "pcc_note", "No action: see 2.", PCC)
    with wf.db.read() as s:
        prints = [json.loads(e.payload)["fingerprint"] for e in s.scalars(
            select(AuditEvent).where(AuditEvent.response_id == rid)  # type: ignore[arg-type]
            .order_by(AuditEvent.id))]  # type: ignore[arg-type]
    created, note = prints
    assert note != created
    assert replay.verify(wf.db) == []


def test_the_signed_text_includes_the_notes(wf: Workflow) -> None:
    """Sign-off signs the notes too: the signature line is printed after them."""
    md = render_response(wf.db, to_sign_off(wf), "md")
    assert pcc_section(md) == (f"{PCC_HEADING}\n\nI welcome this report.\n\n"
                               "### Recommendation 3\n\nNo action: see 2.\n\n")
    with wf.db.read() as s:
        body = s.scalars(select(OutboxMessage.body_text).where(
            OutboxMessage.kind == "sign_off")).first()  # type: ignore[arg-type]
    assert body is not None
    assert "PCC note: No action: see 2." in body  # the mail lists it as well


def test_publish_refuses_a_note_changed_after_sign_off(wf: Workflow) -> None:
    """A note rewritten behind s55's back after sign-off changes the signed text: publish is
    refused and writes nothing; audit verify names the field."""
    rid = to_sign_off(wf)
    with wf.db.engine.begin() as conn:
        conn.execute(text("UPDATE recommendation SET pcc_note = 'Something else.' "
                          "WHERE number = 3"))
    before = snapshot(wf)
    with time_machine.travel("2024-10-15 10:00:00+01:00", tick=False), \
            pytest.raises(TextChangedError, match=rf"^cannot publish response {rid}: its text "
                          "differs from what was signed off at version 10 "):  # see to_sign_off
        wf.fire(rid, "publish", ADMIN, params={"url": "https://opcc.example/r"})
    assert snapshot(wf) == before
    assert [d.describe() for d in replay.verify(wf.db)] == [
        f"response {rid}: recommendation 3 pcc_note is 'Something else.' in the row but "
        "'No action: see 2.' by its events"]



def test_fingerprints_recorded_before_notes_were_published_still_hold(wf: Workflow) -> None:
    """An older database's events carry no ``text_version``: their fingerprints covered the
    text without the notes, and replay checks them against that text (no false forgery);
    read as today's text, the events after the note would all be reported."""
    rid = to_sign_off(wf)
    with wf.db.read() as s:
        events = [(e.id or 0, e.action, e.to_state, json.loads(e.payload)) for e in s.scalars(
            select(AuditEvent).where(AuditEvent.response_id == rid)  # type: ignore[arg-type]
            .order_by(AuditEvent.id)) if e.action in replay.ACTIONS]  # type: ignore[arg-type]
    first = replay.Replay()
    older = []  # the payloads as the older s55 wrote them
    for event_id, action, to_state, payload in events:
        first.event(event_id, rid, action, to_state, json.dumps(payload))
        if payload.pop("text_version", None) is not None:
            payload = {**payload, "fingerprint": signature.fingerprint_of(
                replay.view(first.images[rid]), 1)}
        older.append((event_id, action, to_state, payload))
    assert first.mismatches == []

    def mismatches(payloads: list[tuple[int, str, str | None, dict[str, Any]]]) -> list[str]:
        done = replay.Replay()
        for event_id, action, to_state, payload in payloads:
            done.event(event_id, rid, action, to_state, json.dumps(payload))
        return [d.field for d in done.mismatches]

    assert mismatches(older) == []
    stripped = [(i, a, t, {k: v for k, v in p.items() if k != "text_version"})
                for i, a, t, p in events]
    # Today's fingerprints without the version: from the note on, the text differs.
    assert len(mismatches(stripped)) == 2  # the note's event and the sign-off
