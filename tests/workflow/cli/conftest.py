"""Fixtures of the command-line tests: Norfolk's people and report (response 1) on ``db``,
and ``refused``, which runs one command and holds it to the rule for bad input: exit 1,
one ``Error:`` line and no traceback, nothing on stdout, and every table unchanged."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import time_machine

from tests.factories import ADMIN, PCC, answer_all, norfolk, snapshot
from workflow.core.settings import Settings
from workflow.responses import content
from workflow.responses.service import Workflow
from workflow.storage.db import Database

Refused = Callable[..., None]


@pytest.fixture
def norfolk_wf(db: Database, settings: Settings) -> Workflow:
    """Norfolk's people and its report registered: response 1, in draft."""
    workflow = Workflow(db, settings)
    norfolk(workflow)
    return workflow


@pytest.fixture
def signed_off(norfolk_wf: Workflow) -> Iterator[Workflow]:
    """Response 1 signed off by the PCC and forwarded to the panel, the clock stopped on
    1 November 2024 for the rest of the test."""
    with time_machine.travel("2024-11-01 10:00:00+00:00", tick=False):
        answer_all(norfolk_wf, 1)
        norfolk_wf.fire(1, "request_force_input", ADMIN, params={"force_input_due":
                                                                 "2024-11-20"})
        norfolk_wf.fire(1, "submit_force_input", ADMIN)
        content.edit_text(norfolk_wf, 1, "pcc_response", "The PCC's response.", PCC)
        norfolk_wf.fire(1, "sign_off", PCC)
        yield norfolk_wf


@pytest.fixture
def refused(norfolk_wf: Workflow, run: Any) -> Refused:
    """``refused(args, line, actor=ADMIN)``: ``s55 ARGS`` is refused with exactly ``line``
    and leaves every row of every table as it was."""

    def check(args: list[str], line: str, actor: str | None = ADMIN) -> None:
        before = snapshot(norfolk_wf)
        result = run(*args, actor=actor)
        assert (result.exit_code, result.stderr.strip()) == (1, line), result.output
        assert "Traceback" not in result.output
        assert result.stdout == ""
        assert snapshot(norfolk_wf) == before

    return check
