"""A PCC's deputy under a running delegation gets their own link in the PCC's mail, signs
off through it exactly as the command line records a delegated sign-off, and the link
dies the moment the delegation is revoked."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import time_machine
from sqlalchemy import select
from web_support import SECRET, Client, csrf, fingerprint, tokens, version, web_settings

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


@pytest.fixture(autouse=True)
def _during() -> Iterator[None]:
    with time_machine.travel(DURING, tick=False):
        yield


@pytest.fixture
def wf_web(keyed_db: Database, settings: Settings) -> Workflow:
    """The service on an empty keyed database, with the web tests' base URL for links."""
    return Workflow(keyed_db, web_settings(settings, keyed_db))


def waiting_on_pcc(wf_web: Workflow) -> tuple[int, int]:
    """Norfolk answered and submitted while the chief executive deputises for the PCC:
    (response id, delegation id)."""
    rid = norfolk(wf_web)
    deleg = delegation.delegate(wf_web, PCC, CHIEF_EXEC, "2024-10-10", "2024-10-31", PCC,
                                "leave")
    assert isinstance(deleg, delegation.DelegationView)
    wf_web.fire(rid, "request_force_input", ADMIN)
    answer_all(wf_web, rid)
    wf_web.fire(rid, "submit_force_input", FORCE)
    content.edit_text(wf_web, rid, "pcc_response", "I welcome the report.", PCC)
    return rid, deleg.id


def test_the_deputy_gets_their_own_link_and_signs_off_as_the_cli_records_it(
        wf_web: Workflow) -> None:
    rid, deleg = waiting_on_pcc(wf_web)
    deputy, pcc = tokens(wf_web, CHIEF_EXEC), tokens(wf_web, PCC)
    assert len(deputy) == 1
    assert len(pcc) == 1
    seen = action_links.read(wf_web.db, wf_web.clock, deputy[0])
    assert (seen.kind, seen.person_email, seen.actions) == (
        "deputy", CHIEF_EXEC, frozenset({"sign_off", "pcc_response", "pcc_note"}))
    assert action_links.read(wf_web.db, wf_web.clock, pcc[0]).kind == "pcc"
    # The deputy writes the PCC's response in the PCC's place, recorded as such.
    approvals.edit_text(wf_web, deputy[0], "pcc_response", "The deputy's words for the PCC.")
    with wf_web.db.read() as s:
        edit = s.scalars(select(AuditEvent).where(AuditEvent.action == "edited")
                         .order_by(AuditEvent.id.desc())).first()  # type: ignore[union-attr]
    assert edit is not None
    assert (edit.actor, edit.on_behalf_of) == (CHIEF_EXEC, PCC)
    assert json.loads(edit.payload)["delegation"] == deleg
    before = snapshot(wf_web)

    client = Client(create_app(wf_web.db, wf_web.settings, clock=wf_web.clock,
                               secret=SECRET))
    html = client.get(f"/l/{deputy[0]}").text
    assert 'action="/l/' + deputy[0] + '/save"' in html  # the deputy writes for the PCC
    form = {"csrf": csrf(html), "version": version(html), "fingerprint": fingerprint(html)}
    assert client.post(f"/l/{deputy[0]}/return-to-draft", data={
        **form, "reason": "no"}).status_code >= 400
    assert snapshot(wf_web) == before
    done = client.post(f"/l/{deputy[0]}/sign-off", data=form)
    assert done.status_code == 303, done.text
    with wf_web.db.read() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.trigger == "sign_off")).one()
    payload = json.loads(event.payload)
    assert (event.actor, event.on_behalf_of, event.channel, event.identity) == (
        CHIEF_EXEC, PCC, "web", "link")
    assert (payload["delegation"], payload["for"]) == (deleg, PCC)
    assert "fingerprint" in payload
    assert event.to_state == "forwarded_to_panel"
    assert event.response_id == rid


def test_a_revoked_delegation_stops_the_deputys_link_at_once(wf_web: Workflow) -> None:
    rid, deleg = waiting_on_pcc(wf_web)
    token = tokens(wf_web, CHIEF_EXEC)[-1]
    client = Client(create_app(wf_web.db, wf_web.settings, clock=wf_web.clock,
                               secret=SECRET))
    page = client.get(f"/l/{token}")
    assert page.status_code == 200
    assert "Sign off in the PCC&#39;s place" in page.text or "PCC's place" in page.text
    delegation.revoke(wf_web, deleg, ADMIN, "back from leave")
    before = snapshot(wf_web)
    with pytest.raises(action_links.LinkRefusedError) as refused:
        approvals.fire(wf_web, token, "sign_off")
    assert refused.value.why == "delegation"
    assert str(refused.value) == (
        f"this link let {CHIEF_EXEC} sign off response {rid} as the PCC's deputy, but no "
        "delegation to them runs now (it ended or was revoked): the link no longer works")
    gone = client.get(f"/l/{token}")
    assert gone.status_code == 410
    assert "no delegation to them runs now" in gone.text.replace("&#39;", "'")
    assert snapshot(wf_web) == before
    latest = tokens(wf_web, PCC)[-1]
    assert action_links.read(wf_web.db, wf_web.clock, latest).kind == "pcc"
