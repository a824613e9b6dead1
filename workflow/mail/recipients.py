"""Who gets what: the roles each trigger's mail goes to (``ROUTES``), the addresses they
resolve to (an unusable one marked, not refused), and who replies reach."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from notifications.errors import NotificationError
from notifications.message import check_address
from states import Role
from workflow.core.errors import UnknownTriggerError
from workflow.core.settings import Settings
from workflow.identity.rosters import active_with_role, delegations_on, with_role
from workflow.mail.errors import RecipientsMissingError
from workflow.storage.models import Person

#: Who must hear about each trigger (roles, in the order mail is queued). ``publish``
#: also sends the s55(6) copy to HMICFRS and the Home Office (addresses in Settings).
ROUTES: dict[str, tuple[Role, ...]] = {
    "request_force_input": (Role.FORCE,),
    "submit_force_input": (Role.PCC,),
    "return_to_force": (Role.FORCE,),
    "return_to_draft": (Role.ADMIN,),
    # This email *is* the forwarding: the role `force` is the Chief Constable's office.
    "sign_off": (Role.PANEL, Role.FORCE),
    "publish": (Role.ADMIN, Role.PANEL),
    "submit_to_portal": (Role.ADMIN,),
    # The PCC signs again; the panel and the Chief Constable's office were forwarded the
    # signed text, which is withdrawn.
    "reopen": (Role.PCC, Role.PANEL, Role.FORCE),
    "mark_not_required": (Role.ADMIN,),
}


@dataclass(frozen=True)
class Recipient:
    """One address mail goes to; ``roles`` are the person's (what the mail asks of them
    depends on them), empty for an address outside s55 such as the s55(6) copies."""

    name: str
    email: str
    roles: tuple[str, ...] = ()
    #: Why mail cannot reach this person (an address no message can carry), else None:
    #: their message is recorded dead at once and the admins are alerted.
    undeliverable: str | None = None
    person_id: int | None = None  # the person's id (None: an address outside s55)


def people_with_role(session: Session, role: str, today: date | None = None, *,
                     active: Sequence[Any] | None = None) -> list[Person]:
    """Every active person holding ``role``, by id; for ``pcc`` on ``today``, also the
    deputies of the delegations running (they may sign off, so they hear what the PCC
    hears). Disabled people get no mail. ``active``: the active people, when the caller
    has read them (``active_people``)."""
    people = active_with_role(session, role) if active is None else with_role(active, role)
    if role == Role.PCC and today is not None:
        people += [deputy for _, _, deputy in delegations_on(session, today)]
    return people


def resolve(session: Session, roles: Iterable[str], action: str,
            today: date | None = None, *, active: Sequence[Any] | None = None
            ) -> list[Recipient]:
    """One recipient per address holding any of ``roles``; raises if a role has nobody.

    A person whose address no message can carry is still a recipient, marked
    ``undeliverable`` (with why): one bad address must not stop a transition for
    everyone, so that message is recorded dead instead (``write_prepared``).
    """
    found: dict[str, Recipient] = {}
    for role in roles:
        people = people_with_role(session, str(role), today, active=active)
        if not people:
            raise RecipientsMissingError(action, str(role))
        for p in people:
            rcpt = recipient_of(p)
            found.setdefault(rcpt.email.lower(), rcpt)
    return list(found.values())


def recipient_of(person: Any) -> Recipient:
    """One person (a model or a row with name, email, roles and id) as a recipient: marked
    ``undeliverable`` (with why) when no message can carry their address."""
    raw = (person.email or "").strip()
    try:
        check_address(raw, "To")
    except NotificationError as exc:
        shown = raw[:254] or f"(no address: {person.name})"[:254]
        return Recipient(person.name, shown, tuple(person.roles or ()),
                         undeliverable=f"{person.name} has no valid email address: {exc}",
                         person_id=person.id)
    return Recipient(person.name, raw.lower(), tuple(person.roles or ()), person_id=person.id)


def reply_contact(session: Session, settings: Settings, *,
                  active: Sequence[Any] | None = None) -> Recipient | None:
    """Who replies reach (the Reply-To): ``S55_MAIL_REPLY_TO``, else the admin with the
    lowest id now; None when neither exists (the message then carries no Reply-To).

    The name is the person's holding that address, if any, so a mail can say who answers.
    """
    if settings.mail_reply_to:
        email = settings.mail_reply_to.strip().lower()
        person = session.scalars(select(Person).where(
            func.lower(col(Person.email)) == email)).first()
        return Recipient(person.name if person else "", email)
    admins = people_with_role(session, str(Role.ADMIN), active=active)
    if not admins:
        return None
    first = admins[0]
    return Recipient(first.name, (first.email or "").strip().lower())


def recipients_for(session: Session, trigger: str, settings: Settings,
                   today: date | None = None, *, active: Sequence[Any] | None = None
                   ) -> list[Recipient]:
    """Who ``trigger``'s mail goes to (check this before changing anything)."""
    if trigger not in ROUTES:
        raise UnknownTriggerError(trigger, ROUTES)
    return resolve(session, ROUTES[trigger], trigger, today, active=active)
