"""The log ``bench.bench_verify`` verifies: responses written as s55 writes them, event by
event, with the rows to match (SQLite).

Each response: ``created``, an edit of a text section, a force's answer to a recommendation
(three events recording the fingerprint of the content after them, as
``workflow.responses.content`` records it), ``request_force_input``, and three mails queued
and sent (events of their own): ten events, three of them content changes. Every event is
chained, with its provenance, and signed with the audit key; the response and recommendation
rows are what the events leave.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from workflow.assurance import replay
from workflow.audit import trail
from workflow.documents.signature import TEXT_VERSION, fingerprint_of
from workflow.keys.audit_key import Keyring
from workflow.storage.db import Database
from workflow.storage.models import AuditEvent, InspectionReport, Recommendation, Response

EVENTS_PER_RESPONSE = 10
_BY = trail.Provenance("cli", "bench", "bench-host", "claimed")


def _report(rid: int) -> dict[str, Any]:
    return {"title": f"PEEL spotlight report {rid}", "published_on": "2024-10-10",
            "publication_types": "PEEL and spotlight", "police_forces": "All forces",
            "link": f"https://www.justiceinspectorates.gov.uk/hmicfrs/r/{rid}",
            "link_label": "", "force": None,
            "key_findings": f"Most forces need to improve ({rid}). " * 20,
            "recommendations": [{"number": n, "text": f"By 31 March 2025, forces should act "
                                 f"on item {n}.", "due_date": "2025-03-31",
                                 "directed_at": "chief constables", "force_response": None,
                                 "pcc_note": None} for n in (1, 2, 3)],
            "areas_for_improvement": [], "afi_statement": "There are none.",
            "recommendations_intro": None, "cc_response": None, "pcc_response": None}


def _events(rid: int) -> list[dict[str, Any]]:
    """One response's events (without fingerprints), in order."""
    mail = [("mail_queued", {"outbox": rid * 3 + k, "to": f"p{k}@opcc.example"})
            for k in range(3)] + [("mail_sent", {"outbox": rid * 3 + k}) for k in range(3)]
    return [
        {"action": "created", "to_state": "draft", "payload": {
            "report": _report(rid), "report_id": rid, "force": "Norfolk",
            "deadline": "2024-12-04", "signoff_due": "2024-11-20", "again_of": None}},
        {"action": "edited", "payload": {"field": "cc_response",
                                         "value": f"The force accepts report {rid}. " * 10}},
        {"action": "edited", "payload": {"recommendation": 1, "field": "force_response",
                                         "value": f"We have acted on it ({rid})."}},
        {"action": "transition", "trigger": "request_force_input", "from_state": "draft",
         "to_state": "force_input", "payload": {"force_input_due": "2024-11-06"}},
        *({"action": a, "payload": p} for a, p in mail),
    ]


def build(db: Database, events: int, ring: Keyring, *, batch: int = 20_000) -> str:
    """About ``events`` events (a whole number of responses) and their rows; the head."""
    responses = max(1, events // EVENTS_PER_RESPONSE)
    done = replay.Replay()
    prev, at, event_id = trail.GENESIS, datetime(2024, 10, 14, 9, tzinfo=UTC), 0
    rows: list[dict[str, Any]] = []
    with db.engine.begin() as conn:
        for rid in range(1, responses + 1):
            for spec in _events(rid):
                event_id += 1
                payload = spec["payload"]
                if spec["action"] in replay.ACTIONS:
                    done.event(event_id, rid, spec["action"], spec.get("to_state"),
                               trail.canonical_payload(payload))
                if spec["action"] in ("created", "edited"):  # the content after it
                    payload = {**payload, "fingerprint": fingerprint_of(
                        replay.view(done.images[rid])), "text_version": TEXT_VERSION}
                at += timedelta(milliseconds=7)
                row = trail._row({**spec, "payload": payload, "response_id": rid, "at": at,
                                  "actor": "ann.admin@opcc.example", "by": _BY})
                prev = trail._chain(row, prev)
                row["key_id"], row["mac"] = ring.sign(row["hash"])
                rows.append(row)
            if len(rows) >= batch:
                conn.execute(insert(AuditEvent), rows)
                rows = []
        if rows:
            conn.execute(insert(AuditEvent), rows)
        _rows(conn, done, at)
    return prev


def _rows(conn: Any, done: replay.Replay, at: datetime) -> None:
    """The report, response and recommendation rows the events leave."""
    reports, responses, recs = [], [], []
    for rid, image in done.images.items():
        rep = image.report
        reports.append({"id": rid, "created_at": at, **{k: rep[k] for k in (
            "title", "published_on", "publication_types", "police_forces", "link",
            "link_label")}})
        values = {k: v for k, v in image.values.items()}
        responses.append({"id": rid, "report_id": rid, "force": image.force, "created_at": at,
                          "updated_at": at, **values})
        recs += [{"response_id": rid, "number": n, **{k: r.get(k) for k in replay.REC_FIELDS}}
                 for n, r in image.recommendations.items()]
    conn.execute(insert(InspectionReport), reports)
    conn.execute(insert(Response), responses)
    conn.execute(insert(Recommendation), recs)
