"""Every page s55 serves passes axe-core (WCAG 2.0/2.1 A and AA, and best practice) with
no violation of any impact, and fits 320 CSS pixels without scrolling sideways, in
Debian's Chromium, on both databases: the force's, the PCC's and the deputy's pages (as
opened and as refused, with the error summary), a delegation to confirm, the pages of
used, superseded, expired and unknown links, sign-in and its confirm page, the readers'
lists and one response, and the plain pages (home, not found, a bad list)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from a11y_support import chromium, problems, tab
from factories import ADMIN, AUDITOR, FORCE, PCC
from journey_support import DEPUTY, delegate, ready_to_sign, register, with_areas
from playwright.sync_api import Page
from web_support import SECRET, serving, tokens, web_settings

from workflow.core.clock import london_today
from workflow.core.settings import Settings
from workflow.people import delegation
from workflow.responses import content
from workflow.responses.service import Workflow
from workflow.web.app import create_app

pytestmark = pytest.mark.slow


def add(wf: Workflow, report: Any) -> int:
    return content.add_report(wf, report, ADMIN).id or 0


def demo(wf: Workflow) -> dict[str, int]:
    """An office's responses at every step a page shows: one with the force, one waiting
    on the PCC (with a deputy under delegation), one still a draft, one closed."""
    today = london_today(wf.clock)
    report = with_areas(published_on=(today - timedelta(days=10)).isoformat())
    ids = {"force": register(wf, report)}
    wf.fire(ids["force"], "request_force_input", ADMIN)
    ids["pcc"] = add(wf, with_areas(title="PEEL 2025-27: an inspection of Norfolk",
                                         published_on=(today - timedelta(days=20)).isoformat()))
    delegate(wf, today - timedelta(days=1), today + timedelta(days=30))
    ready_to_sign(wf, ids["pcc"])
    ids["draft"] = add(wf, with_areas(title="Custody in Norfolk",
                                           published_on=(today - timedelta(days=400)).isoformat()))
    ids["closed"] = add(wf, with_areas(title="A national thematic report"))
    wf.fire(ids["closed"], "mark_not_required", ADMIN, reason="A duplicate of a force report")
    # an admin asks for a later delegation: the PCC is mailed a link to confirm or decline
    delegation.delegate(wf, PCC, DEPUTY, today + timedelta(days=60),
                        today + timedelta(days=70), ADMIN, "Annual leave")
    return ids


def visit(page: Page, url: str, found: list[str], name: str) -> None:
    page.goto(url)
    found.extend(problems(page, name))


def approvers(page: Page, base: str, wf: Workflow, found: list[str]) -> None:
    # the first force link is the first response's, still with the force; the second
    # was superseded when the force's comments on the second were submitted
    # the PCC's last link asks them to confirm a delegation; the one before signs off
    force, pcc = tokens(wf, FORCE), tokens(wf, PCC)[:-1]
    visit(page, f"{base}/l/{force[0]}", found, "force page")
    page.get_by_role("button", name="Submit the force's comments").click()
    found.extend(problems(page, "force page, submit refused"))
    assert page.title().startswith("Error: ")
    visit(page, f"{base}/l/{pcc[-1]}", found, "PCC page")
    page.locator("summary", has_text="Return to the force").click()
    page.get_by_role("button", name="Return to the force").click()
    found.extend(problems(page, "PCC page, return refused"))
    assert page.title().startswith("Error: ")
    page.locator("summary", has_text="Let a deputy act").click()
    found.extend(problems(page, "PCC page, delegation open"))
    visit(page, f"{base}/l/{tokens(wf, DEPUTY)[-1]}", found, "deputy page")
    visit(page, f"{base}/l/{tokens(wf, PCC)[-1]}", found, "confirm a delegation")
    assert page.inner_text("h1") == "Confirm or decline a deputy"
    visit(page, f"{base}/l/{force[1]}", found, "superseded link")
    assert page.inner_text("h1") == "This response has moved on"
    visit(page, f"{base}/l/{'x' * 43}", found, "unknown link")
    assert page.inner_text("h1") == "This link is not known"
    with time_machine.travel(datetime.now(UTC) + timedelta(days=90)):
        visit(page, f"{base}/l/{force[0]}", found, "expired link")
        assert page.inner_text("h1") == "This link has expired"


def readers(page: Page, base: str, wf: Workflow, found: list[str], ids: dict[str, int]) -> None:
    visit(page, f"{base}/sign-in", found, "sign-in")
    page.get_by_label("Your email address").fill(AUDITOR)
    page.get_by_role("button", name="Email me a sign-in link").click()
    found.extend(problems(page, "sign-in, link sent"))
    link = f"{base}/l/{tokens(wf, AUDITOR)[-1]}"
    visit(page, link, found, "sign-in confirm")
    page.get_by_role("button", name="Sign in").click()
    found.extend(problems(page, "open responses"))
    year = date.today().year
    for query in ("show=closed", "show=all", f"show=all&year={year}", "year=1999"):
        visit(page, f"{base}/responses?{query}", found, f"responses?{query}")
    visit(page, f"{base}/responses?show=everything", found, "a bad list")
    for name, rid in ids.items():
        visit(page, f"{base}/responses/{rid}", found, f"response ({name})")
    visit(page, link, found, "used sign-in link")
    assert page.inner_text("h1") == "This link has been used"


def plain(page: Page, base: str, found: list[str]) -> None:
    for path, name in (("/", "home"), ("/nowhere", "not found"),
                       ("/responses/999", "no such response")):
        visit(page, base + path, found, name)


def check_every_page(wf: Workflow, ids: dict[str, int],
                     pages: Callable[[Page, str], None] | None = None) -> list[str]:
    found: list[str] = []
    app = create_app(wf.db, wf.settings, clock=wf.clock, secret=SECRET)
    with serving(app) as base, chromium() as browser, tab(browser) as page:
        approvers(page, base, wf, found)
        plain(page, base, found)
        readers(page, base, wf, found, ids)
    return found


def test_every_page_passes_axe_and_reflows_at_320_px(keyed_db: Any, settings: Settings
                                                     ) -> None:
    wf = Workflow(keyed_db, web_settings(settings, keyed_db))
    ids = demo(wf)
    assert check_every_page(wf, ids) == []
