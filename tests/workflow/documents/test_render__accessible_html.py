"""Every HTML document s55 renders passes axe-core (WCAG 2.0/2.1 A and AA, and best
practice) with no violation of any impact and fits 320 CSS pixels without scrolling
sideways, in Debian's Chromium, on both databases: the published response at each step
(draft, with the force, awaiting sign-off, closed) as ``s55 render ID --format html``
writes it, and the auditor's report (``s55 audit report``) of the same responses; every
link in them takes GOV.UK's yellow focus. A template without the narrow-screen rule is
caught."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from a11y_support import chromium, problems, tab
from factories import ADMIN
from journey_support import delegate, ready_to_sign, register, with_areas

from workflow.audit_report.build import build_report
from workflow.audit_report.render import render_report
from workflow.core.clock import london_today
from workflow.core.settings import Settings
from workflow.documents.render import TEMPLATES as DOCUMENT_TEMPLATES
from workflow.documents.render import render_response
from workflow.responses import content
from workflow.responses.service import Workflow

pytestmark = pytest.mark.slow


def responses(wf: Workflow) -> list[int]:
    """Four responses: with the force, awaiting sign-off, a draft, closed as not required."""
    today = london_today(wf.clock)
    first = register(wf, with_areas(published_on=(today - timedelta(days=10)).isoformat()))
    wf.fire(first, "request_force_input", ADMIN)
    ids = [first] + [content.add_report(wf, with_areas(title=title, published_on=(
        today - timedelta(days=days)).isoformat()), ADMIN).id or 0 for title, days in (
        ("PEEL 2025-27: an inspection of Norfolk", 20), ("Custody in Norfolk", 400),
        ("A national thematic report", 30))]
    delegate(wf, today - timedelta(days=1), today + timedelta(days=30))
    ready_to_sign(wf, ids[1])
    wf.fire(ids[3], "mark_not_required", ADMIN, reason="A duplicate of a force report")
    return ids


def documents(wf: Workflow, ids: list[int], template_dir: Path | None = None
              ) -> dict[str, str]:
    today = london_today(wf.clock)
    found = {f"render {rid}": render_response(wf.db, rid, "html", template_dir=template_dir)
             for rid in ids}
    report = build_report(wf.db, today - timedelta(days=500), today, wf.clock)
    found["audit report"] = render_report(report, "html")
    return found


def check(docs: dict[str, str]) -> list[str]:
    found: list[str] = []
    with chromium() as browser, tab(browser) as page:
        for name, html in docs.items():
            page.set_content(html)
            found.extend(problems(page, name))
            found.extend(unfocused_links(page, name))
    return found


def unfocused_links(page: Any, name: str) -> list[str]:
    """Links that do not take GOV.UK's yellow focus (a focus style must be visible)."""
    missing = []
    for n in range(page.locator("a").count()):
        page.locator("a").nth(n).focus()
        if page.evaluate("getComputedStyle(document.activeElement).backgroundColor") != \
                "rgb(255, 221, 0)":
            missing.append(f"{name}: link {n + 1} shows no focus")
    return missing


@pytest.fixture
def wf(keyed_db: Any, settings: Settings) -> Workflow:
    return Workflow(keyed_db, settings.model_copy(
        update={"audit_key_file": keyed_db.audit_key_file}))


def test_every_rendered_document_passes_axe_and_reflows_at_320_px(wf: Workflow) -> None:
    docs = documents(wf, responses(wf))
    assert all("<a href=" in html for html in docs.values())  # links whose focus is checked
    assert check(docs) == []


def test_a_document_without_its_narrow_screen_rule_is_caught(wf: Workflow,
                                                            tmp_path: Path) -> None:
    """The check can fail: the response template with its narrow-screen rule taken out
    (the details list's first column then takes its longest label) is too wide."""
    source = (DOCUMENT_TEMPLATES / "response.html.j2").read_text(encoding="utf-8")
    broken, cut = re.subn(r"@media \(max-width: 40rem\) \{.*?\n  \}\n", "", source,
                          flags=re.S)
    assert cut == 1
    broken = broken.replace("main { overflow-wrap: anywhere; }", "")
    (tmp_path / "response.html.j2").write_text(broken, encoding="utf-8")
    rid = responses(wf)[0]
    found = check({"broken": render_response(wf.db, rid, "html", template_dir=tmp_path)})
    assert found
    assert all("px wide at 320 px" in x for x in found), found
