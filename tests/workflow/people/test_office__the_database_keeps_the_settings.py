"""The office is the database's: ``s55 init --force --office --identity`` records the
force, the office's name, the identity mode and separation of duties once (a signed
event); only an admin changes them (``s55 office set``, audited, mailed to the auditors
and the PCC); there is no default force; mail reads them from the database."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.factories import ADMIN, AUDITOR, FORCE, PCC, snapshot, table_rows
from workflow.cli import app
from workflow.core.settings import Settings
from workflow.responses.service import Workflow
from workflow.storage.db import Database
from workflow.storage.models import AuditEvent, OutboxMessage, Response

NORFOLK_OFFICE = "Office of the Police and Crime Commissioner for Norfolk"
LANCS = "Lancashire Constabulary"
#: The environment of a process that supplies nothing of the office (the test session's
#: own S55_FORCE/S55_OPCC_NAME/S55_IDENTITY unset).
BARE = {"S55_FORCE": None, "S55_OPCC_NAME": None, "S55_IDENTITY": None, "S55_ACTOR": None}


def s55(db_url: str, tmp_path: Path, *args: str, **env: str | None) -> Any:
    return CliRunner().invoke(app, list(args), env={
        "S55_DATABASE_URL": db_url, "S55_SPOOL_DIR": str(tmp_path / "spool"), **BARE, **env})


def office_events(db: Database) -> list[AuditEvent]:
    with db.read() as s:
        return list(s.scalars(select(AuditEvent).where(
            AuditEvent.action == "office_set").order_by(AuditEvent.id)))  # type: ignore[arg-type]


class TestInit:
    def test_a_new_database_needs_the_force_and_the_office(self, db: Database, db_url: str,
                                                          tmp_path: Path) -> None:
        """Neither given nor in the environment: one line, and the database unchanged."""
        before = snapshot(Workflow(db, Settings(database_url=db_url)))
        result = s55(db_url, tmp_path, "init")
        assert result.exit_code == 1
        assert result.stderr.strip() == (
            "Error: s55 init needs --force NAME (or S55_FORCE) and --office NAME (or "
            "S55_OPCC_NAME): the force this office oversees and the office's name, as mail "
            "and documents show them")
        assert snapshot(Workflow(db, Settings(database_url=db_url))) == before

    def test_a_refused_init_makes_no_file(self, tmp_path: Path) -> None:
        path = tmp_path / "new.db"
        assert s55(f"sqlite:///{path}", tmp_path, "init", "--force", LANCS).exit_code == 1
        assert not path.exists()

    def test_init_records_the_settings_in_one_signed_event(self, db: Database, db_url: str,
                                                         tmp_path: Path) -> None:
        result = s55(db_url, tmp_path, "init", "--force", LANCS, "--office",
                     "Office of the PCC for Lancashire", "--identity", "claimed")
        assert result.exit_code == 0, result.output
        assert "\nforce: Lancashire Constabulary\nname: Office of the PCC for Lancashire\n" \
               "identity: claimed\nseparation-of-duties: on\n" in result.stdout
        (event,) = office_events(db)
        assert (event.actor, event.identity) == ("s55-init", "system")
        assert json.loads(event.payload) == {"settings": {
            "force": LANCS, "office": "Office of the PCC for Lancashire",
            "identity": "claimed", "separation_of_duties": True}, "was": {}}
        again = s55(db_url, tmp_path, "init", "--force", LANCS)
        assert again.exit_code == 0, again.output
        assert len(office_events(db)) == 1  # recorded once

    def test_the_environment_may_supply_them_at_init(self, db: Database, db_url: str,
                                                     tmp_path: Path) -> None:
        result = s55(db_url, tmp_path, "init", S55_FORCE=LANCS, S55_OPCC_NAME="OPCC Lancs")
        assert result.exit_code == 0, result.output
        assert json.loads(office_events(db)[0].payload)["settings"]["identity"] == "os"

    @pytest.mark.parametrize(("args", "env", "line"), [
        (["--force", "Cumbria"], {}, "Error: this database's force is Lancashire Constabulary: "
         "`s55 init` does not change it; an admin does, with `s55 office set force Cumbria "
         "--reason ...`"),
        (["--identity", "os"], {}, "Error: this database's identity is claimed: `s55 init` "
         "does not change it; an admin does, with `s55 office set identity os --reason ...`"),
        ([], {"S55_SEPARATION_OF_DUTIES": "false"},
         "Error: S55_SEPARATION_OF_DUTIES=false asks for a looser check than this database "
         "records (separation of duties on): unset S55_SEPARATION_OF_DUTIES; only an admin "
         "changes the database's, with `s55 office set separation-of-duties off --reason ...`"),
    ], ids=["another force", "another identity", "a looser environment"])
    def test_init_never_changes_a_recorded_setting(self, db: Database, db_url: str,
                                                   tmp_path: Path, args: list[str],
                                                   env: dict[str, str], line: str) -> None:
        s55(db_url, tmp_path, "init", "--force", LANCS, "--office", "OPCC", "--identity",
            "claimed")
        before = snapshot(Workflow(db, Settings(database_url=db_url)))
        result = s55(db_url, tmp_path, "init", *args, **env)
        assert result.exit_code == 1
        assert result.stderr.strip() == line
        assert snapshot(Workflow(db, Settings(database_url=db_url))) == before


class TestOfficeSet:
    def test_an_admin_changes_the_force_and_the_auditors_and_pcc_are_told(
            self, office_wf: Workflow, cli: Callable[..., Any]) -> None:
        result = cli("office", "set", "force", LANCS, "--reason", "Merged forces", actor=ADMIN)
        assert result.exit_code == 0, result.output
        assert result.stdout.strip() == (f"force: Norfolk -> {LANCS}; told {AUDITOR}, {PCC}")
        event = office_events(office_wf.db)[-1]
        assert (event.actor, event.reason) == (ADMIN, "Merged forces")
        assert json.loads(event.payload) == {"settings": {"force": LANCS},
                                             "was": {"force": "Norfolk"}}
        with office_wf.db.read() as s:
            told = {m.recipient: m.body_text for m in s.scalars(select(OutboxMessage).where(
                OutboxMessage.kind == "office_change"))}  # type: ignore[arg-type]
        assert set(told) == {AUDITOR, PCC}
        assert "the police force this office oversees" in told[PCC]
        assert f"Now:       {LANCS}" in told[PCC]
        assert "Changed by: Ann Admin" in told[PCC]
        shown = {r["setting"]: r for r in table_rows(cli("office", "show").stdout)}
        assert (shown["force"]["value"], shown["force"]["set by"]) == (LANCS, ADMIN)
        assert (shown["reminder-quiet-days"]["value"],
                shown["reminder-quiet-days"]["set by"]) == ("2", "(default)")
        added = cli("report", "add", "--title", "Custody in Lancashire", "--published",
                    "2024-10-10", actor=ADMIN)
        assert added.exit_code == 0, added.output
        with office_wf.db.read() as s:
            assert s.get(Response, 2).force == LANCS  # type: ignore[union-attr]

    def test_a_stricter_identity_binds_every_process_after(self, office_wf: Workflow,
                                                            cli: Callable[..., Any]) -> None:
        done = cli("office", "set", "identity", "os", "--reason", "Logins given", actor=ADMIN)
        assert done.exit_code == 0, done.output
        refused = cli("office", "show", S55_IDENTITY="claimed")
        assert refused.exit_code == 1
        assert refused.stderr.strip().startswith(
            "Error: S55_IDENTITY=claimed asks for a looser check")
        events = office_events(office_wf.db)
        assert json.loads(events[-1].payload) == {"settings": {"identity": "os"},
                                                  "was": {"identity": "claimed"}}

    def test_mail_names_the_databases_office_not_the_environments(
            self, office_wf: Workflow, cli: Callable[..., Any]) -> None:
        result = cli("request-force-input", "1", actor=ADMIN, S55_OPCC_NAME="Wrong Office",
                     S55_FORCE="Suffolk")
        assert result.exit_code == 0, result.output
        with office_wf.db.read() as s:
            body = s.scalars(select(OutboxMessage.body_text).where(
                OutboxMessage.recipient == FORCE)).one()  # type: ignore[arg-type]
        assert NORFOLK_OFFICE in body
        assert "Wrong Office" not in body


REFUSED: list[tuple[str, list[str], str, str]] = [
    ("not an admin", ["force", LANCS, "--reason", "x"], PCC,
     f"Error: {PCC} may not change the office's settings: needs role admin, holds pcc"),
    ("no reason", ["force", LANCS], ADMIN, "Error: office set: needs a reason (--reason)"),
    ("an unknown setting", ["colour", "blue", "--reason", "x"], ADMIN,
     "Error: office set: 'colour' is not a setting; settings: force, name, identity, "
     "separation-of-duties, force-aliases, reminder-quiet-days, sign-in-link-days"),
    ("an alias of two lines", ["force-aliases", "Norfolk\nSuffolk", "--reason", "x"], ADMIN,
     "Error: force-aliases: contains a control character or line break (U+000A); it "
     "must be one line of text"),
    ("an unknown identity mode", ["identity", "trust", "--reason", "x"], ADMIN,
     "Error: identity: 'trust' is not os or claimed"),
    ("a flag that is not on or off", ["separation-of-duties", "maybe", "--reason", "x"],
     ADMIN, "Error: separation-of-duties: 'maybe' is not on or off"),
    ("an empty force", ["force", " ", "--reason", "x"], ADMIN, "Error: --force: is empty"),
    ("a force on two lines", ["force", "Norfolk\nInjected", "--reason", "x"], ADMIN,
     "Error: --force: contains a control character or line break (U+000A); it must be one "
     "line of text"),
    ("the same value", ["force", "Norfolk", "--reason", "x"], ADMIN,
     "Error: office set: force is already Norfolk"),
]


@pytest.mark.parametrize(("case", "args", "actor", "line"), REFUSED,
                         ids=[r[0] for r in REFUSED])
def test_each_refusal_is_one_line_and_changes_nothing(
        office_wf: Workflow, cli: Callable[..., Any], case: str, args: list[str], actor: str,
        line: str) -> None:
    before = snapshot(office_wf)
    result = cli("office", "set", *args, actor=actor)
    assert result.exit_code == 1, result.output
    assert result.stderr.strip() == line
    assert snapshot(office_wf) == before


def test_there_is_no_default_force(wf: Workflow, db_url: str, tmp_path: Path) -> None:
    """A database without settings and no S55_FORCE: registering a report is refused in
    one line naming the command that records the force, and nothing changes."""
    before = snapshot(wf)
    result = s55(db_url, tmp_path, "report", "add", "--title", "PEEL", "--published",
                 "2024-10-10", S55_ACTOR=ADMIN, S55_IDENTITY="claimed")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "Error: the force this office oversees is not recorded in the database: set it once "
        "with `s55 init --force NAME --office NAME --identity os|claimed`")
    assert snapshot(wf) == before
