"""Rows an older s55 accepted that mail or a rendered document cannot use (``s55 doctor``).

Before every value was checked at entry (``workflow.core.checks``) a report title could hold
a line break or another control character (no mail about that response can then be built:
every transition is refused), a link could be ``javascript:…`` (now shown as text, never
linked), and a person's address could be one no message can carry (their mail is now
recorded dead). Each finding names the row and the command that fixes it. Closed responses
are left out: nothing is mailed about them, and ``s55 report edit`` refuses them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from notifications.errors import NotificationError
from notifications.hrefs import safe_href
from notifications.message import check_address
from states import FINAL
from workflow.storage.models import InspectionReport, Person, Response

#: C0 and C1 controls, DEL and the Unicode line/paragraph separators (mail's rule).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMES = {"\n": "a line feed", "\r": "a carriage return", "\t": "a tab", "\x00": "a NUL"}
#: The report fields ``s55 report edit`` corrects.
FIELDS: tuple[str, ...] = ("title", "link", "publication_types", "police_forces")


@dataclass(frozen=True)
class Unusable:
    """One stored value mail or rendering cannot use, and how to correct it."""

    what: str
    fix: str
    #: True when it stops work now (no mail can be built, so every transition fails).
    blocking: bool

    def describe(self) -> str:
        return f"{self.what}; fix: {self.fix}"


def _control(value: str) -> str | None:
    found = _CONTROL.search(value)
    if found is None:
        return None
    char = found.group()
    return _NAMES.get(char, f"the control character U+{ord(char):04X}")


def find(session: Session) -> list[Unusable]:
    """Every unusable value of an open response's report, then of an active person."""
    found: list[Unusable] = []
    rows = session.execute(
        select(col(Response.id), InspectionReport)
        .join(InspectionReport, col(InspectionReport.id) == col(Response.report_id))
        .where(col(Response.state).not_in([s.value for s in FINAL]))
        .order_by(col(Response.id))).all()
    for rid, report in rows:
        for field in FIELDS:
            value = getattr(report, field) or ""
            control = _control(value)
            if control is not None:
                found.append(Unusable(
                    f"response {rid}: the report's {field} holds {control}",
                    f"s55 report edit {rid} {field} '…'", blocking=field == "title"))
            elif field == "link" and value and not safe_href(value):
                found.append(Unusable(
                    f"response {rid}: the report's link {value!r} is not an http(s) link",
                    f"s55 report edit {rid} link 'https://…' (or '' to clear it)",
                    blocking=False))
    for person in session.scalars(select(Person).where(col(Person.active))
                                  .order_by(col(Person.id))):
        try:
            check_address((person.email or "").strip())
        except NotificationError:
            found.append(Unusable(
                f"{person.name}'s address {person.email!r} cannot be mailed (their mail "
                "goes dead)", f"s55 people edit {person.email!r} --email NEW --reason …",
                blocking=False))
    return found
