"""Fixtures of the mail tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from workflow.core.settings import Settings
from workflow.responses.service import Workflow
from workflow.storage.db import Database

#: The moment ``wf_frozen`` holds the clock at: the Norfolk report's publication morning.
FROZEN_AT = datetime(2024, 10, 10, 10, 0, tzinfo=ZoneInfo("Europe/London"))


@pytest.fixture
def wf_frozen(db: Database, settings: Settings) -> Iterator[Workflow]:
    """The service on an empty database, its clock held at ``FROZEN_AT`` (no ticking)."""
    with time_machine.travel(FROZEN_AT, tick=False):
        yield Workflow(db, settings)
