"""Build the auditor's report from the audit log: the events are what an auditor trusts.

Each response's story comes from its events: the state it was in and for how long (the
``created``/``imported`` event and each transition), who signed off, every return and its
reason, the day it was published (the ``publish`` transition's payload), deadline
overrides, and the s55(6) copies (the ``publish_copy`` mail queued with the publication,
then the dispatcher's ``mail_sent`` or ``mail_dead`` for each). The response and report
rows give only titles, the report's publication day, and the publication day of an
imported response (an import records it on the row, not in the event).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from states import FINAL, TRANSITIONS
from states.deadlines import statutory_deadline
from workflow.assurance.full_check import full_check
from workflow.audit.words import Action
from workflow.audit_report.model import (
    TIMED_STATES,
    AuditReport,
    Copy,
    Imported,
    Outcome,
    RecordCheck,
    ResponseLine,
    Return,
    SignOff,
    Summary,
    by_month,
    judge,
)
from workflow.core.clock import LONDON, Clock
from workflow.keys.audit_key import Keyring
from workflow.storage.db import Database
from workflow.storage.models import InspectionReport, Person, Response
from workflow.storage.tables import AUDIT_EVENT, OPEN_STATES

#: The events the report reads; the rest (edits, escalations, retries) tell it nothing.
_ACTIONS = (Action.CREATED, Action.IMPORTED, Action.TRANSITION, Action.DEADLINE_OVERRIDE,
            Action.MAIL_QUEUED, Action.MAIL_SENT, Action.MAIL_DEAD)
#: The ways back, each with its reason: the send-backs and the reopening of a signed text.
_RETURNS = tuple(t.trigger for t in TRANSITIONS if t.is_send_back)
#: The events that put a response in a state.
_MARKS = (Action.CREATED, Action.IMPORTED, Action.TRANSITION)
class EventRow(Protocol):
    """The columns of an audit event the report reads (a Core row or an ``AuditEvent``)."""

    response_id: int | None
    at: datetime
    actor: str
    action: str
    trigger: str | None
    from_state: str | None
    to_state: str | None
    reason: str | None
    payload: str


_EVENTS: Any = AUDIT_EVENT
_COLUMNS = ("response_id", "at", "actor", "action", "trigger", "from_state", "to_state",
            "reason", "payload", "on_behalf_of")
#: The mail kind of the s55(6) copies (``workflow.mail.compose``).
COPY_KIND = "publish_copy"


def build_report(db: Database, start: date, end: date, clock: Clock,
                 ring: Keyring | None = None, *, check: bool = True) -> AuditReport:
    """Every response to a report published from ``start`` to ``end`` (both included), as
    of ``clock``'s now, oldest report first; then those to earlier reports still open.

    With ``check`` (the default) the full check of ``s55 audit verify`` runs first
    (``ring``: the audit key, to check every event's signature) and the report states
    its verdict and head, reading no event after that head.
    """
    as_of = clock.now()
    today = as_of.astimezone(LONDON).date()
    verified = full_check(db, ring) if check else None
    up_to = verified.last_id if verified is not None and verified.ok else None
    published = col(InspectionReport.published_on)
    in_period = (published >= start, published <= end)
    earlier_open = (published < start, col(Response.state).in_(OPEN_STATES))
    rows, events, names = db.query(lambda s: _read_rows(s, in_period, up_to))
    before, before_events, _ = db.query(lambda s: _read_rows(s, earlier_open, up_to))
    events.update(before_events)

    def lines(found: list[Any]) -> tuple[ResponseLine, ...]:
        return tuple(_line(response, report, events.get(response.id or 0, []), names, as_of,
                           today) for response, report in found)

    these = lines(rows)
    return AuditReport(start=start, end=end, as_of=as_of, today=today, responses=these,
                       months=by_month(these, start, end),
                       summary=Summary(dict(Counter(line.outcome for line in these))),
                       earlier=lines(before), check=_record_check(verified))


def _record_check(verified: Any) -> RecordCheck | None:
    if verified is None:
        return None
    result = verified.result
    return RecordCheck(ok=verified.ok, events=result.count, head=result.head,
                       signed=result.signed, problems=tuple(verified.problems()))


def _read_rows(s: Session, where: tuple[Any, ...], up_to: int | None
               ) -> tuple[list[Any], dict[int, list[EventRow]], dict[str, str]]:
    """The responses ``where`` selects (with their reports), their events (up to event
    ``up_to`` when given), and every person's name by email."""
    rows = s.execute(
        select(Response, InspectionReport)
        .join(InspectionReport, col(InspectionReport.id) == col(Response.report_id))
        .where(*where)
        .order_by(col(InspectionReport.published_on), col(Response.id))).all()
    # One query for every event of the selected responses, through the response_id
    # index (a subquery, not a list of ids: a year of a large OPCC is thousands), as
    # plain rows: building ORM objects would cost more than the rest together.
    ids = (select(col(Response.id))
           .join(InspectionReport, col(InspectionReport.id) == col(Response.report_id))
           .where(*where))
    chosen = [_EVENTS.c.response_id.in_(ids), _EVENTS.c.action.in_([str(a) for a in _ACTIONS])]
    if up_to is not None:
        chosen.append(_EVENTS.c.id <= up_to)
    events: dict[int, list[EventRow]] = defaultdict(list)
    for e in s.execute(select(*(_EVENTS.c[name] for name in _COLUMNS)).where(*chosen)
                       .order_by(_EVENTS.c.response_id, _EVENTS.c.id)):
        events[e.response_id].append(e)
    names = {p.email: p.name for p in s.scalars(select(Person))}
    return list(rows), events, names


@dataclass
class _Story:
    """What one response's events say, gathered in order."""

    marks: list[tuple[datetime, str]] = field(default_factory=list)  # (when, state entered)
    signed_off: SignOff | None = None
    imported: Imported | None = None
    published_on: date | None = None
    published_url: str | None = None
    override: tuple[date, str] | None = None  # (deadline, reason) of the last override
    returns: list[Return] = field(default_factory=list)
    queued: list[tuple[int, str, datetime]] = field(default_factory=list)  # s55(6) copies
    sent: dict[int, datetime] = field(default_factory=dict)
    dead: dict[int, datetime] = field(default_factory=dict)
    closed_reason: str | None = None
    portal_reference: str | None = None


def _read(events: list[EventRow], names: dict[str, str]) -> _Story:
    story = _Story()
    for e in events:
        if e.action in _MARKS and e.to_state:
            story.marks.append((e.at, e.to_state))
        if e.action == Action.TRANSITION:
            _transition(story, e, names)
        elif e.action == Action.IMPORTED:
            payload = json.loads(e.payload)
            story.imported = Imported(e.at, e.actor, str(payload.get("source", "")),
                                      str(payload.get("sha256", "")), e.to_state or "")
        elif e.action == Action.DEADLINE_OVERRIDE:
            story.override = (date.fromisoformat(json.loads(e.payload)["to"]), e.reason or "")
        elif COPY_KIND in e.payload:  # a mail event; most are not the s55(6) copies
            _copy_event(story, e)
    return story


def _copy_event(story: _Story, e: EventRow) -> None:
    payload: dict[str, Any] = json.loads(e.payload)
    if payload.get("kind") != COPY_KIND:
        return
    if e.action == Action.MAIL_QUEUED:
        story.queued += [(int(o["id"]), str(o["to"]), e.at) for o in payload.get("outbox", [])]
    elif e.action == Action.MAIL_SENT:
        story.sent.setdefault(int(payload["outbox"]), e.at)  # a duplicate send: the first
    elif e.action == Action.MAIL_DEAD:
        story.dead.setdefault(int(payload["outbox"]), e.at)


def _transition(story: _Story, e: EventRow, names: dict[str, str]) -> None:
    if e.trigger == "sign_off":
        story.signed_off = sign_off_from(e, json.loads(e.payload), names)
    elif e.trigger == "publish":
        payload = json.loads(e.payload)
        # s55 always records the day; without it, the day the event was written (what
        # publish records when no day is given).
        day = payload.get("published_on")
        story.published_on = (date.fromisoformat(day) if day
                              else e.at.astimezone(LONDON).date())
        story.published_url = payload.get("published_url")
    elif e.trigger == "submit_to_portal":
        story.portal_reference = json.loads(e.payload).get("portal_reference")
    elif e.trigger == "mark_not_required":
        story.closed_reason = e.reason
    elif e.trigger in _RETURNS:
        story.returns.append(Return(e.at, e.actor, e.trigger or "", e.from_state or "",
                                    e.to_state or "", e.reason or ""))
        if e.trigger == "reopen":  # the signature is withdrawn until the next sign-off
            story.signed_off = None


def sign_off_from(e: EventRow, payload: dict[str, Any], names: dict[str, str]) -> SignOff:
    """The signer is the event's actor; a ``delegation`` in the payload names the delegation
    it was signed under, and ``on_behalf_of`` (payload or event) whom the signer stood in
    for."""
    delegation = payload.get("delegation")
    # "for": what a sign-off under a delegation records of the PCC (``Acting``).
    principal = (payload.get("for") or payload.get("on_behalf_of")
                 or getattr(e, "on_behalf_of", None))
    return SignOff(at=e.at, by=e.actor, name=names.get(e.actor),
                   delegation=None if delegation is None else str(delegation),
                   on_behalf_of=None if principal is None else
                   _person(str(principal), names), fingerprint=payload.get("fingerprint"))


def _person(email: str, names: dict[str, str]) -> str:
    return f"{names[email]} <{email}>" if email in names else email


def time_in_states(marks: list[tuple[datetime, str]], until: datetime) -> dict[str, int]:
    """Whole seconds spent in each state (every visit added up), the current one up to
    ``until``; final states hold no time. Keys in lifecycle order."""
    spent: dict[str, int] = {}
    for i, (at, state) in enumerate(marks):
        if state in FINAL:
            continue
        left = marks[i + 1][0] if i + 1 < len(marks) else until
        spent[state] = spent.get(state, 0) + max(0, int((left - at).total_seconds()))
    return {s: spent[s] for s in TIMED_STATES if s in spent}


def _copies(story: _Story) -> tuple[Copy, ...]:
    out = []
    for outbox_id, to, queued_at in story.queued:
        if outbox_id in story.sent:
            out.append(Copy(to, queued_at, "sent", story.sent[outbox_id]))
        elif outbox_id in story.dead:
            out.append(Copy(to, queued_at, "dead"))
        else:
            out.append(Copy(to, queued_at, "pending"))
    return tuple(out)


def _line(response: Response, report: InspectionReport, events: list[EventRow],
          names: dict[str, str], as_of: datetime, today: date) -> ResponseLine:
    story = _read(events, names)
    statutory = statutory_deadline(report.published_on)
    # The log's last state; the row's only if the log has none (never, for s55's own rows).
    state = story.marks[-1][1] if story.marks else response.state
    # An import records the day on the row (the document does not say it, the officer did).
    published_on = story.published_on or (response.published_on if story.imported else None)
    outcome, early, late = judge(state, published_on, statutory, today)
    return ResponseLine(
        response_id=response.id or 0, force=response.force, title=report.title,
        report_published=report.published_on, statutory_deadline=statutory,
        deadline=story.override[0] if story.override else statutory,
        deadline_override_reason=story.override[1] if story.override else None,
        state=state, published_on=published_on,
        published_url=story.published_url or (response.published_url if story.imported
                                               else None),
        outcome=outcome, days_early=early, days_late=late, signed_off=story.signed_off,
        imported=story.imported, time_in_state=time_in_states(story.marks, as_of),
        returns=tuple(story.returns), copies=_copies(story), closed_reason=story.closed_reason,
        portal_reference=story.portal_reference or response.portal_reference,
        days_left=(statutory - today).days if outcome is Outcome.NOT_YET_DUE else None)


__all__ = ["COPY_KIND", "build_report", "sign_off_from", "time_in_states"]
