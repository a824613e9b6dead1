"""Dates, days to a deadline, and early or late publication read the same everywhere: one
table of cases for the one wording every page, mail and command uses."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from states.deadlines import outcome, outcome_text
from states.words import due_words, published_words, when

DEADLINE = date(2027, 1, 6)


@pytest.mark.parametrize(("today", "words"), [
    (date(2026, 12, 25), "due in 12 days"),
    (date(2027, 1, 4), "due in 2 days"),
    (date(2027, 1, 5), "due tomorrow"),
    (DEADLINE, "due today"),
    (date(2027, 1, 7), "1 day overdue"),
    (date(2027, 1, 9), "3 days overdue"),
    (date(2029, 1, 8), "733 days overdue"),
])
def test_an_open_date(today: date, words: str) -> None:
    """Ahead, on the day, or past it: never "-733 days left"."""
    assert due_words(DEADLINE, today) == words
    assert outcome_text(outcome(DEADLINE, today, published=False, published_on=None,
                                closed=False)) == words


@pytest.mark.parametrize(("published_on", "words"), [
    (date(2026, 12, 7), "published 30 days early"),
    (date(2027, 1, 5), "published 1 day early"),
    (DEADLINE, "published on the deadline"),
    (date(2027, 1, 7), "published 1 day late"),
    (date(2027, 1, 9), "published 3 days late"),
    (None, "published (date not known)"),
])
def test_a_publication(published_on: date | None, words: str) -> None:
    """How early or late, whatever the day it is read: never "0 days late" when early."""
    assert published_words(DEADLINE, published_on) == words
    assert outcome_text(outcome(DEADLINE, date(2029, 1, 1), published=True,
                                published_on=published_on, closed=False)) == words


def test_a_closed_response() -> None:
    assert outcome_text(outcome(DEADLINE, DEADLINE, published=False, published_on=None,
                                closed=True)) == "closed as not required"


@pytest.mark.parametrize(("instant", "words"), [
    (datetime(2026, 12, 8, 14, 5, 59, 123456, tzinfo=UTC), "8 December 2026 at 14:05"),
    (datetime(2026, 7, 1, 23, 30, tzinfo=UTC), "2 July 2026 at 00:30"),  # BST
    (datetime(2026, 7, 1, 12, 0), "1 July 2026 at 13:00"),  # naive: stored UTC
    ("2026-12-08T14:05:07.654321+00:00", "8 December 2026 at 14:05"),
    (None, "-"),
])
def test_a_moment(instant: datetime | str | None, words: str) -> None:
    """Times in London to the minute, never ISO with microseconds."""
    assert when(instant) == words
