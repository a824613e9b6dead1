"""A person's word on a change that waits for it, through the ``confirm`` link mailed to
them (``workflow.people.requests``): what the link asks (for its page), confirm, decline.

Confirming makes the change as that person (channel ``web``, identity ``link``): the PCC's
delegation (``workflow.people.delegation.confirm_asked``), or their own new login or
address (``workflow.people.identification.confirm_asked``), each checked again as of now.
Declining makes nothing and records a ``change_declined`` event. Either uses the link up
in the same transaction, so of two tabs only one decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from workflow.audit import trail
from workflow.audit.trail import Provenance
from workflow.audit.words import Action, Channel, Identity
from workflow.core.checks import parse_date
from workflow.core.dates import format_date
from workflow.identity.acting import find_person
from workflow.links import action_links
from workflow.people import delegation, identification, requests
from workflow.storage.models import PendingChange, Person

if TYPE_CHECKING:
    from workflow.responses.service import Workflow


@dataclass(frozen=True)
class Asking:
    """What a ``confirm`` link asks of its person, in words for their page."""

    kind: str
    person_name: str
    asked_by: str
    lines: tuple[str, ...]
    reason: str


def _name(s: Session, email: str) -> str:
    person = find_person(s, email)
    return person.name if person else "the OPCC"


def _lines(s: Session, change: PendingChange) -> tuple[str, ...]:
    asked = requests.asked_of(change)
    if change.kind == requests.DELEGATION:
        start, end = parse_date(asked["from"], "from"), parse_date(asked["until"], "until")
        return (f"{_name(s, asked['deputy'])} to act as your deputy from "
                f"{format_date(start)} to {format_date(end)}: while it runs, your deputy "
                "may write and sign off Section 55 responses in your place.",)
    return tuple(f"Your {w['about']}: from {w['was']} to {w['now']}."
                 for w in identification.words(asked["changes"]))


def asking(wf: Workflow, token: str) -> Asking:
    """What the link ``token`` asks (read only; ``LinkRefusedError`` if it cannot)."""
    now, ring = wf.clock.now(), wf.db.keyring()

    def read(s: Session) -> Asking:
        _link, person, change = requests.open_request(s, token, now, "confirm", ring)
        return Asking(change.kind, person.name, _name(s, change.asked_by), _lines(s, change),
                      change.reason)

    return wf.db.query(read)


def _by() -> Provenance:
    return Provenance.here(Channel.WEB).known_as(Identity.LINK)


def _answer(s: Session, token: str, now: datetime, verb: str,
            decision: str) -> tuple[Person, PendingChange]:
    """The person's answer to the change their link asks (``verb`` it): the link used up,
    the change decided; the person and the change."""
    link, person, change = requests.open_request(s, token, now, verb)
    action_links.consume(s, link, now)
    requests.decide(s, change, decision, now)
    return person, change


def confirm(wf: Workflow, token: str) -> str:
    """Make the change the link asks, as its person; what was done, in words."""
    now = wf.clock.now()

    def work(s: Session) -> str:
        person, change = _answer(s, token, now, "confirm", "confirmed")
        if change.kind == requests.DELEGATION:
            made = delegation.confirm_asked(wf, s, change, person, _by())
            deputy = find_person(s, made.deputy)
            return (f"{deputy.name if deputy else made.deputy} is your deputy from "
                    f"{format_date(made.starts_on)} to {format_date(made.ends_on)}.")
        identification.confirm_asked(wf, s, change, person, _by())
        return "The change is made."

    return wf.db.run(work)


def decline(wf: Workflow, token: str) -> Person:
    """Refuse the change the link asks: nothing changes, the refusal is recorded."""
    now = wf.clock.now()

    def work(s: Session) -> Person:
        person, change = _answer(s, token, now, "decline", "declined")
        trail.append(s, at=now, actor=person.email, action=Action.CHANGE_DECLINED,
                     reason=change.reason, payload={"kind": change.kind,
                                                    "person": person.email,
                                                    "asked_event": change.event_id},
                     by=_by())
        return person

    return wf.db.run(work)
