"""``s55 report edit``: a report's title, link, types and forces corrected while its
response is open, checked as ``report add`` checks them and audited."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from tests.factories import ADMIN, FORCE, snapshot
from workflow.assurance.replay import replay
from workflow.audit import trail
from workflow.documents import signature
from workflow.responses.service import Workflow
from workflow.storage.models import AuditEvent, InspectionReport, OutboxMessage, Response

OLD_TITLE = "The policing response to antisocial behaviour: PEEL spotlight report"
NEW_TITLE = "The policing response to anti-social behaviour: a PEEL spotlight report"


def _report(wf_norfolk: Workflow) -> InspectionReport:
    with wf_norfolk.db.read() as s:
        return s.scalars(select(InspectionReport)).one()


def _last_event(wf_norfolk: Workflow) -> AuditEvent:
    with wf_norfolk.db.read() as s:
        return s.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()  # type: ignore[attr-defined,return-value]


def test_edit_the_title(wf_norfolk: Workflow, run: Any) -> None:
    result = run("report", "edit", "1", "title", f"  {NEW_TITLE} ", "--reason", "typo",
                 actor=ADMIN)
    assert result.exit_code == 0, result.output
    assert result.stdout == "response 1: report title saved (version 2)\n"
    assert _report(wf_norfolk).title == NEW_TITLE
    event = _last_event(wf_norfolk)
    assert (event.action, event.actor, event.reason) == ("edited", ADMIN, "typo")
    payload = json.loads(event.payload)
    with wf_norfolk.db.read() as s:  # the content after the edit, by the one fingerprint function
        assert payload.pop("fingerprint") == signature.fingerprint(s, 1)
    assert payload.pop("text_version") == signature.TEXT_VERSION
    assert payload == {"report": 1, "field": "title", "value": NEW_TITLE, "was": OLD_TITLE}
    assert "title" in run("log", "1", actor=ADMIN).stdout
    assert trail.verify(wf_norfolk.db).ok
    with wf_norfolk.db.read() as s:  # the version the events give is the row's
        image = replay(s.scalars(select(AuditEvent).order_by(AuditEvent.id)))[1]
        assert image.values["version"] == s.get(Response, 1).version == 2  # type: ignore[union-attr]


def test_mail_carries_the_edited_title(wf_norfolk: Workflow, run: Any) -> None:
    assert run("report", "edit", "1", "title", NEW_TITLE, actor=ADMIN).exit_code == 0
    wf_norfolk.fire(1, "request_force_input", ADMIN)
    with wf_norfolk.db.read() as s:
        (row,) = s.scalars(select(OutboxMessage))
    assert NEW_TITLE in row.subject


def test_edit_link_types_and_forces(wf_norfolk: Workflow, run: Any) -> None:
    for field, value in [("link", "https://www.justiceinspectorates.gov.uk/hmicfrs/asb"),
                         ("publication_types", "PEEL"), ("police_forces", "Norfolk"),
                         ("link", "")]:
        result = run("report", "edit", "1", field, value, actor=ADMIN)
        assert result.exit_code == 0, result.output
    report = _report(wf_norfolk)
    assert (report.link, report.publication_types, report.police_forces) == ("", "PEEL",
                                                                             "Norfolk")


def test_a_published_response_keeps_its_report(wf_norfolk: Workflow, run: Any) -> None:
    """The published text states the report's fields: they no longer change."""
    with wf_norfolk.db.write() as s:
        s.get(Response, 1).state = "published"  # type: ignore[union-attr]
    before = snapshot(wf_norfolk)
    result = run("report", "edit", "1", "title", NEW_TITLE, actor=ADMIN)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "Error: The report's title of response 1 cannot be edited: it was signed off and "
        "published, and a published response does not change")
    assert snapshot(wf_norfolk) == before


@pytest.mark.parametrize(("args", "actor", "line"), [
    (["1", "title", "  "], ADMIN, "Error: title: must not be empty"),
    (["1", "force", "Suffolk"], ADMIN, "Error: field: 'force' is not a report field; "
     "fields: title, link, publication_types, police_forces"),
    (["1", "title", NEW_TITLE], FORCE,
     f"Error: {FORCE} may not edit the report of response 1: needs role admin, holds force"),
    (["99", "title", NEW_TITLE], ADMIN, "Error: no response 99"),
    (["1", "title", NEW_TITLE, "--expect-version", "7"], ADMIN,
     "Error: response 1 changed since loaded (loaded version 7, now version 1); "
     "reload it and try again"),
])
def test_refused(wf_norfolk: Workflow, run: Any, args: list[str], actor: str, line: str) -> None:
    before = snapshot(wf_norfolk)
    result = run("report", "edit", *args, actor=actor)
    assert result.exit_code == 1
    assert result.stderr.strip() == line
    assert snapshot(wf_norfolk) == before


def test_closed_response_refused(wf_norfolk: Workflow, run: Any) -> None:
    wf_norfolk.fire(1, "mark_not_required", ADMIN, reason="a national report")
    before = snapshot(wf_norfolk)
    result = run("report", "edit", "1", "title", NEW_TITLE, actor=ADMIN)
    assert result.exit_code == 1
    assert result.stderr.strip() == ("Error: The report's title of response 1 cannot be "
                                     "edited: it is closed as not required")
    assert snapshot(wf_norfolk) == before


OTHER_LINK = "https://www.justiceinspectorates.gov.uk/hmicfrs/publications/other-report/"


def _second(wf_norfolk: Workflow, **overrides: Any) -> int:
    from tests.factories import norfolk_report
    from workflow.responses import content

    report = norfolk_report(title="A different inspection", link=OTHER_LINK, **overrides)
    return content.add_report(wf_norfolk, report, ADMIN).id or 0


@pytest.mark.parametrize(("field", "value"), [
    ("title", f"  {OLD_TITLE.upper()}. "),  # the same title as report add compares it
    ("link", "https://justiceinspectorates.gov.uk"),  # response 1's link
])
def test_an_edit_into_a_duplicate_is_refused(wf_norfolk: Workflow, run: Any, field: str,
                                             value: str) -> None:
    """`report edit` runs the check `report add` runs: response 2 may not become a second
    response of Norfolk to response 1's report (same title and date, or same link)."""
    if field == "link":  # response 1's link is a page of its own for this check
        assert run("report", "edit", "1", "link", REPORT_PAGE, actor=ADMIN).exit_code == 0
        value = REPORT_PAGE
    second = _second(wf_norfolk)
    before = snapshot(wf_norfolk)
    result = run("report", "edit", str(second), field, value, actor=ADMIN)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: Norfolk already has response 1 (draft) to ")
    assert result.stderr.strip().endswith(
        f"; response {second} would become a second response to the same report; edit that "
        "one or leave this one as it is")
    assert snapshot(wf_norfolk) == before


def test_an_edit_that_stays_unique_is_saved(wf_norfolk: Workflow, run: Any) -> None:
    second = _second(wf_norfolk)
    assert run("report", "edit", str(second), "title", "A different inspection (revised)",
               actor=ADMIN).exit_code == 0
    assert run("report", "edit", str(second), "link", OTHER_LINK + "v2",
               actor=ADMIN).exit_code == 0


def test_a_response_registered_again_keeps_editable(wf_norfolk: Workflow, run: Any) -> None:
    """A second response registered on purpose (--again) beside the first may still have
    its title and link corrected: it was a duplicate before the edit, knowingly."""
    from tests.factories import norfolk_report
    from workflow.responses import content

    again = content.add_report(wf_norfolk, norfolk_report(), ADMIN, again="a second inspection").id
    result = run("report", "edit", str(again), "title", f"{OLD_TITLE}.", actor=ADMIN)
    assert result.exit_code == 0, result.output


REPORT_PAGE = ("https://www.justiceinspectorates.gov.uk/hmicfrs/publications/"
               "the-policing-response-to-antisocial-behaviour/")
