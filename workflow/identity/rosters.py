"""Look-ups on the people tables that several packages share: who is active in a role, and
the delegations in force on a day (Europe/London calendar days, both ends included)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from states import Role
from workflow.storage.models import Delegation, Person
from workflow.storage.tables import PERSON

#: Built once: every transition reads it twice (its recipients, the Reply-To).
_ACTIVE = select(Person).where(col(Person.active)).order_by(col(Person.id))


def active_with_role(session: Session, role: str) -> list[Person]:
    """Every active person holding ``role``, by id (roles are a small JSON list each)."""
    people = session.scalars(_ACTIVE).all()
    return [p for p in people if role in (p.roles or [])]


_PERSON: Any = PERSON
_ACTIVE_ROWS = (select(_PERSON.c.id, _PERSON.c.name, _PERSON.c.email, _PERSON.c.roles)
                .where(_PERSON.c.active).order_by(_PERSON.c.id))


def active_people(session: Session) -> list[Any]:
    """Every active person's id, name, email and roles, by id, as rows (read once where a
    transaction needs several roles' people: mail recipients and the Reply-To)."""
    return list(session.execute(_ACTIVE_ROWS))


def with_role(people: Sequence[Any], role: str) -> list[Any]:
    """Those of ``people`` holding ``role``, in order."""
    return [p for p in people if role in (p.roles or [])]


def delegations_on(session: Session, today: date) -> list[tuple[Delegation, Person, Person]]:
    """(delegation, PCC, deputy) for every delegation running ``today`` whose PCC is an
    active PCC and whose deputy is active."""
    rows = session.scalars(select(Delegation).where(
        col(Delegation.revoked_at).is_(None), col(Delegation.starts_on) <= today,
        col(Delegation.ends_on) >= today).order_by(col(Delegation.id))).all()
    out = []
    for d in rows:
        pcc, deputy = session.get(Person, d.pcc_id), session.get(Person, d.deputy_id)
        if (pcc is not None and deputy is not None and pcc.active and deputy.active
                and Role.PCC.value in (pcc.roles or [])):
            out.append((d, pcc, deputy))
    return out


def delegation_for(session: Session, deputy: Person, today: date
                   ) -> tuple[Delegation, Person] | None:
    """The delegation (and its PCC) under which ``deputy`` may sign off ``today``."""
    for d, pcc, dep in delegations_on(session, today):
        if dep.id == deputy.id:
            return d, pcc
    return None


def delegations_to(session: Session, deputy_id: int, today: date) -> list[Delegation]:
    """The delegations to ``deputy_id`` running ``today`` or still to come (not revoked,
    not yet ended), by start day: while any is, the deputy may not hold ``force``."""
    return list(session.scalars(select(Delegation).where(
        col(Delegation.deputy_id) == deputy_id, col(Delegation.revoked_at).is_(None),
        col(Delegation.ends_on) >= today).order_by(col(Delegation.starts_on))))
