"""The HMICFRS portal's reference is one line of at most 100 printable characters: a line
break, a character that does not print or an invisible one is refused in one line with the
database unchanged, on both backends. A reference holding a newline and ``# ...`` used to
put a heading of its own into the rendered document; the document escapes what it is given
as well, so even a row written behind s55's back cannot."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from tests.factories import ADMIN
from tests.workflow.cli.conftest import Refused
from workflow.documents.parse import parse_document
from workflow.documents.render import render_response
from workflow.responses.service import Workflow

WHAT = "Error: --portal-reference: "


@pytest.fixture
def published(signed_off: Workflow) -> Workflow:
    """Response 1 published on 1 November 2024 (the clock still stopped there)."""
    signed_off.fire(1, "publish", ADMIN, params={"url": "https://opcc.example/r"})
    return signed_off


@pytest.mark.parametrize(("reference", "line"), [
    ("HMI-1\n# Injected heading", "contains a control character or line break (U+000A); "
     "it must be one line of text"),
    ("HMI-1\r\n\n## Recommendations", "contains a control character or line break (U+000A, "
     "U+000D); it must be one line of text"),
    ("HMI-\u20291", "contains a control character or line break (U+2029); it must be one "
     "line of text"),
    ("HMI\u00a01", "contains characters that do not print (U+00A0); it must be one line of "
     "printable characters"),
    ("HMI-\ue0001", "contains characters that do not print (U+E000); it must be one line of "
     "printable characters"),
    ("HMI-\u202e1", "contains invisible or direction-changing characters (U+202E "
     "RIGHT-TO-LEFT OVERRIDE), which make text read differently from what is stored; type it "
     "without them"),
    ("H" * 101, "is 101 characters long; at most 100 characters"),
])
def test_refused(published: Workflow, refused: Refused, reference: str, line: str) -> None:
    refused(["submit-to-portal", "1", "--portal-reference", reference], WHAT + line)


def test_markdown_in_a_reference_stays_text(published: Workflow, run: Any) -> None:
    """One printable line is accepted as typed, and printed as text: no heading, no link,
    no emphasis of its own in either format."""
    reference = "# HMI-[1](javascript:alert(1)) *x* <b>"
    assert len(reference) <= 100
    result = run("submit-to-portal", "1", "--portal-reference", reference, actor=ADMIN)
    assert result.exit_code == 0, result.output
    md = render_response(published.db, 1, "md")
    assert ("Portal (reference \\# HMI-\\[1\\]\\(javascript:alert\\(1\\)\\) \\*x\\* \\<b\\>)."
            in md)
    html = render_response(published.db, 1, "html")
    assert "Reference # HMI-[1](javascript:alert(1)) *x* &lt;b&gt;." in html
    assert 'href="javascript' not in html


def test_a_reference_with_a_line_break_cannot_add_a_heading(published: Workflow) -> None:
    """Defence in depth: a reference written straight into the table (as an older s55
    took it) is printed on its own line's words; the document's headings are its own."""
    published.fire(1, "submit_to_portal", ADMIN, params={"portal_reference": "HMI-1"})
    headings = [line for line in render_response(published.db, 1, "md").splitlines()
                if line.startswith("#")]
    with published.db.engine.begin() as conn:
        conn.execute(text("UPDATE response SET portal_reference = :r WHERE id = 1"),
                     {"r": "HMI-1\n\n# Injected heading\n\n- [x] forged"})
    md = render_response(published.db, 1, "md")
    assert [line for line in md.splitlines() if line.startswith("#")] == headings
    assert "(reference HMI-1 \\# Injected heading - \\[x\\] forged)." in md
    assert len(parse_document(md).checklist.ticked) == 4


def test_a_hundred_characters_are_enough(published: Workflow, run: Any) -> None:
    result = run("submit-to-portal", "1", "--portal-reference", "H" * 100, actor=ADMIN)
    assert result.exit_code == 0, result.output
