"""Composing mail: each message rendered and every header checked before anything is
written (``prepare_messages``, ``prepare_alert``: a ``Prepared`` batch, the reader's
personal link asked of a ``LinkIssuer``), and a transition's mail (what its templates may
use, its batches with the sign-off receipts and the s55(6) copies of ``publish``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from sqlmodel import col

from notifications.errors import NotificationError
from notifications.message import check_address, message_bytes, message_id_for
from notifications.render import render
from states import BY_TRIGGER
from workflow.core.clock import LONDON
from workflow.core.settings import Settings
from workflow.identity.office import in_force
from workflow.identity.rosters import active_people
from workflow.mail.digest import mail_of
from workflow.mail.errors import MailRefusedError
from workflow.mail.recipients import Recipient, recipient_of, recipients_for, reply_contact, resolve
from workflow.storage.models import (
    AuditEvent,
    Delegation,
    InspectionReport,
    OutboxMessage,
    Person,
    Recommendation,
    Response,
)
from workflow.storage.rows import built
from workflow.storage.tables import AREA_FOR_IMPROVEMENT


@dataclass(frozen=True)
class Signed:
    """A sign-off as it was made: who signed, for which PCC under which delegation (a
    deputy; else None), the text as signed, its fingerprint and the signature line."""

    signer: Person
    pcc: Person | None
    delegation: int | None
    text: str
    fingerprint: str
    line: str


def _as_dict(row: Any, names: Iterable[str]) -> dict[str, Any]:
    return {n: getattr(row, n) for n in names}


_AFI: Any = AREA_FOR_IMPROVEMENT
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
    office = in_force(session, settings)
    if actor_name is None:
        actor_person = session.scalars(select(Person).where(col(Person.email) == actor)).first()
        actor_name = actor_person.name if actor_person else actor
    return {
        "opcc_name": office.name, "force": response.force or office.force or "",
        "response_id": response.id, "report_title": report.title, "report_link": report.link,
        "report_published": report.published_on, "deadline": response.deadline,
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
                           links: LinkIssuer | None = None,
                           signed: Signed | None = None) -> list[Prepared]:
    """The mail of one transition, rendered and checked but not written (reads only).

    ``signature``: the sign-off's "Signed off by ... fingerprint ..." line; ``signed``: the
    sign-off itself, whose signer gets a receipt with the text as signed (and the PCC, when
    a deputy signed in their name, a notice at once).
    Raises ``RecipientsMissingError``/``MailRefusedError``;
    the caller's rollback then undoes the transition too.
    """
    active = active_people(session)  # read once: the recipients and the Reply-To
    recipients = recipients_for(session, trigger, settings, now.astimezone(LONDON).date(),
                                active=active)
    # No refresh: the service's compare-and-set keeps ``response`` in step with what it
    # wrote (``workflow.responses.service.bump``), so the mail shows the new state and
    # values as they are.
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
    if signed is not None:
        batches += _sign_off_copies(session, settings, now, context, signed, reply_to, action)
    if trigger == "publish":  # s55(6): copies to the inspectorate and the Secretary of State
        copies = [Recipient("colleagues at HMICFRS", settings.hmicfrs_email.strip().lower()),
                  Recipient("colleagues at the Home Office",
                            settings.home_office_email.strip().lower())]
        batches.append(prepare_messages(settings=settings, now=now, kind="publish_copy",
                                        context=context, recipients=copies,
                                        response_id=response.id, actor=actor_email,
                                        reply_to=reply_to, action=action))
    return batches


def _sign_off_copies(session: Session, settings: Settings, now: datetime,
                     context: dict[str, Any], signed: Signed, reply_to: Recipient | None,
                     action: str) -> list[Prepared]:
    """The signer's receipt and, for a sign-off in the PCC's name, the PCC's notice."""
    delegation = session.get(Delegation, signed.delegation) if signed.delegation else None
    local = now.astimezone(LONDON)
    extra = {**context, "signed_text": signed.text, "fingerprint": signed.fingerprint,
             "signature": signed.line, "signer_name": signed.signer.name,
             "signer_email": signed.signer.email, "signed_on": local.date(),
             "signed_time": f"{local:%H:%M}",
             "pcc_name": signed.pcc.name if signed.pcc else None,
             "delegation": None if delegation is None else {
                 "id": delegation.id, "starts_on": delegation.starts_on,
                 "ends_on": delegation.ends_on, "reason": delegation.reason}}
    common = {"settings": settings, "now": now, "context": extra, "actor": signed.signer.email,
              "response_id": context["response_id"], "reply_to": reply_to, "action": action}
    batches = [prepare_messages(kind="sign_off_receipt", recipients=[recipient_of(signed.signer)],
                                **common)]
    if signed.pcc is not None:
        batches.append(prepare_messages(kind="sign_off_notice",
                                        recipients=[recipient_of(signed.pcc)], **common))
    return batches


class LinkIssuer(Protocol):
    """Gives the reader of a message that asks them to act their own link: implemented by
    ``workflow.links.action_links.Issuer``. Called while messages are rendered (before the
    event causing them exists); ``write`` stores the links issued, bound to that event, in
    the same transaction as the mail."""

    def url_for(self, recipient: Recipient) -> str | None:
        """The recipient's personal link, or None when the message asks nothing of them."""

    def write(self, session: Session, event: AuditEvent,
              outbox: Mapping[str, int]) -> None:
        """Store the links handed out whose mail was added (``outbox``: the added rows'
        ids by dedupe key), as caused by ``event``, with the signed record of them."""


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


def prepare_alert(session: Session, *, settings: Settings, now: datetime, kind: str,
                  context: Mapping[str, Any], roles: Iterable[str], actor: str,
                  response_id: int | None = None, links: LinkIssuer | None = None) -> Prepared:
    """``kind`` for everyone holding ``roles`` (escalations, admin alerts), rendered and
    checked; ``write_prepared`` adds it once the event causing it is appended."""
    recipients = resolve(session, roles, f"send {kind}", now.astimezone(LONDON).date())
    office = in_force(session, settings)
    base = {"opcc_name": office.name, "force": office.force or "", "response_id": response_id}
    return prepare_messages(settings=settings, now=now, kind=kind, context={**base, **context},
                            recipients=recipients, response_id=response_id, actor=actor,
                            reply_to=reply_contact(session, settings), links=links)
