"""The workflow side of mail: who gets what, and queueing it in the caller's transaction.

Mail is queued in the caller's transaction (one ``OutboxMessage`` per recipient, with a
dedupe key ``<event id>:<recipient>`` and a Message-ID derived from it), so a rolled-back
transition leaves no mail. Delivery and the dispatcher lock are in
``workflow.mail.delivery``, the outbox helpers of the CLI in ``workflow.mail.outbox_admin``.

Queueing is preparing, then writing; each step has its module: ``recipients`` (who gets
what, the Reply-To), ``prepare`` (render and check, the personal links' ``LinkIssuer``),
``transition`` (a transition's context and batches), ``write`` (the outbox rows, the
MAIL_QUEUED event, a message dead at once) and ``errors``. This module queues in one call
and keeps the names its callers import from here (``__all__``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from workflow.core.settings import Settings
from workflow.mail.prepare import prepare_alert, prepare_messages
from workflow.mail.recipients import Recipient, reply_contact
from workflow.mail.transition import prepare_for_transition
from workflow.mail.write import write_prepared
from workflow.storage.models import (
    AuditEvent,
    InspectionReport,
    OutboxMessage,
    Recommendation,
    Response,
)

__all__ = ["queue_alert", "queue_for_transition", "queue_messages"]


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


def queue_alert(session: Session, *, settings: Settings, now: datetime, kind: str,
                context: Mapping[str, Any], roles: Iterable[str], event: AuditEvent,
                actor: str, response_id: int | None = None) -> list[OutboxMessage]:
    """Queue ``kind`` to everyone holding ``roles`` (escalations, admin alerts)."""
    prepared = prepare_alert(session, settings=settings, now=now, kind=kind, context=context,
                             roles=roles, actor=actor, response_id=response_id)
    return write_prepared(session, prepared, event)


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
