"""Importing response documents into the database: one transaction, the document's state,
checklist audit events, and refusals that write nothing (on SQLite and PostgreSQL)."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from states import State
from tests.factories import ADMIN, FORCE, snapshot
from workflow.audit import trail
from workflow.audit.words import Action
from workflow.core.clock import FixedClock
from workflow.core.errors import DuplicateError, NotFoundError, RoleError
from workflow.documents.model import DocumentError
from workflow.responses.importing import MAX_BYTES, import_document
from workflow.responses.service import Workflow
from workflow.storage.models import AreaForImprovement, InspectionReport, Recommendation, Response

FIXTURE = Path(__file__).parents[2] / "data" / "norfolk-asb-spotlight-2024.md"
NORFOLK = FIXTURE.read_text(encoding="utf-8")
AT = datetime(2025, 1, 15, 10, 30, tzinfo=UTC)
OFFICE_PLAIN = """- Response forwarded to the Chief Constable.
- Response forwarded to the Norfolk Police and Crime Panel.
- Response published on the OPCQN website.
- Response submitted on the HMICFRS Monitoring Portal."""


def write(tmp_path: Path, text: str, name: str = "response.md") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def do_import(wf: Workflow, path: Path, **kw: object):  # noqa: ANN201 - test helper
    return import_document(wf.db, path, actor=ADMIN, force="Norfolk",
                           clock=FixedClock(AT), **kw)  # type: ignore[arg-type]


class TestNorfolkImport:
    def test_rows_match_the_document(self, wf: Workflow) -> None:
        """Report, response and recommendations hold the fixture's values; the statutory
        deadline (4 Dec 2024) is stored, not the stated 5 Dec."""
        result = do_import(wf, FIXTURE, published_url="https://www.norfolk-pcc.gov.uk/asb",
                           published_on=date(2024, 12, 3))
        with wf.db.read() as s:
            report = s.get(InspectionReport, result.report_id)
            resp = s.get(Response, result.response_id)
            recs = list(s.scalars(select(Recommendation).order_by(Recommendation.number)))
            afis = list(s.scalars(select(AreaForImprovement)))
        assert report is not None
        assert resp is not None
        assert report.title == "The policing response to antisocial behaviour: PEEL spotlight " \
            "report"
        assert report.published_on == date(2024, 10, 10)
        assert report.publication_types == "Anti-social behaviour, PEEL and spotlight"
        assert report.police_forces == "All local forces in England and Wales"
        assert report.link == "https://justiceinspectorates.gov.uk"
        assert resp.force == "Norfolk"
        assert resp.state == "published"
        assert resp.deadline == date(2024, 12, 4)
        assert resp.signoff_due == date(2024, 11, 20)
        assert resp.afi_statement == "There are no areas for improvement made."
        assert resp.published_url == "https://www.norfolk-pcc.gov.uk/asb"
        assert resp.published_on == date(2024, 12, 3)
        assert resp.key_findings is not None
        assert resp.key_findings.startswith("This HMICFRS report brings together findings")
        assert resp.cc_response is not None
        assert resp.cc_response.endswith("Our initial response to these recommendations is "
                                         "summarised below.")
        assert resp.pcc_response is not None
        assert resp.pcc_response.endswith("can be provided in the county.")
        assert [(r.number, r.due_date) for r in recs] == [
            (1, date(2025, 3, 31)), (2, date(2025, 9, 30)), (3, date(2025, 3, 31)),
            (4, date(2024, 12, 31)), (8, date(2025, 9, 30))]
        assert recs[4].force_response is not None
        assert recs[4].force_response.startswith("Beat Managers and their Sergeants")
        assert afis == []

    def test_audit_events(self, wf: Workflow) -> None:
        """One IMPORTED event carrying what has no column, then one CHECKLIST event per box
        the document shows done, all dated at import; the chain still verifies."""
        result = do_import(wf, FIXTURE)
        with wf.db.read() as s:
            events = trail.events_for(s, result.response_id)
        assert [e.action for e in events] == [Action.IMPORTED] + [Action.CHECKLIST] * 3
        assert all(e.at == AT for e in events)
        assert all(e.actor == ADMIN for e in events)
        imported = audit_payload(events[0].payload)
        assert events[0].to_state == "published"
        assert imported["stated_deadline"] == "2024-12-05"
        assert imported["deadline"] == "2024-12-04"
        assert imported["recommendations_intro"].startswith("Eight recommendations are made")
        assert imported["link_label"].endswith("(justiceinspectorates.gov.uk)")
        assert [audit_payload(e.payload)["item"] for e in events[1:]] == [
            "forwarded_to_chief_constable", "forwarded_to_panel", "published_on_website"]
        assert [audit_payload(e.payload)["line"] for e in events[1:]] == [204, 205, 206]
        assert trail.verify(wf.db).ok

    @pytest.mark.parametrize(("office", "state", "items"), [
        ("- [x] forwarded to the Chief Constable\n- [x] forwarded to the Panel\n"
         "- [x] published on the website\n- [x] submitted on the HMICFRS Portal",
         State.PORTAL_SUBMITTED, 4),
        ("\u2612 forwarded to the Chief Constable\n\n\u2612 forwarded to the Panel\n\n"
         "\u2610 published on the website\n\n\u2610 submitted on the HMICFRS Portal",
         State.FORWARDED_TO_PANEL, 2),
        ("- [ ] forwarded to the Chief Constable\n- [ ] forwarded to the Panel\n"
         "- [ ] published on the website\n- [ ] submitted on the HMICFRS Portal",
         State.DRAFT, 0),
        ("- \u2713 forwarded to the Chief Constable\n- \u2713 forwarded to the Panel\n"
         "- \u2713 published on the website\n- \u2610 submitted on the HMICFRS Portal",
         State.PUBLISHED, 3),
    ])
    def test_ticked_boxes_set_state(self, wf: Workflow, tmp_path: Path, office: str,
                                    state: State, items: int) -> None:
        """The response lands in the furthest state the ticked boxes show, with one
        CHECKLIST event per ticked box."""
        result = do_import(wf, write(tmp_path, NORFOLK.replace(OFFICE_PLAIN, office)))
        assert result.state is state
        with wf.db.read() as s:
            events = trail.events_for(s, result.response_id)
            assert s.get(Response, result.response_id).state == state.value  # type: ignore[union-attr]
        assert sum(e.action == Action.CHECKLIST for e in events) == items

    def test_without_office_use_list_it_is_a_draft(self, wf: Workflow, tmp_path: Path) -> None:
        text = NORFOLK.replace("### **For Office Use Only:**\n\n" + OFFICE_PLAIN, "")
        result = do_import(wf, write(tmp_path, text))
        assert result.state is State.DRAFT
        assert any("For Office Use Only" in w.message for w in result.warnings)

    def test_a_second_import_is_refused_and_writes_nothing(self, wf: Workflow) -> None:
        do_import(wf, FIXTURE)
        before = snapshot(wf)
        with pytest.raises(DuplicateError, match=r"^Norfolk already has response 1 \(published\) "
                           "to 'The policing response"):
            do_import(wf, FIXTURE)
        assert snapshot(wf) == before

    def test_another_force_can_import_the_same_report(self, wf: Workflow,
                                                     tmp_path: Path) -> None:
        """The report row is shared; each force has its own response."""
        first = do_import(wf, FIXTURE)
        suffolk = write(tmp_path, NORFOLK.replace("Norfolk's Police", "Suffolk's Police"))
        second = import_document(wf.db, suffolk, actor=ADMIN, force="Suffolk")
        assert second.report_id == first.report_id
        assert second.response_id != first.response_id

    @pytest.mark.parametrize(("actor", "error"), [("nobody@example.org", NotFoundError),
                                                  (FORCE, RoleError)])
    def test_only_known_admins_import(self, wf: Workflow, actor: str,
                                      error: type[Exception]) -> None:
        before = snapshot(wf)
        with pytest.raises(error):
            import_document(wf.db, FIXTURE, actor=actor, force="Norfolk")
        assert snapshot(wf) == before


def audit_payload(text: str) -> dict:  # type: ignore[type-arg]
    import json

    return json.loads(text)  # type: ignore[no-any-return]


def _lines(text: str, start: int, end: int, new: str) -> str:
    """The fixture with its 1-based lines start..end replaced by ``new``."""
    lines = text.split("\n")
    return "\n".join(lines[:start - 1] + [new] + lines[end:])


BAD: dict[str, tuple[bytes | None, int | None, str]] = {
    "missing": (None, None, "no such file"),
    "empty": (b"", None, "the document is empty"),
    "blank": (b"\n\n   \n", None, "the document is empty"),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", None, "binary file"),
    "pdf": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", None, "not Markdown: a PDF file"),
    "docx": (b"PK\x03\x04\x14\x00\x06\x00", None, "not Markdown: a ZIP archive"),
    "html": (b"<!DOCTYPE html><html><body><h1>Hi</h1></body></html>", None, "an HTML page"),
    "json": (b'{"title": "x"}', None, "a JSON file"),
    "latin1": (NORFOLK.replace("Norfolk's", "Norfolk\u2019s").encode("cp1252"), 5,
               "not UTF-8 text"),
    "no headings": (b"Just some text.\n\nAnd more.\n", None, "it has no headings"),
    "no title": (_lines(NORFOLK, 9, 12, "").encode(), None, "no inspection title"),
    "empty title": (_lines(NORFOLK, 11, 11, "").encode(), 9, "no inspection title"),
    "bad date": (_lines(NORFOLK, 15, 15, "10 Octember 2024").encode(), 15,
                 "cannot read '10 Octember 2024' as a date"),
    "bad due date": (_lines(NORFOLK, 85, 85, "By 31 Smarch 2025, forces should act.").encode(),
                     85, "cannot read '31 Smarch 2025' as a due date"),
    "no number": (_lines(NORFOLK, 87, 87, "### Recommendation").encode(), 87,
                  "recommendation heading 'Recommendation' has no number"),
    # One rule for every path: positive whole numbers, as `rec add` requires.
    "number 0": (_lines(NORFOLK, 87, 87, "### Recommendation 0").encode(), 87,
                 "recommendation heading 'Recommendation 0': 0 is out of range (1 to "
                 "2147483647)"),
    "huge number": (_lines(NORFOLK, 87, 87, "### Recommendation 99999999999999999999").encode(),
                    87, "99999999999999999999 is out of range (1 to 2147483647)"),
    "duplicate number": (_lines(NORFOLK, 105, 105, "### Recommendation 4").encode(), 105,
                         "duplicated recommendation number 4 (first at line 98)"),
    "duplicate in force section": (_lines(NORFOLK, 137, 137, "## **Recommendation 1**").encode(),
                                   137, "duplicated recommendation number 1 in the Chief"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_one_line_error_and_writes_nothing(wf: Workflow, tmp_path: Path,
                                                        case: str) -> None:
    """Each bad document is a one-line DocumentError naming the file (and the line where one
    applies), and the database is exactly as before."""
    data, line, problem = BAD[case]
    path = tmp_path / "bad.md"
    if data is not None:
        path.write_bytes(data)
    before = snapshot(wf)
    with pytest.raises(DocumentError) as info:
        do_import(wf, path)
    message = str(info.value)
    assert "\n" not in message
    assert problem in message
    assert info.value.line == line
    assert message.startswith(f"{path}:{line}: " if line else f"{path}: ")
    assert snapshot(wf) == before


def test_oversized_file_is_refused(wf: Workflow, tmp_path: Path) -> None:
    """Over 5 MB is refused (read with a hard limit); nothing is written."""
    path = tmp_path / "huge.md"
    path.write_bytes(NORFOLK.encode() + b"x" * (MAX_BYTES + 1 - len(NORFOLK.encode())))
    before = snapshot(wf)
    with pytest.raises(DocumentError) as info:
        do_import(wf, path)
    assert str(info.value) == f"{path}: is larger than 5 MB, the most s55 reads here"
    assert snapshot(wf) == before


@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_a_device_or_pipe_is_refused_without_reading_it(wf: Workflow, tmp_path: Path,
                                                        special: str) -> None:
    """``/dev/zero`` reports size 0 and never ends; a FIFO with no writer would block for
    ever: both are refused at once as not regular files, and nothing is written."""
    path = Path(special)
    if special == "fifo":
        path = tmp_path / "pipe.md"
        os.mkfifo(path)
    before = snapshot(wf)
    with pytest.raises(DocumentError) as info:
        do_import(wf, path)
    assert str(info.value) == (f"{path}: is not a regular file (a pipe, socket or device); "
                               "save the text to a file first")
    assert snapshot(wf) == before


def test_directory_is_refused(wf: Workflow, tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="is a directory"):
        do_import(wf, tmp_path)


def test_strict_refuses_unplaced_content(wf: Workflow, tmp_path: Path) -> None:
    """Content under a heading that fits nowhere is a warning with its lines; strict makes it
    an error naming that line, and writes nothing."""
    text = NORFOLK.replace("## Recommendations\n", "## Our own notes\n\nInternal only.\n\n"
                           "## Recommendations\n")
    path = write(tmp_path, text)
    before = snapshot(wf)
    with pytest.raises(DocumentError, match=r":79: 'Our own notes' \(lines 79-81\) is not part"):
        do_import(wf, path, strict=True)
    assert snapshot(wf) == before
    result = do_import(wf, path)
    assert [(w.line, w.kind) for w in result.warnings if w.kind != "notice"] == [
        (79, "unplaced")]


@pytest.mark.parametrize(("published", "problem"), [
    ("1 January 1999", "report published on: 1999-01-01 is before 1 January 2000"),
    ("1 January 2099", "report published on: 2099-01-01 is more than 31 days after today "
                       "(2025-01-15)"),
])
def test_implausible_publication_date_is_refused(wf: Workflow, tmp_path: Path, published: str,
                                                 problem: str) -> None:
    """The rule ``report add`` applies, naming the document's line."""
    path = write(tmp_path, _lines(NORFOLK, 15, 15, published))
    before = snapshot(wf)
    with pytest.raises(DocumentError) as info:
        do_import(wf, path)
    assert str(info.value).startswith(f"{path}:15: {problem}")
    assert snapshot(wf) == before


@pytest.mark.parametrize(("line", "new", "problem"), [
    (15, "10 October 2024\x1b[2J", "15: contains a control character (U+001B)"),
    (90, "Some text\x0b here", "90: contains a control character (U+000B)"),
])
def test_control_characters_in_a_document_are_refused(wf: Workflow, tmp_path: Path, line: int,
                                                      new: str, problem: str) -> None:
    """As ``report add`` refuses them; the line is named where it is known."""
    path = write(tmp_path, _lines(NORFOLK, line, line, new))
    before = snapshot(wf)
    with pytest.raises(DocumentError) as info:
        do_import(wf, path)
    assert str(info.value).startswith(f"{path}:{problem}"), str(info.value)
    assert snapshot(wf) == before


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.postgresql
def test_import_is_retried_when_its_backend_is_terminated(wf: Workflow) -> None:
    """The backend dies mid-import (after the response row is written): the import runs
    again in a fresh transaction, as every other command does, and is stored once.

    The server itself ends the backend, from a trigger on the first recommendation row; a
    sequence (not rolled back with the transaction) makes it happen on the first try only.
    """
    from sqlalchemy import func, select, text
    from sqlmodel import col

    from workflow.audit.words import Action
    from workflow.storage.models import AuditEvent

    ddl = ["CREATE SEQUENCE s55_test_kill_once",
           "CREATE FUNCTION s55_test_kill() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
           "IF nextval('s55_test_kill_once') = 1 THEN "
           "PERFORM pg_terminate_backend(pg_backend_pid()); END IF; RETURN NEW; END $$",
           "CREATE TRIGGER s55_test_kill BEFORE INSERT ON recommendation "
           "FOR EACH ROW EXECUTE FUNCTION s55_test_kill()"]
    with wf.db.engine.begin() as conn:
        for statement in ddl:
            conn.execute(text(statement))
    try:
        result = do_import(wf, FIXTURE)
        with wf.db.read() as s:
            tries = s.execute(text("SELECT last_value FROM s55_test_kill_once")).scalar_one()
            counts = [s.scalar(select(func.count()).select_from(m)) for m in (Response,
                                                                            InspectionReport)]
            imported = s.scalar(select(func.count()).select_from(AuditEvent).where(
                col(AuditEvent.action) == Action.IMPORTED.value))
            recs = s.scalar(select(func.count()).select_from(Recommendation))
    finally:
        wf.db.dispose()
        with wf.db.engine.begin() as conn:
            conn.execute(text("DROP TRIGGER IF EXISTS s55_test_kill ON recommendation"))
            conn.execute(text("DROP FUNCTION IF EXISTS s55_test_kill()"))
            conn.execute(text("DROP SEQUENCE IF EXISTS s55_test_kill_once"))
    assert tries > 5  # the first row of the first try was the one that killed it
    assert (counts, imported, recs) == ([1, 1], 1, 5)  # one response, one report, stored once
    assert result.response_id > 0
