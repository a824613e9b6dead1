"""The "For Office Use Only" list: which boxes a document shows ticked, and the state
that implies. Pure helpers for ``docparse`` (the reading rules are in its docstring).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Protocol

from states.lifecycle import State
from workflow.documents.blocks import Block, plain
from workflow.documents.model import Checklist, ChecklistItem, WarningKind

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

#: What a published document implies even when its list has no marks (see docparse).
IMPLIED_BY_PUBLICATION = frozenset(
    {I.FORWARDED_TO_CHIEF_CONSTABLE, I.FORWARDED_TO_PANEL, I.PUBLISHED_ON_WEBSITE})


class _SlotLike(Protocol):
    items: list[Block]
    line: int


_URL = re.compile(r"https?://\S+|www\.\S+")


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


def parse_checklist(slot: _SlotLike | None, lines: list[str], warn: Warn) -> Checklist:
    """Read the office-use block's lines into a ``Checklist``."""
    if slot is None:
        warn(None, "no 'For Office Use Only' list: nothing shows the response was forwarded "
             "or published, so it is imported as a draft", WarningKind.NOTICE)
        return Checklist()
    marks: dict[ChecklistItem, bool | None] = {}
    where: dict[ChecklistItem, int] = {}
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
    return _resolve(marks, where, warn)


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


class _EventLike(Protocol):
    action: str
    trigger: str | None
    payload: str
    at: datetime


def ticked_from_log(events: Iterable[_EventLike]) -> dict[ChecklistItem, datetime | None]:
    """When each office-use box was ticked, from the audit log (None: not ticked).

    A transition ticks its boxes (``TRIGGER_TICKS``); an imported document's ticked boxes
    are CHECKLIST events (payload ``{"item": ...}``). The earliest tick counts.
    """
    ticked: dict[ChecklistItem, datetime | None] = dict.fromkeys(ChecklistItem)
    for e in events:
        items: tuple[ChecklistItem, ...] = ()
        if e.action == "transition":
            items = TRIGGER_TICKS.get(e.trigger or "", ())
        elif e.action == "checklist":
            name = json.loads(e.payload).get("item")
            items = (ChecklistItem(name),) if name in ChecklistItem._value2member_map_ else ()
        for item in items:
            if ticked[item] is None:
                ticked[item] = e.at
    return ticked
