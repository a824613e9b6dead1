"""The PCC's powers handed to a deputy for a period (PRSRA 2011 s18): only the PCC hands
them over.

- The PCC delegates as themselves (``s55 people delegate`` from their own account, or
  "Delegate to my deputy" on their page through their link): made at once.
- An admin may only ask: the PCC is mailed a link, and the delegation is made when they
  confirm it there (``confirm_asked``); declined or left, nothing changes.
- Never to oneself (the PCC, or the admin asking), never to a disabled person or one
  holding ``force``; and while a delegation runs or is still to come, its deputy may not
  be given ``force`` (``workflow.people.management.change_roles`` asks ``rosters``).
- Making, confirming and ending one are each a signed event carrying its values
  (``delegated``: delegation, pcc, deputy, from, until; ``delegation_revoked``), mailed at
  once to the PCC, the deputy and every auditor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from states import Role
from workflow.audit import trail
from workflow.audit.trail import Provenance
from workflow.audit.words import Action, Channel, Identity
from workflow.core.checks import parse_date
from workflow.core.errors import InvalidInputError, NotFoundError
from workflow.identity.acting import person_by_email
from workflow.links import action_links
from workflow.people import notices, requests
from workflow.people.management import reason_given
from workflow.responses.service import require_role
from workflow.storage.models import AuditEvent, Delegation, PendingChange, Person

if TYPE_CHECKING:
    from workflow.responses.service import Workflow


@dataclass(frozen=True)
class DelegationView:
    id: int
    pcc: str
    deputy: str
    starts_on: date
    ends_on: date
    reason: str
    revoked: bool


def _view(d: Delegation, pcc: str, deputy: str) -> DelegationView:
    return DelegationView(d.id or 0, pcc, deputy, d.starts_on, d.ends_on, d.reason,
                          d.revoked_at is not None)


def _days(starts: str | date, ends: str | date) -> tuple[date, date]:
    start, end = parse_date(starts, "--from"), parse_date(ends, "--until")
    if end < start:
        raise InvalidInputError("--until", f"{end} is before --from {start}")
    return start, end


def _check(s: Session, pcc: Person, deputy: Person, start: date, end: date,
           asker: Person | None = None) -> None:
    """Refuse a delegation the PCC may not make (``asker``: the admin asking for it)."""
    if Role.PCC.value not in pcc.roles or not pcc.active:
        raise InvalidInputError("people delegate", f"{pcc.email} is not an active PCC")
    if deputy.id == pcc.id:
        raise InvalidInputError("--to", f"{pcc.email} cannot delegate to themself")
    if asker is not None and deputy.id == asker.id:
        raise InvalidInputError("--to", f"{asker.email} may not ask for the PCC's powers for "
                                "themself: only the PCC hands them over, never to the one "
                                "asking")
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


def _tell(wf: Workflow, s: Session, event: AuditEvent, pcc: Person, deputy: Person,
          row: Delegation, **words: object) -> None:
    """The PCC, the deputy and every auditor hear of it at once."""
    to = notices.recipients([pcc, deputy, *notices.auditors(s)])
    notices.tell(wf, s, event, "delegation_notice",
                 {"pcc_name": pcc.name, "deputy_name": deputy.name, "starts_on": row.starts_on,
                  "ends_on": row.ends_on, "reason": event.reason or "", "ended": False,
                  "how": "", "by_name": "", **words}, to, event.actor)


def _make(wf: Workflow, s: Session, pcc: Person, deputy: Person, days: tuple[date, date],
          why: str, by: Provenance, asked: PendingChange | None = None) -> DelegationView:
    """The delegation made by the PCC (``asked``: the request they confirmed)."""
    now = wf.clock.now()
    row = Delegation(pcc_id=pcc.id or 0, deputy_id=deputy.id or 0, starts_on=days[0],
                     ends_on=days[1], reason=why, created_at=now)
    s.add(row)
    s.flush()
    extra = {"asked_event": asked.event_id, "asked_by": asked.asked_by} if asked else {}
    event = trail.append(s, at=now, actor=pcc.email, action=Action.DELEGATED, reason=why,
                         payload={"delegation": row.id, "pcc": pcc.email,
                                  "deputy": deputy.email, "from": days[0].isoformat(),
                                  "until": days[1].isoformat(), **extra}, by=by)
    asker = s.scalars(select(Person).where(col(Person.email) == asked.asked_by)).first() \
        if asked else None
    how = (f"{pcc.name} confirmed it, as {asker.name if asker else 'the OPCC'} asked."
           if asked else f"{pcc.name} made this arrangement themselves.")
    _tell(wf, s, event, pcc, deputy, row, how=how)
    return _view(row, pcc.email, deputy.email)


def delegate(wf: Workflow, pcc_email: str, deputy_email: str, starts: str | date,
             ends: str | date, actor: str | None,
             reason: str | None) -> DelegationView | requests.Asked:
    """The PCC, as themselves, lets a deputy act in their place from ``starts`` to
    ``ends`` (both included); an admin's call only asks the PCC (``requests.Asked``)."""
    why = reason_given(reason, "people delegate")
    days = _days(starts, ends)

    def work(s: Session) -> DelegationView | requests.Asked:
        acting = wf.acting(s, actor)
        pcc = person_by_email(s, pcc_email)
        deputy = person_by_email(s, deputy_email)
        if acting.person.id == pcc.id:
            _check(s, pcc, deputy, *days)
            return _make(wf, s, pcc, deputy, days, why, acting.by)
        require_role(acting.person, {Role.ADMIN}, f"ask for {pcc.email}'s powers to be "
                     "delegated (only the PCC delegates them)")
        _check(s, pcc, deputy, *days, asker=acting.person)
        return requests.ask(
            wf, s, kind=requests.DELEGATION, person=pcc, reason=why, acting=acting,
            asked={"pcc": pcc.email, "deputy": deputy.email, "from": days[0].isoformat(),
                   "until": days[1].isoformat()},
            template="delegation_request",
            context={"deputy_name": deputy.name, "starts_on": days[0], "ends_on": days[1]},
            refusal=f"people delegate: only {pcc.email} may hand over the PCC's powers; an "
                    "admin's request goes to them as a link to confirm")

    return wf.db.run(work)


def confirm_asked(wf: Workflow, s: Session, change: PendingChange, pcc: Person,
                  by: Provenance) -> DelegationView:
    """The PCC confirms the delegation an admin asked for (checked again, as of now)."""
    asked = requests.asked_of(change)
    deputy = person_by_email(s, asked["deputy"])
    days = _days(asked["from"], asked["until"])
    _check(s, pcc, deputy, *days)
    return _make(wf, s, pcc, deputy, days, change.reason, by, change)


def delegate_by_link(wf: Workflow, token: str, deputy_id: int, starts: str, ends: str,
                     reason: str | None) -> DelegationView:
    """The PCC delegates from their own page, through their link (which stays usable)."""
    why = reason_given(reason, "reason")
    days = _days(starts, ends)
    now = wf.clock.now()

    def work(s: Session) -> DelegationView:
        _link, pcc = action_links.check(s, token, now, action="delegate")
        deputy = s.get(Person, deputy_id)
        if deputy is None:
            raise NotFoundError("person", deputy_id)
        _check(s, pcc, deputy, *days)
        return _make(wf, s, pcc, deputy, days, why,
                     Provenance.here(Channel.WEB).known_as(Identity.LINK))

    return wf.db.run(work)


def deputies_for(wf: Workflow, pcc_id: int) -> list[tuple[int, str]]:
    """Who the PCC ``pcc_id`` may choose as deputy: active people holding neither
    ``force`` nor ``pcc``, by name."""
    def read(s: Session) -> list[tuple[int, str]]:
        people = s.scalars(select(Person).where(col(Person.active)).order_by(
            col(Person.name))).all()
        return [(p.id or 0, p.name) for p in people if p.id != pcc_id
                and not {Role.FORCE.value, Role.PCC.value} & set(p.roles or ())]

    return wf.db.query(read)


def revoke(wf: Workflow, delegation_id: int, actor: str | None,
           reason: str | None) -> DelegationView:
    """End a delegation now (the PCC or an admin: ending one hands no power to anyone)."""
    why = reason_given(reason, "people revoke")

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
        event = trail.append(s, at=now, actor=acting.email, action=Action.DELEGATION_REVOKED,
                             reason=why, payload={"delegation": row.id, "pcc": pcc.email,
                                                  "deputy": deputy.email}, by=acting.by)
        _tell(wf, s, event, pcc, deputy, row, ended=True, by_name=acting.person.name)
        return _view(row, pcc.email, deputy.email)

    return wf.db.run(work)
