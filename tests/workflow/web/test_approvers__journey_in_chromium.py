"""The journey a real office needs, in Debian's Chromium through the real pages, the real
mail (aiosmtpd) and a real uvicorn, on both databases:

- a thematic report with four recommendations and six areas for improvement: the force
  answers every one on its page, the PCC signs it off on theirs;
- a custody report returned to the force and resubmitted, then written and signed off by
  the PCC's deputy under a delegation, from the deputy's own page;

then: the PCC has the deputy's sign-off notice, every signer has a receipt with the text
as signed and its fingerprint, and neither rendered document has an empty heading; and an
old report past its deadline is told to the PCC once as overdue."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from factories import ADMIN, FORCE, PCC, add_people, norfolk_report
from journey_support import DEPUTY, empty_headings
from playwright.sync_api import Page, sync_playwright
from smtp_server import Server, free_port
from waiting import wait_until

from workflow.core.clock import SystemClock, london_today
from workflow.core.settings import Settings
from workflow.documents import signature
from workflow.documents.render import render_response
from workflow.escalations.sweep import sweep
from workflow.mail import delivery
from workflow.people import delegation
from workflow.reads import detail
from workflow.responses import content
from workflow.responses.service import Workflow
from workflow.web.app import create_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.slow

RECS = {n: f"Forces should improve how they handle matter {n} of antisocial behaviour."
        for n in (1, 2, 3, 4)}
AREAS = {n: f"The force should improve area {n}: how it supervises its investigations."
         for n in range(1, 7)}
CUSTODY_RECS = {1: "The force should make sure detainees' risk assessments are reviewed.",
                2: "The force should improve the recording of use of force in custody."}
CUSTODY_AREAS = {1: "The force should improve how it plans detainees' release."}


@pytest.fixture
def artefacts(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    root = Path(os.environ["S55_ARTEFACTS"]) if os.environ.get("S55_ARTEFACTS") else tmp_path
    folder = root / "screenshots" / "journey" / request.node.callspec.id
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def site(keyed_db: Any, settings: Settings, smtp_server: Server
         ) -> Iterator[tuple[Workflow, str]]:
    """A real uvicorn on a free loopback port, mail going to aiosmtpd."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    s = settings.model_copy(update={"base_url": base, "audit_key_file": keyed_db.audit_key_file,
                                    "smtp_host": "127.0.0.1", "smtp_port": smtp_server.port,
                                    "smtp_security": "none", "smtp_timeout": 5.0})
    wf = Workflow(keyed_db, s, SystemClock())
    server = uvicorn.Server(uvicorn.Config(create_app(keyed_db, s), host="127.0.0.1",
                                           port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="uvicorn")
    thread.start()
    wait_until(lambda: server.started, bool, timeout=10, what="uvicorn started")
    yield wf, base
    server.should_exit = True
    thread.join(timeout=10)


def deliver(wf: Workflow) -> None:
    """Deliver the outbox to aiosmtpd (in a thread: Playwright's sync API keeps an event
    loop in this one)."""
    worker = threading.Thread(target=delivery.deliver_pending,
                              args=(wf.db, wf.settings, wf.clock))
    worker.start()
    worker.join(timeout=30)


def received(smtp_server: Server, to: str, subject: str = "") -> list[Any]:
    """The messages ``to`` received whose subject holds ``subject``, oldest first."""
    return [got.message for got in smtp_server.handler.received
            if to in got.recipients and subject in str(got.message["Subject"])]


def plain(message: Any) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content()).replace("\r\n", "\n")


def register(wf: Workflow, title: str, recs: dict[int, str], areas: dict[int, str],
             days_ago: int = 3) -> int:
    published = london_today(wf.clock) - timedelta(days=days_ago)
    report = norfolk_report(
        title=title, published_on=published.isoformat(), afi_statement=None,
        link=f"https://www.justiceinspectorates.gov.uk/hmicfrs/{len(title)}/",
        recommendations=[{"number": n, "text": t} for n, t in recs.items()],
        areas_for_improvement=[{"number": n, "text": t} for n, t in areas.items()])
    rid = content.add_report(wf, report, ADMIN).id or 0
    wf.fire(rid, "request_force_input", ADMIN)
    return rid


def force_answers(page: Page, link: str, recs: dict[int, str], areas: dict[int, str],
                  words: str) -> None:
    """The liaison answers everything on the page (saving once on the way), and submits."""
    page.goto(link)
    for n in recs:
        page.get_by_label(f"The force's response to recommendation {n}", exact=True).fill(
            f"{words}: the force accepts recommendation {n} and will act by March.")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(r"done=saved"))
    for n in areas:
        page.get_by_label(f"The force's response to area for improvement {n}",
                          exact=True).fill(f"{words}: area {n} is reviewed every month.")
    page.get_by_label("The Chief Constable's overall response to the report").fill(
        "The force welcomes the report.")
    page.get_by_role("button", name="Submit the force's comments").click()
    page.wait_for_selector("text=The force's comments are submitted")


def sign(page: Page, link: str, words: str, button: str, shot: Path) -> str:
    """Write the PCC's response, save, read the fingerprint shown, sign off; that
    fingerprint. ``shot``: a screenshot of the page as signed."""
    page.goto(link)
    page.get_by_label("The PCC's response to the report").fill(words)
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(r"done=saved"))
    page.screenshot(path=str(shot), full_page=True)
    shown = page.locator("#fingerprint").inner_text().strip()
    page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_selector("text=You signed off the response")
    return shown


def signed_event(wf: Workflow, rid: int) -> dict[str, Any]:
    [event] = [e for e in detail.log(wf.db, rid) if e["trigger"] == "sign_off"]
    return event


def check_receipt(wf: Workflow, smtp_server: Server, rid: int, to: str) -> None:
    """``to`` has a receipt holding the text as signed, whose SHA-256 is the fingerprint
    the sign-off recorded."""
    with wf.db.read() as s:
        text = signature.canonical_text(s, rid)
    fingerprint = signed_event(wf, rid)["payload"]["fingerprint"]
    assert hashlib.sha256(text.encode()).hexdigest() == fingerprint
    [receipt] = [m for m in received(smtp_server, to, "Your receipt") if f"#{rid}]" in
                 str(m["Subject"])]
    body = plain(receipt)
    assert fingerprint in body
    assert text.strip() in body


def test_a_real_office_finishes_both_responses_in_s55_alone(
        site: tuple[Workflow, str], smtp_server: Server, artefacts: Path) -> None:
    wf, _base = site
    add_people(wf)
    thematic = register(wf, "Antisocial behaviour: a thematic inspection", RECS, AREAS)
    custody = register(wf, "Custody inspection of Norfolk", CUSTODY_RECS, CUSTODY_AREAS)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        # The thematic report: the force answers 4 recommendations and 6 areas; the PCC signs.
        force_answers(page, _link_for(wf, smtp_server, FORCE, thematic), RECS, AREAS,
                      "Thematic")
        page.screenshot(path=str(artefacts / "1-force-submitted.png"), full_page=True)
        pcc_link = _link_for(wf, smtp_server, PCC, thematic)
        page.goto(pcc_link)
        for n in AREAS:
            assert page.get_by_text(f"Thematic: area {n} is reviewed every month.").count()
        shown = sign(page, pcc_link, "I welcome this thematic report.", "Sign off",
                     artefacts / "2-pcc-page.png")
        assert signed_event(wf, thematic)["payload"]["fingerprint"] == shown
        # The custody report: answered, returned to the force by the PCC, resubmitted.
        force_answers(page, _link_for(wf, smtp_server, FORCE, custody), CUSTODY_RECS,
                      CUSTODY_AREAS, "Custody")
        page.goto(_link_for(wf, smtp_server, PCC, custody))
        page.locator("summary", has_text="Return to the force").click()
        page.get_by_label("Why it goes back to the force").fill(
            "Recommendation 2 needs dates and an owner.")
        page.get_by_role("button", name="Return to the force").click()
        page.wait_for_selector("text=The response was sent back, with your reason.")
        delegation.delegate(wf, PCC, DEPUTY, london_today(wf.clock),
                            london_today(wf.clock) + timedelta(days=14), PCC, "PCC on leave")
        force_answers(page, _link_for(wf, smtp_server, FORCE, custody), CUSTODY_RECS,
                      CUSTODY_AREAS, "Custody, with dates")
        # The deputy writes the PCC's response and signs in the PCC's place.
        deputy_link = _link_for(wf, smtp_server, DEPUTY, custody)
        shown = sign(page, deputy_link, "As the PCC's deputy, I welcome this report.",
                     "Sign off in the PCC's place", artefacts / "3-deputy-page.png")
        browser.close()
    deliver(wf)
    event = signed_event(wf, custody)
    assert (event["actor"], event["on_behalf_of"], event["payload"]["fingerprint"]) == (
        DEPUTY, PCC, shown)
    [notice] = received(smtp_server, PCC, "Signed off in your name")
    body = plain(notice)
    assert f"under delegation #{event['payload']['delegation']}" in body
    assert shown in body
    assert "As the PCC's deputy, I welcome this report." in body
    check_receipt(wf, smtp_server, thematic, PCC)
    check_receipt(wf, smtp_server, custody, DEPUTY)
    for rid in (thematic, custody):
        assert empty_headings(render_response(wf.db, rid, "md")) == []
    # An old report, past its deadline: the sweep (run twice, as cron would) tells the PCC
    # once, the subject naming the statutory deadline and how far past it the response is.
    overdue = register(wf, "Vetting and counter-corruption inspection of Norfolk",
                       CUSTODY_RECS, {}, days_ago=70)
    sweep(wf.db, wf.settings, wf.clock)
    sweep(wf.db, wf.settings, wf.clock)
    deliver(wf)
    [told] = [m for m in received(smtp_server, PCC, f"[s55 #{overdue}]")
              if "overdue" in str(m["Subject"])]
    assert re.search(r"statutory deadline \d+ \w+ \d{4}, 1[45] days overdue",
                     str(told["Subject"])), told["Subject"]


def _link_for(wf: Workflow, smtp_server: Server, to: str, rid: int) -> str:
    """The last link mailed to ``to`` about response ``rid``."""
    deliver(wf)
    links = [link for message in received(smtp_server, to, f"[s55 #{rid}]")
             for link in re.findall(r"http://127\.0\.0\.1:\d+/l/[A-Za-z0-9_-]+",
                                    plain(message))]
    assert links, f"no link about response {rid} mailed to {to}"
    return links[-1]
