"""Both approvers' journeys in a real browser (Debian's Chromium through Playwright), from
the real mail delivered to aiosmtpd to the state log, on both backends; a mail scanner
opening every link first changes nothing. A screenshot of each page is kept (the folder
is printed; ``S55_ARTEFACTS`` chooses it)."""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from factories import ADMIN, AUDITOR, FORCE, NORFOLK_RECS, PCC, norfolk, snapshot
from playwright.sync_api import Page, sync_playwright
from smtp_server import Server, free_port
from waiting import wait_until

from workflow.core.clock import SystemClock
from workflow.core.settings import Settings
from workflow.mail import delivery
from workflow.reads import detail
from workflow.responses.service import Workflow
from workflow.web.app import create_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.slow


@pytest.fixture
def artefacts(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    root = Path(os.environ["S55_ARTEFACTS"]) if os.environ.get("S55_ARTEFACTS") else tmp_path
    folder = root / "screenshots" / request.node.callspec.id
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots in {folder}")
    return folder


@pytest.fixture
def site(keyed_db, settings: Settings, smtp_server: Server) -> Iterator[tuple[Workflow, str]]:  # type: ignore[no-untyped-def]
    """A real uvicorn on a free loopback port, mail going to aiosmtpd."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    db = keyed_db
    s = settings.model_copy(update={"base_url": base, "audit_key_file": db.audit_key_file,
                                    "smtp_host": "127.0.0.1",
                                    "smtp_port": smtp_server.port, "smtp_security": "none",
                                    "smtp_timeout": 5.0})
    wf = Workflow(db, s, SystemClock())
    server = uvicorn.Server(uvicorn.Config(create_app(db, s), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="uvicorn")
    thread.start()
    wait_until(lambda: server.started, bool, timeout=10, what="uvicorn started")
    yield wf, base
    server.should_exit = True
    thread.join(timeout=10)


def delivered(wf: Workflow, smtp_server: Server, to: str) -> list[str]:
    """Deliver the outbox; every link in the mail ``to`` received, oldest first."""
    # In a thread of its own: Playwright's sync API keeps an event loop in this one.
    worker = threading.Thread(target=delivery.deliver_pending,
                              args=(wf.db, wf.settings, wf.clock))
    worker.start()
    worker.join(timeout=30)
    links = []
    for got in smtp_server.handler.received:
        if to in got.recipients:
            body = got.message.get_body(("plain",))
            assert body is not None
            links += re.findall(r"http://127\.0\.0\.1:\d+/l/[A-Za-z0-9_-]+", body.get_content())
    return links


def scanner(wf: Workflow, smtp_server: Server) -> None:
    """A mail security gateway: fetch (GET and HEAD) every link of every message."""
    before = snapshot(wf)
    urls = set()
    for got in smtp_server.handler.received:
        for part in got.message.walk():
            if part.get_content_maintype() == "text":
                urls |= set(re.findall(r'https?://[^\s"<>]+', part.get_content()))
    assert urls
    with httpx.Client(timeout=10) as client:
        for url in sorted(urls):
            if url.startswith("http://127.0.0.1"):
                client.get(url)
                client.head(url)
    assert snapshot(wf) == before


def shot(page: Page, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def test_both_journeys_from_the_mail_to_the_state_log(
        site: tuple[Workflow, str], smtp_server: Server, artefacts: Path) -> None:
    wf, base = site
    rid = norfolk(wf)
    wf.fire(rid, "request_force_input", ADMIN)
    force_link = delivered(wf, smtp_server, FORCE)[-1]
    scanner(wf, smtp_server)
    numbers = list(NORFOLK_RECS)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page(viewport={"width": 1000, "height": 900})
        # The force liaison: three answers on a first visit, two more on a second, submit.
        page.goto(force_link)
        for n in numbers[:3]:
            page.get_by_label(f"The force's response to recommendation {n}").fill(
                f"The force accepts recommendation {n} <b>and</b> will act.")
        page.get_by_role("button", name="Save", exact=True).click()
        page.wait_for_url(re.compile(r"done=saved"))
        shot(page, artefacts, "1-force-saved")
        page.goto(force_link)
        for n in numbers[3:]:
            page.get_by_label(f"The force's response to recommendation {n}").fill(
                f"Recommendation {n}: done by March.")
        page.get_by_label("The Chief Constable's overall response").fill("The force agrees.")
        page.get_by_role("button", name="Submit the force's comments").click()
        page.wait_for_selector("text=The force's comments are submitted")
        shot(page, artefacts, "2-force-submitted")
        now = detail.show(wf.db, wf.clock, wf.identifier.mode, "", rid, None)
        assert now["state"] == "pcc_signoff"
        # The PCC: reads the whole response, writes, saves, signs off.
        pcc_link = delivered(wf, smtp_server, PCC)[-1]
        scanner(wf, smtp_server)
        page.goto(pcc_link)
        shot(page, artefacts, "3-pcc-page")
        assert "Recommendation 8: done by March." in page.content()
        page.get_by_label("The PCC's response to the report").fill("I welcome the report.")
        page.get_by_role("button", name="Save", exact=True).click()
        page.wait_for_url(re.compile(r"done=saved"))
        shown = page.locator("#fingerprint").inner_text()
        page.get_by_role("button", name="Sign off").click()
        page.wait_for_selector("text=You signed off the response")
        shot(page, artefacts, "4-pcc-signed")
        page.goto(force_link)
        shot(page, artefacts, "5-force-link-used")
        # A reader signs in and reads the state log.
        page.goto(f"{base}/sign-in")
        page.get_by_label("Your email address").fill(AUDITOR)
        page.get_by_role("button", name="Email me a sign-in link").click()
        page.wait_for_url(re.compile(r"sent=1"))
        page.goto(delivered(wf, smtp_server, AUDITOR)[-1])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r"/responses$"))
        shot(page, artefacts, "6-reader-list")
        page.goto(f"{base}/responses/{rid}")
        shot(page, artefacts, "7-reader-response")
        page.set_viewport_size({"width": 375, "height": 800})
        page.goto(f"{base}/responses/{rid}")
        shot(page, artefacts, "8-reader-phone")
        page.goto(f"{base}/nowhere")
        shot(page, artefacts, "9-not-found")
        browser.close()
    now = detail.show(wf.db, wf.clock, wf.identifier.mode, "", rid, None)
    assert now["state"] == "forwarded_to_panel"
    moves = [(e["trigger"], e["actor"], e["channel"]) for e in detail.log(wf.db, rid)
             if e["action"] == "transition"]
    assert moves == [("request_force_input", ADMIN, "cli"),
                     ("submit_force_input", FORCE, "web"), ("sign_off", PCC, "web")]
    signed = [e for e in detail.log(wf.db, rid) if e["trigger"] == "sign_off"][0]
    assert signed["payload"]["fingerprint"] == shown
