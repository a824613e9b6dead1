"""Large synthetic data written with raw SQL (fast), shaped like 20 years of 43 forces,
and variants of the reference response document."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from states import State
from states.deadlines import statutory_deadline
from workflow.audit.trail import GENESIS, canonical_payload, chain_hash
from workflow.core.dates import format_date
from workflow.storage.db import Database
from workflow.storage.models import AuditEvent, InspectionReport, Response

#: The reference document (Norfolk's published response), as the tests keep it.
NORFOLK = Path(__file__).resolve().parent.parent / "tests" / "data" / \
    "norfolk-asb-spotlight-2024.md"
FORCES = [f"Force {i:02d}" for i in range(43)]
OPEN_STATES = [State.DRAFT, State.FORCE_INPUT, State.PCC_SIGNOFF, State.FORWARDED_TO_PANEL,
               State.PUBLISHED]


def responses(db: Database, total: int, open_count: int, *, today: date,
              batch: int = 5000) -> None:
    """``total`` responses, of which ``open_count`` are open (the rest portal_submitted)."""
    now = datetime.now(UTC)
    start = today - timedelta(days=20 * 365)
    step = (20 * 365) / max(total - open_count, 1)
    with db.engine.begin() as conn:
        for lo in range(0, total, batch):
            reports, rows = [], []
            for i in range(lo, min(lo + batch, total)):
                is_open = i >= total - open_count
                published = today - timedelta(days=(i % 50)) if is_open else \
                    start + timedelta(days=int((i) * step))
                reports.append({"id": i + 1, "title": f"HMICFRS inspection {i}",
                                "published_on": published, "publication_types": "PEEL",
                                "police_forces": "All", "link": "https://example.org",
                                "created_at": now})
                deadline = statutory_deadline(published)
                state = OPEN_STATES[i % len(OPEN_STATES)] if is_open else State.PORTAL_SUBMITTED
                rows.append({"id": i + 1, "report_id": i + 1, "force": FORCES[i % 43],
                             "state": state.value, "version": 1, "deadline": deadline,
                             "deadline_overridden": False, "signoff_due": deadline,
                             "published_on": None if is_open else deadline,
                             "created_at": now, "updated_at": now})
            conn.execute(insert(InspectionReport), reports)
            conn.execute(insert(Response), rows)
        if db.dialect == "postgresql":
            for table in ("inspection_report", "response"):
                conn.exec_driver_sql(f"SELECT setval('{table}_id_seq', {total})")


def audit_events(db: Database, count: int, *, batch: int = 20000) -> str:
    """``count`` chained events over 100k responses; returns the head hash."""
    at = datetime(2010, 1, 1, tzinfo=UTC)
    prev = GENESIS
    with db.engine.begin() as conn:
        for lo in range(0, count, batch):
            rows = []
            for i in range(lo, min(lo + batch, count)):
                e: dict[str, Any] = {
                    "response_id": i % 100_000 + 1, "at": at + timedelta(seconds=i),
                    "actor": "officer@opcc.example", "action": "transition",
                    "trigger": "publish", "from_state": "forwarded_to_panel",
                    "to_state": "published", "reason": None,
                    "payload": canonical_payload({"url": f"https://opcc.example/r/{i}"})}
                e["prev_hash"] = prev
                e["hash"] = prev = chain_hash(prev, (
                    e["response_id"], e["at"].isoformat(timespec="microseconds"), e["actor"],
                    e["action"], e["trigger"], e["from_state"], e["to_state"], e["reason"],
                    e["payload"]))
                rows.append(e)
            conn.execute(insert(AuditEvent), rows)
    return prev


def variant(text: str, i: int, *, only_title: bool = False) -> str:
    """The Norfolk document as report ``i``: its own title, and unless ``only_title`` its
    own date and one of four writing styles (bold headings or not, extra blank lines,
    CRLF line endings)."""
    out = text.replace("PEEL spotlight report\n", f"PEEL spotlight report (variant {i})\n", 1)
    if only_title:
        return out
    published = date(2024, 10, 10) + timedelta(days=i % 300)
    out = out.replace("10 October 2024", format_date(published), 1)
    style = i % 4
    if style == 1:
        out = re.sub(r"^(#+) \*\*(.*)\*\*$", r"\1 \2", out, flags=re.M)
    elif style == 2:
        out = out.replace("\n\n", "\n\n\n")
    elif style == 3:
        out = out.replace("\n", "\r\n")
    return out
