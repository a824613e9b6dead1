"""What the personal-link tests share: the moment officers work on the Norfolk report,
the base URL their links are built on, and how a link is found in a mail."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine

DURING = "2024-10-14 10:00:00+01:00"
BASE = "https://s55.opcc.example"
LINK = re.compile(re.escape(BASE) + r"/l/([A-Za-z0-9_-]{43})")


@pytest.fixture(autouse=True)
def _during() -> Iterator[None]:
    """Officers work on the Norfolk report in October 2024 (tests move on from here)."""
    with time_machine.travel(DURING, tick=False):
        yield


def assert_mail_without_a_link(db: Any, to: str) -> None:
    """No link row was written, and the mail to ``to`` asks for a reply instead of a link."""
    from sqlalchemy import select

    from workflow.storage.models import ActionLink, OutboxMessage

    with db.read() as s:
        assert s.scalars(select(ActionLink)).all() == []
        body = s.scalars(select(OutboxMessage.body_text).where(
            OutboxMessage.recipient == to)).one()
    assert "/l/" not in body
    assert "Reply to this message" in body
