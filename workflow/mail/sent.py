"""Whether a message was already sent is the log's to say, not the row's.

An outbox row's ``status`` is a column anyone with database access can set back to
``pending``; the ``mail_sent`` event the dispatcher wrote when it sent the message is in the
signed chain. So the dispatcher asks the log (``already_sent``) about every row it claims,
and refuses (dead, the admins told) one the log says went already; ``s55 audit verify``
names every row whose status disagrees with the log (``workflow.assurance.link_log``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from workflow.audit.words import Action
from workflow.storage.tables import AUDIT_EVENT

_EVENTS: Table = AUDIT_EVENT
#: The outbox id in a ``mail_sent`` payload (canonical JSON: sorted keys, no spaces; a
#: quote inside a string value is escaped, so this only matches the key itself).
_OUTBOX = re.compile(r'(?<!\\)"outbox":(\d+)[,}]')


def outbox_of(payload: str) -> int | None:
    """The outbox row a ``mail_sent`` event's payload names."""
    found = _OUTBOX.search(payload)
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
