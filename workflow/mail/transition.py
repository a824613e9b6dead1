"""A transition's mail: what its templates may use, and its batches prepared (with the
s55(6) copies of ``publish``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from sqlmodel import col

from states import BY_TRIGGER
from workflow.core.clock import LONDON
from workflow.core.settings import Settings
from workflow.identity.office import in_force
from workflow.identity.rosters import active_people
from workflow.mail.prepare import LinkIssuer, Prepared, prepare_messages
from workflow.mail.recipients import Recipient, recipient_of, recipients_for, reply_contact
from workflow.storage.models import (
    Delegation,
    InspectionReport,
    Person,
    Recommendation,
    Response,
)
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
