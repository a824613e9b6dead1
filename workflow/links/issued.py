"""The signed record of every link issued, and the proof a presented link is one of them.

A link row alone proves nothing: anyone who can write the database can INSERT the SHA-256
of a token of their own, or UPDATE a row of theirs into someone else's. So each link is
recorded, as it is issued, in a ``link_issued`` audit event (signed with the audit key):
whose it is (person id and the address it was mailed to), which response, kind, origin,
state, version, when issued and until when, the outbox row carrying it, and what its
token derives from (the nonce and the key id; never the token). The row points at that
event (``ActionLink.issue_event_id``).

On every use (``genuine``) the event is checked (its hash recomputed from its fields, its
HMAC under the audit key), the row must agree with the event's record of it field by
field, and the token presented must be the one the key derives from the record
(``workflow.keys.link_tokens.token``), compared in constant time. Anything else is
treated as a link s55 never sent.

Links issued before the record existed (``issue_event_id`` NULL) are accepted only while
their token still derives from the audit key through a placeholder in a mail the link's
own cause event queued to the link's person, for the link's response, issued at that
event's moment and for no longer than ``S55_LINK_DAYS`` can be; a row inserted by hand
has no such mail. ``workflow.assurance.link_log`` applies the same rules to every row for
``s55 audit verify``.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from workflow.audit import trail
from workflow.audit.words import Action
from workflow.keys import link_tokens
from workflow.keys.audit_key import Keyring
from workflow.mail.outbox import dedupe_key
from workflow.storage.models import ActionLink, AuditEvent, OutboxMessage, Person
from workflow.storage.tables import ACTION_LINK, OUTBOX

#: The longest a link can be issued for (``S55_LINK_DAYS``'s upper bound).
MAX_DAYS = 56
#: Each field of a link row and the name its record has in the ``link_issued`` event.
FIELDS = (("person_id", "person_id"), ("response_id", "response"), ("kind", "kind"),
          ("origin", "origin"), ("state", "state"), ("version", "version"),
          ("event_id", "cause_event"), ("issued_at", "issued_at"),
          ("expires_at", "expires_at"), ("outbox_id", "outbox"), ("key_id", "key"),
          ("nonce", "nonce"))
_TABLE: Any = ACTION_LINK
_OUTBOX: Any = OUTBOX


def iso(at: datetime) -> str:
    """A moment as the record holds it (UTC, microseconds)."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def _value(name: str, value: Any) -> Any:
    return iso(value) if name in ("issued_at", "expires_at") and value is not None else value


def entry(row: Mapping[str, Any], link_id: int, to: str) -> dict[str, Any]:
    """The record of one link (a row's column values) in its ``link_issued`` event."""
    found = {record: _value(column, row.get(column)) for column, record in FIELDS}
    return {"link": link_id, "to": to, **found}


def disagreements(link: Any, record: Mapping[str, Any]) -> Iterator[tuple[str, Any, Any]]:
    """(column, the row's value, the record's value) for each field that differs."""
    for column, name in FIELDS:
        have = _value(column, getattr(link, column))
        if have != record.get(name):
            yield column, have, record.get(name)


def record(session: Session, cause: AuditEvent, response_id: int | None, now: datetime,
           rows: Sequence[dict[str, Any]], recipients: Sequence[str]) -> None:
    """Insert the link ``rows`` (column values; ``recipients``: the address each one is
    mailed to) and the ``link_issued`` event recording them, in the caller's transaction,
    and point each row at that event."""
    inserted = session.connection().execute(
        _TABLE.insert().returning(_TABLE.c.id, sort_by_parameter_order=True), list(rows))
    ids = [r[0] for r in inserted]
    entries = [entry(row, link_id, to) for row, link_id, to in zip(rows, ids, recipients,
                                                                     strict=True)]
    event = trail.append(session, at=now, actor=cause.actor, action=Action.LINK_ISSUED,
                         response_id=response_id, by=trail.Provenance.of(cause),
                         payload={"cause_event": cause.id, "links": entries})
    session.connection().execute(update(_TABLE).where(_TABLE.c.id.in_(ids))
                                 .values(issue_event_id=event.id))


def record_of(event: Any, link_id: int | None) -> dict[str, Any] | None:
    """The record of link ``link_id`` in ``event`` (a ``link_issued`` event), or None."""
    if event is None or event.action != Action.LINK_ISSUED.value:
        return None
    links = json.loads(event.payload).get("links", [])
    return next((e for e in links if e.get("link") == link_id), None)


def token_of(ring: Keyring, record: Mapping[str, Any]) -> str | None:
    """The token the audit key derives from a link's record (None: its key is gone)."""
    key = ring.keys.get(str(record.get("key")))
    if key is None or not record.get("nonce") or record.get("cause_event") is None:
        return None
    return link_tokens.token(key, str(record["nonce"]), dedupe_key(int(record["cause_event"]),
                                                                     str(record.get("to"))))


def genuine(session: Session, link: ActionLink, token: str, ring: Keyring | None) -> bool:
    """Whether ``link`` (found by the hash of ``token``) is one s55 issued, unaltered, and
    ``token`` is its own: see the module docstring. No key: no link can be proved."""
    if ring is None:
        return False
    if link.issue_event_id is None:
        return legacy_derives(session, link, token, ring)
    event = session.get(AuditEvent, link.issue_event_id)
    if event is None or trail.authentic(event, ring) is not None:
        return False
    found = record_of(event, link.id)
    if found is None or next(disagreements(link, found), None) is not None:
        return False
    expected = token_of(ring, found)
    return expected is not None and hmac.compare_digest(expected, token)


def legacy_mail(session: Session, link: Any, ring: Keyring,
                token: str | None = None) -> OutboxMessage | None:
    """The mail a link issued without a record was sent in: an outbox row its cause event
    queued to the link's person (their address now), for its response, holding a
    placeholder from which the key derives ``token`` (None: the row's own hash). None when
    there is none, or the link claims more than its cause event allows."""
    cause = session.get(AuditEvent, link.event_id) if link.event_id is not None else None
    person = session.get(Person, link.person_id)
    if (cause is None or person is None or trail.authentic(cause, ring) is not None
            or link.issued_at != cause.at
            or link.expires_at - link.issued_at > timedelta(days=MAX_DAYS)):
        return None
    mails = session.scalars(select(OutboxMessage).where(
        _OUTBOX.c.event_id == cause.id, _OUTBOX.c.recipient == person.email)).all()
    for mail in mails:
        if mail.response_id != link.response_id or \
                mail.dedupe_key != dedupe_key(cause.id or 0, mail.recipient):
            continue
        for place in link_tokens.PLACEHOLDER.finditer(f"{mail.body_text}\n{mail.body_html}"):
            try:
                derived = link_tokens.token_for(ring, place.group(0), mail.dedupe_key)
            except link_tokens.LinkKeyError:
                continue
            if _matches(derived, token, link.token_hash):
                return mail
    return None


def _matches(derived: str, token: str | None, token_hash: str) -> bool:
    if token is not None:
        return hmac.compare_digest(derived, token)
    return hmac.compare_digest(link_tokens.token_hash(derived), token_hash)


def legacy_derives(session: Session, link: ActionLink, token: str, ring: Keyring) -> bool:
    """A link issued before links were recorded: ``legacy_mail`` finds its mail."""
    return legacy_mail(session, link, ring, token) is not None
