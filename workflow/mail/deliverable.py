"""A claimed outbox row as the dispatcher sends it: an ``OutboxItem``, with each personal
link placeholder filled in with its token (``workflow.keys.link_tokens``)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from notifications.dispatcher import OutboxItem
from workflow.keys import audit_key, link_tokens
from workflow.mail.digest import mail_of

log = logging.getLogger("s55.mail")


def _item(row: Any) -> OutboxItem:
    return OutboxItem(id=row.id, kind=row.kind, mail=mail_of(row), attempts=row.attempts,
                      response_id=row.response_id)


def _deliverable(rows: Sequence[Any], ring: audit_key.Keyring | None,
                 key_file: Any) -> tuple[list[OutboxItem], dict[int, str]]:
    """The claimed rows as their readers get them, each link placeholder filled in with its
    token (``workflow.keys.link_tokens``), and the rows whose link cannot be (why). A key
    the cached keyring lacks (rotated since this process read it) is read afresh."""
    needed = {k for r in rows for k in link_tokens.key_ids(f"{r.body_text}\n{r.body_html}")}
    if needed and key_file is not None and (ring is None or not needed <= ring.keys.keys()):
        try:
            ring = audit_key.load(key_file)
        except audit_key.AuditKeyError as exc:
            log.error("cannot fill in personal links: %s", exc)
    items, refused = [], {}
    for r in rows:
        item = _item(r)
        try:
            mail = replace(item.mail, body_text=link_tokens.fill(r.body_text, ring, r.dedupe_key),
                           body_html=r.body_html and link_tokens.fill(r.body_html, ring,
                                                                    r.dedupe_key))
        except link_tokens.LinkKeyError as exc:
            refused[r.id] = f"refused: {exc}"
            items.append(item)
            continue
        items.append(replace(item, mail=mail))
    return items, refused
