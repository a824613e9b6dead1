"""The rendered HTML as a browser sees it: headless Chromium (Debian's ``chromium``) loads
the page from a file:// URL and dumps its DOM; the outline and recommendation numbers must
be there. Without Chromium the test skips, except under CI=true, where it fails."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.factories import ADMIN, add_people
from workflow.core.settings import Settings
from workflow.documents.render import render_response
from workflow.responses.importing import import_document
from workflow.responses.service import Workflow
from workflow.storage.db import Database

FIXTURE = Path(__file__).parents[2] / "data" / "norfolk-asb-spotlight-2024.md"
CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)


class Outline(HTMLParser):
    """(tag, text) of every h1-h6, and the page's lang attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[tuple[str, str]] = []
        self.lang: str | None = None
        self._open: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "html":
            self.lang = dict(attrs).get("lang")
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self._open, self._text = tag, []

    def handle_data(self, data: str) -> None:
        if self._open:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == self._open:
            self.headings.append((tag, " ".join("".join(self._text).split())))
            self._open = None


def dump_dom(page: Path) -> str:
    if CHROMIUM is None:  # ./scripts/test.sh installs it; a bare pytest run must not skip
        pytest.fail("chromium is not installed: run ./scripts/test.sh, or apt-get install -y "
                    "chromium")
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.slow
def test_chromium_sees_the_outline_and_every_recommendation(db: Database, settings: Settings,
                                                             tmp_path: Path) -> None:
    """One h1 (the banner), the fixture's sections as h2, and each recommendation (1, 2, 3,
    4, 8) as an h3 both under Recommendations and under the Chief Constable's response."""
    add_people(Workflow(db, settings))
    rid = import_document(db, FIXTURE, actor=ADMIN, force="Norfolk").response_id
    page = tmp_path / "response.html"
    page.write_text(render_response(db, rid, "html"), encoding="utf-8")
    outline = Outline()
    outline.feed(dump_dom(page))
    assert outline.lang == "en-GB"
    h1 = [t for tag, t in outline.headings if tag == "h1"]
    assert h1 == ["Norfolk's Police and Crime Commissioner (PCC) response to inspections "
                  "published by His Majesty's Inspectorate of Constabulary and Fire & Rescue "
                  "Services (HMICFRS)"]
    assert [t for tag, t in outline.headings if tag == "h2"] == [
        "Inspection", "Key Findings", "Recommendations", "Areas For Improvement",
        "Chief Constable response to report and any Recommendations/Areas for Improvement",
        "PCC response to report and any Recommendations/Areas for Improvement",
        "For Office Use Only"]
    recs = [f"Recommendation {n}" for n in (1, 2, 3, 4, 8)]
    assert [t for tag, t in outline.headings if tag == "h3"] == recs + recs
    # Levels never skip (h1 -> h2 -> h3): screen readers' outline is intact.
    levels = [int(tag[1]) for tag, _ in outline.headings]
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False))
