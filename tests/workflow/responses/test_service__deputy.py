"""The PCC's deputy acts fully under a running delegation (PRSRA 2011 s18): writes the
PCC's response and the s55(5B) notes and signs off, each recorded as the deputy for the
PCC under delegation #N; the PCC is mailed at once when someone signs in their name, and
every signer gets a receipt with the text as signed and its fingerprint (both databases)."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any

import pytest
import time_machine
from factories import ADMIN, FORCE, PCC, answer_all, snapshot
from journey_support import DEPUTY, SIGNING, answer_areas, delegate, frozen_at, mail, register

from workflow.assurance import replay
from workflow.core.settings import Settings
from workflow.documents import signature
from workflow.responses.service import Workflow
from workflow.storage.db import Database

_signing = frozen_at(SIGNING)


@pytest.fixture
def wf_deputy_running(db: Database, settings: Settings) -> Workflow:
    """Response 1 answered and submitted, the PCC's response not written; the chief
    executive deputises for the PCC through November 2024 (delegation 1)."""
    w = Workflow(db, settings)
    register(w)
    w.fire(1, "request_force_input", ADMIN)
    answer_all(w, 1)
    answer_areas(w, 1)
    w.fire(1, "submit_force_input", FORCE)
    assert delegate(w, date(2024, 11, 1), date(2024, 11, 30)) == 1
    return w


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return result


def test_the_deputy_writes_and_signs_in_the_pcc_s_place(wf_deputy_running: Workflow,
                                                        run: Any) -> None:
    ok(run("edit", "1", "pcc_response", "--text", "I welcome the report.", actor=DEPUTY))
    ok(run("rec", "note", "1", "4", "--text", "Plans are reviewed monthly.", actor=DEPUTY))
    ok(run("sign-off", "1", actor=DEPUTY))
    events = json.loads(run("log", "1", "--json", actor=ADMIN).stdout)
    mine = [e for e in events if e["actor"] == DEPUTY and e["action"] != "mail_queued"]
    assert [(e["action"], e["trigger"]) for e in mine] == [
        ("edited", None), ("edited", None), ("transition", "sign_off")]
    for e in mine:
        assert (e["on_behalf_of"], e["payload"]["delegation"], e["payload"]["for"]) == (
            PCC, 1, PCC)
    printed = run("log", "1", actor=ADMIN).stdout
    assert f"pcc_response by {DEPUTY} for {PCC} under delegation #1" in printed
    assert f"recommendation 4 pcc_note by {DEPUTY} for {PCC} under delegation #1" in printed
    assert replay.verify(wf_deputy_running.db) == []


def test_the_pcc_is_told_at_once_and_the_deputy_gets_a_receipt(wf_deputy_running: Workflow,
                                                                run: Any) -> None:
    ok(run("edit", "1", "pcc_response", "--text", "I welcome the report.", actor=DEPUTY))
    ok(run("sign-off", "1", actor=DEPUTY))
    with wf_deputy_running.db.read() as s:
        text = signature.canonical_text(s, 1)
    fingerprint = hashlib.sha256(text.encode()).hexdigest()
    signed = json.loads(run("show", "1", "--json", actor=ADMIN).stdout)["signed_off"]
    assert signed["fingerprint"] == fingerprint
    [notice] = mail(wf_deputy_running, "sign_off_notice")
    assert notice.recipient == PCC
    assert "Signed off in your name by Chief Executive" in notice.subject
    assert ("Chief Executive (ceo@norfolk-pcc.gov.uk) signed off the Section 55 response "
            "below in your name on 20 November 2024 at 10:00 (UK time), as your deputy under "
            "delegation #1 (1 November 2024 to 30 November 2024)") in notice.body_text
    [receipt] = mail(wf_deputy_running, "sign_off_receipt")
    assert receipt.recipient == DEPUTY
    assert "in the name of Giles Orpen-Smellie, as their deputy under delegation #1" in (
        receipt.body_text)
    for row in (notice, receipt):
        assert fingerprint in row.body_text
        assert text.strip() in row.body_text  # the text as signed, whole
        assert fingerprint in row.body_html
        assert "I welcome the report." in row.body_html


def test_the_pcc_signing_gets_a_receipt_and_no_notice(wf_deputy_running: Workflow,
                                                      run: Any) -> None:
    ok(run("edit", "1", "pcc_response", "--text", "I welcome the report.", actor=PCC))
    ok(run("sign-off", "1", actor=PCC))
    assert mail(wf_deputy_running, "sign_off_notice") == []
    [receipt] = mail(wf_deputy_running, "sign_off_receipt")
    assert receipt.recipient == PCC
    assert "This is your receipt for the Section 55 response you signed off on 20 November " \
           "2024 at 10:00 (UK time)" in receipt.body_text


@pytest.mark.parametrize(("args", "line"), [
    (["edit", "1", "cc_response", "--text", "x"],
     f"Error: {DEPUTY} may not edit the Chief Constable's comments of response 1: needs "
     "role admin or force, "
     "holds chief_executive"),
    (["return-to-force", "1", "--reason", "x"],
     f"Error: {DEPUTY} may not return response 1 to the force: needs role admin or pcc, holds "
     "chief_executive"),
])
def test_the_deputy_acts_only_as_the_pcc(wf_deputy_running: Workflow, run: Any, args: list[str],
                                         line: str) -> None:
    before = snapshot(wf_deputy_running)
    result = run(*args, actor=DEPUTY)
    assert (result.exit_code, result.stderr.strip()) == (1, line)
    assert snapshot(wf_deputy_running) == before


def test_outside_the_delegation_the_deputy_is_refused(wf_deputy_running: Workflow,
                                                      run: Any) -> None:
    before = snapshot(wf_deputy_running)
    with time_machine.travel("2024-12-02 10:00:00+00:00", tick=False):
        result = run("edit", "1", "pcc_response", "--text", "Too late.", actor=DEPUTY)
    assert (result.exit_code, result.stderr.strip()) == (
        1, f"Error: {DEPUTY} may not edit the PCC's response of response 1: needs role admin or "
           "pcc, holds chief_executive")
    assert snapshot(wf_deputy_running) == before
