"""The way back after sign-off: every edit of a signed response, or of its report, is
refused with one line naming ``s55 reopen``; reopening (admin or PCC, with a reason) takes
it back to the PCC, withdraws the signature and tells the PCC, the panel and the Chief
Constable's office; the text is then changed and signed again, and publishes (both
databases)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from factories import ADMIN, FORCE, PANEL, PCC, snapshot
from journey_support import DEPUTY, SIGNING, delegate, frozen_at, mail

from workflow.assurance import replay
from workflow.audit_report.build import build_report
from workflow.core.clock import SystemClock
from workflow.documents.render import render_response
from workflow.responses import content
from workflow.responses.service import Workflow

URL = "https://www.norfolk-pcc.gov.uk/s55/asb-spotlight"
WAY_BACK = ("to change it, reopen the response giving a reason, then edit it and sign it off "
            "again (s55 reopen 1 --reason WHY)")


_signing = frozen_at(SIGNING)


def refused(wf_signed_off: Workflow, run: Any, args: list[str], line: str,
            actor: str = ADMIN) -> None:
    before = snapshot(wf_signed_off)
    result = run(*args, actor=actor)
    assert (result.exit_code, result.stderr.strip()) == (1, line), result.output
    assert snapshot(wf_signed_off) == before


@pytest.mark.parametrize(("args", "actor", "what"), [
    (["report", "edit", "1", "title", "The policing response (revised)", "--reason", "typo"],
     ADMIN, "The report's title"),
    (["report", "edit", "1", "link", "https://www.justiceinspectorates.gov.uk/x"], ADMIN,
     "The report's link"),
    (["edit", "1", "pcc_response", "--text", "New words."], PCC, "The PCC's response"),
    (["edit", "1", "key_findings", "--text", "New findings."], ADMIN, "The key findings"),
    (["rec", "respond", "1", "1", "--text", "New answer."], FORCE, "Recommendation 1"),
    (["rec", "note", "1", "4", "--text", "New note."], PCC, "Recommendation 4"),
    (["afi", "respond", "1", "3", "--text", "New answer."], FORCE, "Area for improvement 3"),
    (["deadline", "1", "2024-12-20", "--reason", "re-issued"], ADMIN, "The deadline"),
])
def test_an_edit_after_sign_off_names_the_way_back(wf_signed_off: Workflow, run: Any,
                                                   args: list[str],
                                                    actor: str, what: str) -> None:
    refused(wf_signed_off, run, args,
            f"Error: {what} of response 1 cannot be edited: it was signed off; {WAY_BACK}", actor)


def test_reopen_edit_and_sign_again(wf_signed_off: Workflow, run: Any) -> None:
    """The issue's dead end, walked out of: reopened with a reason, the title corrected,
    signed again, published; the log replays clean."""
    result = run("reopen", "1", "--reason", "The title has a typo", actor=ADMIN)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("response 1 is now waiting for the PCC's sign-off")
    shown = json.loads(run("show", "1", "--json", actor=ADMIN).stdout)
    assert (shown["state"], shown["signed_off"]) == ("pcc_signoff", None)
    assert shown["office_use"]["forwarded_to_panel"] is None
    assert "Signed off by" not in render_response(wf_signed_off.db, 1)
    to = {m.recipient for m in mail(wf_signed_off, "reopen")}
    assert to == {PCC, PANEL, FORCE}
    for m in mail(wf_signed_off, "reopen"):
        assert "Reason: The title has a typo" in m.body_text
        assert "The signed copy you were sent is withdrawn" in m.body_text
        asked = "The changes the reason above asks for, then your sign-off" in m.body_text
        assert asked == (m.recipient == PCC)
    assert run("report", "edit", "1", "title", "The policing response (revised)",
               "--reason", "typo", actor=ADMIN).exit_code == 0
    assert run("sign-off", "1", actor=PCC).exit_code == 0
    assert run("publish", "1", "--url", URL, actor=ADMIN).exit_code == 0
    signed = json.loads(run("show", "1", "--json", actor=ADMIN).stdout)["signed_off"]
    assert "The policing response (revised)" in render_response(wf_signed_off.db, 1)
    assert signed["line"] in render_response(wf_signed_off.db, 1)
    assert replay.verify(wf_signed_off.db) == []


def test_the_pcc_reopens_too_and_the_audit_report_lists_it(wf_signed_off: Workflow,
                                                           run: Any) -> None:
    assert run("reopen", "1", "--reason", "My words need changing", actor=PCC).exit_code == 0
    report = build_report(wf_signed_off.db, date(2024, 4, 1), date(2025, 3, 31), SystemClock())
    [line] = report.responses
    assert [(r.by, r.trigger, r.reason) for r in line.returns] == [
        (PCC, "reopen", "My words need changing")]
    assert line.signed_off is None


@pytest.mark.parametrize(("args", "actor", "line"), [
    (["reopen", "1"], ADMIN, "Error: Response 1 cannot be reopened without a reason (--reason)"),
    (["reopen", "1", "--reason", "x"], FORCE,
     f"Error: {FORCE} may not reopen response 1: needs role admin or pcc, holds force"),
    (["reopen", "9", "--reason", "x"], ADMIN, "Error: no response 9"),
])
def test_a_bad_reopen_is_one_line_and_changes_nothing(wf_signed_off: Workflow, run: Any,
                                                      args: list[str],
                                                      actor: str, line: str) -> None:
    refused(wf_signed_off, run, args, line, actor)


def test_the_deputy_does_not_reopen(wf_signed_off: Workflow, run: Any) -> None:
    """The deputy writes and signs in the PCC's place; withdrawing a signature is the PCC's
    or the OPCC's."""
    delegate(wf_signed_off)
    refused(wf_signed_off, run, ["reopen", "1", "--reason", "x"],
            f"Error: {DEPUTY} may not reopen response 1: needs role admin or pcc, holds "
            "chief_executive", DEPUTY)


def test_nothing_reopens_once_published(wf_signed_off: Workflow, run: Any) -> None:
    wf_signed_off.fire(1, "publish", ADMIN, params={"url": URL})
    refused(wf_signed_off, run, ["reopen", "1", "--reason", "too late"],
            "Error: Response 1 cannot be reopened: it is published; now it can be recorded as "
            "submitted on the portal")
    refused(wf_signed_off, run, ["edit", "1", "pcc_response", "--text", "x"],
            "Error: The PCC's response of response 1 cannot be edited: it was signed off and "
            "published, and a published response does not change", PCC)


def test_a_shared_report_does_not_change_under_a_signed_response(wf_signed_off: Workflow,
                                                                 run: Any) -> None:
    """Two forces' responses on one report row: the draft's edit would change the signed
    text, so it is refused naming the signed one."""
    from sqlalchemy import text

    other = content.add_report(wf_signed_off, _second(), ADMIN).id
    with wf_signed_off.db.engine.begin() as conn:  # as two imports of one document share it
        conn.execute(text("UPDATE response SET report_id = 1 WHERE id = :o"), {"o": other})
    refused(wf_signed_off, run, ["report", "edit", str(other), "publication_types", "PEEL"],
            f"Error: The report's publication types (shared with response {other}) of "
            f"response 1 cannot be edited: it was signed off; {WAY_BACK}")


def _second() -> Any:
    from journey_support import with_areas

    return with_areas(title="Another inspection", force="Suffolk",
                      link="https://www.justiceinspectorates.gov.uk/other/")
