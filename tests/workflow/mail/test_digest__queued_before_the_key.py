"""Mail queued before the audit key existed is checked by its digest and sent: its MAIL_QUEUED
event carries no signature because there was no key to sign it, and the key's first signed
event covers it. Such a row changed behind s55's back is still refused, for what changed,
never called forged; the run that refuses it counts it dead and says why; ``s55 outbox
retry`` of it says why in one line and changes nothing, and a row refused again for the same
reason does not alert the admins a second time. Both databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from tests.factories import ADMIN, FORCE, norfolk, snapshot
from workflow.audit import trail
from workflow.cli import app
from workflow.core.clock import SystemClock
from workflow.core.settings import Settings
from workflow.keys import audit_key
from workflow.mail import delivery
from workflow.responses.service import Workflow
from workflow.storage.db import Database
from workflow.storage.models import OutboxMessage


@pytest.fixture
def keyed_later(db: Database, settings: Settings,
                tmp_path: Path) -> Iterator[tuple[Workflow, OutboxMessage]]:
    """The force liaison's request queued with no key; then the key made, as ``s55 init``
    makes it on a database that already has events: signing from the next one."""
    wf = Workflow(db, settings)
    wf.fire(norfolk(wf), "request_force_input", ADMIN)
    with db.read() as s:
        row = s.scalars(select(OutboxMessage).where(OutboxMessage.recipient == FORCE)).one()
    key = tmp_path / "keys" / "audit.key"
    audit_key.create(key, since=(trail.head(db).last_id or 0) + 1)
    keyed_db = Database(db.url, audit_key_file=key)
    keyed_settings = settings.model_copy(update={"audit_key_file": key})
    yield Workflow(keyed_db, keyed_settings), row
    keyed_db.dispose()


def _row(db: Database, outbox_id: int) -> OutboxMessage:
    with db.read() as s:
        found = s.get(OutboxMessage, outbox_id)
    assert found is not None
    return found


def test_mail_queued_before_the_key_is_sent(keyed_later: tuple[Workflow, OutboxMessage]) -> None:
    wf, row = keyed_later
    report = delivery.deliver_pending(wf.db, wf.settings, SystemClock())
    assert (report.error, report.dead) == (None, 0)
    sent = _row(wf.db, row.id or 0)
    assert (sent.status, sent.last_error) == ("sent", None)
    assert trail.verify(wf.db, ring=wf.db.keyring()).ok


def _alerts(db: Database) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.kind == "mail_dead")) or 0)


def test_a_changed_row_from_before_the_key_is_refused_for_what_changed(
        keyed_later: tuple[Workflow, OutboxMessage], tmp_path: Path) -> None:
    wf, row = keyed_later
    with wf.db.engine.begin() as conn:
        conn.execute(text("UPDATE outbox SET body_text = 'Pay the invoice here' WHERE id = :i"),
                     {"i": row.id})
    report = delivery.deliver_pending(wf.db, wf.settings, SystemClock())
    why = (f"refused: recipient, subject or body differ from what event #{row.queued_event_id} "
           "queued (changed behind s55's back)")
    assert (report.dead, report.refused) == (1, {row.id: why})  # `mail send` says so
    refused = _row(wf.db, row.id or 0)
    assert (refused.status, refused.last_error) == ("dead", why)
    assert "forged" not in why
    assert _alerts(wf.db) == 1

    before = snapshot(wf)
    retried = CliRunner().invoke(app, ["outbox", "retry", str(row.id)], env={
        "S55_DATABASE_URL": wf.db.url, "S55_AUDIT_KEY_FILE": str(wf.settings.audit_key_file),
        "S55_SPOOL_DIR": str(tmp_path / "spool"), "S55_ACTOR": ADMIN})
    assert retried.exit_code == 1
    assert retried.stderr == (
        f"Error: outbox message {row.id} cannot be retried: it stays dead, recipient, subject "
        f"or body differ from what event #{row.queued_event_id} queued (changed behind s55's "
        "back); `s55 audit verify` shows what changed\n")
    assert snapshot(wf) == before

    # Put back to pending behind s55's back: refused again, for the same reason, and the
    # admins, told once already, are not told again.
    with wf.db.engine.begin() as conn:
        conn.execute(text("UPDATE outbox SET status = 'pending' WHERE id = :i"), {"i": row.id})
    delivery.deliver_pending(wf.db, wf.settings, SystemClock())
    assert _row(wf.db, row.id or 0).status == "dead"
    assert _alerts(wf.db) == 1
