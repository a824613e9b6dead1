"""The signature binds the text: the fingerprint of a response as it will be published.

The canonical text is the Markdown render with s55's own template (an organisation's
layout is presentation, not what was signed), up to the office-use box (which records
what happened *after* sign-off: forwarding, publication, the portal). ``sign_off``
stores its SHA-256 and the version signed in its audit event; ``publish`` refuses a
text that no longer has that fingerprint.
"""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from workflow.documents.render import load_view, render_view
from workflow.documents.signoff import last_sign_off, line, signed
from workflow.errors import S55Error
from workflow.responses import Loaded
from workflow.storage.models import AuditEvent

__all__ = ["TextChangedError", "canonical_text", "check_unchanged", "fingerprint", "line",
           "signed"]

OFFICE_USE = "### For Office Use Only:"


class TextChangedError(S55Error):
    """The text about to be published is not the text the PCC signed off."""

    def __init__(self, response_id: int, signed: str, now: str, version: int) -> None:
        self.response_id, self.signed, self.now = response_id, signed, now
        super().__init__(f"cannot publish response {response_id}: its text differs from what "
                         f"was signed off at version {version} (fingerprint {signed[:16]}..., "
                         f"now {now[:16]}...); it must be signed off again")


def canonical_text(session: Session, response_id: int) -> str:
    """The response as it will be published, without the office-use box."""
    text = render_view(load_view(session, response_id), "md")
    return text.split(OFFICE_USE, 1)[0].rstrip() + "\n"


def fingerprint(session: Session, loaded: Loaded) -> str:
    """SHA-256 (hex) of ``canonical_text`` for the loaded response."""
    return hashlib.sha256(canonical_text(session, loaded.response.id or 0)
                          .encode("utf-8")).hexdigest()


def check_unchanged(session: Session, loaded: Loaded) -> None:
    """Refuse (``TextChangedError``) if the text differs from the last one signed off.

    A response imported already signed off has no fingerprint to compare: allowed.
    """
    rid = loaded.response.id or 0
    event = last_sign_off(session.scalars(select(AuditEvent).where(
        col(AuditEvent.response_id) == rid, col(AuditEvent.trigger) == "sign_off")
        .order_by(col(AuditEvent.id))).all())
    if event is None:
        return
    payload = json.loads(event.payload)
    signed = payload.get("fingerprint")
    if signed is None:
        return
    now = fingerprint(session, loaded)
    if now != signed:
        raise TextChangedError(rid, signed, now, payload.get("signed_version", 0))
