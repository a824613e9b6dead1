"""`s55 mail test` says in one line what it sent to whom (the recipient, the sender, the
server and the Message-ID), or in one line why it could not."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from smtp_server import ADMIN, Server, free_port

from workflow.audit.trail import Provenance
from workflow.core.clock import FixedClock
from workflow.core.settings import Settings
from workflow.mail import outbox_admin
from workflow.mail.errors import MailTestError
from workflow.storage.db import Database

NOW = datetime(2026, 12, 8, 14, 5, tzinfo=UTC)
BY = Provenance.here("cli", "claimed")


def _smtp(settings: Settings, port: int) -> Settings:
    return settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port,
                                       "smtp_security": "none", "smtp_timeout": 5.0})


def test_a_sent_test_names_recipient_sender_server_and_message_id(
        db: Database, settings: Settings, smtp_server: Server) -> None:
    line = outbox_admin.send_test(db, _smtp(settings, smtp_server.port), FixedClock(NOW),
                                  "ops@x.example", actor=ADMIN, by=BY)
    (got,) = smtp_server.handler.received
    assert line == (f"sent a test message to ops@x.example from {settings.mail_from} via SMTP "
                    f"127.0.0.1:{smtp_server.port} (none), Message-ID "
                    f"{got.message['Message-ID']}")
    assert "\n" not in line


def test_a_failed_test_says_why_in_one_line(db: Database, settings: Settings) -> None:
    port = free_port()
    with pytest.raises(MailTestError) as refused:
        outbox_admin.send_test(db, _smtp(settings, port), FixedClock(NOW), "ops@x.example",
                               actor=ADMIN, by=BY)
    line = str(refused.value)
    assert line.startswith(f"test mail to ops@x.example via SMTP 127.0.0.1:{port} (none) "
                           "not sent: ")
    assert "\n" not in line
