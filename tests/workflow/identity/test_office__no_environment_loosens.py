"""Settings that loosen a check belong to the database: a process whose environment asks
for a looser identity mode or for separation of duties off, where the database says
otherwise, refuses in one line naming the command that changes the database's, and
changes nothing; it may ask for a stricter one. Every sign-off records the mode and the
separation of duties in force; ``s55 doctor`` reports them."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import time_machine
from sqlalchemy import text
from typer.testing import CliRunner

from tests.factories import (
    ADMIN,
    FORCE,
    PCC,
    answer_all,
    norfolk,
    record_office,
    sign_off_payload,
    snapshot,
)
from workflow.cli import app
from workflow.core.errors import LooserThanRecordedError, SeparationOfDutiesError
from workflow.core.settings import Settings
from workflow.responses import content
from workflow.responses.service import Workflow
from workflow.storage.db import Database

ME = subprocess.check_output(["id", "-un"], text=True).strip()  # not the code under test
DURING = "2024-10-14 10:00:00+01:00"
DUAL = "dual@norfolk-pcc.gov.uk"
LOOSER_IDENTITY = (
    "Error: S55_IDENTITY=claimed asks for a looser check than this database records "
    "(identity os): unset S55_IDENTITY; only an admin changes the database's, with `s55 "
    "office set identity claimed --reason ...`")
LOOSER_DUTIES = (
    "Error: S55_SEPARATION_OF_DUTIES=false asks for a looser check than this database "
    "records (separation of duties on): unset S55_SEPARATION_OF_DUTIES; only an admin "
    "changes the database's, with `s55 office set separation-of-duties off --reason ...`")


def at_signoff(wf: Workflow, submitter: str = FORCE) -> None:
    """Norfolk in pcc_signoff, the PCC's text written."""
    with time_machine.travel(DURING, tick=False):
        wf.fire(1, "request_force_input", ADMIN)
        answer_all(wf, 1)
        content.edit_text(wf, 1, "pcc_response", "I welcome this report.", ADMIN)
        wf.fire(1, "submit_force_input", submitter)


@pytest.fixture
def claimed_wf(db: Database, settings: Settings) -> Workflow:
    """Norfolk set up under claimed identity, the office's settings recorded as given."""
    wf = Workflow(db, settings)
    record_office(wf, identity="claimed")
    norfolk(wf)
    return wf


@pytest.fixture
def os_wf(claimed_wf: Workflow) -> Workflow:
    """The same office, its response waiting for the PCC's sign-off, after its admin made
    identity os: the PCC is this account's login."""
    at_signoff(claimed_wf)
    with claimed_wf.db.write() as s:  # set-up behind s55's back (no audit needed here)
        s.execute(text("UPDATE office_setting SET value = '\"os\"' WHERE name = 'identity'"))
        s.execute(text("UPDATE person SET login = :l WHERE email = :e"), {"l": ME, "e": PCC})
    return Workflow(claimed_wf.db, claimed_wf.settings.model_copy(update={"identity": None}))


@pytest.fixture
def run(db_url: str, tmp_path: Path) -> Callable[..., Any]:
    def invoke(*args: str, **env: str | None) -> Any:
        return CliRunner().invoke(app, list(args), env={
            "S55_DATABASE_URL": db_url, "S55_SPOOL_DIR": str(tmp_path / "spool"),
            "S55_ACTOR": None, "S55_IDENTITY": None, **env})
    return invoke


class TestTheEnvironmentCannotLoosen:
    @pytest.mark.parametrize("args", [
        ["edit", "1", "pcc_response", "--text", "Forged", "--as", PCC],
        ["sign-off", "1", "--as", PCC],
        ["list"],
        ["office", "show"],
    ], ids=["edit as the PCC", "sign off as the PCC", "a read", "the settings themselves"])
    def test_claimed_where_the_database_says_os(self, os_wf: Workflow, run: Callable[..., Any],
                                                args: list[str]) -> None:
        """The force liaison's ``env S55_IDENTITY=claimed s55 ... --as pcc@``: refused."""
        before = snapshot(os_wf)
        with time_machine.travel("2024-11-20 10:00:00+00:00", tick=False):
            result = run(*args, S55_IDENTITY="claimed")
        assert result.exit_code == 1
        assert result.stderr.strip() == LOOSER_IDENTITY
        assert snapshot(os_wf) == before

    def test_separation_off_where_the_database_keeps_it_on(self, claimed_wf: Workflow,
                                                           run: Callable[..., Any]) -> None:
        claimed_wf_dual(claimed_wf)
        before = snapshot(claimed_wf)
        with time_machine.travel("2024-11-20 10:00:00+00:00", tick=False):
            result = run("sign-off", "1", "--as", DUAL, S55_IDENTITY="claimed",
                         S55_SEPARATION_OF_DUTIES="false")
        assert result.exit_code == 1
        assert result.stderr.strip() == LOOSER_DUTIES
        assert snapshot(claimed_wf) == before

    def test_the_library_refuses_in_the_transaction_too(self, os_wf: Workflow) -> None:
        """A ``Workflow`` built on looser settings (the web server, the daemon) is refused
        by the database in the transaction itself, and writes nothing."""
        loose = Workflow(os_wf.db, os_wf.settings.model_copy(update={"identity": "claimed"}))
        before = snapshot(os_wf)
        with pytest.raises(LooserThanRecordedError), \
                time_machine.travel("2024-11-20 10:00:00+00:00", tick=False):
            loose.fire(1, "sign_off", PCC)
        assert snapshot(os_wf) == before


def claimed_wf_dual(wf: Workflow) -> None:
    """An admin who is also a PCC submitted the force's comments."""
    from workflow.people import management

    management.add_person(wf, {"name": "Dual Role", "email": DUAL, "roles": ["admin", "pcc"]},
                          ADMIN)
    at_signoff(wf, submitter=DUAL)


class TestTheEnvironmentMayTighten:
    def test_os_where_the_database_says_claimed(self, claimed_wf: Workflow,
                                                run: Callable[..., Any]) -> None:
        """``S55_IDENTITY=os`` over a claimed database: this account decides, --as may not."""
        result = run("request-force-input", "1", "--as", ADMIN, S55_IDENTITY="os")
        assert result.exit_code == 1
        assert result.stderr.strip().startswith(f"Error: --as {ADMIN} refused: under identity "
                                                "mode os you act as yourself")

    def test_separation_on_where_the_database_has_it_off(self, db: Database,
                                                         settings: Settings) -> None:
        wf = Workflow(db, settings)
        record_office(wf, separation=False)
        norfolk(wf)
        claimed_wf_dual(wf)
        strict = Workflow(db, settings.model_copy(update={"separation_of_duties": True}))
        with pytest.raises(SeparationOfDutiesError), \
                time_machine.travel("2024-11-20 10:00:00+00:00", tick=False):
            strict.fire(1, "sign_off", DUAL)


class TestTheSignOffRecordsTheChecks:
    def test_the_mode_and_the_separation_in_force(self, os_wf: Workflow) -> None:
        with time_machine.travel("2024-11-20 10:00:00+00:00", tick=False):
            os_wf.fire(1, "sign_off", None)
        payload = sign_off_payload(os_wf)
        assert (payload["identity_mode"], payload["separation_of_duties"]) == ("os", True)

    def test_separation_off_is_said_by_the_sign_off(self, db: Database,
                                                    settings: Settings) -> None:
        wf = Workflow(db, settings)
        record_office(wf, separation=False)
        norfolk(wf)
        claimed_wf_dual(wf)
        with time_machine.travel("2024-11-20 10:00:00+00:00", tick=False):
            wf.fire(1, "sign_off", DUAL)
        payload = sign_off_payload(wf)
        assert (payload["identity_mode"], payload["separation_of_duties"]) == (
            "claimed", False)


class TestDoctor:
    def test_it_reports_the_databases_settings(self, claimed_wf: Workflow,
                                               run: Callable[..., Any]) -> None:
        checks = {c["check"]: c for c in json.loads(run("doctor", "--json").stdout)["checks"]}
        assert checks["identity"]["status"] == "WARN"
        assert checks["identity"]["detail"].startswith(
            "identity claimed, separation of duties on; force Norfolk, office Office of the "
            "Police and Crime Commissioner for Norfolk: --as is taken on trust")

    def test_it_fails_on_a_looser_environment(self, os_wf: Workflow,
                                              run: Callable[..., Any]) -> None:
        checks = {c["check"]: c for c in json.loads(run(
            "doctor", "--json", S55_IDENTITY="claimed").stdout)["checks"]}
        assert checks["identity"]["status"] == "FAIL"
        assert checks["identity"]["detail"] == LOOSER_IDENTITY.removeprefix("Error: ")

    def test_it_fails_until_init_records_them(self, wf: Workflow,
                                              run: Callable[..., Any]) -> None:
        """A database from before the settings were kept: the command that records them."""
        checks = {c["check"]: c for c in json.loads(run(
            "doctor", "--json", S55_IDENTITY="claimed").stdout)["checks"]}
        assert checks["identity"]["status"] == "FAIL"
        assert checks["identity"]["hint"] == ("record them once with `s55 init --force NAME "
                                              "--office NAME --identity os|claimed`")
