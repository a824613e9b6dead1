"""What the accessibility tests share: axe-core (shipped by axe-playwright-python) run in
Debian's Chromium over a page, and the reflow check at 320 CSS pixels (WCAG 1.4.10)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright
from web_support import CHROMIUM

#: The rule sets every page and document must pass with no violation of any impact.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
#: The narrowest width a page must fit without scrolling sideways (1280 px at 400%).
NARROW = 320
WIDE = 1280


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def tab(browser: Browser) -> Iterator[Page]:
    """A page at 1280 px. Only here is the Content-Security-Policy bypassed: axe is a
    script, and the pages allow none."""
    context = browser.new_context(bypass_csp=True, viewport={"width": WIDE, "height": 900},
                                  locale="en-GB")
    try:
        yield context.new_page()
    finally:
        context.close()


def violations(page: Page) -> list[str]:
    """axe's violations on ``page`` as it is now: "rule (impact): target, ..." each."""
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": TAGS},
                                       "resultTypes": ["violations"]})
    found: list[dict[str, Any]] = results.response["violations"]
    return [f"{v['id']} ({v['impact']}): " + ", ".join(str(n["target"]) for n in v["nodes"])
            for v in found]


def too_wide(page: Page) -> int | None:
    """The page's width at 320 px when it scrolls sideways (None when it fits)."""
    page.set_viewport_size({"width": NARROW, "height": 800})
    try:
        width: int = page.evaluate("document.documentElement.scrollWidth")
    finally:
        page.set_viewport_size({"width": WIDE, "height": 900})
    return width if width > NARROW else None


def problems(page: Page, name: str) -> list[str]:
    """Everything axe and the reflow check find on ``page`` (``name`` says which)."""
    found = [f"{name}: {v}" for v in violations(page)]
    wide = too_wide(page)
    if wide is not None:
        found.append(f"{name}: {wide} px wide at {NARROW} px")
    return found
