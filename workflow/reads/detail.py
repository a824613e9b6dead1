"""One response in full and its state log, read through SQLAlchemy Core (``s55 show``,
``s55 log``), so that the commands officers run most never build the SQLModel classes.

It reads the Core tables (``workflow.storage.tables``), the ORM classes' own; the tests
check that ``show`` and ``log`` say exactly what the ORM read of the same rows says.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from states import State, allowed_triggers
from states.deadlines import statutory_deadline
from states.words import trigger_done, when
from workflow.audit.words import Action
from workflow.core.bank_holidays import deadline_note
from workflow.core.clock import Clock, london_today
from workflow.core.errors import IdentityError, NotFoundError
from workflow.core.os_account import check_text
from workflow.documents.office import ticked_from_log
from workflow.documents.signoff import signed
from workflow.identity.office import identity_mode
from workflow.reads.dashboard import status
from workflow.reads.who_can_act import nobody_can_act
from workflow.storage.db import Database
from workflow.storage.tables import (
    AREA_FOR_IMPROVEMENT,
    AUDIT_EVENT,
    INSPECTION_REPORT,
    PERSON,
    RECOMMENDATION,
    RESPONSE,
)


def _response(s: Session, response_id: int) -> tuple[Any, Any, list[Any]]:
    """The response row, its report's and its recommendations (``NotFoundError``)."""
    r, rep = RESPONSE.c, INSPECTION_REPORT.c
    row = s.execute(select(*r, *(c.label(f"rep__{c.name}") for c in rep))
                    .join(INSPECTION_REPORT, rep.id == r.report_id)
                    .where(r.id == response_id)).first()
    if row is None:
        raise NotFoundError("response", response_id)
    report = {c.name: getattr(row, f"rep__{c.name}") for c in rep}
    x = RECOMMENDATION.c
    recs = list(s.execute(select(RECOMMENDATION).where(x.response_id == response_id)
                          .order_by(x.number)))
    return row, report, recs


def events(s: Session, response_id: int) -> list[Any]:
    """Every event of one response, oldest first (as ``workflow.audit.trail.events_for``)."""
    e = AUDIT_EVENT.c
    return list(s.execute(select(AUDIT_EVENT).where(e.response_id == response_id).order_by(e.id)))


def viewer(s: Session, mode: str | None, account: str, claimed: str | None) -> Any:
    """Whose point of view a read takes, as ``Identifier.viewer`` decides it (``None``:
    nobody in particular); the same refusals. ``mode``: the identity mode this process
    asks for (the database's decides)."""
    claimed = check_text(claimed, "--as") if claimed else None
    p = PERSON.c
    if identity_mode(s, mode) == "os":
        person = s.execute(select(PERSON).where(p.login == account)).first()
        if claimed and (person is None or person.email != claimed.lower()):
            raise IdentityError.not_you(claimed, person.email if person else None, account)
        return person
    if not claimed:
        return None
    person = s.execute(select(PERSON).where(p.email == claimed.lower())).first()
    if person is None:
        raise NotFoundError("person", claimed)
    return person


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def detail(r: Any, rep: Any, recs: Sequence[Any], today: date) -> dict[str, Any]:
    """The response's fields, deadlines and recommendations (``show``'s first part)."""
    return {
        "id": r.id, "version": r.version, "state": r.state, "force": r.force,
        "report": {"id": rep["id"], "title": rep["title"],
                   "published_on": rep["published_on"].isoformat(),
                   "publication_types": rep["publication_types"],
                   "police_forces": rep["police_forces"], "link": rep["link"]},
        "deadline": r.deadline.isoformat(),
        "statutory_deadline": statutory_deadline(rep["published_on"]).isoformat(),
        "deadline_overridden": bool(r.deadline_overridden),
        "stated_deadline": _iso(r.stated_deadline),
        "force_input_due": _iso(r.force_input_due),
        "signoff_due": r.signoff_due.isoformat(),
        **status(r, today),
        "key_findings": r.key_findings, "cc_response": r.cc_response,
        "pcc_response": r.pcc_response, "afi_statement": r.afi_statement,
        "published_url": r.published_url, "published_on": _iso(r.published_on),
        "portal_reference": r.portal_reference, "closed_reason": r.closed_reason,
        "recommendations": [
            {"number": x.number, "due_date": _iso(x.due_date), "directed_at": x.directed_at,
             "text": x.text, "force_response": x.force_response, "pcc_note": x.pcc_note}
            for x in recs],
    }


def show(db: Database, clock: Clock, mode: str | None, account: str, response_id: int,
         actor: str | None) -> dict[str, Any]:
    """One response in full, with the triggers ``actor`` may fire now."""
    today = london_today(clock)

    def read(s: Session) -> tuple[Any, ...]:
        row, report, recs = _response(s, response_id)
        person = viewer(s, mode, account, actor)
        a = AREA_FOR_IMPROVEMENT.c
        afis = list(s.execute(select(AREA_FOR_IMPROVEMENT)
                              .where(a.response_id == response_id)
                              .order_by(a.number)))
        names = {e: n for e, n in s.execute(select(PERSON.c.email, PERSON.c.name))}
        return row, report, recs, person, afis, events(s, response_id), \
            nobody_can_act(s, today).get(State(row.state)), names

    row, report, recs, person, afis, evs, stuck, names = db.query(read)
    out = detail(row, report, recs, today)
    ticked = ticked_from_log(evs)
    out.update({
        "nobody_can_act": stuck, "signed_off": signed(evs, names),
        "areas_for_improvement": [{"number": a.number, "text": a.text,
                                   "force_response": a.force_response} for a in afis],
        "office_use": {**{item.value: at.isoformat() if at else None
                          for item, at in ticked.items()}, "published_url": row.published_url},
        # The Act counts calendar days; officers work on working days: say so when they differ.
        "deadline_not_working_day": deadline_note(row.deadline),
        "allowed_triggers": allowed_triggers(State(row.state), person.roles,
                                             active=person.active) if person else [],
        "allowed_for": person.email if person else None,
    })
    return out


def event_dict(e: Any) -> dict[str, Any]:
    """One event as ``s55 log --json`` and ``audit export`` give it (model or row)."""
    return {"id": e.id, "at": e.at.isoformat(), "actor": e.actor, "action": e.action,
            "trigger": e.trigger, "from_state": e.from_state, "to_state": e.to_state,
            "reason": e.reason, "payload": json.loads(e.payload), "hash": e.hash,
            "prev_hash": e.prev_hash, "response_id": e.response_id,
            "channel": e.channel, "account": e.account, "host": e.host,
            "identity": e.identity, "on_behalf_of": e.on_behalf_of}


def _rule(rule: Any, summary: Any) -> str:
    """``F-2 "Force comments outstanding"`` (the id alone for an event that kept no
    summary)."""
    return f'{rule} "{summary}"' if summary else str(rule)


def _escalation(action: str, payload: dict[str, Any]) -> str:
    """Which rule fired, or which was superseded and by which, named as the policy names
    them."""
    rule = _rule(payload.get("rule"), payload.get("summary"))
    if action == Action.ESCALATION_SUPERSEDED:
        # "by"/"by_summary": how events recorded it before "superseded_by".
        by = payload.get("superseded_by", payload.get("by"))
        if payload.get("asked_at"):
            return (f"{rule} (due {payload.get('due_on')}) held back: the same people were "
                    f"asked when it was {trigger_done(str(by))}, {when(payload['asked_at'])}")
        summary = payload.get("superseded_by_summary", payload.get("by_summary"))
        return (f"{rule} (due {payload.get('due_on')}) superseded by {_rule(by, summary)}, "
                "sent instead")
    return f"{rule} (due {payload.get('due_on')})"


def _edited(payload: dict[str, Any], actor: str) -> str:
    """What an edit changed, and for whom a deputy made it."""
    if "added_recommendation" in payload:
        return f"added recommendation {payload['added_recommendation'].get('number')}"
    rec, area = payload.get("recommendation"), payload.get("area")
    where = (f"recommendation {rec} " if rec is not None else
             f"area for improvement {area} " if area is not None else "")
    deputy = (f" by {actor} for {payload.get('for')} under delegation "
              f"#{payload['delegation']}" if payload.get("delegation") else "")
    return (f"{where}{payload.get('field', '')}" + ("" if payload.get("value") else
                                                    " cleared") + deputy)


def describe(action: str, payload: dict[str, Any], actor: str = "") -> str:
    """A few words on what an event did, for the printed state log."""
    if action in (Action.ESCALATION, Action.ESCALATION_SUPERSEDED):
        return _escalation(action, payload)
    if action == Action.EDITED:
        return _edited(payload, actor)
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
    if action == Action.LINK_ISSUED:
        return "; ".join(f"link #{e.get('link')} ({e.get('kind')}) to {e.get('to')} until "
                         f"{when(e.get('expires_at'))}"
                         for e in payload.get("links", []))
    if action.startswith("mail_") or action == Action.LINK_SENT:
        to = payload.get("to") or payload.get("recipient") or ""
        return f"{payload.get('kind', '')} {to}".strip()
    return _described(action, payload)


def _described(action: str, payload: dict[str, Any]) -> str:
    """``describe``'s words for the events that carry no change of a person or a text."""
    if action == Action.CREATED and isinstance(payload.get("feed"), dict):
        return f"from HMICFRS's feed: {payload['feed'].get('link') or '(no link)'}"
    if action == Action.FEED_DIGEST:
        return f"{len(payload.get('items', []))} national report(s) listed to the admins"
    return "to the read-only pages" if action == Action.SIGNED_IN else ""


def provenance(e: dict[str, Any]) -> str:
    """Where an event came from, in words, for the printed state log."""
    if not e.get("channel"):
        return "written before provenance was recorded"
    out = f"{e['channel']}, account {e['account']}@{e['host']}, {e['identity']}"
    payload = e.get("payload")
    if isinstance(payload, dict) and e.get("identity") == "link" and payload.get("link"):
        out += f" #{payload['link']}"  # the personal link that authorised it
    return out + (f", on behalf of {e['on_behalf_of']}" if e.get("on_behalf_of") else "")


def log(db: Database, response_id: int) -> list[dict[str, Any]]:
    """The state log of one response, oldest first (``NotFoundError`` for an unknown id)."""
    def read(s: Session) -> list[Any]:
        r = RESPONSE.c
        if s.execute(select(r.id).where(r.id == response_id)).first() is None:
            raise NotFoundError("response", response_id)
        return events(s, response_id)

    return [event_dict(e) for e in db.query(read)]


def export_events(db: Database, response_id: int | None = None) -> Iterator[str]:
    """Every event (or one response's) as a JSON line, oldest first, streamed."""
    e = AUDIT_EVENT.c
    stmt = select(AUDIT_EVENT).order_by(e.id)
    if response_id is not None:
        stmt = stmt.where(e.response_id == response_id)
    with db.read() as s:
        for event in s.execute(stmt.execution_options(yield_per=5000)):
            yield json.dumps(event_dict(event), ensure_ascii=False)
