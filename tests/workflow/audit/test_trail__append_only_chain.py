"""The audit log: append-only in the database, chained, verifiable, serialised."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError as SADatabaseError

from tests.factories import ADMIN, behind_the_triggers, norfolk_report, snapshot
from workflow.audit import trail
from workflow.responses import content
from workflow.responses.service import Workflow
from workflow.storage.db import Database


class TestAppendOnly:
    @pytest.mark.parametrize("sql", [
        "UPDATE audit_event SET actor = 'someone@else' WHERE id = 3",
        "DELETE FROM audit_event WHERE id = 3",
    ])
    def test_database_refuses_update_and_delete(self, wf_norfolk: Workflow, sql: str) -> None:
        """A direct UPDATE/DELETE fails in the database itself and changes nothing."""
        before = snapshot(wf_norfolk)
        with pytest.raises(SADatabaseError, match="audit_event is append-only"), \
                wf_norfolk.db.engine.begin() as conn:
            conn.execute(text(sql))
        assert snapshot(wf_norfolk) == before

    @pytest.mark.postgresql
    def test_truncate_refused_on_postgresql(self, pg_url: str) -> None:
        """SQLite has no TRUNCATE; on PostgreSQL a statement trigger refuses it."""
        db = Database(pg_url)
        try:
            with pytest.raises(SADatabaseError, match="append-only"), \
                    db.engine.begin() as conn:
                conn.execute(text("TRUNCATE audit_event CASCADE"))
        finally:
            db.dispose()


    @pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
    @pytest.mark.parametrize("clash", ["id", "hash"])
    def test_insert_or_replace_cannot_swap_an_event_on_sqlite(self, wf_norfolk: Workflow,
                                                              clash: str) -> None:
        """``INSERT OR REPLACE`` deletes the clashing row without firing delete triggers;
        a BEFORE INSERT trigger refuses it, whether it clashes on the id or on the hash."""
        before = snapshot(wf_norfolk)
        columns = ("id, at, actor, action, response_id, from_state, to_state, trigger, "
                   "reason, payload, prev_hash, hash")
        forged_id = "id" if clash == "id" else "(SELECT MAX(id) + 1 FROM audit_event)"
        sql = (f"INSERT OR REPLACE INTO audit_event ({columns}) SELECT {forged_id}, at, "
               "'forger@example.org', action, response_id, from_state, to_state, trigger, "
               "reason, payload, prev_hash, hash FROM audit_event WHERE id = 3")
        with pytest.raises(SADatabaseError, match="an event with this id or hash exists"), \
                wf_norfolk.db.engine.begin() as conn:
            conn.execute(text(sql))
        assert snapshot(wf_norfolk) == before


class TestVerify:
    def test_intact_chain_verifies(self, wf_norfolk: Workflow) -> None:
        result = trail.verify(wf_norfolk.db)
        assert result.ok
        assert result.broken is None
        assert result.count == trail.head(wf_norfolk.db).count > 0

    def test_altered_row_is_found(self, wf_norfolk: Workflow) -> None:
        """Changing a field behind the triggers' back breaks that very event."""
        behind_the_triggers(wf_norfolk.db,
                            "UPDATE audit_event SET reason = 'edited later' WHERE id = 4")
        result = trail.verify(wf_norfolk.db)
        assert result.broken is not None
        assert result.broken.event_id == 4
        assert "altered" in result.broken.problem
        assert result.count == 3

    def test_deleted_row_is_found(self, wf_norfolk: Workflow) -> None:
        behind_the_triggers(wf_norfolk.db, "DELETE FROM audit_event WHERE id = 2")
        result = trail.verify(wf_norfolk.db)
        assert result.broken is not None
        assert result.broken.event_id == 3
        assert "removed, inserted or reordered" in result.broken.problem

    def test_recomputed_history_fails_against_a_kept_head(self, wf_norfolk: Workflow) -> None:
        """A tamperer who rewrites the chain from scratch is caught by the head kept outside."""
        kept = trail.head(wf_norfolk.db).hash
        assert trail.verify(wf_norfolk.db, kept).head_found is True
        behind_the_triggers(wf_norfolk.db, "DELETE FROM audit_event")
        with wf_norfolk.db.write() as s:  # a forged, self-consistent history
            trail.append(s, at=wf_norfolk.clock.now(), actor="forger@x.y",
                         action="created", payload={}, by=trail.Provenance.here("cli"))
        result = trail.verify(wf_norfolk.db, kept)
        assert result.broken is None
        assert result.head_found is False
        assert not result.ok

    def test_every_change_is_an_event(self, wf_norfolk: Workflow) -> None:
        rid = 1
        content.edit_text(wf_norfolk, rid, "key_findings", "New findings", ADMIN)
        content.override_deadline(wf_norfolk, rid, "2024-12-10", "republished", ADMIN)
        with wf_norfolk.db.read() as s:
            actions = [e.action for e in trail.events_for(s, rid)]
        assert actions == ["created", "edited", "deadline_override"]


WRITER = """
import sys
from workflow.core.settings import Settings
from workflow.storage.db import Database
from workflow.responses.service import Workflow
from workflow.responses import content
url, n, rid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
wf_norfolk = Workflow(Database(url), Settings(database_url=url))
for i in range(n):
    content.edit_text(wf_norfolk, rid, "key_findings", f"{rid} {i}", "ann.admin@norfolk-pcc.gov.uk")
"""


@pytest.mark.slow
def test_concurrent_writers_never_fork_the_chain(wf_norfolk: Workflow, db_url: str,
                                                 tmp_path: Path) -> None:
    """Three processes appending at once (each to its own response) leave one chain."""
    rids = [1] + [content.add_report(wf_norfolk, norfolk_report(title=f"Report {k}"), ADMIN).id or 0
                  for k in (2, 3)]
    before = trail.head(wf_norfolk.db).count
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, db_url, "15", str(rid)],
                              stderr=subprocess.PIPE, text=True) for rid in rids]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    result = trail.verify(wf_norfolk.db)
    assert result.ok, result.broken
    assert result.count == before + 45
    with wf_norfolk.db.read() as s:
        values = [json.loads(e.payload)["value"] for rid in rids
                  for e in trail.events_for(s, rid) if e.action == "edited"]
    assert sorted(values) == sorted(f"{rid} {i}" for rid in rids for i in range(15))
