"""What the approvers' web pages do through a link: the same ``Workflow`` transactions,
guards and audit events as the command line, recorded with channel ``web`` and identity
``link``, the actor being the link's person.

API for the web layer (stable). ``wf`` is a ``Workflow`` on the web app's database,
settings and clock (its own identifier is not used: each call acts as the link's person).
Every call raises ``action_links.LinkRefusedError`` for a link that cannot do it (nothing
written), and the ``S55Error`` the command line would raise for a refused action.

- ``fire(wf, token, trigger, *, reason=None, params=None, expected_version=None,
  expected_fingerprint=None)``: a transition (``submit_force_input``; ``sign_off``,
  ``return_to_force``, ``return_to_draft``) on the link's response; uses the link up in the
  same transaction. A sign-off given the fingerprint its page showed signs that text or
  nothing.
- ``edit_text(wf, token, field, value, *, expected_version=None)``: ``cc_response``
  (force link) or ``pcc_response`` (pcc link); the link stays usable.
- ``edit_recommendation(wf, token, number, field, value, *, expected_version=None)``:
  ``force_response`` or ``pcc_note`` of one recommendation; the link stays usable. (The
  web pages save through ``content.edit_many``, version-checked too.)
- ``resend(wf, token) -> Sent``: mail a fresh link of the same kind to the link's person
  for the same response (an expired, used or superseded link), at most
  ``action_links.HOURLY_LIMIT`` an hour; ``ResendRefusedError`` says why not.
- ``request_sign_in(wf, email) -> None``: mail a sign-in link to a known reader's
  address (auditor, panel, admin); the same outward answer for any address, and nothing
  is mailed to an unknown one (nor beyond the hourly limit).
- ``sign_in(wf, token) -> action_links.Reader``: use a sign-in link up (audited ``signed_in``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from states.words import state_words, when
from workflow.audit import trail
from workflow.audit.trail import Provenance
from workflow.audit.words import Action, Channel, Identity
from workflow.core.bank_holidays import england_and_wales
from workflow.core.errors import S55Error
from workflow.core.os_account import check_text
from workflow.identity.acting import find_person
from workflow.identity.office import in_force
from workflow.links import action_links
from workflow.mail.compose import prepare_messages
from workflow.mail.outbox import write_prepared
from workflow.mail.recipients import Recipient, reply_contact
from workflow.responses import content
from workflow.responses.service import Workflow
from workflow.storage.models import InspectionReport, Person, Recommendation, Response

#: The actor of a sign-in request: whoever typed the address is not known.
WEB = "s55-web"
NO_LINKS = ("s55 cannot issue links: S55_BASE_URL and an audit key (S55_AUDIT_KEY_FILE) "
            "must both be set; ask the OPCC to record your answer instead")


class ResendRefusedError(S55Error):
    """No fresh link is sent: the response no longer waits on the person, or the hourly
    limit is reached (``retry_after``: when one may be asked for again)."""

    def __init__(self, message: str, retry_after: datetime | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


@dataclass(frozen=True)
class Sent:
    """A fresh link mailed: to whom, and until when it works."""

    email: str
    expires_at: datetime


def _by_link(wf: Workflow, token: str, action: str, response_id: int | None) -> Workflow:
    ident = action_links.LinkIdentifier("link", Provenance.here(Channel.WEB), token=token,
                                 action=action, response_id=response_id, clock=wf.clock)
    return Workflow(wf.db, wf.settings, wf.clock, identifier=ident)


def _response_of(wf: Workflow, token: str, action: str) -> int:
    """The link's response, refusing at once (a read) a link that cannot do ``action``;
    the action's own transaction checks it all again."""
    found = action_links.read(wf.db, wf.clock, token, action=action)
    assert found.response_id is not None  # only sign-in links have none
    return found.response_id


def fire(wf: Workflow, token: str, trigger: str, *, reason: str | None = None,
         params: Mapping[str, Any] | None = None, expected_version: int | None = None,
         expected_fingerprint: str | None = None) -> Response:
    rid = _response_of(wf, token, trigger)
    return _by_link(wf, token, trigger, rid).fire(
        rid, trigger, None, reason=reason, params=params, expected_version=expected_version,
        expected_fingerprint=expected_fingerprint)


def edit_text(wf: Workflow, token: str, field: str, value: str, *,
              expected_version: int | None = None) -> Response:
    rid = _response_of(wf, token, field)
    return content.edit_text(_by_link(wf, token, field, rid), rid, field, value, None,
                             expected_version=expected_version)


def edit_recommendation(wf: Workflow, token: str, number: int, field: str, value: str, *,
                        expected_version: int | None = None) -> Recommendation:
    rid = _response_of(wf, token, field)
    return content.edit_recommendation(_by_link(wf, token, field, rid), rid, number, field,
                                       value, None, expected_version=expected_version)


def _web(identity: Identity) -> Provenance:
    return Provenance.here(Channel.WEB).known_as(identity)


def _limit(s: Session, person_id: int, origin: str, now: datetime) -> datetime | None:
    """When the next link of ``origin`` may be sent, if the hourly limit is reached."""
    sent = action_links.recent(s, person_id, origin, now)
    if len(sent) < action_links.HOURLY_LIMIT:
        return None
    return sent[-action_links.HOURLY_LIMIT] + timedelta(hours=1)


def _send(s: Session, wf: Workflow, person: Person, issuer: action_links.Issuer, kind: str,
          context: Mapping[str, Any], actor: str, by: Provenance,
          payload: Mapping[str, Any]) -> None:
    """Render ``kind`` to ``person`` with a link from ``issuer``, audit, queue."""
    rcpt = Recipient(person.name, person.email, tuple(person.roles or ()), person_id=person.id)
    office = in_force(s, wf.settings)
    base = {"opcc_name": office.name, "force": office.force or "",
            "link_days": wf.settings.link_days}
    prepared = prepare_messages(settings=wf.settings, now=issuer.now, kind=kind,
                                context={**base, **context}, recipients=[rcpt],
                                response_id=issuer.response_id, actor=actor,
                                reply_to=reply_contact(s, wf.settings), links=issuer)
    event = trail.append(s, at=issuer.now, actor=actor, action=Action.LINK_SENT,
                         response_id=issuer.response_id, payload=payload, by=by)
    write_prepared(s, prepared, event)


def resend(wf: Workflow, token: str) -> Sent:
    now = wf.clock.now()

    def work(s: Session) -> Sent:
        link = action_links.find(s, token)
        if link is None:
            raise action_links.LinkRefusedError("unknown", "this link is not one s55 sent (check "
                                         "that the whole link was copied)")
        person = s.get(Person, link.person_id)
        assert person is not None  # foreign key
        if not person.active:
            raise action_links.LinkRefusedError("disabled", f"{person.email} has been disabled: no "
                                         "new link is sent", link_id=link.id)
        response = s.get(Response, link.response_id) if link.response_id else None
        if response is None or action_links.kind_of(s, response.state, person, now) != link.kind:
            state = state_words(response.state) if response else "gone"
            raise ResendRefusedError(f"response {link.response_id} is now {state}: nothing "
                                     "there waits on you, so no new link was sent")
        after = _limit(s, person.id or 0, "resend", now)
        if after is not None:
            raise ResendRefusedError(f"{action_links.HOURLY_LIMIT} new links were sent to "
                                     f"{person.email} in the last hour; ask again after "
                                     f"{when(after)}", after)
        report = s.get(InspectionReport, response.report_id)
        issuer = action_links.issuer(s, wf.settings, now, response.id, response.state,
                              response.version, origin="resend", kind=link.kind)
        if not issuer.can_issue:
            raise S55Error(NO_LINKS)
        _send(s, wf, person, issuer, "action_link",
              {"response_id": response.id, "report_title": report.title if report else "",
               "state": response.state, "deadline": response.deadline},
              person.email, _web(Identity.LINK),
              {"kind": link.kind, "to": person.email, "replaces_link": link.id})
        return Sent(person.email, issuer.now + timedelta(days=wf.settings.link_days))

    return wf.db.run(work)


def request_sign_in(wf: Workflow, email: str) -> None:
    now = wf.clock.now()

    def work(s: Session) -> None:
        try:
            person = find_person(s, check_text(email, "email")) if email else None
        except S55Error:
            return
        if (person is None or not person.active or not action_links.can_issue(s, wf.settings)
                or not action_links.READER_ROLES & set(person.roles or ())
                or _limit(s, person.id or 0, "sign_in", now) is not None):
            return
        # One working day by default (the office's setting): a sign-in link only reads, but
        # it waits in a mailbox, and whoever holds it reads as its person.
        days = in_force(s, wf.settings).sign_in_link_days
        issuer = action_links.issuer(
            s, wf.settings, now, None, None, None, origin="sign_in", kind=action_links.SIGN_IN,
            expires_at=action_links.working_days_after(now, days, england_and_wales()))
        _send(s, wf, person, issuer, "sign_in_link", {
            "response_id": None, "link_until": when(issuer.expiry)}, WEB,
            _web(Identity.SYSTEM), {"kind": action_links.SIGN_IN, "to": person.email})

    wf.db.run(work)


def sign_in(wf: Workflow, token: str) -> action_links.Reader:
    now = wf.clock.now()

    def work(s: Session) -> action_links.Reader:
        link, person = action_links.check(s, token, now, action="sign_in")
        if not action_links.READER_ROLES & set(person.roles or ()):
            raise action_links.LinkRefusedError("wrong_kind", f"{person.email} no longer holds a "
                                         "role that reads s55 (auditor, panel, admin)",
                                         link_id=link.id)
        action_links.consume(s, link, now)
        trail.append(s, at=now, actor=person.email, action=Action.SIGNED_IN,
                     payload={"link": link.id}, by=_web(Identity.LINK))
        return action_links.Reader(person.id or 0, person.name, person.email,
                            tuple(person.roles or ()))

    return wf.db.run(work)
