"""The injected clock: every "now" and "today" in s55 comes from here.

Tests move it with time-machine (which patches ``datetime.now``), so nothing here
caches a time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

#: Deadlines are English/Welsh calendar dates.
LONDON = ZoneInfo("Europe/London")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...


class SystemClock:
    """The wall clock (moved in tests by time-machine)."""

    def now(self) -> datetime:
        # Microseconds are kept; SQLite and PostgreSQL both store them exactly.
        return datetime.now(UTC)


class FixedClock:
    """A clock stopped at one instant (for planning "as of" a given time)."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._at


def london_today(clock: Clock) -> date:
    """Today's date in Europe/London."""
    return clock.now().astimezone(LONDON).date()
