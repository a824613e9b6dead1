"""The workflow side of mail: who gets what, and queueing it in the caller's transaction.

Mail is queued in the caller's transaction (one ``OutboxMessage`` per recipient, with
a dedupe key ``<event id>:<recipient>`` and a Message-ID derived from it), so a
rolled-back transition leaves no mail. Delivery and the dispatcher lock are in
``workflow.mail.outbox``, the outbox helpers of the CLI in ``workflow.mail.views``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlmodel import col

from notifications.errors import NotificationError
from notifications.message import check_address, message_bytes, message_id_for
from notifications.render import render
from states import BY_TRIGGER, Role
from workflow import audit
from workflow.audit import Action
from workflow.clock import LONDON
from workflow.config import Settings
from workflow.errors import S55Error, UnknownTriggerError
from workflow.mail.digest import mail_digest, mail_of
from workflow.storage.models import (
    AreaForImprovement,
    AuditEvent,
    InspectionReport,
    OutboxMessage,
    Person,
    Recommendation,
    Response,
)
from workflow.storage.people import active_people, active_with_role, delegations_on, with_role
from workflow.storage.rows import built

log = logging.getLogger("s55.mail")
MAILER = "s55-mailer"  # the actor of delivery audit events

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
    "mark_not_required": (Role.ADMIN,),
}


class MailError(S55Error):
    """Root of the workflow's mail errors."""


class RecipientsMissingError(MailError):
    """Nobody holds a role a message must go to; the trigger is refused."""

    def __init__(self, action: str, role: str) -> None:
        self.action, self.role = action, role
        super().__init__(f"cannot {action}: nobody holds the role {role} to receive its mail; "
                         f"add a person with that role first")


class MailRefusedError(MailError):
    """A message could not be built (header injection, template error)."""

    def __init__(self, action: str, problem: NotificationError) -> None:
        self.action, self.problem = action, problem
        super().__init__(f"cannot {action}: {problem}")


class OutboxStateError(MailError):
    def __init__(self, outbox_id: int, status: str, action: str) -> None:
        self.outbox_id, self.status = outbox_id, status
        super().__init__(f"cannot {action} outbox message {outbox_id} while it is {status}")


class UnusableAddressError(MailError):
    """A retry of a message whose recipient mail cannot carry: it would only die again."""

    def __init__(self, outbox_id: int, recipient: str, why: str) -> None:
        self.outbox_id, self.recipient = outbox_id, recipient
        super().__init__(f"outbox message {outbox_id} cannot be retried: its address "
                         f"{recipient!r} is unusable ({why}); correct the person's address "
                         "with `s55 people edit EMAIL --email NEW --reason ...` so that their "
                         "next mail reaches them, and tell them of this one yourself")


class DispatcherLockedError(MailError):
    def __init__(self, lock: Path, holder: str) -> None:
        self.lock, self.holder = lock, holder
        super().__init__(f"another mail dispatcher ({holder}) holds {lock}; only one may run "
                         "against a SQLite database")


class MailTestError(MailError):
    def __init__(self, address: str, problem: str) -> None:
        self.address, self.problem = address, problem
        super().__init__(f"test mail to {address} failed: {problem}")


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


class LinkIssuer(Protocol):
    """Gives the reader of a message that asks them to act their own link (issue 13): the
    core's ``workflow.links.Issuer``. Called while messages are rendered (before the event
    causing them exists); ``write`` stores the links issued, bound to that event, in the
    same transaction as the mail."""

    def url_for(self, recipient: Recipient) -> str | None:
        """The recipient's personal link, or None when the message asks nothing of them."""

    def write(self, session: Session, event_id: int) -> None:
        """Store the links handed out, as issued by event ``event_id``."""


# -- recipients and queueing -------------------------------------------------------------

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
            raw = (p.email or "").strip()
            try:
                check_address(raw, "To")
            except NotificationError as exc:
                shown = raw[:254] or f"(no address: {p.name})"[:254]
                found.setdefault(shown.lower(), Recipient(
                    p.name, shown, tuple(p.roles or ()),
                    undeliverable=f"{p.name} has no valid email address: {exc}", person_id=p.id))
                continue
            email = raw.lower()
            found.setdefault(email, Recipient(p.name, email, tuple(p.roles or ()),
                                              person_id=p.id))
    return list(found.values())


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



@dataclass
class Prepared:
    """Messages rendered and checked, not yet written: they wait for the event causing them.

    Rendering is most of the cost of queueing mail, so a transition prepares its mail
    before it appends to the audit chain, and holds the chain lock only for the writes.
    """

    kind: str
    response_id: int | None
    actor: str
    rows: list[OutboxMessage]
    #: The rows' column values, dumped now rather than under the lock.
    values: list[dict[str, Any]]
    #: For the admin alert about a message recorded dead at once (an undeliverable
    #: recipient); None: no alert.
    settings: Settings | None = None
    #: The personal links the messages carry, written with them (None: no links).
    links: LinkIssuer | None = None


#: Stands in for the event id while a message is checked before the event exists; a
#: Message-ID has the same shape whatever the key, so the check holds for the real one.
_UNBOUND_KEY = "0"


def prepare_messages(*, settings: Settings, now: datetime, kind: str,
                     context: Mapping[str, Any], recipients: Sequence[Recipient],
                     response_id: int | None, actor: str, reply_to: Recipient | None,
                     action: str | None = None, links: LinkIssuer | None = None) -> Prepared:
    """Render ``kind`` for each recipient and check every header; nothing is written.

    Every message carries ``reply_to`` (if any) as its Reply-To, stored with the row.
    Besides ``context`` every template gets ``today`` (the London date of ``now``, for
    wording that follows the dates), the reader's ``recipient_name`` and
    ``recipient_roles``, and ``contact`` (``reply_to``'s name and email, or None: who a
    reply reaches). ``links`` gives a reader asked to act their own link, ``action_url``
    (absent for everyone else).
    Raises ``MailRefusedError`` naming ``action`` (default: the kind) for a template or
    an address that cannot make a valid message.
    """
    rows: list[OutboxMessage] = []
    values: list[dict[str, Any]] = []
    contact = None if reply_to is None else {"name": reply_to.name, "email": reply_to.email}
    base = {**context, "today": now.astimezone(LONDON).date(), "contact": contact}
    try:
        sender = check_address(settings.mail_from, "From")
        for rcpt in recipients:
            url = links.url_for(rcpt) if links and rcpt.undeliverable is None else None
            rendered = render(kind, {**base, "recipient_name": rcpt.name,
                                     "recipient_roles": list(rcpt.roles),
                                     **({"action_url": url} if url else {})},
                              override_dir=settings.template_dir)
            # Every column but the id (the INSERT's parameters), and the row they make.
            columns = {
                "event_id": 0, "response_id": response_id, "dedupe_key": _UNBOUND_KEY,
                "message_id": message_id_for(f"{_UNBOUND_KEY}:{rcpt.email}", sender),
                "kind": kind, "sender": sender, "recipient": rcpt.email,
                "reply_to": None if reply_to is None else reply_to.email,
                "queued_event_id": None, "subject": rendered.subject,
                "body_text": rendered.text, "body_html": rendered.html,
                "status": "pending" if rcpt.undeliverable is None else "dead", "attempts": 0,
                "next_attempt_at": now, "claimed_by": None, "claimed_until": None,
                "last_error": rcpt.undeliverable, "created_at": now, "sent_at": None}
            row = built(OutboxMessage, columns)
            if rcpt.undeliverable is None:
                # every header checked now, not at 3 a.m. in the dispatcher
                message_bytes(mail_of(row))
            rows.append(row)
            values.append(columns)
    except NotificationError as exc:
        raise MailRefusedError(action or kind, exc) from exc
    return Prepared(kind, response_id, actor, rows, values, settings, links)


_OUTBOX: Any = OutboxMessage.__table__  # type: ignore[attr-defined]
_POINT = (update(_OUTBOX).where(_OUTBOX.c.id == bindparam("oid"))
          .values(queued_event_id=bindparam("queued")))


def dedupe_key(event_id: int, recipient: str) -> str:
    """An outbox row's dedupe key: the event that caused it and its recipient."""
    return f"{event_id}:{recipient}"


def write_prepared(session: Session, prepared: Prepared, event: AuditEvent) -> list[OutboxMessage]:
    """Add the prepared messages to the outbox as caused by ``event``; the ones added.

    The dedupe key is ``<event id>:<recipient>``, so writing twice for one event adds
    nothing. A MAIL_QUEUED audit event records the queued ids.
    """
    for row, values in zip(prepared.rows, prepared.values, strict=True):
        key = dedupe_key(event.id or 0, row.recipient)
        bound = {"event_id": event.id or 0, "dedupe_key": key,
                 "message_id": message_id_for(key, row.sender)}
        values.update(bound)
        for name, value in bound.items():
            setattr(row, name, value)
    added = _insert_new(session, prepared.rows, prepared.values)
    if prepared.links is not None and added:
        prepared.links.write(session, event.id or 0)
    rows = [r for r in added if r.status != "dead"]
    if rows:
        queued = audit.append(
            session, at=rows[0].created_at, actor=prepared.actor, action=Action.MAIL_QUEUED,
            response_id=prepared.response_id, by=audit.Provenance.of(event),
            payload={"kind": prepared.kind, "cause_event": event.id,
                     "outbox": [{"id": r.id, "to": r.recipient, "digest": mail_digest(mail_of(r))}
                                for r in rows]})
        # The row points at the event holding its digest (a row changed behind s55's back
        # no longer matches it, and the dispatcher refuses to send it).
        session.connection().execute(_POINT, [{"oid": r.id, "queued": queued.id} for r in rows])
    for row in added:
        if row.status == "dead":
            _record_dead(session, prepared, event, row)
    return added


def _record_dead(session: Session, prepared: Prepared, event: AuditEvent,
                 row: OutboxMessage) -> None:
    """A message that could never be sent (no address it can carry): a MAIL_DEAD event
    naming the outbox row and why, and the admins' ``mail_dead`` alert, as the dispatcher
    does for a message that failed delivery. No alert about an alert (that would loop),
    and none when nobody can receive it: the event and the dead row stand."""
    dead = audit.append(session, at=row.created_at, actor=MAILER, action=Action.MAIL_DEAD,
                        response_id=prepared.response_id, by=audit.Provenance.of(event),
                        payload={"outbox": row.id, "to": row.recipient, "kind": row.kind,
                                 "attempts": 0, "error": row.last_error,
                                 "cause_event": event.id})
    if row.kind == "mail_dead" or prepared.settings is None:
        return
    try:  # reads only: a refusal here has written nothing
        alert = prepare_alert(session, settings=prepared.settings, now=row.created_at,
                              kind="mail_dead", roles=[Role.ADMIN], actor=MAILER,
                              response_id=prepared.response_id, context={
                                  "outbox_id": row.id,
                                  # the bad address may hold a line break: shown, not obeyed
                                  "dead_recipient": "".join(
                                      c if c.isprintable() else "?" for c in row.recipient),
                                  "dead_subject": row.subject, "attempts": 0,
                                  "error": row.last_error})
    except MailError as exc:
        log.error("no admin alert for dead outbox %s: %s", row.id, exc)
        return
    write_prepared(session, alert, dead)



def queue_messages(session: Session, *, settings: Settings, now: datetime, kind: str,
                   context: Mapping[str, Any], recipients: Sequence[Recipient],
                   event: AuditEvent, response_id: int | None, actor: str,
                   action: str | None = None) -> list[OutboxMessage]:
    """Render ``kind`` for each recipient and add one outbox row each, in this transaction.

    ``prepare_messages`` then ``write_prepared``: everything is rendered and checked
    before the first row is written.
    """
    prepared = prepare_messages(settings=settings, now=now, kind=kind, context=context,
                                recipients=recipients, response_id=response_id, actor=actor,
                                reply_to=reply_contact(session, settings), action=action)
    return write_prepared(session, prepared, event)


#: The outbox INSERT, built once per dialect (keyed by "is SQLite").
_INSERT_NEW = {sqlite: (insert_(_OUTBOX).on_conflict_do_nothing(index_elements=["dedupe_key"])
                        .returning(_OUTBOX.c.id, _OUTBOX.c.dedupe_key))
               for sqlite, insert_ in ((True, sqlite_insert), (False, pg_insert))}


def _insert_new(session: Session, rows: list[OutboxMessage],
                values: list[dict[str, Any]]) -> list[OutboxMessage]:
    """Insert the rows (``values``: their columns) whose dedupe key is new, in one
    statement; the inserted ones, with ids.

    ``INSERT ... ON CONFLICT (dedupe_key) DO NOTHING`` (both dialects have it) makes a
    repeat for the same event a no-op without a read first.
    """
    if not rows:
        return []
    conn = session.connection()
    # Core on the session's connection: the ORM's bulk-insert layer would double the cost.
    stmt = _INSERT_NEW[conn.dialect.name == "sqlite"]
    ids = dict((key, id_) for id_, key in conn.execute(stmt, values))
    for row in rows:
        row.id = ids.get(row.dedupe_key)
    return [r for r in rows if r.id is not None]


def prepare_alert(session: Session, *, settings: Settings, now: datetime, kind: str,
                  context: Mapping[str, Any], roles: Iterable[str], actor: str,
                  response_id: int | None = None, links: LinkIssuer | None = None) -> Prepared:
    """``kind`` for everyone holding ``roles`` (escalations, admin alerts), rendered and
    checked; ``write_prepared`` adds it once the event causing it is appended."""
    recipients = resolve(session, roles, f"send {kind}", now.astimezone(LONDON).date())
    base = {"opcc_name": settings.opcc_name, "force": settings.force,
            "response_id": response_id}
    return prepare_messages(settings=settings, now=now, kind=kind, context={**base, **context},
                            recipients=recipients, response_id=response_id, actor=actor,
                            reply_to=reply_contact(session, settings), links=links)


def queue_alert(session: Session, *, settings: Settings, now: datetime, kind: str,
                context: Mapping[str, Any], roles: Iterable[str], event: AuditEvent,
                actor: str, response_id: int | None = None) -> list[OutboxMessage]:
    """Queue ``kind`` to everyone holding ``roles`` (escalations, admin alerts)."""
    prepared = prepare_alert(session, settings=settings, now=now, kind=kind, context=context,
                             roles=roles, actor=actor, response_id=response_id)
    return write_prepared(session, prepared, event)


def _as_dict(row: Any, names: Iterable[str]) -> dict[str, Any]:
    return {n: getattr(row, n) for n in names}


_AFI: Any = AreaForImprovement.__table__  # type: ignore[attr-defined]
_AREAS = (select(_AFI.c.number, _AFI.c.text, _AFI.c.force_response)
          .where(_AFI.c.response_id == bindparam("rid")).order_by(_AFI.c.number))


def transition_context(session: Session, settings: Settings, now: datetime, response: Response,
                       report: InspectionReport, actor: str, reason: str | None, *,
                       recommendations: Sequence[Recommendation] | None = None,
                       actor_name: str | None = None,
                       signature: str | None = None) -> dict[str, Any]:
    """Everything any transition template may use (plain values, no ORM objects).

    The caller passes what it has already loaded (the service has the recommendations
    and the acting person); anything missing is read here.
    """
    recs = recommendations if recommendations is not None else session.scalars(
        select(Recommendation).where(col(Recommendation.response_id) == response.id)
        .order_by(col(Recommendation.number))).all()
    areas = session.connection().execute(_AREAS, {"rid": response.id}).all()
    if actor_name is None:
        actor_person = session.scalars(select(Person).where(col(Person.email) == actor)).first()
        actor_name = actor_person.name if actor_person else actor
    return {
        "opcc_name": settings.opcc_name, "force": response.force or settings.force,
        "response_id": response.id, "report_title": report.title, "report_link": report.link,
        "report_published": report.published_on, "deadline": response.deadline,
        "days_left": (response.deadline - now.astimezone(LONDON).date()).days,
        "force_input_due": response.force_input_due, "signoff_due": response.signoff_due,
        "published_url": response.published_url, "published_on": response.published_on,
        "portal_reference": response.portal_reference, "reason": reason,
        "actor": actor_name, "signature": signature,
        "response": _as_dict(response, ("key_findings", "cc_response", "pcc_response",
                                        "afi_statement")),
        "recommendations": [_as_dict(r, ("number", "text", "due_date", "force_response",
                                         "pcc_note")) for r in recs],
        "areas": [_as_dict(a, ("number", "text", "force_response")) for a in areas],
    }


def prepare_for_transition(session: Session, *, settings: Settings, now: datetime,
                           response: Response, report: InspectionReport, trigger: str,
                           actor_email: str, reason: str | None,
                           recommendations: Sequence[Recommendation] | None = None,
                           actor_name: str | None = None,
                           signature: str | None = None,
                           links: LinkIssuer | None = None) -> list[Prepared]:
    """The mail of one transition, rendered and checked but not written (reads only).

    ``signature``: the sign-off's "Signed off by ... fingerprint ..." line.
    Raises ``RecipientsMissingError``/``MailRefusedError``;
    the caller's rollback then undoes the transition too.
    """
    active = active_people(session)  # read once: the recipients and the Reply-To
    recipients = recipients_for(session, trigger, settings, now.astimezone(LONDON).date(),
                                active=active)
    # No refresh: the service's compare-and-set keeps ``response`` in step with what it
    # wrote (``service.bump``), so the mail shows the new state and values as they are.
    context = transition_context(session, settings, now, response, report, actor_email, reason,
                                 recommendations=recommendations, actor_name=actor_name,
                                 signature=signature)
    # The state the trigger leads to: what the mail asks of its reader follows from it.
    context["state"] = BY_TRIGGER[trigger].dest.value
    action = f"{trigger} response {response.id}"
    reply_to = reply_contact(session, settings, active=active)
    batches = [prepare_messages(settings=settings, now=now, kind=trigger, context=context,
                                recipients=recipients, response_id=response.id,
                                actor=actor_email, reply_to=reply_to, action=action,
                                links=links)]
    if trigger == "publish":  # s55(6): copies to the inspectorate and the Secretary of State
        copies = [Recipient("colleagues at HMICFRS", settings.hmicfrs_email.strip().lower()),
                  Recipient("colleagues at the Home Office",
                            settings.home_office_email.strip().lower())]
        batches.append(prepare_messages(settings=settings, now=now, kind="publish_copy",
                                        context=context, recipients=copies,
                                        response_id=response.id, actor=actor_email,
                                        reply_to=reply_to, action=action))
    return batches


def queue_for_transition(session: Session, *, settings: Settings, now: datetime,
                         response: Response, report: InspectionReport, trigger: str,
                         event: AuditEvent, actor_email: str, reason: str | None,
                         recommendations: Sequence[Recommendation] | None = None,
                         actor_name: str | None = None) -> list[OutboxMessage]:
    """Queue the mail of one transition inside the caller's transaction (see
    ``prepare_for_transition``; the service prepares before it appends the event)."""
    batches = prepare_for_transition(
        session, settings=settings, now=now, response=response, report=report,
        trigger=trigger, actor_email=actor_email, reason=reason,
        recommendations=recommendations, actor_name=actor_name)
    return [row for batch in batches for row in write_prepared(session, batch, event)]

