"""Changing how a signer is identified needs the signer: a new login or address of
someone holding pcc or force, or of a deputy under a delegation, takes effect only when
they confirm it from a link mailed to their current address. Every login and address
change that takes effect is mailed to the person (old and new address) and the auditors."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select, text
from web_support import tokens

from tests.factories import ADMIN, AUDITOR, CHIEF_EXEC, FORCE, PANEL, PCC, snapshot
from workflow.core.errors import S55Error
from workflow.links import action_links
from workflow.people import confirming, delegation
from workflow.responses.service import Workflow
from workflow.storage.models import AuditEvent, OutboxMessage, Person, RetiredEmail

NEW_FORCE = "s55-liaison@norfolk.police.uk"


def person(wf: Workflow, email: str) -> Person:
    with wf.db.read() as s:
        return s.scalars(select(Person).where(Person.email == email)).one()  # type: ignore[arg-type]


def mail(wf: Workflow, kind: str) -> dict[str, str]:
    """Each recipient of ``kind`` and the text they got."""
    with wf.db.read() as s:
        return {m.recipient: m.body_text for m in s.scalars(select(OutboxMessage).where(
            OutboxMessage.kind == kind))}  # type: ignore[arg-type]


def last(wf: Workflow, action: str) -> AuditEvent:
    with wf.db.read() as s:
        return s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(
            AuditEvent.id.desc())).first()  # type: ignore[arg-type,union-attr,return-value]


def test_an_admin_repointing_the_pccs_login_changes_nothing_until_the_pcc_confirms(
        office_wf: Workflow, cli: Callable[..., Any]) -> None:
    """The attack refused: the login stays the PCC's until the PCC confirms from their own
    mailbox; the request is mailed to the PCC alone."""
    before = person(office_wf, PCC)
    result = cli("people", "edit", PCC, "--login", "other", "--reason", "New laptop",
                 actor=ADMIN)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == ("the new address or login waits for Giles "
                                              "Orpen-Smellie's confirmation: a link was "
                                              f"mailed to {PCC}")
    assert person(office_wf, PCC).login == before.login is None
    assert set(mail(office_wf, "identity_change_request")) == {PCC}
    assert json.loads(last(office_wf, "change_asked").payload) == {
        "kind": "identity", "person": PCC, "asked": {"changes": {"login": [None, "other"]}}}
    token = tokens(office_wf, PCC)[-1]
    assert confirming.asking(office_wf, token).lines == (
        "Your computer account (login): from none to other.",)
    confirming.confirm(office_wf, token)
    assert person(office_wf, PCC).login == "other"
    changed = last(office_wf, "person_changed")
    assert (changed.actor, changed.channel, changed.identity) == (PCC, "web", "link")
    assert json.loads(changed.payload)["changes"] == {"login": [None, "other"]}
    told = mail(office_wf, "identity_change")
    assert set(told) == {PCC, AUDITOR}
    assert "computer account (login): from none to other" in told[AUDITOR]
    assert "as they confirmed" in told[PCC]


def test_a_new_address_for_the_force_liaison_is_confirmed_at_the_old_one(
        office_wf: Workflow, cli: Callable[..., Any]) -> None:
    cli("people", "edit", FORCE, "--email", NEW_FORCE, "--reason", "New mailbox", actor=ADMIN)
    assert person(office_wf, FORCE).email == FORCE  # not yet
    assert set(mail(office_wf, "identity_change_request")) == {FORCE}
    confirming.confirm(office_wf, tokens(office_wf, FORCE)[-1])
    assert person(office_wf, NEW_FORCE).roles == ["force"]
    assert set(mail(office_wf, "identity_change")) == {FORCE, NEW_FORCE, AUDITOR}
    with office_wf.db.read() as s:
        assert s.get(RetiredEmail, FORCE) is not None


def test_a_deputys_new_login_waits_for_them_too(office_wf: Workflow,
                                                cli: Callable[..., Any]) -> None:
    delegation.delegate(office_wf, PCC, CHIEF_EXEC, "2024-11-01", "2024-11-30", PCC, "Leave")
    cli("people", "edit", CHIEF_EXEC, "--login", "deputy", "--reason", "x", actor=ADMIN)
    assert person(office_wf, CHIEF_EXEC).login is None
    assert set(mail(office_wf, "identity_change_request")) == {CHIEF_EXEC}


def test_someone_who_does_not_sign_is_changed_at_once_and_told(
        office_wf: Workflow, cli: Callable[..., Any]) -> None:
    """The panel's clerk: no confirmation, but the clerk (old and new address) and the
    auditors hear of it."""
    new = "clerk@norfolk.gov.uk"
    result = cli("people", "edit", PANEL, "--email", new, "--login", "pclerk", "--reason",
                 "New clerk mailbox", actor=ADMIN)
    assert result.exit_code == 0, result.output
    assert person(office_wf, new).login == "pclerk"
    told = mail(office_wf, "identity_change")
    assert set(told) == {PANEL, new, AUDITOR}
    assert f"email address: from {PANEL} to {new}" in told[new]
    assert mail(office_wf, "identity_change_request") == {}


def test_a_name_changes_at_once_while_the_login_waits(office_wf: Workflow) -> None:
    from workflow.people import identification

    edited = identification.edit_person(office_wf, PCC, ADMIN, "Married", name="Giles Smith",
                                        login="gsmith")
    assert (edited.person.name, edited.person.login) == ("Giles Smith", None)
    assert edited.asked is not None
    assert json.loads(last(office_wf, "person_changed").payload)["changes"] == {
        "name": ["Giles Orpen-Smellie", "Giles Smith"]}


def test_a_declined_change_changes_nothing(office_wf: Workflow,
                                           cli: Callable[..., Any]) -> None:
    cli("people", "edit", PCC, "--login", "other", "--reason", "x", actor=ADMIN)
    token = tokens(office_wf, PCC)[-1]
    confirming.decline(office_wf, token)
    assert person(office_wf, PCC).login is None
    assert mail(office_wf, "identity_change") == {}
    with pytest.raises(action_links.LinkRefusedError, match="already used"):
        confirming.confirm(office_wf, token)


def test_a_confirmation_is_checked_again_as_of_then(office_wf: Workflow,
                                                    cli: Callable[..., Any]) -> None:
    """The login was given to someone else after it was asked: the confirmation is
    refused in one line and nothing changes."""
    cli("people", "edit", PCC, "--login", "other", "--reason", "x", actor=ADMIN)
    cli("people", "edit", PANEL, "--login", "other", "--reason", "x", actor=ADMIN)
    before = snapshot(office_wf)
    with pytest.raises(S55Error, match=f"^login other already exists \\(it is {PANEL}'s\\)$"):
        confirming.confirm(office_wf, tokens(office_wf, PCC)[-1])
    assert snapshot(office_wf) == before


def test_a_newer_request_replaces_the_open_one(office_wf: Workflow,
                                               cli: Callable[..., Any]) -> None:
    cli("people", "edit", PCC, "--login", "first", "--reason", "x", actor=ADMIN)
    first = tokens(office_wf, PCC)[-1]
    cli("people", "edit", PCC, "--login", "second", "--reason", "x", actor=ADMIN)
    with pytest.raises(action_links.LinkRefusedError,
                       match="this request was already replaced by a newer request"):
        confirming.confirm(office_wf, first)
    confirming.confirm(office_wf, tokens(office_wf, PCC)[-1])
    assert person(office_wf, PCC).login == "second"


def _delegated(wf: Workflow) -> None:
    delegation.delegate(wf, PCC, CHIEF_EXEC, "2024-11-01", "2024-11-30", PCC, "Leave")


REFUSED: list[tuple[str, list[str], Callable[[Workflow], None] | None, str]] = [
    ("the PCC's login, no link possible", [PCC, "--login", "other"], None,
     f"Error: people edit: {PCC} holds pcc: a new login or address for them takes effect "
     "only when they confirm it from a link mailed to their current address, and s55 cannot "
     "mail them a link: set S55_BASE_URL and the audit key (S55_AUDIT_KEY_FILE)"),
    ("the liaison's address, no link possible", [FORCE, "--email", NEW_FORCE], None,
     f"Error: people edit: {FORCE} holds force: a new login or address for them takes "
     "effect only when they confirm it from a link mailed to their current address, and s55 "
     "cannot mail them a link: set S55_BASE_URL and the audit key (S55_AUDIT_KEY_FILE)"),
    ("a deputy's login, no link possible", [CHIEF_EXEC, "--login", "dep"], _delegated,
     f"Error: people edit: {CHIEF_EXEC} is the PCC's deputy under a delegation: a new login "
     "or address for them takes effect only when they confirm it from a link mailed to their "
     "current address, and s55 cannot mail them a link: set S55_BASE_URL and the audit key "
     "(S55_AUDIT_KEY_FILE)"),
]


@pytest.mark.parametrize(("case", "args", "setup", "line"), REFUSED,
                         ids=[r[0] for r in REFUSED])
def test_each_refusal_is_one_line_and_changes_nothing(
        office_wf: Workflow, cli: Callable[..., Any], case: str, args: list[str],
        setup: Callable[[Workflow], None] | None, line: str) -> None:
    if setup is not None:
        setup(office_wf)
    before = snapshot(office_wf)
    result = cli("people", "edit", *args, "--reason", "x", actor=ADMIN, S55_BASE_URL="")
    assert result.exit_code == 1, result.output
    assert result.stderr.strip() == line
    assert snapshot(office_wf) == before


def test_sql_behind_s55s_back_is_not_a_confirmation(office_wf: Workflow,
                                                    cli: Callable[..., Any]) -> None:
    """A request marked confirmed by SQL makes nothing: the link then refuses, in one
    line, and the login stays."""
    cli("people", "edit", PCC, "--login", "other", "--reason", "x", actor=ADMIN)
    with office_wf.db.write() as s:
        s.execute(text("UPDATE pending_change SET status = 'confirmed'"))
    with pytest.raises(action_links.LinkRefusedError, match="already confirmed"):
        confirming.confirm(office_wf, tokens(office_wf, PCC)[-1])
    assert person(office_wf, PCC).login is None
