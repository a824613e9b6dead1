"""What the pages show, read from the library: a response for its approver's page (with
the published render and its fingerprint for the PCC), the open responses and one
response's state log with the audit chain's verdict for readers."""

from __future__ import annotations

import hashlib
import re
from datetime import date, timedelta
from typing import Any

from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from states.deadlines import outcome_text
from states.words import trigger_past
from workflow.assurance import checkpoints
from workflow.core.clock import london_today
from workflow.core.dates import format_date
from workflow.documents import signature
from workflow.documents.render import load_view, render_view
from workflow.reads.detail import describe, log, show
from workflow.storage.loading import Loaded, load
from workflow.storage.tables import AREA_FOR_IMPROVEMENT, AUDIT_EVENT
from workflow.web.context import Web

_BODY = re.compile(r"<main[^>]*>(.*)</main>", re.S)
_AFI: Any = AREA_FOR_IMPROVEMENT
_EVENT: Any = AUDIT_EVENT


def document_body(html: str) -> Markup:
    """The ``<main>`` of a rendered response page: the published text, as ``s55 render
    --format html`` writes it (escaped by its own templates; its ``<style>`` is left out,
    our stylesheet applies, and the Content-Security-Policy stops any script)."""
    found = _BODY.search(html)
    return Markup(found.group(1) if found else "")  # noqa: S704 - escaped by the render


def approver_page(w: Web, response_id: int, kind: str) -> dict[str, Any]:
    """The response as its approver's page shows it."""
    with w.db.read() as s:
        loaded = load(s, response_id)
        r, rep = loaded.response, loaded.report
        data: dict[str, Any] = {
            "id": r.id, "version": r.version, "state": r.state, "force": r.force,
            "title": rep.title, "link": rep.link, "published_on": rep.published_on,
            "deadline": r.deadline, "force_input_due": r.force_input_due,
            "cc_response": r.cc_response, "pcc_response": r.pcc_response,
            "recommendations": [{"number": x.number, "text": x.text, "due_date": x.due_date,
                                 "force_response": x.force_response, "pcc_note": x.pcc_note}
                                for x in loaded.recommendations],
            "areas": [{"number": a.number, "text": a.text, "force_response": a.force_response}
                      for a in loaded.areas],
            "example_date": example_date(london_today(w.clock), r.deadline),
        }
        if kind in ("pcc", "deputy"):
            key = content_key(s, loaded)
            cached = w.rendered.get(key)
            if cached is None:
                html = render_view(load_view(s, response_id), "html",
                                   template_dir=w.settings.template_dir)
                cached = (signature.fingerprint(s, loaded), document_body(html))
                w.rendered.put(key, cached)
            data["fingerprint"], data["document"] = cached
    return data


def example_date(today: date, deadline: date) -> str:
    """A date for a form's hint, as the en-GB date box shows dates (dd/mm/yyyy), that the
    form would accept: two weeks from today, or the deadline when that comes sooner
    (computed: never a date gone by)."""
    return f"{max(today, min(today + timedelta(days=14), deadline)):%d/%m/%Y}"


def _columns(row: Any) -> tuple[Any, ...]:
    return tuple(getattr(row, c.key) for c in row.__table__.columns)


def content_key(s: Session, loaded: Loaded) -> str:
    """A digest of everything the PCC page's render and fingerprint read, as the rows hold
    it now: the response row, its report, recommendations and areas for improvement, and
    its last event (the office-use boxes and the signature line come from the log). Not
    the version: a row changed behind s55's back keeps it, and the page must show (and
    fingerprint) the text as it is."""
    rid = loaded.response.id
    afis = s.execute(select(_AFI.c.number, _AFI.c.text, _AFI.c.force_response)
                     .where(_AFI.c.response_id == rid).order_by(_AFI.c.number)).all()
    last = s.execute(select(func.max(_EVENT.c.id)).where(_EVENT.c.response_id == rid)).scalar()
    parts = (_columns(loaded.response), _columns(loaded.report),
             [_columns(x) for x in loaded.recommendations], [tuple(a) for a in afis], last)
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def chain_verdict(w: Web) -> tuple[bool, list[str]]:
    """The audit verdict, and exactly what was checked when (``workflow.web.verdict``)."""
    found = w.watch.verdict(w.db, checkpoints.keyring(w.settings), w.clock)
    return found.ok, found.lines


def response_detail(w: Web, response_id: int) -> dict[str, Any]:
    detail = show(w.db, w.clock, w.settings.identity, "", response_id, None)
    detail["log"] = [{**e, "what": " ".join(x for x in (trigger_past(e["trigger"]) if e["trigger"]
                                                        else e["action"],
                                                        describe(e["action"], e["payload"],
                                                                 e["actor"])) if x)}
                     for e in log(w.db, response_id)]
    outcome = detail.get("outcome") or {}
    detail["outcome_text"] = outcome_text(outcome) if outcome else ""
    detail["deadline_text"] = format_date(date.fromisoformat(str(detail["deadline"])))
    ok, lines = chain_verdict(w)
    detail["audit"] = {"ok": ok, "lines": lines}
    detail["today"] = format_date(london_today(w.clock))
    return detail
