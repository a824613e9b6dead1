"""Separation of duties at sign-off: whoever submitted the force's comments may not sign
off; whoever sent the response back to the force for more may sign the improved comments
(that is what a PCC does). Only an admin turns it off, and the sign-off then says so."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import time_machine
from typer.testing import CliRunner

from tests.factories import (
    ADMIN,
    FORCE,
    answer_all,
    norfolk,
    record_office,
    sign_off_payload,
    snapshot,
)
from workflow.cli import app
from workflow.core.settings import Settings
from workflow.people import management
from workflow.responses import content
from workflow.responses.service import Workflow
from workflow.storage.db import Database

DUAL = "dual@norfolk-pcc.gov.uk"  # an admin who is also a PCC
DURING = "2024-10-14 10:00:00+01:00"


@pytest.fixture
def office_wf(db: Database, settings: Settings) -> Workflow:
    """Norfolk with a dual-role admin and PCC, the response waiting for the force."""
    wf = Workflow(db, settings)
    record_office(wf)
    norfolk(wf)
    management.add_person(wf, {"name": "Dual Role", "email": DUAL, "roles": ["admin", "pcc"]},
                          ADMIN)
    with time_machine.travel(DURING, tick=False):
        wf.fire(1, "request_force_input", ADMIN)
        answer_all(wf, 1)
        content.edit_text(wf, 1, "pcc_response", "I welcome this report.", ADMIN)
    return wf


@pytest.fixture
def run(db_url: str, tmp_path: Path) -> Callable[..., Any]:
    def invoke(*args: str, actor: str) -> Any:
        with time_machine.travel(DURING, tick=False):
            return CliRunner().invoke(app, list(args), env={
                "S55_DATABASE_URL": db_url, "S55_SPOOL_DIR": str(tmp_path / "spool"),
                "S55_ACTOR": actor})
    return invoke


def test_whoever_returned_it_signs_the_resubmission(office_wf: Workflow,
                                                    run: Callable[..., Any]) -> None:
    assert run("submit-force-input", "1", actor=FORCE).exit_code == 0
    assert run("return-to-force", "1", "--reason", "Rec 2 is thin", actor=DUAL).exit_code == 0
    assert run("submit-force-input", "1", actor=FORCE).exit_code == 0
    signed = run("sign-off", "1", actor=DUAL)
    assert signed.exit_code == 0, signed.output
    assert sign_off_payload(office_wf)["separation_of_duties"] is True


def test_whoever_submitted_the_comments_may_not_sign(office_wf: Workflow,
                                                     run: Callable[..., Any]) -> None:
    """One line naming the rule and how it is turned off; nothing changed."""
    assert run("submit-force-input", "1", actor=DUAL).exit_code == 0
    before = snapshot(office_wf)
    refused = run("sign-off", "1", actor=DUAL)
    assert refused.exit_code == 1
    line = refused.stderr.strip()
    assert line.startswith(f"Error: {DUAL} may not sign off response 1: they submitted the "
                           "force's comments (event #")
    assert line.endswith("(separation of duties; only an admin turns it off, with `s55 office "
                         "set separation-of-duties off --reason ...`)")
    assert len(refused.stderr.strip().splitlines()) == 1
    assert snapshot(office_wf) == before


def test_an_admin_turns_it_off_and_the_sign_off_says_so(office_wf: Workflow,
                                                        run: Callable[..., Any]) -> None:
    assert run("submit-force-input", "1", actor=DUAL).exit_code == 0
    off = run("office", "set", "separation-of-duties", "off", "--reason", "One officer",
              actor=ADMIN)
    assert off.exit_code == 0, off.output
    assert run("sign-off", "1", actor=DUAL).exit_code == 0
    payload = sign_off_payload(office_wf)
    assert (payload["identity_mode"], payload["separation_of_duties"]) == ("claimed", False)
