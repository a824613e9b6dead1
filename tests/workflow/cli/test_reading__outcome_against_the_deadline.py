"""Where a response stands against its deadline, as the CLI says it.

Published and closed responses say how they ended ("published 2 days early",
"published 3 days late", "closed as not required"), never "-725 days left": in ``list``,
``show``, the line a transition prints, and ``--json`` (a field, not text).
"""

from __future__ import annotations

import json

import pytest
import time_machine

from tests.factories import ADMIN, FORCE, PCC, answer_all, norfolk, norfolk_report, table_rows
from workflow.core.settings import Settings
from workflow.responses import content
from workflow.responses.service import Workflow
from workflow.storage.db import Database

# Slow: every test builds five responses' histories (seconds each).
pytestmark = pytest.mark.slow

URL = "https://www.norfolk-pcc.gov.uk/s55/asb-spotlight"


def _report(wf_five_endings: Workflow, n: int, published: str) -> int:
    """Another report (its own title and link), its response in draft."""
    report = norfolk_report(title=f"Report {n}", published_on=published,
                            link=f"https://justiceinspectorates.gov.uk/report-{n}")
    return content.add_report(wf_five_endings, report, ADMIN).id or 0


def _to_panel(wf_five_endings: Workflow, rid: int) -> None:
    """Answered, written and signed off: version 10, waiting to be published."""
    with time_machine.travel("2024-11-20 10:00:00+00:00", tick=False):
        answer_all(wf_five_endings, rid)
        content.edit_text(wf_five_endings, rid, "pcc_response", "I welcome this report.", PCC)
        wf_five_endings.fire(rid, "request_force_input", ADMIN)
        wf_five_endings.fire(rid, "submit_force_input", FORCE)
        wf_five_endings.fire(rid, "sign_off", PCC)


@pytest.fixture
def wf_five_endings(db: Database, settings: Settings) -> Workflow:
    """Five responses that end differently (deadlines in brackets):

    1 Norfolk (4 Dec 2024) published 2 Dec, 2 (25 Nov 2024) published 28 Nov,
    3 (14 Dec 2024) closed, 4 (26 Dec 2024) still in draft, 5 (13 Feb 2025) in draft.
    """
    workflow = Workflow(db, settings)
    with time_machine.travel("2024-11-02 10:00:00+00:00", tick=False):
        norfolk(workflow)
        _report(workflow, 2, "2024-10-01")
        _report(workflow, 3, "2024-10-20")
        _report(workflow, 4, "2024-11-01")
    with time_machine.travel("2025-01-05 10:00:00+00:00", tick=False):
        _report(workflow, 5, "2024-12-20")
    _to_panel(workflow, 1)
    _to_panel(workflow, 2)
    return workflow


class TestTransitionLine:
    def test_each_transition_says_where_the_response_now_stands(self, wf_five_endings: Workflow,
                                                               run) -> None:  # type: ignore[no-untyped-def]
        """Open: days to go; published: how early or how late; closed: nothing more."""
        with time_machine.travel("2024-11-20 10:00:00+00:00", tick=False):
            moved = run("request-force-input", "4", actor=ADMIN)
            closed = run("mark-not-required", "3", "--reason", "Duplicates report 1", actor=ADMIN)
        with time_machine.travel("2024-12-02 10:00:00+00:00", tick=False):
            early = run("publish", "1", "--url", URL, actor=ADMIN)
            late = run("publish", "2", "--url", URL, "--published-on", "2024-11-28", actor=ADMIN)
        assert [r.exit_code for r in (moved, closed, early, late)] == [0, 0, 0, 0]
        assert moved.stdout == ("response 4 is now waiting for the force's comments (version 2); "
                                "statutory deadline "
                                "26 December 2024, due in 36 days\n")
        assert closed.stdout == "response 3 is now closed as not required (version 2)\n"
        assert early.stdout == ("response 1 is now published (version 11); statutory "
                                "deadline 4 December 2024, published 2 days early\n")
        assert late.stdout == ("response 2 is now published (version 11); statutory "
                               "deadline 25 November 2024, published 3 days late\n")


class TestPublishLate:
    @pytest.mark.parametrize(("today", "published_on", "words"), [
        ("2024-12-09", None, "published 5 days late"),
        ("2024-12-09", "2024-12-05", "published 1 day late"),
        ("2024-12-09", "2024-12-04", "published on the deadline"),
        ("2024-12-03", None, "published 1 day early"),
    ])
    def test_publish_says_in_its_line_whether_it_was_late_and_by_how_many_days(
            self, wf_five_endings: Workflow, run, today: str, published_on: str | None,  # type: ignore[no-untyped-def]
            words: str) -> None:
        """Publishing after the deadline is recorded (the Act is done, refusing it undoes
        nothing) and the same line says it was late, by how many days."""
        extra = ["--published-on", published_on] if published_on else []
        with time_machine.travel(f"{today} 10:00:00+00:00", tick=False):
            result = run("publish", "1", "--url", URL, *extra, actor=ADMIN)
            assert result.exit_code == 0, result.output
            shown = json.loads(run("show", "1", "--json").stdout)
        assert result.stdout == ("response 1 is now published (version 11); "
                                 f"statutory deadline 4 December 2024, {words}\n")
        assert shown["state"] == "published"
        assert shown["published_on"] == (published_on or today)


@pytest.fixture
def ended(wf_five_endings: Workflow, run) -> Workflow:  # type: ignore[no-untyped-def]
    """Responses 1 and 2 published (on time, late), 3 closed; read weeks later."""
    with time_machine.travel("2024-11-20 10:00:00+00:00", tick=False):
        assert run("mark-not-required", "3", "--reason", "Duplicate", actor=ADMIN).exit_code == 0
    with time_machine.travel("2024-12-02 10:00:00+00:00", tick=False):
        assert run("publish", "1", "--url", URL, actor=ADMIN).exit_code == 0
        assert run("publish", "2", "--url", URL, "--published-on", "2024-11-28",
                   actor=ADMIN).exit_code == 0
    return wf_five_endings


ON_TIME = {"kind": "published", "published_on": "2024-12-02", "on_time": True, "days_early": 2,
           "days_late": 0}
LATE = {"kind": "published", "published_on": "2024-11-28", "on_time": False, "days_early": 0,
        "days_late": 3}


class TestReads:
    def test_list_json_gives_the_outcome_as_a_field(self, ended: Workflow, run) -> None:  # type: ignore[no-untyped-def]
        with time_machine.travel("2025-01-10 10:00:00+00:00", tick=False):
            rows = json.loads(run("list", "--all", "--json").stdout)
        assert [(r["id"], r["outcome"]) for r in rows] == [
            (2, LATE), (1, ON_TIME), (3, {"kind": "closed"}),
            (4, {"kind": "overdue", "days_overdue": 15}), (5, {"kind": "due", "days_left": 34})]
        # The fields that were there stay (days_left is the plain count to the deadline).
        assert [(r["days_left"], r["rag"]) for r in rows] == [
            (-46, "late"), (-37, "done"), (-27, "closed"), (-15, "red"), (34, "green")]

    def test_list_says_how_each_response_ended(self, ended: Workflow, run) -> None:  # type: ignore[no-untyped-def]
        with time_machine.travel("2025-01-10 10:00:00+00:00", tick=False):
            text = run("list", "--all").stdout
        assert [(r["id"], r["timing"]) for r in table_rows(text)] == [
            ("2", "published 3 days late"), ("1", "published 2 days early"),
            ("3", "closed as not required"), ("4", "15 days overdue"), ("5", "due in 34 days")]
        assert "days left" not in text.splitlines()[0]

    @pytest.mark.parametrize(("rid", "line"), [
        (1, "  deadline:   4 December 2024, published 2 days early  "
            "[s55(5A): publication + 55 days]"),
        (2, "  deadline:   25 November 2024, published 3 days late  "
            "[s55(5A): publication + 55 days]"),
        (3, "  deadline:   14 December 2024, closed as not required  "
            "[s55(5A): publication + 55 days]"),
        (4, "  deadline:   26 December 2024, 15 days overdue (red)  "
            "[s55(5A): publication + 55 days]"),
        (5, "  deadline:   13 February 2025, due in 34 days (green)  "
            "[s55(5A): publication + 55 days]"),
    ])
    def test_show_says_how_the_response_stands(self, ended: Workflow, run, rid: int,  # type: ignore[no-untyped-def]
                                               line: str) -> None:
        with time_machine.travel("2025-01-10 10:00:00+00:00", tick=False):
            text = run("show", str(rid)).stdout
            detail = json.loads(run("show", str(rid), "--json").stdout)
        assert text.splitlines()[4] == line
        assert detail["outcome"] == {1: ON_TIME, 2: LATE, 3: {"kind": "closed"},
                                     4: {"kind": "overdue", "days_overdue": 15},
                                     5: {"kind": "due", "days_left": 34}}[rid]
