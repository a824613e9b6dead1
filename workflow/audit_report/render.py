"""The auditor's report as HTML, CSV or JSON.

- HTML: one standalone page in the spirit of the GOV.UK design system: plain accessible
  markup, no JavaScript, no external asset, prints cleanly; the chart is an inline SVG
  with a table of the same figures. Jinja2 with autoescaping: stored text is never markup.
- CSV: one row per response under a header row, for a spreadsheet. A cell that starts
  with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'`` so a
  spreadsheet shows it instead of running it as a formula (OWASP, "CSV Injection").
- JSON: the whole report with the same keys every time (absent values are null).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from notifications.hrefs import safe_href
from states.deadlines import STATUTE_RULE
from states.words import due_in, published_margin
from workflow.audit_report.chart import bar_chart
from workflow.audit_report.model import (
    OUTCOME_TEXT,
    TIMED_STATES,
    AuditReport,
    Outcome,
    RecordCheck,
    ResponseLine,
    SignOff,
)
from workflow.core.clock import LONDON
from workflow.core.errors import InvalidInputError

FORMATS: tuple[str, ...] = ("html", "csv", "json")
TEMPLATES = Path(__file__).with_name("templates")


def check_format(fmt: str) -> str:
    """``fmt`` if it is one of ``FORMATS``, else an ``InvalidInputError``."""
    if fmt not in FORMATS:
        raise InvalidInputError("--format", f"{fmt!r} is not one of {', '.join(FORMATS)}")
    return fmt


def render_report(report: AuditReport, fmt: str) -> str:
    """The report as text in ``fmt`` (html, csv or json)."""
    renderers: dict[str, Callable[[AuditReport], str]] = {
        "html": to_html, "csv": to_csv, "json": to_json}
    return renderers[check_format(fmt)](report)


# -- shared wording ----------------------------------------------------------------------

def long_date(day: date | None) -> str:
    return "" if day is None else f"{day.day} {day:%B %Y}"


def local_time(at: datetime | None) -> str:
    """An instant as a UK reader reads it: "4 November 2024 09:00 GMT"."""
    if at is None:
        return ""
    here = at.astimezone(LONDON)
    return f"{long_date(here.date())} {here:%H:%M %Z}"


def duration(seconds: int) -> str:
    """"8 days", "2 days 3 hours", "5 hours", "under an hour"."""
    days, hours = divmod(seconds // 3600, 24)
    parts = [f"{n} {unit}{'' if n == 1 else 's'}"
             for n, unit in ((days, "day"), (hours, "hour")) if n]
    return " ".join(parts) or "under an hour"


def timeliness(line: ResponseLine) -> str:
    """"published 30 days early", "published on the deadline", "published 7 days late",
    "18 days overdue": the words of every page and mail (``states.words``)."""
    if line.days_early is not None:
        return published_margin(line.days_early)
    if line.days_late is not None:
        return (published_margin(-line.days_late) if line.outcome is Outcome.LATE
                else due_in(-line.days_late))
    if line.days_left is not None:
        return due_in(line.days_left)
    return ""


def rate_text(report: AuditReport) -> str:
    s = report.summary
    if s.rate is None:
        return "no response was due"
    return f"{s.rate:.1%} ({s.on_time} of {s.counted} on time)"


def signed_text(line: ResponseLine) -> str:
    """Who signed off; an imported response not signed in s55 says where it came from."""
    if line.signed_off is not None:
        return line.signed_off.signer()
    if line.imported is not None:
        return f"imported, not signed in s55 (document SHA-256 {line.imported.sha256})"
    return ""


# -- HTML --------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(longdate=long_date, localtime=local_time, duration=duration,
                       safe_href=safe_href)
    env.globals.update(outcome_text=OUTCOME_TEXT, timeliness=timeliness,
                       signed_text=signed_text, timed_states=TIMED_STATES)
    return env


def to_html(report: AuditReport) -> str:
    template = _environment().get_template("audit_report.html.j2")
    return template.render(r=report, s=report.summary, chart=bar_chart(report.months),
                           rate=rate_text(report), rule=STATUTE_RULE)


# -- CSV ---------------------------------------------------------------------------------

CSV_COLUMNS: tuple[str, ...] = (
    "response_id", "force", "report_title", "report_published", "statutory_deadline",
    "deadline_in_force", "deadline_override_reason", "state", "published_on", "outcome",
    "counted", "days_early", "days_late", "signed_off_by", "signed_off_at",
    "signed_off_under_delegation", "imported_from", "document_sha256",
    *(f"days_in_{s}" for s in TIMED_STATES), "returns", "s55_6_copies", "closed_reason",
    "signed_off_as", "signed_fingerprint", "portal_reference", "days_left", "listed")

#: The ``listed`` column: a response of the period, or one still open from before it.
IN_PERIOD, EARLIER = "in period", "still open from an earlier period"

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = value.isoformat() if isinstance(value, date | datetime) else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv_row(line: ResponseLine, listed: str = IN_PERIOD) -> list[str]:
    signed: SignOff | None = line.signed_off
    imp = line.imported
    values: list[Any] = [
        line.response_id, line.force, line.title, line.report_published,
        line.statutory_deadline, line.deadline, line.deadline_override_reason, line.state,
        line.published_on, line.outcome.value, "yes" if line.outcome.counted else "no",
        line.days_early, line.days_late, signed.describe() if signed else None,
        signed.at if signed else None, signed.delegation if signed else None,
        imp.source if imp else None, imp.sha256 if imp else None,
        *(f"{line.time_in_state.get(s, 0) / 86400:.2f}" for s in TIMED_STATES),
        " | ".join(f"{r.at.isoformat()} {r.by} {r.trigger}: {r.reason}" for r in line.returns),
        " | ".join(f"{c.to} {c.status}" + (f" {c.sent_at.isoformat()}" if c.sent_at else "")
                   for c in line.copies),
        line.closed_reason, signed.signer() if signed else None,
        signed.fingerprint if signed else None, line.portal_reference, line.days_left, listed,
    ]
    return [_cell(v) for v in values]


def to_csv(report: AuditReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out)  # RFC 4180: CRLF line ends, quotes where needed
    writer.writerow(CSV_COLUMNS)
    writer.writerows(_csv_row(line) for line in report.responses)
    writer.writerows(_csv_row(line, EARLIER) for line in report.earlier)
    return out.getvalue()


# -- JSON --------------------------------------------------------------------------------

def _when(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _line_dict(line: ResponseLine) -> dict[str, Any]:
    signed, imp = line.signed_off, line.imported
    return {
        "response_id": line.response_id, "force": line.force, "report_title": line.title,
        "report_published": _when(line.report_published),
        "statutory_deadline": _when(line.statutory_deadline),
        "deadline_in_force": _when(line.deadline),
        "deadline_override_reason": line.deadline_override_reason, "state": line.state,
        "published_on": _when(line.published_on), "published_url": line.published_url,
        "outcome": line.outcome.value, "counted": line.outcome.counted,
        "days_early": line.days_early, "days_late": line.days_late,
        "signed_off": None if signed is None else {
            "at": _when(signed.at), "by": signed.by, "name": signed.name,
            "delegation": signed.delegation, "on_behalf_of": signed.on_behalf_of,
            "text": signed.describe(), "role": signed.role, "signer": signed.signer(),
            "fingerprint": signed.fingerprint},
        "imported": None if imp is None else {
            "at": _when(imp.at), "by": imp.by, "source": imp.source, "sha256": imp.sha256,
            "state": imp.state},
        "time_in_state_seconds": {s: line.time_in_state.get(s, 0) for s in TIMED_STATES},
        "returns": [{"at": _when(r.at), "by": r.by, "trigger": r.trigger,
                     "from_state": r.from_state, "to_state": r.to_state, "reason": r.reason}
                    for r in line.returns],
        "s55_6_copies": [{"to": c.to, "queued_at": _when(c.queued_at), "status": c.status,
                          "sent_at": _when(c.sent_at)} for c in line.copies],
        "closed_reason": line.closed_reason, "portal_reference": line.portal_reference,
        "days_left": line.days_left,
    }


def _check_dict(check: RecordCheck | None) -> dict[str, Any] | None:
    if check is None:
        return None
    return {"ok": check.ok, "events": check.events, "head": check.head,
            "signed": check.signed, "problems": list(check.problems),
            "verdict": check.verdict()}


def to_json(report: AuditReport) -> str:
    s = report.summary
    data = {
        "period": {"from": _when(report.start), "to": _when(report.end),
                   "selected_by": "report publication date"},
        "as_of": _when(report.as_of), "today": _when(report.today), "rule": STATUTE_RULE,
        # Every outcome's count; "counted" is on_time + late + overdue, the rate's base.
        "summary": {"responses": len(report.responses), **{o.value: s[o] for o in Outcome},
                    "counted": s.counted,
                    "on_time_rate": None if s.rate is None else round(s.rate, 4)},
        "months": [{"month": f"{m.first:%Y-%m}", "on_time": m.on_time, "late": m.late}
                   for m in report.months],
        "responses": [_line_dict(line) for line in report.responses],
        # Listed, not counted: their own period counts them.
        "still_open_from_earlier_periods": [_line_dict(line) for line in report.earlier],
        "record_check": _check_dict(report.check),
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
