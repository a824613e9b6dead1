"""The dashboard query behind ``s55 list``: open responses with their deadline status.

Kept apart from the ORM models on purpose: ``s55 list`` is the command officers run
most, and building the SQLModel classes costs more start-up time than the query. It
reads the Core tables (``workflow.storage.tables``) directly.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from states import PUBLISHED_STATES, State
from states.deadlines import days_left, outcome_in, rag
from states.lifecycle import WAITING_ON
from workflow.core.clock import Clock, london_today
from workflow.escalations.plan import next_escalations
from workflow.reads.who_can_act import nobody_can_act
from workflow.storage.tables import INSPECTION_REPORT, IS_OPEN, OPEN_STATES, RESPONSE

if TYPE_CHECKING:
    from workflow.core.settings import Settings
    from workflow.storage.db import Database

_PUBLISHED = sorted(s.value for s in PUBLISHED_STATES)


def _milestone_missed(state: State, today: date, force_input_due: date | None,
                      signoff_due: date) -> bool:
    if state is State.FORCE_INPUT and force_input_due is not None:
        return today > force_input_due
    signed = state in PUBLISHED_STATES or state is State.FORWARDED_TO_PANEL
    return not signed and today > signoff_due


def status(row: Any, today: date) -> dict[str, Any]:
    """Deadline figures of one response: days left, RAG, who it waits on, and its
    ``outcome`` (days left or overdue while open; on time or late once published; closed)."""
    state = State(row.state)
    return {
        "days_left": days_left(row.deadline, today),
        "outcome": outcome_in(state, row.deadline, today, row.published_on),
        "rag": rag(row.deadline, today, published_on=row.published_on,
                   closed=state is State.NOT_REQUIRED, published=state in PUBLISHED_STATES,
                   milestone_missed=_milestone_missed(state, today, row.force_input_due,
                                                      row.signoff_due)).value,
        "waiting_on": WAITING_ON[state],
    }


def list_responses(db: Database, settings: Settings, clock: Clock, *, state: str | None = None,
                   overdue: bool = False, include_closed: bool = False) -> list[dict[str, Any]]:
    """Open responses (or all, or one state), soonest deadline first, each with its next
    escalation under the policy (None when nothing more will fire)."""
    today = london_today(clock)
    r, rep = RESPONSE.c, INSPECTION_REPORT.c
    stmt = (select(r.id, r.state, r.deadline, r.force, r.force_input_due, r.signoff_due,
                   r.published_on, r.deadline_overridden, rep.title)
            .join(INSPECTION_REPORT, rep.id == r.report_id)
            .order_by(r.deadline, r.id))
    if state is not None:
        stmt = stmt.where(r.state == State(state).value)
    elif not include_closed:
        stmt = stmt.where(IS_OPEN)
    if overdue:
        stmt = stmt.where(r.deadline < today, r.published_on.is_(None),
                          r.state.not_in(_PUBLISHED))
    rows, stuck = db.query(lambda s: (s.execute(stmt).all(), nobody_can_act(s, today)))
    upcoming = next_escalations(db, settings, clock, [x.id for x in rows if x.state in OPEN_STATES])
    return [
        {"id": x.id, "title": x.title, "force": x.force, "state": x.state,
         "deadline": x.deadline.isoformat(), "deadline_overridden": bool(x.deadline_overridden),
         **status(x, today), "next_escalation": _next(upcoming.get(x.id)),
         # the roles nobody active holds, when that stops the next step (None: staffed)
         "nobody_can_act": stuck.get(State(x.state))}
        for x in rows
    ]


def _next(firing: tuple[str, date] | None) -> dict[str, str] | None:
    return None if firing is None else {"rule": firing[0], "day": firing[1].isoformat()}
