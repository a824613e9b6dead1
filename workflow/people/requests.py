"""Changes that wait for one person's word: asked for by an admin, mailed to that person
with a link of kind ``confirm``, made only when they confirm it from that link (or never,
if they decline or let the link expire).

Two kinds: ``delegation`` (an admin asks that the PCC's powers go to a deputy for a
period; the PCC confirms) and ``identity`` (a new login or address of someone who signs
for the office; they confirm at their current address). The request is a signed
``change_asked`` event carrying what would change; the link is bound to that event, so
the link finds its request (``PendingChange.event_id``). A newer request of the same kind
for the same person replaces an open one. What confirming does is the kind's own
(``workflow.people.confirming``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from workflow.audit import trail
from workflow.audit.words import Action
from workflow.core.errors import ConfigError
from workflow.identity.acting import Acting
from workflow.identity.office import in_force
from workflow.links import action_links
from workflow.mail.compose import prepare_messages
from workflow.mail.outbox import write_prepared
from workflow.mail.recipients import Recipient, reply_contact
from workflow.storage.models import ActionLink, PendingChange, Person

if TYPE_CHECKING:
    from workflow.responses.service import Workflow

DELEGATION, IDENTITY = "delegation", "identity"
NO_LINKS = ("s55 cannot mail them a link: set S55_BASE_URL and the audit key "
            "(S55_AUDIT_KEY_FILE)")
_DECIDED = {"confirmed": "confirmed", "declined": "declined",
            "replaced": "replaced by a newer request"}


@dataclass(frozen=True)
class Asked:
    """A request mailed: to whom (their address), and until when the link works."""

    kind: str
    person: str
    mailed_to: str
    expires_at: datetime


def _open_requests(s: Session, person_id: int, kind: str) -> list[PendingChange]:
    return list(s.scalars(select(PendingChange).where(
        col(PendingChange.person_id) == person_id, col(PendingChange.kind) == kind,
        col(PendingChange.status) == "pending")))


def ask(wf: Workflow, s: Session, *, kind: str, person: Person, asked: Mapping[str, Any],
        reason: str, acting: Acting, template: str, context: Mapping[str, Any],
        refusal: str) -> Asked:
    """Record a request of ``kind`` that ``person`` must confirm, and mail them
    ``template`` with their link, in ``s``'s transaction. ``refusal`` begins the one-line
    ``ConfigError`` when no link can be mailed (nothing is written)."""
    now = wf.clock.now()
    issuer = action_links.issuer(s, wf.settings, now, None, None, None, origin="confirm",
                                 kind=action_links.CONFIRM)
    if not issuer.can_issue:
        raise ConfigError(f"{refusal}, and {NO_LINKS}")
    for earlier in _open_requests(s, person.id or 0, kind):
        earlier.status, earlier.decided_at = "replaced", now
    rcpt = Recipient(person.name, person.email, tuple(person.roles or ()), person_id=person.id)
    prepared = prepare_messages(
        settings=wf.settings, now=now, kind=template, recipients=[rcpt], response_id=None,
        context={"opcc_name": in_force(s, wf.settings).name, "response_id": None,
                 "link_days": wf.settings.link_days, "asked_by": acting.person.name,
                 "reason": reason, **context},
        actor=acting.email, reply_to=reply_contact(s, wf.settings), links=issuer)
    event = trail.append(s, at=now, actor=acting.email, action=Action.CHANGE_ASKED,
                         reason=reason, payload={"kind": kind, "person": person.email,
                                                 "asked": dict(asked)}, by=acting.by)
    s.add(PendingChange(kind=kind, person_id=person.id or 0, asked=json.dumps(dict(asked)),
                        asked_by=acting.email, reason=reason, asked_at=now,
                        event_id=event.id or 0))
    write_prepared(s, prepared, event)
    return Asked(kind, person.email, person.email,
                 issuer.now + timedelta(days=wf.settings.link_days))


def open_request(s: Session, token: str, now: datetime, action: str, ring: Any = None
                 ) -> tuple[ActionLink, Person, PendingChange]:
    """The link, its person and the request it confirms, inside the caller's transaction;
    ``LinkRefusedError`` unless the link may ``action`` (confirm, decline) an open request.
    ``ring``: the audit keyring that proves the link (None: the session's, which a read
    session does not carry)."""
    link, person = action_links.check(s, token, now, action=action, ring=ring)
    change = s.scalars(select(PendingChange).where(
        col(PendingChange.event_id) == link.event_id,
        col(PendingChange.person_id) == person.id)).first()
    if change is None:
        raise action_links.LinkRefusedError("unknown", "this link is not one s55 sent (check "
                                            "that the whole link was copied)")
    if change.status != "pending":
        raise action_links.LinkRefusedError(
            "used", f"this request was already {_DECIDED.get(change.status, change.status)}",
            link_id=link.id)
    return link, person, change


def asked_of(change: PendingChange) -> dict[str, Any]:
    """What the request would change (its JSON)."""
    value: dict[str, Any] = json.loads(change.asked)
    return value


def decide(s: Session, change: PendingChange, status: str, now: datetime) -> None:
    change.status, change.decided_at = status, now
    s.flush()
