"""Content bound into the chain: every event that changes a response's content
records the fingerprint of the response after it (the one ``signature.fingerprint``), and
``s55 audit verify`` recomputes it over the replayed content after each such event.

So a row changed behind s55's back is caught even when it is put back before anyone
verifies, as long as s55 wrote an event while it was changed: that event's fingerprint
states the content as it really was. On SQLite and PostgreSQL, through the command line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import time_machine
from sqlalchemy import select, text

from tests.factories import ADMIN, FORCE, PCC
from tests.workflow.responses.test_importing__one_transaction import FIXTURE
from tests.workflow.responses.test_service__transitions import DURING
from workflow.assurance import replay
from workflow.documents import signature
from workflow.responses.importing import import_document
from workflow.responses.service import Workflow
from workflow.storage.db import Database
from workflow.storage.models import AuditEvent

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "norfolk"
#: The actions that change a response's content (sign-off records the fingerprint too).
CONTENT = ("created", "imported", "edited", "deadline_override")


def tamper(db: Database, sql: str) -> None:
    with db.engine.begin() as conn:
        conn.execute(text(sql))


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return result


def commands(run: Any) -> None:
    """A real sequence: every kind of content change, through the command line."""
    with time_machine.travel(DURING, tick=False):
        ok(run("report", "add", "--file", str(EXAMPLES / "report.toml"), actor=ADMIN))
        ok(run("edit", "1", "key_findings", "--file", str(EXAMPLES / "key-findings.md"),
               actor=ADMIN))
        ok(run("rec", "add", "1", "9", "--text", "By 1 May 2025, forces should do more.",
               actor=ADMIN))
        for n in (1, 2, 3, 4, 8):
            ok(run("rec", "respond", "1", str(n), "--file",
                   str(EXAMPLES / f"force-rec-{n}.md"), actor=FORCE))
        ok(run("rec", "respond", "1", "9", "--file", str(EXAMPLES / "force-rec-1.md"),
               actor=FORCE))
        ok(run("rec", "note", "1", "9", "--text", "No further action: see rec 1.", actor=PCC))
        ok(run("report", "edit", "1", "title", "The policing response to ASB: spotlight",
               actor=ADMIN))
        ok(run("deadline", "1", "2024-12-20", "--reason", "re-issued report", actor=ADMIN))
        ok(run("edit", "1", "cc_response", "--file", str(EXAMPLES / "cc-response.md"),
               actor=FORCE))
        ok(run("edit", "1", "pcc_response", "--file", str(EXAMPLES / "pcc-response.md"),
               actor=PCC))
        ok(run("request-force-input", "1", actor=ADMIN))
        ok(run("submit-force-input", "1", actor=FORCE))
        ok(run("sign-off", "1", actor=PCC))


@pytest.mark.slow
def test_each_content_change_records_the_fingerprint_after_it(wf: Workflow, run: Any) -> None:
    commands(run)
    with wf.db.read() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.response_id == 1)  # type: ignore[arg-type]
                           .order_by(AuditEvent.id)).all()  # type: ignore[arg-type]
        now = signature.fingerprint(s, 1)
    changes = [e for e in events if e.action in CONTENT]
    assert len(changes) == 14
    stated = [json.loads(e.payload).get("fingerprint") for e in changes]
    assert all(stated)
    assert len(set(stated)) == 14  # each changed the published text (a rec note too)
    assert stated[-1] == now  # the last change left the content as it is now
    [sign_off] = [e for e in events if e.trigger == "sign_off"]
    assert json.loads(sign_off.payload)["fingerprint"] == now  # one fingerprint, not two


@pytest.mark.slow
def test_a_real_sequence_of_commands_verifies_clean(wf: Workflow, run: Any) -> None:
    commands(run)
    with time_machine.travel(DURING, tick=False):
        import_document(wf.db, FIXTURE, actor=ADMIN, force="Suffolk")  # another force's
    result = ok(run("audit", "verify", actor=ADMIN))
    assert "rows OK: every response equals the replay of its events" in result.stdout
    assert replay.verify(wf.db) == []


@pytest.mark.slow
def test_a_row_changed_and_put_back_is_caught_by_the_fingerprint(wf: Workflow,
                                                                  run: Any) -> None:
    """key_findings forged after sign-off, an officer's real edit made meanwhile (the
    report's forces), then put back: the rows
    equal the replay again, but the edit's event states the content as it then was."""
    commands(run)
    with wf.db.read() as s:
        original = s.execute(text("SELECT key_findings FROM response WHERE id = 1")).scalar()
    tamper(wf.db, "UPDATE response SET key_findings = 'Nothing to see.' WHERE id = 1")
    with time_machine.travel(DURING, tick=False):
        ok(run("reopen", "1", "--reason", "the forces are wrong", actor=ADMIN))
        ok(run("report", "edit", "1", "police_forces", "Norfolk", actor=ADMIN))
    with wf.db.write() as s:  # put back as it was
        s.execute(text("UPDATE response SET key_findings = :k WHERE id = 1"), {"k": original})
    with wf.db.read() as s:
        last = s.execute(text("SELECT max(id) FROM audit_event WHERE action = 'edited'")
                         ).scalar()
    result = run("audit", "verify", actor=ADMIN)
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()  # the rows alone would not have told
    assert line.startswith(f"Error: response 1: event {last} recorded fingerprint ")
    assert line.endswith("but the replay of the log gives another: the content was changed "
                         "outside s55 before that event")


@pytest.mark.parametrize(("sql", "named"), [
    ("UPDATE response SET pcc_response = 'Something else.' WHERE id = 1",
     "response 1: pcc_response is 'Something else.' in the row but "),
    ("UPDATE recommendation SET force_response = 'forged' WHERE number = 3 AND response_id = 1",
     "response 1: recommendation 3 force_response is 'forged' in the row but "),
])
@pytest.mark.slow
def test_a_row_edited_in_sql_after_the_commands_is_named(wf: Workflow, run: Any, sql: str,
                                                         named: str) -> None:
    commands(run)
    tamper(wf.db, sql)
    result = run("audit", "verify", actor=ADMIN)
    assert result.exit_code == 1
    assert f"Error: {named}" in result.stderr


def test_a_report_shared_by_two_responses_replays_after_an_edit(wf: Workflow, run: Any,
                                                                tmp_path: Path) -> None:
    """Two forces' imports share one report row: an edit through one response changes the
    other's text too; the other's next event states that text, and the replay (the report
    replayed by its id) agrees. (Drafts: a published response's report no longer changes.)"""
    draft = tmp_path / "draft.md"
    draft.write_text(FIXTURE.read_text(encoding="utf-8").replace("\n- Response ", "\n- [ ] "
                                                                 "Response "), encoding="utf-8")
    with time_machine.travel(DURING, tick=False):
        first = import_document(wf.db, draft, actor=ADMIN, force="Norfolk")
        second = import_document(wf.db, draft, actor=ADMIN, force="Suffolk")
        assert first.state == second.state == "draft"
        assert first.report_id == second.report_id
        ok(run("report", "edit", str(first.response_id), "title", "A shorter title",
               actor=ADMIN))
        ok(run("report", "edit", str(second.response_id), "publication_types", "PEEL",
               actor=ADMIN))
    assert replay.verify(wf.db) == []
