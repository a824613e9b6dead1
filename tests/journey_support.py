"""What the tests of an office's whole journey share: a report with areas for
improvement (the Norfolk report with some added, as a PEEL report carries them), the
force's answers to them, a delegation to a deputy, and the mail a transition queued."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
import time_machine
from factories import ADMIN, CHIEF_EXEC, FORCE, PCC, add_people, answer_all, norfolk_report
from sqlalchemy import text

from workflow.people import delegation
from workflow.responses import content
from workflow.responses.service import Workflow

#: Officers work on the Norfolk report (published 10 October 2024) in October and November.
DURING = "2024-10-14 10:00:00+01:00"
SIGNING = "2024-11-20 10:00:00+00:00"
#: The deputy under delegation: the chief executive (a person who is not the PCC).
DEPUTY = CHIEF_EXEC

AREAS = {
    1: "The force should improve how it records antisocial behaviour incidents.",
    2: "The force should make sure risk assessments are reviewed at case closure.",
    3: "The force should evaluate problem-solving plans for their outcomes.",
}


def frozen_at(moment: str) -> Callable[[], Iterator[None]]:
    """An autouse fixture holding the clock at ``moment`` (assign it in a test module)."""
    @pytest.fixture(autouse=True)
    def frozen() -> Iterator[None]:
        with time_machine.travel(moment, tick=False):
            yield

    return frozen


def with_areas(areas: dict[int, str] | None = None, **overrides: Any) -> Any:
    """The Norfolk report with areas for improvement (no statement that there are none)."""
    items = AREAS if areas is None else areas
    return norfolk_report(afi_statement=None, areas_for_improvement=[
        {"number": n, "text": t} for n, t in items.items()], **overrides)


def register(wf: Workflow, report: Any = None) -> int:
    """The people and a report with areas; the response's id."""
    add_people(wf)
    return content.add_report(wf, report if report is not None else with_areas(),
                              ADMIN).id or 0


def answer_areas(wf: Workflow, rid: int, numbers: Any = None) -> None:
    """The force's answer to each of ``numbers`` (default: every area the response has)."""
    if numbers is None:
        with wf.db.engine.connect() as conn:
            numbers = list(conn.execute(text(
                "SELECT number FROM area_for_improvement WHERE response_id = :r "
                "ORDER BY number"), {"r": rid}).scalars())
    for n in numbers:
        content.edit_area(wf, rid, n, "force_response", f"The force's answer to area {n}.",
                          FORCE)


def ready_to_sign(wf: Workflow, rid: int) -> None:
    """Sent to the force, every recommendation and area answered, submitted, the PCC's
    response written: the response waits on the PCC's sign-off."""
    wf.fire(rid, "request_force_input", ADMIN)
    answer_all(wf, rid)
    answer_areas(wf, rid)
    wf.fire(rid, "submit_force_input", FORCE)
    content.edit_text(wf, rid, "pcc_response", "I welcome the report.", PCC)


def delegate(wf: Workflow, start: date = date(2024, 10, 1),
             end: date = date(2024, 12, 31)) -> int:
    """The PCC's powers delegated to ``DEPUTY`` over ``start``..``end``; its id."""
    made = delegation.delegate(wf, PCC, DEPUTY, start, end, PCC, "annual leave")
    assert isinstance(made, delegation.DelegationView)
    return made.id


def mail(wf: Workflow, kind: str) -> list[Any]:
    """The outbox rows of ``kind``, oldest first."""
    with wf.db.engine.connect() as conn:
        return list(conn.execute(text("SELECT recipient, subject, body_text, body_html "
                                      "FROM outbox WHERE kind = :k ORDER BY id"), {"k": kind}))


_HEADING = re.compile(r"^(#{1,6})\s")


def empty_headings(markdown: str) -> list[str]:
    """Headings followed (past blank lines) by a heading of the same or a higher level, or
    by nothing: a heading with nothing under it."""
    lines = [line for line in markdown.split("\n") if line.strip()]
    empty = []
    for i, line in enumerate(lines):
        level = _HEADING.match(line)
        if level is None:
            continue
        after = _HEADING.match(lines[i + 1]) if i + 1 < len(lines) else None
        if i + 1 == len(lines) or (after and len(after.group(1)) <= len(level.group(1))):
            empty.append(line)
    return empty
