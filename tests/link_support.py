"""What the personal-link tests share: the moment officers work on the Norfolk report,
the base URL their links are built on, and how a link is found in a mail."""

from __future__ import annotations

import re
from collections.abc import Iterator

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
