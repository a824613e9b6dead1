"""Whether somebody active can take the next step of a response in each open state.

A response waits on a role (``sign_off`` needs the PCC, or a deputy under a delegation
in force). If every holder of that role is disabled, or none was ever added, the
response cannot move: ``s55 list``, ``s55 show`` and ``s55 doctor`` say so.

Core tables only (like ``dashboard``): ``s55 list`` must not pay for the ORM models.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from states import FINAL, Role, State, triggers_from
from workflow.storage.tables import DELEGATION, PERSON


def next_step_roles(state: State) -> frozenset[Role]:
    """The roles that may take the forward step out of ``state`` (not a send-back or a
    closure)."""
    for spec in triggers_from(state):
        if not spec.needs_reason:
            return spec.roles
    return frozenset()


def held_roles(session: Session, today: date) -> set[str]:
    """Roles some active person holds today (``pcc`` also through a running delegation
    whose PCC and deputy are both active)."""
    p, d = PERSON.c, DELEGATION.c
    people = session.execute(select(p.id, p.roles, p.active)).all()
    active = {row.id: set(row.roles or ()) for row in people if row.active}
    held = set().union(*active.values()) if active else set()
    for row in session.execute(select(d.pcc_id, d.deputy_id).where(
            d.revoked_at.is_(None), d.starts_on <= today, d.ends_on >= today)):
        if row.deputy_id in active and Role.PCC.value in active.get(row.pcc_id, set()):
            held.add(Role.PCC.value)
    return held


def nobody_can_act(session: Session, today: date) -> dict[State, list[str]]:
    """Open states whose next step no active person can take today, with the roles
    missing."""
    held = held_roles(session, today)
    out: dict[State, list[str]] = {}
    for state in State:
        roles = {r.value for r in next_step_roles(state)}
        if state not in FINAL and roles and not roles & held:
            out[state] = sorted(roles)
    return out
