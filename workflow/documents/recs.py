"""Recommendation details: the due date in its text, and its repetition in the force's reply.

Pure helpers for ``docparse``.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Sequence
from datetime import date

from workflow.documents.blocks import Block, plain
from workflow.documents.model import DocumentError, WarningKind, format_date, parse_date

Warn = Callable[[int | None, str, WarningKind], None]

# HMICFRS writes "By 31 March 2025, forces should ..."; the date ends at the comma.
_BY = re.compile(r"^by\s+(?:the\s+end\s+of\s+)?([^,:;]{1,60}?)\s*[,:;]", re.IGNORECASE)
_DATEISH = re.compile(r"[0-9]|\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b",
                      re.IGNORECASE)
_MONTH_YEAR = re.compile(r"^([a-z]+)\s+([0-9]{4})$", re.IGNORECASE)
_BOLD_LINE = re.compile(r"^(\s*(?:[-*+]|[0-9]+[.)])\s+)?\*\*(.*)\*\*\s*$")


def due_date(text: str, line: int, path: str, warn: Warn) -> date | None:
    """The date a recommendation's text opens with ("By 31 March 2025, ..."), if any.

    A text that opens "By <something date-like>," must hold a readable date: an
    unreadable one is an error, not a recommendation silently left without a date.
    "By March 2025," is read as the month's last day, with a warning.
    """
    m = _BY.match(plain(text.lstrip("*_ ")))
    if m is None or not _DATEISH.search(m.group(1)):
        return None
    phrase = m.group(1).strip("*_ ")
    parsed = parse_date(phrase)
    if parsed is not None:
        return parsed
    my = _MONTH_YEAR.match(phrase)
    month = _month(my.group(1)) if my else None
    if my and month:
        year = int(my.group(2))
        parsed = date(year, month, calendar.monthrange(year, month)[1])
        warn(line, f"due date {phrase!r} read as {format_date(parsed)}, the month's last day",
             WarningKind.AMBIGUOUS)
        return parsed
    raise DocumentError(path, line, f"cannot read {phrase!r} as a due date "
                        "(expected e.g. 'By 31 March 2025,')")


def _month(name: str) -> int | None:
    low = name.lower()[:3]
    for i in range(1, 13):
        if calendar.month_abbr[i].lower() == low:
            return i
    return None


def _key(text: str) -> str:
    return plain(text).casefold().rstrip(" .;:")


def split_repetition(recommendation: str, reply: Sequence[Block]) -> tuple[int, bool]:
    """How many leading blocks of the force's reply repeat the recommendation's text.

    Returns ``(n, partial)``: ``partial`` is True when the reply opens with part of
    the text but never all of it (nothing is removed then; the caller warns).
    Bold, list markers and spacing are ignored in the comparison.
    """
    target = _key(recommendation)
    if not target:
        return 0, False
    raw = ""
    for n, block in enumerate(reply, start=1):
        raw = f"{raw} {block.text}"
        acc = _key(raw)
        if acc == target:
            return n, False
        if not target.startswith(acc):
            return 0, n > 1
    return 0, bool(raw.strip())


def unbold(markdown: str) -> str:
    """``**text**`` lines (and ``- **item**``) without their bold markers."""
    return "\n".join(_BOLD_LINE.sub(r"\1\2", line) for line in markdown.split("\n"))
