"""The audit verdict on the readers' page: a full check at first and then hourly, the
new events only in between, and tampering after the last check shown as not verified."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import time_machine
from factories import AUDITOR, FORCE, behind_the_triggers
from sqlalchemy import text
from web_support import Env, make_env, tokens

from workflow.keys import audit_key
from workflow.responses import content
from workflow.storage.db import Database
from workflow.web.verdict import FULL_EVERY

START = datetime.fromisoformat("2024-10-14 10:00:00+01:00")


@pytest.fixture
def clock_at() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def env(keyed_db, settings, clock_at) -> Env:  # type: ignore[no-untyped-def]
    env = make_env(keyed_db, settings)
    r = env.client.post("/sign-in", data={**env.form("/sign-in"), "email": AUDITOR})
    assert r.status_code == 303
    token = tokens(env.wf, AUDITOR)[-1]
    assert env.client.post(f"/l/{token}/sign-in", data=env.form(f"/l/{token}")) \
        .status_code == 303
    return env


def events(env: Env) -> int:
    with env.wf.db.engine.connect() as conn:
        return int(conn.execute(text("SELECT max(id) FROM audit_event")).scalar_one())


def page(env: Env) -> str:
    r = env.client.get(f"/responses/{env.rid}")
    assert r.status_code == 200
    return r.text


def edit(env: Env, words: str) -> None:
    content.edit_recommendation(env.wf, env.rid, 1, "force_response", words, FORCE)


def test_first_load_is_a_full_check_that_says_when(env: Env) -> None:
    html = page(env)
    n = events(env)
    assert "Audit chain OK" in html
    assert "Rows OK" in html
    assert f"of the first {n} events: 14 October 2024 at 10:00" in html
    assert "NOT VERIFIED" not in html


def test_new_events_are_checked_on_the_next_load(env: Env,
                                                 clock_at: time_machine.Coordinates) -> None:
    page(env)
    n = events(env)
    clock_at.shift(timedelta(minutes=5))
    edit(env, "A first answer.")
    edit(env, "A second answer.")
    html = page(env)
    assert f"Audit chain OK: {n + 2} events" in html
    assert f"Events {n + 1} to {n + 2}: chain and signatures checked 14 October 2024 at " \
           "10:05" in html
    assert f"of the first {n} events: 14 October 2024 at 10:00" in html


def test_a_new_event_tampered_before_the_next_load_is_not_verified(env: Env) -> None:
    page(env)
    edit(env, "An answer.")
    behind_the_triggers(env.wf.db, "UPDATE audit_event SET actor = 'mallory@x.example' "
                        f"WHERE id = {events(env)}")
    html = page(env)
    assert "NOT VERIFIED" in html
    assert f"broken at event {events(env)}: content does not match its hash" in html
    assert "Audit chain OK" not in html
    edit(env, "Another answer.")  # it stays not verified: nothing goes on from a break
    assert "NOT VERIFIED" in page(env)


def test_the_last_checked_event_rewritten_is_not_verified(env: Env) -> None:
    page(env)
    last = events(env)
    behind_the_triggers(env.wf.db, f"UPDATE audit_event SET hash = '{'0' * 64}' "
                        f"WHERE id = {last}")
    html = page(env)
    assert "NOT VERIFIED" in html
    assert f"broken at event {last}: it no longer has the hash it had" in html


def test_an_old_event_edited_shows_at_the_next_full_check(
        env: Env, clock_at: time_machine.Coordinates) -> None:
    """Between full checks the page says exactly what it has not re-read; the next full
    check (due on the first load an hour on) finds the edit."""
    page(env)
    behind_the_triggers(env.wf.db, "UPDATE audit_event SET actor = 'mallory@x.example' "
                        "WHERE id = 2")
    html = page(env)
    assert "Audit chain OK" in html
    assert "An edit of an event older than the last check" in html
    assert "14 October 2024 at 10:00" in html
    clock_at.shift(FULL_EVERY)
    html = page(env)
    assert "NOT VERIFIED" in html
    assert "broken at event 2: content does not match its hash" in html


def test_a_row_changed_without_an_event_shows_at_the_next_full_check(
        env: Env, clock_at: time_machine.Coordinates) -> None:
    page(env)
    with env.wf.db.engine.begin() as conn:
        conn.execute(text("UPDATE recommendation SET force_response = 'forged' "
                          "WHERE response_id = :r AND number = 1"), {"r": env.rid})
    assert "Audit chain OK" in page(env)
    clock_at.shift(FULL_EVERY)
    html = page(env)
    assert "NOT VERIFIED" in html
    assert "Rows OK" not in html


def test_with_the_audit_key_a_new_event_without_its_hmac_is_not_verified(
        db_url: str, settings, tmp_path, clock_at) -> None:  # type: ignore[no-untyped-def]
    key = tmp_path / "audit.key"
    audit_key.create(key)
    keyed = Database(db_url, audit_key_file=key)
    try:
        env = make_env(keyed, settings.model_copy(update={"audit_key_file": key}))
        r = env.client.post("/sign-in", data={**env.form("/sign-in"), "email": AUDITOR})
        assert r.status_code == 303
        token = tokens(env.wf, AUDITOR)[-1]
        env.client.post(f"/l/{token}/sign-in", data=env.form(f"/l/{token}"))
        html = page(env)
        assert f"Signatures OK: {events(env)} events signed with the audit key" in html
        edit(env, "A signed answer.")
        html = page(env)
        assert f"Signatures OK: {events(env)} events signed" in html
        edit(env, "Another signed answer.")
        behind_the_triggers(keyed, f"UPDATE audit_event SET mac = '{'0' * 64}' "
                            f"WHERE id = {events(env)}")
        html = page(env)
        assert "NOT VERIFIED" in html
        assert f"broken at event {events(env)}" in html
        assert "without the audit key" in html
    finally:
        keyed.dispose()
