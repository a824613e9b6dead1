"""Import a published Section 55 response document: file checks, then one transaction.

``import_document`` reads and checks the file, parses it (``workflow.documents.parse``) and
writes the report, the response (in the state the document shows), its recommendations and
areas for improvement, an ``imported`` audit event and one ``checklist`` event per ticked
office-use box, all in one transaction: a bad document creates nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from states import PUBLISHED_STATES, Role, State
from states.deadlines import DEFAULT_MILESTONES, MilestonePolicy
from states.words import long_date
from workflow.audit import trail
from workflow.audit.words import Action
from workflow.core import files
from workflow.core.checks import check_line, check_publication_date, check_text, check_url
from workflow.core.clock import Clock, SystemClock, london_today
from workflow.core.dates import format_date, iso_or_none
from workflow.core.errors import InvalidInputError
from workflow.documents.model import (
    STRICT_KINDS,
    ChecklistItem,
    DocumentError,
    DocumentWarning,
    ParsedDocument,
    WarningKind,
)
from workflow.documents.office import document_state
from workflow.documents.parse import parse_document
from workflow.identity.acting import Identifier
from workflow.responses import duplicates
from workflow.responses.service import require_role
from workflow.storage.db import Database
from workflow.storage.models import AreaForImprovement, InspectionReport, Recommendation, Response

#: Larger than any real response (the Norfolk one is 40 kB); refuses mistakes early.
MAX_BYTES = 5 * 1024 * 1024

#: Files that are plainly not Markdown, by their first bytes.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF file"),
    (b"PK\x03\x04", "a ZIP archive (a Word .docx?)"),
    (b"\xd0\xcf\x11\xe0", "an old Word .doc file"),
    (b"{\\rtf", "an RTF document"),
)


@dataclass(frozen=True)
class ImportResult:
    """What an import created; ``warnings`` each have ``line`` and ``message``."""

    response_id: int
    report_id: int
    state: State
    warnings: tuple[DocumentWarning, ...]


def _not_markdown(path: str, data: bytes) -> None:
    for magic, what in _SIGNATURES:
        if data.startswith(magic):
            raise DocumentError(path, None, f"not Markdown: {what}")
    if b"\x00" in data:
        raise DocumentError(path, None, "not Markdown: a binary file (it contains NUL bytes)")


def _decode(path: str, data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise DocumentError(path, line, f"not UTF-8 text (byte 0x{data[exc.start]:02x}); "
                            "save the document as UTF-8 Markdown") from None
    head = text.lstrip()[:200].lower()
    if head.startswith(("<!doctype html", "<html")):
        raise DocumentError(path, None, "not Markdown: an HTML page")
    if head.startswith(("{", "[")):
        try:
            json.loads(text)
        except ValueError:
            pass
        else:
            raise DocumentError(path, None, "not Markdown: a JSON file")
    return text


def read_document(path: str | Path) -> str:
    """The text of a Markdown file, or a ``DocumentError`` saying why it is not one.

    Read with a hard limit of ``MAX_BYTES`` whatever size the file reports, and only from a
    regular file (``/dev/zero`` or a FIFO is refused at once, never read or waited on).
    """
    name = str(path)
    try:
        data = files.read_bytes(path, MAX_BYTES)
    except files.FileError as exc:
        raise DocumentError(name, None, exc.problem) from None
    if not data.strip():
        raise DocumentError(name, None, "the document is empty")
    _not_markdown(name, data)
    return _decode(name, data)


def parse_file(path: str | Path, *, force: str | None = None, strict: bool = False,
               published_on: date | None = None, today: date | None = None) -> ParsedDocument:
    """Read and parse one file; ``strict`` refuses anything unplaced or guessed.

    ``force`` is the force this OPCC oversees: a document headed for another force
    is a warning (an error when strict). ``published_on`` and ``today`` are checked as
    ``import_document`` checks them (see ``publication_date``).
    """
    return _parse(read_document(path), path, force=force, strict=strict,
                  published_on=published_on, today=today)[0]


def _parse(text: str, path: str | Path, *, force: str | None, strict: bool,
           published_on: date | None, today: date | None) -> tuple[ParsedDocument, date | None]:
    _check_characters(text, str(path))
    doc = parse_document(text, path=str(path))
    for what, value in (("inspection title", doc.title), ("publication types",
                        doc.publication_types), ("police forces", doc.police_forces),
                        ("force", doc.force or ""), ("report link", doc.link.url if doc.link
                                                     else "")):
        try:
            check_line(value, what)
            if what == "report link" and value:  # the one rule for links: http(s) only
                check_url(value, what)
        except InvalidInputError as exc:
            raise DocumentError(str(path), None, str(exc)) from None
    if today is not None:
        try:
            check_publication_date(doc.published, today, "report published on")
        except InvalidInputError as exc:
            raise DocumentError(str(path), doc.published_line, str(exc)) from None
    if force and doc.force and doc.force.casefold() != force.strip().casefold():
        w = DocumentWarning(None, f"the document is headed for {doc.force}, but this OPCC "
                            f"oversees {force.strip()}", WarningKind.AMBIGUOUS)
        doc = replace(doc, warnings=(w, *doc.warnings))
    day, notes = publication_date(doc, str(path), published_on, today)
    doc = replace(doc, warnings=(*doc.warnings, *notes))
    if strict:
        for w in doc.warnings:
            if w.kind in STRICT_KINDS:
                raise DocumentError(str(path), w.line, f"{w.message} (strict import)")
    return doc, day


def _check_characters(text: str, path: str) -> None:
    """Refuse control characters (other than line breaks and tabs) where they are, as
    ``report add`` does: none would survive a mail subject or PostgreSQL."""
    for number, line in enumerate(text.split("\n"), 1):  # not splitlines: it eats \x0b, \x1c
        try:
            check_text(line, "text", markdown=False)  # the parse checks its nesting
        except InvalidInputError as exc:
            raise DocumentError(path, number, exc.problem) from None


def publication_date(doc: ParsedDocument, path: str, given: date | None,
                     today: date | None) -> tuple[date | None, list[DocumentWarning]]:
    """The day an imported response was published: ``given`` (``--published-on``), else
    the day the document states; with a notice when they differ, or when a published
    document leaves it unknown (no portal reminder can be planned then).

    Raises:
        InvalidInputError: ``given`` is impossible, or the document is not published.
        DocumentError: the document's day is after ``today``.
    """
    state = document_state(doc.checklist)
    stated, line = doc.response_published, doc.response_published_line
    line = line or doc.checklist.lines.get(ChecklistItem.PUBLISHED_ON_WEBSITE)
    if given is not None:
        _check_given(given, doc, state, today)
        if stated is not None and stated != given:
            return given, [DocumentWarning(line, "the document says the response was "
                                           f"published on {format_date(stated)}; "
                                           f"--published-on {format_date(given)} is recorded")]
        return given, []
    if stated is not None:
        if today is not None and stated > today:
            raise DocumentError(path, line, f"the response is said to be published on "
                                f"{format_date(stated)}, after today ({format_date(today)})")
        return stated, []
    if state not in PUBLISHED_STATES:
        return None, []
    portal = " and plans no HMICFRS portal reminder" if state is State.PUBLISHED else ""
    return None, [DocumentWarning(line, "the document does not say on which day the response "
                                  "was published, so its publication date is unknown: s55 "
                                  "cannot tell whether it was published on time (by "
                                  f"{format_date(doc.deadline)}){portal}; import it with "
                                  "--published-on DATE to record it")]


def _check_given(given: date, doc: ParsedDocument, state: State, today: date | None) -> None:
    # The same refusals as the publish trigger's (service._published_on).
    if state not in PUBLISHED_STATES:
        raise InvalidInputError("published on", "the document does not show the response "
                                "published (no 'published' box ticked in its office-use "
                                "list); import it without --published-on")
    if given < doc.published:
        raise InvalidInputError("published on", f"{long_date(given)} is before the report "
                                f"itself was published ({long_date(doc.published)})")
    if today is not None and given > today:
        raise InvalidInputError("published on", f"{long_date(given)} is in the future")


def import_document(
    db: Database,
    path: str | Path,
    *,
    actor: str | None,
    force: str,
    strict: bool = False,
    identifier: Identifier | None = None,
    clock: Clock | None = None,
    milestones: MilestonePolicy = DEFAULT_MILESTONES,
    published_url: str | None = None,
    published_on: date | None = None,
    again: str | None = None,
) -> ImportResult:
    """Import one response document as ``actor`` (an admin) in one transaction.

    ``published_url``/``published_on`` record where and when a published document went up
    (the document itself does not say). ``again`` is the reason for a second response of
    ``force`` to a report it already answers (``duplicates.check_new_response``).
    ``identifier`` says how the actor is known (default: ``actor`` claimed, on the command
    line of this process).

    Raises:
        DocumentError: the file is not an importable response (nothing is written).
        DuplicateResponseError: this force already has a response to that report.
        NotFoundError, RoleError: the actor is unknown or not an admin.
    """
    text = read_document(path)
    clock = clock or SystemClock()
    now = clock.now()
    given_published_on = published_on
    doc, published_on = _parse(text, path, force=force, strict=strict,
                               published_on=published_on, today=london_today(clock))
    state = document_state(doc.checklist)
    identifier = identifier or Identifier.here("claimed")

    def work(s: Session) -> ImportResult:
        from workflow.documents import signature  # Jinja and the templates: lazily

        acting = identifier.resolve(s, actor)
        person = acting.person
        require_role(person, {Role.ADMIN}, "import responses")
        again_of = duplicates.check_new_response(
            s, force=force, title=doc.title, published_on=doc.published,
            link=doc.link.url if doc.link else "", again=again)
        report = _report(s, doc, now, shared=again_of is None)
        response = Response(
            report_id=report.id or 0, force=force.strip(), state=state.value,
            deadline=doc.deadline, signoff_due=milestones.signoff_due(doc.deadline),
            key_findings=doc.key_findings, cc_response=doc.cc_response,
            pcc_response=doc.pcc_response, afi_statement=doc.afi_statement,
            recommendations_intro=doc.recommendations_intro,
            stated_deadline=doc.stated_deadline if doc.stated_deadline != doc.deadline else None,
            published_url=published_url, published_on=published_on,
            created_at=now, updated_at=now,
        )
        s.add(response)
        s.flush()
        rid = response.id or 0
        s.add_all(Recommendation(response_id=rid, number=r.number, text=r.text,
                                 due_date=r.due_date, force_response=r.force_response,
                                 pcc_note=r.pcc_note)
                  for r in doc.recommendations)
        s.add_all(AreaForImprovement(response_id=rid, number=a.number, text=a.text,
                                     force_response=a.force_response)
                  for a in doc.areas_for_improvement)
        s.flush()
        trail.append(s, at=now, actor=person.email, action=Action.IMPORTED, response_id=rid,
                     to_state=state.value, reason=again,
                     payload={**_imported_payload(path, text, doc, state), "again_of": again_of,
                              "published_on": iso_or_none(published_on),
                              "published_on_from": _source(doc, published_on,
                                                           given_published_on),
                              "row": _row_payload(response, report, doc),
                              **signature.seal(s, rid)},
                     by=acting.by)
        for item in ChecklistItem:  # the form's order
            if item in doc.checklist:
                trail.append(s, at=now, actor=person.email, action=Action.CHECKLIST,
                             response_id=rid, payload={
                                 "item": item.value, "line": doc.checklist.lines.get(item),
                                 "marked": doc.checklist.marked, "source": "import"},
                             by=acting.by)
        return ImportResult(rid, report.id or 0, state, doc.warnings)

    # The retrying transaction every command uses: a terminated backend or a serialization
    # failure runs the whole import again, never half of it.
    return db.run(work)


def _report(s: Session, doc: ParsedDocument, now: Any, *, shared: bool) -> InspectionReport:
    """The report this document answers: when ``shared``, an existing one (another force's,
    same title and date) or a new one; else a new one (a second response of one force
    needs a report row of its own: one response per force and report row)."""
    report = s.scalars(select(InspectionReport).where(
        col(InspectionReport.title) == doc.title,
        col(InspectionReport.published_on) == doc.published)).first() if shared else None
    if report is None:
        report = InspectionReport(
            title=doc.title, published_on=doc.published,
            publication_types=doc.publication_types, police_forces=doc.police_forces,
            link=doc.link.url if doc.link else "",
            link_label=doc.link.label if doc.link else "", created_at=now)
        s.add(report)
        s.flush()
    return report


def _source(doc: ParsedDocument, day: date | None, given: date | None) -> str | None:
    """Where the recorded publication day came from, for the audit log."""
    if day is None:
        return None
    return "--published-on" if given is not None else f"line {doc.response_published_line}"


def _row_payload(response: Response, report: InspectionReport,
                 doc: ParsedDocument) -> dict[str, Any]:
    """What the import wrote on the response and its recommendations, so that replaying the
    log rebuilds the row (``workflow.assurance.replay``)."""
    day = iso_or_none
    return {
        "signoff_due": day(response.signoff_due), "published_url": response.published_url,
        "published_on": day(response.published_on),
        **{f: getattr(response, f) for f in ("key_findings", "cc_response", "pcc_response",
                                             "afi_statement", "recommendations_intro")},
        "recommendations": [{"number": r.number, "text": r.text, "due_date": day(r.due_date),
                             "force_response": r.force_response, "pcc_note": r.pcc_note}
                            for r in doc.recommendations],
        "force": response.force, "report_id": report.id,
        "report": {f: getattr(report, f) for f in ("title", "publication_types",
                                                   "police_forces", "link", "link_label")}
        | {"published_on": report.published_on.isoformat()},
        "areas_for_improvement": [{"number": a.number, "text": a.text,
                                   "force_response": a.force_response}
                                  for a in doc.areas_for_improvement],
    }


def _imported_payload(path: str | Path, text: str, doc: ParsedDocument,
                      state: State) -> dict[str, Any]:
    """Where the import came from and what it noticed, kept in the audit event."""
    return {
        "source": Path(path).name,
        "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),  # of the text as read
        "state": state.value,
        "stated_deadline": iso_or_none(doc.stated_deadline),
        "deadline": doc.deadline.isoformat(),
        "link_label": doc.link.label if doc.link else None,
        "recommendations_intro": doc.recommendations_intro,
        "force_in_document": doc.force,
        "checklist_marked": doc.checklist.marked,
        "warnings": [{"line": w.line, "kind": w.kind.value, "message": w.message}
                     for w in doc.warnings],
    }
