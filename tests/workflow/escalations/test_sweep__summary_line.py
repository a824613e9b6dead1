"""``s55 escalations sweep`` run by cron mails what it prints: one summary line, one line
per reminder sent, and the superseded ones only with ``--verbose``.

Two Norfolk responses (deadline Wed 4 Dec 2024), swept on Wed 27 Nov after a month with
no scheduler: each sends its most severe due reminder (publish-d7) and supersedes the older
ones (draft-d42 and signoff-d14).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine
from typer.testing import CliRunner

from states.escalations import LONDON
from tests.factories import ADMIN, CHIEF_EXEC, PCC, norfolk, norfolk_report, record_office
from workflow.cli import app
from workflow.core.settings import Settings
from workflow.escalations.sweep import Fired, SweepReport, summary
from workflow.responses import content
from workflow.responses.service import Workflow
from workflow.storage.db import Database

SWEPT = datetime(2024, 11, 27, 10, tzinfo=LONDON)


@pytest.fixture
def two_open(db: Database, settings: Settings) -> Iterator[Workflow]:
    with time_machine.travel(datetime(2024, 10, 10, 10, tzinfo=LONDON), tick=False):
        wf = Workflow(db, settings)
        record_office(wf)
        norfolk(wf)
        content.add_report(wf, norfolk_report(
            title="A second inspection, published the same day",
            link="https://hmicfrs.justiceinspectorates.gov.uk/second"), ADMIN)
    return wf


def _sweep(wf: Workflow, tmp_path: Path, *args: str) -> Any:
    env = {"S55_DATABASE_URL": wf.db.url, "S55_SPOOL_DIR": str(tmp_path / "spool")}
    return CliRunner().invoke(app, ["escalations", "sweep", "--now", SWEPT.isoformat(),
                                    *args], env=env)


def test_one_summary_line_then_the_reminders_sent(two_open: Workflow, tmp_path: Path) -> None:
    result = _sweep(two_open, tmp_path)
    assert result.exit_code == 0, result.output
    to = f"{PCC}, {CHIEF_EXEC}"
    assert result.output.splitlines() == [
        "2 responses checked, 2 reminders sent, 4 superseded",
        f"response 1: publish-d7 (due 2024-11-27) to {to}",
        f"response 2: publish-d7 (due 2024-11-27) to {to}"]


def test_verbose_adds_the_superseded(two_open: Workflow, tmp_path: Path) -> None:
    lines = _sweep(two_open, tmp_path, "--verbose").output.splitlines()
    assert lines[0] == "2 responses checked, 2 reminders sent, 4 superseded"
    assert sorted(lines[3:]) == sorted(
        f"response {rid}: {rule} (due {day}) superseded"
        for rid in (1, 2) for rule, day in (("draft-d42", "2024-10-23"),
                                            ("signoff-d14", "2024-11-20")))
    assert _sweep(two_open, tmp_path, "--verbose").output.splitlines() == [
        "2 responses checked, 0 reminders sent, 0 superseded"]


def test_the_summary_counts_in_words() -> None:
    one = Fired(1, "overdue", 0, date(2024, 12, 4), "fired", ("a@b.example",))
    assert summary(SweepReport(fired=[one], open_responses=1)) == (
        "1 response checked, 1 reminder sent, 0 superseded")
    assert summary(SweepReport()) == "0 responses checked, 0 reminders sent, 0 superseded"
