"""Import a published Section 55 response document: file checks, then one transaction.

``import_document`` reads and checks the file, parses it (``docparse``) and writes the
report, the response (in the state the document shows), its recommendations and areas
for improvement, an ``imported`` audit event and one ``checklist`` event per ticked
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

from states import Role, State
from states.deadlines import DEFAULT_MILESTONES, MilestonePolicy
from workflow import audit
from workflow.audit import Action
from workflow.clock import Clock, SystemClock
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
from workflow.errors import DuplicateError
from workflow.identity import Identifier
from workflow.service import require_role
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
    document: ParsedDocument
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
    """The text of a Markdown file, or a ``DocumentError`` saying why it is not one."""
    name = str(path)
    p = Path(path)
    try:
        size = p.stat().st_size
    except FileNotFoundError:
        raise DocumentError(name, None, "no such file") from None
    except OSError as exc:
        raise DocumentError(name, None, f"cannot read it: {exc.strerror}") from None
    if p.is_dir():
        raise DocumentError(name, None, "is a directory, not a Markdown file")
    if size > MAX_BYTES:
        raise DocumentError(name, None, f"is {size / 1024 / 1024:.1f} MB; documents over "
                            f"{MAX_BYTES // 1024 // 1024} MB are refused")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise DocumentError(name, None, f"cannot read it: {exc.strerror}") from None
    if not data.strip():
        raise DocumentError(name, None, "the document is empty")
    _not_markdown(name, data)
    return _decode(name, data)


def parse_file(path: str | Path, *, force: str | None = None,
               strict: bool = False) -> ParsedDocument:
    """Read and parse one file; ``strict`` refuses anything unplaced or guessed.

    ``force`` is the force this OPCC oversees: a document headed for another force
    is a warning (an error when strict).
    """
    return _parse(read_document(path), path, force=force, strict=strict)


def _parse(text: str, path: str | Path, *, force: str | None, strict: bool) -> ParsedDocument:
    doc = parse_document(text, path=str(path))
    if force and doc.force and doc.force.casefold() != force.strip().casefold():
        w = DocumentWarning(None, f"the document is headed for {doc.force}, but this OPCC "
                            f"oversees {force.strip()}", WarningKind.AMBIGUOUS)
        doc = replace(doc, warnings=(w, *doc.warnings))
    if strict:
        for w in doc.warnings:
            if w.kind in STRICT_KINDS:
                raise DocumentError(str(path), w.line, f"{w.message} (strict import)")
    return doc


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
) -> ImportResult:
    """Import one response document as ``actor`` (an admin) in one transaction.

    ``published_url``/``published_on`` record where and when a published document
    went up (the document itself does not say). ``identifier`` says how the actor is
    known (default: ``actor`` claimed, on the command line of this process).

    Raises:
        DocumentError: the file is not an importable response (nothing is written).
        DuplicateError: this force already has a response to that report.
        NotFoundError, RoleError: the actor is unknown or not an admin.
    """
    text = read_document(path)
    doc = _parse(text, path, force=force, strict=strict)
    state = document_state(doc.checklist)
    now = (clock or SystemClock()).now()
    identifier = identifier or Identifier.here("claimed")
    with db.write() as s:
        acting = identifier.resolve(s, actor)
        person = acting.person
        require_role(person, {Role.ADMIN}, "import responses")
        report = _report(s, doc, now)
        _check_unique(s, report, force.strip())
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
                                 due_date=r.due_date, force_response=r.force_response)
                  for r in doc.recommendations)
        s.add_all(AreaForImprovement(response_id=rid, number=a.number, text=a.text,
                                     force_response=a.force_response)
                  for a in doc.areas_for_improvement)
        s.flush()
        audit.append(s, at=now, actor=person.email, action=Action.IMPORTED, response_id=rid,
                     to_state=state.value, payload=_imported_payload(path, text, doc, state),
                     by=acting.by)
        for item in ChecklistItem:  # the form's order
            if item in doc.checklist:
                audit.append(s, at=now, actor=person.email, action=Action.CHECKLIST,
                             response_id=rid, payload={
                                 "item": item.value, "line": doc.checklist.lines.get(item),
                                 "marked": doc.checklist.marked, "source": "import"},
                             by=acting.by)
        return ImportResult(rid, report.id or 0, state, doc, doc.warnings)


def _report(s: Session, doc: ParsedDocument, now: Any) -> InspectionReport:
    """The report this document answers: an existing one (same title and date) or a new one."""
    report = s.scalars(select(InspectionReport).where(
        col(InspectionReport.title) == doc.title,
        col(InspectionReport.published_on) == doc.published)).first()
    if report is None:
        report = InspectionReport(
            title=doc.title, published_on=doc.published,
            publication_types=doc.publication_types, police_forces=doc.police_forces,
            link=doc.link.url if doc.link else "",
            link_label=doc.link.label if doc.link else "", created_at=now)
        s.add(report)
        s.flush()
    return report


def _check_unique(s: Session, report: InspectionReport, force: str) -> None:
    taken = s.scalars(select(col(Response.id)).where(col(Response.report_id) == report.id,
                                                     col(Response.force) == force)).first()
    if taken is not None:
        raise DuplicateError("response", taken, f"for {force} to {report.title!r}")


def _imported_payload(path: str | Path, text: str, doc: ParsedDocument,
                      state: State) -> dict[str, Any]:
    """Where the import came from and what it noticed, kept in the audit event."""
    return {
        "source": Path(path).name,
        "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),  # of the text as read
        "state": state.value,
        "stated_deadline": doc.stated_deadline.isoformat() if doc.stated_deadline else None,
        "deadline": doc.deadline.isoformat(),
        "link_label": doc.link.label if doc.link else None,
        "recommendations_intro": doc.recommendations_intro,
        "force_in_document": doc.force,
        "checklist_marked": doc.checklist.marked,
        "warnings": [{"line": w.line, "kind": w.kind.value, "message": w.message}
                     for w in doc.warnings],
    }
