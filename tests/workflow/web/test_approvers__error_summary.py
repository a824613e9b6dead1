"""A refused action shows GOV.UK's error pattern: "Error: " before the page's title, a
summary at the top that takes focus and links to each field in error, each such field
marked ``aria-invalid`` with its own message tied by ``aria-describedby``, the closed
section that holds it opened, the text as posted kept; and the response does not move."""

from __future__ import annotations

import re
from typing import Any

import pytest
from factories import NORFOLK_RECS
from web_support import Env, make_env


@pytest.fixture
def env(keyed_db: Any, settings: Any) -> Env:
    return make_env(keyed_db, settings)


@pytest.fixture
def pcc_env(keyed_db: Any, settings: Any) -> Env:
    return make_env(keyed_db, settings, to_pcc=True)


def marked(html: str, field: str) -> bool:
    tag = re.search(rf'<(?:textarea|input|select) id="{field}"[^>]*>', html)
    assert tag, field
    return ('aria-invalid="true"' in tag.group(0)
            and f"{field}-error" in re.search(r'aria-describedby="([^"]*)"',
                                              tag.group(0)).group(1).split()  # type: ignore[union-attr]
            and f'id="{field}-error"' in html)


def summary_links(html: str) -> list[str]:
    found = re.search(r'<div class="error-summary"[^>]*autofocus.*?</div>\n</div>', html, re.S)
    assert found, "no error summary that takes focus"
    return re.findall(r'<a href="#([^"]+)">', found.group(0))


def test_submitting_unanswered_recommendations(env: Env) -> None:
    path = f"/l/{env.force_token()}"
    posted = {**env.form(path), "force_response_1": "Our answer to the first."}
    page = env.client.post(f"{path}/submit", data=posted)
    assert page.status_code == 409
    assert "<title>Error: " in page.text
    others = [f"force_response_{n}" for n in sorted(NORFOLK_RECS) if n != 1]
    assert summary_links(page.text) == others
    assert all(marked(page.text, f) for f in others)
    assert 'id="force_response_1-error"' not in page.text
    assert "Our answer to the first." in page.text
    # submitting saves what was typed first (as Save does); the response stays with the force
    assert [r[3] for r in env.snap()["response"]] == ["force_input"]


def test_returning_without_a_reason_opens_its_section(pcc_env: Env) -> None:
    path = f"/l/{pcc_env.pcc_token()}"
    before = pcc_env.snap()
    page = pcc_env.client.post(f"{path}/return-to-force", data=pcc_env.form(path))
    assert page.status_code == 409
    assert summary_links(page.text) == ["reason-force"]
    assert marked(page.text, "reason-force")
    assert '<details id="return-force" open>' in page.text
    assert '<details id="return-draft">' in page.text
    assert pcc_env.snap() == before


def test_delegating_without_a_reason_opens_its_section(pcc_env: Env) -> None:
    path = f"/l/{pcc_env.pcc_token()}"
    page = pcc_env.client.get(path)
    deputy = re.search(r'<option value="(\d+)">', page.text)
    assert deputy
    before = pcc_env.snap()
    refused = pcc_env.client.post(f"{path}/delegate", data={
        **pcc_env.form(path), "deputy": deputy.group(1), "from": "01/11/2024",
        "until": "30/11/2024", "reason": " "})
    assert refused.status_code == 409
    assert summary_links(refused.text) == ["delegate-reason"]
    assert marked(refused.text, "delegate-reason")
    assert '<details id="delegate" open>' in refused.text
    assert 'value="01/11/2024"' in refused.text  # kept as typed
    assert pcc_env.snap() == before


def test_the_page_as_opened_has_no_error(env: Env) -> None:
    page = env.client.get(f"/l/{env.force_token()}")
    assert "<title>Error" not in page.text
    assert "error-summary" not in page.text
    assert 'aria-invalid' not in page.text
    hinted = re.search(r'<textarea id="cc_response"[^>]*>', page.text)
    assert hinted
    assert 'aria-describedby="cc_response-hint"' in hinted.group(0)
