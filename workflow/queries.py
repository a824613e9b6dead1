"""Read models for the CLI: the dashboard list, one response in full, its state log.

Reads go through the read engine (no write lock) and return plain dicts ready for a
table or ``--json``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from states.deadlines import statutory_deadline
from workflow.audit import Action, events_for
from workflow.clock import london_today
from workflow.dashboard import list_responses, status
from workflow.documents.office import ticked_from_log
from workflow.people import people
from workflow.service import Loaded, Workflow, load
from workflow.staffing import nobody_can_act
from workflow.storage.models import AreaForImprovement, AuditEvent
from workflow.workdays import deadline_note

__all__ = ["event_dict", "export_events", "list_responses", "log", "people", "provenance", "show",
           "status"]

def _checklist(events: list[AuditEvent], url: str | None) -> dict[str, Any]:
    """The "For Office Use Only" boxes with when each was ticked, from the audit log."""
    ticked = ticked_from_log(events)
    return {**{item.value: at.isoformat() if at else None for item, at in ticked.items()},
            "published_url": url}


def _detail(loaded: Loaded, today: date) -> dict[str, Any]:
    r, rep = loaded.response, loaded.report
    return {
        "id": r.id, "version": r.version, "state": r.state, "force": r.force,
        "report": {"id": rep.id, "title": rep.title, "published_on": rep.published_on.isoformat(),
                   "publication_types": rep.publication_types,
                   "police_forces": rep.police_forces, "link": rep.link},
        "deadline": r.deadline.isoformat(),
        "statutory_deadline": statutory_deadline(rep.published_on).isoformat(),
        "deadline_overridden": r.deadline_overridden,
        "stated_deadline": r.stated_deadline.isoformat() if r.stated_deadline else None,
        "force_input_due": r.force_input_due.isoformat() if r.force_input_due else None,
        "signoff_due": r.signoff_due.isoformat(),
        **status(r, today),
        "key_findings": r.key_findings, "cc_response": r.cc_response,
        "pcc_response": r.pcc_response, "afi_statement": r.afi_statement,
        "published_url": r.published_url,
        "published_on": r.published_on.isoformat() if r.published_on else None,
        "portal_reference": r.portal_reference, "closed_reason": r.closed_reason,
        "recommendations": [
            {"number": x.number, "due_date": x.due_date.isoformat() if x.due_date else None,
             "directed_at": x.directed_at, "text": x.text, "force_response": x.force_response,
             "pcc_note": x.pcc_note}
            for x in loaded.recommendations
        ],
    }


def show(wf: Workflow, response_id: int, actor: str | None) -> dict[str, Any]:
    """One response in full, with the triggers ``actor`` may fire now."""
    today = london_today(wf.clock)
    from workflow.documents.signature import signed

    with wf.db.read() as s:
        loaded = load(s, response_id)
        person = wf.identifier.viewer(s, actor)
        afis = s.scalars(select(AreaForImprovement)
                         .where(col(AreaForImprovement.response_id) == response_id)
                         .order_by(col(AreaForImprovement.number))).all()
        events = events_for(s, response_id)
        stuck = nobody_can_act(s, today).get(loaded.state)
    detail = _detail(loaded, today)
    detail["nobody_can_act"] = stuck
    detail["signed_off"] = signed(events)
    detail["areas_for_improvement"] = [
        {"number": a.number, "text": a.text, "force_response": a.force_response} for a in afis
    ]
    detail["office_use"] = _checklist(events, loaded.response.published_url)
    # The Act counts calendar days; officers work on working days: say so when they differ.
    detail["deadline_not_working_day"] = deadline_note(loaded.response.deadline)
    detail["allowed_triggers"] = wf.allowed_triggers(loaded, person) if person else []
    detail["allowed_for"] = person.email if person else None
    return detail


def log(wf: Workflow, response_id: int) -> list[dict[str, Any]]:
    """The state log of one response, oldest first."""
    with wf.db.read() as s:
        load(s, response_id)  # NotFoundError for an unknown id
        events = events_for(s, response_id)
    return [event_dict(e) for e in events]


def describe(action: str, payload: dict[str, Any], actor: str = "") -> str:
    """A few words on what an event did, for the printed state log."""
    if action == Action.EDITED:
        if "added_recommendation" in payload:
            return f"added recommendation {payload['added_recommendation'].get('number')}"
        rec = payload.get("recommendation")
        where = f"recommendation {rec} " if rec is not None else ""
        return f"{where}{payload.get('field', '')}" + ("" if payload.get("value") else " cleared")
    if action == Action.MAIL_QUEUED:
        return f"{payload.get('kind')} to " + ", ".join(o["to"] for o in payload.get("outbox", []))
    if action == Action.DEADLINE_OVERRIDE:
        return f"deadline {payload.get('from')} -> {payload.get('to')}"
    if action == Action.TRANSITION and payload.get("delegation"):
        return (f"signed off by {actor} for {payload.get('for')} under delegation "
                f"#{payload['delegation']}")
    if action in (Action.ROLES_CHANGED, Action.PERSON_CHANGED, Action.PERSON_ADDED,
                  Action.PERSON_DISABLED, Action.PERSON_ENABLED):
        return f"{payload.get('person')} " + (
            f"+{','.join(payload.get('added', []))} -{','.join(payload.get('removed', []))}"
            if action == Action.ROLES_CHANGED else "")
    if action in (Action.DELEGATED, Action.DELEGATION_REVOKED):
        return (f"#{payload.get('delegation')} {payload.get('pcc')} -> {payload.get('deputy')}"
                + (f" {payload.get('from')}..{payload.get('until')}" if "from" in payload
                   else ""))
    if action.startswith("mail_") or action == Action.LINK_SENT:
        to = payload.get("to") or payload.get("recipient") or ""
        return f"{payload.get('kind', '')} {to}".strip()
    return "to the read-only pages" if action == Action.SIGNED_IN else ""


def provenance(e: dict[str, Any]) -> str:
    """Where an event came from, in words, for the printed state log."""
    if not e.get("channel"):
        return "written before provenance was recorded"
    out = f"{e['channel']}, account {e['account']}@{e['host']}, {e['identity']}"
    return out + (f", on behalf of {e['on_behalf_of']}" if e.get("on_behalf_of") else "")


def event_dict(e: AuditEvent) -> dict[str, Any]:
    return {"id": e.id, "at": e.at.isoformat(), "actor": e.actor, "action": e.action,
            "trigger": e.trigger, "from_state": e.from_state, "to_state": e.to_state,
            "reason": e.reason, "payload": json.loads(e.payload), "hash": e.hash,
            "prev_hash": e.prev_hash, "response_id": e.response_id,
            "channel": e.channel, "account": e.account, "host": e.host,
            "identity": e.identity, "on_behalf_of": e.on_behalf_of}


def export_events(wf: Workflow, response_id: int | None = None) -> Iterator[str]:
    """Every event (or one response's) as a JSON line, oldest first, streamed."""
    stmt = select(AuditEvent).order_by(col(AuditEvent.id))
    if response_id is not None:
        stmt = stmt.where(col(AuditEvent.response_id) == response_id)
    with wf.db.read() as s:
        for event in s.scalars(stmt.execution_options(yield_per=5000)):
            yield json.dumps(event_dict(event), ensure_ascii=False)
