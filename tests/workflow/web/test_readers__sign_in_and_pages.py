"""Reader sign-in and the read-only pages over HTTP, and what every page carries: the
security headers, the 404 and 500 pages, the limit on failed look-ups, fresh links."""

from __future__ import annotations

import re

import pytest
from factories import ADMIN, AUDITOR, FORCE, PANEL
from starlette.routing import Route
from web_support import Env, make_env, tokens

from workflow.people import management


@pytest.fixture
def env(keyed_db, settings) -> Env:  # type: ignore[no-untyped-def]
    return make_env(keyed_db, settings)


def sign_in(env: Env, email: str) -> None:
    form = env.form("/sign-in")
    r = env.client.post("/sign-in", data={**form, "email": email})
    assert r.status_code == 303
    assert r.headers["location"] == "/sign-in?sent=1"


def signed_in(env: Env, email: str) -> None:
    sign_in(env, email)
    token = tokens(env.wf, email)[-1]
    page = env.client.get(f"/l/{token}")
    assert page.status_code == 200
    assert "Sign in as" in page.text
    r = env.client.post(f"/l/{token}/sign-in", data=env.form(f"/l/{token}"))
    assert r.status_code == 303
    assert r.headers["location"] == "/responses"
    cookie = r.headers["set-cookie"].lower()
    assert "secure" in cookie
    assert "httponly" in cookie
    assert "samesite=strict" in cookie


class TestSignIn:
    @pytest.mark.parametrize("email", [AUDITOR, PANEL, ADMIN])
    def test_a_reader_reads_the_open_responses_and_one_in_full(self, env: Env,
                                                                email: str) -> None:
        signed_in(env, email)
        listing = env.client.get("/responses")
        assert listing.status_code == 200
        assert "The policing response" in listing.text
        assert "force" in listing.text  # who it waits on
        one = env.client.get(f"/responses/{env.rid}")
        assert one.status_code == 200
        assert "request_force_input" in one.text
        assert "Audit chain OK" in one.text
        # nothing on these pages can change anything: the only POST signs out (the list's
        # other form is a GET that chooses which responses it shows)
        for html in (listing.text, one.text):
            assert re.findall(r'<form method="post"[^>]*action="([^"]*)"', html) == \
                ["/sign-out"]
            assert re.findall(r'<form method="get"[^>]*action="([^"]*)"', html) in (
                [], ["/responses"])

    def test_no_mail_to_an_address_that_may_not_read(self, env: Env) -> None:
        before = len(tokens(env.wf, FORCE))
        sign_in(env, FORCE)  # the same answer as for a reader...
        sign_in(env, "nobody@example.org")
        assert len(tokens(env.wf, FORCE)) == before  # ...but nothing was sent

    def test_opening_a_sign_in_link_signs_nobody_in(self, env: Env) -> None:
        sign_in(env, AUDITOR)
        token = tokens(env.wf, AUDITOR)[-1]
        before = env.snap()
        env.client.get(f"/l/{token}")
        env.client.head(f"/l/{token}")
        assert env.snap() == before
        assert env.client.get("/responses").status_code == 303

    def test_a_sign_in_link_works_once(self, env: Env) -> None:
        sign_in(env, AUDITOR)
        token = tokens(env.wf, AUDITOR)[-1]
        form = env.form(f"/l/{token}")
        assert env.client.post(f"/l/{token}/sign-in", data=form).status_code == 303
        env.client.cookies.clear()
        before = env.snap()
        assert env.client.post(f"/l/{token}/sign-in", data=form).status_code in (409, 410)
        assert env.snap() == before
        assert env.client.get("/responses").status_code == 303

    def test_without_a_session_or_with_a_forged_one_nothing_is_shown(self, env: Env) -> None:
        assert env.client.get("/responses").headers["location"] == "/sign-in"
        env.client.cookies.set("s55_session", "eyJwIjoxfQ.forged.sig", domain="testserver")
        assert env.client.get(f"/responses/{env.rid}").status_code == 303

    def test_a_disabled_reader_is_out_at_once(self, env: Env) -> None:
        signed_in(env, AUDITOR)
        management.set_active(env.wf, AUDITOR, ADMIN, "left the office", False)
        assert env.client.get("/responses").status_code == 303

    def test_an_unknown_response_is_a_404_page(self, env: Env) -> None:
        signed_in(env, AUDITOR)
        for rid in ("999", "abc", "9" * 30):
            r = env.client.get(f"/responses/{rid}")
            assert r.status_code == 404
            assert "No such response" in r.text

    def test_signing_out_needs_the_page_token(self, env: Env) -> None:
        signed_in(env, AUDITOR)
        assert env.client.post("/sign-out", data={"csrf": "0" * 64}).status_code == 403
        page = env.client.get("/responses").text
        token = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
        assert token
        assert env.client.post("/sign-out", data={"csrf": token.group(1)}).status_code == 303


class TestEveryPage:
    def test_security_headers_on_pages_errors_and_files(self, env: Env) -> None:
        for path in ("/", f"/l/{env.force_token()}", "/l/" + "x" * 43, "/sign-in",
                     "/static/s55.css", "/nowhere"):
            h = env.client.get(path).headers
            assert "script-src" not in h["content-security-policy"]
            assert "default-src 'none'" in h["content-security-policy"]
            assert (h["x-frame-options"], h["referrer-policy"]) == ("DENY", "no-referrer")

    def test_an_unknown_path_is_a_404_page(self, env: Env) -> None:
        r = env.client.get("/admin/../../etc/passwd")
        assert r.status_code == 404
        assert "Page not found" in r.text
        assert "Traceback" not in r.text

    def test_a_fault_is_a_500_page_that_reveals_nothing(self, env: Env) -> None:
        def broken(request):  # type: ignore[no-untyped-def]
            raise RuntimeError("password=hunter2 at /srv/s55/secret.py")

        env.client.app.router.routes.insert(0, Route("/boom", broken))  # type: ignore[attr-defined]
        r = env.client.get("/boom")
        assert r.status_code == 500
        assert "something went wrong" in r.text
        assert "hunter2" not in r.text
        assert "RuntimeError" not in r.text

    def test_failed_lookups_are_limited_per_address(self, env: Env) -> None:
        for i in range(20):
            assert env.client.get(f"/l/{'Z' * 42}{i % 10}").status_code == 404
        r = env.client.get(f"/l/{env.force_token()}")
        assert r.status_code == 429
        assert "Too many attempts" in r.text


class TestFreshLinks:
    def test_a_used_link_offers_a_fresh_one_a_few_times_an_hour(self, env: Env) -> None:
        token = env.force_token()
        env.wf.fire(env.rid, "return_to_draft", ADMIN, reason="again")
        env.wf.fire(env.rid, "request_force_input", ADMIN)
        old = tokens(env.wf, FORCE)
        page = env.client.get(f"/l/{token}")
        assert page.status_code == 410
        assert "Email me a fresh link" in page.text
        for _ in range(3):
            r = env.client.post(f"/l/{token}/resend", data=env.form(f"/l/{token}"))
            assert r.status_code == 303
        assert len(tokens(env.wf, FORCE)) == len(old) + 3
        before = env.snap()
        r = env.client.post(f"/l/{token}/resend", data=env.form(f"/l/{token}"))
        assert r.status_code == 429
        assert "last hour" in r.text
        assert env.snap() == before
