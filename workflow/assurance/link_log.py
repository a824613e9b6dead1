"""What went out, as the log says: personal links and sent mail, against their rows.

``Sent`` is fed the events in log order and keeps two things: each link's record from the
signed ``link_issued`` event that issued it (``workflow.links.issued``), and which outbox
rows a ``mail_sent`` event says were sent. ``differences`` then names:

- every ``action_link`` row without its issuing event, or disagreeing with it (each field,
  with both values), and, with the audit key, one whose stored hash is not the hash of the
  token the key derives from its record. A link issued before links were recorded (no
  issuing event) is named once its id is above a recorded link's (it was written after
  recording began), or, with the key, when its token does not derive from the key through
  a mail its cause event queued (``issued.legacy_mail``); without the key such links are
  counted, not checked;
- every outbox row the log sent whose status says otherwise (set back to ``pending`` by
  SQL, to have it mailed again), and every row marked ``sent`` that no ``mail_sent`` event
  names (a message suppressed by SQL) once its dispatcher has finished with it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.assurance.difference import Difference
from workflow.keys import link_tokens
from workflow.keys.audit_key import Keyring
from workflow.links import issued
from workflow.mail.digest import outbox_of
from workflow.storage.tables import ACTION_LINK, OUTBOX

_LINKS: Any = ACTION_LINK
_OUTBOX: Any = OUTBOX


@dataclass
class Sent:
    """Links issued (link id -> (event id, record)) and mail sent (outbox id -> event id)."""

    links: dict[int, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    mail: dict[int, int] = field(default_factory=dict)
    #: Links issued before links were recorded, not checked (no audit key): how many.
    unchecked: int = 0

    def row(self, row: Any) -> None:
        """One raw ``trail._VERIFY_SQL`` row (id 0, action 6, payload 11) of ``ACTIONS``."""
        if row[6] == "mail_sent":
            oid = outbox_of(row[11] or "")
            if oid is not None:
                self.mail.setdefault(oid, row[0])
            return
        for record in json.loads(row[11] or "{}").get("links", []):
            self.links[int(record["link"])] = (row[0], record)


ACTIONS = frozenset({"link_issued", "mail_sent"})


def differences(session: Session, done: Sent, ring: Keyring | None) -> list[Difference]:
    """Every link and outbox row against ``done`` (the whole log fed to it)."""
    return [*_links(session, done, ring), *_mail(session, done)]


def _links(session: Session, done: Sent, ring: Keyring | None) -> Iterator[Difference]:
    rows = {r.id: r for r in session.execute(select(_LINKS).order_by(_LINKS.c.id))}
    first_recorded = min(done.links, default=None)
    for lid in sorted(set(rows) | set(done.links)):
        row, known = rows.get(lid), done.links.get(lid)
        subject = f"link {lid}"
        if row is None:
            assert known is not None
            yield Difference.of(subject, "row", None, f"issued by event #{known[0]}")
        elif row.issue_event_id is None and known is None:
            yield from _unrecorded(session, done, row, ring, first_recorded)
        elif known is None or known[0] != row.issue_event_id:
            yield Difference.of(subject, "issuing event", row.issue_event_id and
                                f"#{row.issue_event_id}",
                                f"event #{known[0]} issued this link" if known else
                                "no link_issued event records this link")
        else:
            yield from _against(row, known[1], ring)


def _unrecorded(session: Session, done: Sent, row: Any, ring: Keyring | None,
                first_recorded: int | None) -> Iterator[Difference]:
    """A link row with no issuing event: one from before links were recorded, or forged."""
    subject = f"link {row.id}"
    if first_recorded is not None and row.id > first_recorded:
        yield Difference.of(subject, "issuing event", None, "no signed event issued this link "
                      f"(links from #{first_recorded} on are recorded as issued)")
    elif ring is None:
        done.unchecked += 1
    elif issued.legacy_mail(session, row, ring) is None:
        yield Difference.of(subject, "issuing event", None, "no signed event issued this link, and "
                      "its token derives from no mail its cause event queued")


def _against(row: Any, record: dict[str, Any], ring: Keyring | None) -> Iterator[Difference]:
    subject = f"link {row.id}"
    for column, have, want in issued.disagreements(row, record):
        yield Difference.of(subject, column, have, want)
    if ring is not None:
        token = issued.token_of(ring, record)
        derived = link_tokens.token_hash(token) if token is not None else None
        if derived != row.token_hash:
            yield Difference.of(subject, "token_hash", row.token_hash[:16] + "...",
                          (derived[:16] + "...") if derived else
                          f"its key {record.get('key')} is not in the audit key file")


def _mail(session: Session, done: Sent) -> Iterator[Difference]:
    c = _OUTBOX.c
    for row in session.execute(select(c.id, c.status, c.claimed_by).order_by(c.id)):
        sent_by = done.mail.get(row.id)
        if sent_by is not None and row.status != "sent":
            yield Difference.of(f"outbox {row.id}", "status", row.status,
                                f"event #{sent_by} sent it: it must never be sent again")
        elif sent_by is None and row.status == "sent" and row.claimed_by is None:
            yield Difference.of(f"outbox {row.id}", "status", "sent", "no event sent it")
