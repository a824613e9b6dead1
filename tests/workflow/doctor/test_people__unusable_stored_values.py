"""``s55 doctor`` lists stored values mail or rendering cannot use, each with its fix:
rows an older s55 accepted before entry checks. Both databases."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from tests.factories import ADMIN, norfolk
from tests.workflow.doctor.test_doctor__each_check import by_name, run
from workflow.core.settings import Settings
from workflow.doctor.database import check_content
from workflow.doctor.result import Status
from workflow.responses.service import Workflow
from workflow.storage.db import Database
from workflow.storage.models import InspectionReport, Person


def _plant(db: Database, **report: str) -> None:
    with db.write() as s:
        s.execute(update(InspectionReport).values(**report))


def test_clean_rows_are_ok(db: Database, settings: Settings) -> None:
    norfolk(Workflow(db, settings))
    result = check_content(db)
    assert (result.status, result.detail) == (
        Status.OK, "every open response's report and every active person's address can be "
        "mailed and rendered")


def test_a_title_with_a_line_break_fails_with_its_fix(db: Database, settings: Settings) -> None:
    norfolk(Workflow(db, settings))
    _plant(db, title="ASB\r\nBcc: evil@x.example", link="javascript:alert(1)")
    result = by_name(run(settings), "content")
    assert result.status is Status.FAIL
    assert result.detail == ("response 1: the report's title holds a carriage return; "
                             "response 1: the report's link 'javascript:alert(1)' is not an "
                             "http(s) link")
    assert result.hint == ("s55 report edit 1 title '…'; s55 report edit 1 link 'https://…' "
                           "(or '' to clear it)")


def test_a_bad_link_and_a_bad_address_warn(db: Database, settings: Settings) -> None:
    norfolk(Workflow(db, settings))
    _plant(db, link="data:text/html,x", police_forces="Norfolk\x1b[31m")
    with db.write() as s:
        s.add(Person(name="Uni", email="jösé@exämple.example", roles=["panel"],
                     created_at=Workflow(db, settings).clock.now()))
    result = check_content(db)
    assert result.status is Status.WARN
    assert result.detail == (
        "response 1: the report's link 'data:text/html,x' is not an http(s) link; "
        "response 1: the report's police_forces holds the control character U+001B; "
        "Uni's address 'jösé@exämple.example' cannot be mailed (their mail goes dead)")
    assert result.hint == ("s55 report edit 1 link 'https://…' (or '' to clear it); "
                           "s55 report edit 1 police_forces '…'; "
                           "s55 people edit 'jösé@exämple.example' --email NEW --reason …")


def test_closed_responses_are_left_out(db: Database, settings: Settings) -> None:
    wf = Workflow(db, settings)
    norfolk(wf)
    wf.fire(1, "mark_not_required", ADMIN, reason="national report")
    _plant(db, link="javascript:alert(1)")
    assert check_content(db).status is Status.OK


def test_the_fix_clears_it(db: Database, settings: Settings, run: Any) -> None:
    """The command the doctor names does fix the row."""
    norfolk(Workflow(db, settings))
    _plant(db, title="ASB\nspotlight")
    assert check_content(db).status is Status.FAIL
    assert run("report", "edit", "1", "title", "ASB spotlight", actor=ADMIN).exit_code == 0
    assert check_content(db).status is Status.OK
