"""The web side of the personal links: what a link opens, and acting through it.

Built on ``workflow.links.action_links`` (the link itself: reading, checking, using up) and
``workflow.responses.approvals`` (transitions, fresh links, sign-in through a link). Acting
goes through ``action_links.LinkIdentifier``: the service asks it who acts *inside* the
transaction of the edit or transition, so the link is checked there (live, this response, an
action its kind may take) and a transition uses it up in that same transaction: a refusal
rolls the use back, and of two tabs only one can use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from states.deadlines import outcome_text
from states.words import state_words
from states.words import when as words_when
from workflow.core.checks import parse_date
from workflow.core.dates import format_date
from workflow.core.errors import InvalidInputError, S55Error
from workflow.keys import link_tokens
from workflow.links import action_links
from workflow.people import confirming, delegation
from workflow.reads.dashboard import list_responses
from workflow.responses import approvals, page_saves
from workflow.responses.service import Workflow
from workflow.storage.tables import OPEN_STATES
from workflow.web import page_data
from workflow.web.context import Web

#: The field a save of each kind of link is checked against (every field the page sends
#: is that kind's own; the service checks the person's role for each one again).
SAVE_ACTION = {action_links.FORCE: "force_response", action_links.PCC: "pcc_response",
               action_links.DEPUTY: "pcc_response"}


def when(at: datetime | None) -> str:
    if at is None:
        return ""
    return words_when(at)


@dataclass(frozen=True)
class Opened:
    """What a link opens: a live link (``live``) or why it no longer works."""

    token_hash: str
    live: action_links.LinkView | None
    refused: action_links.LinkRefusedError | None = None

    @property
    def kind(self) -> str:
        return self.live.kind if self.live else ""

    @property
    def status(self) -> str:
        return "live" if self.live else (self.refused.why if self.refused else "unknown")

    @property
    def response_id(self) -> int:
        if self.live is not None:
            return self.live.response_id or 0
        return (self.refused.response_id if self.refused else None) or 0

    @property
    def email(self) -> str:
        return self.live.person_email if self.live else ""

    @property
    def name(self) -> str:
        return self.live.person_name if self.live else ""

    @property
    def expires_text(self) -> str:
        return when(self.live.expires_at) if self.live else ""

    @property
    def resendable(self) -> bool:
        return bool(self.refused and self.refused.can_resend and self.response_id)

    @property
    def status_title(self) -> str:
        return {"expired": "This link has expired", "used": "This link has been used",
                "superseded": "This response has moved on",
                "disabled": "This link no longer works"}.get(self.status,
                                                              "This link cannot do that")

    @property
    def status_text(self) -> str:
        if self.refused is None:
            return ""
        text = str(self.refused)
        return text[:1].upper() + text[1:] + "."


class LinkActionError(S55Error):
    """The link's kind may not take this action (a force link asked to sign off)."""

    def __init__(self, opened: Opened, action: str) -> None:
        self.opened, self.action = opened, action
        super().__init__(f"this link ({opened.kind}) cannot {action.replace('-', ' ')} "
                         f"response {opened.response_id}")


def look(w: Web, token: str) -> Opened | None:
    """What ``token`` opens (None: no link has this token). Reads only."""
    digest = link_tokens.token_hash(token) if token.isascii() else ""
    try:
        return Opened(digest, action_links.read(w.db, w.clock, token))
    except action_links.LinkRefusedError as refused:
        if refused.why == "unknown":
            return None
        return Opened(digest, None, refused)


def _wf(w: Web) -> Workflow:
    return Workflow(w.db, w.settings, w.clock)


def save(w: Web, token: str, opened: Opened, texts: Mapping[str, str],
         recs: Mapping[int, Mapping[str, str]], expected_version: int | None, *,
         areas: Mapping[int, Mapping[str, str]] | None = None) -> None:
    """Every field of the page in one transaction, as the link's person (the PCC's deputy
    as the deputy, for the PCC under the delegation); the link is checked in that
    transaction and stays usable."""
    ident = action_links.LinkIdentifier("link", w.origin, token=token,
                                        action=SAVE_ACTION[opened.kind],
                                        response_id=opened.response_id, clock=w.clock)
    wf = Workflow(w.db, w.settings, w.clock, identifier=ident)
    page_saves.edit_many(wf, opened.response_id, texts, recs, None, areas=areas,
                         expected_version=expected_version)


def fire(w: Web, token: str, trigger: str, *, reason: str | None = None,
         params: Mapping[str, Any] | None = None, expected_version: int | None = None,
         expected_fingerprint: str | None = None) -> None:
    approvals.fire(_wf(w), token, trigger, reason=reason, params=params,
                   expected_version=expected_version, expected_fingerprint=expected_fingerprint)


def response_page(w: Web, opened: Opened) -> dict[str, Any]:
    return page_data.approver_page(w, opened.response_id, opened.kind)


class TextChangedSinceLoadedError(S55Error):
    """The PCC would sign a text other than the one their page showed."""

    def __init__(self, response_id: int, why: str) -> None:
        self.response_id = response_id
        super().__init__(f"Response {response_id} was not signed off: {why}")


def check_signable(w: Web, opened: Opened, texts: Mapping[str, str],
                   recs: Mapping[int, Mapping[str, str]], shown: str,
                   version: int | None) -> None:
    """Refuse a sign-off of anything but the text the page showed, unedited since."""
    data = page_data.approver_page(w, opened.response_id, action_links.PCC)
    by_number = {r["number"]: r for r in data["recommendations"]}
    typed = any(v.strip() != (data.get(k) or "").strip() for k, v in texts.items()) or any(
        v.strip() != (by_number.get(n, {}).get(k) or "").strip()
        for n, fields in recs.items() for k, v in fields.items())
    if typed:
        raise TextChangedSinceLoadedError(opened.response_id, "you changed the text on the "
                                          "page without saving it. Save, read the response "
                                          "again, then sign off")
    if shown != data["fingerprint"] or version != data["version"]:
        raise TextChangedSinceLoadedError(
            opened.response_id, "the text changed since the page was loaded (fingerprint "
            f"now {data['fingerprint'][:16]}...). Read it again, then sign off")


def deputies(w: Web, opened: Opened) -> list[tuple[int, str]]:
    """Whom the PCC of ``opened`` may choose as their deputy (id, name)."""
    return delegation.deputies_for(_wf(w), opened.live.person_id if opened.live else 0)


def delegate(w: Web, token: str, deputy: str, starts: str, ends: str, reason: str) -> None:
    """The PCC delegates to a deputy from their page (their link stays usable); a refusal
    is said in words for the page."""
    if not deputy.isdigit() or len(deputy) > 9:
        raise S55Error("Choose your deputy from the list.")
    if not starts.strip() or not ends.strip():
        raise S55Error("Give the first and the last day of the delegation.")
    if not reason.strip():
        raise S55Error("Say why you delegate: your deputy and the auditors are told.")
    try:
        first, last = parse_date(starts, "first day"), parse_date(ends, "last day")
        if last < first:
            raise S55Error(f"The last day, {format_date(last)}, is before the first day, "
                           f"{format_date(first)}.")
        delegation.delegate_by_link(_wf(w), token, int(deputy), first.isoformat(),
                                    last.isoformat(), reason)
    except InvalidInputError as exc:
        said = f"{exc.what}: {exc.problem}" if exc.what.endswith(" day") else exc.problem
        raise S55Error(f"{said[:1].upper()}{said[1:]}.") from None


def asking(w: Web, token: str) -> confirming.Asking:
    """What a ``confirm`` link asks of its person (reads only)."""
    return confirming.asking(_wf(w), token)


def confirm(w: Web, token: str) -> None:
    confirming.confirm(_wf(w), token)


def decline(w: Web, token: str) -> None:
    confirming.decline(_wf(w), token)


def resend(w: Web, token: str) -> str:
    """Mail a fresh link to the link's person (``approvals`` limits how often); to whom."""
    return approvals.resend(_wf(w), token).email


def request_sign_in(w: Web, email: str) -> None:
    approvals.request_sign_in(_wf(w), email)


def sign_in(w: Web, token: str) -> int:
    return approvals.sign_in(_wf(w), token).person_id


def reader(w: Web, person_id: int) -> action_links.Reader | None:
    return action_links.reader(w.db, person_id)


def listed_responses(w: Web, show: str) -> list[dict[str, Any]]:
    """The open, closed (nothing more will happen) or all responses, soonest deadline
    first, with their deadline and time in words."""
    rows = list_responses(w.db, w.settings, w.clock, include_closed=show != "open")
    if show == "closed":
        rows = [row for row in rows if row["state"] not in OPEN_STATES]
    for row in rows:
        row["deadline_text"] = format_date(date.fromisoformat(row["deadline"]))
        row["time_text"] = outcome_text(row.get("outcome") or {})
        row["state_text"] = state_words(row["state"])
        row["waiting_on"] = str(row["waiting_on"])
    return rows


def response_detail(w: Web, response_id: int) -> dict[str, Any]:
    detail = page_data.response_detail(w, response_id)
    detail["deadline_text"] = format_date(date.fromisoformat(detail["deadline"]))
    return detail
