"""Recommendation details: the due date in its text, and its repetition in the force's reply.

Pure helpers for ``parse``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date

from workflow.core.checks import due_date_in
from workflow.documents.blocks import Block, plain
from workflow.documents.model import DocumentError, WarningKind

Warn = Callable[[int | None, str, WarningKind], None]

_BOLD_LINE = re.compile(r"^(\s*(?:[-*+]|[0-9]+[.)])\s+)?\*\*(.*)\*\*\s*$")


def due_date(text: str, line: int, path: str, warn: Warn) -> date | None:
    """The date a recommendation's text opens with ("By 31 March 2025, ..."), if any.

    Read by ``workflow.core.checks.due_date_in``, as every other way a recommendation comes
    in: an unreadable date is an error at its line, an approximate reading a warning.
    """
    stated = due_date_in(text)
    if stated.problem:
        raise DocumentError(path, line, stated.problem)
    if stated.note:
        warn(line, stated.note, WarningKind.AMBIGUOUS)
    return stated.day


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
