"""Replay: rebuild every response from its events and compare it with the rows.

The rows are what ``show`` and ``list`` read; the events are what the chain (and the key)
protect. Someone who changes a row behind s55's back (``UPDATE response SET state =
'published'``, a PCC response rewritten after sign-off) leaves a row that no longer equals the
replay of its own events; ``s55 audit verify`` and ``s55 doctor`` report each difference,
naming the response, the field, the row's value and the log's.

Every write to a response is an event carrying what it set: ``created`` and ``imported``
the whole first version, ``edited`` the field and its new text, ``transition`` the state
and the values the trigger recorded, ``deadline_override`` the new deadline. Fields the log
of an older database does not determine (an import made before imports recorded their
text, say) are left out of the comparison, never guessed.

The report row (title, link, types, forces) is not compared: an ``edited`` event naming a
report field (``s55 report edit``) counts toward the version only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select

from workflow.mail.digest import altered
from workflow.storage.db import Database
from workflow.storage.models import AuditEvent, Recommendation, Response

#: Response columns the log determines (besides state and version).
TEXT_FIELDS = ("key_findings", "cc_response", "pcc_response", "afi_statement",
               "recommendations_intro")
DATE_FIELDS = ("deadline", "stated_deadline", "force_input_due", "signoff_due", "published_on")
OTHER_FIELDS = ("deadline_overridden", "published_url", "portal_reference", "closed_reason")
#: Values a transition may record on the row (its payload may carry more, e.g. a fingerprint).
TRANSITION_FIELDS = ("force_input_due", "published_url", "published_on", "portal_reference",
                     "closed_reason")
REC_FIELDS = ("text", "due_date", "force_response", "pcc_note")


@dataclass
class Image:
    """A response as its events say it is."""

    values: dict[str, Any] = field(default_factory=dict)
    recommendations: dict[int, dict[str, Any]] = field(default_factory=dict)
    unknown: set[str] = field(default_factory=set)  # fields the log does not determine

    def set(self, **values: Any) -> None:
        for key, value in values.items():
            self.values[key] = value
            self.unknown.discard(key)

    def bump(self) -> None:
        self.values["version"] = self.values.get("version", 0) + 1


def _day(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) and value else value or None


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _rec(data: dict[str, Any]) -> dict[str, Any]:
    return {"text": data.get("text"), "due_date": _day(data.get("due_date")),
            "force_response": _text(data.get("force_response")),
            "pcc_note": _text(data.get("pcc_note"))}


def _created(image: Image, event: AuditEvent, payload: dict[str, Any]) -> None:
    report = payload.get("report", {})
    image.set(state=event.to_state, version=1, deadline=_day(payload.get("deadline")),
              deadline_overridden=False, stated_deadline=None, force_input_due=None,
              published_url=None, published_on=None, portal_reference=None, closed_reason=None,
              **{f: _text(report.get(f)) for f in TEXT_FIELDS})
    if "signoff_due" in payload:
        image.set(signoff_due=_day(payload["signoff_due"]))
    else:
        image.unknown.add("signoff_due")
    image.recommendations = {int(r["number"]): _rec(r) for r in report.get("recommendations", [])}


def _imported(image: Image, event: AuditEvent, payload: dict[str, Any]) -> None:
    image.set(state=event.to_state, version=1, deadline=_day(payload.get("deadline")),
              deadline_overridden=False, force_input_due=None, portal_reference=None,
              closed_reason=None)
    stated = _day(payload.get("stated_deadline"))
    image.set(stated_deadline=stated if stated != image.values["deadline"] else None)
    row = payload.get("row")
    if row is None:  # imported before imports recorded their content in the event
        image.unknown.update({*TEXT_FIELDS, "signoff_due", "published_url", "published_on",
                              "recommendations"})
        return
    image.set(signoff_due=_day(row.get("signoff_due")), published_url=row.get("published_url"),
              published_on=_day(row.get("published_on")),
              **{f: _text(row.get(f)) for f in TEXT_FIELDS})
    image.recommendations = {int(r["number"]): _rec(r) for r in row.get("recommendations", [])}


def _edited(image: Image, payload: dict[str, Any]) -> None:
    image.bump()
    if "added_recommendation" in payload:
        rec = payload["added_recommendation"]
        image.recommendations[int(rec["number"])] = _rec(rec)
    elif "recommendation" in payload:
        rec = image.recommendations.setdefault(int(payload["recommendation"]), {})
        rec[payload["field"]] = _text(payload.get("value"))
    elif payload.get("field") in TEXT_FIELDS:
        image.set(**{payload["field"]: _text(payload.get("value"))})


def _transition(image: Image, event: AuditEvent, payload: dict[str, Any]) -> None:
    image.bump()
    image.set(state=event.to_state)
    for key in TRANSITION_FIELDS:
        if key in payload:
            value = payload[key]
            image.set(**{key: _day(value) if key in DATE_FIELDS else value})


def _deadline(image: Image, payload: dict[str, Any]) -> None:
    image.bump()
    new = _day(payload["to"])
    image.set(deadline=new, deadline_overridden=new != _day(payload.get("statutory")))
    if "signoff_due" in payload:
        image.set(signoff_due=_day(payload["signoff_due"]))
    else:
        image.unknown.add("signoff_due")


def replay(events: Iterable[AuditEvent]) -> dict[int, Image]:
    """Every response the events name, rebuilt from them (events in log order)."""
    images: dict[int, Image] = {}
    for event in events:
        if event.response_id is None:
            continue
        image = images.setdefault(event.response_id, Image())
        payload = json.loads(event.payload or "{}")
        match event.action:
            case "created":
                _created(image, event, payload)
            case "imported":
                _imported(image, event, payload)
            case "edited":
                _edited(image, payload)
            case "transition":
                _transition(image, event, payload)
            case "deadline_override":
                _deadline(image, payload)
    return images


@dataclass(frozen=True)
class Difference:
    response_id: int
    field: str
    row: Any
    log: Any

    def describe(self) -> str:
        if self.field.startswith("outbox "):
            return f"response {self.response_id}: {self.field}: {self.log}"
        return (f"response {self.response_id}: {self.field} is {self.row!r} in the row but "
                f"{self.log!r} by its events")


def _row_values(response: Response) -> dict[str, Any]:
    names = ("state", "version", *TEXT_FIELDS, *DATE_FIELDS, *OTHER_FIELDS)
    return {name: getattr(response, name) for name in names}


def compare(response: Response | None, recommendations: list[Recommendation],
            image: Image | None, response_id: int) -> Iterator[Difference]:
    """The differences between one response's rows and its replay."""
    if response is None:
        yield Difference(response_id, "row", None, "the log names this response")
        return
    if image is None or "state" not in image.values:
        yield Difference(response_id, "events", "a row exists", "no event created it")
        return
    row = _row_values(response)
    for name, value in row.items():
        if name in image.unknown or name not in image.values:
            continue
        if image.values[name] != value:
            yield Difference(response_id, name, value, image.values[name])
    if "recommendations" not in image.unknown:
        yield from _compare_recommendations(response_id, recommendations, image)


def _compare_recommendations(response_id: int, recommendations: list[Recommendation],
                             image: Image) -> Iterator[Difference]:
    stored = {r.number: {f: getattr(r, f) for f in REC_FIELDS} for r in recommendations}
    for number in sorted(set(stored) | set(image.recommendations)):
        have, want = stored.get(number), image.recommendations.get(number)
        if have is None or want is None:
            yield Difference(response_id, f"recommendation {number}",
                             "present" if have else "absent", "present" if want else "absent")
            continue
        for name in REC_FIELDS:
            if name in want and have[name] != want[name]:
                yield Difference(response_id, f"recommendation {number} {name}", have[name],
                                 want[name])


def verify(db: Database) -> list[Difference]:
    """Replay the whole log and compare every response row with it."""
    events = AuditEvent.__table__  # type: ignore[attr-defined]

    def read(s: Any) -> list[Difference]:
        rows = s.execute(select(events).order_by(events.c.id))
        images = replay(AuditEvent(**r._mapping) for r in rows)
        responses = {r.id: r for r in s.scalars(select(Response))}
        recs: dict[int, list[Recommendation]] = {}
        for rec in s.scalars(select(Recommendation)):
            recs.setdefault(rec.response_id, []).append(rec)
        found: list[Difference] = []
        for rid in sorted(set(responses) | set(images)):
            found += compare(responses.get(rid), recs.get(rid, []), images.get(rid), rid)
        for outbox_id, (rid, why) in sorted(altered(s).items()):
            found.append(Difference(rid or 0, f"outbox {outbox_id}", "changed",
                                    why.removeprefix("refused: ")))
        return found

    return db.query(read)
