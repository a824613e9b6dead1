"""The force liaison's page over HTTP (the real app, a real database on both backends):
what it shows, saving, submitting, and every way a link or a form can be wrong, each
leaving the database unchanged."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from factories import ADMIN, FORCE, NORFOLK_RECS
from sqlalchemy import text
from web_support import Env, make_env

from workflow.core.errors import GuardError


@pytest.fixture
def env(keyed_db, settings) -> Env:  # type: ignore[no-untyped-def]
    return make_env(keyed_db, settings)


def answers(env: Env, fields: dict[str, str], **extra: str) -> dict[str, str]:
    return {**env.form(f"/l/{env.force_token()}"), **fields, **extra}


def every_answer(prefix: str = "Answer") -> dict[str, str]:
    return {f"force_response_{n}": f"{prefix} {n}." for n in NORFOLK_RECS}


def events(env: Env) -> list[dict[str, object]]:
    with env.wf.db.engine.connect() as conn:
        rows = conn.execute(text("SELECT actor, action, trigger, channel, identity, payload "
                                 "FROM audit_event WHERE response_id = :r ORDER BY id"),
                            {"r": env.rid}).mappings().all()
    return [dict(r) for r in rows]


class TestThePage:
    def test_it_shows_every_recommendation_with_a_labelled_box(self, env: Env) -> None:
        """Each recommendation: its number as published, its text, its due date and a
        labelled box; the Chief Constable's response too."""
        html = env.client.get(f"/l/{env.force_token()}").text
        for n in NORFOLK_RECS:
            assert f"Recommendation {n}</h2>" in html
            assert f"forces should act on item {n}." in html
            assert f'<label for="force_response_{n}">' in html
            assert f'<textarea id="force_response_{n}" name="force_response_{n}"' in html
        assert "Due by 31 March 2025" in html
        assert "Due by 31 December 2024" in html
        assert '<label for="cc_response">' in html
        assert "Submit the force's comments</button>" in html

    def test_get_and_head_change_nothing(self, env: Env) -> None:
        """Opening the link (as a mail scanner does) writes nothing and uses nothing up."""
        token, before = env.force_token(), env.snap()
        for _ in range(3):
            assert env.client.get(f"/l/{token}").status_code == 200
            assert env.client.head(f"/l/{token}").status_code == 200
        assert env.snap() == before


class TestSaving:
    def test_a_save_is_an_audited_edit_on_the_web_channel(self, env: Env) -> None:
        """Each changed field is an ``edited`` event by the liaison, channel web, identity
        link; the link still works after it."""
        token = env.force_token()
        r = env.client.post(f"/l/{token}/save", data=answers(env, {
            "force_response_1": "We accept it.", "cc_response": "The force welcomes it."}))
        assert r.status_code == 303
        assert r.headers["location"] == f"/l/{token}?done=saved"
        edits = [e for e in events(env) if e["action"] == "edited"]
        assert [(e["actor"], e["channel"], e["identity"]) for e in edits] == [
            (FORCE, "web", "link")] * 2
        assert {json.loads(str(e["payload"]))["value"] for e in edits} == {
            "We accept it.", "The force welcomes it."}
        page = env.client.get(r.headers["location"]).text
        assert "Your changes are saved" in page
        assert "We accept it." in page

    def test_each_saved_field_records_the_fingerprint_replay_agrees_with(
            self, env: Env) -> None:
        """A page's save binds the text after each change into the chain, as every other
        edit does: verify's replay recomputes each and finds nothing wrong."""
        from workflow.assurance import replay

        token = env.force_token()
        env.client.post(f"/l/{token}/save", data=answers(env, {
            "force_response_1": "We accept it.", "force_response_2": "We accept this too.",
            "cc_response": "The force welcomes it."}))
        edits = [json.loads(str(e["payload"])) for e in events(env) if e["action"] == "edited"]
        assert len(edits) == 3
        assert all(len(e.get("fingerprint", "")) == 64 for e in edits), edits
        assert len({e["fingerprint"] for e in edits}) == 3  # each after its own change
        assert replay.verify(env.wf.db) == []

    def test_saving_twice_over_two_visits_keeps_the_link(self, env: Env) -> None:
        token = env.force_token()
        env.client.post(f"/l/{token}/save", data=answers(env, {"force_response_1": "One."}))
        r = env.client.post(f"/l/{token}/save", data=answers(env, {"force_response_2": "Two."}))
        assert r.status_code == 303
        html = env.client.get(f"/l/{token}").text
        assert "One." in html
        assert "Two." in html

    def test_an_unchanged_form_writes_nothing(self, env: Env) -> None:
        before = env.snap()
        r = env.client.post(f"/l/{env.force_token()}/save", data=answers(env, {}))
        assert r.status_code == 303
        assert env.snap() == before


class TestSubmitting:
    def test_refused_with_the_command_lines_message_while_one_is_unanswered(
            self, env: Env) -> None:
        fields = every_answer()
        del fields["force_response_8"]
        env.client.post(f"/l/{env.force_token()}/save", data=answers(env, fields))
        with pytest.raises(GuardError) as cli:
            env.wf.fire(env.rid, "submit_force_input", FORCE)
        before = env.snap()
        r = env.client.post(f"/l/{env.force_token()}/submit", data=answers(env, {}))
        assert r.status_code == 409
        assert str(cli.value).replace("'", "&#39;") in r.text
        assert env.snap() == before

    def test_submit_saves_and_moves_to_pcc_signoff_as_the_liaison(self, env: Env) -> None:
        token = env.force_token()
        r = env.client.post(f"/l/{token}/submit", data=answers(env, every_answer()))
        assert r.status_code == 303
        moved = [e for e in events(env) if e["trigger"] == "submit_force_input"]
        assert [(e["actor"], e["channel"], e["identity"]) for e in moved] == [
            (FORCE, "web", "link")]
        page = env.client.get(f"/l/{token}")
        assert page.status_code == 410
        assert "This link has been used" in page.text
        assert "by Force Liaison on" in page.text  # their name, not their address
        assert "it was submitted with the force&#39;s comments by" in page.text
        assert "Email me a fresh link" in page.text


class TestBadLinks:
    def test_a_made_up_token_is_a_404_page(self, env: Env) -> None:
        before = env.snap()
        for path in ("/l/" + "A" * 43, "/l/short", "/l/%00%ff"):
            r = env.client.get(path)
            assert r.status_code == 404
            assert "This link is not known" in r.text
        r = env.client.post("/l/" + "B" * 43 + "/save", data={"force_response_1": "x"})
        assert r.status_code == 404
        assert env.snap() == before

    def test_a_token_replayed_after_use_changes_nothing(self, env: Env) -> None:
        token = env.force_token()
        form = answers(env, every_answer())
        assert env.client.post(f"/l/{token}/submit", data=form).status_code == 303
        before = env.snap()
        for action in ("submit", "save"):
            r = env.client.post(f"/l/{token}/{action}", data={**form,
                                                               "force_response_1": "Again"})
            assert r.status_code == 409
            assert "already used" in r.text
        assert env.snap() == before

    def test_an_expired_link_changes_nothing(self, env: Env) -> None:
        token, form = env.force_token(), answers(env, every_answer())
        before = env.snap()
        with time_machine.travel(env.wf.clock.now() + timedelta(days=15)):
            page = env.client.get(f"/l/{token}")
            assert page.status_code == 410
            assert "This link has expired" in page.text
            r = env.client.post(f"/l/{token}/save", data=form)
            assert r.status_code == 409
            assert "expired" in r.text
        assert env.snap() == before

    def test_after_the_response_moved_on_the_link_changes_nothing(self, env: Env) -> None:
        token, form = env.force_token(), answers(env, every_answer())
        env.wf.fire(env.rid, "return_to_draft", ADMIN, reason="wrong report")
        before = env.snap()
        page = env.client.get(f"/l/{token}")
        assert page.status_code == 410
        assert "moved on" in page.text
        assert "by Ann Admin on" in page.text
        for action in ("save", "submit"):
            r = env.client.post(f"/l/{token}/{action}", data=form)
            assert r.status_code == 409
        assert env.snap() == before

    def test_a_force_link_cannot_sign_off_or_return(self, env: Env) -> None:
        token = env.force_token()
        env.client.post(f"/l/{token}/submit", data=answers(env, every_answer()))
        # A fresh force link cannot exist now; the used one, and a live one of another
        # response, are both refused for PCC actions:
        other = make_env_second(env)
        before = env.snap()
        for action in ("sign-off", "return-to-force", "return-to-draft"):
            r = env.client.post(f"/l/{other}/{action}",
                                data={**env.form(f"/l/{other}"), "reason": "x"})
            assert r.status_code == 409
            assert "cannot" in r.text
        assert env.snap() == before

    def test_another_responses_token_acts_only_on_its_own(self, env: Env) -> None:
        """A link names its response: saving through response 2's link leaves response 1
        as it was."""
        other = make_env_second(env)
        with env.wf.db.engine.connect() as conn:
            first = conn.execute(text("SELECT * FROM recommendation WHERE response_id = 1 "
                                      "ORDER BY id")).all()
        r = env.client.post(f"/l/{other}/save", data={**env.form(f"/l/{other}"),
                                                      "force_response_1": "For two."})
        assert r.status_code == 303
        with env.wf.db.engine.connect() as conn:
            assert conn.execute(text("SELECT * FROM recommendation WHERE response_id = 1 "
                                     "ORDER BY id")).all() == first
            assert conn.execute(text("SELECT force_response FROM recommendation WHERE "
                                     "response_id = 2 AND number = 1")).scalar() == "For two."


def make_env_second(env: Env) -> str:
    """A second response sent to the force; its force link's token."""
    from factories import norfolk_report
    from web_support import tokens

    from workflow.responses import content

    rid = content.add_report(env.wf, norfolk_report(title="A second report"), ADMIN).id or 0
    env.wf.fire(rid, "request_force_input", ADMIN)
    return tokens(env.wf, FORCE)[-1]


class TestBadForms:
    def test_no_or_a_wrong_csrf_token_is_refused(self, env: Env) -> None:
        token, before = env.force_token(), env.snap()
        form = answers(env, every_answer())
        for bad in ({k: v for k, v in form.items() if k != "csrf"},
                    {**form, "csrf": "0" * 64}):
            for action in ("save", "submit"):
                r = env.client.post(f"/l/{token}/{action}", data=bad)
                assert r.status_code == 403
                assert "security token" in r.text
        assert env.snap() == before

    def test_two_tabs_saving_one_wins_the_other_is_told(self, env: Env) -> None:
        token = env.force_token()
        tab_a, tab_b = answers(env, {}), answers(env, {})
        r = env.client.post(f"/l/{token}/save", data={**tab_a, "force_response_1": "A."})
        assert r.status_code == 303
        before = env.snap()
        r = env.client.post(f"/l/{token}/save", data={**tab_b, "force_response_1": "B."})
        assert r.status_code == 409
        assert "Someone else changed this response" in r.text
        assert "B." in r.text  # what the second tab typed is kept on the page
        assert env.snap() == before

    def test_two_tabs_submitting_one_wins_the_other_is_told(self, env: Env) -> None:
        token = env.force_token()
        tab_a = tab_b = answers(env, every_answer())
        assert env.client.post(f"/l/{token}/submit", data=tab_a).status_code == 303
        before = env.snap()
        r = env.client.post(f"/l/{token}/submit", data=tab_b)
        assert r.status_code == 409
        assert "already used" in r.text
        assert "by Force Liaison on" in r.text
        assert env.snap() == before

    def test_a_form_over_the_size_limit_is_a_413_page(self, env: Env) -> None:
        token, before = env.force_token(), env.snap()
        r = env.client.post(f"/l/{token}/save",
                            data=answers(env, {"force_response_1": "x" * 300_000}))
        assert r.status_code == 413
        assert "larger than" in r.text
        assert env.snap() == before

    def test_a_form_that_is_not_utf8_is_a_400_page(self, env: Env) -> None:
        token, before = env.force_token(), env.snap()
        form = answers(env, {})
        body = (f"csrf={form['csrf']}&version={form['version']}&force_response_1=caf%E9"
                ).encode()
        for raw in (body, body.replace(b"%E9", b"\xe9")):
            r = env.client.post(f"/l/{token}/save", content=raw, headers={
                "content-type": "application/x-www-form-urlencoded"})
            assert r.status_code == 400
            assert "UTF-8" in r.text
        assert env.snap() == before

    def test_get_and_head_of_every_action_url_change_nothing(self, env: Env) -> None:
        token, before = env.force_token(), env.snap()
        for action in ("save", "submit", "sign-off", "return-to-force", "return-to-draft",
                       "resend"):
            for method in ("GET", "HEAD"):
                r = env.client.request(method, f"/l/{token}/{action}")
                assert r.status_code == 405, (method, action)
        assert env.snap() == before
        assert env.client.get(f"/l/{token}").status_code == 200
