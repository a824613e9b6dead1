"""The readers' list: open, closed or all responses, of one deadline year or every year
(``/responses?show=…&year=…``), each row's link naming its response and its state in
words; a list that does not exist is a plain 400 page of one line, and nothing changes."""

from __future__ import annotations

import re
from typing import Any

import pytest
from factories import ADMIN, AUDITOR, norfolk_report
from web_support import Env, make_env, tokens

from workflow.responses import content


def signed_in(env: Env) -> None:
    env.client.post("/sign-in", data={**env.form("/sign-in"), "email": AUDITOR})
    token = tokens(env.wf, AUDITOR)[-1]
    assert env.client.post(f"/l/{token}/sign-in",
                           data=env.form(f"/l/{token}")).status_code == 303


@pytest.fixture
def env(keyed_db: Any, settings: Any) -> Env:
    """Norfolk with the force (deadline 4 December 2024), and a 2023 report closed as not
    required; a reader signed in."""
    made = make_env(keyed_db, settings)
    closed = content.add_report(made.wf, norfolk_report(
        title="A national thematic report", published_on="2023-03-01"), ADMIN).id or 0
    made.wf.fire(closed, "mark_not_required", ADMIN, reason="A duplicate of a force report")
    signed_in(made)
    return made


def listed(html: str) -> list[str]:
    return re.findall(r'<a href="/responses/\d+">([^<]*)</a>', html)


def test_open_closed_and_all_responses(env: Env) -> None:
    norfolk = "Response 1: " + env.wf.db.query(lambda s: s.execute(__import__(
        "sqlalchemy").text("SELECT title FROM inspection_report WHERE id = 1")).scalar())
    norfolk = norfolk.replace("'", "&#39;")
    opened = env.client.get("/responses")
    assert listed(opened.text) == [norfolk]
    assert "waiting for the force&#39;s comments" in opened.text  # the state in words
    assert "force_input" not in opened.text
    closed = env.client.get("/responses?show=closed")
    assert listed(closed.text) == ["Response 2: A national thematic report"]
    assert "closed as not required" in closed.text
    every = env.client.get("/responses?show=all")
    assert listed(every.text) == ["Response 2: A national thematic report", norfolk]
    assert '<option value="2024">' in every.text
    assert '<option value="2023">' in every.text


def test_one_year(env: Env) -> None:
    page = env.client.get("/responses?show=all&year=2023")
    assert page.status_code == 200
    assert listed(page.text) == ["Response 2: A national thematic report"]
    assert "All responses with a deadline in 2023" in page.text
    assert listed(env.client.get("/responses?year=2023").text) == []
    assert "No response matches" in env.client.get("/responses?year=2023").text


@pytest.mark.parametrize(("query", "says"), [
    ("show=everything", "Choose open, closed or all responses."),
    ("show=all&year=20x4", "Choose a year between 1996 and 2200."),
    ("year=99999", "Choose a year between 1996 and 2200."),
    ("year=1066", "Choose a year between 1996 and 2200."),
])
def test_a_list_that_does_not_exist_is_a_plain_400(env: Env, query: str, says: str) -> None:
    before = env.snap()
    page = env.client.get(f"/responses?{query}")
    assert page.status_code == 400
    assert f"<p>{says}</p>" in page.text
    assert "Traceback" not in page.text
    assert env.snap() == before
