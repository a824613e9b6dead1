"""The Section 55 date rules (pure): the 56-day period, the force's default due date, the
RAG status and where a response stands against its deadline."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from states.deadlines import (
    Rag,
    default_force_input_due,
    outcome,
    outcome_text,
    rag,
    statutory_deadline,
)


class TestDeadline:
    def test_norfolk_is_4_december_not_the_5th_its_form_states(self) -> None:
        """s55(5A): 56 days *beginning with* 10 Oct 2024 end on 4 Dec 2024."""
        assert statutory_deadline(date(2024, 10, 10)) == date(2024, 12, 4)

    @given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)))
    def test_the_period_is_56_days_counting_publication_day(self, published: date) -> None:
        deadline = statutory_deadline(published)
        days_in_period = (deadline - published).days + 1
        assert days_in_period == 56

    @given(st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 1, 1)),
           st.integers(min_value=-60, max_value=60))
    def test_default_force_input_due_is_never_in_the_past(self, deadline: date,
                                                          offset: int) -> None:
        today = deadline + timedelta(days=offset)
        due = default_force_input_due(deadline, today, 28)
        assert due >= today
        if today <= deadline - timedelta(days=28):
            assert due == deadline - timedelta(days=28)

    @pytest.mark.parametrize(("left", "expected"), [(30, Rag.GREEN), (14, Rag.AMBER),
                                                    (8, Rag.AMBER), (7, Rag.RED), (0, Rag.RED),
                                                    (-3, Rag.RED)])
    def test_rag_by_days_left(self, left: int, expected: Rag) -> None:
        d = date(2024, 12, 4)
        assert rag(d, d - timedelta(days=left), published_on=None) is expected

    def test_rag_published_on_time_or_late(self) -> None:
        d = date(2024, 12, 4)
        assert rag(d, d, published_on=d) is Rag.DONE
        assert rag(d, d, published_on=d + timedelta(days=1)) is Rag.LATE


D = date(2024, 12, 4)


class TestOutcome:
    """Where a response stands is said in words and in a field, never as "-725 days left"."""

    @pytest.mark.parametrize(("today", "published", "published_on", "closed", "data", "words"), [
        (date(2024, 11, 22), False, None, False, {"kind": "due", "days_left": 12},
         "due in 12 days"),
        (date(2024, 12, 3), False, None, False, {"kind": "due", "days_left": 1}, "due tomorrow"),
        (D, False, None, False, {"kind": "due", "days_left": 0}, "due today"),
        (date(2024, 12, 5), False, None, False, {"kind": "overdue", "days_overdue": 1},
         "1 day overdue"),
        (date(2026, 11, 29), False, None, False, {"kind": "overdue", "days_overdue": 725},
         "725 days overdue"),
        (date(2026, 11, 29), True, date(2024, 12, 2), False,
         {"kind": "published", "published_on": "2024-12-02", "on_time": True, "days_early": 2,
          "days_late": 0}, "published 2 days early"),
        (date(2026, 11, 29), True, date(2024, 12, 3), False,
         {"kind": "published", "published_on": "2024-12-03", "on_time": True, "days_early": 1,
          "days_late": 0}, "published 1 day early"),
        (date(2026, 11, 29), True, D, False,
         {"kind": "published", "published_on": "2024-12-04", "on_time": True, "days_early": 0,
          "days_late": 0}, "published on the deadline"),
        (date(2026, 11, 29), True, date(2024, 12, 7), False,
         {"kind": "published", "published_on": "2024-12-07", "on_time": False, "days_early": 0,
          "days_late": 3}, "published 3 days late"),
        (date(2024, 12, 5), True, date(2024, 12, 5), False,
         {"kind": "published", "published_on": "2024-12-05", "on_time": False, "days_early": 0,
          "days_late": 1}, "published 1 day late"),
        (date(2026, 11, 29), True, None, False,
         {"kind": "published", "published_on": None, "on_time": None, "days_early": None,
          "days_late": None}, "published (date not known)"),
        (date(2026, 11, 29), False, None, True, {"kind": "closed"}, "closed as not required"),
    ])
    def test_outcome_in_data_and_words(self, today: date, published: bool,
                                       published_on: date | None, closed: bool,
                                       data: dict[str, object], words: str) -> None:
        got = outcome(D, today, published=published, published_on=published_on, closed=closed)
        assert got == data
        assert outcome_text(got) == words
