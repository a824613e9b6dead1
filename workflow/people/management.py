"""People over time: add, edit, change roles, disable and enable.

People are never deleted (events name them) and an address once used is never given to
someone else. Every change is one transaction with an audit event naming who made it
and why. Nobody changes their own roles or login; nobody holds both ``force`` and
``pcc``, and a deputy of a delegation running or to come is not given ``force``; a
change to or from ``pcc`` or ``force`` is mailed to every auditor and the current PCC.
A change of name, address or login is ``workflow.people.identification``'s.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from states import Role
from workflow.audit import trail
from workflow.audit.words import Action
from workflow.core.checks import PersonInput, validate
from workflow.core.clock import london_today
from workflow.core.errors import DuplicateError, IdentityError, InvalidInputError
from workflow.core.os_account import check_text
from workflow.identity.acting import Acting, person_by_email
from workflow.identity.rosters import delegations_to
from workflow.people import notices
from workflow.responses.service import require_role
from workflow.storage.models import AuditEvent, Delegation, Person, RetiredEmail

if TYPE_CHECKING:
    from workflow.responses.service import Workflow

#: A change to these roles is mailed to every auditor and the current PCC.
WATCHED = frozenset({Role.PCC.value, Role.FORCE.value})
_LOGIN = re.compile(r"^[a-z_][a-z0-9_.-]{0,63}$")


def reason_given(reason: str | None, what: str) -> str:
    """The reason given for ``what``, checked; ``InvalidInputError`` when there is none."""
    if not reason or not reason.strip():
        raise InvalidInputError(what, "needs a reason (--reason)")
    return check_text(reason, "--reason")


def check_roles(email: str, roles: list[str]) -> None:
    """One person never holds both ``force`` and ``pcc``."""
    if Role.FORCE.value in roles and Role.PCC.value in roles:
        raise InvalidInputError("roles", f"{email} may not hold both force and pcc: the force's "
                                "comments and the PCC's sign-off must come from different "
                                "people")


def check_login(s: Session, login: str, person: Person | None = None) -> str:
    login = check_text(login, "--login")
    if not _LOGIN.match(login):
        raise InvalidInputError("--login", f"{login!r} is not an operating-system account name")
    taken = s.scalars(select(Person).where(col(Person.login) == login)).first()
    if taken is not None and (person is None or taken.id != person.id):
        raise DuplicateError("login", login, f"(it is {taken.email}'s)")
    return login


def check_email_free(s: Session, email: str, person: Person | None = None) -> None:
    """``email`` is nobody else's, now or before."""
    holder = s.scalars(select(Person).where(col(Person.email) == email)).first()
    if holder is not None and (person is None or holder.id != person.id):
        raise DuplicateError("person", email)
    retired = s.get(RetiredEmail, email)
    if retired is not None and (person is None or retired.person_id != person.id):
        raise InvalidInputError("email", f"{email} was used by someone else before; an "
                                "address once used is never given to another person")


def admin_acting(wf: Workflow, s: Session, actor: str | None, action: str) -> Acting:
    acting = wf.acting(s, actor)
    require_role(acting.person, {Role.ADMIN}, action)
    return acting


def _notify(wf: Workflow, s: Session, event: AuditEvent, person: Person, change: str,
            acting: Acting, reason: str | None, pccs: list[Person]) -> list[str]:
    """Mail a privilege change to every active auditor and to the PCC(s) in office before
    it (``pccs``)."""
    context = {"person_name": person.name, "person_email": person.email, "change": change,
               "roles": person.roles, "changed_by": acting.email, "reason": reason,
               "event_id": event.id}
    return notices.tell(wf, s, event, "role_change", context,
                        notices.recipients([*notices.auditors(s), *pccs]), acting.email)


def _watched_change(added: set[str], removed: set[str]) -> str | None:
    parts = [f"now holds {r}" for r in sorted(added & WATCHED)]
    parts += [f"no longer holds {r}" for r in sorted(removed & WATCHED)]
    return "; ".join(parts) or None


def check_new_person(data: dict[str, object]) -> tuple[PersonInput, list[str]]:
    """A new person's record as given, checked (``InvalidInputError``) before anything is
    written: ``s55 init`` checks its first admin before it records the office's settings."""
    person_in = validate(PersonInput, data)
    roles = [r.value for r in person_in.roles]
    check_roles(person_in.email, roles)
    return person_in, roles


def add_person(wf: Workflow, data: dict[str, object], actor: str | None, *,
               login: str | None = None) -> Person:
    """Add a person. The very first person may be added without an actor (bootstrap):
    an admin, whose login under identity mode ``os`` is the account running this."""
    person_in, roles = check_new_person(data)

    def work(s: Session) -> Person:
        count = s.execute(select(func.count()).select_from(Person)).scalar_one()
        if count:
            acting = admin_acting(wf, s, actor, "add people")
        elif Role.ADMIN.value not in roles:
            raise InvalidInputError("roles", "the first person must be an admin")
        else:
            acting = Acting(Person(email=person_in.email, name=person_in.name, roles=roles),
                            wf.identifier.origin.known_as(wf.identifier.mode_in(s)))
        check_email_free(s, person_in.email)
        first_login = login or (wf.identifier.origin.account
                                if not count and acting.by.identity == "os" else None)
        now = wf.clock.now()
        person = Person(name=person_in.name, email=person_in.email, roles=roles, created_at=now,
                        login=check_login(s, first_login) if first_login else None)
        pccs = _pccs(s)
        s.add(person)
        s.flush()
        event = trail.append(s, at=now, actor=acting.email, action=Action.PERSON_ADDED,
                             payload={"person": person.email, "name": person.name,
                                      "roles": person.roles, "login": person.login,
                                      "id": person.id},
                             by=acting.by)
        change = _watched_change(set(roles), set())
        if change:
            _notify(wf, s, event, person, change, acting, None, pccs)
        return person

    return wf.db.run(work)


def _pccs(s: Session) -> list[Person]:
    return notices.pccs(s)


def change_roles(wf: Workflow, email: str, actor: str | None, reason: str | None, *,
                 add: list[str], remove: list[str]) -> Person:
    """Give or take away roles; never your own, never force with pcc."""
    why = reason_given(reason, "people roles")
    wanted = validate(PersonInput, {"name": "x", "email": "x@x.x", "roles": add or ["admin"]})
    taken = validate(PersonInput, {"name": "x", "email": "x@x.x",
                                   "roles": remove or ["admin"]})
    add_set = {r.value for r in wanted.roles} if add else set()
    remove_set = {r.value for r in taken.roles} if remove else set()
    if not add_set and not remove_set:
        raise InvalidInputError("people roles", "give --add ROLE or --remove ROLE")
    if add_set & remove_set:
        raise InvalidInputError("people roles", f"{', '.join(sorted(add_set & remove_set))} "
                                "both added and removed")

    def work(s: Session) -> Person:
        acting = admin_acting(wf, s, actor, "change roles")
        person = person_by_email(s, email)
        if person.id == acting.person.id:
            raise IdentityError(f"{acting.email} may not change their own roles: another "
                                "admin must")
        old = set(person.roles)
        roles = sorted((old | add_set) - remove_set)
        if not roles:
            raise InvalidInputError("roles", f"{person.email} would hold no role; disable "
                                    "them instead (`s55 people disable`)")
        check_roles(person.email, roles)
        _not_a_deputy_with_force(s, person, roles, london_today(wf.clock))
        pccs = _pccs(s)
        now = wf.clock.now()
        person.roles = roles
        s.flush()
        added, removed = set(roles) - old, old - set(roles)
        event = trail.append(s, at=now, actor=acting.email, action=Action.ROLES_CHANGED,
                             reason=why, payload={"person": person.email,
                                                  "added": sorted(added),
                                                  "removed": sorted(removed), "roles": roles},
                             by=acting.by)
        change = _watched_change(added, removed)
        if change:
            _notify(wf, s, event, person, change, acting, why, pccs)
        return person

    return wf.db.run(work)


def _not_a_deputy_with_force(s: Session, person: Person, roles: list[str],
                             today: Any) -> None:
    """While a delegation to ``person`` runs or is to come, they may not hold ``force``."""
    if Role.FORCE.value not in roles:
        return
    for d in delegations_to(s, person.id or 0, today)[:1]:
        raise InvalidInputError("roles", f"{person.email} is the PCC's deputy under "
                                f"delegation #{d.id} ({d.starts_on} to {d.ends_on}) and may "
                                "not hold force while it runs; end it first (`s55 people "
                                f"revoke {d.id} --reason ...`)")


def set_active(wf: Workflow, email: str, actor: str | None, reason: str | None,
               active: bool) -> Person:
    """Disable (no mail, cannot act) or enable a person again; audited with the reason."""
    verb = "enable" if active else "disable"
    why = reason_given(reason, f"people {verb}")

    def work(s: Session) -> Person:
        acting = admin_acting(wf, s, actor, f"{verb} people")
        person = person_by_email(s, email)
        if person.id == acting.person.id:
            raise IdentityError(f"{acting.email} may not {verb} themselves: another admin must")
        if person.active == active:
            raise InvalidInputError(f"people {verb}", f"{person.email} is already "
                                    f"{'active' if active else 'disabled'}")
        pccs = _pccs(s)
        person.active = active
        s.flush()
        now = wf.clock.now()
        event = trail.append(s, at=now, actor=acting.email,
                             action=Action.PERSON_ENABLED if active else Action.PERSON_DISABLED,
                             reason=why, payload={"person": person.email,
                                                  "roles": person.roles}, by=acting.by)
        watched = sorted(set(person.roles) & WATCHED)
        if watched:
            change = f"{'enabled' if active else 'disabled'} (holds {', '.join(watched)})"
            _notify(wf, s, event, person, change, acting, why, pccs)
        return person

    return wf.db.run(work)


def people(wf: Workflow) -> list[dict[str, Any]]:
    """Everyone, active and disabled, with roles, login and their current or coming
    delegations (as PCC or as deputy)."""
    today = london_today(wf.clock)

    def read(s: Session) -> list[dict[str, Any]]:
        rows = s.scalars(select(Person).order_by(col(Person.email))).all()
        emails = {p.id: p.email for p in rows}
        delegations = s.scalars(select(Delegation).where(
            col(Delegation.revoked_at).is_(None), col(Delegation.ends_on) >= today)
            .order_by(col(Delegation.starts_on))).all()
        out = []
        for p in rows:
            mine = [{"id": d.id, "pcc": emails[d.pcc_id], "deputy": emails[d.deputy_id],
                     "from": d.starts_on.isoformat(), "until": d.ends_on.isoformat(),
                     "in_force": d.starts_on <= today}
                    for d in delegations if p.id in (d.pcc_id, d.deputy_id)]
            out.append({"id": p.id, "name": p.name, "email": p.email, "roles": p.roles,
                        "login": p.login, "active": p.active, "delegations": mine})
        return out

    return wf.db.query(read)
