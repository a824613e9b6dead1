"""People and their powers are in the log, and the log is the truth: every person row
(name, address, login, roles, enabled) and every delegation equals the replay of its
signed events, and one changed or inserted by SQL is named by ``s55 audit verify`` and
``s55 doctor`` with the row's value and the log's. On both databases."""

from __future__ import annotations

import json
from typing import Any

from audit_support import sql, verify
from link_support import _during  # noqa: F401 - autouse: officers work in October 2024
from sqlalchemy import text

from tests.factories import ADMIN, CHIEF_EXEC, FORCE, PCC
from workflow.assurance import replay
from workflow.assurance.difference import Difference
from workflow.audit import trail
from workflow.audit.words import Action, Channel
from workflow.doctor.database import check_replay
from workflow.doctor.result import Status
from workflow.people import delegation, identification, management
from workflow.responses.service import Workflow
from workflow.storage.db import Database

DEPUTY = "deputy@norfolk-pcc.gov.uk"


def person_id(db: Database, email: str) -> int:
    return int(sql(db, "SELECT id FROM person WHERE email = :e", e=email))


def named(db: Database, difference: Difference) -> None:
    """``difference`` is what replay, verify (exit 1) and doctor (FAIL) all say."""
    assert replay.verify(db) == [difference]
    found = verify(db)
    assert found.exit_code == 1
    assert f"Error: {difference.describe()}" in found.stderr
    assert "rows OK: every response equals the replay of its events" in found.stdout
    doctor = check_replay(db)
    assert (doctor.status, doctor.detail) == (Status.FAIL, difference.describe())


def test_a_life_of_changes_to_people_replays_to_the_rows(wf: Workflow) -> None:
    """Added, renamed, re-addressed, given a login, roles changed, disabled and enabled,
    delegated to and revoked: every row equals its replay, and verify and doctor say so."""
    management.add_person(wf, {"name": "Deputy PCC", "email": DEPUTY,
                               "roles": ["chief_executive"]}, ADMIN, login="jdeputy")
    identification.edit_person(wf, DEPUTY, ADMIN, "married", name="Deputy Smith")
    identification.edit_person(wf, DEPUTY, ADMIN, "new address",
                           new_email="dsmith@norfolk-pcc.gov.uk", login="dsmith")
    management.change_roles(wf, "dsmith@norfolk-pcc.gov.uk", ADMIN, "covering",
                            add=["panel"], remove=["chief_executive"])
    management.set_active(wf, CHIEF_EXEC, ADMIN, "on leave", active=False)
    management.set_active(wf, CHIEF_EXEC, ADMIN, "back", active=True)
    first = delegation.delegate(wf, PCC, "dsmith@norfolk-pcc.gov.uk", "2024-10-14",
                                "2024-10-20", PCC, "holiday")
    delegation.delegate(wf, PCC, "dsmith@norfolk-pcc.gov.uk", "2024-11-01", "2024-11-02",
                        PCC, "conference")
    delegation.revoke(wf, first.id, PCC, "back early")
    assert replay.verify(wf.db) == []
    found = verify(wf.db)
    assert found.exit_code == 0, found.output
    assert "people, links and sent mail OK" in found.stdout
    assert check_replay(wf.db).status is Status.OK


def test_roles_given_by_sql_are_named(wf: Workflow) -> None:
    """``UPDATE person SET roles`` to force and pcc at once."""
    pid = person_id(wf.db, FORCE)
    sql(wf.db, "UPDATE person SET roles = :r WHERE id = :i", r=json.dumps(["force", "pcc"]),
        i=pid)
    named(wf.db, Difference.of(f"person {pid} ({FORCE})", "roles", ["force", "pcc"],
                               ["force"]))
    assert replay.verify(wf.db)[0].describe() == (
        f"person {pid} ({FORCE}): roles is ['force', 'pcc'] in the row but ['force'] by its "
        "events")


def test_an_address_changed_by_sql_is_named(wf: Workflow) -> None:
    pid = person_id(wf.db, PCC)
    sql(wf.db, "UPDATE person SET email = 'me@attacker.example' WHERE id = :i", i=pid)
    named(wf.db, Difference.of(f"person {pid} (me@attacker.example)", "email",
                               "me@attacker.example", PCC))


def test_a_login_changed_by_sql_is_named(wf: Workflow) -> None:
    pid = person_id(wf.db, PCC)
    sql(wf.db, "UPDATE person SET login = 'admin' WHERE id = :i", i=pid)
    named(wf.db, Difference.of(f"person {pid} ({PCC})", "login", "admin", None))


def test_a_disabled_person_enabled_by_sql_is_named(wf: Workflow) -> None:
    management.set_active(wf, FORCE, ADMIN, "left the force", active=False)
    pid = person_id(wf.db, FORCE)
    sql(wf.db, "UPDATE person SET active = :t WHERE id = :i", t=True, i=pid)
    named(wf.db, Difference.of(f"person {pid} ({FORCE})", "active", True, False))


def test_a_person_inserted_by_sql_is_named(wf: Workflow) -> None:
    sql(wf.db, "INSERT INTO person (name, email, roles, created_at, active) VALUES "
        "('Mallory', 'mallory@attacker.example', :r, :at, :t)", r=json.dumps(["pcc"]),
        at=wf.clock.now(), t=True)
    pid = person_id(wf.db, "mallory@attacker.example")
    named(wf.db, Difference.of(f"person {pid} (mallory@attacker.example)", "events",
                               "a row exists", "no event added this person"))
    assert replay.verify(wf.db)[0].describe() == (
        f"person {pid} (mallory@attacker.example): a row exists, but no event added this "
        "person")


def test_a_delegation_inserted_by_sql_is_named(wf: Workflow) -> None:
    """The PCC's powers handed to the admin by an INSERT: named, and neither the admin's
    nor anyone's row agrees with a log that never delegated anything."""
    sql(wf.db, "INSERT INTO delegation (pcc_id, deputy_id, starts_on, ends_on, reason, "
        "created_at) VALUES (:p, :d, '2024-10-01', '2025-10-01', 'covering', :at)",
        p=person_id(wf.db, PCC), d=person_id(wf.db, ADMIN), at=wf.clock.now())
    did = int(sql(wf.db, "SELECT max(id) FROM delegation"))
    named(wf.db, Difference.of(f"delegation {did}", "events", "a row exists",
                               "no event delegated this"))


def test_a_delegation_stretched_by_sql_is_named(wf: Workflow) -> None:
    made = delegation.delegate(wf, PCC, CHIEF_EXEC, "2024-10-14", "2024-10-20", PCC, "holiday")
    sql(wf.db, "UPDATE delegation SET ends_on = '2025-10-20' WHERE id = :i", i=made.id)
    [found] = replay.verify(wf.db)
    assert found.describe() == (f"delegation {made.id}: ends_on is 2025-10-20 in the row but "
                                "2024-10-20 by its events")


def test_people_added_before_events_named_their_row_are_matched_by_address(
        wf: Workflow) -> None:
    """An older database's ``person_added`` events carry no row id (nor, before logins, a
    login): each person is followed from address to address and matched by the address
    they hold now; nothing is called forged."""
    now = wf.clock.now()

    def as_before(s: Any) -> None:
        s.execute(text("INSERT INTO person (name, email, roles, created_at, active) VALUES "
                       "('Old Timer', 'old@norfolk-pcc.gov.uk', :r, :at, :t)"),
                  {"r": json.dumps(["panel"]), "at": now, "t": True})
        trail.append(s, at=now, actor=ADMIN, action=Action.PERSON_ADDED,
                     payload={"person": "old@norfolk-pcc.gov.uk", "name": "Old Timer",
                              "roles": ["panel"]}, by=trail.Provenance.here(Channel.CLI))

    wf.db.run(as_before)
    identification.edit_person(wf, "old@norfolk-pcc.gov.uk", ADMIN, "moved",
                           new_email="older@norfolk-pcc.gov.uk")
    assert replay.verify(wf.db) == []
