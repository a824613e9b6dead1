"""The force's and the PCC's pages by keyboard alone, in Debian's Chromium, on both
databases: Tab reaches every field and button in order, Enter on a button submits, a
refusal's error summary has focus when the page loads, and its link moves focus to the
field in error (opening the section that holds it). A page whose summary does not take
focus is caught. GOV.UK's yellow focus shows on every kind of button and link."""

from __future__ import annotations

import re
from typing import Any

import pytest
from a11y_support import chromium, tab
from factories import FORCE, PCC
from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from web_support import SECRET, make_env, serving, tokens

from workflow.core.settings import Settings
from workflow.web.app import create_app

pytestmark = pytest.mark.slow

#: What has focus: its tag, id and (for buttons, links and summaries) its text.
FOCUSED = ("(() => { const e = document.activeElement; return [e.tagName.toLowerCase(), "
           "e.id || '', (e.innerText || '').trim().slice(0, 60)].join('|'); })()")


def focused(page: Page) -> str:
    found: str = page.evaluate(FOCUSED)
    return found


def tab_to(page: Page, wanted: str, limit: int = 120) -> list[str]:
    """Press Tab until the focused element's description holds ``wanted``; every stop."""
    stops = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        stops.append(focused(page))
        if wanted in stops[-1]:
            return stops
    raise AssertionError(f"Tab never reached {wanted!r}: {stops}")


def ids_of(stops: list[str], tag: str) -> list[str]:
    return [s.split("|")[1] for s in stops if s.startswith(tag + "|")]


def summary_takes_focus_then_links_to(page: Page, field: str) -> None:
    # The browser moves focus to an ``autofocus`` element at its next rendering update
    # after the load, not at once: wait for focus to leave the body, for a while.
    try:
        page.wait_for_function("document.activeElement !== document.body", timeout=3000)
    except PlaywrightTimeout:
        pass
    assert focused(page).startswith("div|error-summary|"), focused(page)
    assert page.title().startswith("Error: ")
    page.keyboard.press("Tab")
    assert focused(page).startswith("a||"), focused(page)
    page.keyboard.press("Enter")
    assert focused(page).startswith(f"textarea|{field}|"), focused(page)
    described = page.get_attribute(f"#{field}", "aria-describedby") or ""
    assert f"{field}-error" in described.split()
    assert page.get_attribute(f"#{field}", "aria-invalid") == "true"


@pytest.fixture
def site(keyed_db: Any, settings: Settings, request: pytest.FixtureRequest) -> Any:
    env = make_env(keyed_db, settings, to_pcc=getattr(request, "param", False))
    app = create_app(env.wf.db, env.wf.settings, clock=env.wf.clock, secret=SECRET)
    with serving(app) as base, chromium() as browser, tab(browser) as page:
        yield env, base, page


def test_the_force_s_page_by_keyboard(site: Any) -> None:
    env, base, page = site
    page.goto(f"{base}/l/{tokens(env.wf, FORCE)[-1]}")
    stops = tab_to(page, "Submit the force's comments")
    fields = ids_of(stops, "textarea")
    assert fields == [f for f in fields if f.startswith("force_response_")] + ["cc_response"]
    assert len(fields) == len(env.wf.db.query(lambda s: s.execute(__import__(
        "sqlalchemy").text("SELECT number FROM recommendation")).all())) + 1
    assert [s.split("|")[2] for s in stops if s.startswith("button|")] == [
        "Save", "Submit the force's comments"]
    with page.expect_navigation():
        page.keyboard.press("Enter")
    summary_takes_focus_then_links_to(page, fields[0])


@pytest.mark.parametrize("site", [True], indirect=True)
def test_the_pcc_s_page_by_keyboard(site: Any) -> None:
    env, base, page = site
    page.goto(f"{base}/l/{tokens(env.wf, PCC)[-1]}")
    stops = tab_to(page, "Return to the force")
    assert ids_of(stops, "textarea")[0] == "pcc_response"
    assert all(re.fullmatch(r"pcc_note_\d+", x) for x in ids_of(stops, "textarea")[1:])
    assert [s.split("|")[2] for s in stops if s.startswith("button|")] == ["Save", "Sign off"]
    page.keyboard.press("Enter")  # opens the section
    assert ids_of(tab_to(page, "Return to the force"), "textarea") == ["reason-force"]
    assert focused(page).startswith("button|")
    with page.expect_navigation():
        page.keyboard.press("Enter")  # submits with no reason
    summary_takes_focus_then_links_to(page, "reason-force")


def test_a_summary_that_does_not_take_focus_is_caught(site: Any) -> None:
    """The check can fail: the same page with the summary's ``autofocus`` taken out."""
    env, base, page = site
    path = f"{base}/l/{tokens(env.wf, FORCE)[-1]}"
    page.route(f"{path}/submit", lambda route: route.fulfill(
        status=409, content_type="text/html",
        body=route.fetch().text().replace(" autofocus ", " ")))
    page.goto(path)
    tab_to(page, "Submit the force's comments")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    with pytest.raises(AssertionError):
        summary_takes_focus_then_links_to(page, "force_response_1")


#: GOV.UK's focus colour: what a focused button's background or a focused link's shows.
YELLOW = "rgb(255, 221, 0)"
FOCUS_BACKGROUND = "getComputedStyle(document.activeElement).backgroundColor"


@pytest.mark.parametrize("site", [True], indirect=True)
def test_focus_is_yellow_on_every_kind_of_button_and_link(site: Any) -> None:
    """Grey (secondary) and red (warning) buttons, the summary that opens a section, and a
    link inside the published document all take GOV.UK's yellow focus."""
    env, base, page = site
    page.goto(f"{base}/l/{tokens(env.wf, PCC)[-1]}")
    for wanted in ("Save", "Sign off", "Return to the force"):
        tab_to(page, wanted)
        assert page.evaluate(FOCUS_BACKGROUND) == YELLOW, wanted
    page.keyboard.press("Enter")
    tab_to(page, "button|")
    assert page.evaluate(FOCUS_BACKGROUND) == YELLOW  # the red "Return to the force"
    page.focus(".document a")
    assert page.evaluate(FOCUS_BACKGROUND) == YELLOW


def test_a_secondary_button_without_the_focus_style_is_caught(site: Any) -> None:
    """The check can fail: with the stylesheet's focus rules taken out, the grey button's
    focus shows no yellow."""
    env, base, page = site
    page.route(f"{base}/static/s55.css", lambda route: route.fulfill(
        status=200, content_type="text/css",
        body=re.sub(r"button:focus[^}]*}", "", route.fetch().text())))
    page.goto(f"{base}/l/{tokens(env.wf, FORCE)[-1]}")
    tab_to(page, "Submit the force's comments")
    assert page.evaluate(FOCUS_BACKGROUND) != YELLOW
