"""The example date in a form's hint is computed from today, in the British form, and is one
the form would accept: never a date gone by, never past the deadline."""

from __future__ import annotations

from datetime import date

import pytest

from workflow.web.page_data import example_date


@pytest.mark.parametrize(("today", "deadline", "shown"), [
    (date(2026, 12, 8), date(2027, 1, 6), "22/12/2026"),
    (date(2026, 12, 30), date(2027, 1, 6), "06/01/2027"),
    (date(2027, 1, 9), date(2027, 1, 6), "09/01/2027"),  # overdue: today, not the past
])
def test_example_date(today: date, deadline: date, shown: str) -> None:
    assert example_date(today, deadline) == shown
