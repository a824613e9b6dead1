"""The "For Office Use Only" list: which boxes a document shows ticked, and the state
that implies. Pure helpers for ``parse`` (the reading rules are in its docstring).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date, datetime
from typing import Protocol

from states.lifecycle import State
from workflow.core.dates import format_date, parse_date
from workflow.documents.blocks import Block, plain
from workflow.documents.model import Checklist, ChecklistItem, DocumentError, WarningKind

Warn = Callable[[int | None, str, WarningKind], None]
I = ChecklistItem  # noqa: E741 - short alias for the table below

_MARKER = re.compile(r"^\s*(?:[-*+]|[0-9]+[.)])\s+")
_TICKED = re.compile(r"^(?:\[[xX\u2713\u2714]\]|[\u2612\u2611\u2713\u2714\u2705])\s*")
_UNTICKED = re.compile(r"^(?:\[ ?\]|[\u2610\u25a1])\s*")

#: Keywords naming each box, tried in this order ("submitted on the HMICFRS Monitoring
#: Portal" also says "published" nowhere, but "panel" lines mention the force).
_KEYWORDS: tuple[tuple[str, ChecklistItem], ...] = (
    ("portal", I.SUBMITTED_ON_PORTAL),
    ("panel", I.FORWARDED_TO_PANEL),
    ("chief constable", I.FORWARDED_TO_CHIEF_CONSTABLE),
    ("website", I.PUBLISHED_ON_WEBSITE),
    ("published", I.PUBLISHED_ON_WEBSITE),
)

#: What a published document implies even when its list has no marks (see ``parse``).
IMPLIED_BY_PUBLICATION = frozenset(
    {I.FORWARDED_TO_CHIEF_CONSTABLE, I.FORWARDED_TO_PANEL, I.PUBLISHED_ON_WEBSITE})


class _SlotLike(Protocol):
    items: list[Block]
    line: int


_URL = re.compile(r"https?://\S+|www\.\S+")
# "3 December 2024", "3rd Dec. 2024", "December 3, 2024", "03/12/2024", "2024-12-03"; a
# phrase of a date's shape whose month is misspelt is matched too, to be reported.
_DATE_PHRASE = re.compile(
    r"\b(?:\d{1,2}(?:st|nd|rd|th)?\s+[a-z]{3,9}\.?,?\s+\d{4}"
    r"|[a-z]{3,9}\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}"
    r"|\d{1,2}[/.]\d{1,2}[/.]\d{4}|\d{4}-\d{1,2}-\d{1,2})\b", re.IGNORECASE)


def _item(text: str) -> ChecklistItem | None:
    # Keywords are looked for outside URLs: "https://portal.example" names no step.
    low = _URL.sub(" ", text).lower()
    return next((item for word, item in _KEYWORDS if word in low), None)


def _mark(text: str) -> tuple[bool | None, str]:
    """(True ticked / False unticked / None no mark, the text after the mark)."""
    for pattern, value in ((_TICKED, True), (_UNTICKED, False)):
        m = pattern.match(text)
        if m:
            return value, text[m.end():]
    return None, text


def stated_date(text: str) -> tuple[date | None, str | None]:
    """The day an office-use line gives ("... on the website on 3 December 2024."), as
    ``(day, None)``; ``(None, phrase)`` when a date-like phrase is not a date; else
    ``(None, None)``. Digits inside a URL are not a date."""
    m = _DATE_PHRASE.search(_URL.sub(" ", text))
    if m is None:
        return None, None
    day = parse_date(m.group(0))
    return (day, None) if day is not None else (None, m.group(0))


def parse_checklist(slot: _SlotLike | None, lines: list[str], warn: Warn) -> Checklist:
    """Read the office-use block's lines into a ``Checklist``."""
    if slot is None:
        warn(None, "no 'For Office Use Only' list: nothing shows the response was forwarded "
             "or published, so it is imported as a draft", WarningKind.NOTICE)
        return Checklist()
    marks: dict[ChecklistItem, bool | None] = {}
    where: dict[ChecklistItem, int] = {}
    dates: dict[ChecklistItem, date] = {}
    for block in slot.items:
        for offset, raw in enumerate(lines[block.start:block.end]):
            line = block.start + offset + 1
            text = plain(_MARKER.sub("", raw, count=1))
            if not text:
                continue
            mark, rest = _mark(text)
            item = _item(rest)
            if item is None:
                warn(line, f"office-use line {rest!r} names none of the four steps; ignored",
                     WarningKind.UNPLACED)
            elif item in marks:
                warn(line, f"office-use step {item} listed twice (first at line "
                     f"{where[item]}); the first is used", WarningKind.AMBIGUOUS)
            else:
                marks[item], where[item] = mark, line
                if item is I.PUBLISHED_ON_WEBSITE:
                    _publication_date(rest, line, dates, warn)
    checklist = _resolve(marks, where, warn)
    if dates and I.PUBLISHED_ON_WEBSITE not in checklist.ticked:
        warn(where[I.PUBLISHED_ON_WEBSITE], "office-use step published_on_website gives a "
             "date but is not ticked; read as not published", WarningKind.AMBIGUOUS)
        dates.clear()
    return replace(checklist, dates=dates)


def _publication_date(text: str, line: int, dates: dict[ChecklistItem, date],
                      warn: Warn) -> None:
    day, unreadable = stated_date(text)
    if day is not None:
        dates[I.PUBLISHED_ON_WEBSITE] = day
    elif unreadable is not None:
        warn(line, f"cannot read {unreadable!r} as the day the response was published; its "
             "publication date is unknown", WarningKind.AMBIGUOUS)


def response_published_on(checklist: Checklist, labelled: tuple[date | None, int | None],
                          report_published: date, path: str,
                          warn: Warn) -> tuple[date | None, int | None]:
    """The day the response went up and its line: a labelled field's (``labelled``), else
    the date on the ticked publication line; never before the report itself."""
    day, line = labelled
    office = checklist.dates.get(I.PUBLISHED_ON_WEBSITE)
    at = checklist.lines.get(I.PUBLISHED_ON_WEBSITE)
    if day is None:
        day, line = office, at if office else None
    elif office is not None and office != day:
        warn(at, f"the office-use list says the response was published on "
             f"{format_date(office)} but line {line} says {format_date(day)}; "
             f"{format_date(day)} is used", WarningKind.AMBIGUOUS)
    if day is not None and day < report_published:
        raise DocumentError(path, line, f"the response is said to be published on "
                            f"{format_date(day)}, before the report itself "
                            f"({format_date(report_published)})")
    return day, line


def _resolve(marks: dict[ChecklistItem, bool | None], where: dict[ChecklistItem, int],
             warn: Warn) -> Checklist:
    if any(m is not None for m in marks.values()):
        for item, m in marks.items():
            if m is None:
                warn(where[item], f"office-use step {item} has no tick mark while others do; "
                     "read as not done", WarningKind.AMBIGUOUS)
        ticked = frozenset(i for i, m in marks.items() if m)
        return Checklist(ticked, True, where)
    if I.SUBMITTED_ON_PORTAL in where:
        warn(where[I.SUBMITTED_ON_PORTAL], "the office-use list has no tick marks: as a "
             "published document it shows forwarding and publication, but not the HMICFRS "
             "portal submission, which is not recorded (mark it [x] to record it)",
             WarningKind.NOTICE)
    return Checklist(IMPLIED_BY_PUBLICATION if marks else frozenset(), False, where)


def document_state(checklist: Checklist) -> State:
    """The lifecycle state the ticked boxes show (the furthest step ticked)."""
    if I.SUBMITTED_ON_PORTAL in checklist:
        return State.PORTAL_SUBMITTED
    if I.PUBLISHED_ON_WEBSITE in checklist:
        return State.PUBLISHED
    if checklist.ticked & {I.FORWARDED_TO_CHIEF_CONSTABLE, I.FORWARDED_TO_PANEL}:
        return State.FORWARDED_TO_PANEL
    return State.DRAFT


#: The transitions that tick office-use boxes (signing off forwards the response).
TRIGGER_TICKS: dict[str, tuple[ChecklistItem, ...]] = {
    "sign_off": (I.FORWARDED_TO_CHIEF_CONSTABLE, I.FORWARDED_TO_PANEL),
    "publish": (I.PUBLISHED_ON_WEBSITE,),
    "submit_to_portal": (I.SUBMITTED_ON_PORTAL,),
}
#: The transitions that untick them: reopening withdraws the signed text forwarded.
TRIGGER_UNTICKS: dict[str, tuple[ChecklistItem, ...]] = {
    "reopen": (I.FORWARDED_TO_CHIEF_CONSTABLE, I.FORWARDED_TO_PANEL),
}


class _EventLike(Protocol):
    action: str
    trigger: str | None
    payload: str
    at: datetime


def ticked_from_log(events: Iterable[_EventLike]) -> dict[ChecklistItem, datetime | None]:
    """When each office-use box was ticked, from the audit log (None: not ticked).

    A transition ticks its boxes (``TRIGGER_TICKS``); an imported document's ticked boxes
    are CHECKLIST events (payload ``{"item": ...}``). The earliest tick counts, since the
    last time a transition unticked the box (``TRIGGER_UNTICKS``).
    """
    ticked: dict[ChecklistItem, datetime | None] = dict.fromkeys(ChecklistItem)
    for e in events:
        items: tuple[ChecklistItem, ...] = ()
        if e.action == "transition":
            for item in TRIGGER_UNTICKS.get(e.trigger or "", ()):
                ticked[item] = None
            items = TRIGGER_TICKS.get(e.trigger or "", ())
        elif e.action == "checklist":
            name = json.loads(e.payload).get("item")
            items = (ChecklistItem(name),) if name in ChecklistItem._value2member_map_ else ()
        for item in items:
            if ticked[item] is None:
                ticked[item] = e.at
    return ticked
