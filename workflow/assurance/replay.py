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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select

from workflow.assurance import link_log, people_log
from workflow.assurance.difference import Difference
from workflow.keys.audit_key import Keyring
from workflow.mail.digest import altered
from workflow.storage.db import Database
from workflow.storage.models import AuditEvent
from workflow.storage.tables import AREA_FOR_IMPROVEMENT, RECOMMENDATION, RESPONSE

#: Response columns the log determines (besides state and version).
TEXT_FIELDS = ("key_findings", "cc_response", "pcc_response", "afi_statement",
               "recommendations_intro")
DATE_FIELDS = ("deadline", "stated_deadline", "force_input_due", "signoff_due", "published_on")
OTHER_FIELDS = ("deadline_overridden", "published_url", "portal_reference", "closed_reason")
#: Values a transition may record on the row (its payload may carry more, e.g. a fingerprint).
TRANSITION_FIELDS = ("force_input_due", "published_url", "published_on", "portal_reference",
                     "closed_reason")
REC_FIELDS = ("text", "due_date", "force_response", "pcc_note")
AREA_FIELDS = ("text", "force_response")


@dataclass
class Image:
    """A response as its events say it is."""

    values: dict[str, Any] = field(default_factory=dict)
    recommendations: dict[int, dict[str, Any]] = field(default_factory=dict)
    unknown: set[str] = field(default_factory=set)  # fields the log does not determine
    #: What the canonical text shows besides the row: the report (shared by every response
    #: of that report row), the force and the areas for improvement.
    report: dict[str, Any] = field(default_factory=dict)
    force: str = ""
    areas: list[dict[str, Any]] = field(default_factory=list)

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


def _areas(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(({"number": int(a["number"]), "text": a.get("text"),
                    "force_response": a.get("force_response")} for a in items),
                  key=lambda a: a["number"])


REPORT_KEYS = ("title", "published_on", "publication_types", "police_forces", "link",
               "link_label")


class Replay:
    """The log read once, oldest event first (``feed``); then ``compare`` with the rows.

    Each event that records a ``fingerprint`` (every content change, and sign-off) is
    checked as it is fed: the fingerprint of the replayed response after it must be the one
    the event recorded (``signature.fingerprint_of``, the one fingerprint s55 computes).
    """

    def __init__(self) -> None:
        self.images: dict[int, Image] = {}
        self.reports: dict[int, dict[str, Any]] = {}  # report id -> its fields, as replayed
        self.mismatches: list[Difference] = []
        #: People and delegations, links issued and mail sent: the rows beside responses
        #: that the log decides (``people_log``, ``link_log``).
        self.people = people_log.People()
        self.sent = link_log.Sent()
        from workflow.documents.signature import fingerprint_of  # Jinja: lazily

        self._fingerprint = fingerprint_of

    def row(self, row: Any) -> None:
        """One raw ``trail.VERIFIED_COLUMNS`` row (id, ..., response_id 3, action 6, to_state 9,
        payload 11)."""
        action = row[6]
        if row[3] is not None and action in ACTIONS:
            self.event(row[0], row[3], action, row[9], row[11])
        elif action in people_log.HANDLERS:
            self.people.row(row)
        elif action in link_log.ACTIONS:
            self.sent.row(row)

    def event(self, event_id: int, response_id: int, action: str, to_state: str | None,
              payload_text: str | None) -> None:
        image = self.images.get(response_id)
        if image is None:
            image = self.images[response_id] = Image()
        payload = json.loads(payload_text or "{}")
        ACTIONS[action](self, image, to_state, payload)
        stated = payload.get("fingerprint")
        if stated is not None and "fingerprint" not in image.unknown:
            # An event recorded before the text held the PCC's notes states version 1's.
            now = self._fingerprint(view(image), payload.get("text_version", 1))
            if now != stated:
                self.mismatches.append(Difference(
                    response_id, f"fingerprint after event {event_id}", stated[:16] + "...",
                    now[:16] + "..."))

    # -- one handler per action --------------------------------------------------------------

    def _report(self, image: Image, report_id: Any, fields: dict[str, Any]) -> None:
        """The image's report: the one replayed for ``report_id``, else its own copy."""
        known = self.reports.get(report_id) if report_id is not None else None
        if known is None:
            known = {k: fields.get(k) for k in REPORT_KEYS}
            known["published_on"] = _day(known["published_on"])
            if report_id is not None:
                self.reports[report_id] = known
        image.report = known

    def created(self, image: Image, to_state: str | None, payload: dict[str, Any]) -> None:
        report = payload.get("report", {})
        image.set(state=to_state, version=1, deadline=_day(payload.get("deadline")),
                  deadline_overridden=False, stated_deadline=None, force_input_due=None,
                  published_url=None, published_on=None, portal_reference=None,
                  closed_reason=None, **{f: _text(report.get(f)) for f in TEXT_FIELDS})
        if "signoff_due" in payload:
            image.set(signoff_due=_day(payload["signoff_due"]))
        else:
            image.unknown.add("signoff_due")
        image.recommendations = {int(r["number"]): _rec(r)
                                 for r in report.get("recommendations", [])}
        image.force = payload.get("force") or ""
        image.areas = _areas(report.get("areas_for_improvement", []))
        self._report(image, payload.get("report_id"), report)

    def imported(self, image: Image, to_state: str | None, payload: dict[str, Any]) -> None:
        image.set(state=to_state, version=1, deadline=_day(payload.get("deadline")),
                  deadline_overridden=False, force_input_due=None, portal_reference=None,
                  closed_reason=None)
        stated = _day(payload.get("stated_deadline"))
        image.set(stated_deadline=stated if stated != image.values["deadline"] else None)
        row = payload.get("row")
        if row is None:  # imported before imports recorded their content in the event
            image.unknown.update({*TEXT_FIELDS, "signoff_due", "published_url", "published_on",
                                  "recommendations", "areas", "fingerprint"})
            return
        image.set(signoff_due=_day(row.get("signoff_due")),
                  published_url=row.get("published_url"),
                  published_on=_day(row.get("published_on")),
                  **{f: _text(row.get(f)) for f in TEXT_FIELDS})
        image.recommendations = {int(r["number"]): _rec(r)
                                 for r in row.get("recommendations", [])}
        if "report" not in row:  # imported before imports recorded the report's fields
            image.unknown.update({"fingerprint", "areas"})
            return
        image.force = row.get("force") or ""
        image.areas = _areas(row.get("areas_for_improvement", []))
        self._report(image, row.get("report_id"), row["report"])

    def edited(self, image: Image, _to: str | None, payload: dict[str, Any]) -> None:
        image.bump()
        if "added_recommendation" in payload:
            rec = payload["added_recommendation"]
            image.recommendations[int(rec["number"])] = _rec(rec)
        elif "recommendation" in payload:
            rec = image.recommendations.setdefault(int(payload["recommendation"]), {})
            rec[payload["field"]] = _text(payload.get("value"))
        elif "area" in payload:
            number = int(payload["area"])
            for area in image.areas:
                if area["number"] == number:
                    area[payload["field"]] = _text(payload.get("value"))
        elif payload.get("field") in TEXT_FIELDS:
            image.set(**{payload["field"]: _text(payload.get("value"))})
        elif "report" in payload and payload.get("field") in REPORT_KEYS:
            image.report[payload["field"]] = payload.get("value")

    def transition(self, image: Image, to_state: str | None, payload: dict[str, Any]) -> None:
        image.bump()
        image.set(state=to_state)
        for key in TRANSITION_FIELDS:
            if key in payload:
                value = payload[key]
                image.set(**{key: _day(value) if key in DATE_FIELDS else value})

    def deadline(self, image: Image, _to: str | None, payload: dict[str, Any]) -> None:
        image.bump()
        new = _day(payload["to"])
        image.set(deadline=new, deadline_overridden=new != _day(payload.get("statutory")))
        if "signoff_due" in payload:
            image.set(signoff_due=_day(payload["signoff_due"]))
        else:
            image.unknown.add("signoff_due")


ACTIONS: dict[str, Callable[[Replay, Image, str | None, dict[str, Any]], None]] = {
    "created": Replay.created, "imported": Replay.imported, "edited": Replay.edited,
    "transition": Replay.transition, "deadline_override": Replay.deadline,
}


def view(image: Image) -> Any:
    """What the canonical text's template reads (a ``ResponseView``), from the replayed
    image."""
    from workflow.documents.render import ResponseView  # Jinja: lazily, as the fingerprint

    values = image.values
    r = SimpleNamespace(**{f: values.get(f) for f in TEXT_FIELDS}, deadline=values["deadline"],
                        published_url=None, portal_reference=None, force=image.force)
    recs = [SimpleNamespace(number=n, text=rec.get("text"),
                            force_response=rec.get("force_response"),
                            pcc_note=rec.get("pcc_note"))
            for n, rec in sorted(image.recommendations.items())]
    rows: Any = {"response": r, "report": SimpleNamespace(**image.report),
                 "recommendations": recs,
                 "areas_for_improvement": [SimpleNamespace(**a) for a in image.areas]}
    return ResponseView(**rows, checklist=_NO_BOXES,
                        link_label=image.report.get("link_label") or "",
                        recommendations_intro=values.get("recommendations_intro"))


_NO_BOXES = {"forwarded_to_chief_constable": False, "forwarded_to_panel": False,
             "published_on_website": False, "submitted_on_portal": False}


def replay(events: Iterable[AuditEvent]) -> dict[int, Image]:
    """Every response the events name, rebuilt from them (events in log order)."""
    return replayed(events).images


def replayed(events: Iterable[AuditEvent]) -> Replay:
    """The replay of ``events`` (model objects, in log order), fingerprints checked."""
    done = Replay()
    for e in events:
        if e.response_id is not None and e.action in ACTIONS:
            done.event(e.id or 0, e.response_id, e.action, e.to_state, e.payload)
    return done


def _row_values(response: Any) -> dict[str, Any]:
    names = ("state", "version", *TEXT_FIELDS, *DATE_FIELDS, *OTHER_FIELDS)
    return {name: getattr(response, name) for name in names}


def compare(response: Any, recommendations: list[Any], image: Image | None,
            response_id: int, areas: list[Any] | None = None) -> Iterator[Difference]:
    """The differences between one response's rows (a model or a row with its columns, or
    None; its recommendations and, when given, its areas for improvement) and its replay."""
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
    if areas is not None and "areas" not in image.unknown:
        yield from _compare_areas(response_id, areas, image)


def _compare_recommendations(response_id: int, recommendations: list[Any],
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


def _compare_areas(response_id: int, areas: list[Any], image: Image) -> Iterator[Difference]:
    stored = {a.number: {f: getattr(a, f) for f in AREA_FIELDS} for a in areas}
    replayed = {a["number"]: a for a in image.areas}
    for number in sorted(set(stored) | set(replayed)):
        have, want = stored.get(number), replayed.get(number)
        if have is None or want is None:
            yield Difference(response_id, f"area for improvement {number}",
                             "present" if have else "absent", "present" if want else "absent")
            continue
        for name in AREA_FIELDS:
            if have[name] != want.get(name):
                yield Difference(response_id, f"area for improvement {number} {name}",
                                 have[name], want.get(name))


def differences(db: Database, done: Replay, ring: Keyring | None = None) -> list[Difference]:
    """``done`` (the whole log fed to it) against the rows: the fingerprints that did not
    match, then every response and its recommendations, then the outbox, then people and
    delegations, links and sent mail (``ring``: the audit key, which proves links issued
    before links were recorded, and every link's token hash)."""
    names = ("id", "state", "version", *TEXT_FIELDS, *DATE_FIELDS, *OTHER_FIELDS)
    response_columns = [_RESPONSES.c[n] for n in names]
    rec_columns = [_RECS.c[n] for n in ("response_id", "number", *REC_FIELDS)]
    area_columns = [_AREAS.c[n] for n in ("response_id", "number", *AREA_FIELDS)]

    def read(s: Any) -> list[Difference]:
        # Core rows (attribute access like the models, without the ORM's cost per row).
        responses = {r.id: r for r in s.execute(select(*response_columns))}
        recs: dict[int, list[Any]] = {}
        for rec in s.execute(select(*rec_columns)):
            recs.setdefault(rec.response_id, []).append(rec)
        areas: dict[int, list[Any]] = {}
        for area in s.execute(select(*area_columns)):
            areas.setdefault(area.response_id, []).append(area)
        found = list(done.mismatches)
        for rid in sorted(set(responses) | set(done.images)):
            found += compare(responses.get(rid), recs.get(rid, []), done.images.get(rid), rid,
                             areas.get(rid, []))
        for outbox_id, (rid, why) in sorted(altered(s).items()):
            found.append(Difference(rid or 0, f"outbox {outbox_id}", "changed",
                                    why.removeprefix("refused: ")))
        found += people_log.differences(s, done.people)
        return found + link_log.differences(s, done.sent, ring)

    return db.query(read)


_RESPONSES: Any = RESPONSE
_RECS: Any = RECOMMENDATION
_AREAS: Any = AREA_FOR_IMPROVEMENT


def verify(db: Database, ring: Keyring | None = None) -> list[Difference]:
    """Replay the whole log (streamed, a lost connection resumed) and compare the rows."""
    from workflow.audit import trail

    done = Replay()
    for row in trail.rows(db):
        done.row(row)
    return differences(db, done, ring)
