"""Preparing mail: each message rendered and every header checked before anything is
written (``Prepared``), the reader's personal link asked of a ``LinkIssuer``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from notifications.errors import NotificationError
from notifications.message import check_address, message_bytes, message_id_for
from notifications.render import render
from workflow.core.clock import LONDON
from workflow.core.settings import Settings
from workflow.identity.office import in_force
from workflow.mail.digest import mail_of
from workflow.mail.errors import MailRefusedError
from workflow.mail.recipients import Recipient, reply_contact, resolve
from workflow.storage.models import AuditEvent, OutboxMessage
from workflow.storage.rows import built


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
