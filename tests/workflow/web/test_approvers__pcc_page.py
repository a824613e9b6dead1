"""The PCC's page over HTTP (the real app, a real database on both backends): the response
as it will be published, editing, sign-off bound to the fingerprint shown, and the two
ways back; escaping and links in everything shown."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from factories import ADMIN, FORCE, PCC
from sqlalchemy import text
from web_support import Env, make_env

from workflow.documents.render import render_response
from workflow.responses import content
from workflow.web.embed import embedded


@pytest.fixture
def env(keyed_db, settings) -> Env:  # type: ignore[no-untyped-def]
    return make_env(keyed_db, settings, to_pcc=True)


def transitions(env: Env) -> list[dict[str, object]]:
    with env.wf.db.engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(
            "SELECT actor, trigger, reason, channel, identity, payload FROM audit_event "
            "WHERE response_id = :r AND action = 'transition' ORDER BY id"),
            {"r": env.rid}).mappings()]


def state(env: Env) -> str:
    with env.wf.db.engine.connect() as conn:
        return str(conn.execute(text("SELECT state FROM response WHERE id = :r"),
                                {"r": env.rid}).scalar())


class TestThePage:
    def test_it_shows_the_response_exactly_as_rendered_for_publication(self, env: Env) -> None:
        html = env.client.get(f"/l/{env.pcc_token()}").text
        rendered = render_response(env.wf.db, env.rid, "html")
        body = re.search(r"<main[^>]*>(.*)</main>", rendered, re.S)
        assert body
        # Embedded: its headings under the page's and its ids prefixed, the text the same.
        assert str(embedded(body.group(1))) in html
        assert '<label for="pcc_response">' in html
        for n in (1, 2, 3, 4, 8):
            assert f'<label for="pcc_note_{n}">' in html

    def test_it_shows_the_fingerprint_that_sign_off_records(self, env: Env) -> None:
        token = env.pcc_token()
        form = env.form(f"/l/{token}")
        assert form["fingerprint"] in env.client.get(f"/l/{token}").text
        r = env.client.post(f"/l/{token}/sign-off", data=form)
        assert r.status_code == 303, r.text
        signed = transitions(env)[-1]
        assert (signed["trigger"], signed["actor"], signed["channel"], signed["identity"]) == (
            "sign_off", PCC, "web", "link")
        assert json.loads(str(signed["payload"]))["fingerprint"] == form["fingerprint"]
        assert state(env) == "forwarded_to_panel"


class TestEditing:
    def test_the_pcc_response_and_each_note_are_saved(self, env: Env) -> None:
        token = env.pcc_token()
        r = env.client.post(f"/l/{token}/save", data={
            **env.form(f"/l/{token}"), "pcc_response": "I accept the findings.",
            "pcc_note_4": "The force will report to me by March."})
        assert r.status_code == 303
        with env.wf.db.engine.connect() as conn:
            assert conn.execute(text("SELECT pcc_note FROM recommendation WHERE number = 4")
                                ).scalar() == "The force will report to me by March."
        html = env.client.get(f"/l/{token}").text
        assert "I accept the findings." in html

    def test_force_fields_posted_to_a_pcc_link_are_ignored(self, env: Env) -> None:
        token, before = env.pcc_token(), env.snap()
        r = env.client.post(f"/l/{token}/save", data={
            **env.form(f"/l/{token}"), "cc_response": "forged", "force_response_1": "forged"})
        assert r.status_code == 303
        assert env.snap() == before


class TestSignOffRefused:
    def test_when_the_text_changed_since_the_page_was_loaded(self, env: Env) -> None:
        token = env.pcc_token()
        form = env.form(f"/l/{token}")
        content.edit_text(env.wf, env.rid, "pcc_response", "Changed by the office.", ADMIN)
        before = env.snap()
        r = env.client.post(f"/l/{token}/sign-off", data=form)
        assert r.status_code == 409
        assert "the text changed since the page was loaded" in r.text
        assert env.snap() == before

    def test_when_the_page_holds_unsaved_text(self, env: Env) -> None:
        token, before = env.pcc_token(), env.snap()
        r = env.client.post(f"/l/{token}/sign-off", data={
            **env.form(f"/l/{token}"), "pcc_response": "Typed, not saved."})
        assert r.status_code == 409
        assert "without saving it" in r.text
        assert env.snap() == before

    def test_with_a_made_up_fingerprint(self, env: Env) -> None:
        token, before = env.pcc_token(), env.snap()
        r = env.client.post(f"/l/{token}/sign-off", data={
            **env.form(f"/l/{token}"), "fingerprint": "0" * 64})
        assert r.status_code == 409
        assert env.snap() == before

    def test_a_sign_off_replayed_after_use(self, env: Env) -> None:
        token = env.pcc_token()
        form = env.form(f"/l/{token}")
        assert env.client.post(f"/l/{token}/sign-off", data=form).status_code == 303
        before = env.snap()
        r = env.client.post(f"/l/{token}/sign-off", data=form)
        assert r.status_code == 409
        assert "already used" in r.text
        assert env.snap() == before


class TestSendingBack:
    def test_return_to_force_with_a_reason_and_a_new_date(self, env: Env) -> None:
        token = env.pcc_token()
        r = env.client.post(f"/l/{token}/return-to-force", data={
            **env.form(f"/l/{token}"), "reason": "Recommendation 4 needs a date.",
            "force_input_due": ""})
        assert r.status_code == 303, r.text
        last = transitions(env)[-1]
        assert (last["trigger"], last["reason"], last["channel"]) == (
            "return_to_force", "Recommendation 4 needs a date.", "web")
        assert state(env) == "force_input"
        assert env.force_token()  # a new force link went out with the mail

    def test_return_to_draft_needs_a_reason(self, env: Env) -> None:
        token, before = env.pcc_token(), env.snap()
        form = env.form(f"/l/{token}")
        r = env.client.post(f"/l/{token}/return-to-draft", data={**form, "reason": "  "})
        assert r.status_code == 409
        assert "reason" in r.text
        assert env.snap() == before
        r = env.client.post(f"/l/{token}/return-to-draft", data={**form, "reason": "Redo."})
        assert r.status_code == 303
        assert state(env) == "draft"

    def test_a_bad_date_is_refused_and_changes_nothing(self, env: Env) -> None:
        token, before = env.pcc_token(), env.snap()
        r = env.client.post(f"/l/{token}/return-to-force", data={
            **env.form(f"/l/{token}"), "reason": "x", "force_input_due": "31/02/2025"})
        assert r.status_code == 409
        assert env.snap() == before


class TestEscaping:
    SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'

    def test_html_and_script_are_shown_as_text_everywhere(self, env: Env) -> None:
        content.edit_recommendation(env.wf, env.rid, 1, "pcc_note", self.SCRIPT, ADMIN)
        content.edit_text(env.wf, env.rid, "pcc_response", self.SCRIPT, ADMIN)
        content.edit_text(env.wf, env.rid, "key_findings", self.SCRIPT, ADMIN)
        html = env.client.get(f"/l/{env.pcc_token()}").text
        assert "<script" not in html
        assert "<img" not in html
        assert "&lt;script&gt;" in html

    def test_a_javascript_link_is_never_an_href(self, env: Env) -> None:
        content.edit_text(env.wf, env.rid, "key_findings",
                          "See [the report](javascript:alert(1)) and <javascript:alert(2)>.",
                          ADMIN)
        content.edit_recommendation(env.wf, env.rid, 2, "pcc_note",
                                    "[click](javascript:alert(3))", ADMIN)
        for token in (env.pcc_token(),):
            html = env.client.get(f"/l/{token}").text
            assert "javascript:alert" in html  # shown as text
            hrefs = re.findall(r'href="([^"]*)"', html)
            assert hrefs
            assert not [h for h in hrefs if "javascript" in h.lower()]


def test_the_force_liaison_is_named_in_neither_action(env: Env) -> None:
    """Every transition through the PCC's link is the PCC's own act."""
    token = env.pcc_token()
    env.client.post(f"/l/{token}/sign-off", data=env.form(f"/l/{token}"))
    assert [t["actor"] for t in transitions(env)] == [ADMIN, FORCE, PCC]


class TestTheRenderCache:
    """The page's render is kept per app, by version and the report's fields:
    nothing stale is ever shown for signing."""

    def test_a_report_edit_through_another_forces_response_shows(self, env: Env,
                                                                 tmp_path: Path) -> None:
        from workflow.responses.importing import import_document

        token = env.pcc_token()
        assert "A corrected title" not in env.client.get(f"/l/{token}").text
        published = Path(__file__).parents[2] / "data" / "norfolk-asb-spotlight-2024.md"
        doc = tmp_path / "draft.md"  # a draft: a published response's report does not change
        doc.write_text(published.read_text(encoding="utf-8").replace(
            "\n- Response ", "\n- [ ] Response "), encoding="utf-8")
        other = import_document(env.wf.db, doc, actor=ADMIN, force="Suffolk").response_id
        with env.wf.db.engine.connect() as conn:
            shared = conn.execute(text("SELECT count(DISTINCT report_id) FROM response "
                                       "WHERE id IN (:a, :b)"), {"a": env.rid, "b": other})
            assert shared.scalar() == 1, "the two forces' responses share one report"
        content.edit_report(env.wf, other, "title", "A corrected title", ADMIN)
        html = env.client.get(f"/l/{token}").text
        rendered = render_response(env.wf.db, env.rid, "html")
        assert "A corrected title" in rendered
        body = re.search(r"<main[^>]*>(.*)</main>", rendered, re.S)
        assert body
        assert str(embedded(body.group(1))) in html

    def test_two_apps_never_share_a_render(self, env: Env) -> None:
        """Two apps (two databases in one process, as the test suite and a multi-tenant
        host have) with the same response id and version each show their own text."""
        from web_support import SECRET, Client

        from workflow.web.app import create_app

        token = env.pcc_token()
        before = env.client.get(f"/l/{token}").text
        with env.wf.db.engine.begin() as conn:  # behind s55's back: no version bump
            conn.execute(text("UPDATE response SET pcc_response = 'Changed in place.' "
                              "WHERE id = :r"), {"r": env.rid})
        assert "Changed in place." not in before
        fresh = Client(create_app(env.wf.db, env.wf.settings, clock=env.wf.clock,
                                  secret=SECRET))
        assert "Changed in place." in fresh.get(f"/l/{token}").text
