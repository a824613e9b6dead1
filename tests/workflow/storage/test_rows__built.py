"""Records built from their columns (``workflow.storage.rows.built``, and the transition's
``responses.read``) hold what the models' constructors and the ORM's load give: the same
values, the same attributes to read and set."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import select
from sqlmodel import col

from tests.factories import ADMIN, norfolk
from workflow.audit import trail
from workflow.core.settings import Settings
from workflow.responses.service import Workflow
from workflow.storage.db import Database
from workflow.storage.loading import load, read
from workflow.storage.models import AuditEvent, OutboxMessage
from workflow.storage.rows import built

ROW = {"response_id": 7, "at": datetime(2024, 10, 14, 9, tzinfo=UTC), "actor": ADMIN,
       "action": "transition", "trigger": "request_force_input", "from_state": "draft",
       "to_state": "force_input", "reason": None, "payload": "{}", "prev_hash": "0" * 64,
       "hash": "1" * 64, "channel": "cli", "account": "officer", "host": "opcc",
       "identity": "claimed", "on_behalf_of": None}


def test_a_built_record_equals_the_constructed_one() -> None:
    made, record = AuditEvent(**ROW, id=3), built(AuditEvent, {**ROW, "id": 3})
    assert record.model_dump() == made.model_dump()
    assert record.key_id is None  # left out: None, as constructed
    assert record.mac is None
    record.id = 4  # set as on any model object
    assert record.id == 4
    assert trail.Provenance.of(record) == trail.Provenance.of(made)


def test_a_column_the_model_lacks_is_refused() -> None:
    with pytest.raises(TypeError, match="OutboxMessage has no column colour"):
        built(OutboxMessage, {"colour": "red"})


def test_read_gives_what_load_gives(db: Database, settings: Settings) -> None:
    wf = Workflow(db, settings)
    with time_machine.travel("2024-10-14 10:00:00+01:00", tick=False):
        rid = norfolk(wf)
    with db.read() as s:
        loaded, records = load(s, rid), read(s, rid)
        assert records.response.model_dump() == loaded.response.model_dump()
        assert records.report.model_dump() == loaded.report.model_dump()
        assert [r.model_dump() for r in records.recommendations] == \
            [r.model_dump() for r in loaded.recommendations]
        assert records.snapshot() == loaded.snapshot()
        assert records.recommendations  # the Norfolk report has some


def test_appended_event_is_the_stored_row(db: Database, settings: Settings) -> None:
    wf = Workflow(db, settings)
    with time_machine.travel("2024-10-14 10:00:00+01:00", tick=False):
        rid = norfolk(wf)
        wf.fire(rid, "request_force_input", ADMIN)
    with db.read() as s:
        stored = s.scalars(select(AuditEvent).order_by(col(AuditEvent.id).desc())).first()
        assert stored is not None
        appended = db.run(lambda t: trail.append(
            t, at=stored.at, actor=ADMIN, action="note", response_id=rid,
            payload={"n": 1}, by=trail.Provenance.of(stored)))
    with db.read() as s:
        again = s.get(AuditEvent, appended.id)
        assert again is not None
        assert appended.model_dump() == again.model_dump()
