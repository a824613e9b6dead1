"""How s55 knows a person: their name, address and login, changed by an admin.

A name changes at once. A new login or address changes how s55 knows someone: for a
person who signs for the office (holding ``pcc`` or ``force``, or a deputy under a
delegation running or to come) it takes effect only when they confirm it from a link
mailed to their current address (``workflow.people.requests``; ``confirm_asked``). Every
login and address change that takes effect is a ``person_changed`` event carrying the
old and new values, mailed to the person (at the old and the new address) and to every
auditor. An address left is retired for good; nobody changes their own login.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from workflow.audit import trail
from workflow.audit.trail import Provenance
from workflow.audit.words import Action
from workflow.core.checks import PersonInput, validate
from workflow.core.clock import london_today
from workflow.core.errors import IdentityError, InvalidInputError
from workflow.identity.acting import person_by_email
from workflow.identity.rosters import delegations_to
from workflow.people import notices, requests
from workflow.people.management import (
    WATCHED,
    admin_acting,
    check_email_free,
    check_login,
    reason_given,
)
from workflow.storage.models import AuditEvent, PendingChange, Person, RetiredEmail

if TYPE_CHECKING:
    from workflow.responses.service import Workflow

#: How a login or address change is worded for the people told of it.
_ABOUT = {"login": "computer account (login)", "email": "email address"}


@dataclass(frozen=True)
class Edited:
    """A person after ``edit_person``; ``asked``: a new login or address that waits for
    their confirmation (mailed to them), or None."""

    person: Person
    asked: requests.Asked | None = None


def signs(s: Session, person: Person, today: Any) -> str | None:
    """Why ``person`` signs for the office (holds ``pcc`` or ``force``, or is a deputy
    under a delegation running or to come), in words; None if they do not."""
    held = sorted(set(person.roles or ()) & WATCHED)
    if held:
        return f"holds {' and '.join(held)}"
    if delegations_to(s, person.id or 0, today):
        return "is the PCC's deputy under a delegation"
    return None


def words(identity: dict[str, list[Any]]) -> list[dict[str, str]]:
    return [{"about": _ABOUT[k], "was": old or "none", "now": new or "none"}
            for k, (old, new) in identity.items()]


def _apply(s: Session, person: Person, identity: dict[str, list[Any]], now: datetime) -> None:
    """Give ``person`` the new address and/or login (an address left is retired)."""
    if "email" in identity:
        check_email_free(s, identity["email"][1], person)
        if s.get(RetiredEmail, person.email) is None:
            s.add(RetiredEmail(email=person.email, person_id=person.id or 0, retired_at=now))
        person.email = identity["email"][1]
    if "login" in identity:
        new = identity["login"][1]
        person.login = check_login(s, new, person) if new else None
    s.flush()


def _tell_identity(wf: Workflow, s: Session, event: AuditEvent, person: Person,
                   identity: dict[str, list[Any]], changed_by: str, confirmed: bool) -> None:
    """The person (at the old address too, when it changed) and every auditor hear of a
    login or address change."""
    old = [(person.name, identity["email"][0])] if "email" in identity else []
    notices.tell(wf, s, event, "identity_change",
                 {"person_name": person.name, "changes": words(identity),
                  "changed_by": changed_by, "reason": event.reason or "",
                  "confirmed": confirmed},
                 notices.recipients([person, *notices.auditors(s)], old), event.actor)


def _identity_asked(s: Session, person: Person, new_email: str | None,
                    login: str | None) -> dict[str, list[Any]]:
    """The address and login changes asked for (checked), by field: [old, new]."""
    identity: dict[str, list[Any]] = {}
    if new_email is not None and new_email != person.email:
        check_email_free(s, new_email, person)
        identity["email"] = [person.email, new_email]
    if login is not None:
        new_login = check_login(s, login, person) if login else None
        if new_login != person.login:
            identity["login"] = [person.login, new_login]
    return identity


def edit_person(wf: Workflow, email: str, actor: str | None, reason: str | None, *,
                name: str | None = None, new_email: str | None = None,
                login: str | None = None) -> Edited:
    """Change a person's name (at once), address or login (an address left is retired for
    good): for someone who signs, a new address or login waits for their confirmation."""
    why = reason_given(reason, "people edit")
    if name is None and new_email is None and login is None:
        raise InvalidInputError("people edit", "give --name, --email or --login")
    data = validate(PersonInput, {"name": name or "x", "email": new_email or "x@x.x",
                                  "roles": ["admin"]})

    def work(s: Session) -> Edited:
        acting = admin_acting(wf, s, actor, "edit people")
        person = person_by_email(s, email)
        if login is not None and person.id == acting.person.id:
            raise IdentityError(f"{acting.email} may not change their own login: another "
                                "admin must")
        now = wf.clock.now()
        changes: dict[str, list[Any]] = {}
        identity = _identity_asked(s, person, data.email if new_email is not None else None,
                                   login)
        if name is not None and data.name != person.name:
            changes["name"] = [person.name, data.name]
        if not changes and not identity:
            raise InvalidInputError("people edit", f"nothing to change for {person.email}")
        asked = None
        signer = signs(s, person, london_today(wf.clock)) if identity else None
        if signer:
            asked = requests.ask(
                wf, s, kind=requests.IDENTITY, person=person, reason=why, acting=acting,
                asked={"changes": identity}, template="identity_change_request",
                context={"changes": words(identity)},
                refusal=f"people edit: {person.email} {signer}: a new login or address for "
                        "them takes effect only when they confirm it from a link mailed to "
                        "their current address")
            identity = {}
        if "name" in changes:
            person.name = data.name
        _apply(s, person, identity, now)
        changes.update(identity)
        if changes:
            event = trail.append(s, at=now, actor=acting.email, action=Action.PERSON_CHANGED,
                                 reason=why, payload={"person": person.email,
                                                      "changes": changes}, by=acting.by)
            if identity:
                _tell_identity(wf, s, event, person, identity, acting.person.name, False)
        return Edited(person, asked)

    return wf.db.run(work)


def confirm_asked(wf: Workflow, s: Session, change: PendingChange, person: Person,
                  by: Provenance) -> Person:
    """``person`` confirms the new address or login an admin asked for (checked again)."""
    identity: dict[str, list[Any]] = requests.asked_of(change)["changes"]
    for key, (old, _new) in identity.items():
        if getattr(person, key) != old:
            raise InvalidInputError("confirm", f"{person.name}'s {_ABOUT[key]} changed after "
                                    "this was asked: ask again")
    now = wf.clock.now()
    _apply(s, person, identity, now)
    event = trail.append(s, at=now, actor=person.email, action=Action.PERSON_CHANGED,
                         reason=change.reason, by=by,
                         payload={"person": person.email, "changes": identity,
                                  "asked_event": change.event_id,
                                  "asked_by": change.asked_by})
    asker = s.scalars(select(Person).where(col(Person.email) == change.asked_by)).first()
    _tell_identity(wf, s, event, person, identity, asker.name if asker else change.asked_by,
                   True)
    return person
