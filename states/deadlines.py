"""Section 55 date rules. Pure functions of dates; the caller supplies "today".

Deadlines are calendar dates in Europe/London: a response is on time if it is
published by the end of the deadline day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

#: s55(5A): comments must be published "before the end of the period of 56 days
#: beginning with the day on which the report is published". The publication day is
#: day 1, so the last lawful day is publication + 55 days.
STATUTORY_PERIOD_DAYS = 56
STATUTE_RULE = (
    "s55(5A) Police Act 1996: the 56 days begin with the publication day, "
    "so the last day is publication + 55 days"
)


def statutory_deadline(report_published: date) -> date:
    """The last day on which the PCC's comments may lawfully be published."""
    return report_published + timedelta(days=STATUTORY_PERIOD_DAYS - 1)


@dataclass(frozen=True)
class MilestonePolicy:
    """Internal milestones, in days before the Section 55 deadline."""

    force_input_days_before: int = 28
    signoff_days_before: int = 14

    def force_input_due(self, deadline: date) -> date:
        return deadline - timedelta(days=self.force_input_days_before)

    def signoff_due(self, deadline: date) -> date:
        return deadline - timedelta(days=self.signoff_days_before)


DEFAULT_MILESTONES = MilestonePolicy()

#: The least time a force is given when the D-28 milestone has already passed.
MIN_FORCE_DAYS = 7


def default_force_input_due(deadline: date, today: date, days_before: int) -> date:
    """s55(4) date for the force's comments: D-28 by default, never in the past.

    A report registered late still gives the force a week where the deadline allows.
    """
    planned = deadline - timedelta(days=days_before)
    if planned >= today:
        return planned
    return min(today + timedelta(days=MIN_FORCE_DAYS), max(deadline, today))


class Rag(StrEnum):
    """Red/amber/green status shown on the dashboard."""

    GREEN = "green"
    AMBER = "amber"
    RED = "red"
    DONE = "done"  # published on time
    LATE = "late"  # published after the deadline
    UNDATED = "undated"  # published on a day nobody recorded (an imported document)
    CLOSED = "closed"  # not required


#: Days left at or below which an unpublished response is red / amber.
RED_DAYS = 7
AMBER_DAYS = 14


def days_left(deadline: date, today: date) -> int:
    """Whole days from today to the deadline day (0 on the day, negative when overdue)."""
    return (deadline - today).days


def rag(
    deadline: date,
    today: date,
    *,
    published_on: date | None,
    closed: bool = False,
    milestone_missed: bool = False,
    published: bool = False,
) -> Rag:
    """The dashboard status of one response (``published``: its state says it is, whether
    or not the day is known)."""
    if closed:
        return Rag.CLOSED
    if published_on is not None:
        return Rag.DONE if published_on <= deadline else Rag.LATE
    if published:
        return Rag.UNDATED
    left = days_left(deadline, today)
    if left <= RED_DAYS:
        return Rag.RED
    if left <= AMBER_DAYS or milestone_missed:
        return Rag.AMBER
    return Rag.GREEN


def outcome(deadline: date, today: date, *, published: bool, published_on: date | None,
            closed: bool) -> dict[str, Any]:
    """Where a response stands against its deadline, as plain data (``--json`` shows it as is).

    One of, by ``kind``:
    ``{"kind": "due", "days_left": 12}`` (0 on the deadline day, which is still lawful);
    ``{"kind": "overdue", "days_overdue": 3}`` (not published, the deadline passed);
    ``{"kind": "published", "published_on": "2024-12-02", "on_time": True, "days_early": 2,
    "days_late": 0}`` (``published_on``, ``on_time`` and both counts None when the day of
    publication is not known); ``{"kind": "closed"}`` (not required).
    Once published or closed, the days to a deadline long gone mean nothing, so none are given.
    """
    if closed:
        return {"kind": "closed"}
    if published:
        if published_on is None:
            return {"kind": "published", "published_on": None, "on_time": None,
                    "days_early": None, "days_late": None}
        margin = (deadline - published_on).days
        return {"kind": "published", "published_on": published_on.isoformat(),
                "on_time": margin >= 0, "days_early": max(margin, 0), "days_late": max(-margin, 0)}
    left = days_left(deadline, today)
    if left < 0:
        return {"kind": "overdue", "days_overdue": -left}
    return {"kind": "due", "days_left": left}


def outcome_in(state: str, deadline: date, today: date, published_on: date | None
               ) -> dict[str, Any]:
    """``outcome`` of a response in ``state`` (a state's value): published once it is in a
    published state, closed when not required."""
    from states.lifecycle import PUBLISHED_STATES, State

    return outcome(deadline, today, published=State(state) in PUBLISHED_STATES,
                   published_on=published_on, closed=state == State.NOT_REQUIRED)


def outcome_text(o: dict[str, Any]) -> str:
    """An ``outcome`` in words (``states.words``): ``due in 12 days``, ``due today``,
    ``3 days overdue``, ``published 2 days early``, ``published on the deadline``,
    ``published 3 days late``, ``closed as not required``."""
    from states.words import due_in, published_margin

    kind = o["kind"]
    if kind == "closed":
        return "closed as not required"
    if kind == "overdue":
        return due_in(-o["days_overdue"])
    if kind == "due":
        return due_in(o["days_left"])
    if o["on_time"] is None:
        return "published (date not known)"
    return published_margin(o["days_early"] or -o["days_late"])
