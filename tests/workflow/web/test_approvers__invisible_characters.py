"""The approvers' pages hold free text to the same rule as the command line: a posted
field holding an invisible or direction-changing character (or Markdown nested past what
markdown-it reads) is refused with one sentence on
the page, the database unchanged (the real app, both databases); and a picture in the
force's text is shown on the PCC's page as a link, never fetched."""

from __future__ import annotations

import html
import re

import pytest
from web_support import Env, make_env

from tests.factories import FORCE, NORFOLK_RECS
from workflow.core.nesting import MARKDOWN_TOO_DEEP
from workflow.core.settings import Settings
from workflow.responses import content
from workflow.storage.db import Database
from workflow.web.approvers import FIELD_WORDS

RLO = "\u202e"


def hidden_line(what: str) -> str:
    return (f"{FIELD_WORDS[what]}: contains invisible or direction-changing characters (U+202E "
            "RIGHT-TO-LEFT OVERRIDE), which make text read differently from what is stored; "
            "type it without them")


@pytest.fixture
def force_env(keyed_db: Database, settings: Settings) -> Env:
    """Norfolk sent to the force; the force's link mailed."""
    return make_env(keyed_db, settings)


@pytest.fixture
def pcc_env(keyed_db: Database, settings: Settings) -> Env:
    """Norfolk answered and submitted by the force; the PCC's link mailed."""
    return make_env(keyed_db, settings, to_pcc=True)


def refused_on_page(env: Env, token: str, action: str, fields: dict[str, str],
                    line: str) -> None:
    before = env.snap()
    form = env.form(f"/l/{token}")
    answer = env.client.post(f"/l/{token}/{action}", data={**form, **fields})
    assert answer.status_code == 409, answer.text
    alert = re.search(r'<h2 id="error-summary-title">There is a problem</h2>\n<p>(.*?)</p>',
                      answer.text)
    assert alert is not None, answer.text
    assert html.unescape(alert.group(1)) == line
    assert env.snap() == before


@pytest.mark.parametrize("action", ["save", "submit"])
@pytest.mark.parametrize(("field", "what"), [("cc_response", "cc_response"),
                                             ("force_response_1", "force_response")])
def test_the_forces_page(force_env: Env, action: str, field: str, what: str) -> None:
    answers = {f"force_response_{n}": f"Answer {n}." for n in NORFOLK_RECS}
    refused_on_page(force_env, force_env.force_token(), action,
                    {**answers, field: f"We agree{RLO} with it."}, hidden_line(what))


@pytest.mark.parametrize(("action", "fields", "what"), [
    ("save", {"pcc_response": f"I welcome{RLO} it."}, "pcc_response"),
    ("save", {"pcc_note_1": f"Because{RLO}"}, "pcc_note"),
    ("return-to-force", {"reason": f"More detail{RLO}", "force_input_due": ""}, "--reason"),
    ("return-to-draft", {"reason": f"Start again{RLO}"}, "--reason"),
])
def test_the_pccs_page(pcc_env: Env, action: str, fields: dict[str, str], what: str) -> None:
    refused_on_page(pcc_env, pcc_env.pcc_token(), action, fields, hidden_line(what))


def test_markdown_nested_past_what_is_read(pcc_env: Env) -> None:
    """The page's text is Markdown: block quotes 30 deep would be shown cut short."""
    refused_on_page(pcc_env, pcc_env.pcc_token(), "save", {"pcc_response": "> " * 30 + "x"},
                    f"{FIELD_WORDS['pcc_response']}: line 1: {MARKDOWN_TOO_DEEP}")


def test_the_pccs_delegation(pcc_env: Env) -> None:
    """The delegation form says it in its own words (no field name)."""
    token = pcc_env.pcc_token()
    deputy = re.findall(r'<option value="(\d+)">', pcc_env.client.get(f"/l/{token}").text)
    assert deputy
    refused_on_page(pcc_env, token, "delegate", {
        "deputy": deputy[0], "from": "2030-01-07", "until": "2030-01-11",
        "reason": f"On leave{RLO}"}, "Contains invisible or direction-changing characters "
        "(U+202E RIGHT-TO-LEFT OVERRIDE), which make text read differently from what is "
        "stored; type it without them.")


def test_a_picture_in_the_forces_text_is_a_link_on_the_pccs_page(pcc_env: Env) -> None:
    content.edit_recommendation(pcc_env.wf, pcc_env.rid, 1, "force_response",
                                "See ![the chart](https://tracker.example/p.png).", FORCE)
    page = pcc_env.client.get(f"/l/{pcc_env.pcc_token()}").text
    assert "tracker.example" in page
    assert not re.search(r"<img[^>]*tracker\.example", page)
    assert '<a href="https://tracker.example/p.png">the chart</a>' in page
