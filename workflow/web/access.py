"""The web side of the personal links (``workflow.links``): what a link opens, acting as its
person inside the action's own transaction, a fresh link, reader sign-in.

Acting goes through ``LinkIdentifier``: the service asks it who acts *inside* the
transaction of the edit or transition, so the link is checked (live, this response, an
action its kind may take) and, for an action that uses it up, marked used in that same
transaction: a refusal rolls the use back, and of two tabs only one can use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from workflow import links
from workflow.clock import LONDON
from workflow.documents.model import format_date
from workflow.errors import S55Error
from workflow.identity import Acting, Identifier
from workflow.service import Workflow
from workflow.storage.models import Person
from workflow.web import views
from workflow.web.context import Web

#: Actions that use a link up (saving does not).
CONSUMING = {"submit_force_input", "sign_off", "return_to_force", "return_to_draft"}
READER_ROLES = {"auditor", "panel", "admin"}


def _when(at: datetime | None) -> str:
    if at is None:
        return ""
    local = at.astimezone(LONDON)
    return f"{format_date(local.date())} at {local:%H:%M}"


@dataclass(frozen=True)
class LinkView:
    """A link as its page needs it (never the token itself)."""

    token_hash: str
    kind: str  # force | pcc | sign_in
    status: str  # live | expired | used | superseded | disabled
    email: str
    name: str
    response_id: int
    expires_at: datetime
    moved_by: str | None = None
    moved_at: datetime | None = None
    moved_to: str | None = None

    @property
    def expires_text(self) -> str:
        return _when(self.expires_at)

    @property
    def resendable(self) -> bool:
        return self.status in ("expired", "used", "superseded") and self.kind != "sign_in"

    @property
    def status_title(self) -> str:
        return {"expired": "This link has expired", "used": "This link has been used",
                "superseded": "This response has moved on",
                "disabled": "This link no longer works"}.get(self.status, "This link works")

    @property
    def status_text(self) -> str:
        moved = (f" {self.moved_by} moved response {self.response_id} to "
                 f"{(self.moved_to or '').replace('_', ' ')} on {_when(self.moved_at)}."
                 if self.moved_by else "")
        return {"expired": f"It worked until {self.expires_text}.{moved}",
                "used": f"It was used to act on response {self.response_id}.{moved}",
                "superseded": f"It was for an earlier step of response {self.response_id}."
                              f"{moved}",
                "disabled": "The person it was sent to can no longer act in s55; ask the "
                            "OPCC."}.get(self.status, "")


class LinkActionError(S55Error):
    """The link's kind may not take this action (a force link asked to sign off)."""

    def __init__(self, view: LinkView, action: str) -> None:
        self.view, self.action = view, action
        super().__init__(f"this link ({view.kind}) cannot {action.replace('-', ' ')} "
                         f"response {view.response_id}")


def look(w: Web, token: str) -> LinkView | None:
    """What ``token`` opens (None: no such link). Reads only."""
    with w.db.read() as s:
        found = links.inspect(s, token, w.clock.now())
        if found is None:
            return None
        return _view(found)


def _view(found: Any) -> LinkView:
    link, person = found.link, found.person
    moved = found.moved
    return LinkView(token_hash=link.token_hash, kind=link.kind, status=found.status,
                    email=person.email, name=person.name, response_id=link.response_id or 0,
                    expires_at=link.expires_at,
                    moved_by=moved.actor if moved else None,
                    moved_at=moved.at if moved else None,
                    moved_to=moved.to_state if moved else None)


@dataclass(frozen=True)
class LinkIdentifier(Identifier):
    """The person of one link, checked (and used up, for ``action`` in ``CONSUMING``) in
    the transaction that acts."""

    token: str = ""
    action: str = "edit"
    now: datetime | None = None

    def resolve(self, session: Session, claimed: str | None) -> Acting:
        person: Person = links.use(session, self.token, self.action, self.now,
                                   consume=self.action in CONSUMING)
        return Acting(person, self.origin)

    def viewer(self, session: Session, claimed: str | None) -> Person | None:
        return None


def workflow(w: Web, token: str, view: LinkView, action: str) -> Workflow:
    """The service acting as the person of ``token`` (channel ``web``)."""
    ident = LinkIdentifier("link", w.origin, token=token, action=action, now=w.clock.now())
    return Workflow(w.db, w.settings, w.clock, ident)


def fire(w: Web, token: str, view: LinkView, trigger: str, *, reason: str | None = None,
         params: Mapping[str, Any] | None = None, expected_version: int | None = None) -> None:
    workflow(w, token, view, trigger).fire(view.response_id, trigger, view.email,
                                           reason=reason, params=params,
                                           expected_version=expected_version)


def response_page(w: Web, view: LinkView) -> dict[str, Any]:
    return views.approver_page(w, view.response_id, view.kind)


class TextChangedSinceLoadedError(S55Error):
    """The PCC would sign a text other than the one their page showed."""

    def __init__(self, response_id: int, why: str) -> None:
        self.response_id = response_id
        super().__init__(f"Response {response_id} was not signed off: {why}")


def check_signable(w: Web, view: LinkView, texts: Mapping[str, str],
                   recs: Mapping[int, Mapping[str, str]], shown: str,
                   version: int | None) -> None:
    """Refuse a sign-off of anything but the text the page showed, unedited since."""
    data = views.approver_page(w, view.response_id, "pcc")
    stored = {"pcc_response": data["pcc_response"] or ""}
    by_number = {r["number"]: r for r in data["recommendations"]}
    typed = any((v.strip() != (stored.get(k) or "").strip()) for k, v in texts.items()) or any(
        v.strip() != (by_number.get(n, {}).get(k) or "").strip()
        for n, fields in recs.items() for k, v in fields.items())
    if typed:
        raise TextChangedSinceLoadedError(view.response_id, "you changed the text on the page "
                                          "without saving it. Save, read the response again, "
                                          "then sign off")
    fingerprint, _ = views.current_fingerprint(w, view.response_id)
    if shown != fingerprint or version != data["version"]:
        raise TextChangedSinceLoadedError(view.response_id, "the text changed since the page "
                                          f"was loaded (fingerprint now {fingerprint[:16]}...). "
                                          "Read it again, then sign off")


def resend(w: Web, view: LinkView) -> None:
    """Mail a fresh link to the person of ``view`` (``links`` limits how often)."""
    links.resend(w.db, w.settings, view.token_hash, w.clock.now())


def request_sign_in(w: Web, email: str) -> None:
    links.request_sign_in(w.db, w.settings, email, w.clock.now())


def sign_in(w: Web, token: str) -> int:
    person: Person = links.sign_in(w.db, token, w.clock.now(), w.origin)
    return person.id or 0


def reader(w: Web, person_id: int) -> Person | None:
    """The person of a session, while active and holding a reading role."""
    with w.db.read() as s:
        person = s.get(Person, person_id)
        if person is None or not person.active or not READER_ROLES & set(person.roles):
            return None
        s.expunge(person)
        return person


def open_responses(w: Web) -> list[dict[str, Any]]:
    return views.open_responses(w)


def response_detail(w: Web, response_id: int) -> dict[str, Any]:
    return views.response_detail(w, response_id)
