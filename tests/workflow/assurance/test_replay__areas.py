"""The replay knows the areas for improvement: the force's answers replay from their
events (verify stays green), and an area changed behind s55's back is named (both
databases)."""

from __future__ import annotations

from typing import Any

import pytest
from factories import ADMIN
from journey_support import SIGNING, frozen_at
from sqlalchemy import text

from workflow.assurance import replay
from workflow.responses.service import Workflow

_signing = frozen_at(SIGNING)


def test_the_answers_replay_and_verify_is_green(wf_signed_off: Workflow, run: Any) -> None:
    result = run("audit", "verify", actor=ADMIN)
    assert result.exit_code == 0, result.output
    assert "rows OK: every response equals the replay of its events" in result.stdout


@pytest.mark.parametrize(("sql", "named"), [
    ("UPDATE area_for_improvement SET force_response = 'forged' WHERE number = 2",
     "response 1: area for improvement 2 force_response is 'forged' in the row but "
     "\"The force's answer to area 2.\" by its events"),
    ("DELETE FROM area_for_improvement WHERE number = 3",
     "response 1: area for improvement 3 is 'absent' in the row but 'present' by its events"),
])
def test_an_area_changed_behind_s55_s_back_is_named(wf_signed_off: Workflow, run: Any, sql: str,
                                                    named: str) -> None:
    with wf_signed_off.db.engine.begin() as conn:
        conn.execute(text(sql))
    assert named in [d.describe() for d in replay.verify(wf_signed_off.db)]
    result = run("audit", "verify", actor=ADMIN)
    assert result.exit_code == 1
