"""Who is acting: the operating-system account (identity mode ``os``) or a claim on trust
(``claimed``), always an active person; admins acting for someone; deputies under a
delegation.

The mode is the database's (``workflow.identity.office``), read in each transaction: a
process may ask for ``os`` where the database says ``claimed``, never the reverse.
Under ``os`` the acting person is the one whose ``login`` is the effective user of this
process (read from the system's user database, never from an environment variable); ``--as``
may only name that same person. Under ``claimed`` the ``--as`` email is taken on trust and
every event says so. Either way the audit event records the channel, the account and the
host (``workflow.audit.trail.Provenance``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from sqlmodel import col

from states import Role
from workflow.audit.trail import Provenance
from workflow.audit.words import Channel, Identity
from workflow.core.errors import IdentityError, InvalidInputError, NotFoundError
from workflow.core.os_account import check_text, serving_caller
from workflow.identity.office import identity_mode
from workflow.identity.rosters import delegation_for
from workflow.storage.models import Person

_BY_EMAIL = select(Person).where(col(Person.email) == bindparam("email"))
_BY_LOGIN = select(Person).where(col(Person.login) == bindparam("login"))


def find_person(session: Session, email: str) -> Person | None:
    return session.scalars(_BY_EMAIL, {"email": email.strip().lower()}).first()


def person_by_email(session: Session, email: str) -> Person:
    person = find_person(session, check_text(email, "person"))
    if person is None:
        raise NotFoundError("person", email.strip())
    return person


def require_active(person: Person, doing: str = "act") -> Person:
    if not person.active:
        raise IdentityError(f"{person.email} is disabled and cannot {doing} (an admin may "
                            f"`s55 people enable {person.email} --reason ...`)")
    return person


@dataclass(frozen=True)
class Acting:
    """The person acting, how they are known, and whom they act for (if anyone)."""

    person: Person
    by: Provenance
    #: Whom ``person`` acts for: the person an admin acts on behalf of, or the PCC whose
    #: deputy ``person`` is under ``delegation``.
    principal: Person | None = None
    delegation: int | None = None

    @property
    def email(self) -> str:
        return self.person.email

    @property
    def roles_of(self) -> Person:
        """Whose roles decide what may be done: the principal's when acting for them."""
        return self.principal or self.person

    @property
    def under_delegation(self) -> dict[str, Any]:
        """What an event records of a deputy acting for the PCC (PRSRA 2011 s18): the
        delegation and the PCC's email; nothing for anyone else."""
        if self.delegation is None or self.principal is None:
            return {}
        return {"delegation": self.delegation, "for": self.principal.email}


def as_deputy(session: Session, acting: Acting, roles: Iterable[Role], today: date) -> Acting:
    """``acting`` as the PCC's deputy when ``roles`` (what the act needs) include the PCC's,
    ``acting`` holds none of them itself, and a delegation to them runs ``today``; else
    ``acting`` unchanged (the caller's role check then refuses it)."""
    needed = set(roles)
    held = {Role(r) for r in acting.roles_of.roles or ()}
    if Role.PCC not in needed or needed & held or acting.principal is not None:
        return acting
    found = delegation_for(session, acting.person, today)
    if found is None:
        return acting
    delegation, pcc = found
    return Acting(acting.person, acting.by.acting_for(pcc.email), pcc, delegation.id)


@dataclass(frozen=True)
class Identifier:
    """How this process establishes who acts: the identity mode it asks for (None: the
    database's; ``os`` where the database says ``claimed``: stricter) and the process's
    provenance."""

    mode: str | None
    origin: Provenance

    @classmethod
    def here(cls, mode: str | None, channel: Channel | str = Channel.CLI) -> Identifier:
        """This process's identifier. Serving a caller of the local service it is always
        ``os``: a claim is for the single-officer install, never for a shared service."""
        return cls("os" if serving_caller() else mode, Provenance.here(channel))

    def mode_in(self, session: Session) -> str:
        """The identity mode in force in ``session``'s transaction (refused when this
        process asks for a looser one than the database records)."""
        return identity_mode(session, self.mode)

    def _os_person(self, session: Session) -> Person | None:
        return session.scalars(_BY_LOGIN, {"login": self.origin.account}).first()

    def viewer(self, session: Session, claimed: str | None) -> Person | None:
        """Whose point of view a read takes (``None``: nobody in particular)."""
        claimed = check_text(claimed, "--as") if claimed else None
        if self.mode_in(session) == "os":
            person = self._os_person(session)
            if claimed and (person is None or person.email != claimed.lower()):
                raise self._not_you(claimed, person)
            return person
        return person_by_email(session, claimed) if claimed else None

    def resolve(self, session: Session, claimed: str | None) -> Acting:
        """The active person acting now; ``IdentityError``/``NotFoundError`` otherwise."""
        claimed = check_text(claimed, "--as") if claimed else None
        if self.mode_in(session) == "os":
            person = self._os_person(session)
            if claimed and (person is None or person.email != claimed.lower()):
                raise self._not_you(claimed, person)
            if person is None:
                raise IdentityError(
                    f"the operating-system account {self.origin.account} is not the login of "
                    "any person in s55 (identity mode os); an admin links it with "
                    f"`s55 people edit EMAIL --login {self.origin.account} --reason ...`")
            return Acting(require_active(person), self.origin.known_as(Identity.OS))
        if not claimed:
            raise IdentityError("say who is acting with --as EMAIL (or S55_ACTOR): "
                                "identity mode claimed takes it on trust")
        person = person_by_email(session, claimed)
        return Acting(require_active(person), self.origin.known_as(Identity.CLAIMED))

    def _not_you(self, claimed: str, person: Person | None) -> IdentityError:
        return IdentityError.not_you(claimed, person.email if person else None,
                                     self.origin.account)


def on_behalf(session: Session, acting: Acting, email: str, reason: str | None,
              action: str) -> Acting:
    """``acting`` (an admin) acting for the person ``email``; needs a reason."""
    if Role.ADMIN.value not in acting.person.roles:
        raise IdentityError(f"{acting.email} may not act on behalf of someone else: only an "
                            "admin may (with --on-behalf-of EMAIL --reason ...)")
    if not reason or not reason.strip():
        raise InvalidInputError("--on-behalf-of", f"acting for {email.strip()} needs a reason "
                                "(--reason)")
    principal = require_active(person_by_email(session, email), f"have {action} done for them")
    if principal.id == acting.person.id:
        raise InvalidInputError("--on-behalf-of", "names yourself; leave it out")
    return Acting(acting.person, acting.by.acting_for(principal.email), principal)
