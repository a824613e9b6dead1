"""Calendar dates as people in England and Wales write them, read and written one way
everywhere: a report's publication date, a recommendation's "By 31 March 2025", a
document's "Response published on 3 December 2024"."""

from __future__ import annotations

import re
from datetime import date, datetime

_ORDINAL = re.compile(r"\b(\d{1,2})(st|nd|rd|th)\b", re.IGNORECASE)
_WEEKDAY = re.compile(r"^(mon|tues?|wed(nes)?|thu(rs)?|fri|sat(ur)?|sun)[a-z]*day,?\s+",
                      re.IGNORECASE)
_FORMATS = ("%d %B %Y", "%d %b %Y", "%B %d %Y", "%b %d %Y", "%Y-%m-%d", "%d/%m/%Y",
            "%d.%m.%Y", "%d-%m-%Y")


def parse_date(text: str) -> date | None:
    """A calendar date as UK documents write it ("10 October 2024", "10th Oct 2024",
    "10/10/2024" day first, "2024-10-10"); None when it is not one."""
    s = _WEEKDAY.sub("", " ".join(text.split()).strip(" .,;"))
    s = _ORDINAL.sub(r"\1", s).replace(",", " ")
    s = " ".join(s.split()).replace("Sept ", "Sep ").replace("sept ", "sep ")
    if not s or len(s) > 40:
        return None
    for fmt in _FORMATS:
        try:
            return datetime.strptime(s, fmt).date()
        except ValueError:
            continue
    return None


def format_date(d: date) -> str:
    """The fixture's style: "10 October 2024" (no leading zero)."""
    return f"{d.day} {d:%B %Y}"


def iso_or_none(d: date | None) -> str | None:
    """The day as ISO text ("2024-10-10") for a payload, or None when there is none."""
    return d.isoformat() if d else None
