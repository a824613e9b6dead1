"""One force, one response per report: `report add` and `import` refuse a second one,
naming the first, unless `--again --reason`. On SQLite and PostgreSQL."""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from waiting import wait_until

from tests.factories import ADMIN, snapshot
from workflow.audit import trail
from workflow.responses.service import Workflow
from workflow.storage.db import Database
from workflow.storage.models import InspectionReport, Response

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "norfolk" / "report.toml"
FIXTURE = ROOT / "tests" / "data" / "norfolk-asb-spotlight-2024.md"
S55 = [sys.executable, "-m", "workflow.cli"]
TITLE = "The policing response to antisocial behaviour: PEEL spotlight report"
REPORT_PAGE = ("https://www.justiceinspectorates.gov.uk/hmicfrs/publications/"
               "the-policing-response-to-antisocial-behaviour/")
AGAIN = "to register another, give --again --reason WHY"


@pytest.fixture
def run(run):  # type: ignore[no-untyped-def]
    """The conftest ``run``, as the admin."""
    return functools.partial(run, actor=ADMIN)


def ok(result) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code == 0, result.output
    return str(result.stdout)


def responses(wf: Workflow) -> list[tuple[int, str, str]]:
    with wf.db.read() as s:
        rows = s.execute(select(Response.id, Response.force, InspectionReport.title)
                         .join(InspectionReport, InspectionReport.id == Response.report_id)
                         .order_by(Response.id)).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def refused(wf: Workflow, run, args: list[str], line: str) -> None:  # type: ignore[no-untyped-def]
    before = snapshot(wf)
    result = run(*args)
    assert result.exit_code == 1, result.output
    assert result.stderr.strip() == line
    assert snapshot(wf) == before


class TestSecondResponseRefused:
    """The same report again, by any path: one line naming the existing response."""

    def test_report_add_twice(self, wf: Workflow, run) -> None:  # type: ignore[no-untyped-def]
        ok(run("report", "add", "--file", str(EXAMPLE)))
        refused(wf, run, ["report", "add", "--file", str(EXAMPLE)],
                f"Error: Norfolk already has response 1 (draft) to '{TITLE}' (published "
                f"2024-10-10); {AGAIN}")

    @pytest.mark.parametrize("title", [
        "the policing response to ANTISOCIAL behaviour: PEEL spotlight report",
        "  The policing response to antisocial  behaviour:   PEEL spotlight report ",
        "The policing response to antisocial behaviour: PEEL spotlight report.",
    ])
    def test_title_compared_without_case_or_spacing(self, wf: Workflow, run,  # type: ignore[no-untyped-def]
                                                    title: str) -> None:
        ok(run("report", "add", "--file", str(EXAMPLE)))
        refused(wf, run, ["report", "add", "--title", title, "--published", "10 October 2024"],
                f"Error: Norfolk already has response 1 (draft) to '{TITLE}' (published "
                f"2024-10-10); {AGAIN}")

    def test_same_link_to_the_report_page(self, wf: Workflow, run) -> None:  # type: ignore[no-untyped-def]
        """A link to the report's own page names the report, whatever the title says."""
        ok(run("report", "add", "--title", "ASB spotlight", "--published", "2024-10-10",
               "--link", REPORT_PAGE))
        refused(wf, run, ["report", "add", "--title", "Antisocial behaviour", "--published",
                          "2024-10-11", "--link", REPORT_PAGE.rstrip("/").upper()],
                "Error: Norfolk already has response 1 (draft) to 'ASB spotlight' (published "
                f"2024-10-10) at the same link {REPORT_PAGE}; {AGAIN}")

    def test_report_add_after_import(self, wf: Workflow, run) -> None:  # type: ignore[no-untyped-def]
        assert "response 1: imported" in ok(run("import", str(FIXTURE)))
        refused(wf, run, ["report", "add", "--file", str(EXAMPLE)],
                f"Error: Norfolk already has response 1 (published) to '{TITLE}' (published "
                f"2024-10-10); {AGAIN}")

    def test_import_after_report_add(self, wf: Workflow, run) -> None:  # type: ignore[no-untyped-def]
        ok(run("report", "add", "--file", str(EXAMPLE)))
        refused(wf, run, ["import", str(FIXTURE)],
                f"Error: Norfolk already has response 1 (draft) to '{TITLE}' (published "
                f"2024-10-10); {AGAIN}")

    def test_import_twice(self, wf: Workflow, run) -> None:  # type: ignore[no-untyped-def]
        ok(run("import", str(FIXTURE)))
        refused(wf, run, ["import", str(FIXTURE)],
                f"Error: Norfolk already has response 1 (published) to '{TITLE}' (published "
                f"2024-10-10); {AGAIN}")


class TestNotTheSameReport:
    """What is not a second response to the same report is registered as before."""

    def test_another_force(self, wf: Workflow, run) -> None:  # type: ignore[no-untyped-def]
        ok(run("report", "add", "--file", str(EXAMPLE)))
        ok(run("report", "add", "--title", TITLE, "--published", "2024-10-10",
               "--force", "Suffolk"))
        assert responses(wf) == [(1, "Norfolk", TITLE), (2, "Suffolk", TITLE)]

    def test_same_title_published_another_day(self, wf: Workflow, run) -> None:  # type: ignore[no-untyped-def]
        """HMICFRS reuses titles year on year (PEEL): the date tells them apart."""
        ok(run("report", "add", "--title", "PEEL inspection", "--published", "2023-03-01"))
        ok(run("report", "add", "--title", "PEEL inspection", "--published", "2025-03-01"))
        assert [r[0] for r in responses(wf)] == [1, 2]

    def test_a_site_front_page_names_no_report(self, wf: Workflow, run) -> None:  # type: ignore[no-untyped-def]
        """The Norfolk form links to https://justiceinspectorates.gov.uk itself: two reports
        sharing that link are not one."""
        ok(run("report", "add", "--file", str(EXAMPLE)))
        ok(run("report", "add", "--title", "Another report", "--published", "2024-10-10",
               "--link", "https://justiceinspectorates.gov.uk/"))
        assert [r[2] for r in responses(wf)] == [TITLE, "Another report"]


class TestAgain:
    """`--again --reason` registers a second response, the reason kept in the audit log."""

    def test_report_add_again(self, wf: Workflow, run) -> None:  # type: ignore[no-untyped-def]
        ok(run("report", "add", "--file", str(EXAMPLE)))
        out = ok(run("report", "add", "--file", str(EXAMPLE), "--again", "--reason",
                     "HMICFRS republished the report with corrections"))
        assert out.startswith("response 2: ")
        assert responses(wf) == [(1, "Norfolk", TITLE), (2, "Norfolk", TITLE)]
        with wf.db.read() as s:
            created = [e for e in trail.events_for(s, 2) if e.action == "created"]
        assert [(e.reason, json.loads(e.payload)["again_of"]) for e in created] == [
            ("HMICFRS republished the report with corrections", 1)]
        assert trail.verify(wf.db).ok

    def test_import_again(self, wf: Workflow, run) -> None:  # type: ignore[no-untyped-def]
        ok(run("report", "add", "--file", str(EXAMPLE)))
        out = ok(run("import", str(FIXTURE), "--again", "--reason", "the published copy"))
        assert out.startswith("response 2: imported")
        with wf.db.read() as s:
            imported = [e for e in trail.events_for(s, 2) if e.action == "imported"]
            reports = s.execute(select(func.count()).select_from(InspectionReport)).scalar()
        assert [(e.reason, json.loads(e.payload)["again_of"]) for e in imported] == [
            ("the published copy", 1)]
        assert reports == 2  # a report row of its own: one response per force and row

    @pytest.mark.parametrize(("extra", "line"), [
        (["--again"], "Error: --again: needs --reason WHY (a second response to one report is "
                      "audited with its reason)"),
        (["--again", "--reason", "  "], "Error: --again: needs --reason WHY (a second response "
                                        "to one report is audited with its reason)"),
        (["--reason", "corrected"], "Error: --reason: only used with --again"),
    ])
    @pytest.mark.parametrize("command", ["report add", "import"])
    def test_flags_refused(self, wf: Workflow, run, command: str, extra: list[str],  # type: ignore[no-untyped-def]
                           line: str) -> None:
        ok(run("report", "add", "--file", str(EXAMPLE)))
        source = ["--file", str(EXAMPLE)] if command == "report add" else [str(FIXTURE)]
        refused(wf, run, [*command.split(), *source, *extra], line)

    @pytest.mark.parametrize("command", ["report add", "import"])
    def test_again_with_nothing_to_repeat(self, wf: Workflow, run, command: str) -> None:  # type: ignore[no-untyped-def]
        source = ["--file", str(EXAMPLE)] if command == "report add" else [str(FIXTURE)]
        refused(wf, run, [*command.split(), *source, "--again", "--reason", "x"],
                f"Error: --again: Norfolk has no response to '{TITLE}' (published 2024-10-10) "
                "to repeat; register it without --again")


@pytest.mark.slow
def test_two_processes_race_one_registration(wf: Workflow, db: Database, db_url: str,
                                             tmp_path: Path) -> None:
    """Two `report add` of one report at once: one registers it, the other is refused and
    names the winner's response.

    On PostgreSQL the race is forced: the test holds the audit chain's lock, so each
    process stops at its audit append (after any check it made) until both are waiting;
    without a lock taken before the check, both would pass it."""
    env = {**os.environ, "S55_DATABASE_URL": db_url, "S55_ACTOR": ADMIN, "S55_FORCE": "Norfolk",
           "S55_SPOOL_DIR": str(tmp_path / "spool")}
    args = ["report", "add", "--title", "Race", "--published", "2024-10-10"]
    gate = None
    if not db.is_sqlite:
        gate = db.engine.connect()
        gate.execute(text("SELECT pg_advisory_lock(755)"))  # trail._CHAIN_LOCK_KEY
        gate.commit()
    procs = [subprocess.Popen(S55 + args, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        if gate is not None:
            _wait_for_waiters(db, 2)
            gate.execute(text("SELECT pg_advisory_unlock(755)"))
            gate.commit()
        results = [(p.wait(timeout=60), p.stdout.read(), p.stderr.read()) for p in procs]  # type: ignore[union-attr]
    finally:
        if gate is not None:
            gate.close()
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert sorted(code for code, _, _ in results) == [0, 1], results
    winner = next(out for code, out, _ in results if code == 0)
    loser = next(err for code, _, err in results if code == 1)
    rid = re.match(r"response (\d+): Race", winner)
    assert rid, winner
    assert loser.strip() == (f"Error: Norfolk already has response {rid[1]} (draft) to 'Race' "
                             f"(published 2024-10-10); {AGAIN}")
    assert [r[2] for r in responses(wf)] == ["Race"]
    assert trail.verify(db).ok


def _wait_for_waiters(db: Database, n: int, timeout: float = 60.0) -> None:
    """Until ``n`` sessions wait on an advisory lock (each process blocked at a lock)."""
    with db.engine.connect() as conn:
        def waiting() -> int:
            count = conn.execute(text("SELECT count(*) FROM pg_locks WHERE "
                                      "locktype = 'advisory' AND NOT granted")).scalar()
            conn.commit()
            return int(count or 0)

        wait_until(waiting, lambda count: count == n, timeout=timeout,
                   what=f"{n} processes waiting on a lock")
