"""Working days: the days escalations are sent on. Pure: bank holidays arrive as a lookup.

Section 55 counts calendar days (s55(5A): "the period of 56 days beginning with the day
on which the report is published"), so the deadline never moves; only the day a reminder
is sent does. A reminder whose day is not a working day is sent on the working day
before it, so that people hear of it while they can still act.

The bank holidays are not written here: ``workflow.core.bank_holidays`` passes a lookup
built from the ``holidays`` package, whose maintainers keep the one-off days (a coronation,
a state funeral) and substitute days current. ``states`` only knows that Saturday and Sunday
are not working days.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

#: Names the bank holiday on a day, or None (``holidays``' ``dict.get``, in workflow).
HolidayLookup = Callable[[date], str | None]

_WEEKEND = {5: "Saturday", 6: "Sunday"}
_DAY = timedelta(days=1)


def _no_holidays(_day: date) -> str | None:
    return None


class WorkingDays:
    """Monday to Friday except the bank holidays ``holiday`` names (or, with
    ``weekends=False`` and no lookup, every day: calendar days, nothing moves)."""

    __slots__ = ("_holiday", "_weekend", "known")

    def __init__(self, holiday: HolidayLookup = _no_holidays, *, weekends: bool = True) -> None:
        self._holiday = holiday
        self._weekend = _WEEKEND if weekends else {}
        #: The days already answered: day -> ``on_or_before(day)``. The planner asks about
        #: the same few days for every open response, and reads this before calling.
        self.known: dict[date, date] = {}

    def closed(self, day: date) -> str | None:
        """Why ``day`` is not a working day ("Christmas Day", "Saturday"), or None."""
        return self._holiday(day) or self._weekend.get(day.weekday())

    def on_or_before(self, day: date) -> date:
        """``day`` if it is a working day, else the last working day before it."""
        found = self.known.get(day)
        if found is None:
            found = day
            while self.closed(found) is not None:
                found -= _DAY
            self.known[day] = found
        return found


#: Calendar days: the planner's default, so that nothing moves unless a caller says so.
EVERY_DAY = WorkingDays(weekends=False)
