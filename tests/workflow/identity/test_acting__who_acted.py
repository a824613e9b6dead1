"""Who acted, provably: event provenance, S55_IDENTITY, people over time,
acting on someone's behalf, delegation, separation of duties, the signature's fingerprint.

In-process tests here; real processes under other operating-system accounts are in
``tests/workflow/identity/test_acting__os_accounts.py``.
"""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine
from sqlalchemy import select, text
from typer.testing import CliRunner

from tests.factories import (
    ADMIN,
    AUDITOR,
    CHIEF_EXEC,
    FORCE,
    PANEL,
    PCC,
    answer_all,
    norfolk,
    snapshot,
    table_rows,
)
from workflow.audit import trail
from workflow.cli import app
from workflow.core.clock import FixedClock
from workflow.core.settings import Settings
from workflow.people import delegation, identification, management
from workflow.responses import content
from workflow.responses.service import Workflow
from workflow.storage.db import Database
from workflow.storage.models import AuditEvent, OutboxMessage

ME = subprocess.check_output(["id", "-un"], text=True).strip()  # not the code under test
HOST = socket.gethostname()
DEPUTY = "deputy@norfolk-pcc.gov.uk"
DURING = "2024-10-14 10:00:00+01:00"  # inside the Norfolk response's 56 days
PCC_RESPONSE = "I welcome this report."


@pytest.fixture
def run(db_url: str, tmp_path: Path) -> Callable[..., Any]:
    """``s55 ARGS`` in-process; ``identity`` is S55_IDENTITY (claimed unless said)."""
    def invoke(*args: str, actor: str | None = None, identity: str = "claimed",
               **env: str) -> Any:
        return CliRunner().invoke(app, list(args), env={
            "S55_DATABASE_URL": db_url, "S55_SPOOL_DIR": str(tmp_path / "spool"),
            "S55_ACTOR": actor or "", "S55_IDENTITY": identity, **env})
    return invoke


def events(wf_norfolk: Workflow, **where: Any) -> list[AuditEvent]:
    stmt = select(AuditEvent).order_by(AuditEvent.id)  # type: ignore[arg-type]
    for key, value in where.items():
        stmt = stmt.where(getattr(AuditEvent, key) == value)
    with wf_norfolk.db.read() as s:
        return list(s.scalars(stmt))


def to_signoff(wf_norfolk: Workflow, rid: int = 1, *, submitter: str = FORCE) -> None:
    """Draft -> pcc_signoff with everything sign-off needs written."""
    with time_machine.travel(DURING, tick=False):
        wf_norfolk.fire(rid, "request_force_input", ADMIN)
        answer_all(wf_norfolk, rid)
        content.edit_text(wf_norfolk, rid, "pcc_response", PCC_RESPONSE, ADMIN)
        wf_norfolk.fire(rid, "submit_force_input", submitter)


def add(wf_norfolk: Workflow, name: str, email: str, *roles: str, login: str | None = None) -> None:
    management.add_person(wf_norfolk, {"name": name, "email": email, "roles": list(roles)}, ADMIN,
                      login=login)


# -- 1. provenance ------------------------------------------------------------------------

class TestProvenance:
    def test_a_cli_event_records_channel_account_host_and_claim(self, wf_norfolk: Workflow) -> None:
        """Every event says it came through the command line, from which account and
        host, and (under claimed) that its actor was claimed."""
        content.edit_text(wf_norfolk, 1, "key_findings", "New findings", ADMIN)
        e = events(wf_norfolk, action="edited")[-1]
        assert (e.actor, e.channel, e.account, e.host, e.identity, e.on_behalf_of) == (
            ADMIN, "cli", ME, HOST, "claimed", None)

    def test_scheduler_and_dispatcher_events_say_so(self, wf_norfolk: Workflow) -> None:
        """Escalations are the scheduler's, deliveries the dispatcher's, both as system."""
        from workflow.escalations import sweep
        from workflow.mail import delivery

        later = FixedClock(datetime(2024, 11, 30, 10, tzinfo=UTC))
        assert sweep.sweep(wf_norfolk.db, wf_norfolk.settings, later).fired
        delivery.deliver_pending(wf_norfolk.db, wf_norfolk.settings, later)
        fired = events(wf_norfolk, action="escalation")[-1]
        sent = events(wf_norfolk, action="mail_sent")[-1]
        assert (fired.channel, fired.identity, fired.account) == ("scheduler", "system", ME)
        assert (sent.channel, sent.identity, sent.account) == ("dispatcher", "system", ME)

    def test_the_chain_covers_provenance(self, wf_norfolk: Workflow) -> None:
        """Rewriting where an event came from breaks that very event."""
        from tests.factories import behind_the_triggers

        assert trail.verify(wf_norfolk.db).ok
        behind_the_triggers(wf_norfolk.db,
                            "UPDATE audit_event SET account = 'someone' WHERE id = 3")
        broken = trail.verify(wf_norfolk.db).broken
        assert broken is not None
        assert broken.event_id == 3

    def test_events_from_before_provenance_still_verify(self, db: Database) -> None:
        """An event written before migration 0003 (no provenance, nine hashed fields)
        followed by new ones: the chain verifies."""
        at = datetime(2024, 10, 10, 9, tzinfo=UTC)
        nine = (None, at.isoformat(timespec="microseconds"), "old@x.example", "created",
                None, None, None, None, "{}")
        old = trail.chain_hash(trail.GENESIS, nine)
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO audit_event (at, actor, action, payload, prev_hash, "
                              "hash) VALUES (:at, 'old@x.example', 'created', '{}', :p, :h)"),
                         {"at": at if not db.is_sqlite else "2024-10-10 09:00:00.000000",
                          "p": trail.GENESIS, "h": old})
        with db.write() as s:
            trail.append(s, at=at, actor="new@x.example", action="created",
                         by=trail.Provenance.here("cli"))
        result = trail.verify(db)
        assert (result.ok, result.count) == (True, 2)

    def test_log_shows_channel_account_and_on_behalf_of(self, wf_norfolk: Workflow, run) -> None:  # type: ignore[no-untyped-def]
        with time_machine.travel(DURING, tick=False):
            wf_norfolk.fire(1, "request_force_input", ADMIN)
            for n in (1, 2, 3, 4, 8):
                content.edit_recommendation(wf_norfolk, 1, n, "force_response", f"Answer {n}",
                                            ADMIN,
                                            on_behalf_of=FORCE, reason="Sent by email")
        rows = table_rows(run("log", "1").stdout)
        assert rows[0]["how"] == f"cli, account {ME}@{HOST}, claimed"
        assert rows[-1]["how"] == f"cli, account {ME}@{HOST}, claimed, on behalf of {FORCE}"
        assert rows[-1]["reason"] == "Sent by email"


# -- 2. who is acting on the command line ------------------------------------------------

class TestOsIdentity:
    """S55_IDENTITY=os: the effective operating-system account is the acting person."""

    def test_the_account_acts_as_its_person(self, wf_norfolk: Workflow, run) -> None:  # type: ignore[no-untyped-def]
        # the bootstrap admin links their own account (set-up only)
        with wf_norfolk.db.write() as s:
            s.execute(text("UPDATE person SET login = :l WHERE email = :e"),
                      {"l": ME, "e": ADMIN})
        result = run("request-force-input", "1", identity="os")
        assert result.exit_code == 0, result.output
        e = events(wf_norfolk, action="transition")[-1]
        assert (e.actor, e.identity, e.account) == (ADMIN, "os", ME)
        assert run("show", "1", "--as", ADMIN, identity="os").exit_code == 0

    def test_environment_cannot_pose_as_another_account(self, wf_norfolk: Workflow, run) -> None:  # type: ignore[no-untyped-def]
        """USER/LOGNAME are the caller's to set: they are not who acts."""
        result = run("request-force-input", "1", identity="os", USER="pcc", LOGNAME="pcc")
        assert result.exit_code == 1
        assert f"account {ME} is not the login of any person" in result.stderr

    def test_every_command_takes_as(self, wf_norfolk: Workflow, run) -> None:  # type: ignore[no-untyped-def]
        """`s55 list --as X` and any other command accept --as."""
        for args in (["list"], ["log", "1"], ["audit", "verify"], ["people", "list"],
                     ["diagram"], ["escalations", "list"], ["outbox", "list"]):
            result = run(*args, "--as", ADMIN)
            assert result.exit_code == 0, (args, result.output)

    def test_show_without_as_reads_well(self, wf_norfolk: Workflow, run) -> None:  # type: ignore[no-untyped-def]
        out = run("show", "1").stdout
        assert "  may fire now: give --as EMAIL to see the triggers that person may fire" in out
        assert "(give --as EMAIL" not in out


# -- 6. bad input: one line, nothing changed ---------------------------------------------

def _disable_force(wf_norfolk: Workflow) -> None:
    management.set_active(wf_norfolk, FORCE, ADMIN, "Left the force", False)


def _link_admin(wf_norfolk: Workflow) -> None:
    with wf_norfolk.db.write() as s:
        s.execute(text("UPDATE person SET login = :l WHERE email = :e"), {"l": ME, "e": ADMIN})


def _dual(wf_norfolk: Workflow) -> None:
    """An admin who is also a PCC submits the force's comments."""
    add(wf_norfolk, "Dual Role", "dual@norfolk-pcc.gov.uk", "admin", "pcc")
    to_signoff(wf_norfolk, submitter="dual@norfolk-pcc.gov.uk")


def _deputy(wf_norfolk: Workflow) -> None:
    add(wf_norfolk, "Deputy PCC", DEPUTY, "chief_executive")
    delegation.delegate(wf_norfolk, PCC, DEPUTY, "2024-11-01", "2024-11-30", PCC, "Annual leave")


def _deputy_disabled(wf_norfolk: Workflow) -> None:
    add(wf_norfolk, "Deputy PCC", DEPUTY, "chief_executive")
    management.set_active(wf_norfolk, DEPUTY, ADMIN, "Left", False)


def _signoff(wf_norfolk: Workflow) -> None:
    to_signoff(wf_norfolk)


BAD: list[tuple[str, list[str], str | None, str, Callable[[Workflow], None] | None, str]] = [
    ("unknown --as", ["request-force-input", "1"], "who@nowhere.example", "claimed", None,
     "Error: no person who@nowhere.example"),
    ("disabled --as", ["return-to-draft", "1", "--reason", "x"], FORCE, "claimed",
     _disable_force, f"Error: {FORCE} is disabled and cannot act (an admin may `s55 people "
     f"enable {FORCE} --reason ...`)"),
    ("--as someone else under os", ["request-force-input", "1"], PCC, "os", _link_admin,
     f"Error: --as {PCC} refused: under identity mode os you act as yourself ({ADMIN}, "
     f"account {ME}); an admin acting for someone else uses --on-behalf-of EMAIL --reason ..."),
    ("unmapped account under os", ["request-force-input", "1"], None, "os", None,
     f"Error: the operating-system account {ME} is not the login of any person in s55 "
     f"(identity mode os); an admin links it with `s55 people edit EMAIL --login {ME} "
     "--reason ...`"),
    ("--on-behalf-of without a reason", ["rec", "respond", "1", "1", "--text", "x",
                                         "--on-behalf-of", FORCE], ADMIN, "claimed", None,
     f"Error: --on-behalf-of: acting for {FORCE} needs a reason (--reason)"),
    ("--on-behalf-of for sign_off", ["sign-off", "1", "--on-behalf-of", PCC, "--reason", "x"],
     ADMIN, "claimed", _signoff,
     "Error: sign_off cannot be done on behalf of someone: it is the PCC's own act (a PCC may "
     "delegate it to a deputy: `s55 people delegate`)"),
    ("--on-behalf-of by a non-admin", ["return-to-draft", "1", "--reason", "x",
                                       "--on-behalf-of", ADMIN], PCC, "claimed", None,
     f"Error: {PCC} may not act on behalf of someone else: only an admin may (with "
     "--on-behalf-of EMAIL --reason ...)"),
    ("own roles", ["people", "roles", ADMIN, "--add", "pcc", "--reason", "x"], ADMIN,
     "claimed", None, f"Error: {ADMIN} may not change their own roles: another admin must"),
    ("force and pcc by roles", ["people", "roles", FORCE, "--add", "pcc", "--reason", "x"],
     ADMIN, "claimed", None, f"Error: roles: {FORCE} may not hold both force and pcc: the "
     "force's comments and the PCC's sign-off must come from different people"),
    ("force and pcc at add", ["people", "add", "Puppet", "puppet@x.example", "--role", "force",
                              "--role", "pcc"], ADMIN, "claimed", None,
     "Error: roles: puppet@x.example may not hold both force and pcc: the force's comments "
     "and the PCC's sign-off must come from different people"),
    ("an email in use", ["people", "edit", FORCE, "--email", PCC, "--reason", "x"], ADMIN,
     "claimed", None, f"Error: person {PCC} already exists"),
    ("a login in use", ["people", "edit", FORCE, "--login", "ann", "--reason", "x"], ADMIN,
     "claimed", lambda wf: identification.edit_person(wf, CHIEF_EXEC, ADMIN, "x", login="ann"),
     f"Error: login ann already exists (it is {CHIEF_EXEC}'s)"),
    ("until before from", ["people", "delegate", PCC, "--to", CHIEF_EXEC, "--from",
                           "2024-11-10", "--until", "2024-11-01", "--reason", "x"], ADMIN,
     "claimed", None, "Error: --until: 2024-11-01 is before --from 2024-11-10"),
    ("overlapping", ["people", "delegate", PCC, "--to", CHIEF_EXEC, "--from", "2024-11-20",
                     "--until", "2024-12-05", "--reason", "x"], ADMIN, "claimed", _deputy,
     "Error: people delegate: 2024-11-20 to 2024-12-05 overlaps delegation #1 (2024-11-01 "
     "to 2024-11-30)"),
    ("to a disabled person", ["people", "delegate", PCC, "--to", DEPUTY, "--from",
                              "2024-11-01", "--until", "2024-11-30", "--reason", "x"], ADMIN,
     "claimed", _deputy_disabled, f"Error: --to: {DEPUTY} is disabled"),
    ("to the PCC themself", ["people", "delegate", PCC, "--to", PCC, "--from", "2024-11-01",
                             "--until", "2024-11-30", "--reason", "x"], ADMIN, "claimed", None,
     f"Error: --to: {PCC} cannot delegate to themself"),
    ("revoke unknown", ["people", "revoke", "7", "--reason", "x"], ADMIN, "claimed", None,
     "Error: no delegation 7"),
    ("submitter signs off", ["sign-off", "1"], "dual@norfolk-pcc.gov.uk", "claimed", _dual,
     "Error: dual@norfolk-pcc.gov.uk may not sign off response 1: they submitted the force's "
     "comments (event #"),
    ("newline in --as", ["request-force-input", "1"], f"{ADMIN}\n2024-01-01 forged", "claimed",
     None, f"Error: --as: '{ADMIN}\\n2024-01-01 forged' contains a control character or "
           "line break"),
    ("newline in --as, outbox retry", ["outbox", "retry", "1"], "x@y.z\rforged", "claimed",
     None, "Error: --as: 'x@y.z\\rforged' contains a control character or line break"),
    ("unknown --as, outbox retry", ["outbox", "retry", "1"], "x@y.z", "claimed", None,
     "Error: no person x@y.z"),
    ("disabled --as, mail test", ["mail", "test", "a@b.example"], FORCE, "claimed",
     _disable_force, f"Error: {FORCE} is disabled and cannot act (an admin may `s55 people "
     f"enable {FORCE} --reason ...`)"),
    ("tab in --as, mail test", ["mail", "test", "a@b.example"], "a@b.c\tx", "claimed", None,
     "Error: --as: 'a@b.c\\tx' contains a control character or line break"),
]


@pytest.mark.parametrize(("case", "args", "actor", "identity", "setup", "line"), BAD,
                         ids=[b[0] for b in BAD])
def test_bad_input_is_one_line_and_changes_nothing(
        wf_norfolk: Workflow, run, case: str, args: list[str], actor: str | None,  # type: ignore[no-untyped-def]
        identity: str, setup: Callable[[Workflow], None] | None, line: str) -> None:
    if setup is not None:
        setup(wf_norfolk)
    before = snapshot(wf_norfolk)
    with time_machine.travel("2024-11-20 10:00:00+00:00", tick=False):
        result = run(*args, actor=actor, identity=identity)
    assert result.exit_code == 1, result.output
    err = result.stderr.strip()
    assert err.startswith(line) if case == "submitter signs off" else err == line
    assert len(result.stderr.strip().splitlines()) == 1
    assert snapshot(wf_norfolk) == before


# -- 3. people over time -----------------------------------------------------------------

def outbox_to(wf_norfolk: Workflow, kind: str) -> set[str]:
    with wf_norfolk.db.read() as s:
        return {m.recipient for m in s.scalars(select(OutboxMessage).where(
            OutboxMessage.kind == kind))}  # type: ignore[arg-type]


class TestPeopleOverTime:
    def test_edit_retires_the_old_address_for_good(self, wf_norfolk: Workflow) -> None:
        """A new address for the panel's clerk: the old one is never given to anyone
        else, and the change is an event with who and why."""
        identification.edit_person(wf_norfolk, PANEL, ADMIN, "New panel mailbox",
                                   new_email="s55-panel@norfolk.gov.uk", login="pclerk")
        with pytest.raises(Exception, match=f"{PANEL} was used by someone else before"):
            add(wf_norfolk, "Someone New", PANEL, "panel")
        e = events(wf_norfolk, action="person_changed")[-1]
        assert (e.actor, e.reason) == (ADMIN, "New panel mailbox")
        assert json.loads(e.payload)["changes"] == {
            "email": [PANEL, "s55-panel@norfolk.gov.uk"], "login": [None, "pclerk"]}

    def test_a_pcc_or_force_role_change_is_mailed_to_auditors_and_the_pcc(
            self, wf_norfolk: Workflow) -> None:
        """A new PCC (the puppet PCC case): every auditor and the PCC in office hear."""
        add(wf_norfolk, "Puppet", "puppet@x.example", "panel")
        management.change_roles(wf_norfolk, "puppet@x.example", ADMIN, "Elected", add=["pcc"],
                                remove=[])
        assert outbox_to(wf_norfolk, "role_change") == {AUDITOR, PCC}
        e = events(wf_norfolk, action="roles_changed")[-1]
        assert json.loads(e.payload)["added"] == ["pcc"]
        assert e.reason == "Elected"

    def test_other_role_changes_are_not_mailed(self, wf_norfolk: Workflow) -> None:
        management.change_roles(wf_norfolk, CHIEF_EXEC, ADMIN, "Covers audit", add=["auditor"],
                                remove=[])
        assert outbox_to(wf_norfolk, "role_change") == set()

    def test_a_disabled_person_gets_no_mail_and_cannot_act(self, wf_norfolk: Workflow) -> None:
        add(wf_norfolk, "Second Liaison", "second@norfolk.police.uk", "force")
        management.set_active(wf_norfolk, FORCE, ADMIN, "Moved on", False)
        with time_machine.travel(DURING, tick=False):
            wf_norfolk.fire(1, "request_force_input", ADMIN)
        assert outbox_to(wf_norfolk, "request_force_input") == {"second@norfolk.police.uk"}
        with pytest.raises(Exception, match="is disabled and cannot act"):
            content.edit_recommendation(wf_norfolk, 1, 1, "force_response", "x", FORCE)
        management.set_active(wf_norfolk, FORCE, ADMIN, "Back", True)
        content.edit_recommendation(wf_norfolk, 1, 1, "force_response", "x", FORCE)

    def test_nobody_active_to_sign_off_is_flagged(self, wf_norfolk: Workflow, run) -> None:  # type: ignore[no-untyped-def]
        """With the only PCC disabled, a response awaiting sign-off is stuck: list, show
        and doctor say so."""
        to_signoff(wf_norfolk)
        management.set_active(wf_norfolk, PCC, ADMIN, "Term ended", False)
        rows = json.loads(run("list", "--json").stdout)
        assert rows[0]["nobody_can_act"] == ["pcc"]
        assert "(STUCK: no active pcc)" in run("list").stdout
        assert ("  STUCK:      no active person holds pcc to take the next step "
                "(`s55 people list`)") in run("show", "1").stdout
        checks = {c["check"]: c for c in json.loads(run("doctor", "--json").stdout)["checks"]}
        assert checks["people"]["status"] == "FAIL"
        assert ("response 1 (waiting for the PCC's sign-off) needs an active pcc"
                in checks["people"]["detail"])

    def test_people_list_shows_status_roles_login_and_delegations(self, wf_norfolk: Workflow,
                                                                  run) -> None:  # type: ignore[no-untyped-def]
        _deputy(wf_norfolk)
        management.set_active(wf_norfolk, FORCE, ADMIN, "Moved on", False)
        with time_machine.travel("2024-11-05 10:00:00+00:00", tick=False):
            rows = {p["email"]: p for p in json.loads(run("people", "list", "--json").stdout)}
            text_out = run("people", "list").stdout
        assert rows[FORCE]["active"] is False
        assert rows[DEPUTY]["delegations"] == [{"id": 1, "pcc": PCC, "deputy": DEPUTY,
                                                "from": "2024-11-01", "until": "2024-11-30",
                                                "in_force": True}]
        assert "DISABLED" in text_out
        assert f"#1 deputy for {PCC} until 2024-11-30" in text_out


# -- 4. on behalf, delegation, separation of duties --------------------------------------

class TestDelegation:
    def test_the_lifecycle_with_a_delegation_in_force(self, wf_norfolk: Workflow, run) -> None:  # type: ignore[no-untyped-def]
        """The deputy signs off while the delegation runs; the event names both; the
        PCC's escalations reach the deputy too; outside the period it is refused."""
        from workflow.escalations import sweep

        _deputy(wf_norfolk)
        to_signoff(wf_norfolk)
        with time_machine.travel("2024-10-31 10:00:00+00:00", tick=False):
            early = run("sign-off", "1", actor=DEPUTY)
        assert early.exit_code == 1
        assert early.stderr.strip() == (f"Error: {DEPUTY} may not sign off response 1: needs "
                                        "role pcc, holds chief_executive")
        # publish-d7 (27 Nov 2024) is meant for the PCC and the chief executive.
        sweep.sweep(wf_norfolk.db, wf_norfolk.settings,
                    FixedClock(datetime(2024, 11, 27, 10, tzinfo=UTC)))
        assert {PCC, DEPUTY} <= outbox_to(wf_norfolk, "escalation_publish")
        with time_machine.travel("2024-11-28 10:00:00+00:00", tick=False):
            ok = run("sign-off", "1", actor=DEPUTY)
        assert ok.exit_code == 0, ok.output
        e = events(wf_norfolk, trigger="sign_off")[-1]
        assert (e.actor, e.on_behalf_of) == (DEPUTY, PCC)
        assert json.loads(e.payload)["delegation"] == 1
        assert f"signed off by {DEPUTY} for {PCC} under delegation #1" in run("log", "1").stdout
        with time_machine.travel("2024-11-29 10:00:00+00:00", tick=False):
            assert run("publish", "1", "--url", "https://opcc.example/r1", actor=ADMIN
                       ).exit_code == 0
            assert run("submit-to-portal", "1", "--portal-reference", "HMI-1", actor=ADMIN
                       ).exit_code == 0
        assert trail.verify(wf_norfolk.db).ok

    def test_a_revoked_delegation_no_longer_lets_the_deputy_sign(
            self, wf_norfolk: Workflow) -> None:
        _deputy(wf_norfolk)
        to_signoff(wf_norfolk)
        delegation.revoke(wf_norfolk, 1, PCC, "Back from leave")
        with time_machine.travel("2024-11-20 10:00:00+00:00", tick=False), \
                pytest.raises(Exception, match="needs role pcc"):
            wf_norfolk.fire(1, "sign_off", DEPUTY)

    def test_an_admin_acts_for_the_force_with_a_reason(self, wf_norfolk: Workflow) -> None:
        """The event names the admin as actor and the liaison as the one acted for."""
        with time_machine.travel(DURING, tick=False):
            wf_norfolk.fire(1, "request_force_input", ADMIN)
            answer_all(wf_norfolk, 1)
            wf_norfolk.fire(1, "submit_force_input", ADMIN, on_behalf_of=FORCE,
                    reason="The liaison emailed it while travelling")
        e = events(wf_norfolk, trigger="submit_force_input")[-1]
        assert (e.actor, e.on_behalf_of, e.reason) == (
            ADMIN, FORCE, "The liaison emailed it while travelling")

    def test_separation_of_duties_can_be_turned_off(self, db: Database,
                                                    settings: Settings) -> None:
        wf_norfolk = Workflow(db, settings.model_copy(update={"separation_of_duties": False}))
        norfolk(wf_norfolk)
        _dual(wf_norfolk)
        with time_machine.travel("2024-11-20 10:00:00+00:00", tick=False):
            assert wf_norfolk.fire(1, "sign_off", "dual@norfolk-pcc.gov.uk").state == \
                "forwarded_to_panel"

    def test_whoever_returned_it_may_sign_the_resubmission(self, wf_norfolk: Workflow) -> None:
        """A PCC who sent the response back for more may sign the improved comments."""
        add(wf_norfolk, "Dual Role", "dual@norfolk-pcc.gov.uk", "admin", "pcc")
        to_signoff(wf_norfolk)
        with time_machine.travel(DURING, tick=False):
            wf_norfolk.fire(1, "return_to_force", "dual@norfolk-pcc.gov.uk", reason="Rec 2 is thin")
            wf_norfolk.fire(1, "submit_force_input", FORCE)
            assert wf_norfolk.fire(1, "sign_off", "dual@norfolk-pcc.gov.uk").state == \
                "forwarded_to_panel"


# -- 5. the signature binds the text -----------------------------------------------------

class TestSignature:
    def test_sign_off_records_the_fingerprint_of_the_published_text(self, wf_norfolk: Workflow,
                                                                    run) -> None:  # type: ignore[no-untyped-def]
        to_signoff(wf_norfolk)
        with time_machine.travel("2024-11-20 10:00:00+00:00", tick=False):
            wf_norfolk.fire(1, "sign_off", PCC)
        payload = json.loads(events(wf_norfolk, trigger="sign_off")[-1].payload)
        published = run("render", "1").stdout.split("### For Office Use Only:")[0]
        expected = hashlib.sha256((published.rstrip() + "\n").encode()).hexdigest()
        assert payload["fingerprint"] == expected
        assert payload["signed_version"] == 9  # 1 + request + 5 answers + pcc text + submit
        line = ("Signed off by Giles Orpen-Smellie, Police and Crime Commissioner, on "
                f"20 November 2024, fingerprint {expected}")
        assert PCC not in run("render", "1").stdout  # a name and role, never an address
        assert f"  signature:  {line}" in run("show", "1").stdout
        assert line in run("render", "1").stdout
        with wf_norfolk.db.read() as s:
            body = s.scalars(select(OutboxMessage.body_text).where(
                OutboxMessage.kind == "sign_off")).first()  # type: ignore[arg-type]
        assert body is not None
        assert (f"{line}.") in body

    def test_publish_refuses_a_text_that_differs_from_the_signed_one(self, wf_norfolk: Workflow,
                                                                      run) -> None:  # type: ignore[no-untyped-def]
        """Editing stops at sign-off; a change made behind s55's back is still caught."""
        to_signoff(wf_norfolk)
        with time_machine.travel("2024-11-20 10:00:00+00:00", tick=False):
            wf_norfolk.fire(1, "sign_off", PCC)
        with wf_norfolk.db.engine.begin() as conn:
            conn.execute(text("UPDATE response SET pcc_response = 'Something else' "
                              "WHERE id = 1"))
        before = snapshot(wf_norfolk)
        with time_machine.travel("2024-11-21 10:00:00+00:00", tick=False):
            result = run("publish", "1", "--url", "https://opcc.example/r1", actor=ADMIN)
        assert result.exit_code == 1
        assert result.stderr.startswith("Error: cannot publish response 1: its text differs "
                                        "from what was signed off at version 9 (fingerprint ")
        assert snapshot(wf_norfolk) == before
