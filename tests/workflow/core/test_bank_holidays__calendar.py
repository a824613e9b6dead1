"""Working days in England and Wales: the calendar, and what the CLI says about it.

Escalations go out on working days (a rule's day that is a weekend or a bank holiday
moves to the working day before); the Section 55 deadline never moves, and ``s55 show``
warns when it is not a working day. Every day below is written by hand from a calendar.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.factories import ADMIN, CHIEF_EXEC, PCC, add_people, norfolk_report, table_rows
from workflow.cli import app
from workflow.core.bank_holidays import england_and_wales
from workflow.core.settings import Settings
from workflow.responses import content
from workflow.responses.service import Workflow
from workflow.storage.db import Database

WORKING = england_and_wales()


class TestCalendar:
    @pytest.mark.parametrize(("day", "why"), [
        (date(2024, 12, 25), "Christmas Day"), (date(2024, 12, 26), "Boxing Day"),
        (date(2025, 4, 18), "Good Friday"), (date(2025, 4, 21), "Easter Monday"),
        (date(2022, 9, 19), "State Funeral of Queen Elizabeth II"),
        (date(2027, 12, 28), "Boxing Day (observed)"),
        (date(2024, 12, 7), "Saturday"), (date(2024, 12, 8), "Sunday"),
        (date(2024, 12, 24), None), (date(2024, 12, 27), None)])
    def test_england_and_wales_days(self, day: date, why: str | None) -> None:
        """Bank holidays (one-off and substitute days too) and weekends are named; other
        days are working days."""
        assert WORKING.closed(day) == why
        assert (WORKING.on_or_before(day) == day) is (why is None)

    @pytest.mark.parametrize(("day", "before"), [
        (date(2025, 4, 21), date(2025, 4, 17)),  # Easter Monday, Sunday, Saturday, Good Friday
        (date(2027, 12, 28), date(2027, 12, 24)),  # both Christmas days observed on Mon/Tue
        (date(2024, 12, 8), date(2024, 12, 6)), (date(2024, 12, 6), date(2024, 12, 6))])
    def test_the_working_day_on_or_before(self, day: date, before: date) -> None:
        assert WORKING.on_or_before(day) == before

    def test_england_and_wales_share_their_bank_holidays(self) -> None:
        """subdiv "ENG" serves both: Wales has the same bank holidays in every year s55 may
        plan, and St Patrick's Day (Northern Ireland's) is not one of them."""
        import holidays

        for year in range(2000, 2061):
            eng = holidays.country_holidays("GB", subdiv="ENG", years=year)
            wls = holidays.country_holidays("GB", subdiv="WLS", years=year)
            assert dict(eng) == dict(wls), year
        assert WORKING.closed(date(2025, 3, 17)) is None


def register(wf: Workflow, published: str) -> int:
    """The people, and a report published on ``published``; the new response's id."""
    add_people(wf)
    return content.add_report(wf, norfolk_report(published_on=published), ADMIN).id or 0


@pytest.fixture
def cli(settings: Settings, db: Database) -> Any:
    wf = Workflow(db, settings)

    def invoke(*args: str) -> Any:
        result = CliRunner().invoke(app, list(args), env={
            "S55_DATABASE_URL": settings.database_url, "S55_SPOOL_DIR": str(settings.spool_dir),
            "S55_ACTOR": ""})
        assert result.exit_code == 0, result.output
        return result

    invoke.wf = wf  # type: ignore[attr-defined]
    return invoke


class TestPlan:
    def test_plan_shows_the_moved_day_and_why(self, cli: Any) -> None:
        """Published Thu 31 Oct 2024, D = Wed 25 Dec 2024 (Christmas Day). Planned on Mon
        16 Dec: D-7 and D-2 stay (Wed 18, Mon 23 Dec); the deadline alert goes out on Tue
        24 Dec and the first weekly one on Tue 31 Dec (1 Jan is New Year's Day), each
        saying so."""
        rid = register(cli.wf, "31 October 2024")
        now = "2024-12-16T12:00:00+00:00"
        rows = json.loads(cli("escalations", "plan", str(rid), "--days", "16", "--now", now,
                              "--json").stdout)
        assert [(r["rule"], r["day"], r["moved_from"], r["moved_because"]) for r in rows
                if r["status"] == "planned"] == [
            ("publish-d7", "2024-12-18", None, None),
            ("publish-d2", "2024-12-23", None, None),
            ("overdue", "2024-12-24", "2024-12-25", "Christmas Day"),
            ("overdue", "2024-12-31", "2025-01-01", "New Year's Day")]
        table = table_rows(cli("escalations", "plan", str(rid), "--days", "16", "--now",
                               now).stdout)
        assert [(r["rule"], r["fires at"], r["moved from"]) for r in table
                if r["status"] == "planned"] == [
            ("publish-d7", "Wed 18 Dec 2024 09:00", "-"),
            ("publish-d2", "Mon 23 Dec 2024 09:00", "-"),
            ("overdue", "Tue 24 Dec 2024 09:00", "Wed 25 Dec 2024 (not a working day: Christmas "
                                                 "Day)"),
            ("overdue", "Tue 31 Dec 2024 09:00", "Wed 01 Jan 2025 (not a working day: New "
                                                 "Year's Day)")]

    def test_a_draft_plan_leaves_out_the_force(self, cli: Any) -> None:
        """In draft the force liaison cannot act, so the plan's D-2 and deadline alerts
        name the others only, and say the force was left out."""
        rid = register(cli.wf, "10 October 2024")
        rows = json.loads(cli("escalations", "plan", str(rid), "--days", "7", "--now",
                              "2024-11-29T12:00:00+00:00", "--json").stdout)
        last = rows[-1]
        assert (last["rule"], last["day"]) == ("overdue", "2024-12-04")
        assert last["recipients"] == [ADMIN, PCC, CHIEF_EXEC]
        assert last["not_acting"] == ["force"]


class TestShow:
    @pytest.mark.parametrize(("published", "deadline", "because", "last", "line"), [
        ("13 October 2024", "2024-12-07", "Saturday", "2024-12-06",
         "  WARNING: the last lawful day, Sat 07 Dec 2024, is not a working day (Saturday): "
         "the last working day before it is Fri 06 Dec 2024 (the deadline does not move: "
         "s55(5A) counts calendar days)"),
        ("31 October 2024", "2024-12-25", "Christmas Day", "2024-12-24",
         "  WARNING: the last lawful day, Wed 25 Dec 2024, is not a working day (Christmas "
         "Day): the last working day before it is Tue 24 Dec 2024 (the deadline does not "
         "move: s55(5A) counts calendar days)"),
        ("25 February 2025", "2025-04-21", "Easter Monday", "2025-04-17",
         "  WARNING: the last lawful day, Mon 21 Apr 2025, is not a working day (Easter "
         "Monday): the last working day before it is Thu 17 Apr 2025 (the deadline does not "
         "move: s55(5A) counts calendar days)"),
    ])
    def test_warns_when_the_deadline_is_not_a_working_day(
            self, cli: Any, published: str, deadline: str, because: str, last: str,
            line: str) -> None:
        """The deadline stays the statutory day; ``show`` adds one warning line after it,
        naming why it is not a working day and the working day before; ``--json`` has
        both."""
        rid = register(cli.wf, published)
        lines = cli("show", str(rid)).stdout.splitlines()
        assert line in lines
        day = date.fromisoformat(deadline)
        assert lines[lines.index(line) - 1].startswith(f"  deadline:   {day.day} {day:%B %Y}, ")
        detail = json.loads(cli("show", str(rid), "--json").stdout)
        assert detail["deadline"] == deadline
        assert detail["deadline_not_working_day"] == {"because": because,
                                                      "last_working_day": last}

    def test_no_warning_on_a_working_day_or_once_closed(self, cli: Any) -> None:
        """Norfolk's deadline (Wed 4 Dec 2024) is a working day: no warning, the field is
        null. A response closed as not required says nothing of its deadline day."""
        rid = register(cli.wf, "10 October 2024")
        assert "WARNING" not in cli("show", str(rid)).stdout
        assert json.loads(cli("show", str(rid), "--json").stdout)[
            "deadline_not_working_day"] is None
        later = content.add_report(cli.wf, norfolk_report(
            title="A second report", published_on="13 October 2024"), ADMIN).id or 0
        assert "WARNING" in cli("show", str(later)).stdout
        cli.wf.fire(later, "mark_not_required", ADMIN, reason="national report")
        assert "WARNING" not in cli("show", str(later)).stdout
