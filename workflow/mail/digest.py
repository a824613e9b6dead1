"""What the signed log says about an outbox row, whatever its columns say.

What a queued message says is bound into the audit chain: its digest is recorded in the
MAIL_QUEUED event that queued it, and the dispatcher sends only a row that still matches
(``tampered``; ``altered`` for ``s55 audit verify``).

Whether a message was already sent is the log's to say, not the row's. An outbox row's
``status`` is a column anyone with database access can set back to ``pending``; the
``mail_sent`` event the dispatcher wrote when it sent the message is in the signed chain. So
the dispatcher asks the log (``already_sent``) about every row it claims, and refuses (dead,
the admins told) one the log says went already; ``s55 audit verify`` names every row whose
status disagrees with the log (``workflow.assurance.link_log``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from notifications.message import Mail
from workflow.audit.words import Action
from workflow.storage.db import KEYRING_KEY
from workflow.storage.models import OutboxMessage
from workflow.storage.tables import AUDIT_EVENT, OUTBOX

_EVENTS: Table = AUDIT_EVENT

def mail_of(row: OutboxMessage | Any) -> Mail:
    """The message an outbox row holds (checked at queueing, shown and sent later); ``row``
    is the model or a result row with its columns."""
    return Mail(sender=row.sender, recipient=row.recipient, subject=row.subject,
                body_text=row.body_text, body_html=row.body_html, message_id=row.message_id,
                date=row.created_at, reply_to=row.reply_to)

def mail_digest(mail: Mail) -> str:
    """SHA-256 over what a message says and to whom: sender, recipient, Reply-To, subject,
    both bodies and the Message-ID."""
    parts = (mail.sender, mail.recipient, mail.reply_to or "", mail.subject, mail.body_text,
             mail.body_html or "", mail.message_id)
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()

def _unproven(ring: Any, event: Any) -> bool:
    """Whether the audit key should have signed ``event`` and did not. An event from before
    the key existed (``Keyring.since``: mail queued, say, before ``s55 init`` made the key)
    carries no signature legitimately: the signed events after it cover its hash, and the
    row's digest must still match it."""
    return ring is not None and event.id >= ring.since and \
        ring.check(event.key_id, event.hash, event.mac) is not None


def tampered(s: Session, rows: Sequence[Any]) -> dict[int, str]:
    """The claimed rows that no longer match the digest their MAIL_QUEUED event recorded
    (or whose event the audit key should have signed and did not), with why."""
    queued = {r.queued_event_id for r in rows if r.queued_event_id is not None}
    if not queued:
        return {}
    ring = s.info.get(KEYRING_KEY)
    events = {e.id: e for e in s.execute(select(
        _EVENTS.c.id, _EVENTS.c.hash, _EVENTS.c.payload, _EVENTS.c.key_id, _EVENTS.c.mac)
        .where(_EVENTS.c.id.in_(queued), _EVENTS.c.action == Action.MAIL_QUEUED.value))}
    found: dict[int, str] = {}
    for r in rows:
        if r.queued_event_id is None:
            continue  # queued before digests were recorded
        event = events.get(r.queued_event_id)
        recorded = {o["id"]: o.get("digest") for o in json.loads(event.payload)["outbox"]} \
            if event is not None else {}
        if event is None or r.id not in recorded:
            found[r.id] = (f"refused: event #{r.queued_event_id} did not queue this message "
                           "(changed behind s55's back)")
        elif recorded[r.id] != mail_digest(mail_of(r)):
            found[r.id] = (f"refused: recipient, subject or body differ from what event "
                           f"#{event.id} queued (changed behind s55's back)")
        elif _unproven(ring, event):
            found[r.id] = (f"refused: event #{event.id} that queued it is not signed with the "
                           "audit key (forged behind s55's back)")
    return found


def altered(s: Session, batch: int = 1000) -> dict[int, tuple[int | None, str]]:
    """Every outbox row, sent or not, that no longer matches what its MAIL_QUEUED event
    recorded: id -> (response id, why). For ``s55 audit verify``."""
    table: Table = OUTBOX
    c = table.c
    columns = (c.id, c.sender, c.recipient, c.reply_to, c.subject, c.body_text, c.body_html,
               c.message_id, c.created_at, c.queued_event_id, c.response_id)
    found: dict[int, tuple[int | None, str]] = {}
    last = 0
    while True:
        rows = list(s.execute(select(*columns).where(c.id > last, c.queued_event_id.is_not(None))
                              .order_by(c.id).limit(batch)))
        if not rows:
            return found
        for rid, why in tampered(s, rows).items():
            found[rid] = (next(r.response_id for r in rows if r.id == rid), why)
        last = rows[-1].id


#: The outbox id in a ``mail_sent`` payload (canonical JSON: sorted keys, no spaces; a
#: quote inside a string value is escaped, so this only matches the key itself).
_OUTBOX_ID = re.compile(r'(?<!\\)"outbox":(\d+)[,}]')


def outbox_of(payload: str) -> int | None:
    """The outbox row a ``mail_sent`` event's payload names."""
    found = _OUTBOX_ID.search(payload)
    return int(found.group(1)) if found else None


def sent_by(s: Session, rows: Sequence[Any]) -> dict[int, int]:
    """The rows (each with ``id`` and ``event_id``) a ``mail_sent`` event already names,
    with that event's id. One read of the ``mail_sent`` events since the oldest row's cause
    event (``ix_audit_event_action_id``): a message is never sent before the event that
    queued it."""
    if not rows:
        return {}
    wanted = {r.id for r in rows}
    since = min(r.event_id for r in rows)
    found: dict[int, int] = {}
    for event_id, payload in s.execute(select(_EVENTS.c.id, _EVENTS.c.payload).where(
            _EVENTS.c.action == Action.MAIL_SENT.value, _EVENTS.c.id > since)):
        oid = outbox_of(payload)
        if oid is not None and oid in wanted:
            found.setdefault(oid, event_id)
    return found


def already_sent(s: Session, rows: Sequence[Any]) -> dict[int, str]:
    """``sent_by`` the log, with why the dispatcher refuses each."""
    return {oid: f"refused: event #{event_id} recorded this message as sent already (its "
                 "status was set back behind s55's back)"
            for oid, event_id in sent_by(s, rows).items()}
