"""Replay: every response row equals the replay of its events, and a row changed
behind s55's back is reported naming the response, the field, the row's value and the log's."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from states import State
from tests.factories import ADMIN, FORCE, add_people, norfolk
from tests.workflow.responses.test_importing__one_transaction import FIXTURE
from tests.workflow.responses.test_service__transitions import drive
from workflow.assurance import replay
from workflow.assurance.replay import Difference
from workflow.responses import content
from workflow.responses.importing import import_document
from workflow.responses.service import Workflow
from workflow.storage.db import Database


def tamper(db: Database, sql: str) -> None:
    with db.engine.begin() as conn:
        conn.execute(text(sql))


@pytest.mark.parametrize("until", list(State)[:6], ids=lambda s: s.value)
def test_every_state_of_the_happy_path_replays_to_its_row(wf_empty: Workflow, until: State) -> None:
    rid = norfolk(wf_empty)
    drive(wf_empty, rid, until)
    assert replay.verify(wf_empty.db) == []


def test_a_deadline_override_replays(wf_empty: Workflow) -> None:
    rid = norfolk(wf_empty)
    content.override_deadline(wf_empty, rid, "2024-12-20", "the report was re-issued", ADMIN)
    content.override_deadline(wf_empty, rid, "2024-12-04", "back to the statute", ADMIN)
    assert replay.verify(wf_empty.db) == []


def test_a_closed_response_and_added_recommendation_replay(wf_empty: Workflow) -> None:
    rid = norfolk(wf_empty)
    content.add_recommendation(wf_empty, rid, {"number": 9, "text": "By 1 May 2025, do more."},
                               ADMIN)
    content.edit_recommendation(wf_empty, rid, 9, "force_response", "We will.", FORCE)
    wf_empty.fire(rid, "mark_not_required", ADMIN, reason="duplicated by the force report")
    assert replay.verify(wf_empty.db) == []


def test_a_state_set_behind_s55s_back_is_reported(wf_empty: Workflow) -> None:
    rid = norfolk(wf_empty)
    tamper(wf_empty.db, f"UPDATE response SET state = 'published' WHERE id = {rid}")
    assert replay.verify(wf_empty.db) == [Difference(rid, "state", "published", "draft")]


def test_a_pcc_response_rewritten_after_sign_off_is_reported(wf_empty: Workflow) -> None:
    rid = norfolk(wf_empty)
    drive(wf_empty, rid, State.FORWARDED_TO_PANEL)
    tamper(wf_empty.db, f"UPDATE response SET pcc_response = 'Something else.' WHERE id = {rid}")
    [difference] = replay.verify(wf_empty.db)
    assert difference == Difference(rid, "pcc_response", "Something else.",
                                    "I welcome this report.")
    assert difference.describe() == (f"response {rid}: pcc_response is 'Something else.' in "
                                     "the row but 'I welcome this report.' by its events")


def test_recommendations_changed_behind_s55s_back_are_reported(wf_empty: Workflow) -> None:
    rid = norfolk(wf_empty)
    tamper(wf_empty.db, f"UPDATE recommendation SET force_response = 'forged' WHERE number = 8 "
                  f"AND response_id = {rid}")
    tamper(wf_empty.db, f"DELETE FROM recommendation WHERE number = 1 AND response_id = {rid}")
    tamper(wf_empty.db, f"UPDATE response SET deadline = '2025-01-31', signoff_due = '2025-01-17' "
                  f"WHERE id = {rid}")
    assert replay.verify(wf_empty.db) == [
        Difference(rid, "deadline", dt.date(2025, 1, 31), dt.date(2024, 12, 4)),
        Difference(rid, "signoff_due", dt.date(2025, 1, 17), dt.date(2024, 11, 20)),
        Difference(rid, "recommendation 1", "absent", "present"),
        Difference(rid, "recommendation 8 force_response", "forged", None),
    ]


def test_an_imported_response_replays_and_its_rows_are_checked(wf_empty: Workflow) -> None:
    """The import event carries what the import wrote, so its rows are compared too."""
    add_people(wf_empty)
    rid = import_document(wf_empty.db, FIXTURE, actor=ADMIN, force="Norfolk").response_id
    assert replay.verify(wf_empty.db) == []
    tamper(wf_empty.db, f"UPDATE response SET cc_response = 'forged' WHERE id = {rid}")
    [difference] = replay.verify(wf_empty.db)
    assert (difference.response_id, difference.field, difference.row) == (
        rid, "cc_response", "forged")
