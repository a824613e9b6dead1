"""Personal single-use links: issued with the mail that asks a person to act,
read by the web pages, used up by the action they allow.

A link's token is 256 bits derived from the audit key, outside the database
(``workflow.keys.link_tokens`` says how and why); only its SHA-256 is stored
(``ActionLink.token_hash``). The outbox row holding the mail carries a placeholder, filled
in by the dispatcher as it sends, so the token exists only in the mail as delivered and
in the reader's hands: never in the database, a log or an audit payload. Without an audit
key no link is issued, nor proved. Each link is recorded as it is issued in a signed
``link_issued`` event (``workflow.links.issued``); a row that disagrees with its record,
or a token that does not derive from it, is a link s55 never sent. A link is bound to one
person, one response, the state and version the response was in when the link was issued,
and a kind that says what it may do:

- ``force``: save the force's content (``cc_response``, each recommendation's and each
  area for improvement's ``force_response``) and ``submit_force_input``, while the
  response is in ``force_input``;
- ``pcc``: save ``pcc_response`` and each ``pcc_note`` (the s55(5B) explanation), and
  ``sign_off``, ``return_to_force``, ``return_to_draft``, while it is in ``pcc_signoff``;
- ``deputy``: save ``pcc_response`` and each ``pcc_note``, and ``sign_off``, in the PCC's
  place, while it is in ``pcc_signoff``, for the deputy of a delegation running when the
  mail was queued (``s55 people delegate``); each is recorded as the command line records
  a delegated act (the deputy acts, on behalf of the PCC, under delegation #N). It stops
  working at once when the delegation ends or is revoked;
- ``sign_in``: a reader (auditor, panel, admin) signs in to the read-only pages;
- ``confirm``: its person confirms or declines a change that waits for their word (a
  delegation of the PCC's powers an admin asked for; a new login or address of someone
  who signs), bound to the event that asked for it (``workflow.people.requests``); no
  response. The ``pcc`` link also lets the PCC delegate to a deputy from their page.

It expires ``S55_LINK_DAYS`` after issue, stops at once when its person is disabled, and is
superseded as soon as the response is moved (any transition event after the one that
issued it: the refusal names who moved it and when). Saves move the response's version
on without superseding the link (the version it was issued at is kept for the record);
pass the version a page showed as ``expected_version`` to refuse a stale form. Reading
never changes anything; saving content does not use a link up (the force liaison saves
over several visits); a transition does, in the same transaction as the transition
(compare-and-set on ``used_at``), so of two submits with one link exactly one wins.

API for the web layer (stable; ``workflow.responses.approvals`` has the acting side):

- ``url(settings, token) -> str``: ``S55_BASE_URL + "/l/" + token`` (the web app serves
  ``GET /l/{token}``).
- ``read(db, clock, token, *, action=None, response_id=None) -> LinkView``: look a token
  up without writing anything; raises ``LinkRefusedError`` (``.why`` is one of
  ``REFUSALS``) when it cannot do ``action`` (a trigger or an editable field name, or
  ``"sign_in"``; None: any of its own). ``LinkView.actions`` lists what it may do.
- ``reader(db, person_id) -> Reader | None``: a signed-in reader still active and still
  holding a reader role (check on every request of a session).
- ``LinkIdentifier``: how ``Workflow`` knows who acts through a link (channel ``web``,
  identity ``link``); built by ``workflow.responses.approvals``, which the web layer calls instead.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from states import TRIGGERS, Role, State
from states.words import state_words, trigger_do, trigger_done, when
from states.workdays import WorkingDays
from workflow.audit.words import Action, Identity
from workflow.core.clock import LONDON, Clock, SystemClock
from workflow.core.errors import IdentityError, S55Error
from workflow.core.settings import Settings
from workflow.identity.acting import Acting, Identifier
from workflow.identity.rosters import delegation_for, delegations_on
from workflow.keys import link_tokens
from workflow.keys.audit_key import Keyring
from workflow.links import issued
from workflow.mail.outbox import dedupe_key
from workflow.mail.recipients import Recipient
from workflow.storage.db import KEYRING_KEY, Database
from workflow.storage.models import ActionLink, AuditEvent, Person, Response
from workflow.storage.tables import ACTION_LINK, PERSON

FORCE, PCC, DEPUTY, SIGN_IN, CONFIRM = "force", "pcc", "deputy", "sign_in", "confirm"
#: What each kind of link may do: triggers (which use it up) and editable fields (which
#: do not); ``sign_in`` signs a reader in (and is used up by it).
ALLOWED: dict[str, frozenset[str]] = {
    FORCE: frozenset({"submit_force_input", "cc_response", "force_response"}),
    PCC: frozenset({"sign_off", "return_to_force", "return_to_draft", "pcc_response",
                    "pcc_note", "delegate"}),
    DEPUTY: frozenset({"sign_off", "pcc_response", "pcc_note"}),
    SIGN_IN: frozenset({"sign_in"}),
    CONFIRM: frozenset({"confirm", "decline"}),
}
#: The state a response must be in for each kind of link to act on it, and the role.
KIND_STATE: dict[str, tuple[State, Role]] = {FORCE: (State.FORCE_INPUT, Role.FORCE),
                                             PCC: (State.PCC_SIGNOFF, Role.PCC)}
READER_ROLES = frozenset({Role.AUDITOR.value, Role.PANEL.value, Role.ADMIN.value})
#: Why a link is refused (``LinkRefusedError.why``).
REFUSALS = ("unknown", "disabled", "wrong_kind", "other_response", "used", "superseded",
            "expired", "delegation")
#: Why no link can be proved (or issued) here.
NO_KEY = ("s55 cannot check this link: no audit key is configured here (S55_AUDIT_KEY_FILE), "
          "and a link is proved with it; ask the OPCC to record your answer instead")
#: Fresh links (``resend``) and sign-in links a person may be sent in one hour.
HOURLY_LIMIT = 3
#: What a token looks like (``token_urlsafe(32)`` gives 43 characters): anything else is
#: unknown without a look-up.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,64}")
_TABLE: Any = ACTION_LINK


def url(settings: Settings, token: str) -> str:
    """The link a mail carries (``S55_BASE_URL`` must be set: ``Issuer`` checks)."""
    if not settings.base_url:
        raise S55Error("S55_BASE_URL is not set: s55 cannot build the approvers' links")
    return f"{settings.base_url}/l/{token}"


def kind_for(state: str | None, roles: tuple[str, ...] | list[str]) -> str | None:
    """The kind of link a person with ``roles`` gets in mail about a response in ``state``
    (None: the mail asks nothing of them that a link does)."""
    for kind, (needed, role) in KIND_STATE.items():
        if state == needed.value and role.value in roles:
            return kind
    return None


def deputies(session: Session, state: str | None, now: datetime) -> frozenset[int]:
    """The people who may sign off in a PCC's place ``now`` (delegations running), when
    ``state`` is the PCC's sign-off; else none."""
    if state != State.PCC_SIGNOFF.value:
        return frozenset()
    today = now.astimezone(LONDON).date()
    return frozenset(dep.id for _, _, dep in delegations_on(session, today) if dep.id)


def kind_of(session: Session, state: str | None, person: Person, now: datetime) -> str | None:
    """``kind_for`` the person, or ``deputy`` for a PCC's deputy under a running delegation
    while the response waits for sign-off."""
    kind = kind_for(state, tuple(person.roles or ()))
    if kind is None and person.id in deputies(session, state, now):
        return DEPUTY
    return kind


def working_days_after(at: datetime, days: int, calendar: WorkingDays) -> datetime:
    """``at`` moved on by ``days`` working days, at the same London time of day: a link
    asked for on a Friday at 16:00 works until Monday at 16:00 (Tuesday after a bank
    holiday Monday; asked for on a Saturday, until Monday at that hour)."""
    local = at.astimezone(LONDON)
    day, left = local.date(), days
    while left > 0:
        day += timedelta(days=1)
        if calendar.closed(day) is None:
            left -= 1
    return datetime.combine(day, local.time(), tzinfo=LONDON).astimezone(at.tzinfo)


@dataclass(frozen=True)
class LinkView:
    """What a valid link is: whose, for which response, and what it may do now."""

    link_id: int
    kind: str
    person_id: int
    person_name: str
    person_email: str
    response_id: int | None
    state: str | None  # the response's state when issued (and still)
    version: int | None  # the response's version when issued
    issued_at: datetime
    expires_at: datetime
    actions: frozenset[str]


@dataclass(frozen=True)
class Reader:
    """A person signed in to read (auditor, panel, admin)."""

    person_id: int
    name: str
    email: str
    roles: tuple[str, ...]


class LinkRefusedError(S55Error):
    """A link that cannot do what was asked, saying precisely why (``why`` in ``REFUSALS``)
    and, for a response moved on, who moved it and when. ``can_resend``: a fresh link may
    be asked for (``approvals.resend``)."""

    def __init__(self, why: str, message: str, *, link_id: int | None = None,
                 response_id: int | None = None, moved_by: str | None = None,
                 moved_at: datetime | None = None, moved_trigger: str | None = None,
                 now_state: str | None = None, used_at: datetime | None = None,
                 can_resend: bool = False) -> None:
        self.why, self.link_id, self.response_id = why, link_id, response_id
        self.moved_by, self.moved_at, self.moved_trigger = moved_by, moved_at, moved_trigger
        self.now_state, self.used_at, self.can_resend = now_state, used_at, can_resend
        super().__init__(message)


def find(session: Session, token: str, ring: Keyring | None = None) -> ActionLink | None:
    """The link whose token is ``token``, or None: also when the row is not one s55
    issued, or was altered since (``issued.genuine``, under the audit ``ring``; None: the
    session's).

    Constant time where it matters: the row is fetched through the unique index by the
    token's SHA-256, so what the index walk's timing could reveal is about that hash, and
    learning a prefix of the hash of a guess tells an attacker nothing about any real
    token (finding a token for a given hash is a preimage search). The token the key
    derives from the link's signed record is then compared with ``hmac.compare_digest``,
    whose time does not depend on where they differ.
    """
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        return None
    ring = ring or session.info.get(KEYRING_KEY)
    if ring is None:
        raise LinkRefusedError("unknown", NO_KEY)
    digest = link_tokens.token_hash(token)
    link = session.scalars(select(ActionLink).where(
        col(ActionLink.token_hash) == digest)).first()
    if link is None or not hmac.compare_digest(link.token_hash.encode(), digest.encode()):
        return None
    return link if issued.genuine(session, link, token, ring) else None


def _mover(session: Session, link: ActionLink) -> AuditEvent | None:
    """The first transition of the link's response after the event that issued it."""
    if link.response_id is None:
        return None
    return session.scalars(select(AuditEvent).where(
        col(AuditEvent.response_id) == link.response_id,
        col(AuditEvent.action) == Action.TRANSITION.value,
        col(AuditEvent.id) > (link.event_id or 0)).order_by(col(AuditEvent.id)).limit(1)).first()


def _name(session: Session, email: str) -> str:
    """The person's name, as people read it (their address where s55 knows no name)."""
    name = session.scalars(select(PERSON.c.name).where(PERSON.c.email == email)).first()
    return name or email


def _moved_refusal(session: Session, link: ActionLink, why: str) -> LinkRefusedError:
    if link.response_id is None:  # a sign-in or confirm link: nothing moved, it was used
        what = "sign-in link" if link.kind == SIGN_IN else "link"
        return LinkRefusedError(why, f"this {what} was already used on "
                                f"{when(link.used_at or link.issued_at)}"
                                + (": ask for a new one" if link.kind == SIGN_IN else ""),
                                link_id=link.id, used_at=link.used_at)
    mover = _mover(session, link)
    response = session.get(Response, link.response_id) if link.response_id else None
    state = response.state if response else None
    rid = link.response_id
    if why == "used":
        head = f"this link was already used on {when(link.used_at)}" if link.used_at else ""
    else:
        head = f"response {rid} has moved on since this link was sent"
    moved = (f"it was {trigger_done(mover.trigger or 'moved')} by {_name(session, mover.actor)} "
             f"on {when(mover.at)}" if mover else "it was moved")
    return LinkRefusedError(
        why, f"{head}: {moved}; it is now {state_words(state)}",
        link_id=link.id, response_id=rid, moved_by=mover.actor if mover else None,
        moved_at=mover.at if mover else None, moved_trigger=mover.trigger if mover else None,
        now_state=state, used_at=link.used_at, can_resend=True)


def _check_use(session: Session, link: ActionLink, person: Person, now: datetime,
               action: str | None, response_id: int | None) -> None:
    """Refuse ``link`` for ``action`` on ``response_id`` unless it may do that now."""
    if not person.active:
        raise LinkRefusedError("disabled", f"this link was for {person.email}, who has been "
                               "disabled: their links no longer work", link_id=link.id)
    if action is not None and action not in ALLOWED[link.kind]:
        raise LinkRefusedError("wrong_kind", f"this link is {person.name}'s {link.kind} link: "
                               f"it may not {trigger_do(action)}", link_id=link.id,
                               response_id=link.response_id)
    if response_id is not None and response_id != link.response_id:
        raise LinkRefusedError("other_response", f"this link is for response "
                               f"{link.response_id}, not response {response_id}",
                               link_id=link.id, response_id=link.response_id)
    if link.used_at is not None:
        raise _moved_refusal(session, link, "used")
    if link.response_id is not None:
        response = session.get(Response, link.response_id)
        if response is None or response.state != link.state or _mover(session, link):
            raise _moved_refusal(session, link, "superseded")
    if link.kind == DEPUTY:
        _check_delegation(session, link, person, now)
    if now >= link.expires_at:
        raise LinkRefusedError("expired", f"this link expired on {when(link.expires_at)}",
                               link_id=link.id, response_id=link.response_id,
                               can_resend=link.kind != SIGN_IN)


def _check_delegation(session: Session, link: ActionLink, person: Person,
                      now: datetime) -> None:
    """A deputy's link works only while a delegation to them runs."""
    if delegation_for(session, person, now.astimezone(LONDON).date()) is None:
        raise LinkRefusedError(
            "delegation", f"this link let {person.email} sign off response "
            f"{link.response_id} as the PCC's deputy, but no delegation to them runs now "
            "(it ended or was revoked): the link no longer works", link_id=link.id,
            response_id=link.response_id)


def check(session: Session, token: str, now: datetime, *, action: str | None = None,
          response_id: int | None = None, ring: Keyring | None = None
          ) -> tuple[ActionLink, Person]:
    """The link and its person, inside the caller's transaction; ``LinkRefusedError``
    unless the link may do ``action`` (None: anything of its own) on ``response_id``
    (None: its own response) now. ``ring``: the audit key the link is proved under (None:
    the session's)."""
    link = find(session, token, ring)
    if link is None:
        raise LinkRefusedError("unknown", "this link is not one s55 sent (check that the "
                               "whole link was copied)")
    person = session.get(Person, link.person_id)
    assert person is not None  # foreign key
    _check_use(session, link, person, now, action, response_id)
    return link, person


def consume(session: Session, link: ActionLink, now: datetime) -> None:
    """Use ``link`` up in the caller's transaction: a compare-and-set on ``used_at``.

    PostgreSQL: a second transaction using the same link waits here for the first one's
    row lock, then finds ``used_at`` set and updates nothing; SQLite's write lock
    (``BEGIN IMMEDIATE``) already orders them. The loser is told who won and when.
    """
    done = session.connection().execute(update(_TABLE).where(
        _TABLE.c.id == link.id, _TABLE.c.used_at.is_(None)).values(used_at=now))
    if done.rowcount != 1:
        session.refresh(link)
        raise _moved_refusal(session, link, "used")
    link.used_at = now


def view(link: ActionLink, person: Person) -> LinkView:
    return LinkView(link.id or 0, link.kind, person.id or 0, person.name, person.email,
                    link.response_id, link.state, link.version, link.issued_at,
                    link.expires_at, ALLOWED[link.kind])


def read(db: Database, clock: Clock, token: str, *, action: str | None = None,
         response_id: int | None = None) -> LinkView:
    """Look ``token`` up for reading: nothing is written, the link is not used up."""
    now, ring = clock.now(), db.keyring()
    return db.query(lambda s: view(*check(s, token, now, action=action,
                                          response_id=response_id, ring=ring)))


def reader(db: Database, person_id: int) -> Reader | None:
    """The signed-in reader ``person_id``, while active and holding a reader role."""
    def get(s: Session) -> Reader | None:
        p = s.get(Person, person_id)
        if p is None or not p.active or not READER_ROLES & set(p.roles or ()):
            return None
        return Reader(p.id or 0, p.name, p.email, tuple(p.roles or ()))

    return db.query(get)


def recent(session: Session, person_id: int, origin: str, now: datetime) -> list[datetime]:
    """When ``person_id`` was sent links of ``origin`` in the last hour (the rate limit)."""
    return list(session.scalars(select(col(ActionLink.issued_at)).where(
        col(ActionLink.person_id) == person_id, col(ActionLink.origin) == origin,
        col(ActionLink.issued_at) > now - timedelta(hours=1)).order_by(
            col(ActionLink.issued_at))))


@dataclass
class Issuer:
    """Hands out links while mail is rendered (``workflow.mail.compose.LinkIssuer``); the
    rows are written with the event that caused the mail (``write``), in its transaction.

    ``kind``: the one kind to issue (resends, sign-in); None: whatever ``kind_for`` gives
    each recipient for ``state``. Nothing is issued while ``S55_BASE_URL`` is unset or
    there is no audit key (``ring``: the tokens derive from it). The mail gets a
    placeholder (``link_keys``); the token and its hash are computed in ``write``, once
    the outbox row's dedupe key is known, and the token is forgotten there.
    """

    settings: Settings
    now: datetime
    response_id: int | None
    state: str | None
    version: int | None
    origin: str = "mail"
    kind: str | None = None
    ring: Keyring | None = None
    #: Deputies under a delegation running now (their kind is ``deputy``).
    deputies: frozenset[int] = frozenset()
    pending: list[dict[str, Any]] = field(default_factory=list)
    #: When the links stop working (None: ``S55_LINK_DAYS`` after ``now``).
    expires_at: datetime | None = None

    @property
    def expiry(self) -> datetime:
        return self.expires_at or self.now + timedelta(days=self.settings.link_days)

    @property
    def can_issue(self) -> bool:
        return bool(self.settings.base_url) and self.ring is not None

    def url_for(self, recipient: Recipient) -> str | None:
        kind = self.kind or kind_for(self.state, recipient.roles) or (
            DEPUTY if recipient.person_id in self.deputies else None)
        if kind is None or recipient.person_id is None or not self.can_issue:
            return None
        assert self.ring is not None  # can_issue
        place = link_tokens.placeholder(self.ring)
        self.pending.append({
            "place": place, "email": recipient.email, "person_id": recipient.person_id,
            "response_id": self.response_id, "kind": kind, "origin": self.origin,
            "state": self.state, "version": self.version, "issued_at": self.now,
            "expires_at": self.expiry})
        return url(self.settings, place)

    def write(self, session: Session, event: AuditEvent, outbox: Mapping[str, int]) -> None:
        """Store the links handed out whose mail was added (``outbox``: each added row's
        id by dedupe key), as caused by ``event``, with their signed record."""
        rows, recipients = [], []
        for row in self.pending:
            place, email = row.pop("place"), row.pop("email")
            key = dedupe_key(event.id or 0, email)
            if key not in outbox:
                continue  # its mail was not added (written twice for one event)
            token = link_tokens.token_for(self.ring, place, key)
            kid, nonce = place.split(".")[1:]
            rows.append({**row, "token_hash": link_tokens.token_hash(token),
                         "event_id": event.id, "outbox_id": outbox[key], "key_id": kid,
                         "nonce": nonce})
            recipients.append(email)
        self.pending = []
        if rows:
            issued.record(session, event, self.response_id, self.now, rows, recipients)


def can_issue(session: Session, settings: Settings) -> bool:
    """Whether links can be issued in ``session``: a base URL and an audit key."""
    return bool(settings.base_url) and session.info.get(KEYRING_KEY) is not None


def issuer(session: Session, settings: Settings, now: datetime, response_id: int | None,
           state: str | None, version: int | None, **more: Any) -> Issuer:
    """An ``Issuer`` for mail queued in ``session``, whose audit key it derives tokens
    from."""
    ring = session.info.get(KEYRING_KEY)
    return Issuer(settings, now, response_id, state, version, ring=ring,
                  deputies=deputies(session, state, now) if ring and settings.base_url
                  else frozenset(), **more)


@dataclass(frozen=True)
class LinkIdentifier(Identifier):
    """``Workflow``'s identifier for one action through one link: the person is the
    link's (channel ``web``, identity ``link``), checked inside the action's own
    transaction; a trigger uses the link up there too, so the action and the use commit
    or roll back together. ``action``: the trigger or the field edited."""

    token: str = ""
    action: str = ""
    response_id: int | None = None
    clock: Clock = field(default_factory=SystemClock)

    def resolve(self, session: Session, claimed: str | None) -> Acting:
        if claimed:
            raise IdentityError("a link acts as the person it was sent to; it takes no --as")
        now = self.clock.now()
        link, person = check(session, self.token, now, action=self.action,
                             response_id=self.response_id)
        if self.action in TRIGGERS:
            consume(session, link, now)
        return Acting(person, self.origin.known_as(Identity.LINK).through_link(link.id))

    def viewer(self, session: Session, claimed: str | None) -> Person | None:
        return check(session, self.token, self.clock.now())[1]
