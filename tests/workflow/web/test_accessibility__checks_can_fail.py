"""The page checks can fail: the force's page served with a deliberate fault (a field's
label taken out; a wide unbreakable line) is reported by axe and by the reflow check, so
their silence on the real pages means something."""

from __future__ import annotations

from typing import Any

import pytest
from a11y_support import chromium, problems, tab, violations
from factories import FORCE
from web_support import SECRET, Client, make_env, serving, tokens

from workflow.core.settings import Settings
from workflow.web.app import create_app

pytestmark = pytest.mark.slow


def broken(keyed_db: Any, settings: Settings, fault: Any) -> list[str]:
    """The problems found on the force's page with ``fault(html)`` applied to it."""
    env = make_env(keyed_db, settings)
    path = f"/l/{tokens(env.wf, FORCE)[-1]}"
    html = Client(env.client.app).get(path).text
    spoilt = fault(html)
    assert spoilt != html
    app = create_app(env.wf.db, env.wf.settings, clock=env.wf.clock, secret=SECRET)
    with serving(app) as base, chromium() as browser, tab(browser) as page:
        page.route(base + path, lambda route: route.fulfill(
            status=200, content_type="text/html", body=spoilt))
        page.goto(base + path)
        return problems(page, "broken")


def test_a_field_without_its_label_is_reported_by_axe(keyed_db: Any, settings: Settings
                                                     ) -> None:
    found = broken(keyed_db, settings, lambda html: html.replace(
        '<label for="cc_response">', '<span>').replace(
        "report (optional)</label>", "report (optional)</span>"))
    assert [x for x in found if "label" in x and "cc_response" in x], found


def test_a_wide_element_is_reported_by_the_reflow_check(keyed_db: Any, settings: Settings
                                                       ) -> None:
    found = broken(keyed_db, settings, lambda html: html.replace(
        "<h2 id=\"cc\">", "<pre>" + "0123456789 " * 10 + "</pre><h2 id=\"cc\">"))
    assert found == ["broken: " + found[0].removeprefix("broken: ")]
    assert found[0].endswith("px wide at 320 px"), found


def test_the_real_page_has_neither_fault(keyed_db: Any, settings: Settings) -> None:
    env = make_env(keyed_db, settings)
    app = create_app(env.wf.db, env.wf.settings, clock=env.wf.clock, secret=SECRET)
    with serving(app) as base, chromium() as browser, tab(browser) as page:
        page.goto(f"{base}/l/{tokens(env.wf, FORCE)[-1]}")
        assert violations(page) == []
        assert problems(page, "force page") == []
