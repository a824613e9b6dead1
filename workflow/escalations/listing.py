"""Read models for ``s55 escalations plan`` and ``s55 escalations list`` (nothing is sent).

Kept apart from ``workflow.escalations.sweep`` (which fires) so each module stays small.
"""

from __future__ import annotations

import json
from collections.abc import Set as AbstractSet
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from states import State
from states.escalations import Dates, Firing, Moment, Policy, plan, upcoming
from workflow.core.bank_holidays import not_working
from workflow.core.clock import LONDON, london_today
from workflow.core.errors import NotFoundError
from workflow.escalations.plan import (
    Quiet,
    load_policy,
    moment_at,
    open_responses,
    split_quiet,
)
from workflow.responses.service import Workflow
from workflow.storage.models import (
    AuditEvent,
    EscalationFiring,
    InspectionReport,
    OutboxMessage,
    Person,
    Response,
)

# Typed Any: SQLModel's attributes confuse mypy's select() overloads.
_F: Any = EscalationFiring
_R: Any = Response
_O: Any = OutboxMessage
_A: Any = AuditEvent


def _people(wf: Workflow) -> dict[str, list[str]]:
    """Emails by role."""
    out: dict[str, list[str]] = {}
    with wf.db.read() as s:
        person: Any = Person
        for email, roles in s.execute(select(person.email, person.roles).order_by(person.id)):
            for role in roles or ():
                out.setdefault(role, []).append(email)
    return out


def _planned(f: Firing, state: State, status: str,
             people: dict[str, list[str]]) -> dict[str, Any]:
    rule = f.rule
    told, left_out = rule.recipients_in(state)
    emails = dict.fromkeys(e for r in told for e in people.get(r.value, ()))
    return {"rule": rule.id, "occurrence": f.occurrence, "day": f.day.isoformat(),
            "at": f.at.isoformat(), "at_local": f.at.astimezone(LONDON).isoformat(),
            # The rule's day when it is not a working day (it fires on the one before).
            "moved_from": f.moved_from and f.moved_from.isoformat(),
            "moved_because": f.moved_from and not_working(f.moved_from),
            "severity": rule.severity, "template": rule.kind, "status": status,
            "notify": [r.value for r in rule.roles], "cc": [r.value for r in rule.cc],
            "recipients": list(emails),
            "unstaffed": [r.value for r in told if not people.get(r.value)],
            "not_acting": [r.value for r in left_out]}


def plan_ahead(wf: Workflow, response_id: int | None = None,
               days: int = 60) -> list[dict[str, Any]]:
    """Which rules fire when, and to whom, for one or every open response over ``days``.

    Given the current state: a transition changes the plan. Status ``due now`` fires at
    the next sweep; ``superseded now`` will be recorded but not sent (catch-up);
    ``planned`` fires on its day if the response is still in a state the rule covers;
    ``held back`` would only repeat what the mail that moved the response into its state
    asked the same people, within the office's quiet days: it is recorded as superseded
    by that request and not sent.
    """
    policy = load_policy(wf.settings)
    moment = moment_at(wf.settings, wf.clock.now())
    until = london_today(wf.clock) + timedelta(days=days)
    ids = None if response_id is None else [response_id]
    people = _people(wf)
    with wf.db.read() as s:
        if response_id is not None and s.get(_R, response_id) is None:
            raise NotFoundError("response", response_id)
        dates, fired = open_responses(s, ids)
        report: Any = InspectionReport
        titles: dict[int, str] = dict(s.execute(select(_R.id, report.title).join(
            report, report.id == _R.report_id).where(_R.id.in_(list(dates)))).all())
        quiet = Quiet(s)
        out: list[dict[str, Any]] = []
        for rid in sorted(dates, key=lambda r: (dates[r].deadline, r)):
            d = dates[rid]
            ahead = upcoming(d, policy, fired[rid], moment, until)
            if ahead:
                out += [{"response_id": rid, "title": titles.get(rid, ""),
                         "state": d.state.value, "deadline": d.deadline.isoformat(),
                         **_planned(f, d.state, status, people)}
                        for f, status in _statuses(rid, d, ahead, fired[rid], quiet, policy,
                                                   moment)]
    return out


def _statuses(rid: int, d: Dates, ahead: list[Firing], fired: AbstractSet[tuple[str, int]],
              quiet: Quiet, policy: Policy, moment: Moment) -> list[tuple[Firing, str]]:
    """Each firing ahead with its status: held back, due now, superseded now, planned."""
    now_plan = plan(d, policy, fired, moment)
    ask = quiet.ask(rid, d.state)
    held = {f.key for f in (*ahead, *now_plan.superseded, *filter(None, [now_plan.due]))
            if quiet.holds(f, d.state, ask, moment.working)}
    kept, _ = split_quiet(now_plan, lambda f: f.key in held)
    superseded = {f.key for f in kept.superseded}
    return [(f, "held back" if f.key in held
             else "due now" if kept.due and f.key == kept.due.key
             else "superseded now" if f.key in superseded else "planned") for f in ahead]


def list_firings(wf: Workflow, response_id: int | None = None,
                 limit: int = 200) -> list[dict[str, Any]]:
    """What has fired or been superseded, newest first, with the mail each one queued."""
    stmt = (select(_F, _A.payload).outerjoin(_A, _A.id == _F.event_id)
            .order_by(_F.id.desc()).limit(limit))
    if response_id is not None:
        stmt = stmt.where(_F.response_id == response_id)
    with wf.db.read() as s:
        rows = s.execute(stmt).all()
        events = [f.event_id for f, _ in rows if f.event_id is not None]
        mail: dict[int, list[str]] = {}
        for event_id, recipient in s.execute(select(_O.event_id, _O.recipient).where(
                _O.event_id.in_(events)).order_by(_O.id)):
            mail.setdefault(event_id, []).append(recipient)
    out = []
    for f, payload in rows:
        data = json.loads(payload) if payload else {}
        out.append({"id": f.id, "response_id": f.response_id, "rule": f.rule_id,
                    "occurrence": f.occurrence, "due_on": f.due_on.isoformat(),
                    "fired_at": f.fired_at.isoformat(), "status": f.status,
                    "event_id": f.event_id, "severity": data.get("severity"),
                    # "by": how events recorded it before "superseded_by".
                    "by": data.get("superseded_by", data.get("by")),
                    "recipients": mail.get(f.event_id or 0, [])})
    return out


def day_label(day: date, today: date) -> str:
    """``today``, ``in 3 days``, ``2 days ago``."""
    n = (day - today).days
    if n == 0:
        return "today"
    return f"in {n} day{'s' if n != 1 else ''}" if n > 0 else \
        f"{-n} day{'s' if n != -1 else ''} ago"
