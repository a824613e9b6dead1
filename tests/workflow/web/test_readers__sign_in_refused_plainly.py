"""A sign-in link asked for a fourth time within an hour for one address is refused, and the
page says so plainly (too many asked, try again after HH:MM, UK time) instead of "a link is
on its way"; nothing more is mailed. The refusal is about the asking: an address that is
nobody's is refused by the same page, word for word, so the page still tells nobody who
has an account. An hour after the first ask, asking works again."""

from __future__ import annotations

from datetime import UTC, datetime

import time_machine
from factories import AUDITOR
from web_support import Env, make_env, tokens

from workflow.core.settings import Settings
from workflow.storage.db import Database

FIRST = datetime(2024, 10, 14, 9, 0, tzinfo=UTC)  # 10:00 in London (BST)


def ask(env: Env, email: str):  # type: ignore[no-untyped-def]
    return env.client.post("/sign-in", data={**env.form("/sign-in"), "email": email})


def test_the_fourth_ask_in_an_hour_is_refused_plainly(keyed_db: Database,
                                                      settings: Settings) -> None:
    env = make_env(keyed_db, settings)
    refusals = {}
    with time_machine.travel(FIRST, tick=False) as traveller:
        for email in (AUDITOR, "nobody@example.org"):
            for _ in range(3):
                assert ask(env, email).headers["location"] == "/sign-in?sent=1"
            traveller.move_to(datetime(2024, 10, 14, 9, 40, tzinfo=UTC))
            refusals[email] = ask(env, email)
            traveller.move_to(FIRST)
        assert len(tokens(env.wf, AUDITOR)) == 3
    known, unknown = refusals[AUDITOR], refusals["nobody@example.org"]
    assert known.status_code == 429
    assert ("<h2>No link was sent</h2><p>Too many sign-in links were asked for this address "
            "in the last hour. Try again after 11:00 (UK time).</p>") in known.text
    assert "on its way" not in known.text
    assert (unknown.status_code, unknown.text) == (known.status_code, known.text)
    with time_machine.travel(datetime(2024, 10, 14, 10, 0, tzinfo=UTC), tick=False):
        assert ask(env, AUDITOR.upper()).headers["location"] == "/sign-in?sent=1"
        assert len(tokens(env.wf, AUDITOR)) == 4
