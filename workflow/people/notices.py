"""Telling people about changes to who may act: one way to queue the mail of a change to
people, delegations or the office's settings, in the transaction that made the change.

Recipients are people (their name and current address) and, where an address itself
changed, the old or new address too; each address gets one message. The office's name
in the mail is the database's (``workflow.identity.office``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from states import Role
from workflow.identity.office import in_force
from workflow.identity.rosters import active_with_role
from workflow.mail.recipients import Recipient
from workflow.storage.models import AuditEvent, Person

if TYPE_CHECKING:
    from workflow.responses.service import Workflow


def auditors(s: Session) -> list[Person]:
    """Every active auditor."""
    return active_with_role(s, Role.AUDITOR.value)


def pccs(s: Session) -> list[Person]:
    """Every active PCC."""
    return active_with_role(s, Role.PCC.value)


def recipients(people: Iterable[Person], addresses: Iterable[tuple[str, str]] = ()
               ) -> list[Recipient]:
    """One recipient per address: ``people`` at their address, then ``addresses`` (name,
    address) not already among them."""
    found: dict[str, Recipient] = {}
    for p in people:
        found.setdefault(p.email, Recipient(p.name, p.email, tuple(p.roles or ()),
                                            person_id=p.id))
    for name, email in addresses:
        found.setdefault(email, Recipient(name, email))
    return list(found.values())


def tell(wf: Workflow, s: Session, event: AuditEvent, kind: str, context: Mapping[str, Any],
         to: list[Recipient], actor: str, office_name: str | None = None) -> list[str]:
    """Queue ``kind`` to ``to`` as caused by ``event``; the addresses it went to.
    ``office_name``: the office's name when the caller read it (default: read now)."""
    from workflow.mail.outbox import queue_messages  # lazily: Jinja only when mailing

    if not to:
        return []
    name = office_name or in_force(s, wf.settings).name
    rows = queue_messages(s, settings=wf.settings, now=event.at, kind=kind,
                          context={"opcc_name": name, "response_id": None, **context},
                          recipients=to, event=event, response_id=None, actor=actor)
    return [r.recipient for r in rows]
