"""The PCC's page shows and fingerprints the response as the rows hold it now, even when a
row was changed behind s55's back at the same version; a sign-off is refused, inside its
own transaction, unless the text signed is the one whose fingerprint the page showed. On
both databases."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from web_support import Env, fingerprint, make_env

from workflow.documents import signature
from workflow.links import action_links
from workflow.responses import approvals


@pytest.fixture
def env(keyed_db, settings) -> Env:  # type: ignore[no-untyped-def]
    return make_env(keyed_db, settings, to_pcc=True)


def change_in_place(env: Env) -> None:
    """The PCC's text rewritten by SQL: the version does not move."""
    with env.wf.db.engine.begin() as conn:
        conn.execute(text("UPDATE response SET pcc_response = 'Changed in place.' "
                          "WHERE id = :r"), {"r": env.rid})


def now_fingerprint(env: Env) -> str:
    with env.wf.db.read() as s:
        return signature.fingerprint(s, env.rid)


def test_the_page_shows_the_text_as_it_is_now(env: Env) -> None:
    """Loaded once (its render cached), changed at the same version, loaded again: the
    new text and its fingerprint."""
    token = env.pcc_token()
    first = env.client.get(f"/l/{token}").text
    change_in_place(env)
    again = env.client.get(f"/l/{token}").text
    assert "Changed in place." not in first
    assert "Changed in place." in again
    assert fingerprint(again) == now_fingerprint(env) != fingerprint(first)


def test_a_sign_off_of_the_text_shown_before_the_change_is_refused(env: Env) -> None:
    token = env.pcc_token()
    form = env.form(f"/l/{token}")
    change_in_place(env)
    before = env.snap()
    r = env.client.post(f"/l/{token}/sign-off", data=form)
    assert r.status_code == 409
    assert "the text changed since the page was loaded" in r.text
    assert env.snap() == before


def test_the_sign_off_itself_refuses_another_text(env: Env) -> None:
    """The check inside the sign-off's transaction (what a change between the page's check
    and the sign-off meets): refused with the fingerprints, nothing written, the link
    still usable; the text shown signs."""
    token = env.pcc_token()
    shown = now_fingerprint(env)
    change_in_place(env)
    before = env.snap()
    with pytest.raises(signature.SignedTextChangedError) as refused:
        approvals.fire(env.wf, token, "sign_off", expected_fingerprint=shown)
    assert str(refused.value) == (
        f"response {env.rid} was not signed off: its text changed since it was shown "
        f"(fingerprint shown {shown[:16]}..., now {now_fingerprint(env)[:16]}...); read it "
        "again, then sign off")
    assert env.snap() == before
    action_links.read(env.wf.db, env.wf.clock, token, action="sign_off")
    current = now_fingerprint(env)
    assert approvals.fire(env.wf, token, "sign_off", expected_fingerprint=current).state == \
        "forwarded_to_panel"
    with env.wf.db.engine.connect() as conn:
        payload = conn.execute(text("SELECT payload FROM audit_event WHERE trigger = "
                                    "'sign_off'")).scalar_one()
    assert json.loads(payload)["fingerprint"] == current
