"""Working days in England and Wales: Monday to Friday except the bank holidays.

The bank holidays come from the ``holidays`` package, whose maintainers keep the one-off
days (the 2022 state funeral, the 2023 coronation) and substitute days current; a list
written here would go stale. Section 55 covers England and Wales, which share one set of
bank holidays: ``subdiv="ENG"`` and ``subdiv="WLS"`` give the same days (a test checks
it), so ENG serves both.

Kept out of ``states/`` (which takes the days as a lookup, ``states.workdays``) so that
``states`` imports nothing from outside the standard library but ``transitions``.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from states.workdays import WorkingDays

#: ``holidays.country_holidays`` arguments for England and Wales.
COUNTRY, SUBDIVISION = "GB", "ENG"


@lru_cache(maxsize=1)
def england_and_wales() -> WorkingDays:
    """Monday to Friday except England and Wales bank holidays, any year (computed by the
    ``holidays`` package as a year is first asked about)."""
    # Imported here: ``s55 --help`` and commands that never plan stay quick to start.
    import holidays

    bank_holidays = holidays.country_holidays(COUNTRY, subdiv=SUBDIVISION)

    def name(day: date) -> str | None:
        found = bank_holidays.get(day)
        return str(found) if found else None

    return WorkingDays(name)


def not_working(day: date) -> str | None:
    """Why ``day`` is not a working day in England and Wales ("Christmas Day",
    "Saturday"), or None."""
    return england_and_wales().closed(day)


def deadline_note(deadline: date) -> dict[str, str] | None:
    """When the last lawful day is not a working day: why, and the last working day
    before it (the deadline itself never moves: s55(5A) counts calendar days). Else None."""
    because = not_working(deadline)
    if because is None:
        return None
    return {"because": because,
            "last_working_day": england_and_wales().on_or_before(deadline).isoformat()}
