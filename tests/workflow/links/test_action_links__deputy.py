"""A PCC's deputy under a running delegation gets their own link in the PCC's mail, signs
off through it exactly as the command line records a delegated sign-off, and the link
dies the moment the delegation is revoked."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import time_machine
from sqlalchemy import select
from web_support import SECRET, Client, csrf, fingerprint, tokens, version

from tests.factories import ADMIN, CHIEF_EXEC, FORCE, PCC, answer_all, norfolk, snapshot
from workflow.core.settings import Settings
from workflow.links import action_links
from workflow.people import delegation
from workflow.responses import approvals, content
from workflow.responses.service import Workflow
from workflow.storage.db import Database
from workflow.storage.models import AuditEvent
from workflow.web.app import create_app

DURING = "2024-10-14 10:00:00+01:00"
BASE = "https://s55.example"


@pytest.fixture(autouse=True)
def _during() -> Iterator[None]:
    with time_machine.travel(DURING, tick=False):
        yield


@pytest.fixture
def wf(keyed_db: Database, settings: Settings) -> Workflow:
    return Workflow(keyed_db, settings.model_copy(update={
        "base_url": BASE, "audit_key_file": keyed_db.audit_key_file}))


def waiting_on_pcc(wf: Workflow) -> tuple[int, int]:
    """Norfolk answered and submitted while the chief executive deputises for the PCC:
    (response id, delegation id)."""
    rid = norfolk(wf)
    deleg = delegation.delegate(wf, PCC, CHIEF_EXEC, "2024-10-10", "2024-10-31", PCC, "leave")
    assert isinstance(deleg, delegation.DelegationView)
    wf.fire(rid, "request_force_input", ADMIN)
    answer_all(wf, rid)
    wf.fire(rid, "submit_force_input", FORCE)
    content.edit_text(wf, rid, "pcc_response", "I welcome the report.", PCC)
    return rid, deleg.id


def test_the_deputy_gets_their_own_link_and_signs_off_as_the_cli_records_it(
        wf: Workflow) -> None:
    rid, deleg = waiting_on_pcc(wf)
    deputy, pcc = tokens(wf, CHIEF_EXEC), tokens(wf, PCC)
    assert len(deputy) == 1
    assert len(pcc) == 1
    seen = action_links.read(wf.db, wf.clock, deputy[0])
    assert (seen.kind, seen.person_email, seen.actions) == (
        "deputy", CHIEF_EXEC, frozenset({"sign_off", "pcc_response", "pcc_note"}))
    assert action_links.read(wf.db, wf.clock, pcc[0]).kind == "pcc"
    # The deputy writes the PCC's response in the PCC's place, recorded as such.
    approvals.edit_text(wf, deputy[0], "pcc_response", "The deputy's words for the PCC.")
    with wf.db.read() as s:
        edit = s.scalars(select(AuditEvent).where(AuditEvent.action == "edited")
                         .order_by(AuditEvent.id.desc())).first()  # type: ignore[union-attr]
    assert edit is not None
    assert (edit.actor, edit.on_behalf_of) == (CHIEF_EXEC, PCC)
    assert json.loads(edit.payload)["delegation"] == deleg
    before = snapshot(wf)

    client = Client(create_app(wf.db, wf.settings, clock=wf.clock, secret=SECRET))
    html = client.get(f"/l/{deputy[0]}").text
    assert 'action="/l/' + deputy[0] + '/save"' in html  # the deputy writes for the PCC
    form = {"csrf": csrf(html), "version": version(html), "fingerprint": fingerprint(html)}
    assert client.post(f"/l/{deputy[0]}/return-to-draft", data={
        **form, "reason": "no"}).status_code >= 400
    assert snapshot(wf) == before
    done = client.post(f"/l/{deputy[0]}/sign-off", data=form)
    assert done.status_code == 303, done.text
    with wf.db.read() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.trigger == "sign_off")).one()
    payload = json.loads(event.payload)
    assert (event.actor, event.on_behalf_of, event.channel, event.identity) == (
        CHIEF_EXEC, PCC, "web", "link")
    assert (payload["delegation"], payload["for"]) == (deleg, PCC)
    assert "fingerprint" in payload
    assert event.to_state == "forwarded_to_panel"
    assert event.response_id == rid


def test_a_revoked_delegation_stops_the_deputys_link_at_once(wf: Workflow) -> None:
    rid, deleg = waiting_on_pcc(wf)
    token = tokens(wf, CHIEF_EXEC)[-1]
    client = Client(create_app(wf.db, wf.settings, clock=wf.clock, secret=SECRET))
    page = client.get(f"/l/{token}")
    assert page.status_code == 200
    assert "Sign off in the PCC&#39;s place" in page.text or "PCC's place" in page.text
    delegation.revoke(wf, deleg, ADMIN, "back from leave")
    before = snapshot(wf)
    with pytest.raises(action_links.LinkRefusedError) as refused:
        approvals.fire(wf, token, "sign_off")
    assert refused.value.why == "delegation"
    assert str(refused.value) == (
        f"this link let {CHIEF_EXEC} sign off response {rid} as the PCC's deputy, but no "
        "delegation to them runs now (it ended or was revoked): the link no longer works")
    gone = client.get(f"/l/{token}")
    assert gone.status_code == 410
    assert "no delegation to them runs now" in gone.text.replace("&#39;", "'")
    assert snapshot(wf) == before
    assert action_links.read(wf.db, wf.clock, tokens(wf, PCC)[-1]).kind == "pcc"
