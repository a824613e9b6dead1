"""Markdown pictures in any text a response holds are rendered as links to the picture,
never as ``<img>``: a page or document showing one would fetch it from a stranger's server
as the reader opens it (telling that server who read it, and when)."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.factories import ADMIN, norfolk_report
from workflow.documents.render import _markdown, render_response
from workflow.responses import content
from workflow.responses.service import Workflow

PICTURE = "![Chart of calls](https://tracker.example/p.png?who=reader)"


@pytest.mark.parametrize("field", ["key_findings", "cc_response", "pcc_response",
                                   "afi_statement"])
def test_a_picture_in_a_response_is_a_link(wf: Workflow, field: str) -> None:
    rid = content.add_report(wf, norfolk_report(), ADMIN).id or 0
    content.edit_text(wf, rid, field, f"Before.\n\n{PICTURE}\n\nAfter.", ADMIN)
    content.edit_recommendation(wf, rid, 1, "force_response", f"See {PICTURE}.", ADMIN)
    html = render_response(wf.db, rid, "html")
    assert "<img" not in html
    assert html.count('<a href="https://tracker.example/p.png?who=reader">Chart of calls</a>') \
        == 2
    assert PICTURE in render_response(wf.db, rid, "md")  # the Markdown keeps what was typed


@pytest.mark.parametrize(("text", "html"), [
    ("![](https://x.example/p.png)", '<p><a href="https://x.example/p.png">picture</a></p>\n'),
    ("[![inside](https://x.example/p.png)](https://y.example/)",
     '<p><a href="https://y.example/">inside</a></p>\n'),
    ("![x](javascript:alert(1))", "<p>![x](javascript:alert(1))</p>\n"),
    ('![a "b" <c>](https://x.example/"q")',
     '<p><a href="https://x.example/%22q%22">a &quot;b&quot; &lt;c&gt;</a></p>\n'),
])
def test_pictures_of_every_shape(text: str, html: str) -> None:
    """No alt text says "picture"; a picture inside a link is its words (no link in a
    link); a picture whose address is not http(s) stays text."""
    assert str(_markdown(text)) == html


@settings(max_examples=200, deadline=None)
@given(st.text(st.sampled_from("![](){}<>\"' \n*_`\\xhttps:/."), max_size=60))
@example("![a](https://x)")
@example("![![a](https://x)](https://y)")
def test_no_text_makes_an_img(text: str) -> None:
    assert "<img" not in str(_markdown(text))
