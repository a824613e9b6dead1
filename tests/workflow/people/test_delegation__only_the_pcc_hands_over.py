"""Only the PCC hands over the PCC's powers: as themselves on the command line, or from
their own page; an admin may only ask, and the PCC confirms (or declines) from a link
mailed to them. Never to oneself, never to someone holding force, and a running deputy
is never given force. Making, confirming and ending a delegation are mailed at once to
the PCC, the deputy and the auditors."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select, text
from web_support import SECRET, Client, csrf, tokens

from tests.factories import ADMIN, AUDITOR, CHIEF_EXEC, FORCE, PCC, answer_all, snapshot
from workflow.core.errors import S55Error
from workflow.links import action_links
from workflow.people import confirming, delegation
from workflow.responses.service import Workflow
from workflow.storage.models import AuditEvent, Delegation, OutboxMessage
from workflow.web.app import create_app

ME = __import__("subprocess").check_output(["id", "-un"], text=True).strip()
LEAVE = ["--from", "2024-11-01", "--until", "2024-11-30", "--reason", "Annual leave"]


def mailed(wf: Workflow, kind: str) -> set[str]:
    with wf.db.read() as s:
        return set(s.scalars(select(OutboxMessage.recipient).where(
            OutboxMessage.kind == kind)))  # type: ignore[arg-type]


def events(wf: Workflow, action: str) -> list[AuditEvent]:
    with wf.db.read() as s:
        return list(s.scalars(select(AuditEvent).where(
            AuditEvent.action == action).order_by(AuditEvent.id)))  # type: ignore[arg-type]


def delegations(wf: Workflow) -> list[Delegation]:
    with wf.db.read() as s:
        return list(s.scalars(select(Delegation)))


def _pcc_delegated(wf: Workflow) -> None:
    delegation.delegate(wf, PCC, CHIEF_EXEC, "2024-11-01", "2024-11-30", PCC, "Annual leave")


def _no_links(cli_env: dict[str, str]) -> None:
    cli_env["S55_BASE_URL"] = ""


# Each refusal: the command, who runs it, what is set up first, and the one line it prints.
REFUSED: list[tuple[str, list[str], str, Callable[[Workflow], None] | None, str]] = [
    ("an admin gives themselves the PCC's power",
     ["people", "delegate", PCC, "--to", ADMIN, *LEAVE], ADMIN, None,
     f"Error: --to: {ADMIN} may not ask for the PCC's powers for themself: only the PCC "
     "hands them over, never to the one asking"),
    ("the PCC to themself", ["people", "delegate", PCC, "--to", PCC, *LEAVE], PCC, None,
     f"Error: --to: {PCC} cannot delegate to themself"),
    ("to the force liaison", ["people", "delegate", PCC, "--to", FORCE, *LEAVE], PCC, None,
     f"Error: --to: {FORCE} holds force: the force's comments and the sign-off must come "
     "from different people"),
    ("asked by someone neither PCC nor admin",
     ["people", "delegate", PCC, "--to", CHIEF_EXEC, *LEAVE], AUDITOR, None,
     f"Error: {AUDITOR} may not ask for {PCC}'s powers to be delegated (only the PCC "
     "delegates them): needs role admin, holds auditor"),
    ("the deputy given force while it runs",
     ["people", "roles", CHIEF_EXEC, "--add", "force", "--reason", "Covers the liaison"],
     ADMIN, _pcc_delegated,
     f"Error: roles: {CHIEF_EXEC} is the PCC's deputy under delegation #1 (2024-11-01 to "
     "2024-11-30) and may not hold force while it runs; end it first (`s55 people revoke 1 "
     "--reason ...`)"),
    ("overlapping the PCC's own", ["people", "delegate", PCC, "--to", AUDITOR, "--from",
                                   "2024-11-20", "--until", "2024-12-05", "--reason", "x"],
     PCC, _pcc_delegated, "Error: people delegate: 2024-11-20 to 2024-12-05 overlaps "
     "delegation #1 (2024-11-01 to 2024-11-30)"),
]


@pytest.mark.parametrize(("case", "args", "actor", "setup", "line"), REFUSED,
                         ids=[r[0] for r in REFUSED])
def test_each_refusal_is_one_line_and_changes_nothing(
        office_wf: Workflow, cli: Callable[..., Any], case: str, args: list[str], actor: str,
        setup: Callable[[Workflow], None] | None, line: str) -> None:
    if setup is not None:
        setup(office_wf)
    before = snapshot(office_wf)
    result = cli(*args, actor=actor)
    assert result.exit_code == 1, result.output
    assert result.stderr.strip() == line
    assert snapshot(office_wf) == before


def test_an_admins_request_is_refused_when_no_link_can_reach_the_pcc(
        office_wf: Workflow, cli: Callable[..., Any]) -> None:
    """Without a base URL no link can be mailed, so nothing is asked (nor made)."""
    before = snapshot(office_wf)
    result = cli("people", "delegate", PCC, "--to", CHIEF_EXEC, *LEAVE, actor=ADMIN,
                 S55_BASE_URL="")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"Error: people delegate: only {PCC} may hand over the PCC's powers; an admin's "
        "request goes to them as a link to confirm, and s55 cannot mail them a link: set "
        "S55_BASE_URL and the audit key (S55_AUDIT_KEY_FILE)")
    assert snapshot(office_wf) == before


def test_an_admin_who_gave_themselves_nothing_cannot_sign(office_wf: Workflow,
                                                          cli: Callable[..., Any]) -> None:
    """The attack refused: after the refused delegation the admin still may not sign."""
    cli("people", "delegate", PCC, "--to", ADMIN, *LEAVE, actor=ADMIN)
    office_wf.fire(1, "request_force_input", ADMIN)
    answer_all(office_wf, 1)
    office_wf.fire(1, "submit_force_input", FORCE)
    with __import__("time_machine").travel("2024-11-05 10:00:00+00:00", tick=False):
        signed = cli("sign-off", "1", actor=ADMIN)
    assert signed.exit_code == 1
    assert signed.stderr.startswith(f"Error: {ADMIN} may not sign off response 1: needs role "
                                    "pcc")
    assert delegations(office_wf) == []


def test_the_pcc_delegates_as_themselves_and_everyone_hears_at_once(
        office_wf: Workflow, cli: Callable[..., Any]) -> None:
    result = cli("people", "delegate", PCC, "--to", CHIEF_EXEC, *LEAVE, actor=PCC)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (f"delegation #1: {CHIEF_EXEC} may sign off for {PCC} "
                                     "from 2024-11-01 to 2024-11-30")
    made = events(office_wf, "delegated")[-1]
    assert (made.actor, made.reason) == (PCC, "Annual leave")
    assert json.loads(made.payload) == {"delegation": 1, "pcc": PCC, "deputy": CHIEF_EXEC,
                                        "from": "2024-11-01", "until": "2024-11-30"}
    assert mailed(office_wf, "delegation_notice") == {PCC, CHIEF_EXEC, AUDITOR}
    ended = cli("people", "revoke", "1", "--reason", "Back early", actor=ADMIN)
    assert ended.exit_code == 0, ended.output
    with office_wf.db.read() as s:
        bodies = [m.body_text for m in s.scalars(select(OutboxMessage).where(
            OutboxMessage.kind == "delegation_notice"))]  # type: ignore[arg-type]
    assert len(bodies) == 6  # made, then ended: to the same three
    assert sum("is no longer the deputy" in b for b in bodies) == 3
    assert all("@" not in b.split("Dear")[1].split("--")[0] for b in bodies)  # names only


def test_an_admin_asks_and_nothing_changes_until_the_pcc_confirms(
        office_wf: Workflow, cli: Callable[..., Any]) -> None:
    asked = cli("people", "delegate", PCC, "--to", CHIEF_EXEC, *LEAVE, actor=ADMIN)
    assert asked.exit_code == 0, asked.output
    assert asked.stdout.strip() == ("asked: only the PCC hands over their powers; a link to "
                                    f"confirm or decline was mailed to {PCC}")
    assert delegations(office_wf) == []
    assert mailed(office_wf, "delegation_request") == {PCC}
    request = events(office_wf, "change_asked")[-1]
    assert json.loads(request.payload) == {
        "kind": "delegation", "person": PCC,
        "asked": {"pcc": PCC, "deputy": CHIEF_EXEC, "from": "2024-11-01",
                  "until": "2024-11-30"}}
    token = tokens(office_wf, PCC)[-1]
    shown = confirming.asking(office_wf, token)
    assert shown.lines == ("Chief Executive to act as your deputy from 1 November 2024 to "
                           "30 November 2024: while it runs, your deputy may write and sign "
                           "off Section 55 responses in your place.",)
    assert confirming.confirm(office_wf, token) == ("Chief Executive is your deputy from "
                                                    "1 November 2024 to 30 November 2024.")
    (row,) = delegations(office_wf)
    assert (row.starts_on.isoformat(), row.ends_on.isoformat()) == ("2024-11-01", "2024-11-30")
    made = events(office_wf, "delegated")[-1]
    assert (made.actor, made.channel, made.identity) == (PCC, "web", "link")
    assert json.loads(made.payload)["asked_event"] == request.id
    assert mailed(office_wf, "delegation_notice") == {PCC, CHIEF_EXEC, AUDITOR}
    before = snapshot(office_wf)
    with pytest.raises(action_links.LinkRefusedError, match="this link was already used"):
        confirming.confirm(office_wf, token)
    assert snapshot(office_wf) == before


def test_the_pcc_declines_and_nothing_is_delegated(office_wf: Workflow,
                                                   cli: Callable[..., Any]) -> None:
    cli("people", "delegate", PCC, "--to", CHIEF_EXEC, *LEAVE, actor=ADMIN)
    token = tokens(office_wf, PCC)[-1]
    confirming.decline(office_wf, token)
    assert delegations(office_wf) == []
    declined = events(office_wf, "change_declined")[-1]
    assert (declined.actor, json.loads(declined.payload)["kind"]) == (PCC, "delegation")
    with pytest.raises(action_links.LinkRefusedError):
        confirming.confirm(office_wf, token)


def test_a_confirmation_is_checked_again_as_of_then(office_wf: Workflow,
                                                    cli: Callable[..., Any]) -> None:
    """The deputy given force after the request: the PCC's confirmation is refused in one
    line and changes nothing (the link stays for a decline)."""
    cli("people", "delegate", PCC, "--to", CHIEF_EXEC, *LEAVE, actor=ADMIN)
    cli("people", "roles", CHIEF_EXEC, "--add", "force", "--reason", "Covers", actor=ADMIN)
    token = tokens(office_wf, PCC)[-1]
    before = snapshot(office_wf)
    with pytest.raises(S55Error, match=f"^--to: {CHIEF_EXEC} holds force"):
        confirming.confirm(office_wf, token)
    assert snapshot(office_wf) == before
    confirming.decline(office_wf, token)


def test_under_os_identity_the_pccs_own_account_delegates(office_wf: Workflow,
                                                          cli: Callable[..., Any]) -> None:
    """The database says os: the PCC's own operating-system account makes it; an admin's
    account only asks."""
    with office_wf.db.write() as s:  # set-up: the running account is the PCC's login
        s.execute(text("UPDATE office_setting SET value = '\"os\"' WHERE name = 'identity'"))
        s.execute(text("UPDATE person SET login = :l WHERE email = :e"), {"l": ME, "e": PCC})
    made = cli("people", "delegate", PCC, "--to", CHIEF_EXEC, *LEAVE, S55_IDENTITY="os")
    assert made.exit_code == 0, made.output
    event = events(office_wf, "delegated")[-1]
    assert (event.actor, event.identity, event.account) == (PCC, "os", ME)


class TestThePccsPage:
    """"Delegate to my deputy" on the PCC's page, and the confirmation page of a request."""

    @pytest.fixture
    def client(self, office_wf: Workflow) -> Client:
        office_wf.fire(1, "request_force_input", ADMIN)
        answer_all(office_wf, 1)
        office_wf.fire(1, "submit_force_input", FORCE)
        return Client(create_app(office_wf.db, office_wf.settings, secret=SECRET))

    def _deputy_id(self, office_wf: Workflow) -> str:
        with office_wf.db.read() as s:
            return str(s.execute(text("SELECT id FROM person WHERE email = :e"),
                                 {"e": CHIEF_EXEC}).scalar_one())

    def test_the_pcc_delegates_from_their_page(self, office_wf: Workflow,
                                               client: Client) -> None:
        token = tokens(office_wf, PCC)[-1]
        page = client.get(f"/l/{token}").text
        assert "Delegate to my deputy" in page
        assert f'<option value="{self._deputy_id(office_wf)}">Chief Executive</option>' in page
        assert ">Force Liaison<" not in page  # holds force: not offered
        done = client.post(f"/l/{token}/delegate", data={
            "csrf": csrf(page), "deputy": self._deputy_id(office_wf), "from": "2024-11-01",
            "until": "2024-11-30", "reason": "Annual leave"})
        assert done.status_code == 303
        (row,) = delegations(office_wf)
        made = events(office_wf, "delegated")[-1]
        assert (made.actor, made.channel, made.identity) == (PCC, "web", "link")
        assert mailed(office_wf, "delegation_notice") == {PCC, CHIEF_EXEC, AUDITOR}
        assert client.get(f"/l/{token}").status_code == 200  # the link is not used up

    def test_a_refused_delegation_on_the_page_says_why_and_changes_nothing(
            self, office_wf: Workflow, client: Client) -> None:
        token = tokens(office_wf, PCC)[-1]
        page = client.get(f"/l/{token}").text
        before = snapshot(office_wf)
        refused = client.post(f"/l/{token}/delegate", data={
            "csrf": csrf(page), "deputy": self._deputy_id(office_wf), "from": "2024-11-30",
            "until": "2024-11-01", "reason": "Annual leave"})
        assert refused.status_code == 409
        assert ("The last day, 1 November 2024, is before the first day, 30 November 2024."
                in refused.text)
        assert snapshot(office_wf) == before

    def test_the_pcc_confirms_an_admins_request_on_its_page(
            self, office_wf: Workflow, client: Client, cli: Callable[..., Any]) -> None:
        cli("people", "delegate", PCC, "--to", CHIEF_EXEC, *LEAVE, actor=ADMIN)
        token = tokens(office_wf, PCC)[-1]
        page = client.get(f"/l/{token}")
        assert page.status_code == 200
        assert "Ann Admin asks for:" in page.text
        assert "Chief Executive to act as your deputy from 1 November 2024" in page.text
        assert delegations(office_wf) == []  # opening the page changes nothing
        done = client.post(f"/l/{token}/confirm", data={"csrf": csrf(page.text)})
        assert done.status_code == 303
        assert len(delegations(office_wf)) == 1
        after = client.get(done.headers["location"])
        assert "You confirmed the change" in after.text
