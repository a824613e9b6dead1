"""Read models for the CLI: the dashboard list, one response in full, its state log.

Reads go through the read engine (no write lock) and return plain dicts ready for a
table or ``--json``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from workflow import reading
from workflow.dashboard import list_responses, status
from workflow.people import people
from workflow.reading import describe, event_dict, provenance
from workflow.service import Workflow
from workflow.storage.models import AuditEvent

__all__ = ["describe", "event_dict", "export_events", "list_responses", "log", "people",
           "provenance", "show", "status"]


def show(wf: Workflow, response_id: int, actor: str | None) -> dict[str, Any]:
    """One response in full, with the triggers ``actor`` may fire now (``reading.show``)."""
    return reading.show(wf.db, wf.clock, wf.identifier.mode, wf.identifier.origin.account,
                        response_id, actor)


def log(wf: Workflow, response_id: int) -> list[dict[str, Any]]:
    """The state log of one response, oldest first."""
    return reading.log(wf.db, response_id)


def export_events(wf: Workflow, response_id: int | None = None) -> Iterator[str]:
    """Every event (or one response's) as a JSON line, oldest first, streamed."""
    stmt = select(AuditEvent).order_by(col(AuditEvent.id))
    if response_id is not None:
        stmt = stmt.where(col(AuditEvent.response_id) == response_id)
    with wf.db.read() as s:
        for event in s.scalars(stmt.execution_options(yield_per=5000)):
            yield json.dumps(event_dict(event), ensure_ascii=False)
