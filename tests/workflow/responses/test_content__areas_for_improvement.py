"""Areas for improvement answered by the force as recommendations are: ``s55 afi respond``
stores the force's response to each, the state log records it, ``submit_force_input`` waits
for every one, and every bad input is one line that changes nothing (both databases)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from factories import ADMIN, FORCE, PCC, answer_all, snapshot
from journey_support import AREAS, DURING, answer_areas, frozen_at, mail, ready_to_sign, register

from workflow.assurance import replay
from workflow.core.settings import Settings
from workflow.responses import content
from workflow.responses.service import Workflow
from workflow.storage.db import Database

_during = frozen_at(DURING)


@pytest.fixture
def wf_with_areas(db: Database, settings: Settings) -> Workflow:
    """The people and a report with three areas for improvement (response 1)."""
    w = Workflow(db, settings)
    assert register(w) == 1
    return w


def refused(wf_with_areas: Workflow, run: Any, args: list[str], line: str, actor: str) -> None:
    before = snapshot(wf_with_areas)
    result = run(*args, actor=actor)
    assert (result.exit_code, result.stderr.strip()) == (1, line), result.output
    assert result.stdout == ""
    assert snapshot(wf_with_areas) == before


def test_the_force_answers_an_area_from_the_command_line(wf_with_areas: Workflow, run: Any) -> None:
    """One ``edited`` event naming the area, the version up, ``show`` carries it, and the
    replay of the log gives the row."""
    result = run("afi", "respond", "1", "2", "--text", "  We review every case at closure. ",
                 actor=FORCE)
    assert (result.exit_code, result.stdout) == (
        0, "response 1: area for improvement 2 force_response saved\n"), result.output
    shown = json.loads(run("show", "1", "--json", actor=ADMIN).stdout)
    assert shown["version"] == 2
    assert shown["areas_for_improvement"][1] == {
        "number": 2, "text": AREAS[2], "force_response": "We review every case at closure."}
    [event] = [e for e in json.loads(run("log", "1", "--json", actor=ADMIN).stdout)
               if e["action"] == "edited"]
    assert (event["actor"], event["payload"]["area"], event["payload"]["field"],
            event["payload"]["value"]) == (FORCE, 2, "force_response",
                                           "We review every case at closure.")
    assert "fingerprint" in event["payload"]
    printed = run("show", "1", actor=ADMIN).stdout
    assert "  areas for improvement (3):\n      1. NO FORCE RESPONSE\n      2. force responded\n" \
           in printed
    assert replay.verify(wf_with_areas.db) == []


def test_an_admin_records_it_for_the_force_with_a_reason(wf_with_areas: Workflow, run: Any) -> None:
    result = run("afi", "respond", "1", "1", "--text", "Done.", "--on-behalf-of", FORCE,
                 "--reason", "sent by email", actor=ADMIN)
    assert result.exit_code == 0, result.output
    [event] = [e for e in json.loads(run("log", "1", "--json", actor=ADMIN).stdout)
               if e["action"] == "edited"]
    assert (event["actor"], event["on_behalf_of"], event["reason"]) == (
        ADMIN, FORCE, "sent by email")


def test_submitting_waits_for_every_area(wf_with_areas: Workflow, run: Any) -> None:
    """The refusal names the areas still unanswered; once answered, it goes through."""
    wf_with_areas.fire(1, "request_force_input", ADMIN)
    answer_all(wf_with_areas, 1)
    answer_areas(wf_with_areas, 1, [1])
    refused(wf_with_areas, run, ["submit-force-input", "1"],
            "Error: Response 1 cannot be submitted with the force's comments yet: area(s) for "
            "improvement 2, 3 have no response from the force", FORCE)
    answer_areas(wf_with_areas, 1, [2, 3])
    assert run("submit-force-input", "1", actor=FORCE).exit_code == 0


@pytest.mark.parametrize(("args", "actor", "line"), [
    (["afi", "respond", "1", "9", "--text", "x"], FORCE,
     "Error: no area for improvement 9 in response 1"),
    (["afi", "respond", "7", "1", "--text", "x"], FORCE, "Error: no response 7"),
    (["afi", "respond", "1", "1"], FORCE, "Error: input: give exactly one of --text or --file"),
    (["afi", "respond", "1", "1", "--text", "x"], PCC,
     f"Error: {PCC} may not edit area for improvement 1 of response 1: needs role admin or "
     "force, holds pcc"),
    (["afi", "respond", "1", "0", "--text", "x"], FORCE,
     "Error: NUMBER: 0 is out of range (1 to 2147483647)"),
    (["afi", "respond", "1", "1", "--text", "a\x00b"], FORCE,
     "Error: force_response: contains a control character (U+0000); only text, line breaks "
     "and tabs are kept"),
    (["afi", "respond", "1", "1", "--text", "x", "--expect-version", "4"], FORCE,
     "Error: response 1 changed since loaded (loaded version 4, now version 1); reload it "
     "and try again"),
    (["afi", "respond", "1", "1", "--text", "x", "--on-behalf-of", FORCE], ADMIN,
     f"Error: --on-behalf-of: acting for {FORCE} needs a reason (--reason)"),
])
def test_a_bad_answer_is_one_line_and_changes_nothing(wf_with_areas: Workflow, run: Any,
                                                      args: list[str],
                                                       actor: str, line: str) -> None:
    refused(wf_with_areas, run, args, line, actor)


def test_an_answer_after_sign_off_is_refused_naming_the_way_back(wf_with_areas: Workflow,
                                                                 run: Any) -> None:
    ready_to_sign(wf_with_areas, 1)
    wf_with_areas.fire(1, "sign_off", PCC)
    refused(wf_with_areas, run, ["afi", "respond", "1", "1", "--text", "Better words."],
            "Error: Area for improvement 1 of response 1 cannot be edited: it was signed off; "
            "to change it, reopen the response giving a reason, then edit it and sign it off "
            "again (s55 reopen 1 --reason WHY)", FORCE)


def test_the_request_and_the_panel_s_mail_carry_each_area(wf_with_areas: Workflow) -> None:
    """The force is asked for an answer to each area (its text listed); the panel is sent
    each area's text with the force's response."""
    ready_to_sign(wf_with_areas, 1)
    [asked] = mail(wf_with_areas, "request_force_input")
    assert "each of its areas for improvement" in asked.body_text
    for n, text in AREAS.items():
        assert f"Area for improvement {n}" in asked.body_text
        assert text in asked.body_text
        assert text in asked.body_html
    assert "answering each recommendation and area for improvement" in asked.body_text
    wf_with_areas.fire(1, "sign_off", PCC)
    forwarded = mail(wf_with_areas, "sign_off")
    assert forwarded
    for row in forwarded:
        for n, text in AREAS.items():
            assert f"Area for improvement {n}: {text}\nForce response: The force's answer to " \
                   f"area {n}." in row.body_text
        assert "(none)" not in row.body_text


def test_an_area_saved_twice_writes_one_event_per_change(wf_with_areas: Workflow) -> None:
    content.edit_area(wf_with_areas, 1, 1, "force_response", "First.", FORCE)
    content.edit_area(wf_with_areas, 1, 1, "force_response", "", FORCE)  # cleared
    with wf_with_areas.db.engine.connect() as conn:
        from sqlalchemy import text

        value = conn.execute(text("SELECT force_response FROM area_for_improvement "
                                  "WHERE number = 1")).scalar()
    assert value is None
    assert replay.verify(wf_with_areas.db) == []
