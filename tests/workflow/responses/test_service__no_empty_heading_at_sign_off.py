"""A report added with nothing but its title, date and recommendations cannot be signed
off while the document would print a heading with nothing under it: the refusal names each
such field with the command that fills it, changes nothing, and once they are filled the
PCC signs a document without an empty heading (both databases)."""

from __future__ import annotations

from typing import Any

import pytest
from factories import ADMIN, FORCE, PCC, add_people, snapshot
from journey_support import DURING, empty_headings, frozen_at

from workflow.core.settings import Settings
from workflow.documents.render import render_response
from workflow.responses.service import Workflow
from workflow.storage.db import Database

_during = frozen_at(DURING)


def ok(result: Any) -> None:
    assert result.exit_code == 0, result.output


@pytest.fixture
def wf_bare_report_submitted(db: Database, settings: Settings, run: Any) -> Workflow:
    """A bare report (no types, forces, link or key findings), answered and submitted."""
    w = Workflow(db, settings)
    add_people(w)
    ok(run("report", "add", "--title", "Custody inspection", "--published", "2024-10-10",
           "--rec", "1=By 31 March 2025, the force should review custody records.",
           "--afi", "1=The force should improve detainee care plans.", actor=ADMIN))
    ok(run("request-force-input", "1", actor=ADMIN))
    ok(run("rec", "respond", "1", "1", "--text", "Under way.", actor=FORCE))
    ok(run("afi", "respond", "1", "1", "--text", "Plans are reviewed daily.", actor=FORCE))
    ok(run("submit-force-input", "1", actor=FORCE))
    ok(run("edit", "1", "pcc_response", "--text", "I welcome the report.", actor=PCC))
    return w


def test_sign_off_names_what_would_print_empty_then_signs_a_whole_document(
        wf_bare_report_submitted: Workflow, run: Any) -> None:
    before = snapshot(wf_bare_report_submitted)
    result = run("sign-off", "1", actor=PCC)
    assert (result.exit_code, result.stderr.strip()) == (1, (
        "Error: Response 1 cannot be signed off yet: the document would print these "
        "headings empty: key findings (s55 edit 1 key_findings --file FILE), publication "
        "types (s55 report edit 1 publication_types TYPES), the report's link (s55 report "
        "edit 1 link URL)"))
    assert snapshot(wf_bare_report_submitted) == before
    ok(run("edit", "1", "key_findings", "--text", "Custody is safe but records lag.",
           actor=ADMIN))
    ok(run("report", "edit", "1", "publication_types", "Custody", actor=ADMIN))
    ok(run("report", "edit", "1", "link", "https://www.justiceinspectorates.gov.uk/hmicfrs/"
           "custody/", actor=ADMIN))
    ok(run("sign-off", "1", actor=PCC))
    md = render_response(wf_bare_report_submitted.db, 1)
    assert empty_headings(md) == []
    assert "### Police Forces:\n\nNorfolk\n" in md  # the response's force, none given
