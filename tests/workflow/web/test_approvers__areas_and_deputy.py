"""The approvers' pages over HTTP (the real app, both databases) for a report with areas
for improvement: the force liaison answers each area in a labelled box and cannot submit
while one is unanswered; the PCC's page shows each area with the force's response; the
PCC's deputy under a running delegation writes the PCC's response on their own page and
signs off, recorded for the PCC under the delegation."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from factories import ADMIN, FORCE, NORFOLK_RECS, PCC, answer_all, snapshot
from journey_support import AREAS, DEPUTY, DURING, answer_areas, delegate, frozen_at, mail, register
from sqlalchemy import text
from web_support import SECRET, Client, csrf, fingerprint, tokens, version, web_settings

from workflow.core.settings import Settings
from workflow.responses.service import Workflow
from workflow.storage.db import Database
from workflow.web.app import create_app

_during = frozen_at(DURING)


@pytest.fixture
def wf_areas_sent(keyed_db: Database, settings: Settings) -> Workflow:
    """Response 1, with three areas, sent to the force (its link mailed)."""
    w = Workflow(keyed_db, web_settings(settings, keyed_db))
    register(w)
    w.fire(1, "request_force_input", ADMIN)
    return w


@pytest.fixture
def client(wf_areas_sent: Workflow) -> Client:
    return Client(create_app(wf_areas_sent.db, wf_areas_sent.settings, clock=wf_areas_sent.clock,
                             secret=SECRET))


def hidden(html: str) -> dict[str, str]:
    form = {"csrf": csrf(html), "version": version(html)}
    if 'name="fingerprint"' in html:
        form["fingerprint"] = fingerprint(html)
    return form


def edits(wf_areas_sent: Workflow) -> list[Any]:
    with wf_areas_sent.db.engine.connect() as conn:
        return list(conn.execute(text("SELECT actor, on_behalf_of, channel, payload FROM "
                                      "audit_event WHERE action = 'edited' ORDER BY id")))


def test_the_force_answers_each_area_on_its_page(wf_areas_sent: Workflow, client: Client) -> None:
    token = tokens(wf_areas_sent, FORCE)[-1]
    html = client.get(f"/l/{token}").text
    for n, area in AREAS.items():
        assert f'<h2 id="afi-{n}">Area for improvement {n}</h2>' in html
        assert area in html
        assert (f'<label for="area_force_response_{n}">The force\'s response to area for '
                f"improvement {n}</label>") in html
        assert f'<textarea id="area_force_response_{n}" name="area_force_response_{n}"' in html
    answers = {f"force_response_{n}": f"Answer {n}." for n in NORFOLK_RECS}
    answers |= {"area_force_response_1": "Records are audited weekly.",
                "area_force_response_2": "Reviews happen at closure."}
    saved = client.post(f"/l/{token}/save", data={**hidden(html), **answers})
    assert saved.status_code == 303
    areas = [json.loads(e.payload) for e in edits(wf_areas_sent) if "area" in json.loads(e.payload)]
    assert [(p["area"], p["value"]) for p in areas] == [
        (1, "Records are audited weekly."), (2, "Reviews happen at closure.")]
    assert {(e.actor, e.channel) for e in edits(wf_areas_sent)} == {(FORCE, "web")}
    before = snapshot(wf_areas_sent)
    page = client.get(f"/l/{token}").text
    refused = client.post(f"/l/{token}/submit", data=hidden(page))
    assert refused.status_code == 409
    assert ("area(s) for improvement 3 have no response from the force"
            in refused.text.replace("&#39;", "'"))
    assert snapshot(wf_areas_sent) == before
    page = client.get(f"/l/{token}").text
    done = client.post(f"/l/{token}/submit", data={
        **hidden(page), "area_force_response_3": "Plans are evaluated quarterly."})
    assert done.status_code == 303
    with wf_areas_sent.db.engine.connect() as conn:
        assert conn.execute(text("SELECT state FROM response")).scalar() == "pcc_signoff"


def test_the_pcc_s_page_shows_each_area_and_the_force_s_response(wf_areas_sent: Workflow,
                                                                client: Client) -> None:
    answer_all(wf_areas_sent, 1)
    answer_areas(wf_areas_sent, 1)
    wf_areas_sent.fire(1, "submit_force_input", FORCE)
    html = client.get(f"/l/{tokens(wf_areas_sent, PCC)[-1]}").text.replace("&#39;", "'")
    for n, area in AREAS.items():
        assert f'<h3 id="form-afi-{n}">Area for improvement {n}</h3>' in html
        assert area in html
        assert f"The force's answer to area {n}." in html


def test_the_deputy_writes_and_signs_on_their_own_page(wf_areas_sent: Workflow,
                                                       client: Client) -> None:
    answer_all(wf_areas_sent, 1)
    answer_areas(wf_areas_sent, 1)
    deleg = delegate(wf_areas_sent, date(2024, 10, 1), date(2024, 10, 31))
    wf_areas_sent.fire(1, "submit_force_input", FORCE)
    token = tokens(wf_areas_sent, DEPUTY)[-1]
    html = client.get(f"/l/{token}").text
    assert '<textarea id="pcc_response" name="pcc_response"' in html
    assert "Sign off in the PCC&#39;s place</button>" in html
    assert "Return to the force" not in html
    saved = client.post(f"/l/{token}/save", data={**hidden(html),
                                                  "pcc_response": "I welcome the report.",
                                                  "pcc_note_4": "Plans are reviewed."})
    assert saved.status_code == 303, saved.text
    mine = edits(wf_areas_sent)[-2:]
    assert [(e.actor, e.on_behalf_of, e.channel) for e in mine] == [(DEPUTY, PCC, "web")] * 2
    assert {json.loads(e.payload)["delegation"] for e in mine} == {deleg}
    page = client.get(f"/l/{token}").text
    signed = client.post(f"/l/{token}/sign-off", data=hidden(page))
    assert signed.status_code == 303, signed.text
    assert "a receipt with the text as signed" in client.get(signed.headers["location"]).text
    [notice] = mail(wf_areas_sent, "sign_off_notice")
    [receipt] = mail(wf_areas_sent, "sign_off_receipt")
    assert (notice.recipient, receipt.recipient) == (PCC, DEPUTY)
