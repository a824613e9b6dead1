"""The signature binds the text: the fingerprint of a response as it will be published.

The canonical text is the Markdown render with s55's own template (an organisation's
layout is presentation, not what was signed), up to the office-use box (which records
what happened *after* sign-off: forwarding, publication, the portal). ``sign_off``
stores its SHA-256 and the version signed in its audit event; ``publish`` refuses a
text that no longer has that fingerprint.

Every recorded fingerprint names the ``TEXT_VERSION`` it was computed under
(``text_version`` in the event; none: version 1), so a fingerprint recorded before the text
grew is still checked against the text it covered, never reported as a forgery
(``workflow.documents.model`` says what each version holds).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from workflow.core.errors import S55Error
from workflow.documents.model import TEXT_VERSION, ChecklistItem
from workflow.documents.render import ResponseView, environment
from workflow.documents.signoff import last_sign_off
from workflow.storage.loading import Loaded, load
from workflow.storage.models import AuditEvent

__all__ = [
    "TEXT_VERSION", "SignedTextChangedError", "TextChangedError", "as_version",
    "canonical_text", "check_unchanged", "fingerprint", "fingerprint_of", "seal", "sealed_text"
]

#: The office-use boxes all unticked: they follow the part a fingerprint covers.
NO_BOXES = {item.value: False for item in ChecklistItem}

OFFICE_USE = "### For Office Use Only:"


class TextChangedError(S55Error):
    """The text about to be published is not the text the PCC signed off."""

    def __init__(self, response_id: int, signed: str, now: str, version: int) -> None:
        self.response_id, self.signed, self.now = response_id, signed, now
        super().__init__(f"cannot publish response {response_id}: its text differs from what "
                         f"was signed off at version {version} (fingerprint {signed[:16]}..., "
                         f"now {now[:16]}...); it must be signed off again")


class SignedTextChangedError(S55Error):
    """The text about to be signed off is not the text its signer was shown."""

    def __init__(self, response_id: int, shown: str, now: str) -> None:
        self.response_id, self.shown, self.now = response_id, shown, now
        super().__init__(f"response {response_id} was not signed off: its text changed since "
                         f"it was shown (fingerprint shown {shown[:16]}..., now {now[:16]}...); "
                         "read it again, then sign off")


def content_view(session: Session, response_id: int) -> ResponseView:
    """What the canonical text shows of one response, as the rows hold it now."""
    loaded = load(session, response_id)
    return ResponseView(response=loaded.response, report=loaded.report,
                        recommendations=loaded.recommendations,
                        areas_for_improvement=loaded.areas,
                        checklist=NO_BOXES, link_label=loaded.report.link_label,
                        recommendations_intro=loaded.response.recommendations_intro)


@lru_cache(maxsize=1)
def _own_template() -> Any:
    """s55's own Markdown template (an organisation's layout is not what is signed), looked
    up once: a replay fingerprints hundreds of thousands of texts."""
    return environment(None).get_template("response.md.j2")


def _canonical(view: Any) -> str:
    text: str = _own_template().render(v=view, r=view.response, report=view.report,
                                  done=view.checklist)
    return text.split(OFFICE_USE, 1)[0].rstrip() + "\n"


def canonical_text(session: Session, response_id: int) -> str:
    """The response as it will be published, without the office-use box."""
    return _canonical(content_view(session, response_id))


def as_version(view: ResponseView, text_version: int) -> ResponseView:
    """``view`` as ``text_version`` of the canonical text shows it (1: no PCC notes)."""
    if text_version == view.text_version:
        return view
    recs: Any = view.recommendations if text_version >= 2 else [
        SimpleNamespace(number=r.number, text=r.text, force_response=r.force_response,
                        pcc_note=None) for r in view.recommendations]
    return dataclasses.replace(view, recommendations=recs, text_version=text_version)


def fingerprint_of(view: Any, text_version: int = TEXT_VERSION) -> str:
    """The fingerprint: SHA-256 (hex) of the canonical text of ``view`` (a ``ResponseView``;
    ``workflow.assurance.replay`` builds one from the events), as ``text_version`` of the
    canonical text has it."""
    text = _canonical(as_version(view, text_version))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def fingerprint(session: Session, loaded: Loaded | int,
                text_version: int = TEXT_VERSION) -> str:
    """``fingerprint_of`` the response as the rows hold it now (within the transaction)."""
    rid = loaded if isinstance(loaded, int) else loaded.response.id or 0
    return fingerprint_of(content_view(session, rid), text_version)


def seal(session: Session, loaded: Loaded | int) -> dict[str, Any]:
    """What an event records of the text: its fingerprint now and the text version."""
    return {"fingerprint": fingerprint(session, loaded), "text_version": TEXT_VERSION}


def sealed_text(session: Session, loaded: Loaded) -> tuple[str, dict[str, Any]]:
    """The canonical text now and ``seal``'s record of it (one render for both: the text
    as signed goes to the signer, its fingerprint into the sign-off event)."""
    text = canonical_text(session, loaded.response.id or 0)
    return text, {"fingerprint": hashlib.sha256(text.encode("utf-8")).hexdigest(),
                  "text_version": TEXT_VERSION}


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
    now = fingerprint(session, loaded, payload.get("text_version", 1))
    if now != signed:
        raise TextChangedError(rid, signed, now, payload.get("signed_version", 0))
