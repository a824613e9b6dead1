"""People over time: add, edit, change roles, disable and enable, delegate sign-off.

People are never deleted (events name them) and an address once used is never given to
someone else. Every change is one transaction with an audit event naming who made it
and why. Nobody changes their own roles or login; nobody holds both ``force`` and
``pcc``; a change to or from ``pcc`` or ``force`` is mailed to every auditor and the
current PCC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from states import Role
from workflow.audit import trail
from workflow.audit.words import Action
from workflow.core.checks import PersonInput, parse_date, validate
from workflow.core.clock import london_today
from workflow.core.errors import DuplicateError, IdentityError, InvalidInputError, NotFoundError
from workflow.core.os_account import check_text
from workflow.identity.acting import Acting, person_by_email
from workflow.responses.service import require_role
from workflow.storage.models import AuditEvent, Delegation, Person, RetiredEmail

if TYPE_CHECKING:
    from workflow.responses.service import Workflow

#: A change to these roles is mailed to every auditor and the current PCC.
WATCHED = frozenset({Role.PCC.value, Role.FORCE.value})
_LOGIN = re.compile(r"^[a-z_][a-z0-9_.-]{0,63}$")


def _reason(reason: str | None, what: str) -> str:
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


def _check_email_free(s: Session, email: str, person: Person | None = None) -> None:
    """``email`` is nobody else's, now or before."""
    holder = s.scalars(select(Person).where(col(Person.email) == email)).first()
    if holder is not None and (person is None or holder.id != person.id):
        raise DuplicateError("person", email)
    retired = s.get(RetiredEmail, email)
    if retired is not None and (person is None or retired.person_id != person.id):
        raise InvalidInputError("email", f"{email} was used by someone else before; an "
                                "address once used is never given to another person")


def _admin(wf: Workflow, s: Session, actor: str | None, action: str) -> Acting:
    acting = wf.acting(s, actor)
    require_role(acting.person, {Role.ADMIN}, action)
    return acting


def _notify(wf: Workflow, s: Session, event: AuditEvent, person: Person, change: str,
            acting: Acting, reason: str | None, pccs: list[Person]) -> list[str]:
    """Mail a privilege change to every active auditor and to the PCC(s) in office before
    it (``pccs``)."""
    from workflow.identity.rosters import active_with_role
    from workflow.mail.queue import queue_messages
    from workflow.mail.recipients import Recipient

    people = active_with_role(s, Role.AUDITOR.value) + pccs
    recipients = list({p.email: Recipient(p.name, p.email) for p in people}.values())
    if not recipients:
        return []
    context = {"opcc_name": wf.settings.opcc_name, "response_id": None,
               "person_name": person.name, "person_email": person.email, "change": change,
               "roles": person.roles, "changed_by": acting.email, "reason": reason,
               "event_id": event.id}
    rows = queue_messages(s, settings=wf.settings, now=event.at, kind="role_change",
                          context=context, recipients=recipients, event=event,
                          response_id=None, actor=acting.email)
    return [r.recipient for r in rows]


def _watched_change(added: set[str], removed: set[str]) -> str | None:
    parts = [f"now holds {r}" for r in sorted(added & WATCHED)]
    parts += [f"no longer holds {r}" for r in sorted(removed & WATCHED)]
    return "; ".join(parts) or None


def add_person(wf: Workflow, data: dict[str, object], actor: str | None, *,
               login: str | None = None) -> Person:
    """Add a person. The very first person may be added without an actor (bootstrap):
    an admin, whose login under ``S55_IDENTITY=os`` is the account running this."""
    person_in = validate(PersonInput, data)
    roles = [r.value for r in person_in.roles]
    check_roles(person_in.email, roles)

    def work(s: Session) -> Person:
        count = s.execute(select(func.count()).select_from(Person)).scalar_one()
        if count:
            acting = _admin(wf, s, actor, "add people")
        elif Role.ADMIN.value not in roles:
            raise InvalidInputError("roles", "the first person must be an admin")
        else:
            acting = Acting(Person(email=person_in.email, name=person_in.name, roles=roles),
                            wf.identifier.origin.known_as(wf.identifier.mode))
        _check_email_free(s, person_in.email)
        first_login = login or (wf.identifier.origin.account
                                if not count and wf.identifier.mode == "os" else None)
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
    from workflow.identity.rosters import active_with_role

    return active_with_role(s, Role.PCC.value)


def edit_person(wf: Workflow, email: str, actor: str | None, reason: str | None, *,
                name: str | None = None, new_email: str | None = None,
                login: str | None = None) -> Person:
    """Change a person's name, address or login (an address left is retired for good)."""
    why = _reason(reason, "people edit")
    if name is None and new_email is None and login is None:
        raise InvalidInputError("people edit", "give --name, --email or --login")
    data = validate(PersonInput, {"name": name or "x", "email": new_email or "x@x.x",
                                  "roles": ["admin"]})

    def work(s: Session) -> Person:
        acting = _admin(wf, s, actor, "edit people")
        person = person_by_email(s, email)
        changes: dict[str, list[Any]] = {}
        if login is not None and person.id == acting.person.id:
            raise IdentityError(f"{acting.email} may not change their own login: another "
                                "admin must")
        now = wf.clock.now()
        if name is not None and data.name != person.name:
            changes["name"] = [person.name, data.name]
            person.name = data.name
        if new_email is not None and data.email != person.email:
            _check_email_free(s, data.email, person)
            changes["email"] = [person.email, data.email]
            if s.get(RetiredEmail, person.email) is None:
                s.add(RetiredEmail(email=person.email, person_id=person.id or 0, retired_at=now))
            person.email = data.email
        if login is not None:
            new_login = check_login(s, login, person) if login else None
            if new_login != person.login:
                changes["login"] = [person.login, new_login]
                person.login = new_login
        if not changes:
            raise InvalidInputError("people edit", f"nothing to change for {person.email}")
        s.flush()
        trail.append(s, at=now, actor=acting.email, action=Action.PERSON_CHANGED, reason=why,
                     payload={"person": person.email, "changes": changes}, by=acting.by)
        return person

    return wf.db.run(work)


def change_roles(wf: Workflow, email: str, actor: str | None, reason: str | None, *,
                 add: list[str], remove: list[str]) -> Person:
    """Give or take away roles; never your own, never force with pcc."""
    why = _reason(reason, "people roles")
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
        acting = _admin(wf, s, actor, "change roles")
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


def set_active(wf: Workflow, email: str, actor: str | None, reason: str | None,
               active: bool) -> Person:
    """Disable (no mail, cannot act) or enable a person again; audited with the reason."""
    verb = "enable" if active else "disable"
    why = _reason(reason, f"people {verb}")

    def work(s: Session) -> Person:
        acting = _admin(wf, s, actor, f"{verb} people")
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


# -- delegation ---------------------------------------------------------------------------

@dataclass(frozen=True)
class DelegationView:
    id: int
    pcc: str
    deputy: str
    starts_on: date
    ends_on: date
    reason: str


def _view(d: Delegation, pcc: str, deputy: str) -> DelegationView:
    return DelegationView(d.id or 0, pcc, deputy, d.starts_on, d.ends_on, d.reason)


def delegate(wf: Workflow, pcc_email: str, deputy_email: str, starts: str | date,
             ends: str | date, actor: str | None, reason: str | None) -> DelegationView:
    """Let a deputy sign off in the PCC's place from ``starts`` to ``ends`` (both included)."""
    why = _reason(reason, "people delegate")
    start, end = parse_date(starts, "--from"), parse_date(ends, "--until")
    if end < start:
        raise InvalidInputError("--until", f"{end} is before --from {start}")

    def work(s: Session) -> DelegationView:
        acting = wf.acting(s, actor)
        pcc = person_by_email(s, pcc_email)
        deputy = person_by_email(s, deputy_email)
        if acting.person.id != pcc.id:
            require_role(acting.person, {Role.ADMIN}, f"delegate {pcc.email}'s sign-off")
        if Role.PCC.value not in pcc.roles or not pcc.active:
            raise InvalidInputError("people delegate", f"{pcc.email} is not an active PCC")
        if deputy.id == pcc.id:
            raise InvalidInputError("--to", f"{pcc.email} cannot delegate to themself")
        if not deputy.active:
            raise InvalidInputError("--to", f"{deputy.email} is disabled")
        if Role.FORCE.value in deputy.roles:
            raise InvalidInputError("--to", f"{deputy.email} holds force: the force's comments "
                                    "and the sign-off must come from different people")
        for d in s.scalars(select(Delegation).where(
                col(Delegation.pcc_id) == pcc.id, col(Delegation.revoked_at).is_(None))):
            if d.starts_on <= end and start <= d.ends_on:
                raise InvalidInputError("people delegate", f"{start} to {end} overlaps "
                                        f"delegation #{d.id} ({d.starts_on} to {d.ends_on})")
        now = wf.clock.now()
        row = Delegation(pcc_id=pcc.id or 0, deputy_id=deputy.id or 0, starts_on=start,
                         ends_on=end, reason=why, created_at=now)
        s.add(row)
        s.flush()
        trail.append(s, at=now, actor=acting.email, action=Action.DELEGATED, reason=why,
                     payload={"delegation": row.id, "pcc": pcc.email, "deputy": deputy.email,
                              "from": start.isoformat(), "until": end.isoformat()},
                     by=acting.by)
        return _view(row, pcc.email, deputy.email)

    return wf.db.run(work)


def revoke(wf: Workflow, delegation_id: int, actor: str | None,
           reason: str | None) -> DelegationView:
    """End a delegation now (the PCC or an admin)."""
    why = _reason(reason, "people revoke")

    def work(s: Session) -> DelegationView:
        acting = wf.acting(s, actor)
        row = s.get(Delegation, delegation_id)
        if row is None:
            raise NotFoundError("delegation", delegation_id)
        pcc, deputy = s.get(Person, row.pcc_id), s.get(Person, row.deputy_id)
        assert pcc is not None  # foreign keys
        assert deputy is not None
        if acting.person.id != pcc.id:
            require_role(acting.person, {Role.ADMIN}, f"revoke delegation #{delegation_id}")
        if row.revoked_at is not None:
            raise InvalidInputError("people revoke", f"delegation #{delegation_id} was "
                                    "already revoked")
        now = wf.clock.now()
        row.revoked_at, row.revoke_reason = now, why
        s.flush()
        trail.append(s, at=now, actor=acting.email, action=Action.DELEGATION_REVOKED,
                     reason=why, payload={"delegation": row.id, "pcc": pcc.email,
                                          "deputy": deputy.email}, by=acting.by)
        return _view(row, pcc.email, deputy.email)

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
