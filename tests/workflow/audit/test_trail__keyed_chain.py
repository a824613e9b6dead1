"""The keyed chain and checkpoints outside: someone with database access alone
(a DBA, a stolen backup) can neither edit, re-forge nor append an event that verifies with
the audit key, and a cut or re-forged history is caught from the checkpoints mailed to the
auditors. Each attack runs on a real database, through the real ``s55`` commands."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from tests.factories import ADMIN, AUDITOR, behind_the_triggers, norfolk
from workflow.audit import trail
from workflow.cli import app
from workflow.core.settings import Settings
from workflow.mail import delivery
from workflow.responses.service import Workflow
from workflow.storage.db import Database


@pytest.fixture
def keyed(db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """``s55`` with an audit key made by ``s55 init``, and the Norfolk response written
    through the keyed database."""
    key = tmp_path / "keys" / "audit.key"
    key.parent.mkdir()
    env = {"S55_DATABASE_URL": db_url, "S55_SPOOL_DIR": str(tmp_path / "spool"),
           "S55_ACTOR": ADMIN, "S55_AUDIT_KEY_FILE": str(key), "S55_IDENTITY": "claimed",
           "S55_CHECKPOINT_FILE": str(tmp_path / "checkpoints.txt")}

    def run(*args: str, **extra: str | None):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(app, list(args), env={**env, **extra})

    made = run("init")
    assert made.exit_code == 0, made.output
    assert "audit key" in made.stdout
    db = Database(db_url, audit_key_file=key)
    settings = Settings(database_url=db_url, spool_dir=tmp_path / "spool", force="Norfolk",
                        audit_key_file=key)
    norfolk(Workflow(db, settings))
    yield run, db, key, tmp_path
    db.dispose()


def test_init_makes_an_owner_only_key_and_every_event_is_signed(keyed: Any) -> None:
    run, db, key, _ = keyed
    assert (key.stat().st_mode & 0o777) == 0o600
    verified = run("audit", "verify")
    assert verified.exit_code == 0, verified.output
    count = trail.head(db).count
    assert f"signatures OK: {count} events signed with the audit key" in verified.stdout
    unkeyed = run("audit", "verify", S55_AUDIT_KEY_FILE=None)  # unset
    assert "signatures: not checked (no audit key here)" in unkeyed.stdout


def _forge(db: Database, sql: str | None = None) -> None:
    """What a DBA without the key can do: write behind the triggers, append unsigned."""
    if sql:
        behind_the_triggers(db, sql)
    plain = Database(db.url)  # no key: what the attacker's own connection writes
    try:
        with plain.write() as s:
            trail.append(s, at=datetime.now(UTC), actor="forger@x.example",
                         action="created", payload={}, by=trail.Provenance.here("cli"))
    finally:
        plain.dispose()


def test_an_event_appended_after_the_head_without_the_key_is_caught(keyed: Any) -> None:
    """The chain alone accepts it (the head an auditor kept is still in it); the key does
    not."""
    run, db, _, _ = keyed
    kept = trail.head(db)
    _forge(db)
    assert trail.verify(db, kept.hash).ok
    result = run("audit", "verify", "--head", kept.hash)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: audit chain broken at event {kept.count + 1}: not "
                                    "signed: the event was written or re-hashed without the "
                                    "audit key")


def test_a_re_forged_history_is_caught(keyed: Any) -> None:
    run, db, _, _ = keyed
    behind_the_triggers(db, "DELETE FROM office_setting")  # its rows name their events
    _forge(db, "DELETE FROM audit_event")
    assert trail.verify(db).ok
    result = run("audit", "verify")
    assert result.exit_code == 1
    assert "not signed: the event was written or re-hashed without the audit key" in \
        result.stderr


def test_an_edited_and_re_hashed_event_keeps_no_valid_signature(keyed: Any) -> None:
    """The actor of event 2 changed and every hash recomputed from there, the old MACs kept:
    each MAC was over the old hash."""
    run, db, _, _ = keyed
    with db.read() as s:
        rows = s.execute(text("SELECT id FROM audit_event ORDER BY id")).scalars().all()
    behind_the_triggers(db, "UPDATE audit_event SET actor = 'forger@x.example' WHERE id = 2")
    _rehash(db, rows)
    assert trail.verify(db).ok  # the plain chain is fooled
    result = run("audit", "verify")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: audit chain broken at event 2: signature does not "
                                    "match")


def _rehash(db: Database, ids: list[int]) -> None:
    """Recompute every hash in order, as a tamperer with the code (but not the key) can."""
    prev = trail.GENESIS
    with db.engine.begin() as conn:
        if db.is_sqlite:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_event_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_event_no_replace"))
        else:
            conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
        conn.execute(text("UPDATE audit_event SET hash = 'x' || id"))  # free the unique hashes
        for event_id in ids:
            row = dict(conn.execute(text("SELECT * FROM audit_event WHERE id = :i"),
                                    {"i": event_id}).mappings().one())
            row["at"] = row["at"] if not isinstance(row["at"], str) else \
                trail._at_from_sqlite(row["at"])
            fields = (row["response_id"], row["at"] if isinstance(row["at"], str)
                      else trail._at_text(row["at"]), row["actor"], row["action"],
                      row["trigger"], row["from_state"], row["to_state"], row["reason"],
                      row["payload"], *(row[c] for c in trail.PROVENANCE_COLUMNS))
            new = trail.chain_hash(prev, fields)
            conn.execute(text("UPDATE audit_event SET prev_hash = :p, hash = :h WHERE id = :i"),
                         {"p": prev, "h": new, "i": event_id})
            prev = new
        if not db.is_sqlite:
            conn.execute(text("ALTER TABLE audit_event ENABLE TRIGGER USER"))


def test_events_before_and_after_a_key_rotation_verify(keyed: Any) -> None:
    run, db, key, tmp_path = keyed
    rotated = run("audit", "rotate-key", "--yes")
    assert rotated.exit_code == 0, rotated.output
    assert (key.stat().st_mode & 0o777) == 0o600
    settings = Settings(database_url=db.url, spool_dir=tmp_path / "spool", force="Norfolk",
                        audit_key_file=key)
    after = Database(db.url, audit_key_file=key)
    try:
        Workflow(after, settings).fire(1, "mark_not_required", ADMIN, reason="duplicate")
    finally:
        after.dispose()
    result = run("audit", "verify")
    assert result.exit_code == 0, result.output
    with db.read() as s:
        keys = s.execute(text("SELECT DISTINCT key_id FROM audit_event")).scalars().all()
    assert len(keys) == 2


def test_checkpoints_mailed_to_the_auditors_prove_a_cut_tail(keyed: Any, smtp_server: Any) -> None:
    """``s55 audit checkpoint`` goes to aiosmtpd; the delivered message, saved as .eml, is
    what ``verify --checkpoints`` reads; after a tail is cut the same message catches it."""
    run, db, _, tmp_path = keyed
    smtp = {"S55_SMTP_HOST": smtp_server.host, "S55_SMTP_PORT": str(smtp_server.port),
            "S55_SMTP_SECURITY": "none"}
    taken = run("audit", "checkpoint", **smtp)
    assert taken.exit_code == 0, taken.output
    assert "mailed to 1 auditor(s)" in taken.stdout
    settings = Settings(database_url=db.url, force="Norfolk", **{
        k.removeprefix("S55_").lower(): v for k, v in smtp.items()})
    from workflow.core.clock import SystemClock

    report = delivery.deliver_pending(db, settings, SystemClock())
    assert report.error is None
    [got] = [r for r in smtp_server.handler.received if AUDITOR in r.recipients]
    folder = tmp_path / "auditor-mail"
    folder.mkdir()
    (folder / "checkpoint.eml").write_bytes(got.message.as_bytes())
    good = run("audit", "verify", "--checkpoints", str(folder))
    assert good.exit_code == 0, good.output
    assert f"checkpoints OK: 1 from {folder}, each in the chain" in good.stdout
    line = taken.stdout.splitlines()[0]
    count = int(line.split("count=")[1].split()[0])
    with db.engine.begin() as conn:  # the mail those events queued goes too
        conn.execute(text(f"DELETE FROM outbox WHERE event_id >= {count}"))
    behind_the_triggers(db, f"DELETE FROM audit_event WHERE id >= {count}")
    cut = run("audit", "verify", "--checkpoints", str(folder))
    assert cut.exit_code == 1
    assert f"event {count} is gone (a cut tail or an emptied log)" in cut.stderr
    from_file = run("audit", "verify", "--checkpoints", str(tmp_path / "checkpoints.txt"))
    assert from_file.exit_code == 1
    assert os.path.getsize(tmp_path / "checkpoints.txt") > 0
