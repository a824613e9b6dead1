"""What a Section 55 response document holds, as plain data, and the importer's errors.

The reader (``workflow.documents.parse``) produces these; the database import
(``workflow.responses.importing``) consumes them. Pure: no I/O, no clock, no database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from workflow.core.errors import S55Error

#: What the canonical text of a response holds (``workflow.documents.signature``; every
#: recorded fingerprint names the version it was computed under). 1: without the PCC's
#: notes; 2: with them, under the PCC's section (s55(5B)); 3: no heading printed empty
#: (an empty "Police Forces" shows the response's force; no recommendations, or no areas
#: for improvement, are said in the published layout's words).
TEXT_VERSION = 3

#: The published layout's words for a report without areas for improvement (the Norfolk
#: response), and the same for one without recommendations.
NO_AREAS = "There are no areas for improvement made."
NO_RECOMMENDATIONS = "There are no recommendations made."


def police_forces_shown(police_forces: str | None, force: str) -> str:
    """What the document prints under "Police Forces": the report's, else the force the
    response is for (the office's force, recorded on the response when it was opened, so
    the signed text never changes with the settings)."""
    return (police_forces or "").strip() or force


class DocumentError(S55Error, ValueError):
    """A response document cannot be imported; names the file and, where known, the line."""

    def __init__(self, path: str, line: int | None, problem: str) -> None:
        self.path, self.line, self.problem = path, line, problem
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {problem}")


class WarningKind(StrEnum):
    """How serious a warning is; ``strict`` import refuses the first two."""

    UNPLACED = "unplaced"  # content the importer could not put anywhere
    AMBIGUOUS = "ambiguous"  # the importer chose between readings it cannot confirm
    NOTICE = "notice"  # a fact worth knowing (deadline mismatch, missing force reply)


#: Kinds that ``strict=True`` turns into a ``DocumentError``: "never guess silently".
STRICT_KINDS = frozenset({WarningKind.UNPLACED, WarningKind.AMBIGUOUS})


@dataclass(frozen=True)
class DocumentWarning:
    """Something the importer reports about the document; ``line`` is 1-based."""

    line: int | None
    message: str
    kind: WarningKind = WarningKind.NOTICE

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


class ChecklistItem(StrEnum):
    """The four boxes of the "For Office Use Only" block, in the form's order."""

    FORWARDED_TO_CHIEF_CONSTABLE = "forwarded_to_chief_constable"
    FORWARDED_TO_PANEL = "forwarded_to_panel"
    PUBLISHED_ON_WEBSITE = "published_on_website"
    SUBMITTED_ON_PORTAL = "submitted_on_portal"


@dataclass(frozen=True)
class ReportLink:
    label: str
    url: str


@dataclass(frozen=True)
class ParsedRecommendation:
    """A recommendation as published: its number is never changed."""

    number: int
    text: str  # Markdown, bullet points kept
    due_date: date | None  # from "By 31 March 2025, ..."
    force_response: str | None  # Markdown, without the repeated recommendation text
    line: int  # where its heading is
    #: The PCC's s55(5B) explanation: Markdown under its heading in the PCC's section.
    pcc_note: str | None = None


@dataclass(frozen=True)
class ParsedAreaForImprovement:
    number: int
    text: str
    force_response: str | None
    line: int


@dataclass(frozen=True)
class Checklist:
    """Which office-use boxes the document shows ticked.

    ``marked`` is False when the document shows a plain list (no tick marks): see
    ``workflow.documents.parse`` for how such a list is read.
    """

    ticked: frozenset[ChecklistItem] = frozenset()
    marked: bool = False
    lines: dict[ChecklistItem, int] = field(default_factory=dict, compare=False)
    #: The day a ticked box's line gives ("Response published on the website on 3
    #: December 2024."); only the publication is read.
    dates: dict[ChecklistItem, date] = field(default_factory=dict, compare=False)

    def __contains__(self, item: object) -> bool:
        return item in self.ticked


@dataclass(frozen=True)
class ParsedDocument:
    """Everything a response document says, structured; Markdown text kept as written."""

    title: str
    published: date
    publication_types: str
    police_forces: str
    link: ReportLink | None
    stated_deadline: date | None  # as the document states it
    deadline: date  # the statutory last day (s55(5A)); what is stored
    key_findings: str | None
    recommendations_intro: str | None
    recommendations: tuple[ParsedRecommendation, ...]
    afi_statement: str | None  # e.g. "There are no areas for improvement made."
    areas_for_improvement: tuple[ParsedAreaForImprovement, ...]
    cc_response: str | None  # the Chief Constable's overall response
    pcc_response: str | None
    checklist: Checklist
    force: str | None  # from the heading ("Norfolk's Police and Crime Commissioner ...")
    warnings: tuple[DocumentWarning, ...] = ()
    # The day the response itself went up, where the document says (None: it does not).
    response_published: date | None = None
    response_published_line: int | None = None
    published_line: int | None = None  # where the report's publication date is stated

    def recommendation(self, number: int) -> ParsedRecommendation:
        for rec in self.recommendations:
            if rec.number == number:
                return rec
        raise KeyError(number)
