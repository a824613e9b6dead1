"""Links are linked only when they are http or https, everywhere.

One helper, ``notifications.hrefs.safe_href``, decides; every ``href=`` in every shipped
template goes through it. A ``javascript:`` link stored before entry checks existed is
shown as text in mail and in ``s55 render --format html``, never as an ``href``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from notifications.hrefs import safe_href
from tests.factories import ADMIN, norfolk
from workflow.core.settings import Settings
from workflow.documents.render import _markdown
from workflow.responses.service import Workflow
from workflow.storage.db import Database
from workflow.storage.models import InspectionReport, OutboxMessage

ROOT = Path(__file__).resolve().parents[2]
EVIL = "javascript:alert(document.domain)"


@pytest.mark.parametrize(("value", "linked"), [
    ("https://www.justiceinspectorates.gov.uk/hmicfrs/", True),
    ("http://example.org/a?b=1#c", True),
    ("  https://example.org/  ", True),
    ("#response-12", True),
    (EVIL, False),
    ("JavaScript:alert(1)", False),
    ("java\tscript:alert(1)", False),
    ("data:text/html,<script>alert(1)</script>", False),
    ("file:///etc/passwd", False),
    ("https://", False),
    ("https://exa mple.org/", False),
    ("//example.org/", False),
    ("http://[::1", False),
    ("", False),
    (None, False),
])
def test_safe_href(value: Any, linked: bool) -> None:
    assert bool(safe_href(value)) is linked


def _shipped_templates() -> list[Path]:
    found = [p for d in ("notifications", "workflow") for p in (ROOT / d).rglob("*.j2")]
    assert len(found) > 60  # the mail kinds alone have three each
    return found


def test_every_href_in_every_shipped_template_goes_through_safe_href() -> None:
    helper = re.compile(r'href="\{\{ [^{}]+ \| safe_href \}\}"')
    bad = [f"{p.relative_to(ROOT)}: {m.group()}" for p in _shipped_templates()
           for m in re.finditer(r'href=\S*', p.read_text())
           if not helper.match(p.read_text(), m.start())]
    assert bad == []


def test_markdown_text_links_only_http() -> None:
    assert str(_markdown(f"[x]({EVIL})")) == f"<p>[x]({EVIL})</p>\n"
    assert str(_markdown("[x](https://a.example/)")) == '<p><a href="https://a.example/">x</a></p>\n'


def _plant_link(db: Database, link: str) -> None:
    """As an older s55 stored it, before links were checked at entry."""
    with db.write() as s:
        s.execute(update(InspectionReport).values(link=link))


def test_a_javascript_link_is_text_in_mail(db: Database, settings: Settings) -> None:
    wf = Workflow(db, settings)
    rid = norfolk(wf)
    _plant_link(db, EVIL)
    wf.fire(rid, "request_force_input", ADMIN)
    with db.read() as s:
        (row,) = s.scalars(select(OutboxMessage))
    assert "href" not in row.body_html
    assert ("<tr><th align=\"left\">Report</th><td>The policing response to antisocial "
            "behaviour: PEEL spotlight report</td></tr>") in row.body_html


def test_a_javascript_link_is_text_in_the_rendered_document(
        db: Database, settings: Settings, run: Any) -> None:
    norfolk(Workflow(db, settings))
    _plant_link(db, EVIL)
    result = run("render", "1", "--format", "html", actor=ADMIN)
    assert result.exit_code == 0, result.output
    assert f"<dt>Link to Report:</dt><dd>{EVIL}</dd>" in result.stdout
    assert 'href="javascript' not in result.stdout.lower()
