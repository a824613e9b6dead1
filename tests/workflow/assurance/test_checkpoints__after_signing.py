"""Every sign-off and publication takes a checkpoint of the audit chain covering it, filed
and mailed to the auditors in the same transaction: a tail cut afterwards to remove the
sign-off (the rows cleaned up to match, so the chain and the replay alone pass) is caught
by ``s55 audit verify --checkpoints`` from the auditors' mail or the checkpoint file. On
both databases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from audit_support import verify
from link_support import _during  # noqa: F401 - autouse: officers work in October 2024
from sqlalchemy import text

from tests.factories import ADMIN, AUDITOR, FORCE, PCC, answer_all, behind_the_triggers, norfolk
from workflow.assurance import checkpoints
from workflow.core.clock import SystemClock
from workflow.core.errors import RoleError
from workflow.core.settings import Settings
from workflow.mail import delivery
from workflow.responses import checkpoint, content
from workflow.responses.service import Workflow
from workflow.storage.db import Database


@pytest.fixture
def wf_awaiting_sign_off(keyed_db: Database, settings: Settings, tmp_path: Path) -> Workflow:
    """The response waiting for the PCC's sign-off, its mail so far delivered (to the
    spool folder), checkpoints filed in ``tmp_path``."""
    wf_awaiting_sign_off = Workflow(keyed_db, settings.model_copy(update={
        "audit_key_file": keyed_db.audit_key_file,
        "checkpoint_file": tmp_path / "checkpoints.txt"}))
    rid = norfolk(wf_awaiting_sign_off)
    wf_awaiting_sign_off.fire(rid, "request_force_input", ADMIN)
    answer_all(wf_awaiting_sign_off, rid)
    wf_awaiting_sign_off.fire(rid, "submit_force_input", FORCE)
    content.edit_text(wf_awaiting_sign_off, rid, "pcc_response", "I welcome the report.", PCC)
    assert delivery.deliver_pending(keyed_db, wf_awaiting_sign_off.settings,
                                    SystemClock()).error is None
    return wf_awaiting_sign_off


def rows(db: Database, sql: str, **params: Any) -> list[Any]:
    with db.engine.connect() as conn:
        return list(conn.execute(text(sql), params))


def test_a_sign_off_takes_a_checkpoint_covering_it(wf_awaiting_sign_off: Workflow,
                                                   tmp_path: Path) -> None:
    """The line in the file and in the auditor's mail counts the sign-off's events, is
    signed with the audit key, and has its own ``checkpoint`` event."""
    wf_awaiting_sign_off.fire(1, "sign_off", PCC)
    [(signed_off,)] = rows(wf_awaiting_sign_off.db,
                           "SELECT id FROM audit_event WHERE trigger = 'sign_off'")
    [(event_id, actor, payload)] = rows(
        wf_awaiting_sign_off.db,
        "SELECT id, actor, payload FROM audit_event WHERE action = 'checkpoint'")
    [cp] = checkpoints.read_sources(tmp_path / "checkpoints.txt")
    assert signed_off <= cp.count < event_id
    assert cp.key is not None
    assert actor == checkpoint.CHECKPOINTER
    assert f'"count":{cp.count}' in payload
    [(body,)] = rows(wf_awaiting_sign_off.db,
                     "SELECT body_text FROM outbox WHERE kind = 'audit_checkpoint' "
                             "AND recipient = :a", a=AUDITOR)
    assert cp.line() in body
    assert [f.problem for f in checkpoints.prove(wf_awaiting_sign_off.db, [cp], checkpoints.keyring(
        wf_awaiting_sign_off.settings))] == [None]


def test_a_tail_cut_to_remove_a_sign_off_is_caught(wf_awaiting_sign_off: Workflow,
                                                   tmp_path: Path) -> None:
    """Signed off, its mail delivered; then the sign-off and everything after it removed
    and the rows put back as they were before it. Without the checkpoints verify finds
    nothing wrong; with the auditor's mail, or the file, it names the missing event."""
    wf_awaiting_sign_off.fire(1, "sign_off", PCC)
    assert delivery.deliver_pending(wf_awaiting_sign_off.db, wf_awaiting_sign_off.settings,
                                    SystemClock()).error is None
    [(cut, version)] = rows(wf_awaiting_sign_off.db,
                            "SELECT a.id, r.version FROM audit_event a, response r "
                                   "WHERE a.trigger = 'sign_off' AND r.id = 1")
    with wf_awaiting_sign_off.db.engine.begin() as conn:
        conn.execute(text("DELETE FROM outbox WHERE event_id >= :c"), {"c": cut})
        conn.execute(text("UPDATE response SET state = 'pcc_signoff', version = :v "
                          "WHERE id = 1"), {"v": version - 1})
    behind_the_triggers(wf_awaiting_sign_off.db, f"DELETE FROM audit_event WHERE id >= {cut}")
    clean = verify(wf_awaiting_sign_off.db)
    assert clean.exit_code == 0, clean.output  # the chain and the rows alone agree
    spool = wf_awaiting_sign_off.settings.spool_dir
    assert spool is not None
    [cp] = [c for c in checkpoints.read_sources(tmp_path / "checkpoints.txt")]
    for source in (spool, tmp_path / "checkpoints.txt"):
        found = verify(wf_awaiting_sign_off.db, "--checkpoints", str(source))
        assert found.exit_code == 1
        assert (f"event {cp.count} is gone (a cut tail or an emptied log)") in found.stderr


def test_a_publication_takes_one_too(wf_awaiting_sign_off: Workflow, tmp_path: Path) -> None:
    wf_awaiting_sign_off.fire(1, "sign_off", PCC)
    wf_awaiting_sign_off.fire(1, "publish", ADMIN, params={"url": "https://www.norfolk-pcc.gov.uk/s55/asb"})
    [(published,)] = rows(wf_awaiting_sign_off.db,
                          "SELECT id FROM audit_event WHERE trigger = 'publish'")
    lines = checkpoints.read_sources(tmp_path / "checkpoints.txt")
    assert len(lines) == 2
    assert lines[-1].count >= published
    assert len(rows(wf_awaiting_sign_off.db,
                    "SELECT id FROM outbox WHERE kind = 'audit_checkpoint'")) == 2


def test_a_refused_sign_off_takes_none(wf_awaiting_sign_off: Workflow, tmp_path: Path) -> None:
    """Nothing is filed or mailed for a sign-off that did not happen."""
    with pytest.raises(RoleError):
        wf_awaiting_sign_off.fire(1, "sign_off", FORCE)
    assert not (tmp_path / "checkpoints.txt").exists()
    assert rows(wf_awaiting_sign_off.db,
                "SELECT id FROM audit_event WHERE action = 'checkpoint'") == []
